//! Binary attachments of the JSON parser (socket.io-parser's `binary.ts` behaviour):
//!
//! * encoding: every binary value becomes `{"_placeholder":true,"num":N}`, numbered depth-first
//!   in array and key order, and the buffers travel as separate Engine.IO binary messages;
//! * decoding: placeholders are checked against the announced attachment count
//!   (CVE-2022-2421) and, once all attachments arrived, replaced by [`Value::Binary`] in place.

use std::cell::Cell;

use bytes::Bytes;
use smol_str::SmolStr;

use crate::{DecodeError, Map, Packet, PacketType, Payload, Value};

// ---------------------------------------------------------------------------------------------
// Encoding

/// Where the JSON writer records the binary values it writes as placeholders
/// ([`crate::json_text::to_writer_with_placeholders`]).
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

    /// Records the buffer of the next placeholder; returns its `num`.
    pub(crate) fn record(&self, bytes: &[u8]) -> usize {
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

/// Zeros that marks are cut from: the mark of attachment `n` is `n` bytes of it.
static MARKS: [u8; 256] = [0; 256];

/// How many attachments can have a mark (more are read as placeholder objects).
pub(crate) const MARKABLE: usize = MARKS.len();

/// The mark that stands for attachment `num` in a binary packet read from text, until the
/// attachments arrive: a binary value of `num` bytes, which costs no allocation. JSON text
/// holds no binary, so in a value just read from it every binary value is a mark.
pub(crate) fn mark(num: usize) -> Option<Value> {
    MARKS
        .get(..num)
        .map(|zeros| Value::Binary(Bytes::from_static(zeros)))
}

/// Parses the JSON of a binary packet announcing `count` attachments, reading its placeholders
/// as marks where it can ([`crate::value::marking_seed`]).
pub(crate) fn parse_marked(json: &str, count: usize) -> Result<Value, serde_json::Error> {
    use serde::de::DeserializeSeed as _;
    let mut de = serde_json::Deserializer::from_str(json);
    let value = crate::value::marking_seed(count.min(MARKABLE)).deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

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
        // A mark, checked against the count when it was read.
        Value::Binary(_) => Ok(()),
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
        Value::Binary(mark) => {
            let bytes = attachments
                .get(mark.len())
                .ok_or(DecodeError::IllegalPlaceholder)?;
            *value = Value::Binary(bytes.clone());
            Ok(())
        }
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

/// A binary packet's JSON read with marks, checked and filled with `attachments`, as the
/// decoder reads it (for tests and the fuzz targets, which compare it with
/// [`read_as_objects`]).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn read_marked(json: &str, attachments: &[Bytes]) -> Result<Value, DecodeError> {
    let count = attachments.len();
    let mut v = parse_marked(json, count).map_err(|e| crate::validate::json_error(&e))?;
    check_placeholders(&v, count)?;
    fill_placeholders(&mut v, attachments)?;
    Ok(v)
}

/// The same read with every placeholder read as an object first.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn read_as_objects(json: &str, attachments: &[Bytes]) -> Result<Value, DecodeError> {
    let mut v: Value = serde_json::from_str(json).map_err(|e| crate::validate::json_error(&e))?;
    check_placeholders(&v, attachments.len())?;
    fill_placeholders(&mut v, attachments)?;
    Ok(v)
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

    use read_as_objects as through_objects;
    use read_marked as through_marks;

    fn attachments(count: usize) -> Vec<Bytes> {
        (0..count).map(|n| Bytes::from(vec![n as u8; 3])).collect()
    }

    #[test]
    fn a_placeholder_is_read_as_a_mark_and_filled_with_the_attachment_itself() {
        let atts = attachments(2);
        let v = parse_marked(r#"[{"_placeholder":true,"num":1},{"a":1}]"#, 2).unwrap();
        assert_eq!(
            v,
            Value::from(vec![
                mark(1).unwrap(),
                [("a", Value::from(1))].into_iter().collect()
            ])
        );
        let filled = through_marks(r#"["e",{"_placeholder":true,"num":1}]"#, &atts).unwrap();
        match filled.as_array().and_then(|a| a.get(1)) {
            Some(Value::Binary(b)) => assert_eq!(b.as_ptr(), atts[1].as_ptr()),
            other => panic!("not the attachment: {other:?}"),
        }
    }

    #[test]
    fn placeholders_written_any_other_way_read_as_they_do_as_objects() {
        let cases = [
            r#"[{"_placeholder":true,"num":0}]"#,
            r#"[{"num":0,"_placeholder":true}]"#,
            r#"[{"_placeholder":true,"num":0,"x":1}]"#,
            r#"[{"x":1,"_placeholder":true,"num":0}]"#,
            r#"[{"_placeholder":true,"num":0,"num":1}]"#,
            r#"[{"_placeholder":true,"_placeholder":true,"num":0}]"#,
            r#"[{"_placeholder":true,"num":0,"_placeholder":false}]"#,
            r#"[{"_placeholder":true,"num":1}]"#,
            r#"[{"_placeholder":true,"num":1.0}]"#,
            r#"[{"_placeholder":true,"num":-0}]"#,
            r#"[{"_placeholder":true,"num":-1}]"#,
            r#"[{"_placeholder":true,"num":2}]"#,
            r#"[{"_placeholder":true,"num":18446744073709551616}]"#,
            r#"[{"_placeholder":true,"num":"0"}]"#,
            r#"[{"_placeholder":true}]"#,
            r#"[{"_placeholder":"true","num":0}]"#,
            r#"[{"_placeholder":true,"num":{"_placeholder":true,"num":0}}]"#,
            r#"[{"a":{"_placeholder":true,"num":1},"a":2}]"#,
            r#"[[{"_placeholder":true,"num":1}],{"b":[{"_placeholder":true,"num":0}]}]"#,
            r#"[{"_placeholder":true,"num":0}"#,
            r#"[{"_placeholder":true,"num":0}] x"#,
        ];
        for json in cases {
            for count in 0..3 {
                let atts = attachments(count);
                assert_eq!(
                    through_marks(json, &atts),
                    through_objects(json, &atts),
                    "{json} with {count} attachments"
                );
            }
        }
    }

    #[test]
    fn attachments_past_the_marks_are_read_as_objects() {
        let atts = attachments(MARKABLE + 2);
        for num in [0, MARKABLE - 1, MARKABLE, MARKABLE + 1, MARKABLE + 2] {
            let json = format!(r#"["e",{{"_placeholder":true,"num":{num}}}]"#);
            let read = through_marks(&json, &atts);
            assert_eq!(read, through_objects(&json, &atts), "num {num}");
            assert_eq!(read.is_ok(), num < MARKABLE + 2, "num {num}");
        }
    }

    /// JSON text made of placeholder-like objects: the keys and values placeholders are made
    /// of, in any order, repeated or missing.
    fn placeholder_soup() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just("true"),
            Just("false"),
            Just("0"),
            Just("1"),
            Just("2"),
            Just("1.0"),
            Just("-1"),
            Just("\"0\""),
            Just("null"),
        ]
        .prop_map(str::to_owned);
        let key = prop_oneof![
            Just("_placeholder"),
            Just("num"),
            Just("x"),
            Just("\\u005fplaceholder"),
        ];
        leaf.prop_recursive(3, 32, 4, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                prop::collection::vec((key.clone(), inner), 0..4).prop_map(|entries| {
                    let entries: Vec<String> = entries
                        .into_iter()
                        .map(|(k, v)| format!("\"{k}\":{v}"))
                        .collect();
                    format!("{{{}}}", entries.join(","))
                }),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn marks_read_every_placeholder_as_objects_do(json in placeholder_soup(), count in 0..4usize) {
            let atts = attachments(count);
            proptest::prop_assert_eq!(through_marks(&json, &atts), through_objects(&json, &atts));
        }
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
