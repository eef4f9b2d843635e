//! Echo with acknowledgement: C clients each keep K acked `echo` events in flight (closed
//! loop), or send at a fixed total rate whatever comes back (open loop, latency measured from
//! when each send was due, so a stalled server cannot hide its stall). WebSocket or
//! long-polling; a JSON string payload, or one binary attachment (`echo-bin`).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::time::{Instant, MissedTickBehavior};

use crate::hist::Histogram;
use crate::measure::{Common, DRAIN, Errors, Outcome, Window, meter, open_all};
use crate::polling::PollingSession;
use crate::ws::{Session, WsConn, leading_number};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    WebSocket,
    Polling,
}

#[derive(Clone, Debug)]
pub(crate) struct EchoOptions {
    pub(crate) clients: usize,
    pub(crate) inflight: usize,
    pub(crate) payload: usize,
    pub(crate) transport: Transport,
    pub(crate) binary: bool,
    /// Open loop at this many events per second in total.
    pub(crate) rate: Option<f64>,
}

/// A size as the table shows it: `32B`, `1KiB`.
pub(crate) fn size_label(bytes: usize) -> String {
    if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{}KiB", bytes / 1024)
    } else {
        format!("{bytes}B")
    }
}

impl EchoOptions {
    pub(crate) fn label(&self) -> String {
        let transport = match self.transport {
            Transport::WebSocket => "ws",
            Transport::Polling => "polling",
        };
        let kind = if self.binary { "binary echo" } else { "echo" };
        let mut label = format!(
            "{kind} {transport} C={} {}",
            self.clients,
            size_label(self.payload)
        );
        if self.inflight != 1 {
            label.push_str(&format!(" K={}", self.inflight));
        }
        if let Some(rate) = self.rate {
            label.push_str(&format!(" open {rate:.0}/s"));
        }
        label
    }
}

/// The event's fixed parts: what goes before the ack id, and after it.
struct Wire {
    binary: bool,
    /// For text: `["echo","xx…"]`; for binary: `["echo-bin",{placeholder}]`.
    args: Vec<u8>,
    attachment: Vec<u8>,
    /// The length of the ack the server should send back, less the id's digits.
    ack_len_less_id: usize,
}

impl Wire {
    fn new(opts: &EchoOptions) -> Wire {
        if opts.binary {
            let args = br#"["echo-bin",{"_placeholder":true,"num":0}]"#.to_vec();
            Wire {
                binary: true,
                args,
                attachment: vec![0xa5; opts.payload],
                // `461-<id>[{"_placeholder":true,"num":0}]`
                ack_len_less_id: 4 + br#"[{"_placeholder":true,"num":0}]"#.len(),
            }
        } else {
            let data = format!("\"{}\"", "x".repeat(opts.payload));
            let args = format!("[\"echo\",{data}]").into_bytes();
            Wire {
                binary: false,
                args,
                attachment: Vec::new(),
                // `43<id>[<data>]`
                ack_len_less_id: 2 + data.len() + 2,
            }
        }
    }

    fn queue(&self, ws: &mut WsConn, id: u64) {
        let id = id.to_string();
        if self.binary {
            ws.queue_text(&[b"451-", id.as_bytes(), &self.args]);
            ws.queue_binary(&self.attachment);
        } else {
            ws.queue_text(&[b"42", id.as_bytes(), &self.args]);
        }
    }

    fn polling_body(&self, id: u64) -> Vec<u8> {
        let mut body = format!("42{id}").into_bytes();
        body.extend_from_slice(&self.args);
        body
    }
}

/// What a client got from the server, owned so the connection is free again.
enum Incoming {
    /// A text ack `43<id>…` (or, for binary, the attachment that ends `461-<id>…`), with the
    /// length of what came back.
    Ack(u64, usize),
    /// The text part of a binary ack; its attachment follows.
    BinaryHead(u64, usize),
    /// A binary frame.
    Attachment(usize),
    Other,
}

async fn next_incoming(ws: &mut WsConn) -> io::Result<Incoming> {
    let f = ws.recv().await?;
    if f.binary {
        return Ok(Incoming::Attachment(f.data.len()));
    }
    if let Some(rest) = f.data.strip_prefix(b"43")
        && let Some((id, _)) = leading_number(rest)
    {
        return Ok(Incoming::Ack(id, f.data.len()));
    }
    if let Some(rest) = f.data.strip_prefix(b"461-")
        && let Some((id, _)) = leading_number(rest)
    {
        return Ok(Incoming::BinaryHead(id, f.data.len()));
    }
    Ok(Incoming::Other)
}

fn digits(id: u64) -> usize {
    id.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// What one client did.
#[derive(Default)]
struct ClientStats {
    hist: Option<Histogram>,
    in_window: u64,
    missing: u64,
}

/// The in-flight events of one client, with when each was due.
struct InFlight {
    list: Vec<(u64, Instant)>,
}

impl InFlight {
    fn take(&mut self, id: u64) -> Option<Instant> {
        let pos = self.list.iter().position(|(i, _)| *i == id)?;
        Some(self.list.swap_remove(pos).1)
    }
}

/// Checks an ack and records it.
#[allow(clippy::too_many_arguments)]
fn complete(
    wire: &Wire,
    inflight: &mut InFlight,
    id: u64,
    len: usize,
    window: &Window,
    hist: &mut Histogram,
    stats: &mut ClientStats,
    errors: &Errors,
) {
    let Some(due) = inflight.take(id) else {
        errors.add(format!("ack for an unknown id {id}"));
        return;
    };
    let expected = if wire.binary {
        wire.attachment.len()
    } else {
        wire.ack_len_less_id + digits(id)
    };
    if len != expected {
        errors.add(format!("ack {id}: {len} bytes, expected {expected}"));
    }
    let now = Instant::now();
    if window.contains(now) {
        hist.record(now.saturating_duration_since(due).as_nanos() as u64);
        stats.in_window += 1;
    }
}

/// The most events a client keeps unanswered in open loop before it counts an error and
/// stops sending (a server that answers nothing must not grow the generator without bound).
const OPEN_LOOP_BACKLOG: usize = 10_000;
/// The most events one client sends in a run, whatever the duration.
const MAX_EVENTS_PER_CLIENT: u64 = 50_000_000;

async fn ws_client(
    mut session: Session,
    index: usize,
    opts: Arc<EchoOptions>,
    wire: Arc<Wire>,
    window: Window,
    errors: Arc<Errors>,
) -> ClientStats {
    let mut stats = ClientStats::default();
    let mut hist = Histogram::new();
    let mut inflight = InFlight { list: Vec::new() };
    let hard_end = window.end + DRAIN;
    let mut next_id = 0u64;
    let mut binary_head: Option<(u64, usize)> = None;
    let ws = &mut session.ws;

    // Open loop: each client sends every `clients / rate` seconds, the clients spread evenly
    // over one period.
    let mut ticker = opts.rate.map(|rate| {
        let period = Duration::from_secs_f64(opts.clients as f64 / rate.max(0.001));
        let offset = period.mul_f64(index as f64 / opts.clients.max(1) as f64);
        let mut t = tokio::time::interval_at(Instant::now() + offset, period);
        t.set_missed_tick_behavior(MissedTickBehavior::Burst);
        t
    });

    let result: io::Result<()> = async {
        loop {
            let now = Instant::now();
            let sending = now < window.end && next_id < MAX_EVENTS_PER_CLIENT;
            if ticker.is_none() {
                while sending && inflight.list.len() < opts.inflight {
                    wire.queue(ws, next_id);
                    inflight.list.push((next_id, Instant::now()));
                    next_id += 1;
                }
                ws.flush().await?;
                if inflight.list.is_empty() {
                    return Ok(());
                }
            } else if !sending && inflight.list.is_empty() {
                return Ok(());
            }
            let incoming = match (&mut ticker, sending) {
                (Some(t), true) => {
                    tokio::select! {
                        due = t.tick() => {
                            if inflight.list.len() >= OPEN_LOOP_BACKLOG {
                                errors.add("open loop: the server fell 10 000 events behind");
                                return Ok(());
                            }
                            wire.queue(ws, next_id);
                            inflight.list.push((next_id, due));
                            next_id += 1;
                            ws.flush().await?;
                            continue;
                        }
                        r = next_incoming(ws) => r?,
                    }
                }
                _ => match tokio::time::timeout_at(hard_end, next_incoming(ws)).await {
                    Ok(r) => r?,
                    Err(_) => {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "acks still missing after the drain period",
                        ));
                    }
                },
            };
            match incoming {
                Incoming::Ack(id, len) if !wire.binary => {
                    complete(
                        &wire,
                        &mut inflight,
                        id,
                        len,
                        &window,
                        &mut hist,
                        &mut stats,
                        &errors,
                    );
                }
                Incoming::BinaryHead(id, len) if wire.binary => {
                    let expected = wire.ack_len_less_id + digits(id);
                    if len != expected {
                        errors.add(format!("binary ack {id}: {len} bytes, expected {expected}"));
                    }
                    binary_head = Some((id, len));
                }
                Incoming::Attachment(len) => match binary_head.take() {
                    Some((id, _)) => complete(
                        &wire,
                        &mut inflight,
                        id,
                        len,
                        &window,
                        &mut hist,
                        &mut stats,
                        &errors,
                    ),
                    None => errors.add("binary frame with no ack before it"),
                },
                Incoming::Ack(..) | Incoming::BinaryHead(..) => {
                    errors.add("ack of the wrong kind");
                }
                Incoming::Other => {}
            }
        }
    }
    .await;
    if let Err(e) = result {
        errors.add(format!("client {index}: {e}"));
    }
    stats.missing = inflight.list.len() as u64;
    stats.hist = Some(hist);
    stats
}

async fn polling_client(
    mut session: PollingSession,
    index: usize,
    wire: Arc<Wire>,
    window: Window,
    errors: Arc<Errors>,
) -> ClientStats {
    let mut stats = ClientStats::default();
    let mut hist = Histogram::new();
    let hard_end = window.end + DRAIN;
    let mut id = 0u64;
    let result: io::Result<()> = async {
        while Instant::now() < window.end && id < MAX_EVENTS_PER_CLIENT {
            let due = Instant::now();
            session.post(&wire.polling_body(id)).await?;
            let mut inflight = InFlight {
                list: vec![(id, due)],
            };
            while !inflight.list.is_empty() {
                if Instant::now() > hard_end {
                    stats.missing += 1;
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "ack never came"));
                }
                for packet in session.poll().await? {
                    if let Some(rest) = packet.strip_prefix(b"43")
                        && let Some((got, _)) = leading_number(rest)
                    {
                        complete(
                            &wire,
                            &mut inflight,
                            got,
                            packet.len(),
                            &window,
                            &mut hist,
                            &mut stats,
                            &errors,
                        );
                    }
                }
            }
            id += 1;
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        errors.add(format!("client {index}: {e}"));
    }
    stats.hist = Some(hist);
    stats
}

pub(crate) async fn run(common: &Common, opts: EchoOptions) -> Outcome {
    let errors = Arc::new(Errors::default());
    let wire = Arc::new(Wire::new(&opts));
    let addr = common.addr;
    let opts = Arc::new(opts);

    let mut handles = Vec::new();
    let window;
    match opts.transport {
        Transport::WebSocket => {
            let sessions = open_all(opts.clients, common.connect_concurrency, &errors, |i| {
                Session::connect(addr, i as u64 + 1)
            })
            .await;
            window = Window::after_warmup(common);
            for (i, s) in sessions {
                handles.push(tokio::spawn(ws_client(
                    s,
                    i,
                    Arc::clone(&opts),
                    Arc::clone(&wire),
                    window,
                    Arc::clone(&errors),
                )));
            }
        }
        Transport::Polling => {
            let sessions = open_all(opts.clients, common.connect_concurrency, &errors, |_| {
                PollingSession::connect(addr)
            })
            .await;
            window = Window::after_warmup(common);
            for (i, s) in sessions {
                handles.push(tokio::spawn(polling_client(
                    s,
                    i,
                    Arc::clone(&wire),
                    window,
                    Arc::clone(&errors),
                )));
            }
        }
    }
    let meter = meter(window, common.server_pid);

    let mut hist = Histogram::new();
    let mut messages = 0;
    let mut missing = 0;
    for h in handles {
        match h.await {
            Ok(stats) => {
                if let Some(h) = &stats.hist {
                    hist.merge(h);
                }
                messages += stats.in_window;
                missing += stats.missing;
            }
            Err(e) => errors.add(format!("client task: {e}")),
        }
    }
    let (cost, rss) = meter.await.unwrap_or_default();
    let mut extra = Map::new();
    extra.insert("clients".into(), Value::from(opts.clients));
    Outcome {
        scenario: opts.label(),
        unit: "ack",
        messages,
        latency: hist,
        cost,
        errors: errors.count(),
        missing,
        server_rss: rss,
        error_samples: errors.samples(),
        extra,
    }
}
