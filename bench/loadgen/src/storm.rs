//! Connection storm: open N WebSocket sessions (Engine.IO open + Socket.IO connect to the
//! main namespace) as fast as the server takes them, with a bounded number opening at once;
//! then hold them all idle, answering the server's pings, and read the server's resident
//! memory. Reported: handshakes per second, the server's CPU per handshake, handshake
//! latency, and the server's memory per connection (resident growth from before the storm
//! to the end of the hold, divided by the connections).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::hist::Histogram;
use crate::measure::{Common, Cost, Errors, Outcome, Snapshot, window_hook};
use crate::procfs;
use crate::ws::Session;

#[derive(Clone, Debug)]
pub(crate) struct StormOptions {
    pub(crate) connections: usize,
    pub(crate) hold: Duration,
    /// Handshakes in flight at once.
    pub(crate) concurrency: usize,
}

impl StormOptions {
    pub(crate) fn label(&self) -> String {
        format!("storm N={}", self.connections)
    }
}

/// The longest the storm itself may take before what is not connected counts as failed.
const STORM_LIMIT: Duration = Duration::from_secs(120);

struct Tally {
    opened: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    pings: AtomicU64,
    errors: Errors,
}

async fn connection(
    index: usize,
    common: Arc<Common>,
    limit: Arc<tokio::sync::Semaphore>,
    tally: Arc<Tally>,
    mut stop: watch::Receiver<bool>,
) -> Option<u64> {
    let permit = limit.acquire_owned().await.ok()?;
    let started = Instant::now();
    let session = tokio::time::timeout(
        Duration::from_secs(30),
        Session::connect(common.addr, index as u64 + 1),
    )
    .await;
    let latency = started.elapsed().as_nanos() as u64;
    drop(permit);
    let mut session = match session {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tally.failed.fetch_add(1, Ordering::Relaxed);
            tally.errors.add(format!("handshake: {e}"));
            return None;
        }
        Err(_) => {
            tally.failed.fetch_add(1, Ordering::Relaxed);
            tally.errors.add("handshake: timed out");
            return None;
        }
    };
    tally.opened.fetch_add(1, Ordering::Relaxed);
    // Idle: answer pings (inside recv) until told to stop.
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            r = session.ws.recv() => {
                if let Err(e) = r {
                    tally.dropped.fetch_add(1, Ordering::Relaxed);
                    tally.errors.add(format!("idle connection lost: {e}"));
                    break;
                }
            }
        }
    }
    tally.pings.fetch_add(session.ws.pings, Ordering::Relaxed);
    Some(latency)
}

pub(crate) async fn run(common: &Common, opts: StormOptions) -> Outcome {
    let common = Arc::new(common.clone());
    let tally = Arc::new(Tally {
        opened: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        pings: AtomicU64::new(0),
        errors: Errors::default(),
    });
    let pid = common.server_pid;
    let rss_before = pid.and_then(procfs::rss_bytes);
    window_hook("start");
    let before = Snapshot::take(pid);
    let limit = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let handles: Vec<_> = (0..opts.connections)
        .map(|i| {
            tokio::spawn(connection(
                i,
                Arc::clone(&common),
                Arc::clone(&limit),
                Arc::clone(&tally),
                stop_rx.clone(),
            ))
        })
        .collect();

    let deadline = Instant::now() + STORM_LIMIT;
    let total = opts.connections as u64;
    while tally.opened.load(Ordering::Relaxed) + tally.failed.load(Ordering::Relaxed) < total
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let after_storm = Snapshot::take(pid);
    window_hook("end");
    let opened = tally.opened.load(Ordering::Relaxed);
    let unfinished = total - opened - tally.failed.load(Ordering::Relaxed);
    if unfinished > 0 {
        tally.errors.add(format!(
            "{unfinished} handshakes unfinished after the time limit"
        ));
    }

    // The hold: idle connections; the server only runs its heartbeat.
    tokio::time::sleep(opts.hold).await;
    let after_hold = Snapshot::take(pid);
    let rss_after = pid.and_then(procfs::rss_bytes);
    let _ = stop_tx.send(true);

    let mut hist = Histogram::new();
    for h in handles {
        if let Ok(Some(latency)) = h.await {
            hist.record(latency);
        }
    }
    let storm = Cost::between(&before, &after_storm);
    let hold = Cost::between(&after_storm, &after_hold);
    let mut extra = Map::new();
    extra.insert("connections".into(), Value::from(opened));
    extra.insert(
        "pings_answered".into(),
        Value::from(tally.pings.load(Ordering::Relaxed)),
    );
    extra.insert("hold_s".into(), Value::from(opts.hold.as_secs_f64()));
    if let (Some(a), Some(b)) = (rss_before, rss_after)
        && opened > 0
    {
        extra.insert(
            "bytes_per_conn".into(),
            Value::from(b.saturating_sub(a) as f64 / opened as f64),
        );
        extra.insert("rss_before_bytes".into(), Value::from(a));
    }
    if let Some(cpu) = hold.server_cpu {
        extra.insert(
            "idle_cpu_pct".into(),
            Value::from(cpu.as_secs_f64() / hold.elapsed.as_secs_f64().max(1e-9) * 100.0),
        );
    }
    Outcome {
        scenario: opts.label(),
        unit: "handshake",
        messages: opened,
        latency: hist,
        cost: storm,
        errors: tally.errors.count(),
        missing: tally.dropped.load(Ordering::Relaxed),
        server_rss: rss_after,
        error_samples: tally.errors.samples(),
        extra,
    }
}
