//! [`RedisAdapterFactory`]: the connections and options shared by the adapters of every
//! namespace of one server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use socketio::server::{Adapter, Namespace};

use crate::adapter::RedisAdapter;
use crate::config::RedisAdapterConfig;
use crate::publisher::Publisher;
use crate::subscriber::Subscriber;

/// What the adapters of one server share: the options, one publishing connection and one
/// subscribing connection.
pub(crate) struct Shared {
    pub(crate) config: RedisAdapterConfig,
    pub(crate) publisher: Publisher,
    pub(crate) subscriber: Subscriber,
    /// Broadcast messages received (see [`RedisAdapterFactory::broadcasts_received`]).
    pub(crate) broadcasts_received: AtomicU64,
}

/// Makes the [`RedisAdapter`] of each namespace of a server; hand
/// [`factory`](Self::factory) to [`SocketIoBuilder::adapter`].
///
/// It opens two connections to Redis, shared by every namespace of the server: one for
/// publishing and commands (a multiplexed connection that reconnects by itself) and one in
/// subscribed mode (reconnected and resubscribed by a task of its own). Each server of the
/// cluster needs its own factory: Node's `serverCount()` counts the subscribed connections.
///
/// ```no_run
/// use socketio::server::SocketIo;
/// use socketio_redis::{RedisAdapterConfig, RedisAdapterFactory};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = redis::Client::open("redis://127.0.0.1:6379/")?;
/// let redis = RedisAdapterFactory::new(client, RedisAdapterConfig::new()).await?;
/// let io = SocketIo::builder().adapter(redis.factory()).build();
/// io.on_connection(|socket| {
///     socket.join("news");
/// });
/// // Reaches the sockets in "news" on every server of the cluster, Node's included.
/// io.to("news").emit("headline", &("hello",))?;
/// # Ok(())
/// # }
/// ```
///
/// [`SocketIoBuilder::adapter`]: socketio::server::SocketIoBuilder::adapter
#[derive(Clone)]
pub struct RedisAdapterFactory {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RedisAdapterFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdapterFactory")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl RedisAdapterFactory {
    /// Connects to Redis with `client` (both connections are opened now, so a Redis that
    /// cannot be reached is an error here; later outages are survived).
    pub async fn new(
        client: redis::Client,
        config: RedisAdapterConfig,
    ) -> redis::RedisResult<RedisAdapterFactory> {
        let publisher = Publisher::connect(client.clone()).await?;
        let subscriber = Subscriber::connect(client).await?;
        Ok(RedisAdapterFactory {
            shared: Arc::new(Shared {
                config,
                publisher,
                subscriber,
                broadcasts_received: AtomicU64::new(0),
            }),
        })
    }

    /// The adapter of a namespace.
    pub fn adapter(&self, nsp: Weak<Namespace>) -> Arc<dyn Adapter> {
        Arc::new(RedisAdapter::new(Arc::clone(&self.shared), nsp))
    }

    /// The factory closure for [`SocketIoBuilder::adapter`].
    ///
    /// [`SocketIoBuilder::adapter`]: socketio::server::SocketIoBuilder::adapter
    pub fn factory(&self) -> impl Fn(Weak<Namespace>) -> Arc<dyn Adapter> + Send + Sync + 'static {
        let this = self.clone();
        move |nsp| this.adapter(nsp)
    }

    /// The options.
    pub fn config(&self) -> &RedisAdapterConfig {
        &self.shared.config
    }

    /// How many channels (not patterns) the subscribing connection listens to: with
    /// [`SubscriptionMode::Rooms`](crate::SubscriptionMode::Rooms), three per namespace plus
    /// one per room that has a local member.
    pub fn subscribed_channels(&self) -> usize {
        self.shared.subscriber.channel_count()
    }

    /// Waits until the subscribing connection has subscribed at least `generation` times:
    /// 1 after the first connection, one more after each reconnection. Returns at once if it
    /// already has.
    pub async fn wait_subscribed(&self, generation: u64) {
        let mut rx = self.shared.subscriber.generation();
        let _ = rx.wait_for(|g| *g >= generation).await;
    }

    /// Resolves once every subscription asked for so far (for example by the namespaces
    /// created until now) is active on Redis: from then on this server hears what the others
    /// publish.
    pub async fn ready(&self) {
        self.shared.subscriber.ready().await;
    }

    /// How many broadcast messages this server received from Redis and decoded (those for
    /// rooms without local members included, those of other namespaces not).
    pub fn broadcasts_received(&self) -> u64 {
        self.shared.broadcasts_received.load(Ordering::Relaxed)
    }

    /// How many times the subscribing connection has subscribed (see
    /// [`wait_subscribed`](Self::wait_subscribed)).
    pub fn subscribed_generation(&self) -> u64 {
        *self.shared.subscriber.generation().borrow()
    }
}
