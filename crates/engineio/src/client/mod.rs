//! The Engine.IO v4 client (feature `client`): a session with any Engine.IO v4 server, this
//! crate's or Node's `engine.io` 6, over HTTP long-polling, WebSocket, or polling upgraded
//! to WebSocket, with the official client's heartbeat, batching and close semantics. It is
//! the transport layer of a Socket.IO client.
//!
//! # Layout
//! - `socket`: [`Client`], the handle (connect, send, close); `event`: [`Events`],
//!   [`Event`] and [`CloseReason`].
//! - `driver`: the task that runs a session (heartbeat, write queue, upgrade, close).
//! - `transport`: the active transport; `polling` (GET loop, POSTs, `maxPayload` batching)
//!   over `http` (hyper's connection-level HTTP/1.1 client); `websocket` (frames, probe).
//! - `handshake`: the open packet ([`Handshake`]); `options`: [`ClientOptions`]; `url`:
//!   the server's address and every request's URL; `error`: [`ConnectError`], [`SendError`].
//!
//! Packets are encoded and decoded by the same codec as the server's (`packet`,
//! `payload`).
//!
//! # Example
//! ```no_run
//! use engineio::client::{Client, ClientOptions, Event};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let (client, mut events) =
//!         Client::connect("http://127.0.0.1:3000", ClientOptions::default()).await?;
//!     client.send("hello")?;
//!     client.send(vec![1u8, 2, 3])?;
//!     while let Some(event) = events.recv().await {
//!         match event {
//!             Event::Message(message) => {
//!                 println!("{message:?}");
//!                 client.close();
//!             }
//!             Event::Upgrade(transport) => println!("now on {}", transport.as_str()),
//!             Event::Close(reason) => println!("closed: {reason}"),
//!             _ => {}
//!         }
//!     }
//!     Ok(())
//! }
//! ```

mod driver;
mod error;
mod event;
mod handshake;
mod http;
mod options;
mod polling;
mod socket;
mod transport;
mod url;
mod websocket;

pub use error::{ConnectError, SendError};
pub use event::{CloseReason, Event, Events};
pub use handshake::Handshake;
pub use options::{ClientOptions, DEFAULT_MAX_RECEIVE_SIZE};
pub use socket::Client;

pub use crate::config::TransportKind;
pub use crate::message::{Message, Str};
