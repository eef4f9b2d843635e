//! Engine.IO protocol v4 server, wire-compatible with Node's `engine.io` 6: HTTP long-polling,
//! WebSocket, the upgrade from one to the other, heartbeats, limits and CORS.
//!
//! The layer above (Socket.IO, or your application) implements [`Handler`] and sends through
//! [`Socket`]. The server mounts as a tower service ([`EngineIo::layer`], [`EngineIo::service`])
//! in hyper, axum or any tower stack, or runs alone with [`EngineIo::listen`].
//!
//! # Layout
//! - `packet`, `payload`: the codec (packets, polling payloads).
//! - [`v3`]: the codec of the older Engine.IO protocol v3 (packets, text and binary payloads).
//! - `config`, `cors`: options with Node's defaults.
//! - `server`: the [`EngineIo`] handle and the request router; `service`: tower glue;
//!   `listen`: the standalone server.
//! - `engine`: the session registry and the [`Handler`] trait; `socket`: one session;
//!   `handshake`: opening one; `heartbeat`: pings and timeouts, served by one task per
//!   server ([`TimerQueue`], `timers`).
//! - `transport::polling`, `transport::websocket`: the transports and the upgrade;
//!   `transport::wsproto`: the server's WebSocket framing (RFC 6455), with small buffers.
//! - `errors`: the HTTP errors of refused requests; `request`: the handshake request kept
//!   for the upper layer; `sid`: session ids.
//! - `client` (feature `client`): the Engine.IO client, over the same codec.
//!
//! # Example
//! ```no_run
//! use std::sync::Arc;
//! use engineio::{Config, EngineIo, Handler, Message, Socket};
//!
//! struct Echo;
//! impl Handler for Echo {
//!     type Data = ();
//!     fn on_message(&self, socket: &Arc<Socket<()>>, message: Message) {
//!         let _ = socket.send(message);
//!     }
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> std::io::Result<()> {
//!     EngineIo::new(Config::default(), Echo).listen("127.0.0.1:3000").await
//! }
//! ```

mod config;
mod cors;
mod engine;
mod errors;
mod handshake;
mod heartbeat;
mod listen;
mod message;
mod packet;
mod payload;
mod request;
mod server;
mod service;
mod sid;
mod socket;
mod timers;
mod transport;
pub mod v3;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

#[cfg(feature = "client")]
pub mod client;

pub use config::{
    AllowRequestFuture, Config, ConfigBuilder, CookieOptions, SameSite, TransportKind,
};
pub use cors::{Cors, Origin};
pub use engine::Handler;
pub use message::{Message, Str};
pub use packet::{DecodeError, Frame, Packet};
pub use request::{RemoteAddr, RequestInfo};
pub use server::EngineIo;
pub use service::{EngineIoLayer, EngineIoService, NotFound, ResponseBody};
pub use sid::{BuildSidHasher, Sid, SidHasher};
pub use socket::{CloseReason, OverflowPolicy, Pressure, SendError, Socket};
pub use timers::{TimerLease, TimerQueue};
