//! Reading typed data out of a [`Value`]: `&Value` is a serde `Deserializer`.
//!
//! Errors are `serde_json::Error`, so reading arguments reports the same error type whether the
//! arguments were kept as raw JSON or decoded into a `Value`.

use serde::de::value::{BorrowedStrDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeSeed, Error as _, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

use super::{Map, Value};

type Error = serde_json::Error;

impl<'de> de::Deserializer<'de> for &'de Value {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => n.deserialize_any(visitor),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(a) => visit_array(a, visitor),
            Value::Object(m) => visit_object(m, visitor),
            Value::Binary(b) => super::lent::lend(b, || visitor.visit_borrowed_bytes(b)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            // Lets a binary fill a `Vec<u8>` or `[u8; N]`, which ask for a sequence.
            Value::Binary(b) => {
                let mut seq = SeqDeserializer::new(b.iter().copied());
                let out = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self {
            // A unit variant, written as its name (serde_json's convention).
            Value::String(s) => visitor.visit_enum(BorrowedStrDeserializer::<Error>::new(s)),
            // Any other variant, written as `{"Name": content}`.
            Value::Object(m) if m.len() == 1 => match m.iter().next() {
                Some((variant, content)) => visitor.visit_enum(EnumAccess { variant, content }),
                None => Err(Error::custom("expected an enum variant")),
            },
            _ => Err(Error::invalid_type(unexpected(self), &"an enum variant")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple_struct map struct identifier
    }
}

impl<'de> IntoDeserializer<'de, Error> for &'de Value {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

/// What a value is, for error messages.
fn unexpected(value: &Value) -> de::Unexpected<'_> {
    match value {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => de::Unexpected::Unsigned(u),
            (_, Some(i), _) => de::Unexpected::Signed(i),
            (_, _, Some(f)) => de::Unexpected::Float(f),
            _ => de::Unexpected::Other("number"),
        },
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
        Value::Binary(b) => de::Unexpected::Bytes(b),
    }
}

/// Visits an array; every element must be consumed, as with any strict format.
fn visit_array<'de, V: Visitor<'de>>(items: &'de [Value], visitor: V) -> Result<V::Value, Error> {
    let mut seq = SeqAccess {
        items: items.iter(),
    };
    let out = visitor.visit_seq(&mut seq)?;
    if seq.items.len() == 0 {
        Ok(out)
    } else {
        Err(Error::invalid_length(
            items.len(),
            &"fewer elements in the array",
        ))
    }
}

fn visit_object<'de, V: Visitor<'de>>(map: &'de Map, visitor: V) -> Result<V::Value, Error> {
    let mut access = MapAccess {
        entries: map.iter(),
        value: None,
    };
    visitor.visit_map(&mut access)
}

/// Hands out the elements of an array.
pub(crate) struct SeqAccess<'de> {
    pub(crate) items: std::slice::Iter<'de, Value>,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.items.next().map(|v| seed.deserialize(v)).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// Hands out the entries of an object.
struct MapAccess<'de, I> {
    entries: I,
    value: Option<&'de Value>,
}

impl<'de, I: Iterator<Item = (&'de String, &'de Value)>> de::MapAccess<'de> for MapAccess<'de, I> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(BorrowedStrDeserializer::new(k)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(v),
            None => Err(Error::custom("value requested before its key")),
        }
    }
}

/// A variant written as `{"Name": content}`.
struct EnumAccess<'de> {
    variant: &'de str,
    content: &'de Value,
}

impl<'de> de::EnumAccess<'de> for EnumAccess<'de> {
    type Error = Error;
    type Variant = &'de Value;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, &'de Value), Error> {
        let name = seed.deserialize(BorrowedStrDeserializer::<Error>::new(self.variant))?;
        Ok((name, self.content))
    }
}

impl<'de> de::VariantAccess<'de> for &'de Value {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self {
            Value::Null => Ok(()),
            other => Err(Error::invalid_type(unexpected(other), &"a unit variant")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_any(self, visitor)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Msg<'a> {
        text: &'a str,
        #[serde(with = "serde_bytes")]
        file: Vec<u8>,
        count: Option<u32>,
        kind: Kind,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    enum Kind {
        Plain,
        Tagged(u8),
    }

    #[test]
    fn struct_reads_borrowed_strings_binary_options_and_enums() {
        let v: Value = [
            ("text", Value::from("hi")),
            ("file", Value::from(vec![1u8, 2])),
            ("count", Value::Null),
            ("kind", Value::from("Plain")),
        ]
        .into_iter()
        .collect();
        let m = Msg::deserialize(&v).unwrap();
        assert_eq!(
            m,
            Msg {
                text: "hi",
                file: vec![1, 2],
                count: None,
                kind: Kind::Plain
            }
        );
    }

    #[test]
    fn binary_reads_as_a_byte_vector_and_as_bytes() {
        let v = Value::Binary(Bytes::from_static(&[7, 8]));
        assert_eq!(Vec::<u8>::deserialize(&v).unwrap(), vec![7, 8]);
        assert_eq!(
            serde_bytes::ByteBuf::deserialize(&v).unwrap().into_vec(),
            vec![7, 8]
        );
    }

    #[test]
    fn newtype_variant_reads_from_single_key_object() {
        let v: Value = [("Tagged", Value::from(3))].into_iter().collect();
        assert_eq!(Kind::deserialize(&v).unwrap(), Kind::Tagged(3));
    }

    #[test]
    fn array_with_extra_elements_is_rejected_for_a_short_tuple() {
        let v = Value::from(vec![Value::from(1), Value::from(2)]);
        assert!(<(u8,)>::deserialize(&v).is_err());
    }
}
