//! The codec's errors: [`DecodeError`] for what a peer sent, [`EncodeError`] for what the
//! application asked to send.

use std::fmt;

/// Why a received message was rejected. Any of these closes the whole connection in socket.io
/// (PROTOCOL-FACTS §3.3), so the variants are for logs and tests rather than for recovery.
///
/// The decoder never panics and never allocates to report an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeError {
    /// An empty text message.
    EmptyPacket,
    /// The first character is not a packet type `0`–`6`.
    UnknownPacketType,
    /// A text message that is not UTF-8.
    InvalidUtf8,
    /// A binary packet whose attachment count is missing, not decimal digits, or not followed by `-`.
    IllegalAttachments,
    /// A binary packet announcing more attachments than the decoder allows.
    TooManyAttachments,
    /// An acknowledgement id too large for 64 bits.
    InvalidAckId,
    /// The payload is not valid JSON (or msgpack).
    InvalidJson,
    /// The payload does not have the shape its packet type requires.
    InvalidPayload,
    /// An event named `connect`, `connect_error`, `disconnect`, `disconnecting`, `newListener`
    /// or `removeListener`, which a peer may not send.
    ReservedEventName,
    /// A placeholder whose `num` is not an integer below the attachment count (CVE-2022-2421).
    IllegalPlaceholder,
    /// A text message arrived while the attachments of a binary packet were still expected.
    UnexpectedText,
    /// A binary message arrived when no attachment was expected.
    UnexpectedBinary,
    /// A namespace that does not start with `/` or contains `,` (only from [`Packet::new`]).
    ///
    /// [`Packet::new`]: crate::Packet::new
    InvalidNamespace,
    /// A kind of message this parser does not read (text for the msgpack parser).
    UnsupportedMessage,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecodeError::EmptyPacket => "empty packet",
            DecodeError::UnknownPacketType => "unknown packet type",
            DecodeError::InvalidUtf8 => "text packet is not UTF-8",
            DecodeError::IllegalAttachments => "illegal attachment count",
            DecodeError::TooManyAttachments => "too many attachments",
            DecodeError::InvalidAckId => "acknowledgement id out of range",
            DecodeError::InvalidJson => "payload is not valid JSON",
            DecodeError::InvalidPayload => "invalid payload for the packet type",
            DecodeError::ReservedEventName => "reserved event name",
            DecodeError::IllegalPlaceholder => "illegal attachment placeholder",
            DecodeError::UnexpectedText => "text packet while attachments were expected",
            DecodeError::UnexpectedBinary => "binary data while no attachment was expected",
            DecodeError::InvalidNamespace => "invalid namespace",
            DecodeError::UnsupportedMessage => "message kind not supported by this parser",
        })
    }
}

impl std::error::Error for DecodeError {}

/// Why a packet could not be encoded.
#[derive(Debug)]
#[non_exhaustive]
pub enum EncodeError {
    /// The namespace does not start with `/` or contains `,` (which ends a namespace on the wire).
    InvalidNamespace,
    /// Event or acknowledgement arguments did not serialize as a sequence (tuple, array, `Vec`).
    ArgsNotASequence,
    /// The arguments' `Serialize` implementation failed (for JSON: e.g. a map key that is not a
    /// string).
    Serialize(Box<dyn std::error::Error + Send + Sync>),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::InvalidNamespace => {
                f.write_str("namespace must start with '/' and not contain ','")
            }
            EncodeError::ArgsNotASequence => f.write_str("arguments must serialize as a sequence"),
            EncodeError::Serialize(e) => write!(f, "cannot serialize the payload: {e}"),
        }
    }
}

impl std::error::Error for EncodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EncodeError::Serialize(e) => Some(&**e),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for EncodeError {
    fn from(e: serde_json::Error) -> Self {
        EncodeError::Serialize(Box::new(e))
    }
}
