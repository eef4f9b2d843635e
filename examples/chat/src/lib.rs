//! A chat room. Open http://127.0.0.1:3000/ in two browser tabs: pick a name, talk.
//!
//! The page (`public/index.html`) uses the official browser client, which this server serves
//! at `/socket.io/socket.io.min.js` from the `socket.io-client` package installed by
//! `npm ci --prefix interop` (`scripts/demo` does that). Events:
//! - `join` (name) → everyone gets `user joined` ({name, users});
//! - `chat message` (text) → everyone gets `chat message` ({name, text, at});
//! - `typing` / `stop typing` → the others get them with the name;
//! - on disconnect → `user left` ({name, users}).
//!
//! `cargo run -p chat -- [addr] [client-dist-dir]` runs it ([`run`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use serde_json::json;
use socketio::server::{IncomingBody, Socket, SocketIo};
use tower_layer::Layer;

const PAGE: &str = include_str!("../public/index.html");

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn name_of(socket: &Socket) -> Option<String> {
    socket.data::<Option<String>>().ok().flatten()
}

/// Installs the chat's event handlers.
pub fn setup(io: &SocketIo) {
    let users = Arc::new(AtomicUsize::new(0));
    io.on_connection(move |socket| {
        let users_join = Arc::clone(&users);
        socket.on("join", move |socket, event| {
            let Ok(name) = event.arg::<String>(0) else {
                return;
            };
            let name: String = name.trim().chars().take(32).collect();
            if name.is_empty() || name_of(socket).is_some() {
                return;
            }
            let _ = socket.set_data(&Some(name.clone()));
            let count = users_join.fetch_add(1, Ordering::Relaxed) + 1;
            let _ = socket
                .namespace()
                .emit("user joined", &(json!({ "name": name, "users": count }),));
        });
        socket.on("chat message", |socket, event| {
            let (Some(name), Ok(text)) = (name_of(socket), event.arg::<String>(0)) else {
                return;
            };
            let text: String = text.chars().take(1000).collect();
            let _ = socket.namespace().emit(
                "chat message",
                &(json!({ "name": name, "text": text, "at": now_ms() }),),
            );
        });
        socket.on("typing", |socket, _| {
            if let Some(name) = name_of(socket) {
                let _ = socket.broadcast().volatile().emit("typing", &(name,));
            }
        });
        socket.on("stop typing", |socket, _| {
            if let Some(name) = name_of(socket) {
                let _ = socket.broadcast().volatile().emit("stop typing", &(name,));
            }
        });
        let users_left = Arc::clone(&users);
        socket.on_disconnect(move |socket, _reason| {
            if let Some(name) = name_of(socket) {
                let count = users_left.fetch_sub(1, Ordering::Relaxed).saturating_sub(1);
                let _ = socket
                    .namespace()
                    .emit("user left", &(json!({ "name": name, "users": count }),));
            }
        });
    });
}

/// The page at `/`, 404 elsewhere.
pub async fn page(req: Request<IncomingBody>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut res = if req.uri().path() == "/" {
        let mut res = Response::new(Full::new(Bytes::from_static(PAGE.as_bytes())));
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/html; charset=utf-8"),
        );
        res
    } else {
        Response::new(Full::new(Bytes::new()))
    };
    if req.uri().path() != "/" {
        *res.status_mut() = StatusCode::NOT_FOUND;
    }
    Ok(res)
}

/// The default location of the browser client: the `socket.io-client` package installed by
/// `npm ci --prefix interop`.
pub const DEFAULT_CLIENT_DIST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../interop/node_modules/socket.io-client/dist"
);

/// Serves the chat on `listener` until the server is closed.
pub async fn run(listener: tokio::net::TcpListener, client_dist: &str) -> std::io::Result<()> {
    let io = SocketIo::builder()
        .serve_client(client_dist)
        .try_build()
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("{e} (run `npm ci --prefix interop` first)"),
            )
        })?;
    setup(&io);
    let app = io.layer().layer(tower::service_fn(page));
    io.serve_with(listener, app).await
}
