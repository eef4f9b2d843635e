//! Redis adapters for the [`socketio`] server, wire-compatible with the Node.js packages, so
//! that Rust and Node servers serve one application together.
//!
//! * [`RedisAdapterFactory`] / [`RedisAdapter`]: the classic pub/sub adapter of
//!   `@socket.io/redis-adapter` 8.3 (`createAdapter`): broadcasts with rooms, `except` and
//!   flags, broadcasts with acknowledgements across servers, `fetch_sockets`,
//!   `sockets_join` / `sockets_leave`, `disconnect_sockets`, `server_side_emit` (with
//!   acknowledgements) and `server_count`. Node processes using `@socket.io/redis-emitter` 5.1
//!   reach the sockets of these servers too.
//! * [`ShardedRedisAdapterFactory`] / [`ShardedRedisAdapter`]: the sharded adapter
//!   (`createShardedAdapter`, Redis 7 `SSUBSCRIBE` / `SPUBLISH` on a Redis Cluster), with its
//!   static, dynamic and dynamic-private subscription modes.
//!
//! # Layout
//!
//! * `config.rs`: [`RedisAdapterConfig`], [`Encoding`], [`SubscriptionMode`].
//! * `factory.rs`: [`RedisAdapterFactory`], the connections a server's namespaces share.
//! * `adapter.rs`: [`RedisAdapter`], one namespace: what it publishes and what it does with
//!   what it receives.
//! * `channels.rs`: channel names; `message.rs`: request types, packets and options as the
//!   Node adapter writes them; `codec.rs`: msgpack (notepack.io) and JSON.
//! * `publisher.rs`: ordered, pipelined PUBLISH on a reconnecting connection;
//!   `subscriber.rs`: the subscribed connection, its reconnection and resubscription.
//! * `sharded.rs`: the sharded adapter (`ClusterAdapter` messages, cluster connection).
//! * `uid.rs`: random server and request ids.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use socketio::server::SocketIo;
//! use socketio_redis::{RedisAdapterConfig, RedisAdapterFactory};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = redis::Client::open("redis://127.0.0.1:6379/")?;
//! let config = RedisAdapterConfig::new()
//!     .key("socket.io")
//!     .requests_timeout(Duration::from_secs(5));
//! let redis = RedisAdapterFactory::new(client, config).await?;
//! let io = SocketIo::builder().adapter(redis.factory()).build();
//!
//! // Another server of the cluster, Rust or Node, may call `serverSideEmit("hello", …)`.
//! io.on_server_side("hello", |event| {
//!     if let Some(ack) = event.ack() {
//!         let _ = ack.send(&"hi from Rust");
//!     }
//! });
//! let sockets = io.fetch_sockets().await?; // the sockets of every server
//! println!("{} sockets on {} servers", sockets.len(), io.server_count().await);
//! io.listen("127.0.0.1:3000").await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Delivery
//!
//! Redis pub/sub delivers at most once: what is published while a server is disconnected
//! from Redis is lost for it (as with the Node adapter). Connections reconnect by themselves
//! and subscriptions are restored; failures are reported through `tracing`.

mod adapter;
mod channels;
mod codec;
mod config;
mod factory;
mod message;
mod publisher;
mod sharded;
mod subscriber;
mod uid;

pub use adapter::RedisAdapter;
pub use config::{Encoding, RedisAdapterConfig, SubscriptionMode};
pub use factory::RedisAdapterFactory;
/// The Redis client crate, re-exported so that applications use the same version.
pub use redis;
pub use sharded::{
    ShardedRedisAdapter, ShardedRedisAdapterConfig, ShardedRedisAdapterFactory,
    ShardedSubscriptionMode,
};
