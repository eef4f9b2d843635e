//! The Engine.IO and `ws` rows of PROTOCOL-FACTS §10 and the remaining bad inputs of §2.4:
//! each offending connection gets the documented treatment and the server keeps serving.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::*;
use engineio::{CloseReason, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const UPGRADE: &str = "upgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n";

/// A client frame with a zero masking key (so the payload is sent as is).
fn frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(payload);
    out
}

/// Opens a WebSocket session by hand; returns the stream after the 101 and the open packet.
async fn raw_websocket(server: &TestServer) -> TcpStream {
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(
        format!("GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nhost: x\r\n{UPGRADE}\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    // Read the 101 head and the first frame (the open packet).
    let mut buf = vec![0u8; 4096];
    let mut got = 0;
    loop {
        let n = s.read(&mut buf[got..]).await.unwrap();
        assert!(n > 0, "closed during the handshake");
        got += n;
        let text = String::from_utf8_lossy(&buf[..got]);
        if let Some(end) = text.find("\r\n\r\n")
            && got > end + 6
            && text[end + 4..].contains("\"maxPayload\"")
            && text.ends_with('}')
        {
            assert!(text.starts_with("HTTP/1.1 101"));
            return s;
        }
    }
}

async fn assert_still_serving(server: &TestServer) {
    let (sid, _) = server.handshake().await;
    assert_eq!(server.post(&sid, b"4alive").await.status, 200);
    assert_eq!(server.get(&sid).await.text(), "4alive");
}

/// Reads until the server closes the connection (bounded by the watchdog).
async fn read_until_closed(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out))
        .await
        .expect("the server kept the connection open")
        .ok();
    out
}

#[tokio::test]
async fn a_message_in_many_fragments_over_the_limit_closes_the_session() {
    // CVE-2026-48779 (ws): parts of a fragmented message are reassembled into one buffer
    // bounded by maxHttpBufferSize, so the part count cannot grow memory past it.
    let mut server = TestServer::start(Config::builder().max_http_buffer_size(1_000).build()).await;
    let mut s = raw_websocket(&server).await;
    let Event::Open(sid) = server.next_event().await else {
        panic!()
    };
    let mut bytes = frame(0x1, false, b"4");
    for _ in 0..2_000 {
        bytes.extend(frame(0x0, false, b"x"));
    }
    let _ = s.write_all(&bytes).await;
    read_until_closed(&mut s).await;
    assert_eq!(
        server.closed(sid.as_str()).await,
        CloseReason::TransportError
    );
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn many_empty_fragments_hold_no_memory_and_the_message_arrives() {
    let mut server = TestServer::start(Config::builder().max_http_buffer_size(1_000).build()).await;
    let mut s = raw_websocket(&server).await;
    let mut bytes = frame(0x1, false, b"4he");
    for _ in 0..5_000 {
        bytes.extend(frame(0x0, false, b""));
    }
    bytes.extend(frame(0x0, true, b"llo"));
    s.write_all(&bytes).await.unwrap();
    loop {
        if let Event::Message(_, m) = server.next_event().await {
            assert_eq!(m, engineio::Message::from("hello"));
            break;
        }
    }
}

#[tokio::test]
async fn an_unknown_transport_in_an_upgrade_request_is_refused_without_harm() {
    // CVE-2023-31125: `transport=__proto__` with upgrade headers.
    let server = TestServer::default().await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(
        format!("GET /engine.io/?EIO=4&transport=__proto__ HTTP/1.1\r\nhost: x\r\n{UPGRADE}\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let res = String::from_utf8_lossy(&read_until_closed(&mut s).await).into_owned();
    assert!(res.starts_with("HTTP/1.1 400"), "{res}");
    assert!(
        res.ends_with(r#"{"code":0,"message":"Transport unknown"}"#),
        "{res}"
    );
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn an_unhandled_upgrade_then_a_reset_does_not_hurt() {
    // CVE-2022-41940: an upgrade (h2c) on a path outside the server, then a TCP reset.
    let server = TestServer::default().await;
    for _ in 0..3 {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(b"GET /elsewhere HTTP/1.1\r\nhost: x\r\nconnection: Upgrade, HTTP2-Settings\r\nupgrade: h2c\r\nhttp2-settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
            .await
            .unwrap();
        // A zero linger makes the drop send a reset; it never blocks.
        #[allow(deprecated)]
        s.set_linger(Some(Duration::ZERO)).unwrap();
        drop(s);
    }
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(
        b"GET /elsewhere HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 404");
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn upgrade_requests_missing_required_headers_get_400() {
    // CVE-2024-37890 (ws): a request whose Upgrade or Sec-WebSocket-Key cannot be read.
    let server = TestServer::default().await;
    let many_headers: String = (0..3000).map(|i| format!("x-h{i}: v\r\n")).collect();
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(format!("GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nhost: x\r\n{many_headers}connection: Upgrade\r\nsec-websocket-version: 13\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let res = String::from_utf8_lossy(&read_until_closed(&mut s).await).into_owned();
    // hyper refuses oversized heads outright (431); otherwise it is our 400.
    assert!(
        res.starts_with("HTTP/1.1 400") || res.starts_with("HTTP/1.1 431"),
        "{res}"
    );
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn a_huge_websocket_protocol_header_is_harmless() {
    // CVE-2021-32640 (ws): a Sec-WebSocket-Protocol built to make a regex backtrack.
    let server = TestServer::default().await;
    let protocols = format!("b{}x", " ".repeat(30_000));
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(format!("GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nhost: x\r\n{UPGRADE}sec-websocket-protocol: {protocols}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 101");
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn a_post_while_another_post_is_uploading_closes_the_session() {
    let mut server = TestServer::default().await;
    let (sid, _) = server.handshake().await;
    let path = server.url(&format!("EIO=4&transport=polling&sid={sid}"));
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(
        format!("POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n4par").as_bytes(),
    )
    .await
    .unwrap();
    // Retry until the second POST meets the first one uploading (bounded).
    let mut refused = false;
    for _ in 0..200 {
        let res = server.post(&sid, b"4second").await;
        if res.status == 400 {
            assert!(res.body.is_empty());
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(refused, "the overlapping POST was never refused");
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn an_aborted_post_closes_the_session() {
    let mut server = TestServer::default().await;
    let (sid, _) = server.handshake().await;
    let path = server.url(&format!("EIO=4&transport=polling&sid={sid}"));
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(
        format!("POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n4par").as_bytes(),
    )
    .await
    .unwrap();
    // Half the body, then the client goes away.
    tokio::task::yield_now().await;
    drop(s);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    assert_still_serving(&server).await;
}

#[tokio::test]
async fn connections_that_send_no_or_half_a_request_are_closed_after_the_header_timeout() {
    let config = Config::builder()
        .request_header_timeout(Duration::from_millis(300))
        .build();
    let server = TestServer::start(config).await;
    // Nothing at all, and a request line with headers trickling in and never ending.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut trickle = TcpStream::connect(server.addr).await.unwrap();
    trickle
        .write_all(b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    assert!(read_until_closed(&mut silent).await.is_empty());
    let answer = read_until_closed(&mut trickle).await;
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert_still_serving(&server).await;
}
