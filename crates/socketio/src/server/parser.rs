//! The parser a server uses: JSON (the default) or msgpack, shared with the client side.

pub(crate) use crate::parser::AnyDecoder;

/// The wire format of a server's Socket.IO packets (see [`AnyParser`](crate::AnyParser)).
pub type ServerParser = crate::parser::AnyParser;
