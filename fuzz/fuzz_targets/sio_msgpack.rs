//! The Socket.IO msgpack decoder (socket.io-msgpack-parser): the input is one binary message.
//! A decoded packet is encoded again and must decode to the same type, namespace, id and
//! payload value.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use socketio::{Decoder, MsgpackParser, Parser};

fuzz_target!(|data: &[u8]| {
    let parser = MsgpackParser::default();
    let mut decoder = parser.decoder();
    let Ok(Some(packet)) = decoder.decode_binary(Bytes::copy_from_slice(data)) else {
        return;
    };
    let encoded = parser.encode(&packet).expect("a decoded packet encodes");
    let (text, binaries) = encoded.into_parts();
    assert!(text.is_none());
    let [message] = binaries.as_slice() else {
        panic!("msgpack writes one binary message, got {}", binaries.len());
    };
    let again = parser
        .decoder()
        .decode_binary(message.clone())
        .expect("a re-encoded packet decodes")
        .expect("and is complete");
    assert_eq!(packet.kind(), again.kind());
    assert_eq!(packet.nsp(), again.nsp());
    assert_eq!(packet.id(), again.id());
    assert_eq!(packet.event_name(), again.event_name());
    assert_eq!(
        packet.payload().map(|p| p.to_value().ok()),
        again.payload().map(|p| p.to_value().ok())
    );
});
