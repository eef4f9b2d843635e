//! Echoes every message back to its sender. The text message `server-close` makes the server
//! close that session instead.
//!
//! `cargo run -p engineio-echo -- [addr]` (default `127.0.0.1:3000`); options from the
//! environment: `PING_INTERVAL_MS`, `PING_TIMEOUT_MS`.

use std::sync::Arc;
use std::time::Duration;

use engineio::{Config, EngineIo, Handler, Message, Socket};

struct Echo;

impl Handler for Echo {
    type Data = ();

    fn on_message(&self, socket: &Arc<Socket<()>>, message: Message) {
        match &message {
            Message::Text(text) if text == "server-close" => socket.close(),
            _ => {
                let _ = socket.send(message);
            }
        }
    }
}

fn millis_from_env(name: &str, default: u64) -> Duration {
    let ms = std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    Duration::from_millis(ms)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let config = Config::builder()
        .ping_interval(millis_from_env("PING_INTERVAL_MS", 25_000))
        .ping_timeout(millis_from_env("PING_TIMEOUT_MS", 20_000))
        .build();
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!(
        "engine.io echo server on http://{}/engine.io/",
        listener.local_addr()?
    );
    EngineIo::new(config, Echo).serve(listener).await
}
