//! The Socket.IO client (feature `client`): talks to any Socket.IO 4.x server, this crate's or
//! Node's, as the official `socket.io-client` 4 does. A [`Manager`] holds one connection (an
//! Engine.IO session over polling, WebSocket or both, renewed with backoff when lost) shared
//! by [`Socket`]s of any number of namespaces.
//!
//! # Layout
//! - `lookup`: [`io`], the shortcut that shares Managers between namespaces (`multiplex`).
//! - `manager`: [`Manager`] and the link its sockets write through; `driver`: the Manager's
//!   task (open, route packets, close, reconnect); `backoff`: the reconnection delays;
//!   `options`: [`ManagerOptions`]; `url`: the server URL and its namespace.
//! - `builder`: [`SocketBuilder`]; `socket`: [`Socket`] (emit, listen, buffers, connect and
//!   disconnect, connection state recovery); `retry`: the `retries` queue; `auth`: the CONNECT
//!   payload.
//! - `event`: [`Event`] and [`AckSender`] (answering the server); `ack`: [`AckResponse`] and
//!   [`AckFuture`] (the server answering us).
//! - `listeners`: who is called for what; `reason`: [`DisconnectReason`]; `error`: the errors;
//!   `parser`: [`ClientParser`], JSON or msgpack.
//!
//! # Example
//! ```no_run
//! use std::time::Duration;
//! use socketio::client::{io, ManagerOptions};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let socket = io("http://127.0.0.1:3000", ManagerOptions::default())?
//!         .on("chat message", |_, event| {
//!             let text: String = event.arg(0).unwrap_or_default();
//!             println!("{text}");
//!         })
//!         .on("ping", |_, event| {
//!             // The server wants an answer.
//!             if let Some(ack) = event.ack() {
//!                 ack.send(&("pong",)).ok();
//!             }
//!         })
//!         .on_disconnect(|_, reason| eprintln!("disconnected: {reason}"))
//!         .build();
//!     socket.emit("chat message", &("hello",))?;
//!     let answer = socket
//!         .timeout(Duration::from_secs(5))
//!         .emit_with_ack("count", &())
//!         .await?;
//!     println!("{:?}", answer.values());
//!     socket.disconnect();
//!     Ok(())
//! }
//! ```
//!
//! # Behaviour worth knowing
//! - Listeners run on the Manager's task, in arrival order; spawn for long work
//!   ([`Socket::on_async`]). A panicking listener is logged and skipped.
//! - Emits made while disconnected are buffered and sent on (re)connection; volatile ones are
//!   dropped. Acknowledgements awaited when the connection is lost fail with
//!   [`AckError::Disconnected`], except those of buffered emits.
//! - After `io server disconnect` or a refused namespace the socket does not reconnect by
//!   itself; it can [`connect`](Socket::connect) again.
//! - With connection state recovery on the server, the server adds an offset as the last
//!   argument of events; like socket.io-client, this client leaves it there and sends it back
//!   on reconnection ([`Socket::recovered`] tells whether the session was recovered).

mod ack;
mod auth;
mod backoff;
mod builder;
mod driver;
mod error;
mod event;
mod listeners;
mod lookup;
mod manager;
mod options;
mod parser;
mod reason;
mod retry;
mod socket;
mod url;

pub use ack::{AckFuture, AckResponse};
pub use builder::SocketBuilder;
pub use error::{AckError, ClientError, ConnectError, EmitError};
pub use event::{AckSender, Event};
pub use listeners::ListenerId;
pub use lookup::io;
pub use manager::Manager;
pub use options::ManagerOptions;
pub use parser::ClientParser;
pub use reason::DisconnectReason;
pub use socket::{Socket, SocketOperator};

pub use engineio::TransportKind;
/// The Engine.IO session under a Manager ([`Manager::engine`]): its id, transport, handshake.
pub use engineio::client::Client as EngineClient;
