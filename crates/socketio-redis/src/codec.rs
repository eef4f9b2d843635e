//! Encoding of the messages the servers exchange through Redis: MessagePack as `notepack.io`
//! writes it (binary as `bin`, integers in their smallest form, other numbers as float 64) or
//! JSON as `JSON.stringify` writes it (a `Buffer` as `{"type":"Buffer","data":[…]}`).
//! Receivers tell them apart by the first byte, as the Node adapter does.

use bytes::Bytes;
use socketio::{Map, Number, Value};

use crate::config::Encoding;

/// Deepest nesting accepted from Redis, so that decoding cannot exhaust the stack.
const MAX_DEPTH: usize = 128;

/// Why a message could not be read.
#[derive(Debug)]
pub(crate) struct DecodeError(String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Encodes a value with `encoding`.
pub(crate) fn encode(value: &Value, encoding: Encoding) -> Bytes {
    match encoding {
        Encoding::Msgpack => encode_msgpack(value),
        Encoding::Json => encode_json(value),
    }
}

/// Encodes a value as JSON.
pub(crate) fn encode_json(value: &Value) -> Bytes {
    // Writing a `serde_json::Value` into a `Vec` cannot fail.
    Bytes::from(serde_json::to_vec(&to_json(value)).unwrap_or_default())
}

/// Encodes a value as MessagePack.
pub(crate) fn encode_msgpack(value: &Value) -> Bytes {
    let mut buf = Vec::with_capacity(128);
    // Writing into a `Vec` cannot fail.
    let _ = rmpv::encode::write_value(&mut buf, &to_msgpack(value));
    Bytes::from(buf)
}

/// Decodes a message: JSON when it starts with `{` or `[`, MessagePack otherwise (a msgpack
/// map or array never starts with those bytes).
pub(crate) fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
    match bytes.first() {
        Some(b'{' | b'[') => serde_json::from_slice::<serde_json::Value>(bytes)
            .map(Value::from)
            .map_err(|e| DecodeError(e.to_string())),
        Some(_) => {
            let mut reader = bytes;
            let value = rmpv::decode::read_value_with_max_depth(&mut reader, MAX_DEPTH)
                .map_err(|e| DecodeError(e.to_string()))?;
            from_msgpack(value)
        }
        None => Err(DecodeError("empty message".to_owned())),
    }
}

fn to_msgpack(value: &Value) -> rmpv::Value {
    match value {
        Value::Null => rmpv::Value::Nil,
        Value::Bool(b) => rmpv::Value::Boolean(*b),
        Value::Number(n) => number_to_msgpack(n),
        Value::String(s) => rmpv::Value::String(s.as_str().into()),
        Value::Array(items) => rmpv::Value::Array(items.iter().map(to_msgpack).collect()),
        Value::Object(map) => rmpv::Value::Map(
            map.iter()
                .map(|(k, v)| (rmpv::Value::String(k.as_str().into()), to_msgpack(v)))
                .collect(),
        ),
        Value::Binary(b) => rmpv::Value::Binary(b.to_vec()),
    }
}

fn number_to_msgpack(n: &Number) -> rmpv::Value {
    if let Some(u) = n.as_u64() {
        rmpv::Value::from(u)
    } else if let Some(i) = n.as_i64() {
        rmpv::Value::from(i)
    } else {
        let f = n.as_f64().unwrap_or(0.0);
        // notepack writes integral numbers as integers, whatever their origin.
        if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
            rmpv::Value::from(f as i64)
        } else {
            rmpv::Value::F64(f)
        }
    }
}

fn from_msgpack(value: rmpv::Value) -> Result<Value, DecodeError> {
    Ok(match value {
        rmpv::Value::Nil => Value::Null,
        rmpv::Value::Boolean(b) => Value::Bool(b),
        rmpv::Value::Integer(i) => {
            if let Some(u) = i.as_u64() {
                Value::from(u)
            } else if let Some(s) = i.as_i64() {
                Value::from(s)
            } else {
                Value::Null
            }
        }
        rmpv::Value::F32(f) => Value::from(f64::from(f)),
        rmpv::Value::F64(f) => Value::from(f),
        rmpv::Value::String(s) => match s.into_str() {
            Some(s) => Value::String(s),
            None => return Err(DecodeError("a string is not UTF-8".to_owned())),
        },
        rmpv::Value::Binary(b) => Value::Binary(Bytes::from(b)),
        rmpv::Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(from_msgpack)
                .collect::<Result<_, _>>()?,
        ),
        rmpv::Value::Map(entries) => {
            let mut map = Map::with_capacity(entries.len());
            for (k, v) in entries {
                let key = match k {
                    rmpv::Value::String(s) => s.into_str().unwrap_or_default(),
                    other => other.to_string(),
                };
                map.insert(key, from_msgpack(v)?);
            }
            Value::Object(map)
        }
        // notepack writes `undefined` (and dates) as extensions: JavaScript would read
        // `undefined`, JSON `null`.
        rmpv::Value::Ext(..) => Value::Null,
    })
}

/// A value as `JSON.stringify` would write it.
fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => serde_json::Value::Number(n.clone()),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Array(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Object(map) => {
            serde_json::Value::Object(map.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
        Value::Binary(b) => serde_json::json!({
            "type": "Buffer",
            "data": b.iter().map(|x| u64::from(*x)).collect::<Vec<_>>(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msgpack_matches_notepack_for_a_broadcast() {
        // notepack.encode(["abc", {type: 2, data: ["ev", 1, Buffer.from([1])], nsp: "/"}])
        let mut packet = Map::new();
        packet.insert("type", Value::from(2));
        packet.insert(
            "data",
            Value::Array(vec![
                Value::from("ev"),
                Value::from(1),
                Value::Binary(Bytes::from_static(&[1])),
            ]),
        );
        packet.insert("nsp", Value::from("/"));
        let msg = Value::Array(vec![Value::from("abc"), Value::Object(packet)]);
        let bytes = encode_msgpack(&msg);
        let expected: &[u8] = &[
            0x92, 0xa3, b'a', b'b', b'c', 0x83, 0xa4, b't', b'y', b'p', b'e', 0x02, 0xa4, b'd',
            b'a', b't', b'a', 0x93, 0xa2, b'e', b'v', 0x01, 0xc4, 0x01, 0x01, 0xa3, b'n', b's',
            b'p', 0xa1, b'/',
        ];
        assert_eq!(&bytes[..], expected);
        assert_eq!(decode(&bytes).unwrap(), msg);
    }

    #[test]
    fn notepack_undefined_reads_as_null_and_floats_stay_floats() {
        // [undefined, 1.5, -3]
        let bytes: &[u8] = &[
            0x93, 0xd4, 0x00, 0x00, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xfd,
        ];
        assert_eq!(
            decode(bytes).unwrap(),
            Value::Array(vec![Value::Null, Value::from(1.5), Value::from(-3)])
        );
    }

    #[test]
    fn json_is_told_apart_by_its_first_byte_and_buffers_look_like_node_s() {
        let v = decode(br#"{"type":6,"data":["x"]}"#).unwrap();
        assert_eq!(v.get("type"), Some(&Value::from(6)));
        let bin = Value::Array(vec![Value::Binary(Bytes::from_static(&[7, 8]))]);
        let json: serde_json::Value = serde_json::from_slice(&encode_json(&bin)).unwrap();
        assert_eq!(
            json,
            serde_json::json!([{"type": "Buffer", "data": [7, 8]}])
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode(b"").is_err());
        assert!(decode(b"{nope").is_err());
        assert!(decode(&[0xdd, 0xff, 0xff, 0xff, 0xff]).is_err());
        let deep = vec![0x91u8; 10_000];
        assert!(decode(&deep).is_err());
    }
}
