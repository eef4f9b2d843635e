//! Parsers: how packets become Engine.IO messages and back.
//!
//! A [`Parser`] is shared configuration plus the encoder; [`Parser::decoder`] makes the
//! per-connection [`Decoder`], which is stateful because a binary packet arrives as several
//! messages. Implementations:
//!
//! * [`JsonParser`] (`json.rs`): socket.io-parser, the default; attachments in `binary.rs`.
//! * `MsgpackParser` (`msgpack.rs`, feature `msgpack`): socket.io-msgpack-parser.
//! * [`AnyParser`] (`any.rs`): either of them, chosen at run time (what servers and clients
//!   are configured with).

mod any;
pub(crate) mod binary;
mod encoded;
mod json;
#[cfg(feature = "msgpack")]
mod msgpack;

use bytes::{Buf, Bytes};
/// Shared UTF-8 text (crate `bytestring`), which [`Decoder::decode_utf8`] takes.
pub use bytestring::ByteString;
use serde::Serialize;

pub use any::{AnyDecoder, AnyParser};
pub use encoded::Encoded;
pub use json::{JsonDecoder, JsonParser};
#[cfg(feature = "msgpack")]
pub use msgpack::{MsgpackDecoder, MsgpackParser};

use crate::{DecodeError, EncodeError, Packet};

/// A Socket.IO parser: encodes packets and makes decoders.
///
/// Encoding takes `&self` and returns shared bytes, so one packet is encoded once and sent to any
/// number of sockets. The generic `encode_event`/`encode_ack` serialize the application's types
/// directly; [`encode`](Parser::encode) takes a built [`Packet`].
pub trait Parser: Clone + Send + Sync + 'static {
    /// The per-connection decoder.
    type Decoder: Decoder;

    /// A fresh decoder for one connection.
    fn decoder(&self) -> Self::Decoder;

    /// Encodes a packet. Raw JSON payloads are written as they are.
    fn encode(&self, packet: &Packet) -> Result<Encoded, EncodeError>;

    /// Encodes an EVENT `[event, args…]` in namespace `nsp`, asking for an acknowledgement when
    /// `id` is given. `args` must serialize as a sequence (tuple, array, slice, `Vec`); each
    /// element is one argument, so pass `&(x,)` for a single argument. Byte buffers that
    /// serialize with `serialize_bytes` (`bytes::Bytes`, `serde_bytes`, [`Value::Binary`]) are
    /// sent as binary.
    ///
    /// [`Value::Binary`]: crate::Value::Binary
    fn encode_event<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        event: &str,
        args: &T,
        id: Option<u64>,
    ) -> Result<Encoded, EncodeError>;

    /// Encodes an ACK answering acknowledgement id `id`; `args` as for
    /// [`encode_event`](Parser::encode_event).
    fn encode_ack<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        id: u64,
        args: &T,
    ) -> Result<Encoded, EncodeError>;
}

/// The receiving half of a parser, one per connection.
///
/// Feed it every Engine.IO `message` in arrival order; it returns a packet when one is complete.
/// After an error the connection should be closed (socket.io does); the decoder itself is left
/// empty and usable.
pub trait Decoder: Send + 'static {
    /// Decodes a text message: the Socket.IO packet, **without** the Engine.IO `4` prefix, as
    /// shared bytes (checked to be UTF-8). Raw JSON in the result is a slice of these bytes.
    fn decode_text(&mut self, text: Bytes) -> Result<Option<Packet>, DecodeError>;

    /// Decodes a text message given as a string (copied once into shared bytes).
    fn decode_str(&mut self, text: &str) -> Result<Option<Packet>, DecodeError> {
        self.decode_utf8(ByteString::from(text), 0)
    }

    /// Decodes a text message that is the end of `text` from byte `start` (a character
    /// boundary), for example an Engine.IO message with its `4` before it: UTF-8 by its type,
    /// so not checked again, and raw JSON in the result keeps reading it as a `str`.
    fn decode_utf8(
        &mut self,
        text: ByteString,
        start: usize,
    ) -> Result<Option<Packet>, DecodeError> {
        let mut bytes = text.into_bytes();
        bytes.advance(start.min(bytes.len()));
        self.decode_text(bytes)
    }

    /// Decodes a binary message: an attachment for the JSON parser, a whole packet for msgpack.
    fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, DecodeError>;

    /// Whether a binary packet is partly received (its attachments are still expected).
    fn is_partial(&self) -> bool;

    /// Drops a partly received packet (e.g. when the connection closes).
    fn reset(&mut self);
}
