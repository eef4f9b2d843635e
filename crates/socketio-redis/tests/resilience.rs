//! The adapter when things go wrong: Redis restarted in the middle of traffic (delivery
//! resumes once the connections are back), and a server that stopped answering (requests
//! time out cleanly, with what the others answered). Each test runs its own `redis-server`
//! or key prefix, so they run in parallel with the others.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use socketio::server::AckError;
use socketio_redis::RedisAdapterConfig;
use support::*;

fn config(key: &str) -> RedisAdapterConfig {
    RedisAdapterConfig::new()
        .key(key)
        .requests_timeout(Duration::from_millis(2_000))
}

/// Reads packets until one starts with `prefix`; at most `limit` packets.
async fn expect(client: &mut Raw, prefix: &str, limit: usize) -> String {
    for _ in 0..limit {
        let packet = client.recv().await.expect("connection closed");
        if packet.starts_with(prefix) {
            return packet;
        }
    }
    panic!("no packet starting with {prefix}");
}

/// Waits (at most 60 s) for a tick numbered above `after`; returns its number.
async fn next_tick(client: &mut Raw, after: u32) -> u32 {
    let wait = async {
        loop {
            let packet = client.recv().await.expect("connection closed");
            let n: Option<u32> = packet
                .strip_prefix(r#"42["tick","#)
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|n| n.parse().ok());
            if let Some(n) = n.filter(|n| *n > after) {
                return n;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .unwrap_or_else(|_| panic!("no tick after {after} within 60 s"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_resumes_after_a_redis_restart() {
    let mut redis = PrivateRedis::start().await;
    let key = unique_key("restart");
    let a = Node::start("a", &redis.url(), config(&key)).await;
    let b = Node::start("b", &redis.url(), config(&key)).await;
    let _ca = Raw::connect(a.addr).await;
    let mut cb = Raw::connect(b.addr).await;
    b.redis.ready().await;

    a.io.emit("before", &(1,)).unwrap();
    assert_eq!(cb.recv().await.unwrap(), r#"42["before",1]"#);

    // Traffic from `a` all along: a tick every 10 ms (bounded), while Redis restarts.
    let stop = Arc::new(AtomicBool::new(false));
    let emitted = Arc::new(AtomicU32::new(0));
    let ticking = {
        let io = a.io.clone();
        let (stop, emitted) = (Arc::clone(&stop), Arc::clone(&emitted));
        tokio::spawn(async move {
            for i in 1..=6_000u32 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                io.emit("tick", &(i,)).unwrap();
                emitted.store(i, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    next_tick(&mut cb, 0).await;
    let (generation_a, generation_b) = (
        a.redis.subscribed_generation(),
        b.redis.subscribed_generation(),
    );
    redis.restart().await;
    // Both subscribers notice, reconnect and subscribe again (bounded: fail, never hang).
    tokio::time::timeout(Duration::from_secs(60), async {
        a.redis.wait_subscribed(generation_a + 1).await;
        b.redis.wait_subscribed(generation_b + 1).await;
    })
    .await
    .expect("the subscribers did not subscribe again");
    // A tick emitted from now on reaches `b`'s client: delivery resumed.
    let mark = emitted.load(Ordering::Relaxed);
    next_tick(&mut cb, mark).await;
    stop.store(true, Ordering::Relaxed);
    ticking.await.unwrap();

    // Requests work again too.
    assert_eq!(a.io.server_count().await, 2);
    let sockets = a.io.fetch_sockets().await.unwrap();
    assert_eq!(sockets.len(), 2);
    assert!(
        sockets
            .iter()
            .any(|s| s.id().as_str() == cb.id && !s.is_local())
    );
    redis.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_to_a_server_that_stopped_answering_time_out() {
    let key = unique_key("dead");
    let a = Node::start("a", REDIS_URL, config(&key)).await;
    let b = Node::start("b", REDIS_URL, config(&key)).await;
    let mut ca = Raw::connect(a.addr).await;
    let mut cb = Raw::connect(b.addr).await;
    b.io.on_server_side("ping", |ev| {
        if let Some(ack) = ev.ack() {
            ack.send(&"pong").unwrap();
        }
    });

    // A third "server" that subscribes like one but never answers: it is counted by
    // `PUBSUB NUMSUB`, as a crashed server is until Redis notices.
    let client = socketio_redis::redis::Client::open(REDIS_URL).unwrap();
    let mut dead = client.get_async_pubsub().await.unwrap();
    dead.subscribe(format!("{key}-request#/#")).await.unwrap();
    assert_eq!(a.io.server_count().await, 3);

    let err = a.io.fetch_sockets().await.unwrap_err();
    assert!(err.is_timeout(), "{err}");

    let acks = a.io.server_side_emit_with_ack("ping", &()).await.unwrap();
    assert_eq!(acks.responses, vec![socketio::Value::from("pong")]);
    assert_eq!(acks.error, Some(AckError::Timeout));

    // A broadcast with acknowledgements gets both clients' answers and still reports that a
    // server never told how many sockets it reached.
    let io = a.io.clone();
    let pending = tokio::spawn(async move {
        io.timeout(Duration::from_millis(1_000))
            .emit_with_ack("ask", &())
            .await
            .unwrap()
    });
    for client in [&mut ca, &mut cb] {
        let packet = expect(client, "42", 10).await;
        let id: u64 = packet
            .strip_prefix("42")
            .unwrap()
            .split('[')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        client.send(&format!("43{id}[\"ok\"]")).await;
    }
    let acks = pending.await.unwrap();
    assert_eq!(acks.responses.len(), 2);
    assert_eq!(acks.error, Some(AckError::Timeout));

    // Once it is gone, everything completes again.
    drop(dead);
    let mut tries = 0;
    while a.io.server_count().await != 2 {
        tries += 1;
        assert!(tries < 200, "the dead subscriber is still counted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(a.io.fetch_sockets().await.unwrap().len(), 2);
    let acks = a.io.server_side_emit_with_ack("ping", &()).await.unwrap();
    assert_eq!(acks.error, None);
}
