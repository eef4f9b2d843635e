//! Binary attachments of the JSON parser (socket.io-parser's `binary.ts` behaviour):
//!
//! * encoding: every binary value becomes `{"_placeholder":true,"num":N}`, numbered depth-first
//!   in array and key order, and the buffers travel as separate Engine.IO binary messages;
//! * decoding: placeholders are checked against the announced attachment count
//!   (CVE-2022-2421) and, once all attachments arrived, replaced by [`Value::Binary`] in place.

use std::cell::Cell;

use bytes::Bytes;
use serde::ser::{self, Serialize, Serializer};
use smol_str::SmolStr;

use crate::{DecodeError, Map, Packet, PacketType, Payload, Value};

// ---------------------------------------------------------------------------------------------
// Encoding

/// Where the placeholder serializer records binary values.
///
/// Interior mutability because serde hands nested values out by shared reference; a `Cell` is
/// enough (no borrow is ever held across a call), and it cannot panic.
pub(crate) struct Sink {
    /// Copies of the buffers met while serializing (only in collecting mode).
    collected: Cell<Vec<Bytes>>,
    /// Placeholders written so far: the `num` of the next one.
    next: Cell<usize>,
    /// Whether to copy the buffers: `false` when the caller gathered them beforehand, without
    /// copying, with [`collect_binaries`].
    copy: bool,
}

impl Sink {
    /// A sink that copies each buffer (for arbitrary `Serialize` types, whose bytes serde only
    /// lends).
    pub(crate) fn collecting() -> Sink {
        Sink {
            collected: Cell::new(Vec::new()),
            next: Cell::new(0),
            copy: true,
        }
    }

    /// A sink that only numbers the placeholders, for a [`Value`] whose buffers were gathered
    /// with [`collect_binaries`] (in the same order serialization visits them).
    pub(crate) fn counting() -> Sink {
        Sink {
            collected: Cell::new(Vec::new()),
            next: Cell::new(0),
            copy: false,
        }
    }

    /// Number of placeholders written.
    pub(crate) fn count(&self) -> usize {
        self.next.get()
    }

    /// The copied buffers, in placeholder order.
    pub(crate) fn into_collected(self) -> Vec<Bytes> {
        self.collected.into_inner()
    }

    fn record(&self, bytes: &[u8]) -> usize {
        let num = self.next.get();
        self.next.set(num + 1);
        if self.copy {
            let mut collected = self.collected.take();
            collected.push(crate::value::lent::take_or_copy(bytes));
            self.collected.set(collected);
        }
        num
    }
}

/// Serializes `value` with binary replaced by placeholders recorded in `sink`.
pub(crate) struct WithPlaceholders<'s, T: ?Sized> {
    pub(crate) value: &'s T,
    pub(crate) sink: &'s Sink,
}

impl<T: Serialize + ?Sized> Serialize for WithPlaceholders<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(PlaceholderSerializer {
            inner: serializer,
            sink: self.sink,
        })
    }
}

/// Any serializer, except that `serialize_bytes` writes a placeholder. Every nested value is
/// wrapped again, so binary is found at any depth.
struct PlaceholderSerializer<'s, S> {
    inner: S,
    sink: &'s Sink,
}

/// The placeholder object, in the key order socket.io writes it.
#[derive(serde::Serialize)]
struct Placeholder {
    _placeholder: bool,
    num: usize,
}

macro_rules! forward_scalars {
    ($($method:ident: $t:ty),*) => {$(
        fn $method(self, v: $t) -> Result<S::Ok, S::Error> {
            self.inner.$method(v)
        }
    )*};
}

impl<'s, S: Serializer> Serializer for PlaceholderSerializer<'s, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Compound<'s, S::SerializeSeq>;
    type SerializeTuple = Compound<'s, S::SerializeTuple>;
    type SerializeTupleStruct = Compound<'s, S::SerializeTupleStruct>;
    type SerializeTupleVariant = Compound<'s, S::SerializeTupleVariant>;
    type SerializeMap = Compound<'s, S::SerializeMap>;
    type SerializeStruct = Compound<'s, S::SerializeStruct>;
    type SerializeStructVariant = Compound<'s, S::SerializeStructVariant>;

    forward_scalars!(
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_i128: i128, serialize_u8: u8, serialize_u16: u16,
        serialize_u32: u32, serialize_u64: u64, serialize_u128: u128, serialize_f32: f32,
        serialize_f64: f64, serialize_char: char, serialize_str: &str
    );

    fn serialize_bytes(self, v: &[u8]) -> Result<S::Ok, S::Error> {
        let num = self.sink.record(v);
        Placeholder {
            _placeholder: true,
            num,
        }
        .serialize(self.inner)
    }

    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_none()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        let wrapped = WithPlaceholders {
            value,
            sink: self.sink,
        };
        self.inner.serialize_some(&wrapped)
    }

    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit()
    }

    fn serialize_unit_struct(self, name: &'static str) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit_struct(name)
    }

    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit_variant(name, index, variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let wrapped = WithPlaceholders {
            value,
            sink: self.sink,
        };
        self.inner.serialize_newtype_struct(name, &wrapped)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let wrapped = WithPlaceholders {
            value,
            sink: self.sink,
        };
        self.inner
            .serialize_newtype_variant(name, index, variant, &wrapped)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        Ok(Compound {
            inner: self.inner.serialize_seq(len)?,
            sink: self.sink,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        Ok(Compound {
            inner: self.inner.serialize_tuple(len)?,
            sink: self.sink,
        })
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        Ok(Compound {
            inner: self.inner.serialize_tuple_struct(name, len)?,
            sink: self.sink,
        })
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        Ok(Compound {
            inner: self
                .inner
                .serialize_tuple_variant(name, index, variant, len)?,
            sink: self.sink,
        })
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        Ok(Compound {
            inner: self.inner.serialize_map(len)?,
            sink: self.sink,
        })
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        Ok(Compound {
            inner: self.inner.serialize_struct(name, len)?,
            sink: self.sink,
        })
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        Ok(Compound {
            inner: self
                .inner
                .serialize_struct_variant(name, index, variant, len)?,
            sink: self.sink,
        })
    }

    fn collect_str<T: std::fmt::Display + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.inner.collect_str(value)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// A compound serializer of the inner format whose elements are wrapped for placeholders.
struct Compound<'s, C> {
    inner: C,
    sink: &'s Sink,
}

impl<C: ser::SerializeSeq> ser::SerializeSeq for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        let wrapped = WithPlaceholders {
            value,
            sink: self.sink,
        };
        self.inner.serialize_element(&wrapped)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: ser::SerializeTuple> ser::SerializeTuple for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        let wrapped = WithPlaceholders {
            value,
            sink: self.sink,
        };
        self.inner.serialize_element(&wrapped)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: ser::SerializeTupleStruct> ser::SerializeTupleStruct for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        let wrapped = WithPlaceholders {
            value,
            sink: self.sink,
        };
        self.inner.serialize_field(&wrapped)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: ser::SerializeTupleVariant> ser::SerializeTupleVariant for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        let wrapped = WithPlaceholders {
            value,
            sink: self.sink,
        };
        self.inner.serialize_field(&wrapped)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: ser::SerializeMap> ser::SerializeMap for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), C::Error> {
        let wrapped = WithPlaceholders {
            value: key,
            sink: self.sink,
        };
        self.inner.serialize_key(&wrapped)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        let wrapped = WithPlaceholders {
            value,
            sink: self.sink,
        };
        self.inner.serialize_value(&wrapped)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: ser::SerializeStruct> ser::SerializeStruct for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), C::Error> {
        let wrapped = WithPlaceholders {
            value,
            sink: self.sink,
        };
        self.inner.serialize_field(key, &wrapped)
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
        self.inner.skip_field(key)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: ser::SerializeStructVariant> ser::SerializeStructVariant for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), C::Error> {
        let wrapped = WithPlaceholders {
            value,
            sink: self.sink,
        };
        self.inner.serialize_field(key, &wrapped)
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
        self.inner.skip_field(key)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

/// Gathers the buffers of `value` without copying them, in the order its `Serialize` visits
/// them (depth-first, arrays in order, objects in key order): the order of the placeholders.
pub(crate) fn collect_binaries(value: &Value, out: &mut Vec<Bytes>) {
    match value {
        Value::Binary(b) => out.push(b.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_binaries(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_binaries(v, out)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// What an object means in a received binary packet.
enum Slot {
    /// An ordinary object.
    NotPlaceholder,
    /// A placeholder for the attachment at this index.
    Attachment(usize),
}

/// Reads an object the way socket.io-parser does: it is a placeholder only if `_placeholder` is
/// exactly `true`; then `num` must be an integer in `[0, count)`, else the packet is refused.
/// (An object whose `_placeholder` is anything else stays an ordinary object.)
fn slot(map: &Map, count: usize) -> Result<Slot, DecodeError> {
    if map.get("_placeholder") != Some(&Value::Bool(true)) {
        return Ok(Slot::NotPlaceholder);
    }
    let num = match map.get("num") {
        Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(u), _) => usize::try_from(u).ok(),
            // `1.0` is the integer 1 in JavaScript.
            (None, Some(f)) if f.fract() == 0.0 && f >= 0.0 && f < count as f64 => Some(f as usize),
            _ => None,
        },
        _ => None,
    };
    match num {
        Some(n) if n < count => Ok(Slot::Attachment(n)),
        _ => Err(DecodeError::IllegalPlaceholder),
    }
}

/// Checks every placeholder of a just-received binary packet against its announced attachment
/// count, so a bad packet is refused before its attachments are buffered.
pub(crate) fn check_placeholders(value: &Value, count: usize) -> Result<(), DecodeError> {
    match value {
        Value::Array(items) => items.iter().try_for_each(|v| check_placeholders(v, count)),
        Value::Object(map) => match slot(map, count)? {
            Slot::Attachment(_) => Ok(()),
            Slot::NotPlaceholder => map.values().try_for_each(|v| check_placeholders(v, count)),
        },
        _ => Ok(()),
    }
}

/// Replaces every placeholder by its attachment, in place.
pub(crate) fn fill_placeholders(
    value: &mut Value,
    attachments: &[Bytes],
) -> Result<(), DecodeError> {
    match value {
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|v| fill_placeholders(v, attachments)),
        Value::Object(map) => match slot(map, attachments.len())? {
            Slot::Attachment(n) => {
                let bytes = attachments.get(n).ok_or(DecodeError::IllegalPlaceholder)?;
                *value = Value::Binary(bytes.clone());
                Ok(())
            }
            Slot::NotPlaceholder => map
                .values_mut()
                .try_for_each(|v| fill_placeholders(v, attachments)),
        },
        _ => Ok(()),
    }
}

/// A binary packet whose text part arrived and whose attachments are still coming.
#[derive(Debug)]
pub(crate) struct PartialPacket {
    kind: PacketType,
    nsp: SmolStr,
    id: Option<u64>,
    data: Option<Value>,
    event: Option<SmolStr>,
    expected: usize,
    attachments: Vec<Bytes>,
}

impl PartialPacket {
    /// Starts a packet whose placeholders were checked against `expected`.
    pub(crate) fn new(
        kind: PacketType,
        nsp: SmolStr,
        id: Option<u64>,
        data: Option<Value>,
        event: Option<SmolStr>,
        expected: usize,
    ) -> PartialPacket {
        // `expected` is bounded by the decoder's attachment limit, so this reservation is too.
        PartialPacket {
            kind,
            nsp,
            id,
            data,
            event,
            expected,
            attachments: Vec::with_capacity(expected),
        }
    }

    /// Whether every attachment has arrived.
    pub(crate) fn is_complete(&self) -> bool {
        self.attachments.len() >= self.expected
    }

    /// Adds the next attachment.
    pub(crate) fn push(&mut self, attachment: Bytes) {
        self.attachments.push(attachment);
    }

    /// Puts the attachments in place of the placeholders.
    pub(crate) fn finish(self) -> Result<Packet, DecodeError> {
        let PartialPacket {
            kind,
            nsp,
            id,
            mut data,
            event,
            attachments,
            ..
        } = self;
        if let Some(v) = data.as_mut() {
            fill_placeholders(v, &attachments)?;
        }
        Ok(Packet::from_checked(
            kind,
            nsp,
            id,
            data.map(Payload::Value),
            event,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholder(num: Value) -> Value {
        [("_placeholder", Value::Bool(true)), ("num", num)]
            .into_iter()
            .collect()
    }

    #[test]
    fn placeholder_with_integral_float_num_is_accepted() {
        assert!(check_placeholders(&placeholder(Value::from(1.0)), 2).is_ok());
    }

    #[test]
    fn placeholder_with_fractional_negative_or_string_num_is_rejected() {
        for num in [
            Value::from(0.5),
            Value::from(-1),
            Value::from("0"),
            Value::Null,
        ] {
            assert_eq!(
                check_placeholders(&placeholder(num), 2),
                Err(DecodeError::IllegalPlaceholder)
            );
        }
    }

    #[test]
    fn object_whose_placeholder_flag_is_not_true_stays_an_object() {
        let v: Value = [("_placeholder", Value::from(1)), ("num", Value::from("x"))]
            .into_iter()
            .collect();
        let mut filled = v.clone();
        fill_placeholders(&mut filled, &[]).unwrap();
        assert_eq!(filled, v);
    }

    #[test]
    fn same_attachment_may_be_referenced_twice() {
        let mut v = Value::from(vec![
            placeholder(Value::from(0)),
            placeholder(Value::from(0)),
        ]);
        fill_placeholders(&mut v, &[Bytes::from_static(b"x")]).unwrap();
        assert_eq!(
            v,
            Value::from(vec![Value::from(b"x".to_vec()), Value::from(b"x".to_vec())])
        );
    }
}
