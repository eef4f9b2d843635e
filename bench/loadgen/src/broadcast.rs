//! Broadcast: N receivers and one sender over WebSocket. The sender emits `broadcast` (the
//! server sends `bcast` to every other socket of the namespace) or `room` (the server sends
//! `bcast` to the sockets of one room, which M of the receivers joined), closed loop on the
//! sender's ack or open loop at a fixed rate. Each payload carries its sequence number and
//! when it was due, so each receiver measures its own delivery latency; every delivery is
//! counted, and what did not arrive by the end of the drain period is reported missing.
//!
//! Closed loop waits for the ack before the next broadcast, and also keeps the receivers at
//! most [`LAG`] broadcasts behind: a server that acknowledges before it has written (they all
//! do) would otherwise let the sender run ahead and the run would measure queue growth, not a
//! steady state.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use crate::echo::size_label;
use crate::hist::Histogram;
use crate::measure::{Common, DRAIN, Errors, Outcome, Window, meter, open_all};
use crate::ws::{Session, WsConn, leading_number};

/// How many broadcasts the receivers may lag behind the sender in closed loop.
pub(crate) const LAG: u64 = 32;
const ROOM: &str = "bench-room";
/// The most broadcasts one run sends, whatever the duration.
const MAX_BROADCASTS: u64 = 10_000_000;

#[derive(Clone, Debug)]
pub(crate) struct BroadcastOptions {
    pub(crate) receivers: usize,
    pub(crate) payload: usize,
    /// Open loop at this many broadcasts per second.
    pub(crate) rate: Option<f64>,
    /// Send to a room that this many receivers joined, instead of to everyone.
    pub(crate) room: Option<usize>,
}

impl BroadcastOptions {
    pub(crate) fn label(&self) -> String {
        let mut label = match self.room {
            Some(m) => format!("room N={} M={m}", self.receivers),
            None => format!("broadcast N={}", self.receivers),
        };
        if self.payload != 32 {
            label.push_str(&format!(" {}", size_label(self.payload)));
        }
        match self.rate {
            Some(rate) => label.push_str(&format!(" open {rate:.0}/s")),
            None => label.push_str(" closed"),
        }
        label
    }

    /// The receivers that are in the room: every `receivers / room`-th one.
    fn is_member(&self, index: usize) -> bool {
        match self.room {
            Some(m) => {
                let every = (self.receivers / m.max(1)).max(1);
                index.is_multiple_of(every) && index / every < m
            }
            None => true,
        }
    }
}

/// Shared between the sender and the receivers.
struct Shared {
    base: std::time::Instant,
    window: Window,
    delivered: AtomicU64,
    errors: Arc<Errors>,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }
}

/// `"<seq> <due ns> xxx…"` padded to `size` bytes.
fn payload(seq: u64, due_ns: u64, size: usize) -> String {
    let mut p = format!("{seq} {due_ns} ");
    while p.len() < size {
        p.push('x');
    }
    p
}

/// A broadcast received: when it was due.
fn parse_delivery(text: &[u8]) -> Option<u64> {
    let rest = text.strip_prefix(b"42[\"bcast\",\"")?;
    let (_seq, rest) = leading_number(rest)?;
    let (due, _) = leading_number(rest.strip_prefix(b" ")?)?;
    Some(due)
}

#[derive(Default)]
struct ReceiverStats {
    hist: Option<Histogram>,
    in_window: u64,
    unexpected: u64,
}

async fn receiver(
    mut session: Session,
    member: bool,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> ReceiverStats {
    let mut stats = ReceiverStats::default();
    let mut hist = Histogram::new();
    loop {
        let due = tokio::select! {
            _ = stop.changed() => break,
            r = next_delivery(&mut session.ws) => match r {
                Ok(Some(due)) => due,
                Ok(None) => continue,
                Err(e) => {
                    shared.errors.add(format!("receiver: {e}"));
                    break;
                }
            },
        };
        shared.delivered.fetch_add(1, Ordering::Relaxed);
        if !member {
            stats.unexpected += 1;
        }
        if shared.window.contains(Instant::now()) {
            hist.record(shared.now_ns().saturating_sub(due));
            stats.in_window += 1;
        }
    }
    stats.hist = Some(hist);
    stats
}

async fn next_delivery(ws: &mut WsConn) -> io::Result<Option<u64>> {
    let f = ws.recv().await?;
    Ok(if f.is_text() {
        parse_delivery(f.data)
    } else {
        None
    })
}

/// Waits for the ack `43<id>`; other frames are skipped.
async fn wait_ack(ws: &mut WsConn, id: u64) -> io::Result<()> {
    loop {
        let f = ws.recv().await?;
        if let Some(rest) = f.data.strip_prefix(b"43")
            && let Some((got, _)) = leading_number(rest)
            && got == id
        {
            return Ok(());
        }
    }
}

fn queue_broadcast(ws: &mut WsConn, opts: &BroadcastOptions, id: u64, data: &str) {
    let id = id.to_string();
    match opts.room {
        Some(_) => ws.queue_text(&[
            b"42",
            id.as_bytes(),
            format!("[\"room\",\"{ROOM}\",\"{data}\"]").as_bytes(),
        ]),
        None => ws.queue_text(&[
            b"42",
            id.as_bytes(),
            format!("[\"broadcast\",\"{data}\"]").as_bytes(),
        ]),
    }
}

/// Sends until the window ends; returns how many broadcasts the server took (acked, or
/// written in open loop).
async fn sender(
    mut session: Session,
    opts: &BroadcastOptions,
    members: u64,
    shared: &Shared,
) -> io::Result<u64> {
    let ws = &mut session.ws;
    let mut sent = 0u64;
    let hard_end = shared.window.end + DRAIN;
    match opts.rate {
        None => {
            while Instant::now() < shared.window.end && sent < MAX_BROADCASTS {
                // Keep the receivers at most LAG broadcasts behind.
                while sent.saturating_sub(LAG) * members > shared.delivered.load(Ordering::Relaxed)
                {
                    if Instant::now() > hard_end {
                        return Ok(sent);
                    }
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
                let data = payload(sent, shared.now_ns(), opts.payload);
                queue_broadcast(ws, opts, sent, &data);
                ws.flush().await?;
                tokio::time::timeout_at(hard_end, wait_ack(ws, sent))
                    .await
                    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no ack"))??;
                sent += 1;
            }
        }
        Some(rate) => {
            let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
            let mut ticker = tokio::time::interval(period);
            ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
            let mut acked = 0u64;
            loop {
                if Instant::now() >= shared.window.end || sent >= MAX_BROADCASTS {
                    break;
                }
                tokio::select! {
                    due = ticker.tick() => {
                        let due_ns = due.into_std().saturating_duration_since(shared.base).as_nanos() as u64;
                        let data = payload(sent, due_ns, opts.payload);
                        queue_broadcast(ws, opts, sent, &data);
                        ws.flush().await?;
                        sent += 1;
                    }
                    r = ws.recv() => {
                        let f = r?;
                        if f.data.starts_with(b"43") {
                            acked += 1;
                        }
                    }
                }
            }
            // The acks of the last broadcasts.
            while acked < sent {
                match tokio::time::timeout_at(hard_end, ws.recv()).await {
                    Ok(Ok(f)) if f.data.starts_with(b"43") => acked += 1,
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Err(e),
                    Err(_) => break,
                }
            }
            if acked < sent {
                shared
                    .errors
                    .add(format!("{} broadcasts never acked", sent - acked));
            }
        }
    }
    Ok(sent)
}

pub(crate) async fn run(common: &Common, opts: BroadcastOptions) -> Outcome {
    let errors = Arc::new(Errors::default());
    let addr = common.addr;

    // Receivers, then (in the room scenario) the members join the room.
    let receivers = open_all(opts.receivers, common.connect_concurrency, &errors, |i| {
        let join = opts.is_member(i) && opts.room.is_some();
        async move {
            let mut s = Session::connect(addr, i as u64 + 1).await?;
            if join {
                s.ws.queue_text(&[b"420[\"join\",\"", ROOM.as_bytes(), b"\"]"]);
                s.ws.flush().await?;
                wait_ack(&mut s.ws, 0).await?;
            }
            Ok(s)
        }
    })
    .await;
    let sender_session = Session::connect(addr, 0).await;

    let window = Window::after_warmup(common);
    let shared = Arc::new(Shared {
        base: std::time::Instant::now(),
        window,
        delivered: AtomicU64::new(0),
        errors,
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut handles = Vec::with_capacity(receivers.len());
    // Connect failures are already counted as errors; what is expected is counted over the
    // receivers that are there.
    let mut members = 0u64;
    for (i, s) in receivers {
        let member = opts.is_member(i);
        members += u64::from(member);
        handles.push(tokio::spawn(receiver(
            s,
            member,
            Arc::clone(&shared),
            stop_rx.clone(),
        )));
    }
    let meter = meter(window, common.server_pid);

    let sent = match sender_session {
        Ok(s) => match sender(s, &opts, members, &shared).await {
            Ok(sent) => sent,
            Err(e) => {
                shared.errors.add(format!("sender: {e}"));
                0
            }
        },
        Err(e) => {
            shared.errors.add(format!("sender connect: {e}"));
            0
        }
    };
    // Drain: wait for what is still on its way.
    let expected = sent * members;
    let drain_end = Instant::now() + DRAIN;
    while shared.delivered.load(Ordering::Relaxed) < expected && Instant::now() < drain_end {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (cost, rss) = meter.await.unwrap_or_default();
    // A little longer, to catch deliveries beyond the expected (duplicates, wrong room).
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = stop_tx.send(true);

    let mut hist = Histogram::new();
    let mut messages = 0;
    let mut unexpected = 0;
    for h in handles {
        match h.await {
            Ok(stats) => {
                if let Some(h) = &stats.hist {
                    hist.merge(h);
                }
                messages += stats.in_window;
                unexpected += stats.unexpected;
            }
            Err(e) => shared.errors.add(format!("receiver task: {e}")),
        }
    }
    let delivered = shared.delivered.load(Ordering::Relaxed);
    if unexpected > 0 {
        shared.errors.add(format!(
            "{unexpected} deliveries to sockets outside the room"
        ));
    }
    let to_members = delivered - unexpected;
    if to_members > expected {
        shared.errors.add(format!(
            "{} more deliveries than sent",
            to_members - expected
        ));
    }
    let mut extra = Map::new();
    extra.insert("receivers".into(), Value::from(members));
    extra.insert("broadcasts".into(), Value::from(sent));
    extra.insert("deliveries".into(), Value::from(delivered));
    Outcome {
        scenario: opts.label(),
        unit: "delivery",
        messages,
        latency: hist,
        cost,
        errors: shared.errors.count(),
        missing: expected.saturating_sub(to_members),
        server_rss: rss,
        error_samples: shared.errors.samples(),
        extra,
    }
}
