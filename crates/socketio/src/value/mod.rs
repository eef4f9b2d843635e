//! [`Value`]: an untyped Socket.IO argument, JSON plus binary.
//!
//! Socket.IO arguments are JSON values in which any position may hold a binary buffer (sent as
//! an attachment). `serde_json::Value` has no place for binary, so this crate has its own value
//! type. It is what the decoder yields for packets that carried attachments, and what an
//! application uses when it does not want a typed argument.

pub(crate) mod de;
pub(crate) mod lent;
mod map;
mod ser;

use std::borrow::Cow;

use bytes::Bytes;
pub use map::Map;
pub use ser::to_value;
pub use serde_json::Number;

/// An untyped Socket.IO argument: any JSON value, or a binary buffer.
///
/// Objects keep the order in which their keys were inserted (or received), so a value that is
/// decoded and sent again goes out as it came in.
///
/// `Value` implements `Serialize` and `Deserialize`; `&Value` implements `Deserializer`, so a
/// typed argument can be read out of it with `T::deserialize(&value)` (or [`from_value`]).
/// Binary is serialized with `serialize_bytes`, and deserializes from `visit_bytes`; it can also be
/// read as a sequence of `u8` (for a `Vec<u8>` field).
///
/// ```
/// use socketio::Value;
///
/// let v = Value::from(vec![Value::from("hello"), Value::from(bytes::Bytes::from_static(b"\x01"))]);
/// assert!(v.has_binary());
/// assert_eq!(v.as_array().and_then(|a| a.first()).and_then(Value::as_str), Some("hello"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// JSON `null` (also what JavaScript's `undefined` becomes on the wire).
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A number (integer or finite float).
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, in insertion order.
    Object(Map),
    /// A binary buffer, sent as a Socket.IO attachment.
    Binary(Bytes),
}

/// Reads a typed value out of a [`Value`] (borrowing strings and bytes where `T` allows).
///
/// ```
/// use socketio::{Value, value::from_value};
///
/// let v = Value::from(vec![Value::from(1), Value::from("a")]);
/// let (n, s): (u32, String) = from_value(&v).unwrap();
/// assert_eq!((n, s.as_str()), (1, "a"));
/// ```
pub fn from_value<'a, T: serde::Deserialize<'a>>(value: &'a Value) -> Result<T, serde_json::Error> {
    T::deserialize(value)
}

impl Value {
    /// Whether this is `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The boolean, if this is a `Bool`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, if this is a `Number`.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The number as `u64`, if this is a non-negative integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_number().and_then(Number::as_u64)
    }

    /// The number as `i64`, if this is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }

    /// The number as `f64`, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().and_then(Number::as_f64)
    }

    /// The string, if this is a `String`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The elements, if this is an `Array`.
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The elements, mutably, if this is an `Array`.
    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The map, if this is an `Object`.
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The map, mutably, if this is an `Object`.
    pub fn as_object_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The buffer, if this is `Binary`.
    pub fn as_binary(&self) -> Option<&Bytes> {
        match self {
            Value::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// The value under `key`, if this is an `Object` that has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|m| m.get(key))
    }

    /// The element at `index`, if this is an `Array` that long.
    pub fn get_index(&self, index: usize) -> Option<&Value> {
        self.as_array().and_then(|a| a.get(index))
    }

    /// Whether a `Binary` occurs anywhere in this value; such a value is sent with attachments.
    pub fn has_binary(&self) -> bool {
        match self {
            Value::Binary(_) => true,
            Value::Array(a) => a.iter().any(Value::has_binary),
            Value::Object(m) => m.values().any(Value::has_binary),
            _ => false,
        }
    }

    /// Takes the value out, leaving `Null`.
    pub fn take(&mut self) -> Value {
        std::mem::take(self)
    }

    /// Builds a number value from a float; non-finite floats become `Null`, as in
    /// `JSON.stringify`.
    fn from_f64(f: f64) -> Value {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

macro_rules! from_integer {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Self {
                Value::Number(Number::from(n))
            }
        }
    )*};
}
from_integer!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl From<f32> for Value {
    /// Non-finite floats become `Null`, as in `JSON.stringify`.
    fn from(f: f32) -> Self {
        Value::from_f64(f64::from(f))
    }
}

impl From<f64> for Value {
    /// Non-finite floats become `Null`, as in `JSON.stringify`.
    fn from(f: f64) -> Self {
        Value::from_f64(f)
    }
}

impl From<Number> for Value {
    fn from(n: Number) -> Self {
        Value::Number(n)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<Cow<'_, str>> for Value {
    fn from(s: Cow<'_, str>) -> Self {
        Value::String(s.into_owned())
    }
}

impl From<Vec<Value>> for Value {
    fn from(a: Vec<Value>) -> Self {
        Value::Array(a)
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Object(m)
    }
}

impl From<Bytes> for Value {
    fn from(b: Bytes) -> Self {
        Value::Binary(b)
    }
}

impl From<Vec<u8>> for Value {
    /// A byte vector is binary (an attachment), not an array of numbers.
    fn from(b: Vec<u8>) -> Self {
        Value::Binary(Bytes::from(b))
    }
}

impl From<&[u8]> for Value {
    /// A byte slice is copied into a binary value (an attachment).
    fn from(b: &[u8]) -> Self {
        Value::Binary(Bytes::copy_from_slice(b))
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    /// `None` is `Null`.
    fn from(o: Option<T>) -> Self {
        o.map_or(Value::Null, Into::into)
    }
}

impl From<()> for Value {
    fn from((): ()) -> Self {
        Value::Null
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => Value::Array(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl FromIterator<Value> for Value {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Self {
        Value::Array(iter.into_iter().collect())
    }
}

impl<K: Into<String>> FromIterator<(K, Value)> for Value {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        Value::Object(iter.into_iter().collect())
    }
}

impl PartialEq<str> for Value {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

impl PartialEq<&str> for Value {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) => n.serialize(serializer),
            Value::String(s) => serializer.serialize_str(s),
            Value::Array(a) => {
                let mut seq = serializer.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Object(m) => {
                let mut map = serializer.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            // The placeholder encoder turns this call into `{"_placeholder":true,"num":N}`;
            // other serializers write bytes their own way (msgpack: `bin`).
            // Lent, so that our own serializers take the bytes instead of copying them.
            Value::Binary(b) => lent::lend(b, || serializer.serialize_bytes(b)),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor { marks: NoMarks })
    }
}

/// A seed that reads a [`Value`] the way `Value::deserialize` does, except that objects which
/// are exactly a placeholder of a binary packet, `{"_placeholder":true,"num":N}` with those two
/// keys in that order and an integer `N` below `marks`, are read as the mark of attachment `N`
/// ([`binary::mark`](crate::parser::binary)) instead of as an object. Every other object,
/// placeholders written any other way included, is read as an object.
pub(crate) fn marking_seed<'de>(
    marks: usize,
) -> impl serde::de::DeserializeSeed<'de, Value = Value> {
    ValueVisitor { marks }
}

/// How many attachments placeholders may be read as marks of: a number, or none at all for a
/// plain [`Value`] (whose reading then compiles to no test of it).
trait Marks: Copy {
    fn get(self) -> usize;
}

/// Placeholders are objects.
#[derive(Clone, Copy)]
struct NoMarks;

impl Marks for NoMarks {
    #[inline(always)]
    fn get(self) -> usize {
        0
    }
}

impl Marks for usize {
    fn get(self) -> usize {
        self
    }
}

/// Builds a [`Value`] from whatever a self-describing format reports; with marks, placeholders
/// are read as [`marking_seed`] says.
#[derive(Clone, Copy)]
struct ValueVisitor<M> {
    marks: M,
}

/// The elements of an array or the values of an object, read the way their container is.
impl<'de, M: Marks> serde::de::DeserializeSeed<'de> for ValueVisitor<M> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// An object key, borrowed from the input when the format allows, so that a placeholder's keys
/// are compared without being copied.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }

    fn into_string(self) -> String {
        match self {
            Key::Borrowed(s) => s.to_owned(),
            Key::Owned(s) => s,
        }
    }
}

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> serde::de::Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(s))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(s))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de, M: Marks> serde::de::Visitor<'de> for ValueVisitor<M> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value or binary")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_i128<E>(self, n: i128) -> Result<Value, E> {
        // Beyond 64 bits JavaScript holds a float anyway.
        Ok(i64::try_from(n).map_or_else(|_| Value::from_f64(n as f64), Value::from))
    }

    fn visit_u128<E>(self, n: u128) -> Result<Value, E> {
        Ok(u64::try_from(n).map_or_else(|_| Value::from_f64(n as f64), Value::from))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::from_f64(f))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_bytes<E>(self, b: &[u8]) -> Result<Value, E> {
        Ok(Value::Binary(lent::take_or_copy(b)))
    }

    fn visit_byte_buf<E>(self, b: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Binary(Bytes::from(b)))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        // The size hint comes from the peer: cap it so a lying hint cannot reserve memory.
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut entries = Vec::with_capacity(access.size_hint().unwrap_or(0).min(64));
        let marks = self.marks.get();
        if marks == 0 {
            while let Some(entry) = access.next_entry::<String, Value>()? {
                entries.push(entry);
            }
            return Ok(Value::Object(Map::from_received(entries)));
        }
        // How much of a placeholder was read, in order, and not yet put in `entries`: 1 once
        // `"_placeholder":true` was, 2 once `"num":N` followed.
        let mut held = 0;
        let mut num = 0;
        while let Some(key) = access.next_key::<Key<'de>>()? {
            let value = access.next_value_seed(self)?;
            if entries.is_empty() {
                match (held, key.as_str(), &value) {
                    (0, "_placeholder", Value::Bool(true)) => {
                        held = 1;
                        continue;
                    }
                    (1, "num", Value::Number(n)) => {
                        if let Some(n) = n.as_u64().and_then(|n| usize::try_from(n).ok())
                            && n < marks
                        {
                            held = 2;
                            num = n;
                            continue;
                        }
                    }
                    _ => {}
                }
                put_back_placeholder(&mut entries, held, num);
            }
            entries.push((key.into_string(), value));
        }
        if held == 2
            && entries.is_empty()
            && let Some(mark) = crate::parser::binary::mark(num)
        {
            return Ok(mark);
        }
        if entries.is_empty() {
            put_back_placeholder(&mut entries, held, num);
        }
        Ok(Value::Object(Map::from_received(entries)))
    }
}

/// Puts the entries of a placeholder that [`ValueVisitor::visit_map`] held back (`held` of
/// them) into `entries`, once the object turned out not to be exactly a placeholder. They are
/// the values that were read: `true`, and the integer `num`.
fn put_back_placeholder(entries: &mut Vec<(String, Value)>, held: usize, num: usize) {
    if held >= 1 {
        entries.push(("_placeholder".to_owned(), Value::Bool(true)));
    }
    if held >= 2 {
        entries.push(("num".to_owned(), Value::from(num as u64)));
    }
}
