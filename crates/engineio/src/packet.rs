//! Engine.IO v4 packets: the seven packet types, the text form used on every transport
//! (`<type char><data>`), and binary messages.
//!
//! A packet is decoded from what a peer sent, so every decoding function returns an error
//! instead of panicking on malformed input.

use base64::Engine as _;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use crate::message::{Message, Str};

/// The base64 flavour Engine.IO uses for binary in text transports: the standard alphabet,
/// padded on output, padding optional on input (browsers' `btoa` always pads, but being lenient
/// about a missing pad costs nothing).
pub(crate) const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A decoded Engine.IO packet (v4, or v3 through [`crate::v3`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `0`: only ever sent by a server; a client sending it is ignored.
    Open,
    /// `1`: the peer closes the session (honoured on polling only, as Node does).
    Close,
    /// `2`: a ping; in v4 only `2probe` is legitimate from a client (during an upgrade).
    Ping(Bytes),
    /// `3`: a pong, optionally with data (`3probe`).
    Pong(Bytes),
    /// `4`: a message.
    Message(Message),
    /// `5`: the client completes an upgrade.
    Upgrade,
    /// `6`: no operation.
    Noop,
}

/// Why a packet or a payload could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// An empty packet.
    Empty,
    /// The first character (or byte) is not a packet type.
    UnknownType,
    /// A `b` packet whose data is not base64.
    InvalidBase64,
    /// Text that is not UTF-8.
    InvalidUtf8,
    /// A v3 payload whose length prefix is malformed or does not match the data.
    InvalidLength,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DecodeError::Empty => "empty packet",
            DecodeError::UnknownType => "unknown packet type",
            DecodeError::InvalidBase64 => "invalid base64 data",
            DecodeError::InvalidUtf8 => "text is not UTF-8",
            DecodeError::InvalidLength => "invalid length in payload",
        })
    }
}

impl std::error::Error for DecodeError {}

/// Decodes one text packet. A message's data is the rest of `text` (not a copy), so it shares
/// the peer's buffer and stays UTF-8 text.
pub(crate) fn decode_text(text: ByteString) -> Result<Packet, DecodeError> {
    let Some(&kind) = text.as_bytes().first() else {
        return Err(DecodeError::Empty);
    };
    // Advanced, not sliced: a slice of bytes read from the peer would allocate a shared
    // count, moving the start allocates nothing.
    let data = |text: ByteString| {
        let mut data = text.into_bytes();
        data.advance(1);
        data
    };
    Ok(match kind {
        b'0' => Packet::Open,
        b'1' => Packet::Close,
        b'2' => Packet::Ping(data(text)),
        b'3' => Packet::Pong(data(text)),
        // The first byte is ASCII, so the rest starts at a character boundary.
        b'4' => Packet::Message(Message::Text(Str::suffix(text, 1))),
        b'5' => Packet::Upgrade,
        b'6' => Packet::Noop,
        b'b' => {
            let bin = BASE64
                .decode(text.as_bytes().get(1..).unwrap_or_default())
                .map_err(|_| DecodeError::InvalidBase64)?;
            Packet::Message(Message::Binary(Bytes::from(bin)))
        }
        _ => return Err(DecodeError::UnknownType),
    })
}

/// One packet ready to be written to any transport: a text packet (type character included) or
/// a binary message. Cloning is cheap (reference counted), so a packet encoded once can be queued
/// for many sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub(crate) kind: FrameKind,
    /// May go out compressed (polling responses of at least the compression threshold).
    compress: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FrameKind {
    /// The whole text packet, e.g. `4hello`, `2`, `3probe`. Always valid UTF-8.
    Text(Bytes),
    /// The data of a binary message (no type byte in v4).
    Binary(Bytes),
}

impl Frame {
    const fn new(kind: FrameKind) -> Self {
        Frame {
            kind,
            compress: true,
        }
    }

    /// Whether this packet may be compressed (default true, as in Node): a polling response
    /// is compressed when at least one of its packets may be and it is large enough.
    /// WebSocket frames are never compressed (permessage-deflate is not implemented).
    #[must_use]
    pub fn compress(mut self, compress: bool) -> Self {
        self.compress = compress;
        self
    }

    pub(crate) fn is_compressible(&self) -> bool {
        self.compress
    }

    /// A message packet. Text messages are copied once, behind their `4` type character; binary
    /// messages are not copied at all.
    pub fn message(message: Message) -> Self {
        match message {
            Message::Text(text) => Frame::message_text(text.as_str()),
            Message::Binary(data) => Frame::new(FrameKind::Binary(data)),
        }
    }

    /// A text message packet built from a string slice (one copy, behind the `4`).
    pub fn message_text(text: &str) -> Self {
        let mut buf = BytesMut::with_capacity(text.len() + 1);
        buf.put_u8(b'4');
        buf.put_slice(text.as_bytes());
        Frame::new(FrameKind::Text(buf.freeze()))
    }

    /// A text message packet from bytes that already hold the `4` type character followed by
    /// UTF-8 text, so that an upper layer can encode a packet once and queue it for many
    /// sessions without another copy. Returns `None` if the bytes are not of that form.
    pub fn from_encoded_message(encoded: Bytes) -> Option<Self> {
        if encoded.first() != Some(&b'4') || std::str::from_utf8(&encoded).is_err() {
            return None;
        }
        Some(Frame::new(FrameKind::Text(encoded)))
    }

    /// [`from_encoded_message`](Frame::from_encoded_message) for text already known to be
    /// UTF-8 by its type, which needs no second check.
    pub fn from_encoded_text(encoded: ByteString) -> Option<Self> {
        if !encoded.starts_with('4') {
            return None;
        }
        Some(Frame::new(FrameKind::Text(encoded.into_bytes())))
    }

    pub(crate) const fn static_text(text: &'static str) -> Self {
        Frame::new(FrameKind::Text(Bytes::from_static(text.as_bytes())))
    }

    pub(crate) fn ping() -> Self {
        Self::static_text("2")
    }

    pub(crate) fn close() -> Self {
        Self::static_text("1")
    }

    pub(crate) fn noop() -> Self {
        Self::static_text("6")
    }

    pub(crate) fn pong_probe() -> Self {
        Self::static_text("3probe")
    }

    /// The open packet: `0` followed by the handshake JSON.
    pub(crate) fn open(json: &str) -> Self {
        let mut buf = BytesMut::with_capacity(json.len() + 1);
        buf.put_u8(b'0');
        buf.put_slice(json.as_bytes());
        Frame::new(FrameKind::Text(buf.freeze()))
    }

    /// The size of the packet's data in bytes.
    pub fn len(&self) -> usize {
        match &self.kind {
            FrameKind::Text(t) => t.len(),
            FrameKind::Binary(b) => b.len(),
        }
    }

    /// Whether the packet has no data (never true for a text packet, which has its type).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The size this packet counts for in a polling payload.
    pub(crate) fn polling_len(&self) -> usize {
        match &self.kind {
            FrameKind::Text(t) => t.len(),
            FrameKind::Binary(b) => 1 + b.len().div_ceil(3) * 4,
        }
    }

    /// Appends the polling form of this packet: text as is, binary as `b<base64>`.
    pub(crate) fn write_polling(&self, out: &mut Vec<u8>) {
        match &self.kind {
            FrameKind::Text(t) => out.extend_from_slice(t),
            FrameKind::Binary(b) => {
                out.push(b'b');
                let start = out.len();
                out.resize(start + b.len().div_ceil(3) * 4, 0);
                let written = match out.get_mut(start..) {
                    Some(tail) => BASE64.encode_slice(b, tail).unwrap_or(0),
                    None => 0,
                };
                out.truncate(start + written);
            }
        }
    }

    /// Whether this packet is a message (the only packets an upper layer queues).
    pub(crate) fn is_message(&self) -> bool {
        match &self.kind {
            FrameKind::Text(t) => t.first() == Some(&b'4'),
            FrameKind::Binary(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    fn utf8(s: &'static str) -> ByteString {
        ByteString::from_static(s)
    }

    #[test]
    fn every_packet_type_decodes() {
        assert_eq!(decode_text(utf8("0")), Ok(Packet::Open));
        assert_eq!(decode_text(utf8("1")), Ok(Packet::Close));
        assert_eq!(decode_text(utf8("2")), Ok(Packet::Ping(Bytes::new())));
        assert_eq!(decode_text(utf8("2probe")), Ok(Packet::Ping(text("probe"))));
        assert_eq!(decode_text(utf8("3probe")), Ok(Packet::Pong(text("probe"))));
        assert_eq!(
            decode_text(utf8("4héllo")),
            Ok(Packet::Message(Message::Text(Str::from("héllo"))))
        );
        assert_eq!(decode_text(utf8("5")), Ok(Packet::Upgrade));
        assert_eq!(decode_text(utf8("6")), Ok(Packet::Noop));
        assert_eq!(
            decode_text(utf8("bAQID")),
            Ok(Packet::Message(Message::Binary(Bytes::from_static(&[
                1, 2, 3
            ]))))
        );
    }

    #[test]
    fn malformed_packets_are_errors() {
        assert_eq!(decode_text(ByteString::new()), Err(DecodeError::Empty));
        assert_eq!(decode_text(utf8("7")), Err(DecodeError::UnknownType));
        assert_eq!(decode_text(utf8("x")), Err(DecodeError::UnknownType));
        assert_eq!(decode_text(utf8("b!!!")), Err(DecodeError::InvalidBase64));
    }

    #[test]
    fn binary_is_written_as_base64_in_polling() {
        let mut out = Vec::new();
        let frame = Frame::message(Message::Binary(Bytes::from_static(&[1, 2, 3, 4])));
        frame.write_polling(&mut out);
        assert_eq!(out, b"bAQIDBA==");
        assert_eq!(frame.polling_len(), out.len());
    }

    #[test]
    fn encoded_messages_must_start_with_the_message_type() {
        assert!(Frame::from_encoded_message(text("4abc")).is_some());
        assert!(Frame::from_encoded_message(text("2")).is_none());
        assert!(Frame::from_encoded_text(ByteString::from("4é")).is_some());
        assert!(Frame::from_encoded_text(ByteString::from("2")).is_none());
        assert!(Frame::from_encoded_text(ByteString::new()).is_none());
        assert!(Frame::from_encoded_message(Bytes::from_static(&[b'4', 0xff])).is_none());
    }
}
