//! The Socket.IO JSON decoder (socket.io-parser), fed a sequence of Engine.IO messages cut from
//! the input at every `0xFF` byte (a byte UTF-8 text never holds): a piece starting with `0x00`
//! is a binary message (an attachment) without that byte, any other piece a text message. One
//! decoder sees the whole sequence, so attachment reassembly and the state left after an error
//! are exercised. Every decoded packet is encoded again and decoded by a fresh decoder to the
//! same type, namespace, id and payload value; the JSON of a plain packet is UTF-8 that
//! serde_json reads, with the event name the decoder gave (the decoder checks most packets in
//! a pass of its own and leaves the rest to serde_json: the two must agree). A second decoder
//! is fed the same messages as the server feeds it (text read in place after the Engine.IO `4`,
//! `Decoder::decode_utf8`) and must give the same results. The JSON of every text piece (after
//! its header, if any) is also read as a binary packet's with 0 to 3 attachments both ways the
//! decoder can (placeholders as marks, placeholders as objects), which must agree.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde::de::IgnoredAny;
use socketio::parser::ByteString;
use socketio::{Decoder, JsonParser, Packet, Parser, Payload};

fuzz_target!(|data: &[u8]| {
    let parser = JsonParser::default();
    let mut decoder = parser.decoder();
    // Fed the same messages the way the server feeds them: text as the end of the Engine.IO
    // message it came in (`4` first), read in place. Both decoders must agree on everything.
    let mut in_place = parser.decoder();
    for piece in data.split(|&b| b == 0xff) {
        let (result, other) = match piece.split_first() {
            Some((0, attachment)) => {
                let attachment = Bytes::copy_from_slice(attachment);
                (
                    decoder.decode_binary(attachment.clone()),
                    in_place.decode_binary(attachment),
                )
            }
            _ => (
                {
                    placeholders_read_both_ways_agree(piece);
                    decoder.decode_text(Bytes::copy_from_slice(piece))
                },
                match std::str::from_utf8(piece) {
                    Ok(text) => in_place.decode_utf8(ByteString::from(format!("4{text}")), 1),
                    Err(_) => in_place.decode_text(Bytes::copy_from_slice(piece)),
                },
            ),
        };
        assert_eq!(result, other, "the decoders disagree");
        assert_eq!(decoder.is_partial(), in_place.is_partial());
        if let Ok(Some(packet)) = result {
            assert!(!decoder.is_partial());
            serde_json_agrees(&packet);
            round_trip(&parser, &packet);
        }
    }
    decoder.reset();
    assert!(!decoder.is_partial());
});

fn round_trip(parser: &JsonParser, packet: &Packet) {
    let encoded = parser.encode(packet).expect("a decoded packet encodes");
    let (text, binaries) = encoded.into_parts();
    let mut decoder = parser.decoder();
    let mut result = decoder.decode_text(text.expect("the JSON parser writes text").slice(1..));
    // Placeholders may name the same attachment more than once; each becomes an attachment of
    // its own when encoded again (as socket.io-parser does), so the count can pass the limit,
    // and then the decoder must refuse the packet at once, as Node's does.
    if binaries.len() > parser.max_attachments() {
        assert!(result.is_err(), "more attachments than the limit accepted");
        return;
    }
    for binary in binaries {
        assert!(
            matches!(result, Ok(None)),
            "packet complete before its attachments"
        );
        result = decoder.decode_binary(binary);
    }
    let again = result
        .expect("a re-encoded packet decodes")
        .expect("and is complete");
    assert_same(packet, &again);
}

fn assert_same(a: &Packet, b: &Packet) {
    assert_eq!(a.kind(), b.kind());
    assert_eq!(a.nsp(), b.nsp());
    assert_eq!(a.id(), b.id());
    assert_eq!(a.event_name(), b.event_name());
    assert_eq!(
        a.payload().map(|p| p.to_value().ok()),
        b.payload().map(|p| p.to_value().ok())
    );
}

/// The first element of an event array, when it is a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Name {
    Text(String),
    Other(IgnoredAny),
}

/// Reads an array's first element as a [`Name`] and skips the others.
struct FirstName;

impl<'de> serde::de::Visitor<'de> for FirstName {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let first = seq.next_element::<Name>()?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(match first {
            Some(Name::Text(name)) => Some(name),
            _ => None,
        })
    }
}

fn serde_json_agrees(packet: &Packet) {
    let Some(Payload::Json(raw)) = packet.payload() else {
        return;
    };
    let text = std::str::from_utf8(raw.as_bytes()).expect("accepted JSON is UTF-8");
    serde_json::from_str::<IgnoredAny>(text).expect("accepted JSON is valid for serde_json");
    if let Some(name) = packet.event_name() {
        let mut de = serde_json::Deserializer::from_str(text);
        let first = serde::Deserializer::deserialize_seq(&mut de, FirstName)
            .expect("an accepted event's array reads");
        if let Some(first) = first {
            assert_eq!(first, name, "the event name serde_json reads");
        }
    }
}

/// Reads the JSON of a text piece (from its first `[` or `{`, where a packet's payload starts)
/// as a binary packet's, both ways, with 0 to 3 attachments.
fn placeholders_read_both_ways_agree(piece: &[u8]) {
    let Ok(text) = std::str::from_utf8(piece) else {
        return;
    };
    let json = text
        .find(['[', '{'])
        .and_then(|at| text.get(at..))
        .unwrap_or(text);
    let attachments: Vec<Bytes> = (0..3u8).map(|n| Bytes::from(vec![n; 2])).collect();
    for count in 0..=attachments.len() {
        let (marked, objects) =
            socketio::fuzzing::read_binary_json_both_ways(json, &attachments[..count]);
        assert_eq!(marked, objects, "placeholders read two ways disagree");
    }
}
