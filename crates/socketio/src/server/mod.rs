//! The Socket.IO server.
//!
//! - `server`: [`SocketIo`] (the `io` of Node) and its options.
//! - `namespace`: [`Namespace`], dynamic [`ParentNamespace`], middlewares.
//! - `socket`: [`Socket`], events, listeners, emits; `ack`: acknowledgements.
//! - `broadcast`: [`BroadcastOperator`] (`to`, `except`, `volatile`, `timeout`…).
//! - `adapter`: the [`Adapter`] trait, the in-memory [`LocalAdapter`], and what cluster
//!   adapters exchange with the server ([`OutgoingPacket`], [`AckCollector`], [`RemoteSocket`]).
//! - `client`: one Engine.IO connection and its namespaces; `handshake`; `parser`.

mod ack;
mod adapter;
mod broadcast;
mod client;
mod client_files;
mod handshake;
mod namespace;
mod parser;
#[allow(clippy::module_inception)]
mod server;
mod socket;

pub use ack::{AckError, AckResponse, AckSender, BroadcastAcks};
pub use adapter::{
    AckCollector, AckEvent, AckStream, Adapter, AdapterError, AdapterFactory, BoxFuture,
    BroadcastFlags, BroadcastOptions, LocalAdapter, OutgoingPacket, RemoteSocket, Room,
    ServerSideAcks, SocketDetails, room_of,
};
pub use broadcast::BroadcastOperator;
pub use client::{ClientState, EngineSocket};
pub use client_files::{SocketIoLayer, SocketIoService};
pub use engineio::{OverflowPolicy, Pressure};
pub use handshake::Handshake;
/// The request body type of the standalone server (hyper's).
pub use hyper::body::Incoming as IncomingBody;
pub use namespace::{ConnectError, Namespace, ParentNamespace, ServerSideAck, ServerSideEvent};
pub use parser::ServerParser;
pub use server::{SocketIo, SocketIoBuilder};
pub use socket::{
    AckFuture, DisconnectReason, EmitError, Event, IntoRooms, ListenerId, Socket, SocketOperator,
};
