//! The payload rules of each packet type (PROTOCOL-FACTS §3.3), one implementation for JSON text
//! and one for [`Value`] trees, shared by the decoders and by [`Packet::new`](crate::Packet::new).
//!
//! | Type | Valid payload |
//! |---|---|
//! | CONNECT | absent, or an object |
//! | DISCONNECT | absent |
//! | EVENT | a non-empty array whose first element is a number or a non-reserved string |
//! | ACK | absent (socket.io accepts it: no arguments), or an array |
//! | CONNECT_ERROR | a string or an object |

use std::fmt;

use serde::de::{self, Deserializer as _, IgnoredAny, SeqAccess, Visitor};
use smol_str::SmolStr;

use crate::{DecodeError, PacketType, Value};

mod quick;

/// Event names a peer may not send: they have a meaning of their own for the listeners.
const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Whether `name` is reserved; an application may not emit it and a peer may not send it.
pub fn is_reserved_event(name: &str) -> bool {
    RESERVED_EVENTS.contains(&name)
}

/// A namespace can be written on the wire: it starts with `/` and holds no `,` (which ends it).
pub(crate) fn check_namespace(nsp: &str) -> bool {
    nsp.starts_with('/') && !nsp.contains(',')
}

/// The event name for a numeric first element, as JavaScript's `String(n)` writes it for the
/// numbers that matter (integers; other floats use Rust's shortest form).
fn number_name(f: f64) -> SmolStr {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        // Exact for every integral float below 2^70; also turns -0 into "0" like JavaScript.
        smol_str::format_smolstr!("{}", f as i128)
    } else {
        smol_str::format_smolstr!("{f}")
    }
}

/// Checks a present or absent payload given as JSON text. Returns the event name for events.
pub(crate) fn check_json(
    kind: PacketType,
    json: Option<&str>,
) -> Result<Option<SmolStr>, DecodeError> {
    let Some(json) = json else {
        return check_absent(kind);
    };
    let first = json
        .bytes()
        .find(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r'));
    let shape_ok = match kind {
        PacketType::Connect => first == Some(b'{'),
        PacketType::Disconnect => false,
        PacketType::Event | PacketType::BinaryEvent => first == Some(b'['),
        PacketType::Ack | PacketType::BinaryAck => first == Some(b'['),
        PacketType::ConnectError => matches!(first, Some(b'{' | b'"')),
    };
    if !shape_ok {
        return Err(DecodeError::InvalidPayload);
    }
    // The common case in one pass; serde_json decides the rest and gives the error.
    if let Some(name) = quick::check(json, kind.is_event()) {
        return Ok(name);
    }
    check_json_text(json, kind.is_event())
}

/// The reference check of JSON text: serde_json reads it (for an event, the name, then the
/// other elements without building them).
fn check_json_text(json: &str, is_event: bool) -> Result<Option<SmolStr>, DecodeError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let event = if is_event {
        match de.deserialize_seq(EventVisitor) {
            Ok(EventName::Name(name)) => Some(name),
            Ok(EventName::Reserved) => return Err(DecodeError::ReservedEventName),
            Err(e) => return Err(json_error(&e)),
        }
    } else {
        // One pass that checks the syntax without building anything.
        de.deserialize_ignored_any(IgnoredAny)
            .map_err(|e| json_error(&e))?;
        None
    };
    de.end().map_err(|e| json_error(&e))?;
    Ok(event)
}

/// Checks a present or absent payload given as a [`Value`]. Returns the event name for events.
pub(crate) fn check_value(
    kind: PacketType,
    value: Option<&Value>,
) -> Result<Option<SmolStr>, DecodeError> {
    let Some(value) = value else {
        return check_absent(kind);
    };
    let ok = match (kind, value) {
        (PacketType::Connect, Value::Object(_)) => true,
        (PacketType::Event | PacketType::BinaryEvent, Value::Array(items)) => {
            return match items.first() {
                Some(Value::String(s)) if is_reserved_event(s) => {
                    Err(DecodeError::ReservedEventName)
                }
                Some(Value::String(s)) => Ok(Some(SmolStr::new(s))),
                // Integers as the JSON text path names them (`visit_u64`/`visit_i64`), so a
                // binary packet and a plain one with the same name agree.
                Some(Value::Number(n)) => Ok(Some(match (n.as_u64(), n.as_i64()) {
                    (Some(u), _) => smol_str::format_smolstr!("{u}"),
                    (None, Some(i)) => smol_str::format_smolstr!("{i}"),
                    (None, None) => number_name(n.as_f64().unwrap_or(0.0)),
                })),
                _ => Err(DecodeError::InvalidPayload),
            };
        }
        (PacketType::Ack | PacketType::BinaryAck, Value::Array(_)) => true,
        (PacketType::ConnectError, Value::String(_) | Value::Object(_)) => true,
        _ => false,
    };
    if ok {
        Ok(None)
    } else {
        Err(DecodeError::InvalidPayload)
    }
}

fn check_absent(kind: PacketType) -> Result<Option<SmolStr>, DecodeError> {
    match kind {
        PacketType::Connect | PacketType::Disconnect | PacketType::Ack | PacketType::BinaryAck => {
            Ok(None)
        }
        PacketType::Event | PacketType::BinaryEvent | PacketType::ConnectError => {
            Err(DecodeError::InvalidPayload)
        }
    }
}

/// A type mismatch found by a visitor is a payload of the wrong shape; anything else is bad JSON.
pub(crate) fn json_error(e: &serde_json::Error) -> DecodeError {
    if e.is_data() {
        DecodeError::InvalidPayload
    } else {
        DecodeError::InvalidJson
    }
}

/// What the first element of an event array says.
enum EventName {
    Name(SmolStr),
    Reserved,
}

/// Reads the event name from the first element, then checks the rest of the array without
/// building it.
struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = EventName;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array starting with the event name")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EventName, A::Error> {
        let name = seq
            .next_element::<NameElement>()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(name.0)
    }
}

/// The first element of an event array: a string or a number.
struct NameElement(EventName);

impl<'de> de::Deserialize<'de> for NameElement {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NameVisitor).map(NameElement)
    }
}

struct NameVisitor;

impl<'de> Visitor<'de> for NameVisitor {
    type Value = EventName;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event name (string or number)")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<EventName, E> {
        Ok(if is_reserved_event(s) {
            EventName::Reserved
        } else {
            EventName::Name(SmolStr::new(s))
        })
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<EventName, E> {
        Ok(EventName::Name(smol_str::format_smolstr!("{n}")))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<EventName, E> {
        Ok(EventName::Name(smol_str::format_smolstr!("{n}")))
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<EventName, E> {
        Ok(EventName::Name(number_name(f)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_event_names_read_like_javascript_strings() {
        assert_eq!(
            check_json(PacketType::Event, Some("[1]"))
                .unwrap()
                .as_deref(),
            Some("1")
        );
        assert_eq!(
            check_json(PacketType::Event, Some("[-2]"))
                .unwrap()
                .as_deref(),
            Some("-2")
        );
        assert_eq!(
            check_json(PacketType::Event, Some("[1.0]"))
                .unwrap()
                .as_deref(),
            Some("1")
        );
        assert_eq!(
            check_json(PacketType::Event, Some("[1.5]"))
                .unwrap()
                .as_deref(),
            Some("1.5")
        );
    }

    #[test]
    fn escaped_event_names_are_unescaped() {
        assert_eq!(
            check_json(PacketType::Event, Some(r#"["a\"b\u00e9"]"#))
                .unwrap()
                .as_deref(),
            Some("a\"b\u{e9}")
        );
    }

    #[test]
    fn whitespace_around_json_is_accepted() {
        assert!(check_json(PacketType::Connect, Some(" {} \n")).is_ok());
        assert!(check_json(PacketType::Event, Some(" [ \"a\" , 1 ] ")).is_ok());
    }

    #[test]
    fn trailing_garbage_after_json_is_invalid_json() {
        assert_eq!(
            check_json(PacketType::Event, Some("[\"a\"]x")),
            Err(DecodeError::InvalidJson)
        );
        assert_eq!(
            check_json(PacketType::Connect, Some("{}{}")),
            Err(DecodeError::InvalidJson)
        );
    }
}
