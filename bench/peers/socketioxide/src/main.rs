//! socketioxide with the benchmark's handlers, the same as every peer's (see `bench/server`):
//! `echo` / `echo-bin` (data, ack), `broadcast` (data, ack), `join` (room, ack),
//! `room` (room, data, ack). Served by hyper's HTTP/1.1 connection with upgrades, with
//! TCP_NODELAY as every other server of the benchmark. Options are socketioxide's defaults.
//!
//! `bench-socketioxide [port]` listens on 127.0.0.1 and prints `LISTENING <port>`.

use std::io::Write as _;

use hyper_util::rt::TokioIo;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef};

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let (svc, io) = SocketIo::new_svc();
        io.ns("/", async |socket: SocketRef| {
            // serde_json's Value for text, rmpv's for binary: what socketioxide's
            // documentation recommends for each.
            socket.on(
                "echo",
                async |Data(data): Data<serde_json::Value>, ack: AckSender| {
                    let _ = ack.send(&data);
                },
            );
            socket.on(
                "echo-bin",
                async |Data(data): Data<rmpv::Value>, ack: AckSender| {
                    let _ = ack.send(&data);
                },
            );
            socket.on(
                "broadcast",
                async |socket: SocketRef, Data(data): Data<serde_json::Value>, ack: AckSender| {
                    let _ = socket.broadcast().emit("bcast", &data).await;
                    let _ = ack.send(&());
                },
            );
            socket.on(
                "join",
                async |socket: SocketRef, Data(room): Data<String>, ack: AckSender| {
                    socket.join(room);
                    let _ = ack.send(&());
                },
            );
            socket.on(
                "room",
                async |socket: SocketRef,
                       Data((room, data)): Data<(String, serde_json::Value)>,
                       ack: AckSender| {
                    let _ = socket.to(room).emit("bcast", &data).await;
                    let _ = ack.send(&());
                },
            );
        });

        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "LISTENING {}", listener.local_addr()?.port())?;
        out.flush()?;
        drop(out);
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                // A connection reset before it was accepted, or no file descriptor left:
                // keep serving the others.
                Err(e) => {
                    eprintln!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let svc = svc.clone();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .with_upgrades()
                    .await;
            });
        }
    })
}
