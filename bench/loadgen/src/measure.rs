//! What every scenario shares: the measurement window, the meter that reads the server's CPU
//! and memory at its edges, the error tally, and the result line.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::hist::Histogram;
use crate::procfs::{self, Usage};

/// After the last send, how long acknowledgements and deliveries may still take before what
/// is outstanding counts as missing.
pub(crate) const DRAIN: Duration = Duration::from_secs(10);

/// How the scenario is run: where the server is and how long to measure.
#[derive(Clone, Debug)]
pub(crate) struct Common {
    pub(crate) addr: SocketAddr,
    pub(crate) server_pid: Option<u32>,
    pub(crate) server: String,
    pub(crate) rep: u32,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    /// How many connections may be opening at once while a scenario sets up.
    pub(crate) connect_concurrency: usize,
}

/// The measured interval: results count what completed inside it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    pub(crate) start: Instant,
    pub(crate) end: Instant,
}

impl Window {
    pub(crate) fn after_warmup(common: &Common) -> Window {
        let start = Instant::now() + common.warmup;
        Window {
            start,
            end: start + common.duration,
        }
    }

    pub(crate) fn contains(&self, t: Instant) -> bool {
        t >= self.start && t < self.end
    }
}

/// Errors seen by the generator: how many, and the first few messages for the log.
#[derive(Default)]
pub(crate) struct Errors {
    inner: Mutex<(u64, Vec<String>)>,
}

impl Errors {
    pub(crate) fn add(&self, what: impl std::fmt::Display) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.0 += 1;
        if inner.1.len() < 5 {
            inner.1.push(what.to_string());
        }
    }

    pub(crate) fn count(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    pub(crate) fn samples(&self) -> Vec<String> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone()
    }
}

/// Counters of the server and of the generator at one moment.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Snapshot {
    pub(crate) at: Instant,
    pub(crate) server: Option<Usage>,
    pub(crate) generator: Option<Usage>,
    pub(crate) machine: Option<Duration>,
}

impl Snapshot {
    pub(crate) fn take(server_pid: Option<u32>) -> Snapshot {
        Snapshot {
            at: Instant::now(),
            server: server_pid.and_then(|pid| procfs::usage(Some(pid))),
            generator: procfs::usage(None),
            machine: procfs::machine_busy(),
        }
    }
}

/// What the server and the generator used between two snapshots.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Cost {
    pub(crate) elapsed: Duration,
    pub(crate) server_cpu: Option<Duration>,
    pub(crate) generator_cpu: Option<Duration>,
    /// CPU the rest of the machine used meanwhile (other processes, interrupts): a shared
    /// machine shows it here.
    pub(crate) others_cpu: Option<Duration>,
}

impl Cost {
    pub(crate) fn between(a: &Snapshot, b: &Snapshot) -> Cost {
        let server_cpu = a.server.zip(b.server).map(|(a, b)| b.since(&a));
        let generator_cpu = a.generator.zip(b.generator).map(|(a, b)| b.since(&a));
        let others_cpu = a.machine.zip(b.machine).map(|(a, b)| {
            b.saturating_sub(a)
                .saturating_sub(server_cpu.unwrap_or_default())
                .saturating_sub(generator_cpu.unwrap_or_default())
        });
        Cost {
            elapsed: b.at.saturating_duration_since(a.at),
            server_cpu,
            generator_cpu,
            others_cpu,
        }
    }
}

/// Runs the command in `LOADGEN_WINDOW_HOOK`, if set, with `start` or `end` as its argument,
/// at an edge of the measured interval (`bench/profile` turns the server's instruction count
/// on and off with it). It blocks while it runs: only profiling runs set it.
pub(crate) fn window_hook(edge: &str) {
    if let Some(hook) = std::env::var_os("LOADGEN_WINDOW_HOOK") {
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg("$0 \"$1\"")
            .arg(hook)
            .arg(edge)
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("loadgen: the window hook failed at {edge}: {status:?}");
        }
    }
}

/// Snapshots at the window's edges, taken by a task of its own so that the scenario's own
/// tasks need not look at the clock for it.
pub(crate) fn meter(
    window: Window,
    server_pid: Option<u32>,
) -> tokio::task::JoinHandle<(Cost, Option<u64>)> {
    tokio::spawn(async move {
        tokio::time::sleep_until(window.start).await;
        window_hook("start");
        let a = Snapshot::take(server_pid);
        tokio::time::sleep_until(window.end).await;
        let b = Snapshot::take(server_pid);
        window_hook("end");
        let rss = server_pid.and_then(procfs::rss_bytes);
        (Cost::between(&a, &b), rss)
    })
}

/// One scenario's result, printed as one JSON line.
pub(crate) struct Outcome {
    pub(crate) scenario: String,
    /// What one message is: `ack`, `delivery` or `handshake`.
    pub(crate) unit: &'static str,
    /// Messages completed inside the window.
    pub(crate) messages: u64,
    pub(crate) latency: Histogram,
    pub(crate) cost: Cost,
    pub(crate) errors: u64,
    pub(crate) missing: u64,
    pub(crate) server_rss: Option<u64>,
    pub(crate) error_samples: Vec<String>,
    /// Scenario-specific figures.
    pub(crate) extra: Map<String, Value>,
}

fn us(ns: u64) -> f64 {
    (ns as f64 / 100.0).round() / 10.0
}

impl Outcome {
    pub(crate) fn to_json(&self, common: &Common) -> Value {
        let secs = self.cost.elapsed.as_secs_f64();
        let throughput = if secs > 0.0 {
            self.messages as f64 / secs
        } else {
            0.0
        };
        let cpu_us = match self.cost.server_cpu {
            Some(cpu) if self.messages > 0 => {
                Value::from(cpu.as_secs_f64() * 1e6 / self.messages as f64)
            }
            _ => Value::Null,
        };
        let gen_pct = match self.cost.generator_cpu {
            Some(cpu) if secs > 0.0 => {
                Value::from((cpu.as_secs_f64() / secs * 1000.0).round() / 10.0)
            }
            _ => Value::Null,
        };
        let others_pct = match self.cost.others_cpu {
            Some(cpu) if secs > 0.0 => {
                Value::from((cpu.as_secs_f64() / secs * 1000.0).round() / 10.0)
            }
            _ => Value::Null,
        };
        let mut line = json!({
            "scenario": self.scenario,
            "server": common.server,
            "rep": common.rep,
            "unit": self.unit,
            "messages": self.messages,
            "window_s": secs,
            "throughput": throughput,
            "cpu_us": cpu_us,
            "server_cpu_s": self.cost.server_cpu.map(|c| c.as_secs_f64()),
            "gen_cpu_pct": gen_pct,
            "others_cpu_pct": others_pct,
            "p50_us": us(self.latency.quantile(0.50)),
            "p90_us": us(self.latency.quantile(0.90)),
            "p99_us": us(self.latency.quantile(0.99)),
            "p999_us": us(self.latency.quantile(0.999)),
            "max_us": us(self.latency.max()),
            "errors": self.errors,
            "missing": self.missing,
            "server_rss_bytes": self.server_rss,
            "error_samples": self.error_samples,
        });
        if let Some(obj) = line.as_object_mut() {
            for (k, v) in &self.extra {
                obj.insert(k.clone(), v.clone());
            }
        }
        line
    }
}

/// Opens `count` connections with at most `concurrency` opening at once; failures are
/// counted in `errors` and left out.
pub(crate) async fn open_all<T, F, Fut>(
    count: usize,
    concurrency: usize,
    errors: &Arc<Errors>,
    open: F,
) -> Vec<(usize, T)>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = std::io::Result<T>> + Send + 'static,
{
    let limit = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut handles = Vec::with_capacity(count);
    for i in 0..count {
        let limit = Arc::clone(&limit);
        let fut = open(i);
        handles.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            tokio::time::timeout(Duration::from_secs(30), fut).await
        }));
    }
    let mut opened = Vec::with_capacity(count);
    for (i, h) in handles.into_iter().enumerate() {
        match h.await {
            Ok(Ok(Ok(conn))) => opened.push((i, conn)),
            Ok(Ok(Err(e))) => errors.add(format!("connect: {e}")),
            Ok(Err(_)) => errors.add("connect: timed out"),
            Err(e) => errors.add(format!("connect task: {e}")),
        }
    }
    opened
}
