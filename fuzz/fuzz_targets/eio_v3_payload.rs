//! Engine.IO v3 polling payloads: the input is decoded as a text payload and as a binary (XHR2)
//! payload. Whatever decodes must survive encode → decode in both payload forms.
#![no_main]

use bytes::Bytes;
use engineio::{Packet, v3};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = Bytes::copy_from_slice(data);
    if let Ok(packets) = v3::decode_payload(input.clone()) {
        check(&packets);
    }
    if let Ok(packets) = v3::decode_binary_payload(input) {
        check(&packets);
    }
});

fn check(packets: &[Packet]) {
    let text = v3::encode_payload(packets);
    assert_eq!(
        v3::decode_payload(Bytes::from(text)).as_deref(),
        Ok(packets)
    );
    let binary = v3::encode_binary_payload(packets);
    assert_eq!(v3::decode_binary_payload(binary).as_deref(), Ok(packets));
}
