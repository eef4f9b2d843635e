//! [`AnyParser`]: the parser a server or a client uses, chosen at run time — the default
//! JSON parser, or msgpack (feature `msgpack`). Both ends of a connection must use the same.

use bytes::Bytes;
use bytestring::ByteString;
use serde::Serialize;

use super::{Decoder, Encoded, JsonDecoder, JsonParser, Parser};
#[cfg(feature = "msgpack")]
use super::{MsgpackDecoder, MsgpackParser};
use crate::{DecodeError, EncodeError, Packet};

/// The wire format of Socket.IO packets, chosen at run time (`parser` option of socket.io
/// and socket.io-client).
///
/// ```
/// let parser = socketio::AnyParser::from(socketio::JsonParser::default().with_max_attachments(20));
/// # let _ = parser;
/// ```
#[derive(Debug, Clone)]
pub enum AnyParser {
    /// The default parser (npm `socket.io-parser`): JSON text with binary attachments.
    Json(JsonParser),
    /// The msgpack parser (npm `socket.io-msgpack-parser`).
    #[cfg(feature = "msgpack")]
    Msgpack(MsgpackParser),
}

impl Default for AnyParser {
    fn default() -> Self {
        AnyParser::Json(JsonParser::default())
    }
}

impl From<JsonParser> for AnyParser {
    fn from(p: JsonParser) -> Self {
        AnyParser::Json(p)
    }
}

#[cfg(feature = "msgpack")]
impl From<MsgpackParser> for AnyParser {
    fn from(p: MsgpackParser) -> Self {
        AnyParser::Msgpack(p)
    }
}

impl AnyParser {
    /// A decoder for one connection.
    pub fn decoder(&self) -> AnyDecoder {
        match self {
            AnyParser::Json(p) => AnyDecoder::Json(p.decoder()),
            #[cfg(feature = "msgpack")]
            AnyParser::Msgpack(p) => AnyDecoder::Msgpack(p.decoder()),
        }
    }

    /// Encodes a packet.
    pub fn encode(&self, packet: &Packet) -> Result<Encoded, EncodeError> {
        match self {
            AnyParser::Json(p) => p.encode(packet),
            #[cfg(feature = "msgpack")]
            AnyParser::Msgpack(p) => p.encode(packet),
        }
    }

    /// Encodes an event (see [`Parser::encode_event`]).
    pub fn encode_event<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        event: &str,
        args: &T,
        id: Option<u64>,
    ) -> Result<Encoded, EncodeError> {
        match self {
            AnyParser::Json(p) => p.encode_event(nsp, event, args, id),
            #[cfg(feature = "msgpack")]
            AnyParser::Msgpack(p) => p.encode_event(nsp, event, args, id),
        }
    }

    /// Encodes an acknowledgement (see [`Parser::encode_ack`]).
    pub fn encode_ack<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        id: u64,
        args: &T,
    ) -> Result<Encoded, EncodeError> {
        match self {
            AnyParser::Json(p) => p.encode_ack(nsp, id, args),
            #[cfg(feature = "msgpack")]
            AnyParser::Msgpack(p) => p.encode_ack(nsp, id, args),
        }
    }
}

/// The per-connection decoder of an [`AnyParser`].
#[derive(Debug)]
pub enum AnyDecoder {
    /// The JSON decoder.
    Json(JsonDecoder),
    /// The msgpack decoder.
    #[cfg(feature = "msgpack")]
    Msgpack(MsgpackDecoder),
}

impl AnyDecoder {
    /// Decodes a text message (without the Engine.IO `4`).
    pub fn decode_text(&mut self, text: Bytes) -> Result<Option<Packet>, DecodeError> {
        match self {
            AnyDecoder::Json(d) => d.decode_text(text),
            #[cfg(feature = "msgpack")]
            AnyDecoder::Msgpack(d) => d.decode_text(text),
        }
    }

    /// Decodes a text message that is the end of `text` from byte `start`; see
    /// [`Decoder::decode_utf8`].
    pub fn decode_utf8(
        &mut self,
        text: ByteString,
        start: usize,
    ) -> Result<Option<Packet>, DecodeError> {
        match self {
            AnyDecoder::Json(d) => d.decode_utf8(text, start),
            #[cfg(feature = "msgpack")]
            AnyDecoder::Msgpack(d) => d.decode_utf8(text, start),
        }
    }

    /// Decodes a binary message.
    pub fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, DecodeError> {
        match self {
            AnyDecoder::Json(d) => d.decode_binary(data),
            #[cfg(feature = "msgpack")]
            AnyDecoder::Msgpack(d) => d.decode_binary(data),
        }
    }
}
