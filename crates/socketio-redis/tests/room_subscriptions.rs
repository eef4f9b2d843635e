//! Room-scoped subscriptions (`SubscriptionMode::Rooms`): a node subscribes to the channels
//! of the rooms it has members in, so it is not sent the broadcasts of other nodes' rooms.
//! This test measures it: three nodes, twenty rooms with members on each node, one broadcast
//! per room; it prints how many broadcast messages each node received in either mode.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use socketio::server::Room;
use socketio_redis::{RedisAdapterConfig, SubscriptionMode};
use support::*;

const NODES: usize = 3;
const CLIENTS_PER_NODE: usize = 4;
const ROOMS_PER_NODE: usize = 20;

/// Broadcast messages each node received for one broadcast to each room, then one to all.
async fn measure(mode: SubscriptionMode) -> (Vec<u64>, Vec<usize>) {
    let key = unique_key(&format!("rooms-{mode:?}"));
    let mut nodes = Vec::new();
    for i in 0..NODES {
        let config = RedisAdapterConfig::new().key(&key).subscription_mode(mode);
        nodes.push(Node::start(&format!("n{i}"), REDIS_URL, config).await);
    }
    let mut clients = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let mut mine = Vec::new();
        for _ in 0..CLIENTS_PER_NODE {
            mine.push(Raw::connect(node.addr).await);
        }
        // Each node's rooms are spread over its own clients.
        let sockets = node.io.sockets().local().fetch_sockets().await.unwrap();
        for (k, socket) in sockets.iter().enumerate() {
            let rooms: Vec<Room> = (0..ROOMS_PER_NODE)
                .filter(|r| r % CLIENTS_PER_NODE == k)
                .map(|r| Room::from(format!("n{i}-r{r}")))
                .collect();
            socket.join(rooms);
        }
        clients.push(mine);
    }
    for node in &nodes {
        node.redis.ready().await;
    }
    let before: Vec<u64> = nodes
        .iter()
        .map(|n| n.redis.broadcasts_received())
        .collect();
    for i in 0..NODES {
        for r in 0..ROOMS_PER_NODE {
            nodes[0]
                .io
                .to(format!("n{i}-r{r}"))
                .emit("m", &(r,))
                .unwrap();
        }
    }
    // The same publisher, then: every node has handled the room broadcasts once its clients
    // hear this one.
    nodes[0].io.emit("done", &()).unwrap();
    for mine in &mut clients {
        for client in mine {
            while client.recv().await.unwrap() != r#"42["done"]"# {}
        }
    }
    // n0 hears its own broadcasts back from Redis at some later point (and ignores them):
    // only the other nodes are measured, whose clients' "done" came through Redis.
    let received = nodes
        .iter()
        .zip(before)
        .skip(1)
        .map(|(n, b)| n.redis.broadcasts_received() - b)
        .collect();
    let channels = nodes
        .iter()
        .map(|n| n.redis.subscribed_channels())
        .collect();
    (received, channels)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_subscriptions_spare_nodes_the_traffic_of_other_rooms() {
    let (pattern, _) = measure(SubscriptionMode::Pattern).await;
    let (rooms, channels) = measure(SubscriptionMode::Rooms).await;
    let total = (NODES * ROOMS_PER_NODE + 1) as u64;
    eprintln!(
        "{NODES} nodes, {ROOMS_PER_NODE} rooms with members on each, {total} broadcasts from n0:\n\
         broadcast messages received by n1, n2: pattern {pattern:?}, rooms {rooms:?}\n\
         channels subscribed per node (rooms mode): {channels:?}"
    );
    // Pattern: every node gets every broadcast.
    assert_eq!(pattern, vec![total; NODES - 1]);
    // Rooms: each node gets its own rooms' broadcasts and the one to everybody.
    assert_eq!(rooms, vec![ROOMS_PER_NODE as u64 + 1; NODES - 1]);
    // Request, response, own response, namespace channel; one room per socket (its own id)
    // and the node's rooms.
    assert_eq!(channels, vec![4 + CLIENTS_PER_NODE + ROOMS_PER_NODE; NODES]);
}
