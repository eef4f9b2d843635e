//! The Socket.IO client against Node's official server, npm `socket.io` 4.8.4 (pinned in
//! `interop/package.json`): `interop/socketio/reference-server.mjs` (the interop contract) and
//! `interop/socketio-server/recovery-server.mjs` (connection state recovery). Every transport
//! and the upgrade, both parsers, multiplexed namespaces, acknowledgements both ways, binary,
//! disconnections, buffering, reconnection after a cut connection and after a restart,
//! heartbeat timeout, `retries`, and connection state recovery.
//! Needs `npm ci --prefix interop`.
#![cfg(feature = "client")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod client_support;

use std::time::Duration;

use client_support::*;
use serde_json::json;
use socketio::Value;
use socketio::client::{DisconnectReason, Manager, ManagerOptions, TransportKind};

const WS: TransportKind = TransportKind::WebSocket;
const POLLING: TransportKind = TransportKind::Polling;

const CONTRACT: &str = "socketio/reference-server.mjs";
const RECOVERY: &str = "socketio-server/recovery-server.mjs";

/// Heartbeats roomy enough that no test sees a ping timeout it does not ask for.
const ROOMY: [&str; 4] = ["--ping-interval", "2000", "--ping-timeout", "5000"];

async fn contract(parser: &str) -> NodeServer {
    let mut args = ROOMY.to_vec();
    args.extend(["--parser", parser]);
    NodeServer::start(CONTRACT, &args).await
}

#[tokio::test]
async fn every_transport_connects_and_echoes_every_kind_of_argument() {
    let server = contract("json").await;
    for transports in [vec![WS], vec![POLLING], vec![POLLING, WS]] {
        transports_and_echo(&server.url(), ManagerOptions::default(), &transports).await;
    }
}

#[tokio::test]
async fn namespaces_share_one_connection_and_refusals_are_reported() {
    let server = contract("json").await;
    multiplexed_namespaces(&server.url(), ManagerOptions::default()).await;
}

#[tokio::test]
async fn acknowledgements_both_ways() {
    let server = contract("json").await;
    for transports in [vec![WS], vec![POLLING]] {
        acks_both_ways(
            &server.url(),
            ManagerOptions::default().transports(transports),
        )
        .await;
    }
}

#[tokio::test]
async fn server_and_client_disconnections_are_final() {
    let server = contract("json").await;
    disconnections(&server.url(), ManagerOptions::default()).await;
}

#[tokio::test]
async fn emits_before_the_connection_are_buffered_and_volatile_ones_dropped() {
    let server = contract("json").await;
    buffering_and_listeners(&server.url(), ManagerOptions::default()).await;
}

#[tokio::test]
async fn a_cut_connection_reconnects_and_sends_what_was_buffered() {
    let server = contract("json").await;
    for transports in [vec![WS], vec![POLLING], vec![POLLING, WS]] {
        cut_and_reconnect(
            server.addr(),
            ManagerOptions::default().transports(transports),
        )
        .await;
    }
}

#[tokio::test]
async fn the_client_reconnects_after_the_server_restarts() {
    let mut server = contract("json").await;
    let (tx, mut notes) = recorder();
    let manager = Manager::new(&server.url(), quick(ManagerOptions::default())).unwrap();
    record_manager(&manager, &tx);
    let socket = record(manager.socket("/"), &tx).build();
    let (first, _) = notes.connected("/").await;
    server.kill().await;
    let reason = notes.disconnected("/").await;
    assert!(
        matches!(
            reason,
            DisconnectReason::TransportClose | DisconnectReason::TransportError
        ),
        "{reason}"
    );
    socket
        .emit("echo", &("buffered during the restart",))
        .unwrap();
    notes
        .manager(|n| matches!(n, Note::ReconnectError(_)))
        .await;
    server.restart().await;
    notes.manager(|n| matches!(n, Note::Reconnect(_))).await;
    let (second, recovered) = notes.connected("/").await;
    assert!(!recovered);
    assert_ne!(first, second);
    assert_eq!(
        notes.event("/", "echo").await,
        vec![v(json!("buffered during the restart"))]
    );
    socket.disconnect();
}

#[tokio::test]
async fn missing_pings_are_a_ping_timeout_then_it_reconnects() {
    let server = NodeServer::start(
        CONTRACT,
        &["--ping-interval", "300", "--ping-timeout", "300"],
    )
    .await;
    let proxy = Proxy::start(server.addr()).await;
    let (tx, mut notes) = recorder();
    // A short open timeout: an attempt whose handshake the proxy swallowed does not linger.
    let options = ManagerOptions::default()
        .transports([WS])
        .timeout(Some(Duration::from_secs(2)));
    let manager = Manager::new(&proxy.url(), quick(options)).unwrap();
    record_manager(&manager, &tx);
    let socket = record(manager.socket("/"), &tx).build();
    notes.connected("/").await;
    proxy.set(Mode::Blackhole);
    assert_eq!(notes.disconnected("/").await, DisconnectReason::PingTimeout);
    proxy.set(Mode::Pass);
    notes.connected("/").await;
    socket.emit("echo", &("back",)).unwrap();
    assert_eq!(notes.event("/", "echo").await, vec![v(json!("back"))]);
    socket.disconnect();
}

#[tokio::test]
async fn retries_deliver_exactly_what_the_server_saw() {
    let server = NodeServer::start(RECOVERY, &["--no-recovery"]).await;
    retries(&server.url(), ManagerOptions::default()).await;
}

#[tokio::test]
async fn retries_resend_a_packet_lost_with_the_connection() {
    // No ack timeout: a try is only sent again after a reconnection (socket.io-client's
    // `_drainQueue(true)` on connect).
    let server = NodeServer::start(RECOVERY, &["--no-recovery"]).await;
    let proxy = Proxy::start(server.addr()).await;
    let (tx, mut notes) = recorder();
    let manager = Manager::new(&proxy.url(), quick(ManagerOptions::default())).unwrap();
    let socket = record(manager.socket("/"), &tx).retries(3).build();
    notes.connected("/").await;
    // Never acknowledged on the first receipt: the queue waits…
    let first = socket.emit_with_ack("flaky", &("lost", 1));
    let second = socket.emit_with_ack("flaky", &("next", 0));
    // (The server must have it before the cut, or the next try would be its first receipt.)
    let observer = Manager::new(&server.url(), ManagerOptions::default())
        .unwrap()
        .socket("/")
        .build();
    let mut seen = Vec::<String>::new();
    for _ in 0..200 {
        seen = within(observer.emit_with_ack("seen", &()))
            .await
            .unwrap()
            .arg(0)
            .unwrap();
        if !seen.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, ["lost"]);
    // …until the connection is lost and back: then the try is sent again, and acknowledged.
    proxy.cut();
    notes.disconnected("/").await;
    notes.connected("/").await;
    let first = within(first).await.unwrap();
    assert_eq!(
        first.args::<(String, u32)>().unwrap(),
        ("lost".to_owned(), 2)
    );
    let second = within(second).await.unwrap();
    assert_eq!(
        second.args::<(String, u32)>().unwrap(),
        ("next".to_owned(), 1)
    );
    let seen: Vec<String> = within(socket.emit_with_ack("seen", &()))
        .await
        .unwrap()
        .arg(0)
        .unwrap();
    assert_eq!(seen, ["lost", "lost", "next"]);
    socket.disconnect();
    observer.disconnect();
}

/// Connection state recovery: after a cut, the client sends its `pid` and last `offset`, the
/// server restores the session (same id, rooms kept) and sends what the client missed, before
/// its CONNECT reply; the client delivers those first, then reports `recovered`.
#[tokio::test]
async fn a_recovered_session_keeps_its_id_and_receives_what_it_missed() {
    for parser in ["json", "msgpack"] {
        if parser == "msgpack" && !cfg!(feature = "msgpack") {
            continue;
        }
        recovery(parser).await;
    }
}

async fn recovery(parser: &str) {
    let server = NodeServer::start(RECOVERY, &["--parser", parser]).await;
    let options = || {
        let o = quick(ManagerOptions::default());
        #[cfg(feature = "msgpack")]
        if parser == "msgpack" {
            return o.parser(socketio::MsgpackParser);
        }
        o
    };
    let proxy = Proxy::start(server.addr()).await;
    let (tx, mut notes) = recorder();
    let manager = Manager::new(&proxy.url(), options()).unwrap();
    record_manager(&manager, &tx);
    let subject = record(manager.socket("/").auth(&json!({"token": "t"})), &tx).build();

    let (id, recovered) = notes.connected("/").await;
    assert!(!recovered);
    let welcome = notes.event("/", "welcome").await;
    assert_eq!(welcome[0].get("recovered"), Some(&Value::Bool(false)));
    // Every plain emit carries its offset as an extra last argument, left in place.
    let offset = welcome.last().and_then(Value::as_str).unwrap().to_owned();
    let rooms = within(subject.emit_with_ack("join", &("r",)))
        .await
        .unwrap();
    assert_eq!(rooms.arg::<Vec<String>>(0).unwrap().len(), 2);
    subject.emit("echo", &("before",)).unwrap();
    let echo = notes.event("/", "echo").await;
    assert_eq!(echo[0], v(json!("before")));
    assert_eq!(echo.len(), 2, "the offset follows the arguments");
    assert_ne!(echo[1].as_str(), Some(offset.as_str()));

    // Cut; the server keeps the session; what the room gets meanwhile is stored.
    proxy.set(Mode::Refuse);
    proxy.cut();
    notes.disconnected("/").await;
    let mut gone = false;
    // Up to 30 s: on a loaded machine Node's server can take seconds to see the cut.
    for _ in 0..600 {
        let in_room = within(subject_room_members(&server, options())).await;
        if in_room.is_empty() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone, "the server never saw the subject leave");
    // Through the observer's own connection, in the main namespace.
    let sender = Manager::new(&server.url(), options())
        .unwrap()
        .socket("/")
        .build();
    within(sender.emit_with_ack("echo", &())).await.unwrap();
    sender.emit("to-room", &("r", "missed 1")).unwrap();
    sender
        .emit("to-room", &("r", "missed 2", bin(&[1, 2, 3])))
        .unwrap();
    within(sender.emit_with_ack("echo", &())).await.unwrap();
    proxy.set(Mode::Pass);

    let (again, recovered) = notes.connected("/").await;
    assert!(recovered, "{:#?}", notes.log);
    assert!(subject.recovered());
    assert_eq!(again, id, "a recovered session keeps its id");
    // The missed packets came before the CONNECT reply, so before `connect`.
    let position = |pred: &dyn Fn(&Note) -> bool| notes.log.iter().rposition(pred).unwrap();
    let missed = notes.events("/", "room-msg");
    assert_eq!(missed.len(), 2, "{:#?}", notes.log);
    assert_eq!(missed[0][0], v(json!("missed 1")));
    assert_eq!(missed[1][0], v(json!("missed 2")));
    assert_eq!(missed[1][1], bin(&[1, 2, 3]));
    let connect_at = position(&|n| matches!(n, Note::Connect { .. }));
    let missed_at = position(&|n| matches!(n, Note::Event { name, .. } if name == "room-msg"));
    assert!(missed_at < connect_at);
    // The reconnection sent pid and offset, merged under the auth.
    let welcome = notes.event("/", "welcome").await;
    let auth = welcome[0].get("auth").unwrap();
    assert_eq!(welcome[0].get("recovered"), Some(&Value::Bool(true)));
    assert_eq!(auth.get("token").and_then(Value::as_str), Some("t"));
    assert!(auth.get("pid").and_then(Value::as_str).is_some());
    assert_eq!(
        auth.get("offset").and_then(Value::as_str),
        echo[1].as_str(),
        "the offset of the last event received before the cut"
    );
    // Still in its room.
    sender.emit("to-room", &("r", "after")).unwrap();
    let after = notes.wait(|n| match n {
        Note::Event { name, args, .. } if name == "room-msg" && args[0] == v(json!("after")) => {
            Some(())
        }
        _ => None,
    });
    within(after).await;
    subject.disconnect();
    sender.disconnect();
}

/// The sockets in room `r` of `/`, asked through a connection of its own.
async fn subject_room_members(server: &NodeServer, options: ManagerOptions) -> Vec<String> {
    let asker = Manager::new(&server.url(), options.force_new(true))
        .unwrap()
        .socket("/")
        .build();
    let answer = within(asker.emit_with_ack("sockets-in", &("r",)))
        .await
        .unwrap();
    asker.disconnect();
    answer.arg(0).unwrap()
}

#[cfg(feature = "msgpack")]
mod msgpack {
    use super::*;
    use socketio::MsgpackParser;

    fn options() -> ManagerOptions {
        ManagerOptions::default().parser(MsgpackParser)
    }

    #[tokio::test]
    async fn every_transport_with_msgpack() {
        let server = contract("msgpack").await;
        for transports in [vec![WS], vec![POLLING], vec![POLLING, WS]] {
            transports_and_echo(&server.url(), options(), &transports).await;
        }
    }

    #[tokio::test]
    async fn acknowledgements_with_msgpack() {
        let server = contract("msgpack").await;
        acks_both_ways(&server.url(), options()).await;
    }

    #[tokio::test]
    async fn namespaces_with_msgpack() {
        let server = contract("msgpack").await;
        multiplexed_namespaces(&server.url(), options()).await;
    }
}
