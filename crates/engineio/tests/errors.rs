//! Every refusal of PROTOCOL-FACTS §2.6, with Node's status, code and message; the server
//! keeps serving after each.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use engineio::{Config, TransportKind};

fn body(code: u8, message: &str) -> String {
    format!(r#"{{"code":{code},"message":"{message}"}}"#)
}

async fn assert_refused(
    server: &TestServer,
    method: &str,
    query: &str,
    headers: &[(&str, &str)],
    code: u8,
    message: &str,
) {
    let res = http(server.addr, method, &server.url(query), headers, b"").await;
    let status = if code == 4 { 403 } else { 400 };
    assert_eq!(res.status, status, "{method} {query}");
    assert_eq!(
        res.header("content-type"),
        Some("application/json"),
        "{method} {query}"
    );
    assert_eq!(res.text(), body(code, message), "{method} {query}");
}

#[tokio::test]
async fn unknown_or_missing_transports_get_code_0() {
    let server = TestServer::default().await;
    for query in [
        "EIO=4",
        "EIO=4&transport=abc",
        "EIO=4&transport=__proto__",
        "EIO=4&transport=webtransport",
    ] {
        assert_refused(&server, "GET", query, &[], 0, "Transport unknown").await;
    }
    // An upgrade request with an unknown transport (CVE-2023-31125) is refused the same way.
    let ws_headers = [
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("sec-websocket-version", "13"),
    ];
    assert_refused(
        &server,
        "GET",
        "EIO=4&transport=__proto__",
        &ws_headers,
        0,
        "Transport unknown",
    )
    .await;
    server.handshake().await;
}

#[tokio::test]
async fn a_disabled_transport_gets_code_0() {
    let server = TestServer::start(
        Config::builder()
            .transports(&[TransportKind::WebSocket])
            .build(),
    )
    .await;
    assert_refused(
        &server,
        "GET",
        "EIO=4&transport=polling",
        &[],
        0,
        "Transport unknown",
    )
    .await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    ws_open(&mut ws).await;
}

#[tokio::test]
async fn unknown_session_ids_get_code_1() {
    let server = TestServer::default().await;
    for sid in ["AAAAAAAAAAAAAAAAAAAA", "nope", "__proto__", "%00"] {
        assert_refused(
            &server,
            "GET",
            &format!("EIO=4&transport=polling&sid={sid}"),
            &[],
            1,
            "Session ID unknown",
        )
        .await;
    }
}

#[tokio::test]
async fn handshakes_with_other_methods_get_code_2() {
    let server = TestServer::default().await;
    assert_refused(
        &server,
        "POST",
        "EIO=4&transport=polling",
        &[],
        2,
        "Bad handshake method",
    )
    .await;
    assert_refused(
        &server,
        "PUT",
        "EIO=4&transport=polling",
        &[],
        2,
        "Bad handshake method",
    )
    .await;
    // Without CORS a preflight is just a handshake with the wrong method.
    assert_refused(
        &server,
        "OPTIONS",
        "EIO=4&transport=polling",
        &[("origin", "http://a.example")],
        2,
        "Bad handshake method",
    )
    .await;
}

#[tokio::test]
async fn a_websocket_handshake_without_upgrade_gets_code_3() {
    let server = TestServer::default().await;
    assert_refused(
        &server,
        "GET",
        "EIO=4&transport=websocket",
        &[],
        3,
        "Bad request",
    )
    .await;
}

#[tokio::test]
async fn a_refused_allow_request_gets_403_with_its_message() {
    let config = Config::builder()
        .allow_request(|req| async move {
            match req.headers().get("x-token") {
                Some(v) if v == "secret" => Ok(()),
                _ => Err("no token".to_owned()),
            }
        })
        .build();
    let server = TestServer::start(config).await;
    assert_refused(
        &server,
        "GET",
        "EIO=4&transport=polling",
        &[],
        4,
        "no token",
    )
    .await;
    let res = http(
        server.addr,
        "GET",
        &server.url("EIO=4&transport=polling"),
        &[("x-token", "secret")],
        b"",
    )
    .await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn other_protocol_versions_get_code_5() {
    let server = TestServer::default().await;
    for query in [
        "transport=polling",
        "EIO=3&transport=polling",
        "EIO=abc&transport=polling",
    ] {
        assert_refused(
            &server,
            "GET",
            query,
            &[],
            5,
            "Unsupported protocol version",
        )
        .await;
    }
    // On WebSocket too, before the upgrade (Node answers 101 first and writes the 400 into
    // the upgraded stream; a plain 400 tells clients the same thing more cleanly).
    let ws_headers = [
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("sec-websocket-version", "13"),
    ];
    assert_refused(
        &server,
        "GET",
        "EIO=abc&transport=websocket",
        &ws_headers,
        5,
        "Unsupported protocol version",
    )
    .await;
}

#[tokio::test]
async fn checks_run_in_nodes_order() {
    let server = TestServer::default().await;
    // Transport before protocol version and method.
    assert_refused(
        &server,
        "POST",
        "EIO=9&transport=nope",
        &[],
        0,
        "Transport unknown",
    )
    .await;
    // Session id before method.
    assert_refused(
        &server,
        "POST",
        "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA",
        &[],
        1,
        "Session ID unknown",
    )
    .await;
    // Method before protocol version.
    assert_refused(
        &server,
        "POST",
        "EIO=9&transport=polling",
        &[],
        2,
        "Bad handshake method",
    )
    .await;
}
