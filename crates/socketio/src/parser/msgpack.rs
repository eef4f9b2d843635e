//! The msgpack parser, wire-compatible with npm `socket.io-msgpack-parser`: each packet is one
//! binary Engine.IO message holding the msgpack map `{type, data, nsp, id}` (`data` and `id`
//! only when present); binary is msgpack `bin`, so there are no attachments.

use bytes::Bytes;
use serde::Serialize;
use smol_str::SmolStr;

use super::{Decoder, Encoded, Parser};
use crate::validate::{self, check_namespace};
use crate::{
    DecodeError, EncodeError, MAIN_NAMESPACE, Map, Packet, PacketType, Payload, Value, to_value,
};

/// Deepest nesting of arrays and maps accepted in a packet's data (the same bound serde_json
/// applies to JSON), so that decoding and dropping a value cannot exhaust the stack.
const MAX_DEPTH: usize = 128;

/// The bound handed to rmpv, which counts two levels per array or map and up to three for the
/// value at the bottom (a string costs two more than an integer): enough for the packet's map
/// around `MAX_DEPTH` levels of data, whatever is at the bottom. The nesting itself is checked
/// by [`from_msgpack`], so that the limit does not depend on the type of the innermost values
/// (an integer map key deep down comes back as a string once the packet is encoded again).
const RMPV_MAX_DEPTH: usize = 2 * (MAX_DEPTH + 1) + 3;

/// The msgpack parser (npm `socket.io-msgpack-parser`).
///
/// ```
/// use socketio::{Decoder, MsgpackParser, Parser, Value};
///
/// let parser = MsgpackParser::default();
/// let enc = parser.encode_event("/", "file", &(bytes::Bytes::from_static(b"\x01\x02"),), None).unwrap();
/// assert!(enc.text_with_prefix().is_none());
/// let packet = parser.decoder().decode_binary(enc.binaries()[0].clone()).unwrap().unwrap();
/// assert_eq!(packet.arg::<Value>(0).unwrap(), Value::from(vec![1u8, 2]));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MsgpackParser;

impl MsgpackParser {
    /// The parser.
    pub fn new() -> MsgpackParser {
        MsgpackParser
    }
}

/// The packet as socket.io writes it; struct fields become map keys (`with_struct_map`).
#[derive(Serialize)]
struct WirePacket<'a, D: Serialize + ?Sized> {
    #[serde(rename = "type")]
    kind: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a D>,
    nsp: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
}

fn write<D: Serialize + ?Sized>(
    kind: PacketType,
    nsp: &str,
    id: Option<u64>,
    data: Option<&D>,
) -> Result<Encoded, EncodeError> {
    if !check_namespace(nsp) {
        return Err(EncodeError::InvalidNamespace);
    }
    let packet = WirePacket {
        kind: kind.as_u8(),
        data,
        nsp,
        id,
    };
    let mut buf = Vec::with_capacity(64);
    packet
        .serialize(&mut rmp_serde::Serializer::new(&mut buf).with_struct_map())
        .map_err(|e| EncodeError::Serialize(Box::new(e)))?;
    Ok(Encoded::binary(Bytes::from(buf)))
}

/// Converts typed arguments into values, checking that they form a sequence.
fn args_to_values<T: Serialize + ?Sized>(args: &T) -> Result<Vec<Value>, EncodeError> {
    match to_value(args)? {
        Value::Array(items) => Ok(items),
        // `()`: no arguments.
        Value::Null => Ok(Vec::new()),
        _ => Err(EncodeError::ArgsNotASequence),
    }
}

impl Parser for MsgpackParser {
    type Decoder = MsgpackDecoder;

    fn decoder(&self) -> MsgpackDecoder {
        MsgpackDecoder
    }

    fn encode(&self, packet: &Packet) -> Result<Encoded, EncodeError> {
        let (kind, nsp, id) = (packet.kind(), packet.nsp().as_str(), packet.id());
        match packet.payload() {
            None => write::<Value>(kind, nsp, id, None),
            Some(Payload::Value(v)) => write(kind, nsp, id, Some(v)),
            // Raw JSON holds no binary; its tree is what goes into the map.
            Some(Payload::Json(raw)) => {
                let value: Value = raw.deserialize()?;
                write(kind, nsp, id, Some(&value))
            }
        }
    }

    // Arguments go through a `Value` so the event name can lead the array; a direct writer
    // would save that tree if msgpack ever shows up in profiles.
    fn encode_event<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        event: &str,
        args: &T,
        id: Option<u64>,
    ) -> Result<Encoded, EncodeError> {
        let mut items = args_to_values(args)?;
        items.insert(0, Value::from(event));
        write(PacketType::Event, nsp, id, Some(&Value::Array(items)))
    }

    fn encode_ack<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        id: u64,
        args: &T,
    ) -> Result<Encoded, EncodeError> {
        let items = args_to_values(args)?;
        write(PacketType::Ack, nsp, Some(id), Some(&Value::Array(items)))
    }
}

/// The decoder of [`MsgpackParser`]; stateless, since every packet is one message.
#[derive(Debug, Default)]
pub struct MsgpackDecoder;

impl Decoder for MsgpackDecoder {
    /// Text is not part of this parser's protocol.
    fn decode_text(&mut self, _text: Bytes) -> Result<Option<Packet>, DecodeError> {
        Err(DecodeError::UnsupportedMessage)
    }

    fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, DecodeError> {
        let mut reader: &[u8] = &data;
        let root = rmpv::decode::read_value_with_max_depth(&mut reader, RMPV_MAX_DEPTH)
            .map_err(|_| DecodeError::InvalidJson)?;
        if !reader.is_empty() {
            // Trailing bytes: notepack refuses them too.
            return Err(DecodeError::InvalidJson);
        }
        let rmpv::Value::Map(fields) = root else {
            return Err(DecodeError::InvalidPayload);
        };
        let (mut kind, mut nsp, mut data, mut id) = (None, None, None, None);
        for (key, value) in fields {
            match key.as_str() {
                Some("type") => kind = Some(value),
                Some("nsp") => nsp = Some(value),
                Some("data") => data = Some(value),
                Some("id") => id = Some(value),
                _ => {}
            }
        }
        // socket.io-msgpack-parser knows types 0–4 only: binary rides inside the data.
        let kind = kind
            .and_then(|k| k.as_u64())
            .and_then(|k| u8::try_from(k).ok())
            .and_then(PacketType::from_u8)
            .filter(|k| !k.is_binary())
            .ok_or(DecodeError::UnknownPacketType)?;
        let nsp = match nsp {
            Some(rmpv::Value::String(s)) => s.into_str().ok_or(DecodeError::InvalidUtf8)?,
            _ => return Err(DecodeError::InvalidNamespace),
        };
        if !check_namespace(&nsp) {
            return Err(DecodeError::InvalidNamespace);
        }
        let nsp = if nsp == MAIN_NAMESPACE {
            SmolStr::new_static(MAIN_NAMESPACE)
        } else {
            SmolStr::from(nsp)
        };
        let id = match id {
            None | Some(rmpv::Value::Nil) => None,
            Some(rmpv::Value::Integer(n)) => Some(n.as_u64().ok_or(DecodeError::InvalidAckId)?),
            // An integral float is an integer to JavaScript.
            Some(rmpv::Value::F64(f)) if f.fract() == 0.0 && (0.0..1.8e19).contains(&f) => {
                Some(f as u64)
            }
            Some(_) => return Err(DecodeError::InvalidAckId),
        };
        // `undefined` (notepack's ext 0) means absent, as for a missing key.
        let data = match data {
            None | Some(rmpv::Value::Ext(..)) => None,
            Some(v) => Some(from_msgpack(v, MAX_DEPTH)?),
        };
        let event = validate::check_value(kind, data.as_ref())?;
        Ok(Some(Packet::from_checked(
            kind,
            nsp,
            id,
            data.map(Payload::Value),
            event,
        )))
    }

    fn is_partial(&self) -> bool {
        false
    }

    fn reset(&mut self) {}
}

/// Converts a decoded msgpack value, `depth` levels of arrays and maps being still allowed.
/// Ext values (notepack writes `undefined` as one) become `Null`; map keys must be strings or
/// integers (JavaScript object keys).
fn from_msgpack(v: rmpv::Value, depth: usize) -> Result<Value, DecodeError> {
    let inner = || depth.checked_sub(1).ok_or(DecodeError::InvalidJson);
    Ok(match v {
        rmpv::Value::Nil | rmpv::Value::Ext(..) => Value::Null,
        rmpv::Value::Boolean(b) => Value::Bool(b),
        rmpv::Value::Integer(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Value::from(u),
            (_, Some(i)) => Value::from(i),
            _ => Value::Null,
        },
        rmpv::Value::F32(f) => Value::from(f),
        rmpv::Value::F64(f) => Value::from(f),
        rmpv::Value::String(s) => Value::String(s.into_str().ok_or(DecodeError::InvalidUtf8)?),
        rmpv::Value::Binary(b) => Value::Binary(Bytes::from(b)),
        rmpv::Value::Array(items) => {
            let depth = inner()?;
            Value::Array(
                items
                    .into_iter()
                    .map(|item| from_msgpack(item, depth))
                    .collect::<Result<_, _>>()?,
            )
        }
        rmpv::Value::Map(entries) => {
            let depth = inner()?;
            let entries = entries
                .into_iter()
                .map(|(k, v)| Ok((map_key(k)?, from_msgpack(v, depth)?)))
                .collect::<Result<Vec<_>, DecodeError>>()?;
            Value::Object(Map::from_received(entries))
        }
    })
}

fn map_key(k: rmpv::Value) -> Result<String, DecodeError> {
    match k {
        rmpv::Value::String(s) => s.into_str().ok_or(DecodeError::InvalidUtf8),
        rmpv::Value::Integer(n) => Ok(n.to_string()),
        _ => Err(DecodeError::InvalidPayload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: Vec<u8>) -> Result<Option<Packet>, DecodeError> {
        MsgpackDecoder.decode_binary(Bytes::from(bytes))
    }

    /// A packet written the way notepack writes socket.io's packet objects.
    fn wire(entries: Vec<(&str, rmpv::Value)>) -> Vec<u8> {
        let map = rmpv::Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (rmpv::Value::from(k), v))
                .collect(),
        );
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, &map).unwrap();
        out
    }

    #[test]
    fn event_with_binary_is_one_message_with_named_keys() {
        let enc = MsgpackParser
            .encode_event("/chat", "up", &(Bytes::from_static(b"\x01"), 2), Some(4))
            .unwrap();
        assert_eq!(enc.message_count(), 1);
        let raw = enc.binaries().first().unwrap();
        let root = rmpv::decode::read_value(&mut &raw[..]).unwrap();
        let keys: Vec<&str> = root
            .as_map()
            .unwrap()
            .iter()
            .filter_map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(keys, ["type", "data", "nsp", "id"]);
        let p = decode(raw.to_vec()).unwrap().unwrap();
        assert_eq!(
            (p.kind(), p.nsp().as_str(), p.id(), p.event_name()),
            (PacketType::Event, "/chat", Some(4), Some("up"))
        );
        assert_eq!(
            p.args::<Vec<Value>>().unwrap(),
            vec![Value::from(vec![1u8]), Value::from(2)]
        );
    }

    #[test]
    fn connect_without_data_omits_the_key() {
        let enc = MsgpackParser.encode(&Packet::connect("/", None)).unwrap();
        let raw = enc.binaries().first().unwrap();
        let root = rmpv::decode::read_value(&mut &raw[..]).unwrap();
        assert_eq!(root.as_map().map(Vec::len), Some(2));
        assert_eq!(
            decode(raw.to_vec()).unwrap().unwrap().kind(),
            PacketType::Connect
        );
    }

    #[test]
    fn notepack_undefined_data_is_absent() {
        let bytes = wire(vec![
            ("type", rmpv::Value::from(1)),
            ("data", rmpv::Value::Ext(0, vec![0])),
            ("nsp", rmpv::Value::from("/")),
        ]);
        assert_eq!(
            decode(bytes).unwrap().unwrap().kind(),
            PacketType::Disconnect
        );
    }

    #[test]
    fn text_messages_are_not_msgpack() {
        assert_eq!(
            MsgpackDecoder.decode_str("2[\"a\"]"),
            Err(DecodeError::UnsupportedMessage)
        );
    }

    #[test]
    fn invalid_packets_are_rejected() {
        let event = |data: rmpv::Value| {
            wire(vec![
                ("type", 2.into()),
                ("data", data),
                ("nsp", "/".into()),
            ])
        };
        assert_eq!(
            decode(event(rmpv::Value::Array(vec!["disconnect".into()]))),
            Err(DecodeError::ReservedEventName)
        );
        assert_eq!(
            decode(event(rmpv::Value::Array(vec![]))),
            Err(DecodeError::InvalidPayload)
        );
        assert_eq!(
            decode(event(rmpv::Value::Map(vec![]))),
            Err(DecodeError::InvalidPayload)
        );
        assert_eq!(
            decode(wire(vec![("type", 5.into()), ("nsp", "/".into())])),
            Err(DecodeError::UnknownPacketType)
        );
        assert_eq!(
            decode(wire(vec![("type", 1.into())])),
            Err(DecodeError::InvalidNamespace)
        );
        assert_eq!(
            decode(wire(vec![
                ("type", 1.into()),
                ("nsp", "/".into()),
                ("id", (-1).into())
            ])),
            Err(DecodeError::InvalidAckId)
        );
        assert_eq!(decode(vec![0x92, 0x01]), Err(DecodeError::InvalidJson));
        assert_eq!(decode(vec![0xc0]), Err(DecodeError::InvalidPayload));
        let mut trailing = wire(vec![("type", 1.into()), ("nsp", "/".into())]);
        trailing.push(0);
        assert_eq!(decode(trailing), Err(DecodeError::InvalidJson));
    }

    #[test]
    fn deep_nesting_is_rejected_without_overflowing_the_stack() {
        let mut bytes = vec![
            0x83, 0xa4, b't', b'y', b'p', b'e', 0x02, 0xa3, b'n', b's', b'p', 0xa1, b'/',
        ];
        bytes.extend_from_slice(&[0xa4, b'd', b'a', b't', b'a']);
        bytes.extend(std::iter::repeat_n(0x91, 100_000));
        bytes.push(0xc0);
        assert_eq!(decode(bytes), Err(DecodeError::InvalidJson));
    }

    #[test]
    fn raw_json_payload_is_sent_as_its_tree() {
        let p = crate::JsonParser::default()
            .decoder()
            .decode_str(r#"2/x,["a",{"b":1}]"#)
            .unwrap()
            .unwrap();
        let enc = MsgpackParser.encode(&p).unwrap();
        let back = decode(enc.binaries().first().unwrap().to_vec())
            .unwrap()
            .unwrap();
        assert_eq!(
            back.payload().unwrap().to_value().unwrap(),
            p.payload().unwrap().to_value().unwrap()
        );
    }
}

#[cfg(test)]
mod depth_tests {
    use super::*;

    /// An ACK whose data is `levels` nested arrays, with `bottom` inside the innermost one.
    fn nested(levels: usize, bottom: rmpv::Value) -> Vec<u8> {
        let mut data = bottom;
        for _ in 0..levels {
            data = rmpv::Value::Array(vec![data]);
        }
        let packet = rmpv::Value::Map(vec![
            (rmpv::Value::from("type"), rmpv::Value::from(3)),
            (rmpv::Value::from("nsp"), rmpv::Value::from("/")),
            (rmpv::Value::from("id"), rmpv::Value::from(1)),
            (rmpv::Value::from("data"), data),
        ]);
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, &packet).unwrap();
        out
    }

    fn decode(bytes: Vec<u8>) -> Result<Option<Packet>, DecodeError> {
        MsgpackDecoder.decode_binary(Bytes::from(bytes))
    }

    /// Found by the `sio_msgpack` fuzz target: rmpv's own depth bound counts a string as two
    /// levels more than an integer, so a packet whose deepest map had an integer key was
    /// accepted, and the same packet encoded again (keys written as strings) refused.
    #[test]
    fn the_nesting_bound_does_not_depend_on_the_innermost_value() {
        let int_key = || rmpv::Value::Map(vec![(rmpv::Value::from(7), rmpv::Value::from(1))]);
        let packet = decode(nested(MAX_DEPTH - 1, int_key())).unwrap().unwrap();
        let parser = MsgpackParser;
        let (_, binaries) = parser.encode(&packet).unwrap().into_parts();
        let again = decode(binaries.concat()).unwrap().unwrap();
        assert_eq!(
            again.payload().map(|p| p.to_value().unwrap()),
            packet.payload().map(|p| p.to_value().unwrap())
        );

        let string = || rmpv::Value::from("deep");
        assert!(decode(nested(MAX_DEPTH, string())).unwrap().is_some());
        assert!(
            decode(nested(MAX_DEPTH, rmpv::Value::from(1)))
                .unwrap()
                .is_some()
        );
        for bottom in [string(), rmpv::Value::from(1), int_key()] {
            assert_eq!(
                decode(nested(MAX_DEPTH + 1, bottom)),
                Err(DecodeError::InvalidJson)
            );
        }
    }
}
