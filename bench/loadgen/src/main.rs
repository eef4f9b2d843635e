//! The benchmark's load generator. It speaks Engine.IO v4 / Socket.IO v5 itself, over its own
//! small WebSocket client and a bare HTTP/1.1 client for long-polling (not the project's
//! client library), so that it costs little per message: on a 2-core machine the generator
//! shares the machine with the server and is often the bottleneck.
//!
//! ```text
//! loadgen echo      --addr 127.0.0.1:PORT [--clients 100] [--inflight 1] [--payload 32]
//!                   [--transport ws|polling] [--binary] [--rate EVENTS_PER_S]
//! loadgen broadcast --addr … [--receivers 1000] [--payload 32] [--rate BROADCASTS_PER_S]
//!                   [--room MEMBERS]
//! loadgen storm     --addr … [--connections 5000] [--hold 5] [--concurrency 128]
//! loadgen soak      --addr … --server-pid PID [--receivers 100] [--churners 50] [--slow 10]
//!                   [--rate 100] [--payload 4096] [--slow-hold 30] [--sample-every 10]
//!                   [--settle 10]   (--warmup + --duration is how long the load runs)
//! loadgen hostile   --addr … --server-pid PID [--rounds 100]
//! loadgen report    RESULTS.jsonl…
//! common options:   [--server-pid PID] [--server NAME] [--rep N] [--warmup 1] [--duration 5]
//!                   [--strict]
//! ```
//!
//! Each scenario prints one JSON line on stdout (the figures `bench/run` collects) and a
//! summary on stderr. With `--strict` it exits with status 2 when the run saw errors or
//! missing deliveries (what `bench/smoke` checks); never because of speed.
//!
//! Every load loop is bounded in time (warm-up + duration + a drain period, connection
//! set-up has its own time limit) and in count.
//!
//! Layout: `ws` (WebSocket client + Engine.IO session), `polling` (HTTP long-polling),
//! `hist` (latency histogram), `procfs` (server CPU and memory), `measure` (window, meter,
//! result line), the scenarios `echo`, `broadcast`, `storm`, and `report` (the table).

// A load generator's buffer parsing reads clearest with slice indexing; every index is
// checked against the lengths just computed. (The workspace denies indexing for the library
// crates, where peer input reaches it.)
#![allow(clippy::indexing_slicing)]

mod broadcast;
mod echo;
mod hist;
mod hostile;
mod measure;
mod polling;
mod procfs;
mod report;
mod soak;
mod storm;
mod ws;

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use measure::Common;

/// The arguments after the sub-command, as `--name value` pairs and `--flag`s.
struct Args {
    pairs: Vec<(String, Option<String>)>,
    positional: Vec<String>,
}

const FLAGS: [&str; 2] = ["--binary", "--strict"];

impl Args {
    fn parse(args: impl Iterator<Item = String>) -> Args {
        let mut pairs = Vec::new();
        let mut positional = Vec::new();
        let mut args = args.peekable();
        while let Some(a) = args.next() {
            if a.starts_with("--") {
                if FLAGS.contains(&a.as_str()) {
                    pairs.push((a, None));
                } else {
                    pairs.push((a, args.next()));
                }
            } else {
                positional.push(a);
            }
        }
        Args { pairs, positional }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    fn flag(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name)
    }

    fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.get(name) {
            Some(v) => v.parse().map_err(|_| format!("{name}: not a number: {v}")),
            None => Ok(default),
        }
    }

    fn secs(&self, name: &str, default: f64) -> Result<Duration, String> {
        let v: f64 = self.num(name, default)?;
        Duration::try_from_secs_f64(v).map_err(|_| format!("{name}: not a duration: {v}"))
    }

    fn common(&self) -> Result<Common, String> {
        let addr: SocketAddr = self
            .get("--addr")
            .ok_or("--addr 127.0.0.1:PORT is required")?
            .parse()
            .map_err(|_| "--addr: not an address")?;
        if !addr.ip().is_loopback() {
            return Err("--addr: the generator only targets the loopback interface".into());
        }
        Ok(Common {
            addr,
            server_pid: self.get("--server-pid").and_then(|p| p.parse().ok()),
            server: self.get("--server").unwrap_or("server").to_owned(),
            rep: self.num("--rep", 1)?,
            warmup: self.secs("--warmup", 1.0)?,
            duration: self.secs("--duration", 5.0)?,
            connect_concurrency: self.num("--connect-concurrency", 128)?,
        })
    }

    fn rate(&self) -> Result<Option<f64>, String> {
        self.get("--rate")
            .map(|r| r.parse().map_err(|_| format!("--rate: not a number: {r}")))
            .transpose()
    }
}

fn usage() -> String {
    "usage: loadgen echo|broadcast|storm|soak|hostile --addr 127.0.0.1:PORT [options] | loadgen report FILE…\n\
     (see the top of bench/loadgen/src/main.rs for the options)"
        .to_owned()
}

async fn scenario(kind: &str, args: &Args, common: &Common) -> Result<measure::Outcome, String> {
    Ok(match kind {
        "echo" => {
            let transport = match args.get("--transport").unwrap_or("ws") {
                "ws" | "websocket" => echo::Transport::WebSocket,
                "polling" => echo::Transport::Polling,
                other => return Err(format!("--transport: ws or polling, not {other}")),
            };
            let rate = args.rate()?;
            if transport == echo::Transport::Polling && rate.is_some() {
                return Err("--rate is for the WebSocket transport".into());
            }
            echo::run(
                common,
                echo::EchoOptions {
                    clients: args.num("--clients", 100)?,
                    inflight: args.num::<usize>("--inflight", 1)?.max(1),
                    payload: args.num("--payload", 32)?,
                    transport,
                    binary: args.flag("--binary"),
                    rate,
                },
            )
            .await
        }
        "broadcast" => {
            broadcast::run(
                common,
                broadcast::BroadcastOptions {
                    receivers: args.num("--receivers", 1000)?,
                    payload: args.num("--payload", 32)?,
                    rate: args.rate()?,
                    room: args.get("--room").and_then(|m| m.parse().ok()),
                },
            )
            .await
        }
        "storm" => {
            storm::run(
                common,
                storm::StormOptions {
                    connections: args.num("--connections", 5000)?,
                    hold: args.secs("--hold", 5.0)?,
                    concurrency: args.num("--concurrency", 128)?,
                },
            )
            .await
        }
        other => return Err(format!("unknown scenario {other}\n{}", usage())),
    })
}

fn run() -> Result<ExitCode, String> {
    let mut argv = std::env::args().skip(1);
    let kind = argv.next().ok_or_else(usage)?;
    let args = Args::parse(argv);
    let mut stdout = std::io::stdout().lock();

    if kind == "report" {
        let mut text = String::new();
        for path in &args.positional {
            text.push_str(&std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?);
            text.push('\n');
        }
        write!(stdout, "{}", report::render(&text)).map_err(|e| e.to_string())?;
        return Ok(ExitCode::SUCCESS);
    }

    let common = args.common()?;
    if kind == "soak" {
        return soak(&args, &common);
    }
    if kind == "hostile" {
        return hostile(&args, &common);
    }
    // One core's worth of generator: a single-threaded runtime (the generator is pinned to
    // one core, and its tasks then share counters without contention).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    // The whole run is bounded: set-up, warm-up, duration, drain, plus a margin.
    let limit = common.warmup + common.duration + Duration::from_secs(300);
    let outcome = runtime
        .block_on(async { tokio::time::timeout(limit, scenario(&kind, &args, &common)).await })
        .map_err(|_| "the run overran its time limit".to_owned())??;

    let line = outcome.to_json(&common);
    writeln!(stdout, "{line}").map_err(|e| e.to_string())?;
    let get = |k: &str| {
        line.get(k)
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(0.0)
    };
    eprintln!(
        "{} [{}]: {:.0} {}/s, server CPU {:.2} µs/{}, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, \
         errors {}, missing {}, generator CPU {:.0}%, others' CPU {:.0}%",
        outcome.scenario,
        common.server,
        get("throughput"),
        outcome.unit,
        get("cpu_us"),
        outcome.unit,
        get("p50_us") / 1000.0,
        get("p99_us") / 1000.0,
        get("max_us") / 1000.0,
        outcome.errors,
        outcome.missing,
        get("gen_cpu_pct"),
        get("others_cpu_pct"),
    );
    if let Some(b) = line
        .get("bytes_per_conn")
        .and_then(serde_json::Value::as_f64)
    {
        eprintln!("  server memory per idle connection: {:.0} bytes", b);
    }
    for e in &outcome.error_samples {
        eprintln!("  error: {e}");
    }
    if args.flag("--strict") && (outcome.errors > 0 || outcome.missing > 0) {
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// The soak run: its own JSON line on stdout and a summary on stderr.
fn soak(args: &Args, common: &Common) -> Result<ExitCode, String> {
    let opts = soak::SoakOptions {
        receivers: args.num("--receivers", 100)?,
        churners: args.num("--churners", 50)?,
        slow: args.num("--slow", 10)?,
        rate: args.num("--rate", 100.0)?,
        payload: args.num("--payload", 4096)?,
        slow_hold: args.secs("--slow-hold", 30.0)?,
        sample_every: args.secs("--sample-every", 10.0)?,
        settle: args.secs("--settle", 10.0)?,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let limit = common.warmup + common.duration + Duration::from_secs(300);
    let line = runtime
        .block_on(async { tokio::time::timeout(limit, soak::run(common, opts)).await })
        .map_err(|_| "the run overran its time limit".to_owned())??;
    writeln!(std::io::stdout().lock(), "{line}").map_err(|e| e.to_string())?;
    let n = |k: &str| {
        line.get(k)
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(0.0)
    };
    eprintln!(
        "soak [{}]: {:.0} s, {:.0} broadcasts to {:.0} receivers, {:.0} delivered, {:.0} missing, \
         {:.0} errors; {:.0} churn connections, {:.0} slow clients ({:.0} closed by the server, \
         {:.0} still open); server RSS {} MiB before, {} MiB peak, {} MiB after; server CPU {:.1} s",
        common.server,
        n("seconds"),
        n("broadcasts"),
        n("receivers"),
        n("delivered_to_receivers"),
        n("missing"),
        n("errors"),
        n("churn_connections"),
        n("slow_connections"),
        n("slow_closed_by_server"),
        n("slow_still_open"),
        n("rss_before_mib"),
        n("rss_peak_mib"),
        n("rss_after_mib"),
        n("server_cpu_s"),
    );
    if let Some(samples) = line.get("error_samples").and_then(|v| v.as_array()) {
        for e in samples {
            eprintln!("  error: {e}");
        }
    }
    if args.flag("--strict") && (n("errors") > 0.0 || n("missing") > 0.0) {
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// The hostile-input run: its own JSON line on stdout and a summary on stderr.
fn hostile(args: &Args, common: &Common) -> Result<ExitCode, String> {
    let rounds = args.num("--rounds", 100)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let line = runtime
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(1800), hostile::run(common, rounds)).await
        })
        .map_err(|_| "the run overran its time limit".to_owned())??;
    writeln!(std::io::stdout().lock(), "{line}").map_err(|e| e.to_string())?;
    let n = |k: &str| {
        line.get(k)
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(0.0)
    };
    eprintln!(
        "hostile [{}]: {:.0} rounds, {:.0} inputs, {:.0} not answered as documented; server RSS \
         {} MiB at the start, {} MiB after the first round, {} MiB after the last, {} MiB after \
         a pause",
        common.server,
        n("rounds"),
        n("inputs"),
        n("errors"),
        n("rss_start_mib"),
        n("rss_after_first_round_mib"),
        n("rss_after_last_round_mib"),
        n("rss_after_pause_mib"),
    );
    if let Some(samples) = line.get("error_samples").and_then(|v| v.as_array()) {
        for e in samples {
            eprintln!("  error: {e}");
        }
    }
    if args.flag("--strict") && n("errors") > 0.0 {
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}
