//! Backpressure: each client gets a stream of `tick` events exactly as fast as it reads them,
//! never faster, so a slow client costs the server a bounded queue and nothing else.
//!
//! ```sh
//! cargo run -p socketio --example backpressure -- 3000
//! ```
//!
//! - `emit_when_ready` waits while the connection's queue is over its high-water mark;
//! - `emit` reports the pressure instead of waiting, for a producer that decides itself;
//! - `on_drain` hears when a queue that went over the mark has been handed to the transport;
//! - past `max_buffered_bytes` the overflow policy applies: `Disconnect` (the server's default
//!   here) closes the connection with the reason `outbound queue full`; a socket may choose
//!   `Wait` instead, and its emits then fail with `EmitError::Full` rather than queue more.

// An example prints what happens.
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use socketio::server::{EmitError, OverflowPolicy, Pressure, Socket, SocketIo};

async fn stream_ticks(socket: Arc<Socket>) {
    let mut n: u64 = 0;
    while socket.connected() {
        match socket.emit_when_ready("tick", &(n, "x".repeat(1024))).await {
            Ok(_) => n += 1,
            Err(e) => {
                eprintln!("{}: {e}", socket.id());
                return;
            }
        }
    }
    println!("{} disconnected after {n} ticks", socket.id());
}

fn status(socket: &Arc<Socket>, text: &str) {
    match socket.emit("status", &(text,)) {
        Ok(Pressure::Normal) => {}
        // The client is behind: a producer could skip or coalesce work until the drain.
        Ok(Pressure::OverHighWater) => println!("{} is behind", socket.id()),
        Err(EmitError::Full) => println!("{}: queue full, status dropped", socket.id()),
        Err(e) => eprintln!("{e}"),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let io = SocketIo::builder()
        .high_water_mark(64 * 1024)
        .max_buffered_bytes(1024 * 1024)
        .overflow_policy(OverflowPolicy::Disconnect)
        .build();
    io.on_connection(|socket| {
        // Clients that ask for it keep their connection when full: their emits fail instead.
        if socket.handshake().query_param("policy").as_deref() == Some("wait") {
            socket.set_overflow_policy(OverflowPolicy::Wait);
        }
        let drains = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&drains);
        socket.on_drain(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        socket.on_disconnect(move |socket, reason| {
            let caught_up = drains.load(Ordering::Relaxed);
            println!(
                "{} left: {reason} (caught up {caught_up} times)",
                socket.id()
            );
        });
        status(socket, "streaming");
        tokio::spawn(stream_ticks(Arc::clone(socket)));
    });
    println!("listening on 127.0.0.1:{port}");
    io.listen(("127.0.0.1", port)).await
}
