//! The default parser, wire-compatible with npm socket.io-parser: text packets
//! `<type>[<attachments>-][<nsp>,][<ack id>][<JSON>]`, binary as attachments.

use std::cell::RefCell;

use bytes::Bytes;
use bytestring::ByteString;
use serde::Serialize;
use smol_str::SmolStr;

use super::binary::{self, PartialPacket, Sink};
use super::encoded::{Encoded, MESSAGE_PREFIX};
use super::{Decoder, Parser};
use crate::validate::{self, check_namespace};
use crate::{DecodeError, EncodeError, MAIN_NAMESPACE, Packet, PacketType, Payload, RawJson};

/// The JSON parser (npm `socket.io-parser`), Socket.IO's default.
///
/// ```
/// use socketio::{Decoder, JsonParser, Parser};
///
/// let parser = JsonParser::default();
/// let mut decoder = parser.decoder();
/// let packet = decoder.decode_str(r#"2/chat,5["message","hello"]"#).unwrap().unwrap();
/// assert_eq!((packet.nsp().as_str(), packet.id(), packet.event_name()), ("/chat", Some(5), Some("message")));
/// let (text,): (&str,) = packet.args().unwrap();
/// assert_eq!(text, "hello");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonParser {
    max_attachments: usize,
}

impl JsonParser {
    /// socket.io-parser's default limit on attachments per packet (CVE-2026-33151).
    pub const DEFAULT_MAX_ATTACHMENTS: usize = 10;

    /// A parser with the default attachment limit.
    pub fn new() -> JsonParser {
        JsonParser {
            max_attachments: Self::DEFAULT_MAX_ATTACHMENTS,
        }
    }

    /// The same parser whose decoders refuse packets announcing more than `max` attachments.
    pub fn with_max_attachments(self, max: usize) -> JsonParser {
        JsonParser {
            max_attachments: max,
        }
    }

    /// The attachment limit of its decoders.
    pub fn max_attachments(&self) -> usize {
        self.max_attachments
    }
}

impl Default for JsonParser {
    fn default() -> Self {
        JsonParser::new()
    }
}

impl Parser for JsonParser {
    type Decoder = JsonDecoder;

    fn decoder(&self) -> JsonDecoder {
        JsonDecoder {
            max_attachments: self.max_attachments,
            partial: None,
        }
    }

    fn encode(&self, packet: &Packet) -> Result<Encoded, EncodeError> {
        let kind = packet.kind();
        let (nsp, id) = (packet.nsp().as_str(), packet.id());
        match packet.payload() {
            None => {
                let mut buf = String::with_capacity(8 + nsp.len());
                write_header(&mut buf, kind, 0, nsp, id)?;
                Ok(Encoded::text_and_attachments(buf.into(), Vec::new()))
            }
            Some(Payload::Json(raw)) => {
                let raw = raw.as_str();
                let mut buf = String::with_capacity(24 + nsp.len() + raw.len());
                write_header(&mut buf, kind, 0, nsp, id)?;
                buf.push_str(raw);
                Ok(Encoded::text_and_attachments(buf.into(), Vec::new()))
            }
            Some(Payload::Value(value)) if kind.is_event() || kind.is_ack() => {
                // Gather the buffers first (no copy), so the header can announce their count.
                let mut attachments = Vec::new();
                binary::collect_binaries(value, &mut attachments);
                let wire = if attachments.is_empty() {
                    kind
                } else {
                    kind.with_binary()
                };
                let sink = Sink::counting();
                let buf = write_packet(|buf| {
                    write_header(buf, wire, attachments.len(), nsp, id)?;
                    Ok(crate::json_text::to_writer_with_placeholders(
                        buf, value, &sink,
                    )?)
                })?;
                debug_assert_eq!(
                    sink.count(),
                    attachments.len(),
                    "placeholders follow the gathering order"
                );
                Ok(Encoded::text_and_attachments(buf.into(), attachments))
            }
            Some(Payload::Value(value)) => {
                // Only events and acks carry attachments (as in socket.io-parser); binary
                // elsewhere is written as an array of numbers.
                let buf = write_packet(|buf| {
                    write_header(buf, kind, 0, nsp, id)?;
                    Ok(crate::json_text::to_writer(buf, value)?)
                })?;
                Ok(Encoded::text_and_attachments(buf.into(), Vec::new()))
            }
        }
    }

    fn encode_event<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        event: &str,
        args: &T,
        id: Option<u64>,
    ) -> Result<Encoded, EncodeError> {
        write_with_attachments(PacketType::Event, Sink::collecting(), |buf, sink| {
            write_header(buf, PacketType::Event, 0, nsp, id)?;
            buf.push('[');
            crate::json_text::to_writer(buf, event)?;
            let args_at = buf.len();
            write_args(buf, args, sink)?;
            join_args(buf, args_at)
        })
    }

    fn encode_ack<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        id: u64,
        args: &T,
    ) -> Result<Encoded, EncodeError> {
        write_with_attachments(PacketType::Ack, Sink::collecting(), |buf, sink| {
            write_header(buf, PacketType::Ack, 0, nsp, Some(id))?;
            let args_at = buf.len();
            write_args(buf, args, sink)?;
            match buf.get(args_at..) {
                Some("null") => {
                    // `()` (or `None`): no arguments.
                    buf.truncate(args_at);
                    buf.push_str("[]");
                    Ok(())
                }
                Some(args) if args.starts_with('[') => Ok(()),
                _ => Err(EncodeError::ArgsNotASequence),
            }
        })
    }
}

thread_local! {
    /// The buffer each thread writes packets into before copying them out at their exact
    /// size: a long packet costs no growth steps, and an exact `Vec` becomes `Bytes` without
    /// a shared count.
    static SCRATCH: RefCell<String> = const { RefCell::new(String::new()) };
}

/// A scratch buffer that grew past this is released after use instead of kept by its thread.
const SCRATCH_KEEP: usize = 64 * 1024;

/// The packet `write` writes, at its exact size.
fn write_packet(
    write: impl FnOnce(&mut String) -> Result<(), EncodeError>,
) -> Result<String, EncodeError> {
    write_packet_as(write, str::to_owned)
}

/// The packet `write` writes, copied out of the scratch buffer by `finish`.
fn write_packet_as(
    write: impl FnOnce(&mut String) -> Result<(), EncodeError>,
    finish: impl FnOnce(&str) -> String,
) -> Result<String, EncodeError> {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            let written = write(&mut buf).map(|()| finish(buf.as_str()));
            if buf.capacity() > SCRATCH_KEEP {
                *buf = String::new();
            }
            written
        }
        // A `Serialize` that encodes a packet of its own while being written.
        Err(_) => {
            let mut buf = String::with_capacity(64);
            write(&mut buf).map(|()| finish(buf.as_str()))
        }
    })
}

/// Writes an event or an acknowledgement whose arguments may hold binary: `write` writes it
/// with a plain header, and when `sink` recorded placeholders the type becomes binary and the
/// attachment count goes after it, in the one copy out of the scratch buffer (plain packets are
/// copied as they are).
fn write_with_attachments(
    kind: PacketType,
    sink: Sink,
    write: impl FnOnce(&mut String, &Sink) -> Result<(), EncodeError>,
) -> Result<Encoded, EncodeError> {
    let text = write_packet_as(
        |buf| write(buf, &sink),
        |written| match sink.count() {
            0 => written.to_owned(),
            count => {
                // `4<type>`, which the header always wrote, then the count.
                let count = count as u64;
                let digits = count.checked_ilog10().unwrap_or(0) as usize + 1;
                let mut text = String::with_capacity(written.len() + digits + 1);
                text.push(char::from(MESSAGE_PREFIX));
                text.push(char::from(kind.with_binary().as_ascii()));
                push_decimal(&mut text, count);
                text.push('-');
                text.push_str(written.get(2..).unwrap_or_default());
                text
            }
        },
    )?;
    Ok(Encoded::text_and_attachments(
        text.into(),
        sink.into_collected(),
    ))
}

/// Writes `4<type>[<attachments>-][<nsp>,][<id>]`.
fn write_header(
    buf: &mut String,
    kind: PacketType,
    attachments: usize,
    nsp: &str,
    id: Option<u64>,
) -> Result<(), EncodeError> {
    if nsp != MAIN_NAMESPACE && !check_namespace(nsp) {
        return Err(EncodeError::InvalidNamespace);
    }
    buf.push(char::from(MESSAGE_PREFIX));
    buf.push(char::from(kind.as_ascii()));
    if kind.is_binary() {
        push_decimal(buf, attachments as u64);
        buf.push('-');
    }
    if nsp != MAIN_NAMESPACE {
        buf.push_str(nsp);
        buf.push(',');
    }
    if let Some(id) = id {
        push_decimal(buf, id);
    }
    Ok(())
}

/// Writes `args` (a sequence, or `()`) with binary replaced by placeholders recorded in `sink`.
fn write_args<T: Serialize + ?Sized>(
    buf: &mut String,
    args: &T,
    sink: &Sink,
) -> Result<(), EncodeError> {
    Ok(crate::json_text::to_writer_with_placeholders(
        buf, args, sink,
    )?)
}

/// Turns the serialized argument list at `at` into the tail of the event array that was opened
/// with the event name: `[a,b]` → `,a,b]`, `[]` or `null` (for `()`) → `]`.
fn join_args(buf: &mut String, at: usize) -> Result<(), EncodeError> {
    match buf.get(at..) {
        Some("[]" | "null") => {
            buf.truncate(at);
            buf.push(']');
        }
        Some(args) if args.starts_with('[') => {
            buf.replace_range(at..=at, ",");
        }
        _ => return Err(EncodeError::ArgsNotASequence),
    }
    Ok(())
}

/// Appends `n` in decimal.
fn push_decimal(buf: &mut String, n: u64) {
    buf.push_str(itoa::Buffer::new().format(n));
}

/// The per-connection decoder of [`JsonParser`]: holds a binary packet while its attachments
/// arrive.
#[derive(Debug)]
pub struct JsonDecoder {
    max_attachments: usize,
    /// Boxed: binary packets are rare, and every connection holds a decoder.
    partial: Option<Box<PartialPacket>>,
}

impl Decoder for JsonDecoder {
    fn decode_text(&mut self, text: Bytes) -> Result<Option<Packet>, DecodeError> {
        match ByteString::try_from(text) {
            Ok(text) => self.decode_utf8(text, 0),
            Err(_) => {
                self.partial = None;
                Err(DecodeError::InvalidUtf8)
            }
        }
    }

    fn decode_utf8(
        &mut self,
        text: ByteString,
        start: usize,
    ) -> Result<Option<Packet>, DecodeError> {
        if self.partial.take().is_some() {
            return Err(DecodeError::UnexpectedText);
        }
        let packet = text.as_bytes().get(start..).unwrap_or_default();
        let header = Header::parse(packet, self.max_attachments)?;
        let nsp = if header.nsp == MAIN_NAMESPACE {
            SmolStr::new_static(MAIN_NAMESPACE)
        } else {
            SmolStr::new(header.nsp)
        };
        let (kind, id, attachments, payload_at) = (
            header.kind,
            header.id,
            header.attachments,
            header.payload_at,
        );
        // The payload is the rest of the text, which it keeps (not a slice: a slice of bytes
        // read from the peer would allocate a shared count).
        let json_at = start + payload_at;
        let json = text.get(json_at..).filter(|json| !json.is_empty());
        let Some(expected) = attachments else {
            let event = validate::check_json(kind, json)?;
            let data = json
                .is_some()
                .then(|| Payload::Json(RawJson::from_checked(text, json_at)));
            return Ok(Some(Packet::from_checked(kind, nsp, id, data, event)));
        };
        // A binary packet: the placeholders must be found, so this one is parsed into a tree.
        let data = match json {
            Some(j) => {
                Some(binary::parse_marked(j, expected).map_err(|e| validate::json_error(&e))?)
            }
            None => None,
        };
        let event = validate::check_value(kind, data.as_ref())?;
        if let Some(v) = &data {
            binary::check_placeholders(v, expected)?;
        }
        let partial = PartialPacket::new(kind, nsp, id, data, event, expected);
        if partial.is_complete() {
            // Announced zero attachments: nothing to wait for.
            return partial.finish().map(Some);
        }
        self.partial = Some(Box::new(partial));
        Ok(None)
    }

    fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, DecodeError> {
        let Some(partial) = self.partial.as_mut() else {
            return Err(DecodeError::UnexpectedBinary);
        };
        partial.push(data);
        if !partial.is_complete() {
            return Ok(None);
        }
        match self.partial.take() {
            Some(done) => done.finish().map(Some),
            None => Ok(None),
        }
    }

    fn is_partial(&self) -> bool {
        self.partial.is_some()
    }

    fn reset(&mut self) {
        self.partial = None;
    }
}

/// The fields in front of the JSON of a text packet.
struct Header<'a> {
    kind: PacketType,
    attachments: Option<usize>,
    nsp: &'a str,
    id: Option<u64>,
    /// Byte offset where the JSON payload starts (the length when there is none).
    payload_at: usize,
}

impl<'a> Header<'a> {
    /// Reads the header as socket.io-parser's `decodeString` does, but strictly: the attachment
    /// count and the ack id are decimal digits only, and numbers that overflow are refused.
    fn parse(b: &'a [u8], max_attachments: usize) -> Result<Header<'a>, DecodeError> {
        let kind = match b.first() {
            None => return Err(DecodeError::EmptyPacket),
            Some(&c) => PacketType::from_ascii(c).ok_or(DecodeError::UnknownPacketType)?,
        };
        let mut pos = 1;

        let attachments = if kind.is_binary() {
            let mut count: usize = 0;
            let mut digits = 0;
            loop {
                match b.get(pos) {
                    Some(&c) if c.is_ascii_digit() => {
                        // Stops at the limit, so a huge digit run costs nothing and cannot overflow.
                        count = count
                            .checked_mul(10)
                            .and_then(|n| n.checked_add(usize::from(c - b'0')))
                            .filter(|&n| n <= max_attachments)
                            .ok_or(DecodeError::TooManyAttachments)?;
                        digits += 1;
                        pos += 1;
                    }
                    Some(b'-') if digits > 0 => {
                        pos += 1;
                        break;
                    }
                    _ => return Err(DecodeError::IllegalAttachments),
                }
            }
            Some(count)
        } else {
            None
        };

        // The namespace runs from `/` to the next `,` or to the end (`40/custom` is valid).
        let nsp = if b.get(pos) == Some(&b'/') {
            let rest = b.get(pos..).unwrap_or_default();
            let (end, next) = match rest.iter().position(|&c| c == b',') {
                Some(comma) => (pos + comma, pos + comma + 1),
                None => (b.len(), b.len()),
            };
            let nsp = std::str::from_utf8(b.get(pos..end).unwrap_or_default())
                .map_err(|_| DecodeError::InvalidUtf8)?;
            pos = next;
            nsp
        } else {
            MAIN_NAMESPACE
        };

        let mut id: Option<u64> = None;
        while let Some(&c) = b.get(pos) {
            if !c.is_ascii_digit() {
                break;
            }
            let n = id
                .unwrap_or(0)
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(c - b'0')));
            id = Some(n.ok_or(DecodeError::InvalidAckId)?);
            pos += 1;
        }

        Ok(Header {
            kind,
            attachments,
            nsp,
            id,
            payload_at: pos,
        })
    }
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
