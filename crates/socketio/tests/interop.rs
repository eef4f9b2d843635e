//! The official npm `socket.io-client` 4.8.4 (pinned in `interop/package.json`) against this
//! server: every scenario of `interop/socketio/client.mjs` (validated against Node's
//! socket.io 4.8.4 by `interop/socketio/validate-reference.mjs`), over WebSocket, polling
//! and the upgrade, with the JSON parser and (feature `msgpack`) the msgpack parser.
//! Needs `npm ci --prefix interop` (the README's test command does it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use socketio::server::SocketIo;

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop")
}

/// Roomy heartbeats, except where a scenario needs short ones.
fn builder(parser: &str, short_heartbeat: bool) -> socketio::server::SocketIoBuilder {
    let (interval, timeout) = if short_heartbeat {
        (300, 200)
    } else {
        (2_000, 5_000)
    };
    let b = SocketIo::builder()
        .ping_interval(Duration::from_millis(interval))
        .ping_timeout(Duration::from_millis(timeout));
    match parser {
        #[cfg(feature = "msgpack")]
        "msgpack" => b.parser(socketio::MsgpackParser),
        _ => b,
    }
}

async fn run(scenario: &str, transport: &str, parser: &str) {
    let dir = interop_dir();
    assert!(
        dir.join("node_modules/socket.io-client").exists(),
        "npm dependencies missing: run `npm ci --prefix interop`"
    );
    let server = TestServer::contract(builder(parser, scenario == "ping-timeout")).await;
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("node")
            .arg(dir.join("socketio/client.mjs"))
            .args(["--url", &format!("http://{}", server.addr)])
            .args([
                "--scenario",
                scenario,
                "--transport",
                transport,
                "--parser",
                parser,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the scenario runner hung")
    .expect("could not run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{scenario} over {transport} with {parser} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("RESULT {"), "no RESULT line:\n{stdout}");
}

async fn every_transport(scenario: &str, parser: &str) {
    for transport in ["websocket", "polling", "upgrade"] {
        run(scenario, transport, parser).await;
    }
}

macro_rules! scenarios {
    ($($name:ident => $scenario:literal),* $(,)?) => {
        mod json {
            $(
                #[tokio::test]
                async fn $name() {
                    super::every_transport($scenario, "json").await;
                }
            )*
        }
        #[cfg(feature = "msgpack")]
        mod msgpack {
            $(
                #[tokio::test]
                async fn $name() {
                    super::every_transport($scenario, "msgpack").await;
                }
            )*
        }
    };
}

scenarios! {
    events_with_every_kind_of_argument_and_binary => "basic",
    acknowledgements_in_both_directions => "acks",
    acknowledgement_timeouts => "ack-timeout",
    multiplexed_static_dynamic_private_and_unknown_namespaces => "namespaces",
    rooms_except_broadcast_and_fetch_sockets => "rooms",
    every_disconnect_reason_on_both_sides => "disconnects",
    volatile_packets => "volatile",
    ping_timeout_seen_by_the_client => "ping-timeout",
}
