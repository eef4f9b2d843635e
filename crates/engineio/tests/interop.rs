//! The official npm `engine.io-client` (pinned in `interop/package.json`) against this server.
//! Needs `npm ci --prefix interop` (the README's test command does it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use engineio::{CloseReason, Config};

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop")
}

/// Runs one scenario of `interop/engineio/client.mjs`; panics with its output if it fails.
async fn scenario(server: &TestServer, name: &str, transport: Option<&str>) {
    let dir = interop_dir();
    assert!(
        dir.join("node_modules/engine.io-client").exists(),
        "npm dependencies missing: run `npm ci --prefix interop`"
    );
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(dir.join("engineio/client.mjs"))
        .args([
            "--url",
            &format!("http://{}", server.addr),
            "--scenario",
            name,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(t) = transport {
        cmd.args(["--transport", t]);
    }
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("the scenario runner hung")
        .expect("could not run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "scenario {name} ({transport:?}) failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("RESULT {"), "no RESULT line:\n{stdout}");
}

/// Roomy heartbeats: a busy CI machine must not time sessions out by accident.
fn relaxed() -> Config {
    Config::builder()
        .ping_interval(Duration::from_millis(2_000))
        .ping_timeout(Duration::from_millis(5_000))
        .build()
}

/// The close reasons the server reported, in order, once `n` sessions have closed.
async fn close_reasons(server: &mut TestServer, n: usize) -> Vec<CloseReason> {
    let mut reasons = Vec::new();
    while reasons.len() < n {
        if let Event::Close(_, r) = server.next_event().await {
            reasons.push(r);
        }
    }
    reasons
}

#[tokio::test]
async fn official_client_over_polling_only() {
    let mut server = TestServer::start(relaxed()).await;
    scenario(&server, "polling", None).await;
    assert_eq!(
        close_reasons(&mut server, 1).await,
        [CloseReason::TransportClose]
    );
}

#[tokio::test]
async fn official_client_over_websocket_only() {
    let mut server = TestServer::start(relaxed()).await;
    scenario(&server, "websocket", None).await;
    assert_eq!(
        close_reasons(&mut server, 1).await,
        [CloseReason::TransportClose]
    );
}

#[tokio::test]
async fn official_client_upgrades_from_polling_to_websocket() {
    let server = TestServer::start(relaxed()).await;
    scenario(&server, "upgrade", None).await;
}

#[tokio::test]
async fn official_client_sees_a_server_close() {
    for transport in ["polling", "websocket"] {
        let mut server = TestServer::start(relaxed()).await;
        scenario(&server, "server-close", Some(transport)).await;
        assert_eq!(
            close_reasons(&mut server, 1).await,
            [CloseReason::ForcedClose],
            "{transport}"
        );
    }
}

#[tokio::test]
async fn official_client_closes_and_the_server_sees_transport_close() {
    for transport in ["polling", "websocket"] {
        let mut server = TestServer::start(relaxed()).await;
        scenario(&server, "client-close", Some(transport)).await;
        assert_eq!(
            close_reasons(&mut server, 1).await,
            [CloseReason::TransportClose],
            "{transport}"
        );
    }
}

#[tokio::test]
async fn official_client_detects_a_silent_server_by_heartbeat() {
    for transport in ["websocket", "polling"] {
        let config = Config::builder()
            .ping_interval(Duration::from_millis(300))
            .ping_timeout(Duration::from_millis(200))
            .build();
        let mut server = TestServer::start(config).await;
        scenario(&server, "heartbeat-timeout", Some(transport)).await;
        // The proxy dropped the client's pongs too: the server timed out as well.
        assert_eq!(
            close_reasons(&mut server, 1).await,
            [CloseReason::PingTimeout],
            "{transport}"
        );
    }
}

#[tokio::test]
async fn official_client_gets_a_thousand_messages_back_in_order() {
    for transport in ["polling", "websocket"] {
        let server = TestServer::start(relaxed()).await;
        scenario(&server, "many-messages", Some(transport)).await;
    }
}
