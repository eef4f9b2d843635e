//! WebSocket sessions and the upgrade from polling, over real sockets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::*;
use engineio::{CloseReason, Config, Message};
use futures_util::SinkExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn a_websocket_session_opens_without_upgrades_and_echoes_text_and_binary() {
    let mut server = TestServer::default().await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let (sid, json) = ws_open(&mut ws).await;
    assert_eq!(json["upgrades"], serde_json::json!([]));
    assert_eq!(
        json.as_object().unwrap().keys().collect::<Vec<_>>(),
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ]
    );
    ws_send_text(&mut ws, "4héllo").await;
    assert_eq!(ws_text(&mut ws).await, "4héllo");
    ws_send_binary(&mut ws, &[1, 2, 3]).await;
    let bin = ws_next(&mut ws).await.unwrap();
    assert!(bin.is_binary());
    assert_eq!(&bin.into_payload()[..], &[1, 2, 3]);
    drop(ws);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
}

#[tokio::test]
async fn b64_makes_binary_go_out_as_base64_text() {
    let server = TestServer::default().await;
    let mut ws = server.ws("EIO=4&transport=websocket&b64=1").await;
    ws_open(&mut ws).await;
    ws_send_binary(&mut ws, &[1, 2, 3]).await;
    assert_eq!(ws_text(&mut ws).await, "bAQID");
    // Base64 text from the client is binary too.
    ws_send_text(&mut ws, "bBAU=").await;
    assert_eq!(ws_text(&mut ws).await, "bBAU=");
}

#[tokio::test]
async fn a_message_larger_than_max_http_buffer_size_closes_the_session() {
    let mut server = TestServer::start(Config::builder().max_http_buffer_size(64).build()).await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let (sid, json) = ws_open(&mut ws).await;
    assert_eq!(json["maxPayload"], 64);
    ws_send_text(&mut ws, &format!("4{}", "z".repeat(100))).await;
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    assert!(ws_next(&mut ws).await.is_none());
}

#[tokio::test]
async fn a_close_packet_over_websocket_is_ignored_as_node_does() {
    let server = TestServer::default().await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    ws_open(&mut ws).await;
    ws_send_text(&mut ws, "1").await;
    ws_send_text(&mut ws, "4after-close").await;
    assert_eq!(ws_text(&mut ws).await, "4after-close");
}

#[tokio::test]
async fn an_undecodable_packet_closes_with_parse_error() {
    let mut server = TestServer::default().await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let (sid, _) = ws_open(&mut ws).await;
    ws_send_text(&mut ws, "x").await;
    assert_eq!(server.closed(&sid).await, CloseReason::ParseError);
    assert!(ws_next(&mut ws).await.is_none());
}

#[tokio::test]
async fn a_server_close_flushes_the_queue_then_closes_the_connection() {
    let mut server = TestServer::default().await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let (sid, _) = ws_open(&mut ws).await;
    ws_send_text(&mut ws, "4before").await;
    ws_send_text(&mut ws, "4server-close").await;
    assert_eq!(ws_text(&mut ws).await, "4before");
    assert!(ws_next(&mut ws).await.is_none());
    assert_eq!(server.closed(&sid).await, CloseReason::ForcedClose);
}

#[tokio::test]
async fn heartbeat_over_websocket_pings_and_times_out_without_pong() {
    let config = Config::builder()
        .ping_interval(Duration::from_millis(20))
        .ping_timeout(Duration::from_millis(50))
        .build();
    let mut server = TestServer::start(config).await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let (sid, _) = ws_open(&mut ws).await;
    for _ in 0..3 {
        assert_eq!(ws_text(&mut ws).await, "2");
        ws_send_text(&mut ws, "3").await;
    }
    // Now stay silent: the server gives up.
    assert_eq!(ws_text(&mut ws).await, "2");
    assert_eq!(server.closed(&sid).await, CloseReason::PingTimeout);
    assert!(ws_next(&mut ws).await.is_none());
}

#[tokio::test]
async fn a_polling_session_upgrades_to_websocket() {
    let mut server = TestServer::default().await;
    let (sid, _) = server.handshake().await;
    // A GET pending during the upgrade is released with a noop.
    let mut get = TcpStream::connect(server.addr).await.unwrap();
    send_request(
        &mut get,
        "GET",
        &server.url(&format!("EIO=4&transport=polling&sid={sid}")),
        &[],
        b"",
    )
    .await;
    let mut ws = server
        .ws(&format!("EIO=4&transport=websocket&sid={sid}"))
        .await;
    ws_send_text(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    assert_eq!(read_response(&mut get).await.text(), "6");
    // Messages sent before the upgrade completes still go through polling.
    assert_eq!(server.post(&sid, b"4during").await.status, 200);
    assert_eq!(server.get(&sid).await.text(), "4during");
    ws_send_text(&mut ws, "5").await;
    ws_send_text(&mut ws, "4after").await;
    assert_eq!(ws_text(&mut ws).await, "4after");
    // Polling is refused from now on.
    let res = server.get(&sid).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.text(), r#"{"code":3,"message":"Bad request"}"#);
    // A second websocket for the session is accepted and closed at once.
    let mut second = server
        .ws(&format!("EIO=4&transport=websocket&sid={sid}"))
        .await;
    assert!(ws_next(&mut second).await.is_none());
    // The first one still works.
    ws_send_text(&mut ws, "4still").await;
    assert_eq!(ws_text(&mut ws).await, "4still");
    drop(ws);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
}

#[tokio::test]
async fn an_upgrade_that_times_out_leaves_the_session_on_polling() {
    let config = Config::builder()
        .upgrade_timeout(Duration::from_millis(50))
        .build();
    let server = TestServer::start(config).await;
    let (sid, _) = server.handshake().await;
    let mut ws = server
        .ws(&format!("EIO=4&transport=websocket&sid={sid}"))
        .await;
    assert!(ws_next(&mut ws).await.is_none());
    assert_eq!(server.post(&sid, b"4polling-still").await.status, 200);
    assert_eq!(server.get(&sid).await.text(), "4polling-still");
    // And a later upgrade attempt is possible again.
    let mut ws = server
        .ws(&format!("EIO=4&transport=websocket&sid={sid}"))
        .await;
    ws_send_text(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
}

#[tokio::test]
async fn another_packet_before_the_upgrade_packet_closes_only_the_new_transport() {
    let server = TestServer::default().await;
    let (sid, _) = server.handshake().await;
    let mut ws = server
        .ws(&format!("EIO=4&transport=websocket&sid={sid}"))
        .await;
    ws_send_text(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    ws_send_text(&mut ws, "4too-early").await;
    assert!(ws_next(&mut ws).await.is_none());
    // The session goes on over polling (the GET while upgrading got a noop, now it waits).
    assert_eq!(server.post(&sid, b"4ok").await.status, 200);
    assert_eq!(server.get(&sid).await.text(), "4ok");
}

#[tokio::test]
async fn garbage_after_the_upgrade_drops_only_that_connection() {
    let mut server = TestServer::default().await;
    let mut raw = TcpStream::connect(server.addr).await.unwrap();
    raw.write_all(
        b"GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\ntest",
    )
    .await
    .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), raw.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 101"), "{text}");
    assert!(text.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{text}");
    let Event::Open(sid) = server.next_event().await else {
        panic!()
    };
    assert_eq!(
        server.closed(sid.as_str()).await,
        CloseReason::TransportError
    );
    // The server still serves others.
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    ws_open(&mut ws).await;
    ws_send_text(&mut ws, "4alive").await;
    assert_eq!(ws_text(&mut ws).await, "4alive");
}

#[tokio::test]
async fn upgrade_requests_without_key_or_upgrade_header_are_refused() {
    let server = TestServer::default().await;
    for headers in [
        &[
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
            ("sec-websocket-version", "13"),
        ][..],
        &[
            ("connection", "Upgrade"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("sec-websocket-version", "13"),
        ][..],
    ] {
        let res = http(
            server.addr,
            "GET",
            "/engine.io/?EIO=4&transport=websocket",
            headers,
            b"",
        )
        .await;
        assert_eq!(res.status, 400);
        assert_eq!(res.text(), r#"{"code":3,"message":"Bad request"}"#);
    }
}

#[tokio::test]
async fn queued_messages_go_out_in_order_under_load() {
    let server = TestServer::default().await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    ws_open(&mut ws).await;
    for i in 0..500 {
        ws.feed(tokio_websockets::Message::text(format!("4m{i}")))
            .await
            .unwrap();
    }
    ws.flush().await.unwrap();
    for i in 0..500 {
        assert_eq!(ws_text(&mut ws).await, format!("4m{i}"));
    }
    let _ = Message::from("unused");
}
