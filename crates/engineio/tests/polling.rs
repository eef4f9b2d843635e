//! HTTP long-polling over real sockets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::*;
use engineio::{CloseReason, Config, Message};
use tokio::net::TcpStream;

#[tokio::test]
async fn handshake_sends_the_open_packet_with_nodes_keys_and_defaults() {
    let server = TestServer::default().await;
    let res = http(
        server.addr,
        "GET",
        "/engine.io/?EIO=4&transport=polling",
        &[],
        b"",
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let body = res.text();
    let sid = &body[9..29];
    assert_eq!(
        body,
        format!(
            r#"0{{"sid":"{sid}","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}}"#
        )
    );
    assert!(
        sid.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
}

#[tokio::test]
async fn text_and_binary_messages_are_echoed_in_one_payload() {
    let mut server = TestServer::default().await;
    let (sid, _) = server.handshake().await;
    assert!(matches!(server.next_event().await, Event::Open(s) if s.as_str() == sid));
    let res = server.post(&sid, b"4hello\x1ebAQID\x1e4h\xc3\xa9llo").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "ok");
    assert_eq!(res.header("content-type"), Some("text/html"));
    let res = server.get(&sid).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body, b"4hello\x1ebAQID\x1e4h\xc3\xa9llo");
    // The upper layer saw the messages in order, binary decoded.
    let mut seen = Vec::new();
    while seen.len() < 3 {
        if let Event::Message(_, m) = server.next_event().await {
            seen.push(m);
        }
    }
    assert_eq!(
        seen,
        vec![
            Message::from("hello"),
            Message::from(vec![1u8, 2, 3]),
            Message::from("héllo")
        ]
    );
}

#[tokio::test]
async fn a_pending_get_is_answered_when_a_message_is_queued() {
    let server = TestServer::default().await;
    let (sid, _) = server.handshake().await;
    let mut get = TcpStream::connect(server.addr).await.unwrap();
    send_request(
        &mut get,
        "GET",
        &server.url(&format!("EIO=4&transport=polling&sid={sid}")),
        &[],
        b"",
    )
    .await;
    // The GET waits; a POST makes the server queue an echo, which releases it.
    assert_eq!(server.post(&sid, b"4ping-me").await.status, 200);
    let res = read_response(&mut get).await;
    assert_eq!(res.text(), "4ping-me");
}

#[tokio::test]
async fn overlapping_gets_close_the_session() {
    let mut server = TestServer::default().await;
    let (sid, _) = server.handshake().await;
    let path = server.url(&format!("EIO=4&transport=polling&sid={sid}"));
    let mut a = TcpStream::connect(server.addr).await.unwrap();
    let mut b = TcpStream::connect(server.addr).await.unwrap();
    send_request(&mut a, "GET", &path, &[], b"").await;
    send_request(&mut b, "GET", &path, &[], b"").await;
    let (a, b) = tokio::join!(read_response(&mut a), read_response(&mut b));
    // Whichever arrived second gets 400 with no body; the first is answered with a close.
    let (first, second) = if a.status == 400 { (b, a) } else { (a, b) };
    assert_eq!(second.status, 400);
    assert!(second.body.is_empty());
    assert_eq!(first.status, 200);
    assert_eq!(first.text(), "1");
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    assert_eq!(
        server.get(&sid).await.text(),
        r#"{"code":1,"message":"Session ID unknown"}"#
    );
}

#[tokio::test]
async fn an_aborted_get_closes_the_session() {
    let mut server = TestServer::default().await;
    let (sid, _) = server.handshake().await;
    let mut get = TcpStream::connect(server.addr).await.unwrap();
    send_request(
        &mut get,
        "GET",
        &server.url(&format!("EIO=4&transport=polling&sid={sid}")),
        &[],
        b"",
    )
    .await;
    assert_eq!(server.post(&sid, b"6").await.status, 200);
    drop(get);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
}

#[tokio::test]
async fn a_post_larger_than_max_http_buffer_size_gets_413_and_the_session_survives() {
    let server = TestServer::start(Config::builder().max_http_buffer_size(100).build()).await;
    let (sid, json) = server.handshake().await;
    assert_eq!(json["maxPayload"], 100);
    let big = format!("4{}", "x".repeat(200));
    let res = server.post(&sid, big.as_bytes()).await;
    assert_eq!(res.status, 413);
    assert!(res.body.is_empty());
    // Still usable.
    assert_eq!(server.post(&sid, b"4small").await.status, 200);
    assert_eq!(server.get(&sid).await.text(), "4small");
}

#[tokio::test]
async fn a_chunked_post_over_the_limit_gets_413() {
    let server = TestServer::start(Config::builder().max_http_buffer_size(100).build()).await;
    let (sid, _) = server.handshake().await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let path = server.url(&format!("EIO=4&transport=polling&sid={sid}"));
    let chunk = format!("4{}", "y".repeat(150));
    let req = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    tokio::io::AsyncWriteExt::write_all(&mut stream, req.as_bytes())
        .await
        .unwrap();
    assert_eq!(read_response(&mut stream).await.status, 413);
    assert_eq!(server.post(&sid, b"4still").await.status, 200);
}

#[tokio::test]
async fn an_undecodable_post_gets_ok_and_closes_with_parse_error() {
    for body in [&b"abc"[..], b"", b"4a\x1exyz", b"b!!!"] {
        let mut server = TestServer::default().await;
        let (sid, _) = server.handshake().await;
        let res = server.post(&sid, body).await;
        assert_eq!(res.status, 200, "{body:?}");
        assert_eq!(res.text(), "ok");
        assert_eq!(
            server.closed(&sid).await,
            CloseReason::ParseError,
            "{body:?}"
        );
    }
}

#[tokio::test]
async fn packets_before_a_bad_one_are_still_delivered() {
    let mut server = TestServer::default().await;
    let (sid, _) = server.handshake().await;
    server.post(&sid, b"4first\x1exyz\x1e4never").await;
    let mut messages = Vec::new();
    let reason = loop {
        match server.next_event().await {
            Event::Message(_, m) => messages.push(m),
            Event::Close(_, r) => break r,
            Event::Open(_) => {}
        }
    };
    assert_eq!(messages, vec![Message::from("first")]);
    assert_eq!(reason, CloseReason::ParseError);
}

#[tokio::test]
async fn an_octet_stream_post_gets_400_and_closes_the_session() {
    let mut server = TestServer::default().await;
    let (sid, _) = server.handshake().await;
    let res = http(
        server.addr,
        "POST",
        &server.url(&format!("EIO=4&transport=polling&sid={sid}")),
        &[("content-type", "application/octet-stream")],
        b"\x04\x01\x02",
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
}

#[tokio::test]
async fn a_close_packet_closes_the_session_and_a_pending_get_gets_a_noop() {
    let mut server = TestServer::default().await;
    let (sid, _) = server.handshake().await;
    let mut get = TcpStream::connect(server.addr).await.unwrap();
    send_request(
        &mut get,
        "GET",
        &server.url(&format!("EIO=4&transport=polling&sid={sid}")),
        &[],
        b"",
    )
    .await;
    assert_eq!(server.post(&sid, b"6").await.status, 200);
    assert_eq!(server.post(&sid, b"1").await.status, 200);
    assert_eq!(read_response(&mut get).await.text(), "6");
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
}

#[tokio::test]
async fn noop_upgrade_and_open_packets_from_the_client_are_ignored() {
    let server = TestServer::default().await;
    let (sid, _) = server.handshake().await;
    assert_eq!(
        server
            .post(&sid, b"6\x1e5\x1e0\x1e4still-here")
            .await
            .status,
        200
    );
    assert_eq!(server.get(&sid).await.text(), "4still-here");
}

#[tokio::test]
async fn a_ping_from_a_v4_client_closes_the_session() {
    let mut server = TestServer::default().await;
    let (sid, _) = server.handshake().await;
    assert_eq!(server.post(&sid, b"2").await.status, 200);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
}

#[tokio::test]
async fn a_server_close_is_delivered_to_the_next_get() {
    let mut server = TestServer::default().await;
    let (sid, _) = server.handshake().await;
    assert_eq!(
        server.post(&sid, b"4before\x1e4server-close").await.status,
        200
    );
    // As in Node, what was queued goes out first and the close packet in its own response.
    assert_eq!(server.get(&sid).await.body, b"4before");
    assert_eq!(server.get(&sid).await.body, b"1");
    assert_eq!(server.closed(&sid).await, CloseReason::ForcedClose);
}

#[tokio::test]
async fn other_methods_on_a_session_get_500() {
    let server = TestServer::default().await;
    let (sid, _) = server.handshake().await;
    let res = http(
        server.addr,
        "PUT",
        &server.url(&format!("EIO=4&transport=polling&sid={sid}")),
        &[],
        b"x",
    )
    .await;
    assert_eq!(res.status, 500);
    assert!(res.body.is_empty());
}

#[tokio::test]
async fn the_server_pings_and_a_pong_keeps_the_session() {
    let config = Config::builder()
        .ping_interval(Duration::from_millis(30))
        .ping_timeout(Duration::from_millis(5_000))
        .build();
    let server = TestServer::start(config).await;
    let (sid, json) = server.handshake().await;
    assert_eq!(json["pingInterval"], 30);
    for _ in 0..3 {
        assert_eq!(server.get(&sid).await.text(), "2");
        assert_eq!(server.post(&sid, b"3").await.status, 200);
    }
    assert_eq!(server.post(&sid, b"4alive").await.status, 200);
    assert_eq!(server.get(&sid).await.text(), "4alive");
    assert!(
        server
            .engine
            .session(engineio::Sid::parse(&sid).unwrap())
            .is_some()
    );
}

#[tokio::test]
async fn a_missing_pong_closes_the_session_even_with_other_traffic() {
    let config = Config::builder()
        .ping_interval(Duration::from_millis(20))
        .ping_timeout(Duration::from_millis(60))
        .build();
    let mut server = TestServer::start(config).await;
    let (sid, _) = server.handshake().await;
    // Keep sending messages (never a pong) until the session closes; messages do not reset
    // the heartbeat. Bounded: the watchdog of `post` and a cap on rounds.
    let mut closed = false;
    for _ in 0..10_000 {
        let res = server.post(&sid, b"4traffic").await;
        if res.status != 200 {
            closed = true;
            break;
        }
        // Drain echoes and pings without ever answering.
        let res = server.get(&sid).await;
        if res.status != 200 || res.body == b"1" {
            closed = true;
            break;
        }
    }
    assert!(closed, "the session never closed");
    assert_eq!(server.closed(&sid).await, CloseReason::PingTimeout);
}

#[tokio::test]
async fn a_client_that_never_polls_is_closed_once_its_queue_passes_the_bound() {
    let config = Config::builder().max_buffered_bytes(64 * 1024).build();
    let mut server = TestServer::start(config).await;
    let (sid, _) = server.handshake().await;
    // 100 messages of 1 KiB: their echoes pile up with no GET to take them.
    let message = format!("4{}", "x".repeat(1024));
    let body = vec![message.as_str(); 100].join("\x1e");
    assert_eq!(server.post(&sid, body.as_bytes()).await.status, 200);
    assert_eq!(server.closed(&sid).await, CloseReason::QueueFull);
    assert_eq!(server.engine.session_count(), 0);
}

#[tokio::test]
async fn large_polling_responses_are_compressed_when_the_client_accepts_it() {
    use std::io::Read;
    let server = TestServer::default().await;
    let (sid, _) = server.handshake().await;
    let big = format!("4{}", "abc".repeat(1000));
    assert_eq!(server.post(&sid, big.as_bytes()).await.status, 200);
    let path = server.url(&format!("EIO=4&transport=polling&sid={sid}"));
    let res = http(
        server.addr,
        "GET",
        &path,
        &[("accept-encoding", "gzip, deflate")],
        b"",
    )
    .await;
    assert_eq!(res.header("content-encoding"), Some("gzip"));
    assert!(res.body.len() < big.len());
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&res.body[..])
        .read_to_string(&mut plain)
        .unwrap();
    assert_eq!(plain, big);
    // Deflate when gzip is not accepted; nothing below the threshold or without the header.
    assert_eq!(server.post(&sid, big.as_bytes()).await.status, 200);
    let res = http(
        server.addr,
        "GET",
        &path,
        &[("accept-encoding", "deflate")],
        b"",
    )
    .await;
    assert_eq!(res.header("content-encoding"), Some("deflate"));
    let mut plain = String::new();
    flate2::read::DeflateDecoder::new(&res.body[..])
        .read_to_string(&mut plain)
        .unwrap();
    assert_eq!(plain, big);
    assert_eq!(server.post(&sid, b"4small").await.status, 200);
    let res = http(
        server.addr,
        "GET",
        &path,
        &[("accept-encoding", "gzip")],
        b"",
    )
    .await;
    assert_eq!(res.header("content-encoding"), None);
    assert_eq!(res.text(), "4small");
    assert_eq!(server.post(&sid, big.as_bytes()).await.status, 200);
    let res = server.get(&sid).await;
    assert_eq!(res.header("content-encoding"), None);
    assert_eq!(res.text(), big);
}

/// Sends every message back marked as not compressible.
struct NoCompress;

impl engineio::Handler for NoCompress {
    type Data = ();
    fn on_message(&self, socket: &std::sync::Arc<engineio::Socket<()>>, message: Message) {
        let _ = socket.send_frame(engineio::Frame::message(message).compress(false));
    }
}

#[tokio::test]
async fn packets_marked_not_compressible_go_out_plain() {
    let engine = engineio::EngineIo::new(Config::default(), NoCompress);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = engine.clone();
    tokio::spawn(async move { serving.serve(listener).await });
    let res = http(addr, "GET", "/engine.io/?EIO=4&transport=polling", &[], b"").await;
    let sid = res.text()[9..29].to_owned();
    let path = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let big = format!("4{}", "abc".repeat(1000));
    assert_eq!(
        http(addr, "POST", &path, &[], big.as_bytes()).await.status,
        200
    );
    let res = http(addr, "GET", &path, &[("accept-encoding", "gzip")], b"").await;
    assert_eq!(res.header("content-encoding"), None);
    assert_eq!(res.text(), big);
}

#[tokio::test]
async fn a_server_close_over_polling_leaves_no_timer_behind_once_the_client_took_the_close() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let mut server = TestServer::default().await;
    let tasks_with_server = metrics.num_alive_tasks();
    let (sid, _) = server.handshake().await;
    assert_eq!(server.post(&sid, b"4server-close").await.status, 200);
    // The close packet comes in its own response; the session then ends.
    let res = server.get(&sid).await;
    assert_eq!(res.text(), "1");
    assert_eq!(server.closed(&sid).await, CloseReason::ForcedClose);
    // The close timer (30 s) ends with the session rather than when it fires (the watchdog
    // only bounds a failing run).
    let mut waited = 0;
    while metrics.num_alive_tasks() > tasks_with_server {
        assert!(waited < 1000, "a task outlived the session");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
}
