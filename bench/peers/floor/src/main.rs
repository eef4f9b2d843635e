//! The floor of the benchmark: the least a server can do to answer the load generator over
//! the same WebSocket library as ours (tokio-websockets, the version of the workspace's lock
//! file), with no Socket.IO machinery. It answers the handshake with fixed text, and each
//! event by splicing the bytes it received into the reply: nothing is parsed beyond the
//! prefixes the generator sends. Its costs are what the transport (kernel TCP + WebSocket
//! framing + tokio) allows; the distance from our server to it is what our code adds.
//!
//! Handlers, the same as every peer's: `echo` / `echo-bin` (one attachment), `broadcast`,
//! `join`, `room` (see `bench/server`). One task per connection, a heartbeat `2` every 25 s,
//! broadcasts handed to each connection's task through an unbounded channel and written in
//! one flush with whatever else is queued.
//!
//! `bench-floor [port]` listens on 127.0.0.1 and prints `LISTENING <port>`.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_websockets::{Message, ServerBuilder};

const PING_INTERVAL: Duration = Duration::from_secs(25);

/// Who is connected and which rooms they are in: what a broadcast needs to find its
/// receivers. A std lock: it is never held across an `.await`.
#[derive(Default)]
struct Registry {
    members: RwLock<HashMap<u64, mpsc::UnboundedSender<Bytes>>>,
    rooms: RwLock<HashMap<Bytes, Vec<u64>>>,
    next_id: AtomicU64,
}

impl Registry {
    fn broadcast_except(&self, sender: u64, frame: &Bytes) {
        let members = self.members.read().unwrap_or_else(|e| e.into_inner());
        for (id, tx) in members.iter() {
            if *id != sender {
                let _ = tx.send(frame.clone());
            }
        }
    }

    fn to_room(&self, room: &[u8], frame: &Bytes) {
        let rooms = self.rooms.read().unwrap_or_else(|e| e.into_inner());
        let members = self.members.read().unwrap_or_else(|e| e.into_inner());
        for id in rooms.get(room).into_iter().flatten() {
            if let Some(tx) = members.get(id) {
                let _ = tx.send(frame.clone());
            }
        }
    }

    fn join(&self, id: u64, room: &[u8]) {
        let mut rooms = self.rooms.write().unwrap_or_else(|e| e.into_inner());
        let list = rooms.entry(Bytes::copy_from_slice(room)).or_default();
        if !list.contains(&id) {
            list.push(id);
        }
    }

    fn leave_all(&self, id: u64) {
        self.members
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        let mut rooms = self.rooms.write().unwrap_or_else(|e| e.into_inner());
        rooms.retain(|_, list| {
            list.retain(|m| *m != id);
            !list.is_empty()
        });
    }
}

/// Concatenates byte slices into one frame payload.
fn splice(parts: &[&[u8]]) -> Bytes {
    let mut out = BytesMut::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.put_slice(part);
    }
    out.freeze()
}

/// Splits `text` at the first `"` (the end of a room name the generator wrote without
/// escapes): the name and what follows the quote.
fn quoted(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = text.iter().position(|b| *b == b'"')?;
    let (name, rest) = text.split_at_checked(end)?;
    Some((name, rest.get(1..)?))
}

/// What one text frame asks for.
enum Reply {
    /// Nothing to answer (a pong, an unknown packet).
    None,
    /// One text frame back.
    Text(Bytes),
    /// A binary echo: the text now, then the next binary frame goes back as it came.
    AwaitBinary(Bytes),
    /// The client left.
    Close,
}

fn handle_text(registry: &Registry, id: u64, text: &[u8]) -> Reply {
    if text == b"3" {
        return Reply::None;
    }
    if text.starts_with(b"40") {
        return Reply::Text(splice(&[
            b"40{\"sid\":\"",
            id.to_string().as_bytes(),
            b"\"}",
        ]));
    }
    if text.starts_with(b"41") {
        return Reply::Close;
    }
    if let Some(rest) = text.strip_prefix(b"451-") {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let Some((ack, args)) = rest.split_at_checked(digits) else {
            return Reply::None;
        };
        let Some(args) = args.strip_prefix(b"[\"echo-bin\",") else {
            return Reply::None;
        };
        return Reply::AwaitBinary(splice(&[b"461-", ack, b"[", args]));
    }
    let Some(rest) = text.strip_prefix(b"42") else {
        return Reply::None;
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let Some((ack, args)) = rest.split_at_checked(digits) else {
        return Reply::None;
    };
    let empty_ack = || splice(&[b"43", ack, b"[]"]);
    if let Some(data) = args.strip_prefix(b"[\"echo\",") {
        return Reply::Text(splice(&[b"43", ack, b"[", data]));
    }
    if let Some(data) = args.strip_prefix(b"[\"broadcast\",") {
        registry.broadcast_except(id, &splice(&[b"42[\"bcast\",", data]));
        return Reply::Text(empty_ack());
    }
    if let Some(rest) = args.strip_prefix(b"[\"join\",\"") {
        if let Some((room, _)) = quoted(rest) {
            registry.join(id, room);
        }
        return Reply::Text(empty_ack());
    }
    if let Some(rest) = args.strip_prefix(b"[\"room\",\"") {
        if let Some((room, after)) = quoted(rest)
            && let Some(data) = after.strip_prefix(b",")
        {
            registry.to_room(room, &splice(&[b"42[\"bcast\",", data]));
        }
        return Reply::Text(empty_ack());
    }
    Reply::None
}

async fn connection(registry: Arc<Registry>, stream: TcpStream) {
    let Ok((_request, mut ws)) = ServerBuilder::new().accept(stream).await else {
        return;
    };
    let id = registry.next_id.fetch_add(1, Ordering::Relaxed);
    let open = format!(
        "0{{\"sid\":\"{id}\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}}"
    );
    if ws.send(Message::text(open)).await.is_err() {
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
    registry
        .members
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, tx);
    let mut ping =
        tokio::time::interval_at(tokio::time::Instant::now() + PING_INTERVAL, PING_INTERVAL);
    let mut pending_binary: Option<Bytes> = None;
    loop {
        tokio::select! {
            incoming = ws.next() => {
                let Some(Ok(msg)) = incoming else { break };
                if msg.is_binary() {
                    if let Some(text) = pending_binary.take() {
                        let payload = Bytes::from(msg.into_payload());
                        if ws.feed(Message::text(text)).await.is_err()
                            || ws.send(Message::binary(payload)).await.is_err()
                        {
                            break;
                        }
                    }
                    continue;
                }
                let Some(text) = msg.as_text() else { continue };
                match handle_text(&registry, id, text.as_bytes()) {
                    Reply::None => {}
                    Reply::Text(reply) => {
                        if ws.send(Message::text(reply)).await.is_err() {
                            break;
                        }
                    }
                    Reply::AwaitBinary(reply) => pending_binary = Some(reply),
                    Reply::Close => break,
                }
            }
            Some(frame) = rx.recv() => {
                // Everything queued goes out in one flush.
                let mut failed = ws.feed(Message::text(frame)).await.is_err();
                while let (false, Ok(more)) = (failed, rx.try_recv()) {
                    failed = ws.feed(Message::text(more)).await.is_err();
                }
                if failed || ws.flush().await.is_err() {
                    break;
                }
            }
            _ = ping.tick() => {
                if ws.send(Message::text("2")).await.is_err() {
                    break;
                }
            }
        }
    }
    registry.leave_all(id);
}

/// The runtime a user gets from `#[tokio::main]` (multi-thread, one worker per core the
/// process may use: one under `taskset -c 0`); `BENCH_RUNTIME=current_thread` picks tokio's
/// single-threaded scheduler instead, to compare the two.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    match std::env::var("BENCH_RUNTIME").as_deref() {
        Ok("current_thread") => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        _ => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    }
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let runtime = runtime()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "LISTENING {}", listener.local_addr()?.port())?;
        out.flush()?;
        drop(out);
        let registry = Arc::new(Registry::default());
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(connection(Arc::clone(&registry), stream));
                }
                // A connection reset before it was accepted, or no file descriptor left:
                // keep serving the others.
                Err(e) => {
                    eprintln!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    })
}
