//! One node of a cluster sharing Redis. Start two (or more) on different ports, and clients
//! connected to any of them reach each other:
//!
//! ```sh
//! cargo run -p socketio-redis --example cluster -- --port 3001
//! cargo run -p socketio-redis --example cluster -- --port 3002
//! ```
//!
//! Options: `--port N` (default 3000; 0 picks a free one), `--redis URL` (default `redis://127.0.0.1:6379/`),
//! `--key PREFIX` (default `socket.io`), `--rooms` (room-scoped subscriptions), `--name NAME`.
//!
//! Events a client can send: `chat message` (text, to every client of every node), `who`
//! (acknowledged with every socket of the cluster: id, node, rooms), `nodes` (acknowledged
//! with the answers of the other nodes to a server-side ping). Every client is in the room
//! `bench`; `bench-emit` (any value) is broadcast to that room as `tick`: that is what
//! `interop/redis/bench.mjs` measures.
//!
//! Clients should use the WebSocket transport only (`transports: ["websocket"]`) unless a
//! load balancer in front of the nodes keeps each client on one node (sticky sessions): see
//! the crate's README.

// The `LISTENING <port>` line is for the scripts that start nodes (`interop/redis/bench.sh`).
#![allow(clippy::print_stdout)]

use std::time::Duration;

use socketio::server::SocketIo;
use socketio_redis::{RedisAdapterConfig, RedisAdapterFactory, SubscriptionMode};

struct Options {
    port: u16,
    redis: String,
    key: String,
    rooms: bool,
    name: String,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        port: 3000,
        redis: "redis://127.0.0.1:6379/".to_owned(),
        key: "socket.io".to_owned(),
        rooms: false,
        name: String::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--port" => o.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--redis" => o.redis = value()?,
            "--key" => o.key = value()?,
            "--name" => o.name = value()?,
            "--rooms" => o.rooms = true,
            other => return Err(format!("unknown option {other}")),
        }
    }
    if o.name.is_empty() {
        o.name = format!("node-{}", o.port);
    }
    Ok(o)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = options()?;
    let mode = if o.rooms {
        SubscriptionMode::Rooms
    } else {
        SubscriptionMode::Pattern
    };
    let client = socketio_redis::redis::Client::open(o.redis.as_str())?;
    let config = RedisAdapterConfig::new()
        .key(o.key.as_str())
        .subscription_mode(mode);
    let redis = RedisAdapterFactory::new(client, config).await?;
    let io = SocketIo::builder().adapter(redis.factory()).build();

    let name = o.name.clone();
    io.on_server_side("ping", move |event| {
        if let Some(ack) = event.ack() {
            let _ = ack.send(&name);
        }
    });
    let name = o.name.clone();
    io.on_connection(move |socket| {
        socket.join("bench");
        let _ = socket.set_data(&serde_json::json!({ "node": name }));
        socket.on("chat message", |socket, event| {
            if let Ok(text) = event.arg::<String>(0) {
                let _ = socket.namespace().emit("chat message", &(text,));
            }
        });
        socket.on("bench-emit", |socket, event| {
            let value = event.arg::<socketio::Value>(0).unwrap_or_default();
            let _ = socket.namespace().to("bench").emit("tick", &(value,));
        });
        socket.on_async("who", |socket, event| async move {
            let list: Vec<serde_json::Value> = match socket.namespace().fetch_sockets().await {
                Ok(sockets) => sockets
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "id": s.id().as_str(),
                            "node": s.data::<serde_json::Value>().ok().and_then(|d| d.get("node").cloned()),
                            "rooms": s.rooms().iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                        })
                    })
                    .collect(),
                Err(e) => vec![serde_json::json!({ "error": e.to_string() })],
            };
            if let Some(ack) = event.ack() {
                let _ = ack.send(&(list,));
            }
        });
        socket.on_async("nodes", |socket, event| async move {
            let answers = socket.namespace().server_side_emit_with_ack("ping", &()).await;
            let names = answers.map(|a| a.responses).unwrap_or_default();
            if let Some(ack) = event.ack() {
                let _ = ack.send(&(names,));
            }
        });
    });

    let count = io.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(10));
        loop {
            every.tick().await;
            eprintln!("servers in the cluster: {}", count.server_count().await);
        }
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", o.port)).await?;
    redis.ready().await;
    eprintln!(
        "{} listening on http://{} (key {:?}, {:?} subscriptions)",
        o.name,
        listener.local_addr()?,
        o.key,
        mode
    );
    println!("LISTENING {}", listener.local_addr()?.port());
    io.serve(listener).await?;
    Ok(())
}
