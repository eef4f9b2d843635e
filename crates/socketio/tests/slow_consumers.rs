//! Clients that do not read: the outbound queue bound, the overflow policies, and a server
//! that keeps serving the healthy clients in full meanwhile. Over real sockets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use socketio::server::{DisconnectReason, EmitError, OverflowPolicy, Socket, SocketIo};
use tokio::sync::mpsc;

const KIB: usize = 1024;

type Sockets = Arc<Mutex<HashMap<String, Arc<Socket>>>>;
type Disconnects = mpsc::UnboundedReceiver<(String, DisconnectReason)>;

/// Sockets by id, and every disconnection with its reason.
fn tracked(io: &SocketIo) -> (Sockets, Disconnects) {
    let sockets = Arc::new(Mutex::new(HashMap::new()));
    let (tx, rx) = mpsc::unbounded_channel();
    let registry = Arc::clone(&sockets);
    io.on_connection(move |socket| {
        registry
            .lock()
            .unwrap()
            .insert(socket.id().to_string(), Arc::clone(socket));
        let tx = tx.clone();
        socket.on_disconnect(move |s, reason| {
            let _ = tx.send((s.id().to_string(), reason));
        });
    });
    (sockets, rx)
}

fn socket(sockets: &Mutex<HashMap<String, Arc<Socket>>>, id: &str) -> Arc<Socket> {
    Arc::clone(sockets.lock().unwrap().get(id).unwrap())
}

/// The sequence number of a `tick` event (`42["tick",N,"…"]`).
fn tick_number(text: &str) -> u64 {
    let value: serde_json::Value = serde_json::from_str(text.strip_prefix("42").unwrap()).unwrap();
    assert_eq!(value[0], "tick", "{text}");
    value[1].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumers_are_disconnected_while_healthy_clients_receive_every_packet() {
    const TICKS: u64 = 6000;
    const BOUND: usize = 256 * KIB;
    let io = SocketIo::builder()
        .max_buffered_bytes(BOUND)
        .high_water_mark(64 * KIB)
        .build();
    let (sockets, mut disconnects) = tracked(&io);
    let server = TestServer::start(io.clone()).await;

    // Healthy clients read everything and check that nothing is missing or out of order.
    let mut healthy_ids = Vec::new();
    let mut readers = Vec::new();
    for _ in 0..3 {
        let mut raw = server.raw().await;
        healthy_ids.push(raw.connect("/", None).await);
        readers.push(tokio::spawn(async move {
            let mut next = 0;
            while next < TICKS {
                let text = raw.recv().await.expect("a healthy client was closed");
                assert_eq!(tick_number(&text), next, "missing or out of order");
                next += 1;
            }
            next
        }));
    }
    // Slow clients connect, then never read again.
    let mut slow = Vec::new();
    let mut slow_ids = Vec::new();
    for _ in 0..2 {
        let mut raw = server.raw().await;
        slow_ids.push(raw.connect("/", None).await);
        slow.push(raw);
    }
    let healthy: Vec<_> = healthy_ids.iter().map(|id| socket(&sockets, id)).collect();
    let slow_sockets: Vec<_> = slow_ids.iter().map(|id| socket(&sockets, id)).collect();

    // 6000 broadcasts of 1 KiB, paced by the healthy clients only (as a producer that
    // listens to backpressure would be): far more than the slow clients' bound plus what the
    // kernel's socket buffers can hold.
    let payload = "p".repeat(KIB);
    let mut most_queued = 0;
    for n in 0..TICKS {
        io.emit("tick", &(n, payload.as_str())).unwrap();
        if n % 50 == 49 {
            for s in &slow_sockets {
                most_queued = most_queued.max(s.buffered_bytes());
            }
            for s in &healthy {
                s.drained().await;
            }
        }
    }

    for reader in readers {
        assert_eq!(reader.await.unwrap(), TICKS);
    }
    let mut closed = HashMap::new();
    while closed.len() < slow_ids.len() {
        let (id, reason) = tokio::time::timeout(Duration::from_secs(30), disconnects.recv())
            .await
            .expect("a slow client was never disconnected")
            .unwrap();
        closed.insert(id, reason);
    }
    for id in &slow_ids {
        assert_eq!(closed.get(id), Some(&DisconnectReason::QueueFull));
    }
    for id in &healthy_ids {
        assert!(
            !closed.contains_key(id),
            "a healthy client was disconnected"
        );
    }
    assert!(most_queued <= BOUND, "{most_queued} bytes queued");
    for raw in &mut slow {
        assert!(raw.closed().await);
    }
}

#[tokio::test]
async fn under_the_wait_policy_a_full_queue_refuses_emits_and_loses_nothing() {
    // The server's default stays `Disconnect`; this socket chooses `Wait` and a small bound.
    let io = SocketIo::new();
    let (sockets, mut disconnects) = tracked(&io);
    io.on_connection(|socket| {
        socket.set_overflow_policy(OverflowPolicy::Wait);
        socket.set_max_buffered_bytes(64 * KIB);
        socket.set_high_water_mark(16 * KIB);
    });
    let server = TestServer::start(io.clone()).await;
    let mut raw = server.raw().await;
    let id = raw.connect("/", None).await;
    let socket = socket(&sockets, &id);

    // The client is not reading, and on this single-threaded runtime the writer cannot run
    // during the loop either: the queue fills until an emit is refused.
    let payload = "q".repeat(KIB);
    let mut accepted = 0u64;
    let mut refused = false;
    for n in 0..1000u64 {
        match socket.emit("tick", &(n, payload.as_str())) {
            Ok(_) => accepted += 1,
            Err(EmitError::Full) => {
                refused = true;
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(refused, "the queue never filled");
    assert!(socket.buffered_bytes() <= 64 * KIB);
    assert!(socket.connected());
    let refused_ack = socket
        .emit_with_ack("tick", &(accepted, payload.as_str()))
        .await;
    assert!(matches!(refused_ack, Err(socketio::server::AckError::Full)));

    // A producer that waits gets its packet out once the client reads again.
    let waiting = {
        let socket = Arc::clone(&socket);
        let payload = payload.clone();
        tokio::spawn(async move { socket.emit_when_ready("tick", &(accepted, payload)).await })
    };
    for n in 0..=accepted {
        let text = raw.recv().await.unwrap();
        assert_eq!(tick_number(&text), n);
    }
    waiting.await.unwrap().unwrap();

    // A broadcast cannot wait for one client: it closes a connection whose queue is full.
    let mut n = 0u64;
    while !matches!(
        socket.emit("tick", &(n, payload.as_str())),
        Err(EmitError::Full)
    ) {
        n += 1;
        assert!(n < 1000, "the queue never filled");
    }
    io.emit("tick", &(n, payload.as_str())).unwrap();
    let (gone, reason) = disconnects.recv().await.unwrap();
    assert_eq!(
        (gone.as_str(), reason),
        (id.as_str(), DisconnectReason::QueueFull)
    );
    assert!(raw.closed().await);
}
