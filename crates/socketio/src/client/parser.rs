//! The parser a client uses, chosen at run time: the default JSON parser, or msgpack (feature
//! `msgpack`). It must be the one the server uses.

use bytes::Bytes;
use serde::Serialize;

use crate::parser::{Decoder, Encoded, JsonDecoder, JsonParser, Parser};
#[cfg(feature = "msgpack")]
use crate::parser::{MsgpackDecoder, MsgpackParser};
use crate::{DecodeError, EncodeError, Packet};

/// The wire format of a client's Socket.IO packets (`parser` option of socket.io-client).
///
/// ```
/// use socketio::client::ManagerOptions;
///
/// let options = ManagerOptions::default().parser(socketio::JsonParser::default());
/// ```
#[derive(Debug, Clone)]
pub enum ClientParser {
    /// The default parser (npm `socket.io-parser`): JSON text with binary attachments.
    Json(JsonParser),
    /// The msgpack parser (npm `socket.io-msgpack-parser`).
    #[cfg(feature = "msgpack")]
    Msgpack(MsgpackParser),
}

impl Default for ClientParser {
    fn default() -> Self {
        ClientParser::Json(JsonParser::default())
    }
}

impl From<JsonParser> for ClientParser {
    fn from(p: JsonParser) -> Self {
        ClientParser::Json(p)
    }
}

#[cfg(feature = "msgpack")]
impl From<MsgpackParser> for ClientParser {
    fn from(p: MsgpackParser) -> Self {
        ClientParser::Msgpack(p)
    }
}

impl ClientParser {
    pub(crate) fn decoder(&self) -> ClientDecoder {
        match self {
            ClientParser::Json(p) => ClientDecoder::Json(p.decoder()),
            #[cfg(feature = "msgpack")]
            ClientParser::Msgpack(p) => ClientDecoder::Msgpack(p.decoder()),
        }
    }

    pub(crate) fn encode(&self, packet: &Packet) -> Result<Encoded, EncodeError> {
        match self {
            ClientParser::Json(p) => p.encode(packet),
            #[cfg(feature = "msgpack")]
            ClientParser::Msgpack(p) => p.encode(packet),
        }
    }

    pub(crate) fn encode_event<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        event: &str,
        args: &T,
        id: Option<u64>,
    ) -> Result<Encoded, EncodeError> {
        match self {
            ClientParser::Json(p) => p.encode_event(nsp, event, args, id),
            #[cfg(feature = "msgpack")]
            ClientParser::Msgpack(p) => p.encode_event(nsp, event, args, id),
        }
    }

    pub(crate) fn encode_ack<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        id: u64,
        args: &T,
    ) -> Result<Encoded, EncodeError> {
        match self {
            ClientParser::Json(p) => p.encode_ack(nsp, id, args),
            #[cfg(feature = "msgpack")]
            ClientParser::Msgpack(p) => p.encode_ack(nsp, id, args),
        }
    }
}

/// The decoder of one Engine.IO session.
pub(crate) enum ClientDecoder {
    Json(JsonDecoder),
    #[cfg(feature = "msgpack")]
    Msgpack(MsgpackDecoder),
}

impl ClientDecoder {
    pub(crate) fn decode_text(&mut self, text: Bytes) -> Result<Option<Packet>, DecodeError> {
        match self {
            ClientDecoder::Json(d) => d.decode_text(text),
            #[cfg(feature = "msgpack")]
            ClientDecoder::Msgpack(d) => d.decode_text(text),
        }
    }

    pub(crate) fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, DecodeError> {
        match self {
            ClientDecoder::Json(d) => d.decode_binary(data),
            #[cfg(feature = "msgpack")]
            ClientDecoder::Msgpack(d) => d.decode_binary(data),
        }
    }
}
