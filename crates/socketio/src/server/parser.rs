//! The parser a server uses, chosen at run time: the default JSON parser, or msgpack.

use bytes::Bytes;
use serde::Serialize;

use crate::parser::{Decoder, Encoded, JsonDecoder, JsonParser, Parser};
#[cfg(feature = "msgpack")]
use crate::parser::{MsgpackDecoder, MsgpackParser};
use crate::{DecodeError, EncodeError, Packet};

/// The wire format of a server's Socket.IO packets.
#[derive(Debug, Clone)]
pub enum ServerParser {
    /// The default parser (npm `socket.io-parser`): JSON text with binary attachments.
    Json(JsonParser),
    /// The msgpack parser (npm `socket.io-msgpack-parser`).
    #[cfg(feature = "msgpack")]
    Msgpack(MsgpackParser),
}

impl Default for ServerParser {
    fn default() -> Self {
        ServerParser::Json(JsonParser::default())
    }
}

impl From<JsonParser> for ServerParser {
    fn from(p: JsonParser) -> Self {
        ServerParser::Json(p)
    }
}

#[cfg(feature = "msgpack")]
impl From<MsgpackParser> for ServerParser {
    fn from(p: MsgpackParser) -> Self {
        ServerParser::Msgpack(p)
    }
}

impl ServerParser {
    pub(crate) fn decoder(&self) -> AnyDecoder {
        match self {
            ServerParser::Json(p) => AnyDecoder::Json(p.decoder()),
            #[cfg(feature = "msgpack")]
            ServerParser::Msgpack(p) => AnyDecoder::Msgpack(p.decoder()),
        }
    }

    pub(crate) fn encode(&self, packet: &Packet) -> Result<Encoded, EncodeError> {
        match self {
            ServerParser::Json(p) => p.encode(packet),
            #[cfg(feature = "msgpack")]
            ServerParser::Msgpack(p) => p.encode(packet),
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
            ServerParser::Json(p) => p.encode_event(nsp, event, args, id),
            #[cfg(feature = "msgpack")]
            ServerParser::Msgpack(p) => p.encode_event(nsp, event, args, id),
        }
    }

    pub(crate) fn encode_ack<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        id: u64,
        args: &T,
    ) -> Result<Encoded, EncodeError> {
        match self {
            ServerParser::Json(p) => p.encode_ack(nsp, id, args),
            #[cfg(feature = "msgpack")]
            ServerParser::Msgpack(p) => p.encode_ack(nsp, id, args),
        }
    }
}

/// The per-connection decoder of a [`ServerParser`].
pub(crate) enum AnyDecoder {
    Json(JsonDecoder),
    #[cfg(feature = "msgpack")]
    Msgpack(MsgpackDecoder),
}

impl AnyDecoder {
    pub(crate) fn decode_text(&mut self, text: Bytes) -> Result<Option<Packet>, DecodeError> {
        match self {
            AnyDecoder::Json(d) => d.decode_text(text),
            #[cfg(feature = "msgpack")]
            AnyDecoder::Msgpack(d) => d.decode_text(text),
        }
    }

    pub(crate) fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, DecodeError> {
        match self {
            AnyDecoder::Json(d) => d.decode_binary(data),
            #[cfg(feature = "msgpack")]
            AnyDecoder::Msgpack(d) => d.decode_binary(data),
        }
    }
}
