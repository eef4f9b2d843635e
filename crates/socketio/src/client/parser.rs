//! The parser a client uses: JSON (the default) or msgpack, shared with the server side. It
//! must be the one the server uses.

pub(crate) use crate::parser::AnyDecoder as ClientDecoder;

/// The wire format of a client's Socket.IO packets (`parser` option of socket.io-client; see
/// [`AnyParser`](crate::AnyParser)).
///
/// ```
/// use socketio::client::ManagerOptions;
///
/// let options = ManagerOptions::default().parser(socketio::JsonParser::default());
/// ```
pub type ClientParser = crate::parser::AnyParser;
