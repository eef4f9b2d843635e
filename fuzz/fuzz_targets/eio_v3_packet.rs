//! Engine.IO v3: one text packet and one binary WebSocket frame, both from the same input.
//! Whatever decodes must survive encode → decode unchanged (a binary message also through the
//! binary frame encoder).
#![no_main]

use bytes::Bytes;
use engineio::{Message, Packet, v3};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = Bytes::copy_from_slice(data);
    if let Ok(packet) = v3::decode_packet(input.clone()) {
        check(&packet);
    }
    if let Ok(packet) = v3::decode_binary_frame(input) {
        check(&packet);
    }
});

fn check(packet: &Packet) {
    let text = v3::encode_packet(packet);
    assert_eq!(v3::decode_packet(Bytes::from(text)).as_ref(), Ok(packet));
    if let Packet::Message(Message::Binary(data)) = packet {
        let frame = v3::encode_binary_frame(data);
        assert_eq!(v3::decode_binary_frame(frame).as_ref(), Ok(packet));
    }
}
