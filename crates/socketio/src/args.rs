//! Reading the arguments of an EVENT or ACK as a serde sequence, straight from raw JSON or from
//! a [`Value`] array, with JavaScript's leniency: extra arguments are ignored, a missing one is
//! `undefined`.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::UnitDeserializer;
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;

use crate::Value;

type Error = serde_json::Error;

/// The arguments of a packet, as a `Deserializer` of a sequence.
pub(crate) enum Args<'a> {
    /// A JSON array; the first `skip` elements (the event name) are not arguments.
    Json { json: &'a str, skip: usize },
    /// The arguments as values.
    Values(&'a [Value]),
}

impl<'a> Args<'a> {
    /// The argument at `index`, or `undefined` (a unit, which reads as `None`) when missing.
    pub(crate) fn arg<T: de::Deserialize<'a>>(self, index: usize) -> Result<T, Error> {
        let found = match self {
            Args::Json { json, skip } => {
                let mut de = serde_json::Deserializer::from_str(json);
                let found = de.deserialize_seq(Nth {
                    index: skip + index,
                    marker: PhantomData::<T>,
                })?;
                de.end()?;
                found
            }
            Args::Values(items) => items.get(index).map(T::deserialize).transpose()?,
        };
        match found {
            Some(v) => Ok(v),
            None => T::deserialize(UnitDeserializer::<Error>::new()),
        }
    }
}

impl<'de> Deserializer<'de> for Args<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Args::Json { json, skip } => {
                let mut de = serde_json::Deserializer::from_str(json);
                let out = de.deserialize_seq(Lenient {
                    skip,
                    inner: visitor,
                })?;
                de.end()?;
                Ok(out)
            }
            Args::Values(items) => {
                let mut seq = crate::value::de::SeqAccess {
                    items: items.iter(),
                };
                visitor.visit_seq(&mut seq)
            }
        }
    }

    /// `()` takes any arguments: a handler that wants none ignores what was sent.
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option newtype_struct seq tuple tuple_struct map struct enum identifier
    }
}

/// Skips the leading elements, hands the rest to the caller's visitor, then skips whatever it
/// did not read (serde_json would otherwise reject the unread elements).
struct Lenient<V> {
    skip: usize,
    inner: V,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Lenient<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<V::Value, A::Error> {
        for _ in 0..self.skip {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
        }
        let out = self.inner.visit_seq(&mut seq)?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(out)
    }
}

/// Reads the element at `index` of a sequence, skipping the others.
struct Nth<T> {
    index: usize,
    marker: PhantomData<T>,
}

impl<'de, T: de::Deserialize<'de>> Visitor<'de> for Nth<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of arguments")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<T>, A::Error> {
        for _ in 0..self.index {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(None);
            }
        }
        let found = seq.next_element_seed(PhantomData::<T>)?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(found)
    }
}
