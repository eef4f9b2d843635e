//! The JSON parser against the literal wire examples of PROTOCOL-FACTS §3.2, §3.3, §10, §11.

use bytes::Bytes;
use bytestring::ByteString;
use serde_bytes::ByteBuf;

use super::*;
use crate::{Map, Value};

fn decoder() -> JsonDecoder {
    JsonParser::default().decoder()
}

/// Decodes one complete text packet.
fn decode(text: &str) -> Result<Packet, DecodeError> {
    let mut d = decoder();
    d.decode_str(text).map(|p| p.expect("a complete packet"))
}

fn decode_err(text: &str) -> DecodeError {
    let mut d = decoder();
    d.decode_str(text).expect_err(text)
}

/// The Socket.IO text of an encoded packet, without the Engine.IO prefix.
fn text_of(encoded: &Encoded) -> String {
    String::from_utf8(encoded.text().expect("a text packet").to_vec()).unwrap()
}

fn bin(bytes: &'static [u8]) -> Value {
    Value::Binary(Bytes::from_static(bytes))
}

fn obj(entries: Vec<(&str, Value)>) -> Value {
    Value::Object(entries.into_iter().collect())
}

const BIN_BACK: &str =
    r#"52-["bin-back",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}]"#;

#[test]
fn binary_event_with_two_attachments_is_reassembled_in_place() {
    let mut d = decoder();
    assert_eq!(d.decode_str(BIN_BACK), Ok(None));
    assert!(d.is_partial());
    assert_eq!(d.decode_binary(Bytes::from_static(&[1, 2, 3])), Ok(None));
    let p = d.decode_binary(Bytes::from_static(&[4])).unwrap().unwrap();
    assert!(!d.is_partial());
    assert_eq!(p.kind(), PacketType::Event);
    assert_eq!(p.nsp(), "/");
    assert_eq!(p.event_name(), Some("bin-back"));
    assert!(p.has_binary());
    let args: Vec<Value> = p.args().unwrap();
    assert_eq!(
        args,
        vec![bin(&[1, 2, 3]), obj(vec![("nested", bin(&[4]))])]
    );
}

#[test]
fn binary_event_args_read_into_typed_buffers() {
    #[derive(serde::Deserialize)]
    struct Nested {
        nested: ByteBuf,
    }
    let mut d = decoder();
    d.decode_str(BIN_BACK).unwrap();
    d.decode_binary(Bytes::from_static(&[1, 2, 3])).unwrap();
    let p = d.decode_binary(Bytes::from_static(&[4])).unwrap().unwrap();
    let (first, second): (ByteBuf, Nested) = p.args().unwrap();
    assert_eq!(
        (first.as_slice(), second.nested.as_slice()),
        (&[1u8, 2, 3][..], &[4u8][..])
    );
    // A `Vec<u8>` (a sequence of numbers to serde) reads a binary too.
    assert_eq!(p.arg::<Vec<u8>>(0).unwrap(), vec![1, 2, 3]);
}

#[test]
fn binary_event_is_encoded_with_placeholders_numbered_depth_first() {
    let packet = Packet::event(
        "/",
        "bin-back",
        vec![bin(&[1, 2, 3]), obj(vec![("nested", bin(&[4]))])],
    );
    let enc = JsonParser::default().encode(&packet).unwrap();
    assert_eq!(text_of(&enc), BIN_BACK);
    assert_eq!(
        enc.text_with_prefix().unwrap()[..],
        *format!("4{BIN_BACK}").as_bytes()
    );
    assert_eq!(
        enc.binaries(),
        [Bytes::from_static(&[1, 2, 3]), Bytes::from_static(&[4])]
    );
    assert_eq!(enc.message_count(), 3);
}

#[test]
fn typed_binary_args_are_encoded_like_values() {
    #[derive(serde::Serialize)]
    struct Nested {
        nested: ByteBuf,
    }
    let args = (
        ByteBuf::from(vec![1, 2, 3]),
        Nested {
            nested: ByteBuf::from(vec![4]),
        },
    );
    let enc = JsonParser::default()
        .encode_event("/", "bin-back", &args, None)
        .unwrap();
    assert_eq!(text_of(&enc), BIN_BACK);
    assert_eq!(
        enc.binaries(),
        [Bytes::from_static(&[1, 2, 3]), Bytes::from_static(&[4])]
    );
}

#[test]
fn binary_ack_carries_its_id_after_the_attachment_count() {
    let wire = r#"61-15["bar",{"_placeholder":true,"num":0}]"#;
    let mut d = decoder();
    assert_eq!(d.decode_str(wire), Ok(None));
    let p = d
        .decode_binary(Bytes::from_static(b"\xff"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (p.kind(), p.id(), p.event_name()),
        (PacketType::Ack, Some(15), None)
    );
    assert_eq!(
        p.args::<Vec<Value>>().unwrap(),
        vec![Value::from("bar"), bin(b"\xff")]
    );

    let parser = JsonParser::default();
    let enc = parser.encode(&p).unwrap();
    assert_eq!(text_of(&enc), wire);
    let enc = parser
        .encode_ack("/", 15, &("bar", ByteBuf::from(vec![0xff])))
        .unwrap();
    assert_eq!(text_of(&enc), wire);
    assert_eq!(enc.binaries(), [Bytes::from_static(b"\xff")]);
}

#[test]
fn ack_in_a_namespace_round_trips() {
    let wire = r#"3/admin,13["bar"]"#;
    let p = decode(wire).unwrap();
    assert_eq!(
        (p.kind(), p.nsp().as_str(), p.id()),
        (PacketType::Ack, "/admin", Some(13))
    );
    assert_eq!(p.args::<(String,)>().unwrap().0, "bar");
    assert!(matches!(p.payload(), Some(Payload::Json(_))));
    assert_eq!(text_of(&JsonParser::default().encode(&p).unwrap()), wire);
    let enc = JsonParser::default()
        .encode_ack("/admin", 13, &["bar"])
        .unwrap();
    assert_eq!(text_of(&enc), wire);
}

#[test]
fn ack_without_payload_is_accepted_with_no_arguments() {
    let p = decode("3/admin,13").unwrap();
    assert_eq!(
        (p.kind(), p.id(), p.payload()),
        (PacketType::Ack, Some(13), None)
    );
    p.args::<()>().unwrap();
    assert!(p.args::<Vec<Value>>().unwrap().is_empty());
}

#[test]
fn disconnect_from_a_namespace_round_trips() {
    let p = decode("1/admin,").unwrap();
    assert_eq!(
        (p.kind(), p.nsp().as_str(), p.payload()),
        (PacketType::Disconnect, "/admin", None)
    );
    assert_eq!(
        text_of(
            &JsonParser::default()
                .encode(&Packet::disconnect("/admin"))
                .unwrap()
        ),
        "1/admin,"
    );
    assert_eq!(
        text_of(
            &JsonParser::default()
                .encode(&Packet::disconnect("/"))
                .unwrap()
        ),
        "1"
    );
}

#[test]
fn connect_without_trailing_comma_is_accepted_and_written_with_it() {
    let p = decode("0/custom").unwrap();
    assert_eq!(
        (p.kind(), p.nsp().as_str(), p.payload()),
        (PacketType::Connect, "/custom", None)
    );
    assert_eq!(
        text_of(&JsonParser::default().encode(&p).unwrap()),
        "0/custom,"
    );
}

#[test]
fn connect_with_auth_object_is_accepted() {
    let p = decode(r#"0/admin,{"token":"abc"}"#).unwrap();
    let auth: Value = p.payload().unwrap().to_value().unwrap();
    assert_eq!(auth.get("token"), Some(&Value::from("abc")));
    assert_eq!(decode("0").unwrap().nsp(), "/");
}

#[test]
fn connect_reply_and_connect_error_are_written_like_socket_io() {
    let parser = JsonParser::default();
    let mut sid = Map::new();
    sid.insert("sid", Value::from("abc"));
    assert_eq!(
        text_of(
            &parser
                .encode(&Packet::connect("/", Some(sid.clone())))
                .unwrap()
        ),
        r#"0{"sid":"abc"}"#
    );
    assert_eq!(
        text_of(
            &parser
                .encode(&Packet::connect("/custom", Some(sid)))
                .unwrap()
        ),
        r#"0/custom,{"sid":"abc"}"#
    );
    let refused = Packet::connect_error("/foo", "Invalid namespace", None);
    assert_eq!(
        text_of(&parser.encode(&refused).unwrap()),
        r#"4/foo,{"message":"Invalid namespace"}"#
    );
    let refused = Packet::connect_error(
        "/private",
        "not authorized",
        Some(obj(vec![("reason", Value::from("bad token"))])),
    );
    assert_eq!(
        text_of(&parser.encode(&refused).unwrap()),
        r#"4/private,{"message":"not authorized","data":{"reason":"bad token"}}"#
    );
}

#[test]
fn connect_error_accepts_string_or_object_only() {
    assert!(decode(r#"4"bad""#).is_ok());
    assert!(decode(r#"4/x,{"message":"bad"}"#).is_ok());
    assert_eq!(decode_err("4[1]"), DecodeError::InvalidPayload);
    assert_eq!(decode_err("4"), DecodeError::InvalidPayload);
}

#[test]
fn placeholder_with_non_integer_num_is_rejected() {
    // CVE-2022-2421: `num: "splice"` once resolved to an array method.
    assert_eq!(
        decode_err(r#"51-["hello",{"_placeholder":true,"num":"splice"}]"#),
        DecodeError::IllegalPlaceholder
    );
}

#[test]
fn placeholder_out_of_range_is_rejected() {
    assert_eq!(
        decode_err(r#"51-["a",{"_placeholder":true,"num":1}]"#),
        DecodeError::IllegalPlaceholder
    );
    assert_eq!(
        decode_err(r#"51-["a",{"_placeholder":true,"num":-1}]"#),
        DecodeError::IllegalPlaceholder
    );
    assert_eq!(
        decode_err(r#"51-["a",{"_placeholder":true,"num":0.5}]"#),
        DecodeError::IllegalPlaceholder
    );
    assert_eq!(
        decode_err(r#"51-["a",{"_placeholder":true}]"#),
        DecodeError::IllegalPlaceholder
    );
}

#[test]
fn object_whose_placeholder_flag_is_not_exactly_true_stays_an_object() {
    let mut d = decoder();
    assert_eq!(
        d.decode_str(r#"51-["a",{"_placeholder":"true","num":0},{"_placeholder":true,"num":0}]"#),
        Ok(None)
    );
    let p = d.decode_binary(Bytes::from_static(b"x")).unwrap().unwrap();
    let args: Vec<Value> = p.args().unwrap();
    assert_eq!(
        args.first().and_then(|a| a.get("_placeholder")),
        Some(&Value::from("true"))
    );
    assert_eq!(args.get(1), Some(&bin(b"x")));
}

#[test]
fn placeholders_in_a_plain_event_are_left_alone() {
    let p = decode(r#"2["a",{"_placeholder":true,"num":0}]"#).unwrap();
    assert!(!p.has_binary());
    assert_eq!(p.arg::<Value>(0).unwrap().get("num"), Some(&Value::from(0)));
}

#[test]
fn eleven_attachments_are_rejected_and_ten_accepted() {
    assert_eq!(decode_err(r#"511-["a"]"#), DecodeError::TooManyAttachments);
    let mut d = decoder();
    let placeholders: Vec<String> = (0..10)
        .map(|n| format!(r#"{{"_placeholder":true,"num":{n}}}"#))
        .collect();
    let text = format!(r#"510-["a",{}]"#, placeholders.join(","));
    assert_eq!(d.decode_str(&text), Ok(None));
    for n in 0..9u8 {
        assert_eq!(d.decode_binary(Bytes::from(vec![n])), Ok(None));
    }
    let p = d.decode_binary(Bytes::from(vec![9])).unwrap().unwrap();
    let args: Vec<Value> = p.args().unwrap();
    assert_eq!(args.len(), 10);
    assert_eq!(args.last(), Some(&Value::Binary(Bytes::from(vec![9]))));
}

#[test]
fn attachment_limit_is_configurable() {
    let mut d = JsonParser::default().with_max_attachments(2).decoder();
    assert_eq!(
        d.decode_str(r#"53-["a"]"#),
        Err(DecodeError::TooManyAttachments)
    );
    assert_eq!(d.decode_str(r#"52-["a"]"#), Ok(None));
}

#[test]
fn huge_attachment_count_is_rejected_without_panic() {
    let text = format!("5{}-[\"a\"]", "9".repeat(10_000));
    assert_eq!(decode_err(&text), DecodeError::TooManyAttachments);
    let text = format!("5{}-[\"a\"]", "1".repeat(100));
    assert_eq!(decode_err(&text), DecodeError::TooManyAttachments);
}

#[test]
fn malformed_attachment_count_is_rejected() {
    for text in [
        "5",
        "5-[\"a\"]",
        "5[\"a\"]",
        "51[\"a\"]",
        "5a-[\"a\"]",
        "5 1-[\"a\"]",
        "6",
        "6-1[]",
    ] {
        assert_eq!(decode_err(text), DecodeError::IllegalAttachments, "{text}");
    }
}

#[test]
fn binary_packet_announcing_zero_attachments_is_complete_at_once() {
    let p = decode(r#"50-["a",1]"#).unwrap();
    assert_eq!((p.kind(), p.event_name()), (PacketType::Event, Some("a")));
    assert_eq!(p.args::<(u8,)>().unwrap(), (1,));
    assert_eq!(
        decode_err(r#"50-["a",{"_placeholder":true,"num":0}]"#),
        DecodeError::IllegalPlaceholder
    );
}

#[test]
fn event_name_that_is_not_a_string_or_number_is_rejected() {
    // CVE-2023-32695.
    assert_eq!(
        decode_err(r#"2[{"toString":"foo"}]"#),
        DecodeError::InvalidPayload
    );
    for text in [
        "2[null]",
        "2[true]",
        "2[[1]]",
        "2[]",
        "2{}",
        "2\"a\"",
        "2",
        r#"51-[{"_placeholder":true,"num":0}]"#,
    ] {
        assert_eq!(decode_err(text), DecodeError::InvalidPayload, "{text}");
    }
}

#[test]
fn reserved_event_names_are_rejected() {
    for name in [
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
    ] {
        assert_eq!(
            decode_err(&format!(r#"2["{name}"]"#)),
            DecodeError::ReservedEventName,
            "{name}"
        );
        assert_eq!(
            decode_err(&format!(r#"50-["{name}"]"#)),
            DecodeError::ReservedEventName,
            "{name}"
        );
    }
    // Escapes are read before the check.
    assert_eq!(
        decode_err(r#"2["disconn\u0065ct"]"#),
        DecodeError::ReservedEventName
    );
}

#[test]
fn error_event_is_accepted() {
    // CVE-2024-38355: `error` is an ordinary event from a client.
    let p = decode(r#"2["error","x"]"#).unwrap();
    assert_eq!(p.event_name(), Some("error"));
    assert_eq!(p.args::<(String,)>().unwrap().0, "x");
}

#[test]
fn numeric_event_name_is_accepted() {
    assert_eq!(decode("2[42,\"x\"]").unwrap().event_name(), Some("42"));
}

#[test]
fn huge_ack_id_digit_run_is_rejected_without_panic() {
    let text = format!("2{}[\"a\"]", "9".repeat(10_000));
    assert_eq!(decode_err(&text), DecodeError::InvalidAckId);
    assert_eq!(
        decode_err("218446744073709551616[\"a\"]"),
        DecodeError::InvalidAckId
    );
    assert_eq!(
        decode("218446744073709551615[\"a\"]").unwrap().id(),
        Some(u64::MAX)
    );
}

#[test]
fn empty_text_is_rejected() {
    assert_eq!(decode_err(""), DecodeError::EmptyPacket);
}

#[test]
fn unknown_packet_type_is_rejected() {
    for text in ["7", "9[\"a\"]", "a", "-1", "/", " 2[\"a\"]"] {
        assert_eq!(decode_err(text), DecodeError::UnknownPacketType, "{text}");
    }
}

#[test]
fn invalid_json_is_rejected() {
    for text in [
        "2[\"a\"",
        "2[\"a\",]",
        "0{",
        "2[\"a\"]]",
        "0{\"a\":1}x",
        "3[1 2]",
        "2[\"a\u{1}\"]",
        "51-[\"a\"",
    ] {
        assert_eq!(decode_err(text), DecodeError::InvalidJson, "{text:?}");
    }
}

#[test]
fn payload_of_the_wrong_shape_is_rejected() {
    for text in [
        "0[]",
        "0\"x\"",
        "0null",
        "0 ",
        "1{}",
        "1/admin,{}",
        "1[]",
        "3{}",
        "3\"a\"",
        "3null",
        "61-{}",
    ] {
        assert_eq!(decode_err(text), DecodeError::InvalidPayload, "{text:?}");
    }
}

#[test]
fn invalid_utf8_text_is_rejected() {
    let mut d = decoder();
    assert_eq!(
        d.decode_text(Bytes::from_static(b"2[\"\xff\"]")),
        Err(DecodeError::InvalidUtf8)
    );
}

#[test]
fn text_while_attachments_are_pending_is_rejected_and_the_decoder_recovers() {
    let mut d = decoder();
    assert_eq!(
        d.decode_str(r#"51-["a",{"_placeholder":true,"num":0}]"#),
        Ok(None)
    );
    assert_eq!(d.decode_str(r#"2["b"]"#), Err(DecodeError::UnexpectedText));
    assert!(!d.is_partial());
    assert_eq!(
        d.decode_str(r#"2["b"]"#).unwrap().unwrap().event_name(),
        Some("b")
    );
}

#[test]
fn binary_when_no_attachment_is_expected_is_rejected() {
    let mut d = decoder();
    assert_eq!(
        d.decode_binary(Bytes::from_static(b"x")),
        Err(DecodeError::UnexpectedBinary)
    );
    d.decode_str(r#"2["a"]"#).unwrap();
    assert_eq!(
        d.decode_binary(Bytes::from_static(b"x")),
        Err(DecodeError::UnexpectedBinary)
    );
}

#[test]
fn reset_drops_a_partial_packet() {
    let mut d = decoder();
    d.decode_str(r#"51-["a",{"_placeholder":true,"num":0}]"#)
        .unwrap();
    d.reset();
    assert!(!d.is_partial());
    assert_eq!(
        d.decode_binary(Bytes::from_static(b"x")),
        Err(DecodeError::UnexpectedBinary)
    );
}

#[test]
fn plain_event_payload_is_a_slice_of_the_received_bytes() {
    let text = Bytes::from_static(br#"2/chat,7["msg",{"a":[1,2]}]"#);
    let mut d = decoder();
    let p = d.decode_text(text.clone()).unwrap().unwrap();
    let Some(Payload::Json(raw)) = p.payload() else {
        panic!("raw JSON expected")
    };
    assert_eq!(raw.as_bytes(), br#"["msg",{"a":[1,2]}]"#);
    let offset = text.len() - raw.as_bytes().len();
    assert_eq!(raw.as_bytes().as_ptr(), text[offset..].as_ptr());
}

#[test]
fn a_message_read_as_text_keeps_its_prefix_and_its_json_is_the_rest_of_it() {
    let text = ByteString::from(r#"42/chat,7["msg","é",{"a":[1,2]}]"#.to_owned());
    let mut d = decoder();
    let p = d.decode_utf8(text.clone(), 1).unwrap().unwrap();
    assert_eq!(p, decoder().decode_str(&text[1..]).unwrap().unwrap());
    let Some(Payload::Json(raw)) = p.payload() else {
        panic!("raw JSON expected")
    };
    assert_eq!(raw.as_str(), r#"["msg","é",{"a":[1,2]}]"#);
    let offset = text.len() - raw.as_str().len();
    assert_eq!(raw.as_str().as_ptr(), text[offset..].as_ptr());
    assert_eq!(p.arg::<String>(0).unwrap(), "é");
    assert_eq!(
        raw.clone().into_bytes(),
        Bytes::from_static(r#"["msg","é",{"a":[1,2]}]"#.as_bytes())
    );
}

#[test]
fn typed_args_borrow_strings_from_raw_json() {
    #[derive(serde::Deserialize, PartialEq, Debug)]
    struct Msg<'a> {
        user: &'a str,
        n: u32,
    }
    let p = decode(r#"2["chat",{"user":"ann","n":3},"extra"]"#).unwrap();
    let (msg,): (Msg<'_>,) = p.args().unwrap();
    assert_eq!(msg, Msg { user: "ann", n: 3 });
    assert_eq!(p.arg::<&str>(1).unwrap(), "extra");
}

#[test]
fn raw_json_is_forwarded_verbatim() {
    let wire = r#"2/admin,1["a", {"b": [1, 2.50]}]"#;
    let p = decode(wire).unwrap();
    assert_eq!(text_of(&JsonParser::default().encode(&p).unwrap()), wire);
}

#[test]
fn namespaces_and_event_names_may_be_any_unicode() {
    let p = decode(r#"2/ñ,["é\n"]"#).unwrap();
    assert_eq!((p.nsp().as_str(), p.event_name()), ("/ñ", Some("é\n")));
    let enc = JsonParser::default()
        .encode_event("/ñ", "é\n", &(), None)
        .unwrap();
    assert_eq!(text_of(&enc), r#"2/ñ,["é\n"]"#);
}

#[test]
fn ack_id_is_read_for_every_packet_type() {
    assert_eq!(decode(r#"0/admin,5{}"#).unwrap().id(), Some(5));
}

#[test]
fn encoding_rejects_bad_namespaces() {
    let parser = JsonParser::default();
    for nsp in ["admin", "/a,b", ""] {
        assert!(
            matches!(
                parser.encode_event(nsp, "x", &(), None),
                Err(EncodeError::InvalidNamespace)
            ),
            "{nsp}"
        );
        assert!(
            matches!(
                parser.encode(&Packet::disconnect(nsp)),
                Err(EncodeError::InvalidNamespace)
            ),
            "{nsp}"
        );
    }
}

#[test]
fn encoding_args_that_are_not_a_sequence_is_an_error() {
    let parser = JsonParser::default();
    assert!(matches!(
        parser.encode_event("/", "x", &5, None),
        Err(EncodeError::ArgsNotASequence)
    ));
    assert!(matches!(
        parser.encode_ack("/", 1, "s"),
        Err(EncodeError::ArgsNotASequence)
    ));
}

#[test]
fn unit_args_mean_no_arguments() {
    let parser = JsonParser::default();
    assert_eq!(
        text_of(&parser.encode_event("/", "ping", &(), None).unwrap()),
        r#"2["ping"]"#
    );
    assert_eq!(
        text_of(
            &parser
                .encode_event("/", "ping", &[0u8; 0], Some(0))
                .unwrap()
        ),
        r#"20["ping"]"#
    );
    assert_eq!(text_of(&parser.encode_ack("/", 3, &()).unwrap()), "33[]");
}

#[test]
fn typed_and_value_encodings_agree() {
    #[derive(serde::Serialize)]
    struct Msg<'a> {
        text: &'a str,
        tags: Vec<&'a str>,
    }
    let parser = JsonParser::default();
    let typed = parser
        .encode_event(
            "/x",
            "say",
            &(
                Msg {
                    text: "hi",
                    tags: vec!["a"],
                },
                2.5,
            ),
            Some(9),
        )
        .unwrap();
    let value = Packet::event(
        "/x",
        "say",
        vec![
            obj(vec![
                ("text", Value::from("hi")),
                ("tags", Value::from(vec![Value::from("a")])),
            ]),
            Value::from(2.5),
        ],
    )
    .with_id(9);
    assert_eq!(typed, parser.encode(&value).unwrap());
    assert_eq!(
        text_of(&typed),
        r#"2/x,9["say",{"text":"hi","tags":["a"]},2.5]"#
    );
}

#[test]
fn encoded_text_and_its_prefixed_form_share_memory() {
    let enc = JsonParser::default()
        .encode_event("/", "a", &(1,), None)
        .unwrap();
    let with_prefix = enc.text_with_prefix().unwrap().clone();
    assert_eq!(with_prefix.first(), Some(&b'4'));
    assert_eq!(enc.text().unwrap().as_ptr(), with_prefix[1..].as_ptr());
    let copy = enc.clone();
    assert_eq!(
        copy.text_with_prefix().unwrap().as_ptr(),
        with_prefix.as_ptr()
    );
}

#[test]
fn binary_outside_events_and_acks_is_written_as_numbers() {
    let mut auth = Map::new();
    auth.insert("k", bin(&[1, 2]));
    let enc = JsonParser::default()
        .encode(&Packet::connect("/", Some(auth)))
        .unwrap();
    assert_eq!(text_of(&enc), r#"0{"k":[1,2]}"#);
    assert!(enc.binaries().is_empty());
}

#[test]
fn nested_binary_with_ack_id_matches_socket_io_parser_output() {
    // Produced by socket.io-parser 4.2.7's Encoder for the same packet.
    #[derive(serde::Serialize)]
    struct Holder {
        a: Vec<ByteBuf>,
    }
    let args = (
        ByteBuf::from(vec![1]),
        Holder {
            a: vec![ByteBuf::from(vec![2])],
        },
    );
    let enc = JsonParser::default()
        .encode_event("/", "x", &args, Some(3))
        .unwrap();
    assert_eq!(
        text_of(&enc),
        r#"52-3["x",{"_placeholder":true,"num":0},{"a":[{"_placeholder":true,"num":1}]}]"#
    );
    assert_eq!(
        enc.binaries(),
        [Bytes::from_static(&[1]), Bytes::from_static(&[2])]
    );
    assert_eq!(
        text_of(&JsonParser::default().encode_ack("/a", 0, &()).unwrap()),
        "3/a,0[]"
    );
}

/// Found by the `sio_json` fuzz target: a number in a binary packet is parsed into a `Value`,
/// and a parse that is not correctly rounded changed it by one unit in the last place when the
/// packet was encoded and decoded again (JavaScript's `JSON.parse` rounds correctly).
#[test]
fn numbers_in_binary_packets_survive_a_round_trip() {
    let parser = JsonParser::default();
    let mut d = parser.decoder();
    const NUMBER: &str = "555555555555555555555555555555550";
    let text = format!(r#"62-[{{"e":{NUMBER}}}]"#);
    assert!(matches!(d.decode_str(&text), Ok(None)));
    assert!(matches!(d.decode_binary(Bytes::new()), Ok(None)));
    let packet = d.decode_binary(Bytes::new()).unwrap().expect("complete");
    let encoded = parser.encode(&packet).unwrap();
    let again = parser
        .decoder()
        .decode_text(encoded.text().expect("text"))
        .unwrap()
        .expect("complete");
    let value = |p: &Packet| p.payload().map(|p| p.to_value().unwrap());
    assert_eq!(value(&again), value(&packet));
    assert_eq!(
        value(&packet),
        Some(Value::Array(vec![obj(vec![(
            "e",
            Value::from(NUMBER.parse::<f64>().unwrap())
        )])]))
    );
}

/// Found by the `sio_json` fuzz target: a large integer event name read from a binary packet
/// went through `f64` (`9999999990011011072`) while the same packet re-encoded as plain text
/// kept every digit, so the name changed in a round trip.
#[test]
fn large_integer_event_names_agree_in_binary_and_plain_packets() {
    let parser = JsonParser::default();
    let binary = decode("50-[9999999990011011111]").unwrap();
    assert_eq!(binary.event_name(), Some("9999999990011011111"));
    let plain = decode("2[9999999990011011111]").unwrap();
    assert_eq!(plain.event_name(), binary.event_name());
    let encoded = parser.encode(&binary).unwrap();
    let again = decode(&text_of(&encoded)).unwrap();
    assert_eq!(again.event_name(), binary.event_name());
    assert_eq!(
        decode("50-[-9999999990011011]").unwrap().event_name(),
        Some("-9999999990011011")
    );
}

/// Found by the `sio_json` fuzz target: placeholders may name one attachment several times (as
/// socket.io-parser allows), and encoding the decoded packet again writes one attachment per
/// placeholder, as socket.io-parser's encoder does. Two attachments named eleven times thus
/// come back as eleven, past the limit, and a decoder refuses them at once.
#[test]
fn an_attachment_named_many_times_is_encoded_once_per_name() {
    let parser = JsonParser::default();
    let placeholders = [r#"{"_placeholder":true,"num":1}"#; 10].join(",");
    let text = format!(r#"62-0[{placeholders},{{"_placeholder":true,"num":0}}]"#);
    let mut d = parser.decoder();
    assert!(matches!(d.decode_str(&text), Ok(None)));
    assert!(matches!(
        d.decode_binary(Bytes::from_static(b"a")),
        Ok(None)
    ));
    let packet = d.decode_binary(Bytes::from_static(b"b")).unwrap().unwrap();
    let args: Vec<Value> = packet.args().unwrap();
    assert_eq!(args.len(), 11);
    assert_eq!(args.first(), Some(&bin(b"b")));
    assert_eq!(args.last(), Some(&bin(b"a")));

    let encoded = parser.encode(&packet).unwrap();
    assert_eq!(encoded.binaries().len(), 11);
    assert!(text_of(&encoded).starts_with("611-0["));
    assert_eq!(
        parser.decoder().decode_str(&text_of(&encoded)),
        Err(DecodeError::TooManyAttachments)
    );
}

#[test]
fn a_binary_value_read_from_an_event_and_sent_back_is_never_copied() {
    let data = Bytes::from(vec![7u8; 100]);
    let mut d = decoder();
    assert_eq!(
        d.decode_str(r#"51-["e",{"_placeholder":true,"num":0}]"#),
        Ok(None)
    );
    let packet = d.decode_binary(data.clone()).unwrap().unwrap();
    let value: Value = packet.arg(0).unwrap();
    assert_eq!(
        value.as_binary().map(|b| b.as_ptr()),
        Some(data.as_ptr()),
        "read without a copy"
    );
    let encoded = JsonParser::default().encode_ack("/", 1, &(value,)).unwrap();
    assert_eq!(
        encoded.binaries().first().map(|b| b.as_ptr()),
        Some(data.as_ptr()),
        "sent without a copy"
    );
    assert_eq!(encoded.binaries().first(), Some(&data));
}
