//! The server's WebSocket framing (RFC 6455 §5), driven by raw frames: what a peer that
//! breaks the protocol gets (a close frame with the right code, and the end of its session),
//! and what a well-behaved one gets (pongs, masked fragments reassembled, a close answered).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::*;
use engineio::{CloseReason, Config, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const UPGRADE: &str = "upgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n";

/// A client frame, masked with `mask` (`None`: not masked at all, which clients must not do).
fn frame(opcode: u8, fin: bool, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
    let bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(bit | n as u8),
        n if n <= 0xffff => {
            out.push(bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

const KEY: Option<[u8; 4]> = Some([0x12, 0x34, 0x56, 0x78]);

/// One server frame: (fin, opcode, payload).
type ServerFrame = (bool, u8, Vec<u8>);

/// A raw WebSocket session: the stream and what was read past the last frame.
struct Raw {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    async fn open(server: &TestServer) -> Raw {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(
            format!(
                "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nhost: x\r\n{UPGRADE}\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        let mut raw = Raw { s, buf: Vec::new() };
        loop {
            if let Some(end) = raw.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                assert!(raw.buf.starts_with(b"HTTP/1.1 101"));
                raw.buf.drain(..end + 4);
                break;
            }
            assert!(raw.fill().await, "closed during the handshake");
        }
        let (_, opcode, open) = raw.next_frame().await.expect("no open packet");
        assert_eq!(opcode, 1);
        assert!(open.starts_with(b"0{"));
        raw
    }

    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(20), self.s.read(&mut chunk))
            .await
            .expect("the server sent nothing")
            .unwrap_or(0);
        self.buf.extend_from_slice(&chunk[..n]);
        n > 0
    }

    /// The next server frame; `None` once the connection ended.
    async fn next_frame(&mut self) -> Option<ServerFrame> {
        loop {
            if self.buf.len() >= 2 {
                assert_eq!(self.buf[1] & 0x80, 0, "a server frame must not be masked");
                let (len, at) = match self.buf[1] & 0x7f {
                    126 if self.buf.len() >= 4 => {
                        (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
                    }
                    127 if self.buf.len() >= 10 => (
                        u64::from_be_bytes(self.buf[2..10].try_into().unwrap()) as usize,
                        10,
                    ),
                    126 | 127 => (usize::MAX, 0),
                    n => (n as usize, 2),
                };
                if at > 0 && self.buf.len() >= at + len {
                    let fin = self.buf[0] & 0x80 != 0;
                    let opcode = self.buf[0] & 0x0f;
                    let payload = self.buf[at..at + len].to_vec();
                    self.buf.drain(..at + len);
                    return Some((fin, opcode, payload));
                }
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// Reads until a close frame; returns its code.
    async fn close_code(&mut self) -> u16 {
        loop {
            let (_, opcode, payload) = self.next_frame().await.expect("no close frame");
            if opcode == 8 {
                return u16::from_be_bytes([payload[0], payload[1]]);
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).await.unwrap();
    }
}

async fn session_after(server: &mut TestServer) -> String {
    match server.next_event().await {
        Event::Open(sid) => sid.to_string(),
        _ => panic!("expected an open session"),
    }
}

#[tokio::test]
async fn an_unmasked_client_frame_gets_close_1002_and_ends_the_session() {
    let mut server = TestServer::default().await;
    let mut raw = Raw::open(&server).await;
    let sid = session_after(&mut server).await;
    raw.send(&frame(0x1, true, b"4hello", None)).await;
    assert_eq!(raw.close_code().await, 1002);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
}

#[tokio::test]
async fn invalid_utf8_in_a_text_message_gets_close_1007() {
    let mut server = TestServer::default().await;
    let mut raw = Raw::open(&server).await;
    let sid = session_after(&mut server).await;
    raw.send(&frame(0x1, true, b"4\xff\xfe", KEY)).await;
    assert_eq!(raw.close_code().await, 1007);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
}

#[tokio::test]
async fn unknown_opcodes_reserved_bits_and_bad_control_frames_get_close_1002() {
    let cases: [Vec<u8>; 5] = [
        frame(0x3, true, b"x", KEY),
        frame(0x1 | 0x40, true, b"4x", KEY),
        frame(0x9, false, b"", KEY),
        frame(0x9, true, &[0; 126], KEY),
        frame(0x0, true, b"x", KEY),
    ];
    let mut server = TestServer::default().await;
    for bytes in cases {
        let mut raw = Raw::open(&server).await;
        let sid = session_after(&mut server).await;
        raw.send(&bytes).await;
        assert_eq!(raw.close_code().await, 1002, "{bytes:?}");
        assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    }
}

#[tokio::test]
async fn a_new_message_inside_a_fragmented_one_gets_close_1002() {
    let mut server = TestServer::default().await;
    let mut raw = Raw::open(&server).await;
    let sid = session_after(&mut server).await;
    let mut bytes = frame(0x1, false, b"4a", KEY);
    bytes.extend(frame(0x1, true, b"4b", KEY));
    raw.send(&bytes).await;
    assert_eq!(raw.close_code().await, 1002);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
}

#[tokio::test]
async fn a_frame_announced_over_the_limit_gets_close_1009_before_its_payload() {
    let mut server = TestServer::start(Config::builder().max_http_buffer_size(1_000).build()).await;
    let mut raw = Raw::open(&server).await;
    let sid = session_after(&mut server).await;
    // Only the header of a frame of 2^62 bytes: the server refuses it from the header.
    let mut bytes = vec![0x82, 0x80 | 127];
    bytes.extend_from_slice(&(1u64 << 62).to_be_bytes());
    bytes.extend_from_slice(&[1, 2, 3, 4]);
    raw.send(&bytes).await;
    assert_eq!(raw.close_code().await, 1009);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
}

#[tokio::test]
async fn pings_get_pongs_and_masked_fragments_with_control_frames_between_are_reassembled() {
    let mut server = TestServer::default().await;
    let mut raw = Raw::open(&server).await;
    let sid = session_after(&mut server).await;
    let mut bytes = frame(0x1, false, b"4hel", KEY);
    bytes.extend(frame(0x9, true, b"are you there", KEY));
    bytes.extend(frame(0x0, false, b"lo ", KEY));
    bytes.extend(frame(0xa, true, b"unsolicited", KEY));
    bytes.extend(frame(0x0, true, "wörld".as_bytes(), KEY));
    let big = vec![7u8; 70_000];
    bytes.extend(frame(0x2, true, &big, KEY));
    raw.send(&bytes).await;
    assert_eq!(
        raw.next_frame().await,
        Some((true, 0xa, b"are you there".to_vec()))
    );
    let mut messages = Vec::new();
    while messages.len() < 2 {
        if let Event::Message(s, m) = server.next_event().await {
            assert_eq!(s.as_str(), sid);
            messages.push(m);
        }
    }
    assert_eq!(messages[0], Message::from("hello wörld"));
    assert_eq!(messages[1], Message::Binary(big.into()));
}

#[tokio::test]
async fn a_close_from_the_peer_is_answered_with_its_code_and_ends_the_session() {
    let mut server = TestServer::default().await;
    let mut raw = Raw::open(&server).await;
    let sid = session_after(&mut server).await;
    let mut payload = 4000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"bye");
    raw.send(&frame(0x8, true, &payload, KEY)).await;
    assert_eq!(raw.close_code().await, 4000);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
    // The server then ends the connection.
    assert_eq!(raw.next_frame().await, None);
}

#[tokio::test]
async fn a_server_close_sends_1000_and_waits_for_the_answer() {
    let mut server = TestServer::default().await;
    let mut raw = Raw::open(&server).await;
    let sid = session_after(&mut server).await;
    // An upper layer that closes the session: a message asking for it.
    raw.send(&frame(0x1, true, b"4server-close", KEY)).await;
    assert_eq!(raw.close_code().await, 1000);
    raw.send(&frame(0x8, true, &1000u16.to_be_bytes(), KEY))
        .await;
    assert_eq!(raw.next_frame().await, None);
    assert_eq!(server.closed(&sid).await, CloseReason::ForcedClose);
}

#[tokio::test]
async fn a_message_larger_than_the_socket_takes_at_once_arrives_whole_and_in_order() {
    // 12 MB: more than a loopback socket's send buffer can ever hold (Linux grows it to
    // tcp_wmem's maximum, 4 MiB by default), so the server's first write of the echo takes
    // only part of it and the rest waits in the session's write buffer.
    let size = 12_000_000;
    let mut server =
        TestServer::start(Config::builder().max_http_buffer_size(16_000_000).build()).await;
    let mut raw = Raw::open(&server).await;
    let _sid = session_after(&mut server).await;
    let big: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let mut bytes = frame(0x2, true, &big, KEY);
    bytes.extend(frame(0x1, true, b"4after", KEY));
    raw.send(&bytes).await;
    let (fin, opcode, echoed) = raw
        .next_frame()
        .await
        .expect("no echo of the large message");
    assert!(fin);
    assert_eq!(opcode, 2);
    assert_eq!(echoed.len(), size);
    assert!(echoed == big, "the large message came back altered");
    let (_, opcode, after) = raw
        .next_frame()
        .await
        .expect("no echo of the message after it");
    assert_eq!((opcode, after.as_slice()), (1, &b"4after"[..]));
}

#[tokio::test]
async fn packets_queued_together_arrive_whole_and_in_order_when_their_write_is_partial() {
    // The handler queues 9 MB in four messages at once: the session writes them together in
    // one vectored write, which the socket cannot take whole, and queues the rest.
    let mut server =
        TestServer::start(Config::builder().max_http_buffer_size(16_000_000).build()).await;
    let mut raw = Raw::open(&server).await;
    let _sid = session_after(&mut server).await;
    raw.send(&frame(0x1, true, b"4burst", KEY)).await;
    for (fill, len) in BURST {
        let (fin, opcode, data) = raw.next_frame().await.expect("a message of the burst");
        assert!(fin);
        assert_eq!(opcode, 2);
        assert_eq!(data.len(), len);
        assert!(
            data.iter().all(|&b| b == fill),
            "message {fill} came back altered"
        );
    }
    let (_, opcode, end) = raw
        .next_frame()
        .await
        .expect("the last message of the burst");
    assert_eq!((opcode, end.as_slice()), (1, &b"4end"[..]));
}
