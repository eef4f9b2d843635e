//! Soak and churn: a long run that looks for leaks and losses rather than speed.
//!
//! - `receivers` healthy clients stay connected the whole run and check every broadcast
//!   (sequence numbers: a gap is a missing packet, a repeat or a step back an error);
//! - one sender emits `broadcast` at `rate` per second, open loop (the server sends `bcast`
//!   to every other socket, then acknowledges);
//! - `churners` loops connect a client, read for a random while, and drop it (half of them
//!   after a Socket.IO disconnect, half by closing the TCP connection), again and again;
//! - `slow` loops connect a client that stops reading; after `slow_hold` they read again to
//!   learn whether the server closed the connection (its queue bound) or not, and start over;
//! - the server's resident memory is read when only the receivers are connected and idle
//!   (before), every `sample_every` while the load runs, and again once the load has stopped
//!   and the receivers are idle again (after).
//!
//! Every loop is bounded by the run's end; only 127.0.0.1 is used.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use crate::measure::{Common, DRAIN, Errors, open_all};
use crate::procfs;
use crate::ws::{Session, WsConn, leading_number, pseudo_random};

#[derive(Clone, Debug)]
pub(crate) struct SoakOptions {
    pub(crate) receivers: usize,
    pub(crate) churners: usize,
    pub(crate) slow: usize,
    /// Broadcasts per second.
    pub(crate) rate: f64,
    pub(crate) payload: usize,
    /// How long a slow client stays silent before it looks whether it was closed.
    pub(crate) slow_hold: Duration,
    pub(crate) sample_every: Duration,
    /// How long the server may take to settle after the load before memory is read again.
    pub(crate) settle: Duration,
}

#[derive(Default)]
struct Tally {
    churn_connections: AtomicU64,
    slow_connections: AtomicU64,
    slow_closed_by_server: AtomicU64,
    slow_still_open: AtomicU64,
}

/// What a healthy receiver saw.
#[derive(Default, Debug)]
struct Received {
    count: u64,
    gaps: u64,
    /// The highest sequence number seen, plus one.
    next: u64,
}

/// `42["bcast","<seq> …"]` → seq.
fn sequence(data: &[u8]) -> Option<u64> {
    let rest = data.strip_prefix(b"42[\"bcast\",\"")?;
    leading_number(rest).map(|(n, _)| n)
}

fn payload(seq: u64, size: usize) -> String {
    let mut p = format!("{seq} ");
    while p.len() < size {
        p.push('s');
    }
    p
}

async fn receiver(
    mut session: Session,
    errors: Arc<Errors>,
    mut stop: watch::Receiver<bool>,
) -> Received {
    let mut got = Received::default();
    loop {
        let frame = tokio::select! {
            _ = stop.changed() => break,
            r = session.ws.recv() => match r {
                Ok(f) => sequence(f.data),
                Err(e) => {
                    errors.add(format!("receiver: {e}"));
                    break;
                }
            },
        };
        let Some(seq) = frame else { continue };
        if seq < got.next {
            errors.add(format!("receiver: broadcast {seq} after {}", got.next - 1));
            continue;
        }
        got.gaps += seq - got.next;
        got.next = seq + 1;
        got.count += 1;
    }
    got
}

/// Reads (and discards) for `d`; false if the connection ended.
async fn read_for(ws: &mut WsConn, d: Duration) -> bool {
    let end = Instant::now() + d;
    loop {
        match tokio::time::timeout_at(end, ws.recv()).await {
            Err(_) => return true,
            Ok(Ok(_)) => {}
            Ok(Err(_)) => return false,
        }
    }
}

async fn churner(common: Common, seed: u64, end: Instant, tally: Arc<Tally>, errors: Arc<Errors>) {
    let mut seed = seed;
    while Instant::now() < end {
        let connected =
            tokio::time::timeout(Duration::from_secs(30), Session::connect(common.addr, seed))
                .await;
        let mut session = match connected {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                errors.add(format!("churn connect: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(_) => {
                errors.add("churn connect: timed out");
                continue;
            }
        };
        tally.churn_connections.fetch_add(1, Ordering::Relaxed);
        let r = pseudo_random(&mut seed);
        let stay = Duration::from_millis(200 + r % 1800);
        if !read_for(&mut session.ws, stay).await {
            errors.add("churn: closed by the server");
            continue;
        }
        if r & (1 << 20) != 0 {
            // A polite goodbye first; otherwise the TCP connection just goes away.
            session.ws.queue_text(&[b"41"]);
            let _ = session.ws.flush().await;
        }
    }
}

async fn slow_client(
    common: Common,
    seed: u64,
    hold: Duration,
    end: Instant,
    tally: Arc<Tally>,
    errors: Arc<Errors>,
) {
    while Instant::now() + hold < end {
        let mut session = match Session::connect(common.addr, seed).await {
            Ok(s) => s,
            Err(e) => {
                errors.add(format!("slow connect: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        tally.slow_connections.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(hold).await;
        // Whatever the kernel and the server still hold comes out in a few seconds at
        // loopback speed; a connection still delivering after that was not closed.
        if read_for(&mut session.ws, Duration::from_secs(5)).await {
            tally.slow_still_open.fetch_add(1, Ordering::Relaxed);
        } else {
            tally.slow_closed_by_server.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Sends at `rate` until `end`; returns (sent, acknowledged).
async fn sender(mut session: Session, opts: &SoakOptions, end: Instant) -> io::Result<(u64, u64)> {
    let ws = &mut session.ws;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / opts.rate.max(0.01)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let (mut sent, mut acked) = (0u64, 0u64);
    while Instant::now() < end {
        tokio::select! {
            _ = ticker.tick() => {
                let id = sent.to_string();
                let data = payload(sent, opts.payload);
                ws.queue_text(&[b"42", id.as_bytes(), b"[\"broadcast\",\"", data.as_bytes(), b"\"]"]);
                ws.flush().await?;
                sent += 1;
            }
            r = ws.recv() => {
                if r?.data.starts_with(b"43") {
                    acked += 1;
                }
            }
        }
    }
    let hard_end = Instant::now() + DRAIN;
    while acked < sent {
        match tokio::time::timeout_at(hard_end, ws.recv()).await {
            Ok(Ok(f)) if f.data.starts_with(b"43") => acked += 1,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => break,
        }
    }
    Ok((sent, acked))
}

fn mib(bytes: Option<u64>) -> Value {
    bytes.map_or(Value::Null, |b| {
        json!((b as f64 / 1048576.0 * 100.0).round() / 100.0)
    })
}

pub(crate) async fn run(common: &Common, opts: SoakOptions) -> Result<Value, String> {
    let pid = common
        .server_pid
        .ok_or("soak: --server-pid is needed to read the server's memory")?;
    let rss = || procfs::rss_bytes(pid);
    let errors = Arc::new(Errors::default());
    let tally = Arc::new(Tally::default());
    let addr = common.addr;

    let receivers = open_all(opts.receivers, common.connect_concurrency, &errors, |i| {
        Session::connect(addr, i as u64 + 1)
    })
    .await;
    let sender_session = Session::connect(addr, 0)
        .await
        .map_err(|e| format!("sender connect: {e}"))?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_before = rss();
    let usage_start = procfs::usage(Some(pid));

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut readers = Vec::new();
    for (_, s) in receivers {
        readers.push(tokio::spawn(receiver(
            s,
            Arc::clone(&errors),
            stop_rx.clone(),
        )));
    }
    let start = Instant::now();
    let load_end = start + common.warmup + common.duration;
    let mut loops = Vec::new();
    for i in 0..opts.churners {
        loops.push(tokio::spawn(churner(
            common.clone(),
            0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1),
            load_end,
            Arc::clone(&tally),
            Arc::clone(&errors),
        )));
    }
    for i in 0..opts.slow {
        loops.push(tokio::spawn(slow_client(
            common.clone(),
            0x5851_f42d_4c95_7f2d ^ (i as u64 + 1),
            opts.slow_hold,
            load_end,
            Arc::clone(&tally),
            Arc::clone(&errors),
        )));
    }
    // Memory while the load runs.
    let sampling = {
        let every = opts.sample_every;
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval_at(start + every, every);
            while Instant::now() + every <= load_end {
                tick.tick().await;
                samples.push(json!([
                    start.elapsed().as_secs(),
                    mib(procfs::rss_bytes(pid))
                ]));
            }
            samples
        })
    };
    let sent = sender(sender_session, &opts, load_end).await;
    for l in loops {
        let _ = l.await;
    }
    let samples = sampling.await.unwrap_or_default();
    let usage_end = procfs::usage(Some(pid));
    // The receivers take what is still on its way, then the server settles.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = stop_tx.send(true);
    let mut received = Vec::new();
    for r in readers {
        match r.await {
            Ok(got) => received.push(got),
            Err(e) => errors.add(format!("receiver task: {e}")),
        }
    }
    let (sent, acked) = sent.map_err(|e| format!("sender: {e}"))?;
    tokio::time::sleep(opts.settle).await;
    let rss_after = rss();

    let healthy = received.len() as u64;
    let missing: u64 = received
        .iter()
        .map(|r| r.gaps + sent.saturating_sub(r.next))
        .sum();
    let delivered: u64 = received.iter().map(|r| r.count).sum();
    let cpu = match (usage_start, usage_end) {
        (Some(a), Some(b)) => json!(b.since(&a).as_secs_f64()),
        _ => Value::Null,
    };
    let peak = samples
        .iter()
        .filter_map(|s| s.get(1).and_then(Value::as_f64))
        .fold(0.0f64, f64::max);
    let t = |a: &AtomicU64| a.load(Ordering::Relaxed);
    Ok(json!({
        "scenario": "soak",
        "server": common.server,
        "seconds": (common.warmup + common.duration).as_secs(),
        "receivers": healthy,
        "churners": opts.churners,
        "slow": opts.slow,
        "rate": opts.rate,
        "payload": opts.payload,
        "broadcasts": sent,
        "acked": acked,
        "delivered_to_receivers": delivered,
        "missing": missing,
        "errors": errors.count(),
        "error_samples": errors.samples(),
        "churn_connections": t(&tally.churn_connections),
        "slow_connections": t(&tally.slow_connections),
        "slow_closed_by_server": t(&tally.slow_closed_by_server),
        "slow_still_open": t(&tally.slow_still_open),
        "rss_before_mib": mib(rss_before),
        "rss_peak_mib": peak,
        "rss_after_mib": mib(rss_after),
        "rss_samples_mib": samples,
        "server_cpu_s": cpu,
    }))
}
