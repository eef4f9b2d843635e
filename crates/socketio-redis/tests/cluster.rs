//! Clusters of servers sharing Redis, driven by the official npm `socket.io-client` through
//! `interop/redis/cluster.mjs`: three of our nodes; two of ours with a Node socket.io 4.8.4
//! server using `@socket.io/redis-adapter` 8.3.0 (both encodings, both subscription modes, responses on the
//! shared or the requester's channel);
//! and `@socket.io/redis-emitter` 5.1.0 reaching our nodes. Every operation is made from
//! every server and checked on every other. Needs `npm ci --prefix interop` and a Redis
//! server on 127.0.0.1:6379.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::time::Duration;

use socketio_redis::{Encoding, RedisAdapterConfig, SubscriptionMode};
use support::*;

/// How the servers of a test are configured.
#[derive(Clone, Copy)]
struct Setup {
    encoding: Encoding,
    mode: SubscriptionMode,
    specific_response: bool,
}

const DEFAULT: Setup = Setup {
    encoding: Encoding::Msgpack,
    mode: SubscriptionMode::Pattern,
    specific_response: false,
};

fn config(key: &str, setup: Setup) -> RedisAdapterConfig {
    RedisAdapterConfig::new()
        .key(key)
        .encoding(setup.encoding)
        .subscription_mode(setup.mode)
        .publish_on_specific_response_channel(setup.specific_response)
        .requests_timeout(Duration::from_millis(5_000))
}

async fn run(test: &str, rust_nodes: usize, node_server: bool, scenario: &str, setup: Setup) {
    let key = unique_key(test);
    let mut nodes = Vec::new();
    for i in 0..rust_nodes {
        nodes.push(Node::start(&format!("rust-{i}"), REDIS_URL, config(&key, setup)).await);
    }
    let mut args = Vec::new();
    for node in &nodes {
        args.push("--server".to_owned());
        args.push(node.url());
    }
    if node_server {
        args.push("--node-server".to_owned());
    }
    if setup.specific_response {
        args.push("--specific-response".to_owned());
    }
    args.extend([
        "--key".to_owned(),
        key,
        "--scenario".to_owned(),
        scenario.to_owned(),
        "--encoding".to_owned(),
        match setup.encoding {
            Encoding::Msgpack => "msgpack".to_owned(),
            Encoding::Json => "json".to_owned(),
        },
        "--requests-timeout".to_owned(),
        "5000".to_owned(),
    ]);
    run_node("cluster.mjs", &args).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_rust_nodes_cross_every_operation() {
    run("three", 3, false, "cluster", DEFAULT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_cluster_with_a_node_server() {
    run("mixed", 2, true, "cluster", DEFAULT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_cluster_with_json_encoding() {
    let setup = Setup {
        encoding: Encoding::Json,
        ..DEFAULT
    };
    run("mixed-json", 2, true, "cluster", setup).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_cluster_with_room_subscriptions() {
    let setup = Setup {
        mode: SubscriptionMode::Rooms,
        ..DEFAULT
    };
    run("mixed-rooms", 2, true, "cluster", setup).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_cluster_with_responses_on_specific_channels() {
    let setup = Setup {
        specific_response: true,
        ..DEFAULT
    };
    run("mixed-specific", 2, true, "cluster", setup).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_emitter_reaches_rust_and_node_servers() {
    run("emitter", 2, true, "emitter", DEFAULT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_emitter_with_room_subscriptions() {
    let setup = Setup {
        mode: SubscriptionMode::Rooms,
        ..DEFAULT
    };
    run("emitter-rooms", 2, false, "emitter", setup).await;
}
