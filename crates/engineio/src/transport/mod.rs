//! The two transports of Engine.IO v4.

pub(crate) mod compression;
pub(crate) mod polling;
pub(crate) mod websocket;
pub(crate) mod wsproto;
