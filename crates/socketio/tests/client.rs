//! The Socket.IO client against this crate's server (the interop contract of
//! `interop/socketio/README.md`, in `tests/common/contract.rs`): every transport and the
//! upgrade, multiplexed namespaces, acknowledgements both ways, binary, disconnections,
//! buffering, reconnection after a cut connection and after a server restart, heartbeat
//! timeout, `retries`, msgpack.
#![cfg(all(feature = "client", feature = "server"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod client_support;
mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use client_support::*;
use common::TestServer;
use serde_json::json;
use socketio::client::{DisconnectReason, Manager, ManagerOptions, TransportKind};
use socketio::server::{SocketIo, SocketIoBuilder};
use tokio::net::TcpListener;

const WS: TransportKind = TransportKind::WebSocket;
const POLLING: TransportKind = TransportKind::Polling;

/// Heartbeats roomy enough that no test sees a ping timeout it does not ask for.
fn builder() -> SocketIoBuilder {
    SocketIo::builder()
        .ping_interval(Duration::from_millis(2_000))
        .ping_timeout(Duration::from_millis(5_000))
}

async fn contract() -> TestServer {
    TestServer::contract(builder()).await
}

fn url(server: &TestServer) -> String {
    format!("http://{}", server.addr)
}

#[tokio::test]
async fn websocket_connects_and_echoes_every_kind_of_argument() {
    let server = contract().await;
    transports_and_echo(&url(&server), ManagerOptions::default(), &[WS]).await;
}

#[tokio::test]
async fn polling_connects_and_echoes_every_kind_of_argument() {
    let server = contract().await;
    transports_and_echo(&url(&server), ManagerOptions::default(), &[POLLING]).await;
}

#[tokio::test]
async fn polling_upgrades_to_websocket_and_echoes_every_kind_of_argument() {
    let server = contract().await;
    transports_and_echo(&url(&server), ManagerOptions::default(), &[POLLING, WS]).await;
}

#[tokio::test]
async fn namespaces_share_one_connection_and_refusals_are_reported() {
    let server = contract().await;
    multiplexed_namespaces(&url(&server), ManagerOptions::default()).await;
}

#[tokio::test]
async fn acknowledgements_both_ways() {
    let server = contract().await;
    for transports in [vec![WS], vec![POLLING]] {
        acks_both_ways(
            &url(&server),
            ManagerOptions::default().transports(transports),
        )
        .await;
    }
}

#[tokio::test]
async fn server_and_client_disconnections_are_final() {
    let server = contract().await;
    disconnections(&url(&server), ManagerOptions::default()).await;
}

#[tokio::test]
async fn emits_before_the_connection_are_buffered_and_volatile_ones_dropped() {
    let server = contract().await;
    buffering_and_listeners(&url(&server), ManagerOptions::default()).await;
}

#[tokio::test]
async fn a_cut_connection_reconnects_and_sends_what_was_buffered() {
    let server = contract().await;
    for transports in [vec![WS], vec![POLLING], vec![POLLING, WS]] {
        cut_and_reconnect(
            server.addr,
            ManagerOptions::default().transports(transports),
        )
        .await;
    }
}

#[tokio::test]
async fn reconnection_gives_up_after_the_configured_attempts() {
    reconnect_failed(ManagerOptions::default()).await;
}

#[tokio::test]
async fn opening_times_out_when_the_server_never_answers() {
    open_timeout().await;
}

#[tokio::test]
async fn missing_pings_are_a_ping_timeout_then_it_reconnects() {
    let server = TestServer::contract(
        SocketIo::builder()
            .ping_interval(Duration::from_millis(300))
            .ping_timeout(Duration::from_millis(300)),
    )
    .await;
    let proxy = Proxy::start(server.addr).await;
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
    assert_eq!(
        notes.manager(|n| matches!(n, Note::Close(_))).await,
        Note::Close(DisconnectReason::PingTimeout)
    );
    proxy.set(Mode::Pass);
    notes.connected("/").await;
    socket.emit("echo", &("back",)).unwrap();
    assert_eq!(notes.event("/", "echo").await, vec![v(json!("back"))]);
    socket.disconnect();
}

/// Our server on a fixed port, which can be closed and started again there.
struct Restartable {
    addr: SocketAddr,
    io: SocketIo,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Restartable {
    async fn start_on(addr: SocketAddr) -> Restartable {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let io = common::contract::server(builder());
        let serving_io = io.clone();
        let serving = tokio::spawn(async move { serving_io.serve(listener).await });
        Restartable { addr, io, serving }
    }

    async fn stop(self) -> SocketAddr {
        self.io.close();
        let _ = within(self.serving).await;
        self.addr
    }
}

#[tokio::test]
async fn the_client_reconnects_after_the_server_restarts() {
    let server = Restartable::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let (tx, mut notes) = recorder();
    let manager = Manager::new(
        &format!("http://{}", server.addr),
        quick(ManagerOptions::default()),
    )
    .unwrap();
    record_manager(&manager, &tx);
    let socket = record(manager.socket("/"), &tx).build();
    let (first, _) = notes.connected("/").await;
    let addr = server.stop().await;
    let reason = notes.disconnected("/").await;
    assert!(reason.will_reconnect(), "{reason}");
    socket
        .emit("echo", &("buffered during the restart",))
        .unwrap();
    notes
        .manager(|n| matches!(n, Note::ReconnectError(_)))
        .await;
    let server = Restartable::start_on(addr).await;
    notes.manager(|n| matches!(n, Note::Reconnect(_))).await;
    let (second, _) = notes.connected("/").await;
    assert_ne!(first, second);
    assert_eq!(
        notes.event("/", "echo").await,
        vec![v(json!("buffered during the restart"))]
    );
    socket.disconnect();
    server.stop().await;
}

/// Every `flaky` tag received, in order, and the receipts of each.
#[derive(Default)]
struct FlakyLog {
    seen: Vec<String>,
    receipts: HashMap<String, u64>,
}

/// Our server with the `flaky` and `seen` events of interop/socketio-server/recovery-server.mjs.
async fn flaky_server() -> TestServer {
    let io = builder().build();
    let log: Arc<Mutex<FlakyLog>> = Arc::default();
    io.on_connection(move |socket| {
        let l = Arc::clone(&log);
        socket.on("flaky", move |_, event| {
            let (tag, drop_first): (String, u64) = event.args().unwrap();
            let n = {
                let mut log = l.lock().unwrap();
                log.seen.push(tag.clone());
                let n = log.receipts.entry(tag.clone()).or_default();
                *n += 1;
                *n
            };
            if n > drop_first
                && let Some(ack) = event.ack()
            {
                ack.send(&(tag, n)).unwrap();
            }
        });
        let l = Arc::clone(&log);
        socket.on("seen", move |_, event| {
            let seen = l.lock().unwrap().seen.clone();
            if let Some(ack) = event.ack() {
                ack.send(&(seen,)).unwrap();
            }
        });
    });
    TestServer::start(io).await
}

#[tokio::test]
async fn retries_deliver_exactly_what_the_server_saw() {
    let server = flaky_server().await;
    retries(&url(&server), ManagerOptions::default()).await;
}

#[tokio::test]
async fn path_query_and_extra_headers_reach_the_server() {
    let io = builder().path("/realtime").build();
    io.on_connection(|socket| {
        let hs = socket.handshake();
        let header = hs
            .headers()
            .get("x-client")
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned);
        socket
            .emit(
                "handshake",
                &(header, hs.query_param("room"), hs.query_param("from-url")),
            )
            .unwrap();
    });
    let server = TestServer::start(io).await;
    for transports in [vec![WS], vec![POLLING]] {
        let (tx, mut notes) = recorder();
        let options = ManagerOptions::default()
            .transports(transports)
            .path("/realtime")
            .query("room", "lobby")
            .extra_header(
                http::HeaderName::from_static("x-client"),
                http::HeaderValue::from_static("rust"),
            );
        let manager = Manager::new(&format!("{}/?from-url=yes", url(&server)), options).unwrap();
        let socket = record(manager.socket("/"), &tx).build();
        assert_eq!(
            notes.event("/", "handshake").await,
            vec![v(json!("rust")), v(json!("lobby")), v(json!("yes"))]
        );
        socket.disconnect();
    }
}

#[tokio::test]
async fn a_remembered_upgrade_reconnects_straight_over_websocket() {
    let server = contract().await;
    let proxy = Proxy::start(server.addr).await;
    let (tx, mut notes) = recorder();
    let manager = Manager::new(
        &proxy.url(),
        quick(ManagerOptions::default()).remember_upgrade(true),
    )
    .unwrap();
    record_manager(&manager, &tx);
    let socket = record(manager.socket("/"), &tx).build();
    let welcome = notes.event("/", "welcome").await;
    assert_eq!(
        welcome[0].get("query").and_then(|q| q.get("transport")),
        Some(&v(json!("polling")))
    );
    notes
        .wait(|n| matches!(n, Note::Upgrade(WS)).then_some(()))
        .await;
    proxy.cut();
    notes.disconnected("/").await;
    let welcome = notes.event("/", "welcome").await;
    assert_eq!(
        welcome[0].get("query").and_then(|q| q.get("transport")),
        Some(&v(json!("websocket"))),
        "the new connection opened on WebSocket"
    );
    assert_eq!(manager.engine().unwrap().transport(), WS);
    socket.disconnect();
}

#[tokio::test]
async fn a_panicking_listener_neither_kills_the_connection_nor_skips_other_listeners() {
    let server = contract().await;
    let (tx, mut notes) = recorder();
    let manager = Manager::new(&url(&server), ManagerOptions::default()).unwrap();
    let socket = record(manager.socket("/"), &tx)
        .on("echo", |_, _| panic!("a faulty listener"))
        .build();
    notes.connected("/").await;
    for n in 0..3 {
        socket.emit("echo", &(n,)).unwrap();
        assert_eq!(notes.event("/", "echo").await, vec![v(json!(n))]);
    }
    assert!(socket.connected());
    socket.disconnect();
}

#[tokio::test]
async fn dropping_every_handle_closes_the_connection() {
    let server = contract().await;
    let (tx, mut notes) = recorder();
    let observer = record(
        Manager::new(&url(&server), ManagerOptions::default())
            .unwrap()
            .socket("/custom"),
        &tx,
    )
    .build();
    notes.connected("/custom").await;
    {
        let (tx2, mut notes2) = recorder();
        let manager = Manager::new(&url(&server), ManagerOptions::default()).unwrap();
        let _socket = record(manager.socket("/dyn-9"), &tx2).build();
        notes2.connected("/dyn-9").await;
    }
    // The server sees the connection go (polled, bounded).
    let mut reason = None;
    for _ in 0..200 {
        let answer = within(observer.emit_with_ack("reasons", &()))
            .await
            .unwrap();
        let reasons: Vec<socketio::Value> = answer.arg(0).unwrap();
        reason = reasons
            .iter()
            .find(|r| r.get("nsp").and_then(socketio::Value::as_str) == Some("/dyn-9"))
            .and_then(|r| {
                r.get("reason")
                    .and_then(socketio::Value::as_str)
                    .map(str::to_owned)
            });
        if reason.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(reason.as_deref(), Some("transport close"));
    observer.disconnect();
}

#[cfg(feature = "msgpack")]
mod msgpack {
    use super::*;
    use socketio::MsgpackParser;

    async fn server() -> TestServer {
        TestServer::contract(builder().parser(MsgpackParser)).await
    }

    fn options() -> ManagerOptions {
        ManagerOptions::default().parser(MsgpackParser)
    }

    #[tokio::test]
    async fn every_transport_with_msgpack() {
        let server = server().await;
        for transports in [vec![WS], vec![POLLING], vec![POLLING, WS]] {
            transports_and_echo(&url(&server), options(), &transports).await;
        }
    }

    #[tokio::test]
    async fn acknowledgements_with_msgpack() {
        let server = server().await;
        acks_both_ways(&url(&server), options()).await;
    }

    #[tokio::test]
    async fn namespaces_with_msgpack() {
        let server = server().await;
        multiplexed_namespaces(&url(&server), options()).await;
    }
}
