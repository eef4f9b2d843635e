//! [`Payload`]: the data of a packet, kept either as raw JSON text or as a [`Value`] tree; and
//! [`RawJson`], validated JSON text held in shared bytes.

use std::fmt;

use bytes::{Buf, Bytes};
use bytestring::ByteString;
use serde::de::{Deserializer as _, IgnoredAny};

use crate::Value;

/// The data of a packet.
///
/// A received packet without attachments keeps its JSON text as it arrived ([`Payload::Json`],
/// a zero-copy slice of the message), so the application can read it into its own types in one
/// pass and a server can forward it without re-encoding. Packets that had attachments, or that
/// were built from values, hold a [`Value`].
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// Valid JSON text without binary.
    Json(RawJson),
    /// A value tree, possibly holding [`Value::Binary`].
    Value(Value),
}

impl Payload {
    /// Reads the payload into `T` (borrowing strings where `T` allows and the JSON has no escapes).
    pub fn deserialize<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        match self {
            Payload::Json(raw) => raw.deserialize(),
            Payload::Value(v) => T::deserialize(v),
        }
    }

    /// The payload as a [`Value`] (parses raw JSON).
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        match self {
            Payload::Json(raw) => raw.deserialize(),
            Payload::Value(v) => Ok(v.clone()),
        }
    }

    /// The payload as a [`Value`], without copying a tree that is already there.
    pub fn into_value(self) -> Result<Value, serde_json::Error> {
        match self {
            Payload::Json(raw) => raw.deserialize(),
            Payload::Value(v) => Ok(v),
        }
    }

    /// Whether the payload holds binary.
    pub fn has_binary(&self) -> bool {
        match self {
            Payload::Json(_) => false,
            Payload::Value(v) => v.has_binary(),
        }
    }
}

impl From<Value> for Payload {
    fn from(v: Value) -> Self {
        Payload::Value(v)
    }
}

impl From<RawJson> for Payload {
    fn from(raw: RawJson) -> Self {
        Payload::Json(raw)
    }
}

/// One JSON value as text, known to be valid, held in shared bytes (cloning is cheap). A
/// received packet's JSON is the end of the message's text, the header before it left in place.
#[derive(Clone)]
pub struct RawJson {
    text: ByteString,
    /// Where the JSON starts in `text` (after ASCII bytes).
    start: usize,
}

impl RawJson {
    /// Checks that `bytes` hold exactly one JSON value (surrounding whitespace allowed), in
    /// UTF-8 (serde_json alone would let invalid UTF-8 inside a string through).
    pub fn from_bytes(bytes: Bytes) -> Result<RawJson, serde_json::Error> {
        let text = ByteString::try_from(bytes)
            .map_err(|_| <serde_json::Error as serde::de::Error>::custom("invalid UTF-8"))?;
        let mut de = serde_json::Deserializer::from_str(&text);
        de.deserialize_ignored_any(IgnoredAny)?;
        de.end()?;
        Ok(RawJson { text, start: 0 })
    }

    /// Serializes `value` to JSON. Byte buffers become arrays of numbers here; use a [`Value`]
    /// payload to send binary as attachments.
    pub fn from_serialize<T: serde::Serialize + ?Sized>(
        value: &T,
    ) -> Result<RawJson, serde_json::Error> {
        crate::json_text::to_string(value).map(|v| RawJson {
            text: ByteString::from(v),
            start: 0,
        })
    }

    /// The end of `text` from `start` (a character boundary), which the caller has checked.
    pub(crate) fn from_checked(text: ByteString, start: usize) -> RawJson {
        debug_assert!(text.is_char_boundary(start));
        RawJson { text, start }
    }

    /// The JSON text as bytes (UTF-8).
    pub fn as_bytes(&self) -> &[u8] {
        self.as_str().as_bytes()
    }

    /// The JSON text as shared bytes.
    pub fn into_bytes(self) -> Bytes {
        let mut bytes = self.text.into_bytes();
        bytes.advance(self.start.min(bytes.len()));
        bytes
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.text.get(self.start..).unwrap_or_default()
    }

    /// Reads the JSON into `T`.
    pub fn deserialize<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.as_str())
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &RawJson) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RawJson {}

impl std::hash::Hash for RawJson {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl std::str::FromStr for RawJson {
    type Err = serde_json::Error;

    /// Checks and copies `text`.
    fn from_str(text: &str) -> Result<RawJson, serde_json::Error> {
        RawJson::from_bytes(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawJson").field(&self.as_str()).finish()
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_json_accepts_one_value_and_rejects_garbage() {
        assert!(r#" {"a":[1,2]} "#.parse::<RawJson>().is_ok());
        assert!("[1,".parse::<RawJson>().is_err());
        assert!("1 2".parse::<RawJson>().is_err());
        assert!("".parse::<RawJson>().is_err());
    }

    #[test]
    fn raw_json_from_bytes_must_be_utf8() {
        assert!(RawJson::from_bytes(Bytes::from_static(b"[\"\xc3\xa9\"]")).is_ok());
        assert!(RawJson::from_bytes(Bytes::from_static(b"[\"\xff\"]")).is_err());
    }

    #[test]
    fn json_payload_reads_into_value_and_types() {
        let p = Payload::Json(r#"{"n":1}"#.parse::<RawJson>().unwrap());
        assert_eq!(p.to_value().unwrap().get("n"), Some(&Value::from(1)));
        #[derive(serde::Deserialize)]
        struct N {
            n: u8,
        }
        assert_eq!(p.deserialize::<N>().unwrap().n, 1);
    }
}
