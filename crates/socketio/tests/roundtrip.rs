//! Properties of the JSON parser: whatever is encoded decodes to the same packet, the typed and
//! the `Value` encoders agree, and no input makes the decoder panic.

// Test helpers outside `#[test]` functions: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing)]

use bytes::Bytes;
use proptest::prelude::*;
use socketio::{
    Decoder, Encoded, JsonParser, Map, Packet, PacketType, Parser, Value, is_reserved_event,
};

/// Floats that survive a trip through decimal text exactly (serde_json's default float parser
/// is best-effort for arbitrary digits; JavaScript peers send these kinds anyway).
fn arb_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1_000_000i32..1_000_000).prop_map(|n| Value::from(f64::from(n) / 8.0)),
    ]
}

/// Object keys: anything but the placeholder marker, which JSON and binary packets share.
fn arb_key() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("not the placeholder key", |k| k != "_placeholder")
}

fn arb_value(with_binary: bool) -> impl Strategy<Value = Value> + Clone {
    let binary = if with_binary {
        proptest::collection::vec(any::<u8>(), 0..16)
            .prop_map(|b| Value::Binary(Bytes::from(b)))
            .boxed()
    } else {
        Just(Value::Null).boxed()
    };
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        arb_number(),
        any::<String>().prop_map(Value::String),
        binary,
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((arb_key(), inner), 0..5)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

fn arb_map() -> impl Strategy<Value = Map> {
    proptest::collection::vec((arb_key(), arb_value(false)), 0..5)
        .prop_map(|e| e.into_iter().collect())
}

fn arb_nsp() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/".to_owned()),
        "/[a-z0-9_-]{1,10}",
        any::<String>().prop_map(|s| format!("/{}", s.replace(',', "")))
    ]
}

fn arb_event_name() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("not reserved", |n| !is_reserved_event(n))
}

fn arb_packet() -> impl Strategy<Value = Packet> {
    let args = proptest::collection::vec(arb_value(true), 0..5);
    prop_oneof![
        (arb_nsp(), proptest::option::of(arb_map()))
            .prop_map(|(nsp, auth)| Packet::connect(nsp, auth)),
        arb_nsp().prop_map(Packet::disconnect),
        (
            arb_nsp(),
            arb_event_name(),
            args.clone(),
            proptest::option::of(any::<u64>())
        )
            .prop_map(|(nsp, name, args, id)| {
                let p = Packet::event(nsp, name, args);
                match id {
                    Some(id) => p.with_id(id),
                    None => p,
                }
            }),
        (arb_nsp(), any::<u64>(), args).prop_map(|(nsp, id, args)| Packet::ack(nsp, id, args)),
        (
            arb_nsp(),
            any::<String>(),
            proptest::option::of(arb_value(false))
        )
            .prop_map(|(nsp, message, data)| Packet::connect_error(nsp, message, data)),
    ]
}

/// Feeds every message of `encoded` to a fresh decoder; the packet must come out exactly at the
/// last message.
fn decode_all(encoded: &Encoded) -> Packet {
    let mut decoder = JsonParser::default()
        .with_max_attachments(usize::MAX)
        .decoder();
    let mut out = decoder
        .decode_text(encoded.text().expect("text"))
        .expect("text decodes");
    for attachment in encoded.binaries() {
        assert!(out.is_none(), "packet complete before its last attachment");
        out = decoder
            .decode_binary(attachment.clone())
            .expect("attachment decodes");
    }
    out.expect("packet complete after its last attachment")
}

fn same_packet(decoded: &Packet, original: &Packet) {
    assert_eq!(decoded.kind(), original.kind());
    assert_eq!(decoded.nsp(), original.nsp());
    assert_eq!(decoded.id(), original.id());
    assert_eq!(decoded.event_name(), original.event_name());
    let value = |p: &Packet| {
        p.payload()
            .map(|d| d.to_value().expect("payload reads as a value"))
    };
    assert_eq!(value(decoded), value(original));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn encoded_packet_decodes_to_the_same_packet(packet in arb_packet()) {
        let encoded = JsonParser::default().encode(&packet).unwrap();
        let wire_type = encoded.text().unwrap().first().copied();
        let expect_binary = packet.has_binary();
        prop_assert_eq!(!encoded.binaries().is_empty(), expect_binary);
        if expect_binary {
            let binary_type = if packet.kind() == PacketType::Event { b'5' } else { b'6' };
            prop_assert_eq!(wire_type, Some(binary_type));
        }
        same_packet(&decode_all(&encoded), &packet);
    }

    #[test]
    fn decoded_packet_encodes_to_the_same_bytes(packet in arb_packet()) {
        let parser = JsonParser::default();
        let encoded = parser.encode(&packet).unwrap();
        let again = parser.encode(&decode_all(&encoded)).unwrap();
        prop_assert_eq!(again, encoded);
    }

    #[test]
    fn typed_event_encoding_matches_value_encoding(
        nsp in arb_nsp(),
        name in arb_event_name(),
        args in proptest::collection::vec(arb_value(true), 0..5),
        id in proptest::option::of(any::<u64>()),
    ) {
        let parser = JsonParser::default();
        let typed = parser.encode_event(&nsp, &name, &args, id).unwrap();
        let mut packet = Packet::event(nsp.as_str(), name.as_str(), args.clone());
        if let Some(id) = id {
            packet = packet.with_id(id);
        }
        prop_assert_eq!(typed, parser.encode(&packet).unwrap());
    }

    #[test]
    fn decoder_never_panics_on_arbitrary_messages(
        messages in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..64)), 0..8),
    ) {
        let mut decoder = JsonParser::default().decoder();
        for (is_text, data) in messages {
            let _ = if is_text {
                decoder.decode_text(Bytes::from(data))
            } else {
                decoder.decode_binary(Bytes::from(data))
            };
        }
    }

    #[test]
    fn decoder_never_panics_on_packet_like_text(
        messages in proptest::collection::vec(r#"[0-9]{0,3}-?(/[a-z,]{0,4})?[0-9]{0,4}[\[\]{}",:a-z_0-9 .eE+-]{0,40}"#, 1..6),
        binaries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..4), 0..4),
    ) {
        let mut decoder = JsonParser::default().decoder();
        for text in &messages {
            if let Ok(Some(packet)) = decoder.decode_str(text) {
                // Whatever was accepted can be read and sent again.
                let _ = packet.args::<Vec<Value>>();
                let _ = JsonParser::default().encode(&packet);
            }
            for b in &binaries {
                let _ = decoder.decode_binary(Bytes::from(b.clone()));
            }
        }
    }

    #[test]
    fn placeholder_text_with_attachments_never_panics(
        count in 0usize..4,
        nums in proptest::collection::vec(prop_oneof![
            (-2i64..6).prop_map(|n| n.to_string()),
            Just("\"0\"".to_owned()), Just("0.5".to_owned()), Just("1.0".to_owned()), Just("null".to_owned()),
        ], 0..4),
        flag in prop_oneof![Just("true"), Just("1"), Just("\"true\""), Just("false")],
        sent in 0usize..5,
    ) {
        let items: Vec<String> = nums.iter().map(|n| format!(r#"{{"_placeholder":{flag},"num":{n}}}"#)).collect();
        let text = format!(r#"5{count}-["e",{}]"#, items.join(","));
        let mut decoder = JsonParser::default().decoder();
        if let Ok(None) = decoder.decode_str(&text) {
            for i in 0..sent {
                let _ = decoder.decode_binary(Bytes::from(vec![i as u8]));
            }
        }
    }
}

#[cfg(feature = "msgpack")]
mod msgpack {
    use super::*;
    use socketio::MsgpackParser;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn msgpack_packet_decodes_to_the_same_packet(packet in arb_packet()) {
            let encoded = MsgpackParser.encode(&packet).unwrap();
            prop_assert!(encoded.text_with_prefix().is_none());
            prop_assert_eq!(encoded.binaries().len(), 1);
            let mut decoder = MsgpackParser.decoder();
            let decoded = decoder.decode_binary(encoded.binaries()[0].clone()).unwrap().unwrap();
            same_packet(&decoded, &packet);
        }

        #[test]
        fn msgpack_typed_event_encoding_matches_value_encoding(
            nsp in arb_nsp(),
            name in arb_event_name(),
            args in proptest::collection::vec(arb_value(true), 0..5),
        ) {
            let typed = MsgpackParser.encode_event(&nsp, &name, &args, Some(1)).unwrap();
            let packet = Packet::event(nsp.as_str(), name.as_str(), args.clone()).with_id(1);
            prop_assert_eq!(typed, MsgpackParser.encode(&packet).unwrap());
        }

        #[test]
        fn msgpack_decoder_never_panics(data in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = MsgpackParser.decoder().decode_binary(Bytes::from(data));
        }
    }
}
