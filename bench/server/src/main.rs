//! Our Socket.IO server with the benchmark's handlers, the same as every peer's
//! (`bench/peers/`):
//!
//! - `echo` / `echo-bin` (data, ack): acknowledges with the data (binary attachments too);
//! - `broadcast` (data, ack): every other socket of the namespace gets `bcast` (data), then
//!   the sender gets an empty acknowledgement;
//! - `join` (room, ack): joins the room, then acknowledges;
//! - `room` (room, data, ack): the room gets `bcast` (data), then the sender gets an empty
//!   acknowledgement.
//!
//! `bench-server [port]` listens on 127.0.0.1 (port 0, the default, picks a free one) and
//! prints `LISTENING <port>` once it accepts connections. Options are the defaults a user
//! gets, as for every peer; only the soak run (`bench/soak`) sets
//! `BENCH_MAX_BUFFERED_BYTES`, the bound of each connection's outbound queue.

use std::io::Write as _;

use socketio::Value;
use socketio::server::{Event, Socket, SocketIo};

/// The handler of `echo` and `echo-bin`: the payload goes back as it came, as in Node's
/// `(data, ack) => ack(data)`.
fn echo(_socket: &std::sync::Arc<Socket>, event: Event) {
    if let Some(ack) = event.ack() {
        let data = event.arg::<Value>(0).unwrap_or_default();
        let _ = ack.send(&(data,));
    }
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
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let mut builder = SocketIo::builder();
        if let Some(bound) = std::env::var("BENCH_MAX_BUFFERED_BYTES")
            .ok()
            .and_then(|b| b.parse().ok())
        {
            builder = builder.max_buffered_bytes(bound);
        }
        let io = builder.build();
        io.on_connection(|socket| {
            socket.on("echo", echo);
            socket.on("echo-bin", echo);
            socket.on("broadcast", |socket, event| {
                let data = event.arg::<Value>(0).unwrap_or_default();
                let _ = socket.broadcast().emit("bcast", &(data,));
                if let Some(ack) = event.ack() {
                    let _ = ack.send(&());
                }
            });
            socket.on("join", |socket, event| {
                if let Ok(room) = event.arg::<String>(0) {
                    socket.join(room);
                }
                if let Some(ack) = event.ack() {
                    let _ = ack.send(&());
                }
            });
            socket.on("room", |socket, event| {
                if let Ok(room) = event.arg::<String>(0) {
                    let data = event.arg::<Value>(1).unwrap_or_default();
                    let _ = socket.to(room).emit("bcast", &(data,));
                }
                if let Some(ack) = event.ack() {
                    let _ = ack.send(&());
                }
            });
        });
        let mut out = std::io::stdout().lock();
        writeln!(out, "LISTENING {}", listener.local_addr()?.port())?;
        out.flush()?;
        drop(out);
        io.serve(listener).await
    })
}
