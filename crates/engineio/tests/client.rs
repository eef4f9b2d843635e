//! The Engine.IO client against this crate's server (an echo handler, a fresh port each), and
//! against tiny fake servers written here for what a real server does not do on demand
//! (going silent, sending garbage, never answering the handshake).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod client_support;
mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use client_support::*;
use common::{Event as ServerEvent, TestServer};
use engineio::client::{ClientOptions, CloseReason, Event, Message};
use engineio::{CloseReason as ServerCloseReason, Config, TransportKind};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TRANSPORTS: [TransportKind; 2] = [TransportKind::Polling, TransportKind::WebSocket];

/// Roomy heartbeats, so that a busy machine does not time sessions out by accident.
fn relaxed() -> Config {
    Config::builder()
        .ping_interval(Duration::from_millis(2_000))
        .ping_timeout(Duration::from_millis(5_000))
        .build()
}

fn url(server: &TestServer) -> String {
    format!("http://{}", server.addr)
}

/// The server-side close reason of the session `sid`.
async fn server_close(server: &mut TestServer, sid: &str) -> ServerCloseReason {
    server.closed(sid).await
}

#[tokio::test]
async fn each_transport_alone_echoes_text_and_binary_unchanged() {
    for transport in TRANSPORTS {
        let mut server = TestServer::start(relaxed()).await;
        let (client, mut events) = connect(&url(&server), only(transport)).await;
        assert_eq!(client.transport(), transport);
        assert_eq!(client.sid().len(), 20);
        assert_eq!(client.handshake().ping_interval(), Duration::from_secs(2));
        assert_eq!(client.handshake().ping_timeout(), Duration::from_secs(5));
        assert_eq!(client.handshake().max_payload(), 1_000_000);
        let offers_ws = client.handshake().upgrades() == ["websocket"];
        assert_eq!(offers_ws, transport == TransportKind::Polling);

        echo_all(&client, &mut events, &sample_messages()).await;
        assert_eq!(client.transport(), transport, "no upgrade was asked for");

        client.close();
        assert_eq!(close_reason(&mut events).await, CloseReason::ForcedClose);
        assert_eq!(
            server_close(&mut server, client.sid()).await,
            ServerCloseReason::TransportClose,
            "{transport:?}"
        );
    }
}

#[tokio::test]
async fn polling_upgrades_to_websocket_without_losing_or_reordering_messages() {
    let server = TestServer::start(relaxed()).await;
    let (client, mut events) = connect(&url(&server), ClientOptions::default()).await;
    assert_eq!(client.transport(), TransportKind::Polling);
    // Keep sending while the probe and the switch happen, then some more after it.
    let mut sent = Vec::new();
    let mut received = Vec::new();
    let mut upgraded = false;
    let mut i = 0;
    while !upgraded {
        let m = Message::from(format!("before-{i}"));
        i += 1;
        client.send(m.clone()).unwrap();
        sent.push(m);
        match next_event(&mut events).await {
            Event::Message(m) => received.push(m),
            Event::Upgrade(t) => {
                assert_eq!(t, TransportKind::WebSocket);
                upgraded = true;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(client.transport(), TransportKind::WebSocket);
    for m in sample_messages() {
        client.send(m.clone()).unwrap();
        sent.push(m);
    }
    while received.len() < sent.len() {
        received.push(next_message(&mut events).await);
    }
    assert_eq!(received, sent);
    client.close();
    assert_eq!(close_reason(&mut events).await, CloseReason::ForcedClose);
}

#[tokio::test]
async fn upgrade_false_stays_on_polling() {
    let server = TestServer::start(relaxed()).await;
    let (client, mut events) =
        connect(&url(&server), ClientOptions::default().upgrade(false)).await;
    echo_all(&client, &mut events, &numbered(50)).await;
    assert_eq!(client.transport(), TransportKind::Polling);
    client.close();
    assert_eq!(close_reason(&mut events).await, CloseReason::ForcedClose);
}

#[tokio::test]
async fn a_thousand_messages_come_back_in_order() {
    for transport in TRANSPORTS {
        let server = TestServer::start(relaxed()).await;
        let (client, mut events) = connect(&url(&server), only(transport)).await;
        echo_all(&client, &mut events, &numbered(1000)).await;
        client.close();
        assert_eq!(close_reason(&mut events).await, CloseReason::ForcedClose);
    }
}

#[tokio::test]
async fn polling_posts_respect_the_servers_max_payload() {
    // 2 KB a POST: 200 messages of ~100 bytes need many POSTs; one too big would get 413
    // and close the session with a transport error.
    let config = Config::builder()
        .ping_interval(Duration::from_millis(2_000))
        .ping_timeout(Duration::from_millis(5_000))
        .max_http_buffer_size(2_000)
        .build();
    let mut server = TestServer::start(config).await;
    let (client, mut events) = connect(&url(&server), only(TransportKind::Polling)).await;
    assert_eq!(client.handshake().max_payload(), 2_000);
    let messages: Vec<Message> = (0..200)
        .map(|i| Message::from(format!("{i:0>100}")))
        .collect();
    echo_all(&client, &mut events, &messages).await;
    // Binary counts by its base64 size: 1200 bytes become 1601.
    let binary: Vec<Message> = (0..10).map(|i| Message::from(vec![i; 1200])).collect();
    echo_all(&client, &mut events, &binary).await;
    client.close();
    assert_eq!(close_reason(&mut events).await, CloseReason::ForcedClose);
    assert_eq!(
        server_close(&mut server, client.sid()).await,
        ServerCloseReason::TransportClose
    );
}

#[tokio::test]
async fn a_server_close_is_a_transport_close() {
    for transport in TRANSPORTS {
        let mut server = TestServer::start(relaxed()).await;
        let (client, mut events) = connect(&url(&server), only(transport)).await;
        echo_all(&client, &mut events, &[Message::from("one")]).await;
        client.send("server-close").unwrap();
        assert_eq!(
            close_reason(&mut events).await,
            CloseReason::TransportClose,
            "{transport:?}"
        );
        assert!(client.is_closed());
        assert_eq!(
            server_close(&mut server, client.sid()).await,
            ServerCloseReason::ForcedClose
        );
    }
}

#[tokio::test]
async fn close_flushes_what_was_sent_and_refuses_more() {
    for transport in TRANSPORTS {
        let mut server = TestServer::start(relaxed()).await;
        let (client, mut events) = connect(&url(&server), only(transport)).await;
        let sid = client.sid().to_owned();
        for m in numbered(20) {
            client.send(m).unwrap();
        }
        client.close();
        assert!(client.is_closed());
        assert_eq!(
            client.send("late").unwrap_err().into_inner(),
            Message::from("late")
        );
        // The server got all twenty before the session closed.
        let mut got = Vec::new();
        let reason = loop {
            match server.next_event().await {
                ServerEvent::Message(s, m) if s.as_str() == sid => got.push(m),
                ServerEvent::Close(s, r) if s.as_str() == sid => break r,
                _ => {}
            }
        };
        assert_eq!(got, numbered(20), "{transport:?}");
        assert_eq!(reason, ServerCloseReason::TransportClose, "{transport:?}");
        assert_eq!(close_reason(&mut events).await, CloseReason::ForcedClose);
    }
}

#[tokio::test]
async fn dropping_every_handle_closes_the_session() {
    for transport in TRANSPORTS {
        let mut server = TestServer::start(relaxed()).await;
        let (client, mut events) = connect(&url(&server), only(transport)).await;
        let sid = client.sid().to_owned();
        let clone = client.clone();
        drop(client);
        clone.send("still open").unwrap();
        assert_eq!(next_message(&mut events).await, Message::from("still open"));
        drop(clone);
        assert_eq!(close_reason(&mut events).await, CloseReason::ForcedClose);
        assert_eq!(
            server_close(&mut server, &sid).await,
            ServerCloseReason::TransportClose
        );
    }
}

#[tokio::test]
async fn pings_are_answered_so_the_session_outlives_many_intervals() {
    for transport in TRANSPORTS {
        // A ping every 50 ms with a generous timeout: twenty or so pings in a second.
        let config = Config::builder()
            .ping_interval(Duration::from_millis(50))
            .ping_timeout(Duration::from_millis(3_000))
            .build();
        let mut server = TestServer::start(config).await;
        let (client, mut events) = connect(&url(&server), only(transport)).await;
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        echo_all(&client, &mut events, &[Message::from("still here")]).await;
        client.close();
        assert_eq!(close_reason(&mut events).await, CloseReason::ForcedClose);
        // Had a pong been missed, the server would have closed with a ping timeout.
        assert_eq!(
            server_close(&mut server, client.sid()).await,
            ServerCloseReason::TransportClose,
            "{transport:?}"
        );
    }
}

#[tokio::test]
async fn the_initial_packet_arrives_first() {
    for transport in TRANSPORTS {
        let config = Config::builder()
            .ping_interval(Duration::from_millis(2_000))
            .ping_timeout(Duration::from_millis(5_000))
            .initial_packet("welcome")
            .build();
        let server = TestServer::start(config).await;
        let (client, mut events) = connect(&url(&server), only(transport)).await;
        assert_eq!(next_message(&mut events).await, Message::from("welcome"));
        echo_all(&client, &mut events, &[Message::from("after")]).await;
        client.close();
        assert_eq!(close_reason(&mut events).await, CloseReason::ForcedClose);
    }
}

#[tokio::test]
async fn oversized_messages_from_the_server_are_refused() {
    for transport in TRANSPORTS {
        let server = TestServer::start(relaxed()).await;
        let options = only(transport).max_receive_size(1_000);
        let (client, mut events) = connect(&url(&server), options).await;
        echo_all(&client, &mut events, &[Message::from("small")]).await;
        client.send("y".repeat(5_000)).unwrap();
        assert_eq!(
            close_reason(&mut events).await,
            CloseReason::TransportError,
            "{transport:?}"
        );
    }
}

#[tokio::test]
async fn refused_handshakes_report_status_and_code() {
    // A server that only accepts WebSocket refuses a polling handshake: 400, code 0.
    let config = Config::builder()
        .transports(&[TransportKind::WebSocket])
        .build();
    let server = TestServer::start(config).await;
    let err = try_connect(&url(&server), only(TransportKind::Polling))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert_eq!(err.code(), Some(0), "{err}");

    // The wrong path: the server does not serve it at all.
    let server = TestServer::start(relaxed()).await;
    for transport in TRANSPORTS {
        let err = try_connect(&url(&server), only(transport).path("/nope/"))
            .await
            .unwrap_err();
        assert!(err.status().is_some(), "{transport:?}: {err}");
    }
}

#[tokio::test]
async fn bad_urls_and_options_fail_before_any_connection() {
    for url in ["https://127.0.0.1:1", "ftp://127.0.0.1", "127.0.0.1:80"] {
        let err = try_connect(url, ClientOptions::default())
            .await
            .unwrap_err();
        assert!(err.is_invalid_input(), "{url}: {err}");
    }
    let err = try_connect(
        "http://127.0.0.1:1",
        ClientOptions::default().transports([]),
    )
    .await
    .unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    let options = ClientOptions::default().extra_header(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    let err = try_connect("http://127.0.0.1:1", options)
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
}

#[tokio::test]
async fn an_unreachable_server_is_an_io_error() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for transport in TRANSPORTS {
        let err = try_connect(&format!("http://127.0.0.1:{port}"), only(transport))
            .await
            .unwrap_err();
        assert!(err.is_io(), "{transport:?}: {err}");
    }
}

// ---------------------------------------------------------------------------------------
// Fake servers: raw HTTP and WebSocket on 127.0.0.1, doing exactly what a test needs.

/// An open packet with a fast heartbeat.
const FAST_OPEN: &str = r#"0{"sid":"fakefakefakefakefake","upgrades":[],"pingInterval":100,"pingTimeout":100,"maxPayload":1000000}"#;

/// An open packet whose heartbeat will not run out during a test.
const SLOW_OPEN: &str = r#"0{"sid":"fakefakefakefakefake","upgrades":[],"pingInterval":5000,"pingTimeout":5000,"maxPayload":1000000}"#;

/// Reads one HTTP request head (and its body, by `content-length`); `None` at EOF.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        raw.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&raw).into_owned();
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await.ok()?;
    Some(head + &String::from_utf8_lossy(&body))
}

async fn respond(stream: &mut TcpStream, body: &str) {
    let res = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=UTF-8\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(res.as_bytes()).await.unwrap();
}

/// A polling server that answers the handshake with `open`, then holds every further
/// request for ever without answering: a server gone silent. Sends each request head it
/// sees on the channel.
async fn silent_polling_server(
    open: &'static str,
) -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut first = true;
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            let answer = std::mem::take(&mut first);
            tokio::spawn(async move {
                while let Some(request) = read_request(&mut stream).await {
                    let _ = tx.send(request);
                    if answer {
                        respond(&mut stream, open).await;
                        // The next request on this connection is held.
                        let _ = read_request(&mut stream).await.map(|r| tx.send(r));
                        std::future::pending::<()>().await;
                    }
                    std::future::pending::<()>().await;
                }
            });
        }
    });
    (addr, rx)
}

/// A WebSocket server that sends `frames` (text) once the client connects, then stays
/// silent with the connection open.
async fn scripted_ws_server(frames: Vec<&'static str>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let (_, mut ws) = tokio_websockets::ServerBuilder::new()
            .accept(stream)
            .await
            .unwrap();
        for f in frames {
            ws.send(tokio_websockets::Message::text(f)).await.unwrap();
        }
        // Read (and drop) whatever comes, never answering: silence.
        while let Some(Ok(_)) = ws.next().await {}
    });
    addr
}

#[tokio::test]
async fn a_silent_server_is_detected_by_the_heartbeat() {
    let addr = scripted_ws_server(vec![FAST_OPEN]).await;
    let (_client, mut events) =
        connect(&format!("http://{addr}"), only(TransportKind::WebSocket)).await;
    assert_eq!(close_reason(&mut events).await, CloseReason::PingTimeout);

    let (addr, _requests) = silent_polling_server(FAST_OPEN).await;
    let (_client, mut events) =
        connect(&format!("http://{addr}"), only(TransportKind::Polling)).await;
    assert_eq!(close_reason(&mut events).await, CloseReason::PingTimeout);
}

#[tokio::test]
async fn each_ping_restarts_the_heartbeat_and_gets_a_pong() {
    // A server that pings, never pongs back: the client must answer with `3` and survive
    // past the first deadline (each ping rearms it), then time out once pings stop.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (pongs_tx, mut pongs) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (_, mut ws) = tokio_websockets::ServerBuilder::new()
            .accept(stream)
            .await
            .unwrap();
        ws.send(tokio_websockets::Message::text(FAST_OPEN))
            .await
            .unwrap();
        for _ in 0..5 {
            ws.send(tokio_websockets::Message::text("2")).await.unwrap();
            // Wait for the pong before the next ping, so no timing is assumed.
            let pong = ws.next().await.unwrap().unwrap();
            pongs_tx.send(pong.as_text().unwrap().to_owned()).unwrap();
        }
        while let Some(Ok(_)) = ws.next().await {}
    });
    let (_client, mut events) =
        connect(&format!("http://{addr}"), only(TransportKind::WebSocket)).await;
    for _ in 0..5 {
        let pong = tokio::time::timeout(WATCHDOG, pongs.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(pong, "3");
    }
    assert_eq!(close_reason(&mut events).await, CloseReason::PingTimeout);
}

#[tokio::test]
async fn an_undecodable_packet_is_a_parse_error() {
    for garbage in ["x", "", "b!!!"] {
        let addr = scripted_ws_server(vec![SLOW_OPEN, garbage]).await;
        let (_client, mut events) =
            connect(&format!("http://{addr}"), only(TransportKind::WebSocket)).await;
        assert_eq!(
            close_reason(&mut events).await,
            CloseReason::ParseError,
            "{garbage:?}"
        );
    }
}

#[tokio::test]
async fn a_handshake_that_never_comes_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    for transport in TRANSPORTS {
        let options = only(transport).open_timeout(Some(Duration::from_millis(200)));
        let err = try_connect(&format!("http://{addr}"), options)
            .await
            .unwrap_err();
        assert!(err.is_timeout(), "{transport:?}: {err}");
    }
}

#[tokio::test]
async fn invalid_open_packets_fail_the_handshake() {
    for open in ["4hello", "0{}", "0{\"sid\":\"a\"}"] {
        let addr = scripted_ws_server(vec![open]).await;
        let err = try_connect(&format!("http://{addr}"), only(TransportKind::WebSocket))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("handshake"), "{open:?}: {err}");
    }
}

#[tokio::test]
async fn query_parameters_and_extra_headers_reach_the_server() {
    let (addr, mut requests) = silent_polling_server(FAST_OPEN).await;
    let options = only(TransportKind::Polling)
        .path("/custom")
        .query("token", "a b&c")
        .extra_header(
            http::HeaderName::from_static("x-test"),
            http::HeaderValue::from_static("yes"),
        );
    let (_client, _events) = connect(&format!("http://{addr}/?from=url"), options).await;
    let handshake = tokio::time::timeout(WATCHDOG, requests.recv())
        .await
        .unwrap()
        .unwrap();
    let request_line = handshake.lines().next().unwrap();
    assert!(
        request_line
            .starts_with("GET /custom/?from=url&token=a%20b%26c&EIO=4&transport=polling&t="),
        "{request_line}"
    );
    assert!(
        handshake
            .to_ascii_lowercase()
            .contains("\r\nx-test: yes\r\n"),
        "{handshake}"
    );
    assert!(
        handshake.contains(&format!("\r\nhost: {addr}\r\n")),
        "{handshake}"
    );
    // The first poll carries the session id.
    let poll = tokio::time::timeout(WATCHDOG, requests.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(poll.contains("&sid=fakefakefakefakefake&t="), "{poll}");
}

#[tokio::test]
async fn binary_frames_have_no_type_byte_and_polling_uses_base64() {
    // Looked at from the server's side of the wire, through the echo: the server decodes
    // what the client sent, so equality proves the framing on both transports.
    for transport in TRANSPORTS {
        let mut server = TestServer::start(relaxed()).await;
        let (client, mut events) = connect(&url(&server), only(transport)).await;
        let data = Bytes::from_static(&[0, 0xff, b'4', b'b', 0x1e]);
        client.send(data.clone()).unwrap();
        assert_eq!(
            next_message(&mut events).await,
            Message::Binary(data.clone())
        );
        loop {
            if let ServerEvent::Message(_, m) = server.next_event().await {
                assert_eq!(m, Message::Binary(data));
                break;
            }
        }
        client.close();
        assert_eq!(close_reason(&mut events).await, CloseReason::ForcedClose);
    }
}
