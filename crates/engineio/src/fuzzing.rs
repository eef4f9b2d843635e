//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): the v4 decoders, which
//! are otherwise internal. Not a stable API.

use bytes::Bytes;

use crate::message::Message;
use crate::packet::{self, DecodeError, Frame, Packet};
use crate::payload;

/// Decodes one v4 text packet, checking first that it is UTF-8 (as the transports do).
pub fn decode_v4_packet(text: Bytes) -> Result<Packet, DecodeError> {
    let text = bytestring::ByteString::try_from(text).map_err(|_| DecodeError::InvalidUtf8)?;
    packet::decode_text(text)
}

/// Decodes a v4 polling payload; see the server's handling of POST bodies.
pub fn decode_v4_payload(body: Bytes) -> Vec<Result<Packet, DecodeError>> {
    payload::decode(body)
}

/// Encodes messages into a v4 polling payload.
pub fn encode_v4_payload(messages: &[Message]) -> Bytes {
    let frames: Vec<Frame> = messages.iter().cloned().map(Frame::message).collect();
    payload::encode(&frames, payload::encoded_len(&frames))
}
