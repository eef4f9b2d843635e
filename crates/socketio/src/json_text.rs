//! JSON text from any `Serialize`, byte for byte what `serde_json::to_writer` writes (compact,
//! strings escaped the same way, numbers by serde_json's own formatter, non-finite floats as
//! `null`), but with a string writer that looks at eight bytes at a time: serde_json's looks up
//! every byte in a table, which was most of the cost of sending a packet with a long string.
//!
//! `serde_json::value::RawValue` (and `serde_json::Number` when another crate turns on
//! `arbitrary_precision`) are written verbatim, as serde_json does. Errors are
//! `serde_json::Error`s, so callers see one error type for both directions.
//!
//! Written for a binary packet ([`to_writer_with_placeholders`]), bytes become the placeholders
//! of its attachments instead.

use std::fmt::Display;

use serde::ser::{self, Error as _, Impossible, Serialize};
use serde_json::ser::{CompactFormatter, Formatter as _};

use crate::parser::binary::Sink;

// The text is written into a `String`: every piece written is either ASCII or a whole `&str`,
// so it is UTF-8 by construction and its users need not check it again.

type Error = serde_json::Error;

/// The struct names serde_json gives `RawValue` and `Number` (with `arbitrary_precision`): their
/// one field holds JSON text to write as it is.
const VERBATIM_TOKENS: [&str; 2] = [
    "$serde_json::private::RawValue",
    "$serde_json::private::Number",
];

/// Appends the JSON text of `value` to `out`.
pub(crate) fn to_writer<T: Serialize + ?Sized>(out: &mut String, value: &T) -> Result<(), Error> {
    value.serialize(Writer { out, sink: None })
}

/// Appends the JSON text of `value`, each of its byte strings (at any depth) written as the
/// placeholder `{"_placeholder":true,"num":N}` of an attachment recorded in `sink`, numbered in
/// the order they are met (socket.io-parser's `deconstructPacket`).
pub(crate) fn to_writer_with_placeholders<T: Serialize + ?Sized>(
    out: &mut String,
    value: &T,
    sink: &Sink,
) -> Result<(), Error> {
    value.serialize(Writer {
        out,
        sink: Some(sink),
    })
}

/// The JSON text of `value`.
pub(crate) fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    let mut out = String::with_capacity(64);
    to_writer(&mut out, value)?;
    Ok(out)
}

/// The length of the longest run of whole sixteen-byte words at the start of `bytes` in which
/// no byte is below 0x20, a `"` or a `\`. These are the bytes a JSON string holds as they are,
/// so both the writer and the reader skip them this way.
pub(crate) fn plain_words(bytes: &[u8]) -> usize {
    let (words, _) = bytes.as_chunks::<16>();
    let mut len = 0;
    for word in words {
        // Folds over all sixteen bytes, with no early exit, which the compiler turns into a
        // few vector instructions. `c ^ 2` is below 0x21 exactly when `c` is a control
        // character or `"` (written so, the two take one comparison).
        let below = word.iter().fold(false, |any, &c| any | ((c ^ 0x02) < 0x21));
        let backslash = word.iter().fold(false, |any, &c| any | (c == b'\\'));
        if below | backslash {
            break;
        }
        len += 16;
    }
    len
}

/// Whether the last bytes of a string (fewer than sixteen) need no escape: checked as one
/// word padded with spaces, the way [`plain_words`] checks whole words, instead of one byte at a
/// time. Most strings (keys, event names, short values) are only such a tail.
fn plain_tail(tail: &[u8]) -> bool {
    let mut word = [b' '; 16];
    match word.get_mut(..tail.len()) {
        Some(start) => start.copy_from_slice(tail),
        None => return false,
    }
    plain_words(&word) == 16
}

/// Appends the escape serde_json writes for `byte`, if it needs one: the
/// short forms, then `\u00XX` (lower-case hex) for the other control characters.
fn push_escape(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match byte {
        b'"' => "\\\"",
        b'\\' => "\\\\",
        0x08 => "\\b",
        0x0c => "\\f",
        b'\n' => "\\n",
        b'\r' => "\\r",
        b'\t' => "\\t",
        0..0x20 => {
            out.push_str("\\u00");
            for digit in [byte >> 4, byte & 0xf] {
                out.push(char::from(
                    HEX.get(usize::from(digit)).copied().unwrap_or(b'0'),
                ));
            }
            return;
        }
        _ => return,
    };
    out.push_str(short);
}

/// Writes `s` as a JSON string.
fn write_str(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push('"');
    // `copied`: the first byte of `s` not yet written. Pieces end at a byte to escape, which
    // is ASCII, so every piece is whole characters.
    let mut copied = 0;
    let mut at = 0;
    loop {
        at += plain_words(bytes.get(at..).unwrap_or_default());
        // The word that holds a byte to escape (or the last bytes), one byte at a time.
        let word = bytes.get(at..).unwrap_or_default();
        if word.is_empty() {
            break;
        }
        if word.len() < 16 && plain_tail(word) {
            break;
        }
        for (i, byte) in word.iter().take(16).enumerate() {
            if *byte < 0x20 || matches!(byte, b'"' | b'\\') {
                out.push_str(s.get(copied..at + i).unwrap_or_default());
                push_escape(out, *byte);
                copied = at + i + 1;
            }
        }
        at += word.len().min(16);
    }
    out.push_str(s.get(copied..).unwrap_or_default());
    out.push('"');
}

/// Appends the ASCII text serde_json's formatter writes for a number (at most 40 bytes).
fn push_formatted(out: &mut String, write: impl FnOnce(&mut &mut [u8]) -> std::io::Result<()>) {
    let mut buf = [0u8; 48];
    let mut rest = &mut buf[..];
    let _ = write(&mut rest);
    let written = 48 - rest.len();
    if let Some(text) = buf.get(..written).and_then(|b| std::str::from_utf8(b).ok()) {
        out.push_str(text);
    }
}

// Numbers are written exactly as the serde_json in use writes them: integers by `itoa`, as
// serde_json does, floats by serde_json's own formatter.

fn write_f64(out: &mut String, f: f64) {
    if f.is_finite() {
        push_formatted(out, |w| CompactFormatter.write_f64(w, f));
    } else {
        out.push_str("null");
    }
}

fn write_f32(out: &mut String, f: f32) {
    if f.is_finite() {
        push_formatted(out, |w| CompactFormatter.write_f32(w, f));
    } else {
        out.push_str("null");
    }
}

/// The serializer of one value.
struct Writer<'a> {
    out: &'a mut String,
    /// Where attachments go, when bytes are written as placeholders.
    sink: Option<&'a Sink>,
}

macro_rules! integers {
    ($($method:ident: $t:ty),*) => {$(
        fn $method(self, v: $t) -> Result<(), Error> {
            self.out.push_str(itoa::Buffer::new().format(v));
            Ok(())
        }
    )*};
}

impl<'a> ser::Serializer for Writer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out.push_str(if v { "true" } else { "false" });
        Ok(())
    }

    integers!(
        serialize_i8: i8, serialize_i16: i16,
        serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8,
        serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128
    );

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        write_f32(self.out, v);
        Ok(())
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        write_f64(self.out, v);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_str(self.out, v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.out, v);
        Ok(())
    }

    /// A placeholder when attachments are recorded, else an array of numbers, as serde_json
    /// writes bytes.
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        if let Some(sink) = self.sink {
            let num = sink.record(v);
            self.out.push_str(r#"{"_placeholder":true,"num":"#);
            self.out.push_str(itoa::Buffer::new().format(num));
            self.out.push('}');
            return Ok(());
        }
        self.out.push('[');
        for (i, byte) in v.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.out.push_str(itoa::Buffer::new().format(*byte));
        }
        self.out.push(']');
        Ok(())
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.out.push_str("null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.out.push('{');
        write_str(self.out, variant);
        self.out.push(':');
        value.serialize(Writer {
            out: &mut *self.out,
            sink: self.sink,
        })?;
        self.out.push('}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(Compound::open(self.out, self.sink, '[', "]"))
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, Error> {
        self.out.push('{');
        write_str(self.out, variant);
        self.out.push(':');
        Ok(Compound::open(self.out, self.sink, '[', "]}"))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(Compound::open(self.out, self.sink, '{', "}"))
    }

    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<Compound<'a>, Error> {
        if VERBATIM_TOKENS.contains(&name) {
            return Ok(Compound {
                out: self.out,
                sink: None,
                first: true,
                close: "",
                verbatim: true,
            });
        }
        self.serialize_map(None)
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, Error> {
        self.out.push('{');
        write_str(self.out, variant);
        self.out.push(':');
        Ok(Compound::open(self.out, self.sink, '{', "}}"))
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.serialize_str(&value.to_string())
    }
}

/// An array or object being written; `close` ends it (with the `}` of an enclosing variant).
struct Compound<'a> {
    out: &'a mut String,
    sink: Option<&'a Sink>,
    first: bool,
    close: &'static str,
    /// A `RawValue` (or `Number`) whose field is written as it is.
    verbatim: bool,
}

impl<'a> Compound<'a> {
    fn open(out: &'a mut String, sink: Option<&'a Sink>, open: char, close: &'static str) -> Self {
        out.push(open);
        Compound {
            out,
            sink,
            first: true,
            close,
            verbatim: false,
        }
    }

    fn comma(&mut self) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.comma();
        value.serialize(Writer {
            out: &mut *self.out,
            sink: self.sink,
        })
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        if self.verbatim {
            return value.serialize(Verbatim {
                out: &mut *self.out,
            });
        }
        self.comma();
        write_str(self.out, key);
        self.out.push(':');
        value.serialize(Writer {
            out: &mut *self.out,
            sink: self.sink,
        })
    }

    fn finish(self) -> Result<(), Error> {
        self.out.push_str(self.close);
        Ok(())
    }
}

/// The sequence kinds: each element after a comma.
macro_rules! sequences {
    ($($kind:ident::$method:ident),*) => {$(
        impl ser::$kind for Compound<'_> {
            type Ok = ();
            type Error = Error;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }

            fn end(self) -> Result<(), Error> {
                self.finish()
            }
        }
    )*};
}

sequences!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.comma();
        key.serialize(MapKey {
            out: &mut *self.out,
        })?;
        self.out.push(':');
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Writer {
            out: &mut *self.out,
            sink: self.sink,
        })
    }

    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

/// The struct kinds: each field a key and its value.
macro_rules! structs {
    ($($kind:ident),*) => {$(
        impl ser::$kind for Compound<'_> {
            type Ok = ();
            type Error = Error;

            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.field(key, value)
            }

            fn end(self) -> Result<(), Error> {
                self.finish()
            }
        }
    )*};
}

structs!(SerializeStruct, SerializeStructVariant);

fn key_must_be_a_string() -> Error {
    Error::custom("key must be a string")
}

/// An object key: strings as they are; integers, booleans and finite floats quoted, as
/// serde_json writes them; anything else is an error.
struct MapKey<'a> {
    out: &'a mut String,
}

impl MapKey<'_> {
    fn quoted(self, write: impl FnOnce(&mut String)) -> Result<(), Error> {
        self.out.push('"');
        write(self.out);
        self.out.push('"');
        Ok(())
    }
}

macro_rules! integer_keys {
    ($($method:ident: $t:ty),*) => {$(
        fn $method(self, v: $t) -> Result<(), Error> {
            self.quoted(|out| out.push_str(itoa::Buffer::new().format(v)))
        }
    )*};
}

/// Methods that only refuse, with the error `$error` makes.
macro_rules! refuse {
    ($error:ident: $($method:ident($($arg:ty),*) -> $ret:ty;)*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<$ret, Error> {
            Err($error())
        }
    )*};
}

/// The associated types of a serializer that takes no compound value.
macro_rules! no_compounds {
    () => {
        type Ok = ();
        type Error = Error;
        type SerializeSeq = Impossible<(), Error>;
        type SerializeTuple = Impossible<(), Error>;
        type SerializeTupleStruct = Impossible<(), Error>;
        type SerializeTupleVariant = Impossible<(), Error>;
        type SerializeMap = Impossible<(), Error>;
        type SerializeStruct = Impossible<(), Error>;
        type SerializeStructVariant = Impossible<(), Error>;
    };
}

impl ser::Serializer for MapKey<'_> {
    no_compounds!();

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.out, v);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_str(self.out, v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.quoted(|out| out.push_str(if v { "true" } else { "false" }))
    }

    integer_keys!(
        serialize_i8: i8, serialize_i16: i16,
        serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8,
        serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128
    );

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(Error::custom(
                "float key must be finite (got NaN or +/-inf)",
            ));
        }
        self.quoted(|out| write_f32(out, v))
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(Error::custom(
                "float key must be finite (got NaN or +/-inf)",
            ));
        }
        self.quoted(|out| write_f64(out, v))
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }

    refuse! { key_must_be_a_string:
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_seq(Option<usize>) -> Impossible<(), Error>;
        serialize_tuple(usize) -> Impossible<(), Error>;
        serialize_tuple_struct(&'static str, usize) -> Impossible<(), Error>;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Impossible<(), Error>;
        serialize_map(Option<usize>) -> Impossible<(), Error>;
        serialize_struct(&'static str, usize) -> Impossible<(), Error>;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Impossible<(), Error>;
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.serialize_str(&value.to_string())
    }
}

/// The field of a `RawValue`: JSON text written as it is.
struct Verbatim<'a> {
    out: &'a mut String,
}

fn not_verbatim() -> Error {
    Error::custom("expected the JSON text of a raw value")
}

impl ser::Serializer for Verbatim<'_> {
    no_compounds!();

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.out.push_str(v);
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Error> {
        Err(not_verbatim())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(not_verbatim())
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(not_verbatim())
    }

    refuse! { not_verbatim:
        serialize_bool(bool) -> ();
        serialize_i8(i8) -> ();
        serialize_i16(i16) -> ();
        serialize_i32(i32) -> ();
        serialize_i64(i64) -> ();
        serialize_u8(u8) -> ();
        serialize_u16(u16) -> ();
        serialize_u32(u32) -> ();
        serialize_u64(u64) -> ();
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_char(char) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_unit_variant(&'static str, u32, &'static str) -> ();
        serialize_seq(Option<usize>) -> Impossible<(), Error>;
        serialize_tuple(usize) -> Impossible<(), Error>;
        serialize_tuple_struct(&'static str, usize) -> Impossible<(), Error>;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Impossible<(), Error>;
        serialize_map(Option<usize>) -> Impossible<(), Error>;
        serialize_struct(&'static str, usize) -> Impossible<(), Error>;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Impossible<(), Error>;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde::Serialize;

    use super::to_string;

    /// Ours and serde_json's text, or both errors.
    fn same_as_serde_json<T: Serialize + ?Sized>(value: &T) {
        match (to_string(value), serde_json::to_string(value)) {
            (Ok(ours), Ok(theirs)) => assert_eq!(ours, theirs),
            (Err(_), Err(_)) => {}
            (ours, theirs) => panic!("ours {ours:?}, serde_json {theirs:?}"),
        }
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(u8),
        Tuple(i32, String),
        Struct { x: f64, name: Option<String> },
    }

    #[derive(Serialize)]
    struct Record<'a> {
        id: u64,
        tags: Vec<&'a str>,
        shapes: Vec<Shape>,
        #[serde(with = "serde_bytes")]
        blob: &'a [u8],
        nothing: (),
        letter: char,
        small: f32,
        big: i128,
        huge: u128,
        empty: Vec<u8>,
        flag: bool,
    }

    #[test]
    fn typed_values_are_written_as_serde_json_writes_them() {
        same_as_serde_json(&Record {
            id: u64::MAX,
            tags: vec!["a\"b", "\\", "\u{1}\u{1f}\u{7f}\u{2028}é😀", ""],
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(7),
                Shape::Tuple(-3, "t\n".into()),
                Shape::Struct {
                    x: 1e21,
                    name: None,
                },
                Shape::Struct {
                    x: f64::NAN,
                    name: Some("n".into()),
                },
            ],
            blob: &[0, 1, 255],
            nothing: (),
            letter: '"',
            small: 0.1,
            big: i128::MIN,
            huge: u128::MAX,
            empty: Vec::new(),
            flag: true,
        });
        same_as_serde_json(&(1.5e-7, f64::INFINITY, -0.0, 1.0, f32::NAN, 3.4e38f32));
        same_as_serde_json(&Some(Some(())));
        same_as_serde_json(&[(); 0]);
    }

    /// A map given as its entries, so keys need neither `Ord` nor `Hash`.
    struct Pairs<K, V>(Vec<(K, V)>);

    impl<K: Serialize, V: Serialize> Serialize for Pairs<K, V> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }

    #[test]
    fn plain_words_stop_at_the_word_of_every_byte_to_escape() {
        for byte in 0..=255u8 {
            for at in 0..40 {
                let mut text = vec![b'x'; 40];
                text[at] = byte;
                let special = byte < 0x20 || byte == b'"' || byte == b'\\';
                let expected = if special { at / 16 * 16 } else { 32 };
                assert_eq!(
                    super::plain_words(&text),
                    expected,
                    "byte {byte:#x} at {at}"
                );
            }
        }
    }

    #[test]
    fn every_ascii_byte_at_every_place_of_a_short_string_is_escaped_as_serde_json_does() {
        // Lengths below, at and past one word, so tails of every length are met.
        for len in 1..=34 {
            for byte in 0..=0x7fu8 {
                for at in 0..len {
                    let mut text = vec![b'x'; len];
                    text[at] = byte;
                    let text = String::from_utf8(text).unwrap();
                    assert_eq!(
                        super::to_string(&text).unwrap(),
                        serde_json::to_string(&text).unwrap(),
                        "byte {byte:#x} at {at} of {len}"
                    );
                }
            }
        }
    }

    #[test]
    fn map_keys_are_quoted_or_refused_as_serde_json_does() {
        same_as_serde_json(&BTreeMap::from([(1, "a"), (-2, "b")]));
        same_as_serde_json(&BTreeMap::from([(true, 1), (false, 2)]));
        same_as_serde_json(&BTreeMap::from([('k', 1)]));
        same_as_serde_json(&BTreeMap::from([("k\te", 1)]));
        same_as_serde_json(&BTreeMap::from([(Some("o"), 1)]));
        same_as_serde_json(&Pairs(vec![(Shape::Unit, 1)]));
        same_as_serde_json(&Pairs(vec![(1.5f64, 1), (-0.25, 2)]));
        same_as_serde_json(&Pairs(vec![(1.5f32, 1)]));
        same_as_serde_json(&Pairs(vec![(f64::NAN, 1)]));
        same_as_serde_json(&Pairs(vec![((1, 2), 1)]));
        same_as_serde_json(&Pairs(vec![(vec![1], 1)]));
        same_as_serde_json(&Pairs(vec![((), 1)]));
        same_as_serde_json(&Pairs(vec![(None::<&str>, 1)]));
        same_as_serde_json(&Pairs(vec![(Shape::Newtype(1), 1)]));
    }

    #[test]
    fn raw_json_is_written_as_it_is() {
        let raw = serde_json::value::RawValue::from_string(r#"{"a": [1, 2]}"#.into()).unwrap();
        same_as_serde_json(&("x", &raw, 3));
    }

    /// Any JSON value: every kind of number, strings with the bytes that need escapes and
    /// characters of every UTF-8 length, nested arrays and objects.
    pub(crate) fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            any::<String>().prop_map(serde_json::Value::from),
            "[\\x00-\\x21\"\\\\a-z\u{80}-\u{10ffff}]{0,40}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::from),
                prop::collection::vec((any::<String>(), inner), 0..8).prop_map(|entries| {
                    serde_json::Value::Object(entries.into_iter().collect())
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_json_value_is_written_as_serde_json_writes_it(value in json_value()) {
            let ours = to_string(&value).unwrap();
            prop_assert_eq!(ours, serde_json::to_string(&value).unwrap());
        }

        #[test]
        fn any_string_is_escaped_as_serde_json_escapes_it(s in "[\\x00-\\x7f\u{80}-\u{10ffff}]{0,70}") {
            prop_assert_eq!(to_string(&s).unwrap(), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn any_value_of_ours_is_written_as_serde_json_writes_it(value in json_value()) {
            let ours: crate::Value = serde_json::from_value(value).unwrap();
            prop_assert_eq!(to_string(&ours).unwrap(), serde_json::to_string(&ours).unwrap());
        }
    }
}
