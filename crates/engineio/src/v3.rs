//! The codec of Engine.IO protocol v3, spoken by `engine.io` 3 clients (Socket.IO 1 and 2):
//! packets and polling payloads, decoded into the same [`Packet`] as v4. Only the codec: the
//! server does not accept v3 sessions.
//!
//! Where v3 differs from v4:
//! * base64 binary inside text is `b<type><base64>` (`b4AQI=`), not `b<base64>`;
//! * a binary WebSocket frame starts with the packet type byte (`04 01 02`);
//! * a text polling payload is `<length>:<packet>` repeated, the length counted in UTF-16 code
//!   units as JavaScript counts a string (`6:4hello2:4€`); an empty one is `0:`;
//! * a binary polling payload (XHR2, `application/octet-stream`) is, per packet, a `0` (text) or
//!   `1` (binary) byte, the length as one byte per decimal digit (each 0 to 9), a `0xFF` byte,
//!   then the packet: text as UTF-8, binary as the type byte followed by the data.
//!
//! Every decoder returns an error rather than panicking, and its work is linear in its input: a
//! length is checked against what is left before anything is read.
//!
//! ```
//! use bytes::Bytes;
//! use engineio::{Message, Packet, v3};
//!
//! let packets = v3::decode_payload(Bytes::from_static("6:4hello2:4€".as_bytes())).unwrap();
//! assert_eq!(packets, [Packet::Message("hello".into()), Packet::Message("€".into())]);
//! assert_eq!(v3::encode_payload(&packets), "6:4hello2:4€");
//!
//! let frame = v3::encode_binary_frame(&[1, 2]);
//! assert_eq!(&frame[..], [4, 1, 2]);
//! assert_eq!(
//!     v3::decode_binary_frame(frame),
//!     Ok(Packet::Message(Message::Binary(Bytes::from_static(&[1, 2]))))
//! );
//! ```

use std::fmt::Write as _;

use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use crate::message::Message;
use crate::packet::{self, BASE64, DecodeError, Packet};

/// The most decimal digits a payload length may have. Ten digits count past any body a server
/// accepts, and a longer run of digits can only be an attack or garbage.
const MAX_LENGTH_DIGITS: usize = 10;

/// The type of a message packet, as a byte value.
const MESSAGE: u8 = 4;

/// The byte that ends the length of a packet in a binary payload.
const LENGTH_END: u8 = 0xff;

/// Decodes one text packet: `<type><data>` as in v4, or `b<type><base64>` for binary data.
pub fn decode_packet(text: Bytes) -> Result<Packet, DecodeError> {
    let text = ByteString::try_from(text).map_err(|_| DecodeError::InvalidUtf8)?;
    decode_utf8_packet(text)
}

/// [`decode_packet`] for UTF-8 text.
fn decode_utf8_packet(text: ByteString) -> Result<Packet, DecodeError> {
    if !text.starts_with('b') {
        return packet::decode_text(text);
    }
    let text = text.as_bytes();
    let kind = match text.get(1) {
        Some(&c) => packet_type(c.wrapping_sub(b'0'))?,
        None => return Err(DecodeError::UnknownType),
    };
    let data = BASE64
        .decode(text.get(2..).unwrap_or_default())
        .map_err(|_| DecodeError::InvalidBase64)?;
    with_binary_data(kind, Bytes::from(data))
}

/// Decodes one binary WebSocket frame: the packet type byte (0 to 6), then the data.
pub fn decode_binary_frame(frame: Bytes) -> Result<Packet, DecodeError> {
    let Some(&kind) = frame.first() else {
        return Err(DecodeError::Empty);
    };
    with_binary_data(packet_type(kind)?, frame.slice(1..))
}

/// Checks a packet type given as a byte value.
fn packet_type(kind: u8) -> Result<u8, DecodeError> {
    if kind <= 6 {
        Ok(kind)
    } else {
        Err(DecodeError::UnknownType)
    }
}

/// The packet of type `kind` carrying binary data. Only messages, pings and pongs have data;
/// the data of other types is dropped, as Node's server ignores it.
fn with_binary_data(kind: u8, data: Bytes) -> Result<Packet, DecodeError> {
    Ok(match kind {
        0 => Packet::Open,
        1 => Packet::Close,
        2 => Packet::Ping(data),
        3 => Packet::Pong(data),
        MESSAGE => Packet::Message(Message::Binary(data)),
        5 => Packet::Upgrade,
        6 => Packet::Noop,
        _ => return Err(DecodeError::UnknownType),
    })
}

/// Encodes one packet as text, for a text WebSocket frame or a text payload. A binary message
/// becomes `b4<base64>`; ping or pong data that is not UTF-8 is sent the same way (`b2…`).
pub fn encode_packet(packet: &Packet) -> String {
    let mut out = String::new();
    write_packet(packet, &mut out);
    out
}

fn write_packet(packet: &Packet, out: &mut String) {
    match packet {
        Packet::Open => out.push('0'),
        Packet::Close => out.push('1'),
        Packet::Ping(data) => write_text_or_base64(b'2', data, out),
        Packet::Pong(data) => write_text_or_base64(b'3', data, out),
        Packet::Message(Message::Text(text)) => {
            out.push('4');
            out.push_str(text.as_str());
        }
        Packet::Message(Message::Binary(data)) => write_base64(b'4', data, out),
        Packet::Upgrade => out.push('5'),
        Packet::Noop => out.push('6'),
    }
}

fn write_text_or_base64(kind: u8, data: &[u8], out: &mut String) {
    match std::str::from_utf8(data) {
        Ok(text) => {
            out.push(char::from(kind));
            out.push_str(text);
        }
        Err(_) => write_base64(kind, data, out),
    }
}

fn write_base64(kind: u8, data: &[u8], out: &mut String) {
    out.push('b');
    out.push(char::from(kind));
    BASE64.encode_string(data, out);
}

/// Encodes a binary message as a binary WebSocket frame: the message type byte, then the data.
pub fn encode_binary_frame(data: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(data.len() + 1);
    out.put_u8(MESSAGE);
    out.put_slice(data);
    out.freeze()
}

/// Decodes a text polling payload (`<length>:<packet>`…). An empty packet (`0:`) is skipped, so
/// `0:` is the empty payload; an empty body is an error. The whole payload is refused if any
/// part is malformed (Node's parser also stops there and the session is closed).
pub fn decode_payload(body: Bytes) -> Result<Vec<Packet>, DecodeError> {
    let Ok(body) = ByteString::try_from(body) else {
        return Err(DecodeError::InvalidUtf8);
    };
    let text: &str = &body;
    if text.is_empty() {
        return Err(DecodeError::Empty);
    }
    let mut packets = Vec::new();
    let mut rest = text;
    // Where `rest` starts in `body`.
    let mut offset = 0;
    while !rest.is_empty() {
        let colon = rest
            .bytes()
            .take(MAX_LENGTH_DIGITS + 1)
            .position(|b| b == b':')
            .ok_or(DecodeError::InvalidLength)?;
        let units = parse_decimal(rest.bytes().take(colon).map(|b| b.wrapping_sub(b'0')))?;
        let after = rest.get(colon + 1..).unwrap_or_default();
        let len = utf16_prefix_len(after, units)?;
        let start = offset + colon + 1;
        if len > 0 {
            let part = text.get(start..start + len).unwrap_or_default();
            packets.push(decode_utf8_packet(body.slice_ref(part))?);
        }
        rest = after.get(len..).unwrap_or_default();
        offset = start + len;
    }
    Ok(packets)
}

/// The number of bytes at the start of `text` that hold exactly `units` UTF-16 code units.
fn utf16_prefix_len(text: &str, units: usize) -> Result<usize, DecodeError> {
    // A character is never more UTF-16 units than UTF-8 bytes: refuse early what cannot fit.
    if units > text.len() {
        return Err(DecodeError::InvalidLength);
    }
    let mut counted = 0;
    let mut len = 0;
    let mut chars = text.chars();
    while counted < units {
        let c = chars.next().ok_or(DecodeError::InvalidLength)?;
        counted += c.len_utf16();
        len += c.len_utf8();
    }
    // Past the count: the length ends inside a surrogate pair.
    if counted != units {
        return Err(DecodeError::InvalidLength);
    }
    Ok(len)
}

/// The number written by these digit values (each 0 to 9), at least one and at most
/// [`MAX_LENGTH_DIGITS`] of them.
fn parse_decimal(digits: impl Iterator<Item = u8>) -> Result<usize, DecodeError> {
    let mut value: usize = 0;
    let mut count = 0;
    for digit in digits {
        if digit > 9 || count == MAX_LENGTH_DIGITS {
            return Err(DecodeError::InvalidLength);
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(usize::from(digit)))
            .ok_or(DecodeError::InvalidLength)?;
        count += 1;
    }
    if count == 0 {
        return Err(DecodeError::InvalidLength);
    }
    Ok(value)
}

/// Encodes packets into a text polling payload; binary data goes as base64. No packets give
/// `0:`.
pub fn encode_payload(packets: &[Packet]) -> String {
    if packets.is_empty() {
        return "0:".to_owned();
    }
    let mut out = String::new();
    let mut one = String::new();
    for packet in packets {
        one.clear();
        write_packet(packet, &mut one);
        // Writing to a String cannot fail.
        let _ = write!(out, "{}:{one}", one.encode_utf16().count());
    }
    out
}

/// Decodes a binary (XHR2) polling payload. Text packets must be UTF-8 and may themselves be
/// base64 packets; binary ones start with their type byte. An empty body holds no packets. The
/// whole payload is refused if any part is malformed.
pub fn decode_binary_payload(body: Bytes) -> Result<Vec<Packet>, DecodeError> {
    let mut packets = Vec::new();
    let mut pos = 0;
    while let Some(&flag) = body.get(pos) {
        let is_text = match flag {
            0 => true,
            1 => false,
            _ => return Err(DecodeError::UnknownType),
        };
        let digits_start = pos + 1;
        let digits_len = body
            .get(digits_start..)
            .unwrap_or_default()
            .iter()
            .take(MAX_LENGTH_DIGITS + 1)
            .position(|&b| b == LENGTH_END)
            .ok_or(DecodeError::InvalidLength)?;
        let len = parse_decimal(
            body.get(digits_start..digits_start + digits_len)
                .unwrap_or_default()
                .iter()
                .copied(),
        )?;
        let start = digits_start + digits_len + 1;
        let end = start
            .checked_add(len)
            .filter(|&end| end <= body.len())
            .ok_or(DecodeError::InvalidLength)?;
        let data = body.slice(start..end);
        packets.push(if is_text {
            decode_packet(data)?
        } else {
            decode_binary_frame(data)?
        });
        pos = end;
    }
    Ok(packets)
}

/// Encodes packets into a binary (XHR2) polling payload: binary messages as binary packets,
/// everything else as text.
pub fn encode_binary_payload(packets: &[Packet]) -> Bytes {
    let mut out = BytesMut::new();
    let mut text = String::new();
    for packet in packets {
        let (flag, data): (u8, &[u8]) = match packet {
            Packet::Message(Message::Binary(data)) => (1, data),
            other => {
                text.clear();
                write_packet(other, &mut text);
                (0, text.as_bytes())
            }
        };
        let binary = flag == 1;
        let len = data.len() + usize::from(binary);
        out.put_u8(flag);
        for digit in len.to_string().bytes() {
            out.put_u8(digit - b'0');
        }
        out.put_u8(LENGTH_END);
        if binary {
            out.put_u8(MESSAGE);
        }
        out.put_slice(data);
    }
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Str;
    use proptest::prelude::*;

    fn bytes(b: &'static [u8]) -> Bytes {
        Bytes::from_static(b)
    }

    fn text(s: &'static str) -> Packet {
        Packet::Message(Message::Text(Str::from(s)))
    }

    fn binary(b: &'static [u8]) -> Packet {
        Packet::Message(Message::Binary(bytes(b)))
    }

    #[test]
    fn text_packets_decode_as_in_v4() {
        assert_eq!(
            decode_packet(bytes(b"2probe")),
            Ok(Packet::Ping(bytes(b"probe")))
        );
        assert_eq!(
            decode_packet(bytes(b"3probe")),
            Ok(Packet::Pong(bytes(b"probe")))
        );
        assert_eq!(decode_packet(bytes(b"4HelloWorld")), Ok(text("HelloWorld")));
        assert_eq!(decode_packet(bytes(b"5")), Ok(Packet::Upgrade));
        assert_eq!(decode_packet(bytes(b"6")), Ok(Packet::Noop));
        assert_eq!(decode_packet(Bytes::new()), Err(DecodeError::Empty));
        assert_eq!(decode_packet(bytes(b"7")), Err(DecodeError::UnknownType));
        assert_eq!(
            decode_packet(bytes(b"4\xff")),
            Err(DecodeError::InvalidUtf8)
        );
    }

    #[test]
    fn base64_packets_carry_their_type_after_the_b() {
        assert_eq!(decode_packet(bytes(b"b4AQI=")), Ok(binary(&[1, 2])));
        assert_eq!(
            decode_packet(bytes(b"b4AQIDBA==")),
            Ok(binary(&[1, 2, 3, 4]))
        );
        assert_eq!(
            decode_packet(bytes(b"b2AQI=")),
            Ok(Packet::Ping(bytes(&[1, 2])))
        );
        assert_eq!(decode_packet(bytes(b"b4")), Ok(binary(&[])));
        assert_eq!(decode_packet(bytes(b"b")), Err(DecodeError::UnknownType));
        assert_eq!(
            decode_packet(bytes(b"bAQI=")),
            Err(DecodeError::UnknownType)
        );
        assert_eq!(
            decode_packet(bytes(b"b7AQI=")),
            Err(DecodeError::UnknownType)
        );
        assert_eq!(
            decode_packet(bytes(b"b4!!")),
            Err(DecodeError::InvalidBase64)
        );
        assert_eq!(encode_packet(&binary(&[1, 2])), "b4AQI=");
    }

    #[test]
    fn binary_frames_start_with_the_type_byte() {
        // The spec's example: a message holding the bytes 0 to 5.
        let frame = bytes(&[4, 0, 1, 2, 3, 4, 5]);
        assert_eq!(
            decode_binary_frame(frame.clone()),
            Ok(binary(&[0, 1, 2, 3, 4, 5]))
        );
        assert_eq!(encode_binary_frame(&[0, 1, 2, 3, 4, 5]), frame);
        assert_eq!(
            decode_binary_frame(bytes(&[2, 9])),
            Ok(Packet::Ping(bytes(&[9])))
        );
        assert_eq!(decode_binary_frame(bytes(&[6, 9])), Ok(Packet::Noop));
        assert_eq!(decode_binary_frame(Bytes::new()), Err(DecodeError::Empty));
        assert_eq!(
            decode_binary_frame(bytes(&[7])),
            Err(DecodeError::UnknownType)
        );
        assert_eq!(
            decode_binary_frame(bytes(b"4a")),
            Err(DecodeError::UnknownType)
        );
    }

    #[test]
    fn text_payload_lengths_count_utf16_units() {
        let payload = "6:4hello2:4€";
        let packets = vec![text("hello"), text("€")];
        assert_eq!(decode_payload(Bytes::from(payload)), Ok(packets.clone()));
        assert_eq!(encode_payload(&packets), payload);
        // An astral character is two UTF-16 units.
        assert_eq!(decode_payload(Bytes::from("3:4😀")), Ok(vec![text("😀")]));
        assert_eq!(encode_payload(&[text("😀")]), "3:4😀");
        // A length that ends inside the surrogate pair.
        assert_eq!(
            decode_payload(Bytes::from("2:4😀")),
            Err(DecodeError::InvalidLength)
        );
    }

    #[test]
    fn text_payload_with_base64_binary() {
        let payload = "2:4€10:b4AQIDBA==";
        let packets = vec![text("€"), binary(&[1, 2, 3, 4])];
        assert_eq!(decode_payload(Bytes::from(payload)), Ok(packets.clone()));
        assert_eq!(encode_payload(&packets), payload);
        assert_eq!(
            decode_payload(bytes(b"6:b4AQI=")),
            Ok(vec![binary(&[1, 2])])
        );
    }

    #[test]
    fn empty_text_payload_is_zero_colon() {
        assert_eq!(encode_payload(&[]), "0:");
        assert_eq!(decode_payload(bytes(b"0:")), Ok(vec![]));
        assert_eq!(decode_payload(bytes(b"0:1:6")), Ok(vec![Packet::Noop]));
        assert_eq!(decode_payload(Bytes::new()), Err(DecodeError::Empty));
    }

    #[test]
    fn malformed_text_payloads_are_refused() {
        for bad in [
            &b"6"[..],
            b":4",
            b"x:4",
            b"7:4hello",
            b"6:4hello2",
            b"6:4hello1:",
            b"18446744073709551616:4",
            b"00000000001:4",
            b"1:7",
            b"2:b4!",
            b"2:4\xff",
        ] {
            assert!(decode_payload(Bytes::from_static(bad)).is_err(), "{bad:?}");
        }
        assert_eq!(
            decode_payload(bytes(b"0000000001:6")),
            Ok(vec![Packet::Noop])
        );
    }

    #[test]
    fn handshake_payload_decodes() {
        let open = r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000,"maxPayload":1000000}"#;
        let payload = format!("{}:{open}", open.len());
        assert!(payload.starts_with("117:0{"));
        assert_eq!(decode_payload(Bytes::from(payload)), Ok(vec![Packet::Open]));
    }

    #[test]
    fn binary_payload_of_the_spec() {
        // The spec's text part: `00 04 ff 34 e2 82 ac` is a message "€", its length in bytes.
        let text_part: &[u8] = &[0x00, 0x04, 0xff, 0x34, 0xe2, 0x82, 0xac];
        // The spec leaves out the type byte of the binary part (`01 04 ff 01 02 03 04`); the
        // parser writes it, so the real bytes are `01 05 ff 04 01 02 03 04`.
        let binary_part: &[u8] = &[0x01, 0x05, 0xff, 0x04, 0x01, 0x02, 0x03, 0x04];
        let body = Bytes::from([text_part, binary_part].concat());
        let packets = vec![text("€"), binary(&[1, 2, 3, 4])];
        assert_eq!(decode_binary_payload(body.clone()), Ok(packets.clone()));
        assert_eq!(encode_binary_payload(&packets), body);
        // Read as written in the spec, the binary part is a close packet with data.
        let as_written =
            Bytes::from([text_part, &[0x01, 0x04, 0xff, 0x01, 0x02, 0x03, 0x04]].concat());
        assert_eq!(
            decode_binary_payload(as_written),
            Ok(vec![text("€"), Packet::Close])
        );
    }

    #[test]
    fn binary_payload_lengths_have_several_digits() {
        let data = [7u8; 12];
        let body = encode_binary_payload(&[Packet::Message(Message::Binary(
            Bytes::copy_from_slice(&data),
        ))]);
        assert_eq!(body.get(..4), Some(&[1, 1, 3, 0xff][..]));
        assert_eq!(
            decode_binary_payload(body),
            Ok(vec![Packet::Message(Message::Binary(
                Bytes::copy_from_slice(&data)
            ))])
        );
        assert_eq!(encode_binary_payload(&[]), Bytes::new());
        assert_eq!(decode_binary_payload(Bytes::new()), Ok(vec![]));
    }

    #[test]
    fn malformed_binary_payloads_are_refused() {
        for bad in [
            &[2u8, 1, 0xff, b'6'][..],
            &[0, 0xff, b'6'],
            &[0, 1],
            &[0, 10, 0xff, b'6'],
            &[0, 2, 0xff, b'6'],
            &[0, 1, 0xff, b'7'],
            &[0, 1, 0xff, 0xff],
            &[1, 0, 0xff],
            &[1, 1, 0xff, 9],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, b'6'],
            &[1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 0xff, 4],
        ] {
            assert!(
                decode_binary_payload(Bytes::copy_from_slice(bad)).is_err(),
                "{bad:?}"
            );
        }
    }

    fn packet_strategy() -> impl Strategy<Value = Packet> {
        let data = || proptest::collection::vec(any::<u8>(), 0..32).prop_map(Bytes::from);
        prop_oneof![
            Just(Packet::Open),
            Just(Packet::Close),
            data().prop_map(Packet::Ping),
            data().prop_map(Packet::Pong),
            any::<String>().prop_map(|s| Packet::Message(Message::from(s))),
            data().prop_map(|b| Packet::Message(Message::Binary(b))),
            Just(Packet::Upgrade),
            Just(Packet::Noop),
        ]
    }

    proptest! {
        #[test]
        fn packets_round_trip(packet in packet_strategy()) {
            let encoded = encode_packet(&packet);
            prop_assert_eq!(decode_packet(Bytes::from(encoded)), Ok(packet));
        }

        #[test]
        fn binary_frames_round_trip(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let frame = encode_binary_frame(&data);
            prop_assert_eq!(
                decode_binary_frame(frame),
                Ok(Packet::Message(Message::Binary(Bytes::from(data))))
            );
        }

        #[test]
        fn payloads_round_trip(packets in proptest::collection::vec(packet_strategy(), 0..8)) {
            let text = encode_payload(&packets);
            prop_assert_eq!(decode_payload(Bytes::from(text)), Ok(packets.clone()));
            let binary = encode_binary_payload(&packets);
            prop_assert_eq!(decode_binary_payload(binary), Ok(packets));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let body = Bytes::from(body);
            let _ = decode_packet(body.clone());
            let _ = decode_binary_frame(body.clone());
            let _ = decode_payload(body.clone());
            let _ = decode_binary_payload(body);
        }

        #[test]
        fn decoding_payload_shaped_text_never_panics(s in "([0-9]{0,3}:[0-6b]?[a-zA-Z0-9€😀=]{0,6}){0,6}") {
            let _ = decode_payload(Bytes::from(s.clone()));
            let _ = decode_binary_payload(Bytes::from(s));
        }
    }
}
