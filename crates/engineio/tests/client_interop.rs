//! The Engine.IO client against Node's official `engine.io` server (pinned in
//! `interop/package.json`), run as `interop/engineio/reference-server.mjs`, an echo server.
//! Needs `npm ci --prefix interop`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod client_support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use client_support::*;
use engineio::TransportKind;
use engineio::client::{ClientOptions, CloseReason, Event, Message};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

const TRANSPORTS: [TransportKind; 2] = [TransportKind::Polling, TransportKind::WebSocket];

/// A running `reference-server.mjs`; killed when dropped.
struct NodeServer {
    _child: Child,
    port: u16,
    /// The server's log: one JSON object per server-side event.
    log: mpsc::UnboundedReceiver<serde_json::Value>,
}

impl NodeServer {
    /// Starts the server with the given extra flags and heartbeats so slow that no ping
    /// happens during a test. (Node's WebSocket transport reports a ping written while the
    /// client's close frame is being handled as a "write error", so a ping racing the close
    /// would turn the expected "transport close" into "transport error"; the official
    /// client meets the same race.)
    async fn start(extra: &[&str]) -> NodeServer {
        Self::start_with(
            &["--ping-interval", "60000", "--ping-timeout", "60000"],
            extra,
        )
        .await
    }

    async fn start_with(heartbeat: &[&str], extra: &[&str]) -> NodeServer {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop");
        assert!(
            dir.join("node_modules/engine.io").exists(),
            "npm dependencies missing: run `npm ci --prefix interop`"
        );
        let mut child = Command::new("node")
            .arg(dir.join("engineio/reference-server.mjs"))
            .args(["--port", "0"])
            .args(heartbeat)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("cannot run node");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(WATCHDOG, lines.next_line())
            .await
            .expect("the reference server did not start")
            .unwrap()
            .expect("the reference server exited");
        let port = first
            .strip_prefix("LISTENING ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .parse()
            .unwrap();
        let (tx, log) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(json) = serde_json::from_str(&line) {
                    let _ = tx.send(json);
                }
            }
        });
        NodeServer {
            _child: child,
            port,
            log,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The next log entry with this `event` for the session `sid`.
    async fn logged(&mut self, event: &str, sid: &str) -> serde_json::Value {
        loop {
            let entry = tokio::time::timeout(WATCHDOG, self.log.recv())
                .await
                .expect("no server log entry within the watchdog")
                .expect("the reference server exited");
            if entry["event"] == event && entry["sid"] == sid {
                return entry;
            }
        }
    }

    /// The reason Node gave for closing the session `sid`.
    async fn close_reason(&mut self, sid: &str) -> String {
        self.logged("close", sid).await["reason"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

#[tokio::test]
async fn node_server_over_each_transport_alone_echoes_everything_unchanged() {
    for transport in TRANSPORTS {
        let mut node = NodeServer::start(&[]).await;
        let (client, mut events) = connect(&node.url(), only(transport)).await;
        let connection = node.logged("connection", client.sid()).await;
        assert_eq!(connection["transport"], transport.as_str());
        let handshake = client.handshake();
        assert_eq!(handshake.ping_interval(), Duration::from_secs(60));
        assert_eq!(handshake.ping_timeout(), Duration::from_secs(60));
        assert_eq!(handshake.max_payload(), 1_000_000);

        echo_all(&client, &mut events, &sample_messages()).await;
        assert_eq!(client.transport(), transport);

        client.close();
        assert_eq!(close_reason(&mut events).await, CloseReason::ForcedClose);
        assert_eq!(
            node.close_reason(client.sid()).await,
            "transport close",
            "{transport:?}"
        );
    }
}

#[tokio::test]
async fn node_server_upgrade_from_polling_loses_and_reorders_nothing() {
    let mut node = NodeServer::start(&[]).await;
    let (client, mut events) = connect(&node.url(), ClientOptions::default()).await;
    let mut sent = Vec::new();
    let mut received = Vec::new();
    let mut i = 0;
    loop {
        let m = Message::from(format!("before-{i}"));
        i += 1;
        client.send(m.clone()).unwrap();
        sent.push(m);
        match next_event(&mut events).await {
            Event::Message(m) => received.push(m),
            Event::Upgrade(TransportKind::WebSocket) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    let upgrade = node.logged("upgrade", client.sid()).await;
    assert_eq!(upgrade["transport"], "websocket");
    assert_eq!(client.transport(), TransportKind::WebSocket);
    for m in sample_messages().into_iter().chain(numbered(100)) {
        client.send(m.clone()).unwrap();
        sent.push(m);
    }
    while received.len() < sent.len() {
        received.push(next_message(&mut events).await);
    }
    assert_eq!(received, sent);
    client.close();
    assert_eq!(close_reason(&mut events).await, CloseReason::ForcedClose);
    assert_eq!(node.close_reason(client.sid()).await, "transport close");
}

#[tokio::test]
async fn node_server_returns_a_thousand_messages_in_order() {
    for transport in TRANSPORTS {
        let node = NodeServer::start(&[]).await;
        let (client, mut events) = connect(&node.url(), only(transport)).await;
        echo_all(&client, &mut events, &numbered(1000)).await;
        client.close();
        assert_eq!(close_reason(&mut events).await, CloseReason::ForcedClose);
    }
}

#[tokio::test]
async fn node_server_never_gets_a_post_over_its_max_payload() {
    // Node answers an oversized POST with 413, which would close the session with a
    // transport error: batching must keep every POST within maxHttpBufferSize.
    let mut node = NodeServer::start(&["--max-payload", "2000"]).await;
    let (client, mut events) = connect(&node.url(), only(TransportKind::Polling)).await;
    assert_eq!(client.handshake().max_payload(), 2000);
    let texts: Vec<Message> = (0..200)
        .map(|i| Message::from(format!("{i:0>100}")))
        .collect();
    echo_all(&client, &mut events, &texts).await;
    let binary: Vec<Message> = (0..10u8).map(|i| Message::from(vec![i; 1200])).collect();
    echo_all(&client, &mut events, &binary).await;
    client.close();
    assert_eq!(close_reason(&mut events).await, CloseReason::ForcedClose);
    assert_eq!(node.close_reason(client.sid()).await, "transport close");
}

#[tokio::test]
async fn node_server_close_is_a_transport_close() {
    for transport in TRANSPORTS {
        let mut node = NodeServer::start(&[]).await;
        let (client, mut events) = connect(&node.url(), only(transport)).await;
        echo_all(&client, &mut events, &[Message::from("one")]).await;
        client.send("server-close").unwrap();
        assert_eq!(
            close_reason(&mut events).await,
            CloseReason::TransportClose,
            "{transport:?}"
        );
        assert_eq!(node.close_reason(client.sid()).await, "forced close");
    }
}

#[tokio::test]
async fn node_server_pings_are_answered_over_many_intervals() {
    for transport in [
        None,
        Some(TransportKind::Polling),
        Some(TransportKind::WebSocket),
    ] {
        // Node pings every 300 ms; a second and a half is about five pings. The timeout is
        // wider than the reference command's 200 ms so that a loaded machine cannot miss it.
        let mut node =
            NodeServer::start_with(&["--ping-interval", "300", "--ping-timeout", "1000"], &[])
                .await;
        let options = match transport {
            Some(t) => only(t),
            None => ClientOptions::default(),
        };
        let (client, mut events) = connect(&node.url(), options).await;
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        // Without pongs Node would have closed the session after 1.3 s, and this echo
        // would not come back.
        echo_all(&client, &mut events, &[Message::from("still here")]).await;
        client.close();
        assert_eq!(close_reason(&mut events).await, CloseReason::ForcedClose);
        // Usually "transport close"; "transport error" when one of Node's pings races the
        // WebSocket close (see `NodeServer::start`). Never a ping timeout.
        let reason = node.close_reason(client.sid()).await;
        assert_ne!(reason, "ping timeout", "{transport:?}");
    }
}

#[tokio::test]
async fn node_server_refusals_and_reserved_parameters() {
    let node = NodeServer::start(&[]).await;
    // The protocol's own parameters win over the user's: an `EIO=3` query is dropped.
    let options = only(TransportKind::Polling)
        .query("EIO", "3")
        .query("transport", "x");
    let (client, mut events) = connect(&node.url(), options).await;
    client.close();
    assert_eq!(close_reason(&mut events).await, CloseReason::ForcedClose);

    // Another path: Node's plain HTTP handler answers 404. (A WebSocket there is dropped by
    // engine.io's `destroyUpgrade` instead, with no status to report.)
    let err = try_connect(&node.url(), only(TransportKind::Polling).path("/wrong/"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    let err = try_connect(&node.url(), only(TransportKind::WebSocket).path("/wrong/"))
        .await
        .unwrap_err();
    assert!(!err.is_timeout(), "{err}");
}
