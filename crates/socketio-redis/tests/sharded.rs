//! The sharded adapter on a Redis Cluster of the test's own (three primaries on free local
//! ports): two of our nodes and a Node socket.io 4.8.4 server using `createShardedAdapter`
//! of `@socket.io/redis-adapter` 8.3.0, driven by official clients through
//! `interop/redis/cluster.mjs`, in each subscription mode. Needs `npm ci --prefix interop`
//! and `redis-server` / `redis-cli` 7.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::time::Duration;

use socketio_redis::{ShardedRedisAdapterConfig, ShardedSubscriptionMode};
use support::*;

async fn run(test: &str, mode: ShardedSubscriptionMode, mode_name: &str, node_server: bool) {
    let cluster = RedisCluster::start(3).await;
    let key = unique_key(test);
    let config = ShardedRedisAdapterConfig::new()
        .channel_prefix(&key)
        .subscription_mode(mode)
        .requests_timeout(Duration::from_millis(5_000));
    let mut nodes = Vec::new();
    for i in 0..2 {
        nodes.push(ShardedNode::start(&format!("rust-{i}"), &cluster, config.clone()).await);
    }
    let mut args = Vec::new();
    for node in &nodes {
        args.extend(["--server".to_owned(), node.url()]);
    }
    if node_server {
        args.push("--node-server".to_owned());
    }
    args.push("--sharded".to_owned());
    for url in cluster.urls() {
        args.extend(["--cluster-node".to_owned(), url]);
    }
    args.extend([
        "--key".to_owned(),
        key,
        "--subscription-mode".to_owned(),
        mode_name.to_owned(),
        "--scenario".to_owned(),
        "cluster".to_owned(),
    ]);
    run_node("cluster.mjs", &args).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_mixed_cluster_dynamic() {
    run(
        "sharded-dynamic",
        ShardedSubscriptionMode::Dynamic,
        "dynamic",
        true,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_mixed_cluster_static() {
    run(
        "sharded-static",
        ShardedSubscriptionMode::Static,
        "static",
        true,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_mixed_cluster_dynamic_private() {
    run(
        "sharded-private",
        ShardedSubscriptionMode::DynamicPrivate,
        "dynamic-private",
        true,
    )
    .await;
}
