//! The sharded adapter: wire-compatible with `createShardedAdapter` of
//! `@socket.io/redis-adapter` 8.3 (Redis 7 sharded pub/sub, `SSUBSCRIBE` / `SPUBLISH`, on a
//! Redis Cluster). It speaks the `ClusterAdapter` protocol of `socket.io-adapter`: every
//! message is `{uid, nsp, type, data}`, JSON unless its data holds binary (then msgpack).
//!
//! Channels (prefix `socket.io`): `<prefix>#<nsp>#` for everything, `<prefix>#<nsp>#<uid>#`
//! for the answers to this server, and `<prefix>#<nsp>#<room>#` for the broadcasts to one
//! room in the dynamic subscription modes, subscribed while the room has local members.
//!
//! Transport: one cluster connection (RESP3) carries the subscriptions and the publications;
//! redis-rs reconnects it and subscribes again by itself after a failure.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use engineio::Sid;
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{PushInfo, PushKind};
use smol_str::SmolStr;
use socketio::server::{
    AckCollector, AckError, AckEvent, Adapter, AdapterError, BoxFuture, BroadcastOptions,
    LocalAdapter, Namespace, OutgoingPacket, RemoteSocket, Room, ServerSideAcks, SocketDetails,
};
use socketio::{Map, Value};
use tokio::sync::{mpsc, oneshot};

use crate::codec;
use crate::message::{object, opts_from, opts_value, packet_from, packet_value, request_rooms};
use crate::uid::random_hex;

/// The `type` of a `ClusterAdapter` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MessageType {
    Broadcast = 3,
    SocketsJoin = 4,
    SocketsLeave = 5,
    DisconnectSockets = 6,
    FetchSockets = 7,
    FetchSocketsResponse = 8,
    ServerSideEmit = 9,
    ServerSideEmitResponse = 10,
    BroadcastClientCount = 11,
    BroadcastAck = 12,
}

impl MessageType {
    fn from_value(v: Option<&Value>) -> Option<MessageType> {
        Some(match v?.as_u64()? {
            3 => MessageType::Broadcast,
            4 => MessageType::SocketsJoin,
            5 => MessageType::SocketsLeave,
            6 => MessageType::DisconnectSockets,
            7 => MessageType::FetchSockets,
            8 => MessageType::FetchSocketsResponse,
            9 => MessageType::ServerSideEmit,
            10 => MessageType::ServerSideEmitResponse,
            11 => MessageType::BroadcastClientCount,
            12 => MessageType::BroadcastAck,
            _ => return None,
        })
    }

    /// Types whose data may hold binary, sent as msgpack when it does.
    fn may_hold_binary(self) -> bool {
        matches!(
            self,
            MessageType::Broadcast
                | MessageType::BroadcastAck
                | MessageType::FetchSocketsResponse
                | MessageType::ServerSideEmit
                | MessageType::ServerSideEmitResponse
        )
    }
}

/// Which room channels a server subscribes to (`subscriptionMode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ShardedSubscriptionMode {
    /// Only the namespace channel and this server's response channel.
    Static,
    /// Also one channel per public room (not a socket's own room) with local members: the
    /// default.
    #[default]
    Dynamic,
    /// Also one channel per room, a socket's own room included.
    DynamicPrivate,
}

/// Options of the sharded adapter, with the defaults of `createShardedAdapter`.
///
/// ```
/// use socketio_redis::{ShardedRedisAdapterConfig, ShardedSubscriptionMode};
///
/// let config = ShardedRedisAdapterConfig::new()
///     .channel_prefix("my-app")
///     .subscription_mode(ShardedSubscriptionMode::Static);
/// # let _ = config;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct ShardedRedisAdapterConfig {
    channel_prefix: String,
    subscription_mode: ShardedSubscriptionMode,
    requests_timeout: Duration,
}

impl Default for ShardedRedisAdapterConfig {
    fn default() -> Self {
        ShardedRedisAdapterConfig {
            channel_prefix: "socket.io".to_owned(),
            subscription_mode: ShardedSubscriptionMode::Dynamic,
            requests_timeout: Duration::from_secs(5),
        }
    }
}

impl ShardedRedisAdapterConfig {
    /// The defaults: prefix `socket.io`, dynamic subscriptions, 5 s requests timeout.
    pub fn new() -> Self {
        Self::default()
    }

    /// The prefix of every channel (`channelPrefix`, default `socket.io`).
    pub fn channel_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.channel_prefix = prefix.into();
        self
    }

    /// Which room channels to subscribe to (default dynamic).
    pub fn subscription_mode(mut self, mode: ShardedSubscriptionMode) -> Self {
        self.subscription_mode = mode;
        self
    }

    /// How long `fetch_sockets` (without a timeout flag) and `server_side_emit_with_ack`
    /// wait for the other servers (Node's `DEFAULT_TIMEOUT`, 5 s).
    pub fn requests_timeout(mut self, timeout: Duration) -> Self {
        self.requests_timeout = timeout;
        self
    }
}

enum Command {
    Subscribe(String),
    Unsubscribe(String),
    Barrier(oneshot::Sender<()>),
}

struct Shared {
    config: ShardedRedisAdapterConfig,
    conn: ClusterConnection,
    /// Channel → the adapter that listens to it.
    routes: Mutex<HashMap<String, Weak<Inner>>>,
    commands: mpsc::UnboundedSender<Command>,
    publications: mpsc::UnboundedSender<(String, Bytes)>,
    received: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Makes the [`ShardedRedisAdapter`] of each namespace of a server, on a Redis Cluster.
///
/// ```no_run
/// use socketio::server::SocketIo;
/// use socketio_redis::redis::cluster::ClusterClientBuilder;
/// use socketio_redis::{ShardedRedisAdapterConfig, ShardedRedisAdapterFactory};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let nodes = ClusterClientBuilder::new(vec!["redis://127.0.0.1:7000/"]);
/// let redis = ShardedRedisAdapterFactory::new(nodes, ShardedRedisAdapterConfig::new()).await?;
/// let io = SocketIo::builder().adapter(redis.factory()).build();
/// # let _ = io;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ShardedRedisAdapterFactory {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ShardedRedisAdapterFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardedRedisAdapterFactory")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl ShardedRedisAdapterFactory {
    /// Connects to the cluster described by `nodes` (RESP3 and the push channel are set
    /// here; the rest of the builder, such as credentials, is kept).
    pub async fn new(
        nodes: ClusterClientBuilder,
        config: ShardedRedisAdapterConfig,
    ) -> redis::RedisResult<ShardedRedisAdapterFactory> {
        let (push_tx, push_rx) = mpsc::unbounded_channel::<PushInfo>();
        let client = nodes
            .use_protocol(redis::ProtocolVersion::RESP3)
            .push_sender(push_tx)
            .build()?;
        let conn = client.get_async_connection().await?;
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (publications, publications_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            config,
            conn: conn.clone(),
            routes: Mutex::new(HashMap::new()),
            commands,
            publications,
            received: AtomicU64::new(0),
        });
        tokio::spawn(subscriptions(conn.clone(), commands_rx));
        tokio::spawn(publisher(conn, publications_rx));
        tokio::spawn(dispatcher(Arc::downgrade(&shared), push_rx));
        Ok(ShardedRedisAdapterFactory { shared })
    }

    /// The adapter of a namespace.
    pub fn adapter(&self, nsp: Weak<Namespace>) -> Arc<dyn Adapter> {
        Arc::new(ShardedRedisAdapter::new(Arc::clone(&self.shared), nsp))
    }

    /// The factory closure for `SocketIoBuilder::adapter`.
    pub fn factory(&self) -> impl Fn(Weak<Namespace>) -> Arc<dyn Adapter> + Send + Sync + 'static {
        let this = self.clone();
        move |nsp| this.adapter(nsp)
    }

    /// Resolves once every subscription asked for so far is active.
    pub async fn ready(&self) {
        let (tx, rx) = oneshot::channel();
        if self.shared.commands.send(Command::Barrier(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// How many messages this server received on its channels.
    pub fn messages_received(&self) -> u64 {
        self.shared.received.load(Ordering::Relaxed)
    }
}

/// Applies subscription changes in order (one channel per command: the channels of one
/// `SSUBSCRIBE` must share a slot).
async fn subscriptions(
    mut conn: ClusterConnection,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    while let Some(command) = commands.recv().await {
        let result = match command {
            Command::Subscribe(channel) => conn.ssubscribe(&channel).await.map(|()| channel),
            Command::Unsubscribe(channel) => conn.sunsubscribe(&channel).await.map(|()| channel),
            Command::Barrier(tx) => {
                let _ = tx.send(());
                continue;
            }
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "sharded redis adapter: subscription change failed");
        }
    }
}

/// Publishes in the order queued, one SPUBLISH after the other: the cluster connection may
/// reorder requests in flight, and a broadcast must not overtake an earlier one.
async fn publisher(
    mut conn: ClusterConnection,
    mut queue: mpsc::UnboundedReceiver<(String, Bytes)>,
) {
    while let Some((channel, payload)) = queue.recv().await {
        let mut cmd = redis::cmd("SPUBLISH");
        cmd.arg(&channel).arg(&payload[..]);
        let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::with_key(
            channel.as_bytes(),
            SlotAddr::Master,
        )));
        if let Err(e) = conn.route_command(cmd, route).await {
            tracing::warn!(error = %e, channel, "sharded redis adapter: publish failed");
        }
    }
}

/// Hands each sharded message to the adapter of its channel.
async fn dispatcher(shared: Weak<Shared>, mut pushes: mpsc::UnboundedReceiver<PushInfo>) {
    while let Some(push) = pushes.recv().await {
        if push.kind != PushKind::SMessage {
            if push.kind == PushKind::Disconnection {
                tracing::warn!("sharded redis adapter: a cluster connection dropped");
            }
            continue;
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let Some(msg) = redis::Msg::from_push_info(push) else {
            continue;
        };
        let channel = msg.get_channel_name();
        let target = lock(&shared.routes).get(channel).and_then(Weak::upgrade);
        if let Some(inner) = target {
            shared.received.fetch_add(1, Ordering::Relaxed);
            inner.on_raw_message(channel, msg.get_payload_bytes());
        }
    }
}

/// The adapter of one namespace on sharded pub/sub.
pub struct ShardedRedisAdapter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ShardedRedisAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardedRedisAdapter")
            .field("uid", &self.inner.uid)
            .finish_non_exhaustive()
    }
}

enum Pending {
    Fetch {
        expected: usize,
        sockets: Vec<Value>,
        received: usize,
        done: Option<oneshot::Sender<()>>,
    },
    ServerSideEmit {
        expected: usize,
        responses: Vec<Value>,
        done: Option<oneshot::Sender<()>>,
    },
}

struct NspState {
    name: SmolStr,
    /// `<prefix>#<nsp>#`.
    channel: String,
    /// `<prefix>#<nsp>#<uid>#`.
    response_channel: String,
}

struct Inner {
    uid: String,
    shared: Arc<Shared>,
    local: LocalAdapter,
    state: OnceLock<NspState>,
    requests: Mutex<HashMap<String, Pending>>,
    ack_requests: Mutex<HashMap<String, AckCollector>>,
    me: Weak<Inner>,
}

impl ShardedRedisAdapter {
    fn new(shared: Arc<Shared>, nsp: Weak<Namespace>) -> ShardedRedisAdapter {
        let inner = Arc::new_cyclic(|me| Inner {
            uid: random_hex(8),
            shared,
            local: LocalAdapter::new(nsp),
            state: OnceLock::new(),
            requests: Mutex::new(HashMap::new()),
            ack_requests: Mutex::new(HashMap::new()),
            me: me.clone(),
        });
        ShardedRedisAdapter { inner }
    }

    /// This server's id in the namespace's messages.
    pub fn uid(&self) -> &str {
        &self.inner.uid
    }
}

impl Drop for ShardedRedisAdapter {
    fn drop(&mut self) {
        self.inner.unsubscribe_all();
    }
}

impl Inner {
    fn mode(&self) -> ShardedSubscriptionMode {
        self.shared.config.subscription_mode
    }

    fn subscribe(&self, channel: String) {
        lock(&self.shared.routes).insert(channel.clone(), self.me.clone());
        let _ = self.shared.commands.send(Command::Subscribe(channel));
    }

    fn unsubscribe(&self, channel: String) {
        lock(&self.shared.routes).remove(&channel);
        let _ = self.shared.commands.send(Command::Unsubscribe(channel));
    }

    fn room_channel(&self, room: &str) -> Option<String> {
        self.state.get().map(|s| format!("{}{room}#", s.channel))
    }

    /// Whether a room gets a channel of its own (`shouldUseASeparateNamespace`); `private`
    /// tells whether it is a socket's own room.
    fn separate_channel(&self, private: bool) -> bool {
        match self.mode() {
            ShardedSubscriptionMode::Static => false,
            ShardedSubscriptionMode::Dynamic => !private,
            ShardedSubscriptionMode::DynamicPrivate => true,
        }
    }

    fn is_private(&self, room: &str) -> bool {
        Sid::parse(room).is_some_and(|id| !self.local.socket_rooms(id).is_empty())
    }

    fn unsubscribe_all(&self) {
        let Some(state) = self.state.get() else {
            return;
        };
        self.unsubscribe(state.channel.clone());
        self.unsubscribe(state.response_channel.clone());
        for room in self.local.rooms() {
            if self.separate_channel(self.is_private(&room))
                && let Some(channel) = self.room_channel(&room)
            {
                self.unsubscribe(channel);
            }
        }
    }

    /// `{uid, nsp, type, data}`, JSON unless the data holds binary.
    fn encode(&self, kind: MessageType, data: Value) -> Option<Bytes> {
        let state = self.state.get()?;
        let binary = kind.may_hold_binary() && data.has_binary();
        let msg = object([
            ("uid", Value::String(self.uid.clone())),
            ("nsp", Value::String(state.name.to_string())),
            ("type", Value::from(kind as u8)),
            ("data", data),
        ]);
        Some(if binary {
            codec::encode_msgpack(&msg)
        } else {
            codec::encode_json(&msg)
        })
    }

    fn publish_to(&self, channel: String, kind: MessageType, data: Value) {
        if let Some(payload) = self.encode(kind, data) {
            let _ = self.shared.publications.send((channel, payload));
        }
    }

    fn publish(&self, kind: MessageType, data: Value) {
        if let Some(state) = self.state.get() {
            self.publish_to(state.channel.clone(), kind, data);
        }
    }

    fn publish_response(&self, requester: &str, kind: MessageType, data: Value) {
        if let Some(state) = self.state.get() {
            self.publish_to(format!("{}{requester}#", state.channel), kind, data);
        }
    }

    fn namespace(&self) -> Option<Arc<Namespace>> {
        self.local.namespace()
    }

    async fn server_count(&self) -> Result<usize, AdapterError> {
        let Some(state) = self.state.get() else {
            return Ok(1);
        };
        let mut cmd = redis::cmd("PUBSUB");
        cmd.arg("SHARDNUMSUB").arg(&state.channel);
        // Shard channels live on the node of their slot: ask that one.
        let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::with_key(
            state.channel.as_bytes(),
            SlotAddr::Master,
        )));
        let mut conn = self.shared.conn.clone();
        let reply = conn
            .route_command(cmd, route)
            .await
            .map_err(|e| AdapterError::other(format!("PUBSUB SHARDNUMSUB failed: {e}")))?;
        Ok(numsub_count(&reply))
    }

    async fn wait(
        &self,
        id: &str,
        timeout: Duration,
        done: oneshot::Receiver<()>,
    ) -> (Option<Pending>, bool) {
        let finished = tokio::time::timeout(timeout, done)
            .await
            .is_ok_and(|r| r.is_ok());
        (lock(&self.requests).remove(id), finished)
    }
}

/// The count in a `PUBSUB SHARDNUMSUB <channel>` reply (an array or, in RESP3, a map).
fn numsub_count(reply: &redis::Value) -> usize {
    let count = match reply {
        redis::Value::Array(items) => items.get(1),
        redis::Value::Map(entries) => entries.first().map(|(_, v)| v),
        _ => None,
    };
    match count {
        Some(redis::Value::Int(n)) => usize::try_from(*n).unwrap_or(0),
        _ => 0,
    }
}

/// Targeting and flags as the `ClusterAdapter` encodes them.
fn options(opts: &BroadcastOptions) -> Value {
    opts_value(opts)
}

impl Adapter for ShardedRedisAdapter {
    fn init(&self) {
        let inner = &self.inner;
        let Some(nsp) = inner.namespace() else {
            return;
        };
        let prefix = &inner.shared.config.channel_prefix;
        let channel = format!("{prefix}#{}#", nsp.name());
        let response_channel = format!("{channel}{}#", inner.uid);
        let _ = inner.state.set(NspState {
            name: SmolStr::from(nsp.name()),
            channel: channel.clone(),
            response_channel: response_channel.clone(),
        });
        inner.subscribe(channel);
        inner.subscribe(response_channel);
    }

    fn add_all(&self, id: Sid, rooms: &[Room]) {
        let inner = &self.inner;
        for room in inner.local.add_all_new(id, rooms) {
            if inner.separate_channel(room.as_str() == id.as_str() || inner.is_private(&room))
                && let Some(channel) = inner.room_channel(&room)
            {
                inner.subscribe(channel);
            }
        }
    }

    fn del(&self, id: Sid, room: &str) {
        let inner = &self.inner;
        let private = room == id.as_str() || inner.is_private(room);
        if inner.local.del_last(id, room)
            && inner.separate_channel(private)
            && let Some(channel) = inner.room_channel(room)
        {
            inner.unsubscribe(channel);
        }
    }

    fn del_all(&self, id: Sid) {
        let inner = &self.inner;
        for room in inner.local.del_all_last(id) {
            let private = room.as_str() == id.as_str() || inner.is_private(&room);
            if inner.separate_channel(private)
                && let Some(channel) = inner.room_channel(&room)
            {
                inner.unsubscribe(channel);
            }
        }
    }

    fn socket_rooms(&self, id: Sid) -> Vec<Room> {
        self.inner.local.socket_rooms(id)
    }

    fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<Sid> {
        self.inner.local.local_sockets(opts)
    }

    fn publishes_packets(&self) -> bool {
        true
    }

    fn broadcast(&self, packet: &OutgoingPacket, opts: &BroadcastOptions) {
        let inner = &self.inner;
        if !opts.flags.local
            && let Some(p) = packet.packet()
        {
            let data = object([("packet", packet_value(p)), ("opts", options(opts))]);
            // A broadcast to one room goes to the room's channel when rooms have channels
            // (never a socket's own room in the dynamic mode: its length tells it, as in Node).
            let room_channel = match (inner.mode(), opts.rooms.as_slice()) {
                (ShardedSubscriptionMode::Dynamic, [room]) if room.len() != 20 => {
                    inner.room_channel(room)
                }
                (ShardedSubscriptionMode::DynamicPrivate, [room]) => inner.room_channel(room),
                _ => None,
            };
            match room_channel {
                Some(channel) => inner.publish_to(channel, MessageType::Broadcast, data),
                None => inner.publish(MessageType::Broadcast, data),
            }
        }
        inner.local.broadcast(packet, opts);
    }

    fn broadcast_with_ack(
        &self,
        packet: &OutgoingPacket,
        opts: &BroadcastOptions,
        acks: AckCollector,
    ) {
        let inner = &self.inner;
        if !opts.flags.local
            && let Some(p) = packet.packet()
        {
            let request_id = random_hex(8);
            lock(&inner.ack_requests).insert(request_id.clone(), acks.clone());
            inner.publish(
                MessageType::Broadcast,
                object([
                    ("packet", packet_value(p)),
                    ("requestId", Value::String(request_id.clone())),
                    ("opts", options(opts)),
                ]),
            );
            let timeout = opts
                .flags
                .timeout
                .unwrap_or(inner.shared.config.requests_timeout);
            let me = inner.me.clone();
            tokio::spawn(async move {
                tokio::time::sleep(timeout).await;
                if let Some(inner) = me.upgrade() {
                    lock(&inner.ack_requests).remove(&request_id);
                }
            });
        }
        inner.local.broadcast_with_ack(packet, opts, acks);
    }

    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<RemoteSocket>, AdapterError>> {
        let opts = opts.clone();
        Box::pin(async move {
            let inner = &self.inner;
            let mut sockets: Vec<RemoteSocket> = inner
                .local
                .targets(&opts)
                .into_iter()
                .map(RemoteSocket::local)
                .collect();
            if opts.flags.local {
                return Ok(sockets);
            }
            let expected = inner.server_count().await?.saturating_sub(1);
            if expected == 0 {
                return Ok(sockets);
            }
            let request_id = random_hex(8);
            let (done, rx) = oneshot::channel();
            lock(&inner.requests).insert(
                request_id.clone(),
                Pending::Fetch {
                    expected,
                    sockets: Vec::new(),
                    received: 0,
                    done: Some(done),
                },
            );
            inner.publish(
                MessageType::FetchSockets,
                object([
                    ("opts", options(&opts)),
                    ("requestId", Value::String(request_id.clone())),
                ]),
            );
            let timeout = opts
                .flags
                .timeout
                .unwrap_or(inner.shared.config.requests_timeout);
            let (pending, finished) = inner.wait(&request_id, timeout, rx).await;
            if !finished {
                return Err(AdapterError::timeout(
                    "timeout reached while waiting for fetchSockets response",
                ));
            }
            if let (
                Some(nsp),
                Some(Pending::Fetch {
                    sockets: remote, ..
                }),
            ) = (inner.namespace(), pending)
            {
                for details in remote.iter().filter_map(SocketDetails::from_value) {
                    sockets.push(RemoteSocket::remote(Arc::clone(&nsp), details));
                }
            }
            Ok(sockets)
        })
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        if !opts.flags.local {
            self.inner.publish(
                MessageType::SocketsJoin,
                object([("opts", options(opts)), ("rooms", rooms_value(rooms))]),
            );
        }
        for id in self.inner.local.local_sockets(opts) {
            self.add_all(id, rooms);
        }
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        if !opts.flags.local {
            self.inner.publish(
                MessageType::SocketsLeave,
                object([("opts", options(opts)), ("rooms", rooms_value(rooms))]),
            );
        }
        for id in self.inner.local.local_sockets(opts) {
            for room in rooms {
                self.del(id, room);
            }
        }
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        if !opts.flags.local {
            self.inner.publish(
                MessageType::DisconnectSockets,
                object([("opts", options(opts)), ("close", Value::Bool(close))]),
            );
        }
        self.inner.local.disconnect_sockets(opts, close);
    }

    fn server_side_emit(&self, event: &str, args: &[Value]) {
        self.inner.publish(
            MessageType::ServerSideEmit,
            object([("packet", event_data(event, args))]),
        );
    }

    fn server_side_emit_with_ack(
        &self,
        event: &str,
        args: &[Value],
    ) -> BoxFuture<'_, ServerSideAcks> {
        let packet = event_data(event, args);
        Box::pin(async move {
            let inner = &self.inner;
            let expected = match inner.server_count().await {
                Ok(n) => n.saturating_sub(1),
                Err(e) => {
                    tracing::warn!(error = %e, "server_side_emit_with_ack: cannot count the servers");
                    return ServerSideAcks {
                        responses: Vec::new(),
                        error: Some(AckError::Timeout),
                    };
                }
            };
            if expected == 0 {
                return ServerSideAcks::default();
            }
            let request_id = random_hex(8);
            let (done, rx) = oneshot::channel();
            lock(&inner.requests).insert(
                request_id.clone(),
                Pending::ServerSideEmit {
                    expected,
                    responses: Vec::new(),
                    done: Some(done),
                },
            );
            inner.publish(
                MessageType::ServerSideEmit,
                object([
                    ("requestId", Value::String(request_id.clone())),
                    ("packet", packet),
                ]),
            );
            let (pending, finished) = inner
                .wait(&request_id, inner.shared.config.requests_timeout, rx)
                .await;
            let responses = match pending {
                Some(Pending::ServerSideEmit { responses, .. }) => responses,
                _ => Vec::new(),
            };
            ServerSideAcks {
                responses,
                error: (!finished).then_some(AckError::Timeout),
            }
        })
    }

    fn server_count(&self) -> BoxFuture<'_, usize> {
        Box::pin(async move {
            match self.inner.server_count().await {
                Ok(n) => n.max(1),
                Err(e) => {
                    tracing::warn!(error = %e, "sharded redis adapter: cannot count the servers");
                    1
                }
            }
        })
    }

    fn close(&self) {
        self.inner.unsubscribe_all();
    }
}

fn rooms_value(rooms: &[Room]) -> Value {
    Value::Array(rooms.iter().map(|r| Value::String(r.to_string())).collect())
}

fn event_data(event: &str, args: &[Value]) -> Value {
    let mut data = Vec::with_capacity(args.len() + 1);
    data.push(Value::String(event.to_owned()));
    data.extend_from_slice(args);
    Value::Array(data)
}

impl Inner {
    fn on_raw_message(&self, channel: &str, payload: &[u8]) {
        let message = match codec::decode(payload) {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(error = %e, channel, "sharded redis adapter: malformed message ignored");
                return;
            }
        };
        let Some(state) = self.state.get() else {
            return;
        };
        if channel == state.response_channel {
            self.on_response(&message);
        } else {
            self.on_message(state, &message);
        }
    }

    fn on_message(&self, state: &NspState, message: &Value) {
        let uid = message
            .get("uid")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if uid == self.uid {
            return;
        }
        if message.get("nsp").and_then(Value::as_str) != Some(state.name.as_str()) {
            return;
        }
        let Some(kind) = MessageType::from_value(message.get("type")) else {
            return;
        };
        let empty = Value::Object(Map::new());
        let data = message.get("data").unwrap_or(&empty);
        let Some(nsp) = self.namespace() else {
            return;
        };
        match kind {
            MessageType::Broadcast => {
                let Some(packet) = data.get("packet").and_then(packet_from) else {
                    return;
                };
                let opts = opts_from(data.get("opts"));
                match data.get("requestId").and_then(Value::as_str) {
                    Some(id) => self.on_broadcast_with_ack(&nsp, uid, id, packet, opts),
                    None => match OutgoingPacket::new(&nsp, packet) {
                        Ok(out) => self.local.broadcast(&out, &opts),
                        Err(e) => {
                            tracing::warn!(error = %e, "sharded redis adapter: cannot encode a broadcast")
                        }
                    },
                }
            }
            MessageType::SocketsJoin | MessageType::SocketsLeave => {
                let opts = opts_from(data.get("opts"));
                let rooms = request_rooms(data.get("rooms"));
                let adapter = nsp.adapter();
                for id in self.local.local_sockets(&opts) {
                    if kind == MessageType::SocketsJoin {
                        adapter.add_all(id, &rooms);
                    } else {
                        for room in &rooms {
                            adapter.del(id, room);
                        }
                    }
                }
            }
            MessageType::DisconnectSockets => {
                let opts = opts_from(data.get("opts"));
                let close = data.get("close").and_then(Value::as_bool).unwrap_or(false);
                self.local.disconnect_sockets(&opts, close);
            }
            MessageType::FetchSockets => {
                let Some(id) = data.get("requestId").and_then(Value::as_str) else {
                    return;
                };
                let opts = opts_from(data.get("opts"));
                let sockets = self
                    .local
                    .targets(&opts)
                    .into_iter()
                    .map(|s| RemoteSocket::local(s).details().to_value())
                    .collect();
                self.publish_response(
                    uid,
                    MessageType::FetchSocketsResponse,
                    object([
                        ("requestId", Value::String(id.to_owned())),
                        ("sockets", Value::Array(sockets)),
                    ]),
                );
            }
            MessageType::ServerSideEmit => self.on_server_side_emit(&nsp, uid, data),
            MessageType::FetchSocketsResponse
            | MessageType::ServerSideEmitResponse
            | MessageType::BroadcastClientCount
            | MessageType::BroadcastAck => self.on_response(message),
        }
    }

    fn on_server_side_emit(&self, nsp: &Namespace, uid: &str, data: &Value) {
        let Some(Value::Array(packet)) = data.get("packet") else {
            return;
        };
        let mut items = packet.iter().cloned();
        let event = match items.next() {
            Some(Value::String(s)) => s,
            Some(Value::Number(n)) => n.to_string(),
            _ => return,
        };
        let args: Vec<Value> = items.collect();
        let Some(id) = data.get("requestId").and_then(Value::as_str) else {
            nsp.receive_server_side_emit(&event, args);
            return;
        };
        let answer = nsp.receive_server_side_emit_with_ack(&event, args);
        let (id, uid, me) = (id.to_owned(), uid.to_owned(), self.me.clone());
        tokio::spawn(async move {
            let Ok(value) = answer.await else {
                return;
            };
            if let Some(inner) = me.upgrade() {
                inner.publish_response(
                    &uid,
                    MessageType::ServerSideEmitResponse,
                    object([("requestId", Value::String(id)), ("packet", value)]),
                );
            }
        });
    }

    fn on_broadcast_with_ack(
        &self,
        nsp: &Namespace,
        requester: &str,
        id: &str,
        packet: socketio::Packet,
        opts: BroadcastOptions,
    ) {
        let out = match OutgoingPacket::with_new_ack(nsp, packet) {
            Ok(out) => out,
            Err(e) => {
                tracing::warn!(error = %e, "sharded redis adapter: cannot encode a broadcast");
                return;
            }
        };
        let (collector, mut stream) = AckCollector::channel(nsp.name());
        self.local.broadcast_with_ack(&out, &opts, collector);
        let timeout = opts
            .flags
            .timeout
            .unwrap_or(self.shared.config.requests_timeout);
        let (id, requester, me) = (id.to_owned(), requester.to_owned(), self.me.clone());
        tokio::spawn(async move {
            let forward = async {
                let mut expected: Option<usize> = None;
                let mut answered = 0usize;
                while expected.is_none_or(|n| answered < n) {
                    let Some(event) = stream.next().await else {
                        return;
                    };
                    let Some(inner) = me.upgrade() else {
                        return;
                    };
                    match event {
                        AckEvent::ClientCount(n) => {
                            expected = Some(n);
                            inner.publish_response(
                                &requester,
                                MessageType::BroadcastClientCount,
                                object([
                                    ("requestId", Value::String(id.clone())),
                                    ("clientCount", Value::from(n)),
                                ]),
                            );
                        }
                        AckEvent::Response(r) => {
                            answered += 1;
                            let first = r.values().into_iter().next().unwrap_or_default();
                            inner.publish_response(
                                &requester,
                                MessageType::BroadcastAck,
                                object([
                                    ("requestId", Value::String(id.clone())),
                                    ("packet", first),
                                ]),
                            );
                        }
                    }
                }
            };
            let _ = tokio::time::timeout(timeout, forward).await;
        });
    }

    fn on_response(&self, message: &Value) {
        let Some(kind) = MessageType::from_value(message.get("type")) else {
            return;
        };
        let Some(data) = message.get("data") else {
            return;
        };
        let Some(id) = data.get("requestId").and_then(Value::as_str) else {
            return;
        };
        match kind {
            MessageType::BroadcastClientCount | MessageType::BroadcastAck => {
                let Some(acks) = lock(&self.ack_requests).get(id).cloned() else {
                    return;
                };
                if kind == MessageType::BroadcastClientCount {
                    let n = data.get("clientCount").and_then(Value::as_u64).unwrap_or(0);
                    acks.client_count(usize::try_from(n).unwrap_or(0));
                } else {
                    acks.remote_response(data.get("packet").cloned().unwrap_or_default());
                }
            }
            MessageType::FetchSocketsResponse | MessageType::ServerSideEmitResponse => {
                let mut requests = lock(&self.requests);
                match requests.get_mut(id) {
                    Some(Pending::Fetch {
                        expected,
                        sockets,
                        received,
                        done,
                    }) if kind == MessageType::FetchSocketsResponse => {
                        if let Some(Value::Array(list)) = data.get("sockets") {
                            sockets.extend(list.iter().cloned());
                        }
                        *received += 1;
                        if *received >= *expected
                            && let Some(done) = done.take()
                        {
                            let _ = done.send(());
                        }
                    }
                    Some(Pending::ServerSideEmit {
                        expected,
                        responses,
                        done,
                    }) if kind == MessageType::ServerSideEmitResponse => {
                        responses.push(data.get("packet").cloned().unwrap_or_default());
                        if responses.len() >= *expected
                            && let Some(done) = done.take()
                        {
                            let _ = done.send(());
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shardnumsub_replies_in_both_protocols() {
        let array = redis::Value::Array(vec![
            redis::Value::BulkString(b"socket.io#/#".to_vec()),
            redis::Value::Int(3),
        ]);
        assert_eq!(numsub_count(&array), 3);
        let map = redis::Value::Map(vec![(
            redis::Value::BulkString(b"socket.io#/#".to_vec()),
            redis::Value::Int(2),
        )]);
        assert_eq!(numsub_count(&map), 2);
        assert_eq!(numsub_count(&redis::Value::Nil), 0);
    }

    #[test]
    fn only_messages_that_may_carry_binary_go_as_msgpack() {
        assert!(MessageType::Broadcast.may_hold_binary());
        assert!(!MessageType::SocketsJoin.may_hold_binary());
        assert!(!MessageType::BroadcastClientCount.may_hold_binary());
    }
}
