//! The options of the classic Redis adapter, with the defaults of `@socket.io/redis-adapter`.

use std::time::Duration;

/// How messages are encoded on Redis (the adapter's `parser` option).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Encoding {
    /// MessagePack, as `notepack.io` writes it: the default of the Node adapter. Binary
    /// arguments stay binary.
    #[default]
    Msgpack,
    /// JSON (a Node adapter configured with `parser: JSON`); binary arguments become
    /// `{"type":"Buffer","data":[…]}` objects, as `JSON.stringify` writes a `Buffer`.
    Json,
}

/// Which broadcast channels a node listens to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SubscriptionMode {
    /// `PSUBSCRIBE <key>#<nsp>#*`, as the Node adapter does: the node receives (and decodes)
    /// every broadcast of the namespace, whatever its room.
    #[default]
    Pattern,
    /// `SUBSCRIBE` to the namespace channel and to the channel of each room that has a local
    /// member (a socket's own room included), so a node is not sent the traffic of rooms it
    /// has no member in. The channel names do not change, so Node nodes and emitters of the
    /// same cluster keep working. A room is subscribed when its first local socket joins, so
    /// a broadcast published in the instant between the join and the subscription can be
    /// missed; it costs a SUBSCRIBE / UNSUBSCRIBE round trip per room created / emptied.
    Rooms,
}

/// Options of the classic adapter.
///
/// ```
/// use std::time::Duration;
/// use socketio_redis::{Encoding, RedisAdapterConfig};
///
/// let config = RedisAdapterConfig::new()
///     .key("my-app")
///     .requests_timeout(Duration::from_secs(2))
///     .encoding(Encoding::Msgpack);
/// assert_eq!(config.get_key(), "my-app");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct RedisAdapterConfig {
    pub(crate) key: String,
    pub(crate) requests_timeout: Duration,
    pub(crate) publish_on_specific_response_channel: bool,
    pub(crate) encoding: Encoding,
    pub(crate) subscription_mode: SubscriptionMode,
}

impl Default for RedisAdapterConfig {
    fn default() -> Self {
        RedisAdapterConfig {
            key: "socket.io".to_owned(),
            requests_timeout: Duration::from_secs(5),
            publish_on_specific_response_channel: false,
            encoding: Encoding::Msgpack,
            subscription_mode: SubscriptionMode::Pattern,
        }
    }
}

impl RedisAdapterConfig {
    /// The defaults: key `socket.io`, requests timeout 5 s, responses on the shared response
    /// channel, msgpack, pattern subscription.
    pub fn new() -> Self {
        Self::default()
    }

    /// The prefix of every channel (Node's `key`, default `socket.io`); every server of a
    /// cluster must use the same.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    /// The channel prefix.
    pub fn get_key(&self) -> &str {
        &self.key
    }

    /// How long a request to the other servers (fetch sockets, server-side emit with
    /// acknowledgements) waits for their answers (Node's `requestsTimeout`, default 5 s).
    pub fn requests_timeout(mut self, timeout: Duration) -> Self {
        self.requests_timeout = timeout;
        self
    }

    /// Whether answers to other servers' requests go to the requester's own channel
    /// `<key>-response#<nsp>#<uid>#` instead of the shared `<key>-response#<nsp>#` (Node's
    /// `publishOnSpecificResponseChannel`, default false). Either way this node listens on
    /// both.
    pub fn publish_on_specific_response_channel(mut self, specific: bool) -> Self {
        self.publish_on_specific_response_channel = specific;
        self
    }

    /// The encoding of broadcasts and binary-capable messages (Node's `parser`, default
    /// msgpack).
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Which broadcast channels this node listens to (default: the pattern, as Node).
    pub fn subscription_mode(mut self, mode: SubscriptionMode) -> Self {
        self.subscription_mode = mode;
        self
    }
}
