//! [`RedisAdapter`]: the adapter of one namespace, wire-compatible with
//! `@socket.io/redis-adapter` 8.3 (classic pub/sub).
//!
//! Sending: a broadcast is published as `[uid, packet, opts]` on the namespace channel (or the
//! room's channel when it targets exactly one room) and delivered to the local sockets at
//! once; requests (join, leave, disconnect, fetch, server-side emit, broadcast with
//! acknowledgements) go to the request channel, and their answers come back on the response
//! channels. Cluster-wide operations are applied to local sockets directly, so this node
//! ignores its own requests (by `uid`).
//!
//! Receiving runs on the subscriber task: decode, check uid / namespace / room, deliver to
//! the local sockets. Whatever has to wait (acknowledgements of local sockets for another
//! server's broadcast, answers of server-side listeners) runs in a task of its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use bytes::Bytes;
use engineio::Sid;
use smol_str::SmolStr;
use socketio::Value;
use socketio::server::{
    AckCollector, AckEvent, Adapter, AdapterError, BoxFuture, BroadcastOptions, LocalAdapter,
    Namespace, OutgoingPacket, RemoteSocket, Room, ServerSideAcks, SocketDetails,
};
use tokio::sync::oneshot;

use crate::channels::Channels;
use crate::codec;
use crate::config::{RedisAdapterConfig, SubscriptionMode};
use crate::factory::Shared;
use crate::message::{
    RequestType, object, opts_from, opts_value, packet_from, packet_nsp, packet_value, request_id,
    request_rooms, targets_value,
};
use crate::subscriber::{MessageHandler, Route, RouteKind};
use crate::uid::random_id;

/// Length of a server's uid (as `uid2(6)` in Node).
const UID_LEN: usize = 6;
/// Length of a request id.
const REQUEST_ID_LEN: usize = 12;

/// The adapter of one namespace; made by
/// [`RedisAdapterFactory`](crate::RedisAdapterFactory).
pub struct RedisAdapter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("uid", &self.inner.uid)
            .finish_non_exhaustive()
    }
}

/// A request of this server waiting for the answers of the others.
enum Pending {
    /// `fetchSockets`: the sockets of each server.
    Fetch {
        expected: usize,
        received: usize,
        sockets: Vec<Value>,
        done: Option<oneshot::Sender<()>>,
    },
    /// `serverSideEmitWithAck`: one answer per other server.
    ServerSideEmit {
        expected: usize,
        responses: Vec<Value>,
        done: Option<oneshot::Sender<()>>,
    },
}

struct Inner {
    uid: String,
    shared: Arc<Shared>,
    local: LocalAdapter,
    /// Set by `init`, once the namespace's name can be read.
    state: OnceLock<NspState>,
    requests: Mutex<HashMap<String, Pending>>,
    /// Broadcasts with acknowledgements of this server, by request id: where the other
    /// servers' counts and answers go until the broadcast's timeout.
    ack_requests: Mutex<HashMap<String, AckCollector>>,
    me: Weak<Inner>,
}

struct NspState {
    name: SmolStr,
    channels: Channels,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl RedisAdapter {
    pub(crate) fn new(shared: Arc<Shared>, nsp: Weak<Namespace>) -> RedisAdapter {
        let inner = Arc::new_cyclic(|me| Inner {
            uid: random_id(UID_LEN),
            shared,
            local: LocalAdapter::new(nsp),
            state: OnceLock::new(),
            requests: Mutex::new(HashMap::new()),
            ack_requests: Mutex::new(HashMap::new()),
            me: me.clone(),
        });
        RedisAdapter { inner }
    }

    /// This server's id in the namespace's messages.
    pub fn uid(&self) -> &str {
        &self.inner.uid
    }
}

impl Drop for RedisAdapter {
    fn drop(&mut self) {
        self.inner.unsubscribe_all();
    }
}

impl Inner {
    fn config(&self) -> &RedisAdapterConfig {
        &self.shared.config
    }

    fn state(&self) -> Option<&NspState> {
        self.state.get()
    }

    fn route(&self, kind: RouteKind) -> Route {
        let handler: Weak<dyn MessageHandler> = self.me.clone();
        Route { handler, kind }
    }

    fn subscribe_rooms(&self, rooms: &[Room]) {
        if rooms.is_empty() || self.config().subscription_mode != SubscriptionMode::Rooms {
            return;
        }
        let Some(state) = self.state() else {
            return;
        };
        let subs = rooms
            .iter()
            .map(|room| (state.channels.room(room), self.route(RouteKind::Broadcast)))
            .collect();
        self.shared.subscriber.subscribe(subs);
    }

    fn unsubscribe_rooms(&self, rooms: &[Room]) {
        if rooms.is_empty() || self.config().subscription_mode != SubscriptionMode::Rooms {
            return;
        }
        let Some(state) = self.state() else {
            return;
        };
        let names = rooms.iter().map(|room| state.channels.room(room)).collect();
        self.shared.subscriber.unsubscribe(names);
    }

    fn unsubscribe_all(&self) {
        let Some(state) = self.state() else {
            return;
        };
        let c = &state.channels;
        let mut channels = vec![
            c.request.clone(),
            c.response.clone(),
            c.specific_response.clone(),
        ];
        match self.config().subscription_mode {
            SubscriptionMode::Pattern => {
                self.shared.subscriber.punsubscribe(vec![c.pattern.clone()]);
            }
            SubscriptionMode::Rooms => {
                channels.push(c.broadcast.clone());
                channels.extend(self.local.rooms().iter().map(|r| c.room(r)));
            }
        }
        self.shared.subscriber.unsubscribe(channels);
    }

    fn publish(&self, channel: String, payload: Bytes) {
        self.shared.publisher.publish(channel, payload);
    }

    /// Publishes a JSON request on the request channel.
    fn publish_request(&self, request: &Value) {
        if let Some(state) = self.state() {
            self.publish(state.channels.request.clone(), codec::encode_json(request));
        }
    }

    /// Publishes an answer to `request`, on the shared response channel or the requester's.
    fn publish_response(&self, request: &Value, payload: Bytes) {
        let Some(state) = self.state() else {
            return;
        };
        let channel = match request.get("uid").and_then(Value::as_str) {
            Some(uid) if self.config().publish_on_specific_response_channel => {
                state.channels.response_to(uid)
            }
            _ => state.channels.response.clone(),
        };
        self.publish(channel, payload);
    }

    /// Waits for the answers of a registered request; on timeout takes what arrived.
    async fn wait(&self, id: &str, done: oneshot::Receiver<()>) -> (Option<Pending>, bool) {
        let finished = tokio::time::timeout(self.config().requests_timeout, done)
            .await
            .is_ok_and(|r| r.is_ok());
        (lock(&self.requests).remove(id), finished)
    }

    fn namespace(&self) -> Option<Arc<Namespace>> {
        self.local.namespace()
    }

    async fn server_count(&self) -> Result<usize, AdapterError> {
        let Some(state) = self.state() else {
            return Ok(1);
        };
        self.shared
            .publisher
            .numsub(&state.channels.request)
            .await
            .map_err(|e| AdapterError::other(format!("PUBSUB NUMSUB failed: {e}")))
    }
}

impl Adapter for RedisAdapter {
    fn init(&self) {
        let inner = &self.inner;
        let Some(nsp) = inner.namespace() else {
            return;
        };
        let name = SmolStr::from(nsp.name());
        let channels = Channels::new(&inner.config().key, &name, &inner.uid);
        let mut subs = vec![
            (channels.request.clone(), inner.route(RouteKind::Request)),
            (channels.response.clone(), inner.route(RouteKind::Response)),
            (
                channels.specific_response.clone(),
                inner.route(RouteKind::Response),
            ),
        ];
        match inner.config().subscription_mode {
            SubscriptionMode::Pattern => inner.shared.subscriber.psubscribe(vec![(
                channels.pattern.clone(),
                inner.route(RouteKind::Broadcast),
            )]),
            SubscriptionMode::Rooms => {
                subs.push((
                    channels.broadcast.clone(),
                    inner.route(RouteKind::Broadcast),
                ));
            }
        }
        inner.shared.subscriber.subscribe(subs);
        let _ = inner.state.set(NspState { name, channels });
        tracing::debug!(nsp = nsp.name(), uid = %inner.uid, "redis adapter ready");
    }

    fn add_all(&self, id: Sid, rooms: &[Room]) {
        let created = self.inner.local.add_all_new(id, rooms);
        self.inner.subscribe_rooms(&created);
    }

    fn del(&self, id: Sid, room: &str) {
        if self.inner.local.del_last(id, room) {
            self.inner.unsubscribe_rooms(&[Room::from(room)]);
        }
    }

    fn del_all(&self, id: Sid) {
        let emptied = self.inner.local.del_all_last(id);
        self.inner.unsubscribe_rooms(&emptied);
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
            && let (Some(state), Some(p)) = (inner.state(), packet.packet())
        {
            let msg = Value::Array(vec![
                Value::String(inner.uid.clone()),
                packet_value(p),
                opts_value(opts),
            ]);
            let channel = match opts.rooms.as_slice() {
                [room] => state.channels.room(room),
                _ => state.channels.broadcast.clone(),
            };
            inner.publish(channel, codec::encode(&msg, inner.config().encoding));
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
            && let (Some(state), Some(p)) = (inner.state(), packet.packet())
        {
            let request_id = random_id(REQUEST_ID_LEN);
            let request = object([
                ("uid", Value::String(inner.uid.clone())),
                ("requestId", Value::String(request_id.clone())),
                ("type", RequestType::Broadcast.value()),
                ("packet", packet_value(p)),
                ("opts", opts_value(opts)),
            ]);
            lock(&inner.ack_requests).insert(request_id.clone(), acks.clone());
            inner.publish(
                state.channels.request.clone(),
                codec::encode(&request, inner.config().encoding),
            );
            // Nothing tells when every remote answer is in: forget the request after its
            // timeout, as Node does.
            let timeout = opts
                .flags
                .timeout
                .unwrap_or(inner.config().requests_timeout);
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
            let servers = inner.server_count().await?;
            if servers <= 1 {
                return Ok(sockets);
            }
            let request_id = random_id(REQUEST_ID_LEN);
            let (done, rx) = oneshot::channel();
            lock(&inner.requests).insert(
                request_id.clone(),
                Pending::Fetch {
                    expected: servers,
                    received: 1,
                    sockets: Vec::new(),
                    done: Some(done),
                },
            );
            inner.publish_request(&object([
                ("uid", Value::String(inner.uid.clone())),
                ("requestId", Value::String(request_id.clone())),
                ("type", RequestType::RemoteFetch.value()),
                ("opts", targets_value(&opts)),
            ]));
            let (pending, finished) = inner.wait(&request_id, rx).await;
            if !finished {
                return Err(AdapterError::timeout(
                    "timeout reached while waiting for fetchSockets response",
                ));
            }
            let Some(nsp) = inner.namespace() else {
                return Ok(sockets);
            };
            if let Some(Pending::Fetch {
                sockets: remote, ..
            }) = pending
            {
                for details in remote.iter().filter_map(SocketDetails::from_value) {
                    sockets.push(RemoteSocket::remote(Arc::clone(&nsp), details));
                }
            }
            Ok(sockets)
        })
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        for id in self.inner.local.local_sockets(opts) {
            self.add_all(id, rooms);
        }
        if !opts.flags.local {
            self.inner.publish_request(&object([
                ("uid", Value::String(self.inner.uid.clone())),
                ("type", RequestType::RemoteJoin.value()),
                ("opts", targets_value(opts)),
                ("rooms", rooms_value(rooms)),
            ]));
        }
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        for id in self.inner.local.local_sockets(opts) {
            for room in rooms {
                self.del(id, room);
            }
        }
        if !opts.flags.local {
            self.inner.publish_request(&object([
                ("uid", Value::String(self.inner.uid.clone())),
                ("type", RequestType::RemoteLeave.value()),
                ("opts", targets_value(opts)),
                ("rooms", rooms_value(rooms)),
            ]));
        }
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        if !opts.flags.local {
            self.inner.publish_request(&object([
                ("uid", Value::String(self.inner.uid.clone())),
                ("type", RequestType::RemoteDisconnect.value()),
                ("opts", targets_value(opts)),
                ("close", Value::Bool(close)),
            ]));
        }
        self.inner.local.disconnect_sockets(opts, close);
    }

    fn server_side_emit(&self, event: &str, args: &[Value]) {
        self.inner.publish_request(&object([
            ("uid", Value::String(self.inner.uid.clone())),
            ("type", RequestType::ServerSideEmit.value()),
            ("data", event_data(event, args)),
        ]));
    }

    fn server_side_emit_with_ack(
        &self,
        event: &str,
        args: &[Value],
    ) -> BoxFuture<'_, ServerSideAcks> {
        let data = event_data(event, args);
        Box::pin(async move {
            let inner = &self.inner;
            let others = match inner.server_count().await {
                Ok(n) => n.saturating_sub(1),
                Err(e) => {
                    tracing::warn!(error = %e, "server_side_emit_with_ack: cannot count the servers");
                    return ServerSideAcks {
                        responses: Vec::new(),
                        error: Some(socketio::server::AckError::Timeout),
                    };
                }
            };
            if others == 0 {
                return ServerSideAcks::default();
            }
            let request_id = random_id(REQUEST_ID_LEN);
            let (done, rx) = oneshot::channel();
            lock(&inner.requests).insert(
                request_id.clone(),
                Pending::ServerSideEmit {
                    expected: others,
                    responses: Vec::new(),
                    done: Some(done),
                },
            );
            inner.publish_request(&object([
                ("uid", Value::String(inner.uid.clone())),
                ("requestId", Value::String(request_id.clone())),
                ("type", RequestType::ServerSideEmit.value()),
                ("data", data),
            ]));
            let (pending, finished) = inner.wait(&request_id, rx).await;
            let responses = match pending {
                Some(Pending::ServerSideEmit { responses, .. }) => responses,
                _ => Vec::new(),
            };
            ServerSideAcks {
                responses,
                error: (!finished).then_some(socketio::server::AckError::Timeout),
            }
        })
    }

    fn server_count(&self) -> BoxFuture<'_, usize> {
        Box::pin(async move {
            match self.inner.server_count().await {
                Ok(n) => n.max(1),
                Err(e) => {
                    tracing::warn!(error = %e, "redis adapter: cannot count the servers");
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

/// `[event, ...args]`.
fn event_data(event: &str, args: &[Value]) -> Value {
    let mut data = Vec::with_capacity(args.len() + 1);
    data.push(Value::String(event.to_owned()));
    data.extend_from_slice(args);
    Value::Array(data)
}

impl MessageHandler for Inner {
    fn on_message(&self, kind: RouteKind, channel: &str, payload: &[u8]) {
        match kind {
            RouteKind::Broadcast => self.on_broadcast(channel, payload),
            RouteKind::Request => match codec::decode(payload) {
                Ok(request) => self.on_request(request),
                Err(e) => tracing::debug!(error = %e, "redis adapter: malformed request ignored"),
            },
            RouteKind::Response => match codec::decode(payload) {
                Ok(response) => self.on_response(response),
                Err(e) => tracing::debug!(error = %e, "redis adapter: malformed response ignored"),
            },
        }
    }
}

impl Inner {
    /// A broadcast from another server (or an emitter).
    fn on_broadcast(&self, channel: &str, payload: &[u8]) {
        let Some(state) = self.state() else {
            return;
        };
        let Some(room) = state.channels.room_of(channel) else {
            return;
        };
        self.shared
            .broadcasts_received
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if !room.is_empty() && !self.local.has_room(room) {
            return;
        }
        let msg = match codec::decode(payload) {
            Ok(Value::Array(items)) => items,
            Ok(_) => return,
            Err(e) => {
                tracing::debug!(error = %e, channel, "redis adapter: malformed broadcast ignored");
                return;
            }
        };
        let mut items = msg.into_iter();
        let (Some(uid), Some(packet), opts) = (items.next(), items.next(), items.next()) else {
            return;
        };
        if uid.as_str() == Some(self.uid.as_str()) {
            return;
        }
        if packet_nsp(&packet) != state.name {
            return;
        }
        let Some(nsp) = self.namespace() else {
            return;
        };
        let Some(packet) = packet_from(&packet) else {
            tracing::debug!(
                channel,
                "redis adapter: broadcast without a valid event ignored"
            );
            return;
        };
        match OutgoingPacket::new(&nsp, packet) {
            Ok(out) => self.local.broadcast(&out, &opts_from(opts.as_ref())),
            Err(e) => tracing::warn!(error = %e, "redis adapter: cannot encode a broadcast"),
        }
    }

    /// A request from another server (or an emitter).
    fn on_request(&self, request: Value) {
        let from_self = request.get("uid").and_then(Value::as_str) == Some(self.uid.as_str());
        if from_self {
            return;
        }
        let Some(kind) = RequestType::from_value(request.get("type")) else {
            tracing::debug!("redis adapter: request of an unknown type ignored");
            return;
        };
        match kind {
            RequestType::Sockets => {
                let opts = BroadcastOptions {
                    rooms: request_rooms(request.get("rooms")),
                    ..BroadcastOptions::default()
                };
                let ids = self
                    .local
                    .local_sockets(&opts)
                    .iter()
                    .map(|id| Value::String(id.as_str().to_owned()))
                    .collect();
                self.answer(&request, object([("sockets", Value::Array(ids))]));
            }
            RequestType::AllRooms => {
                let rooms = rooms_value(&self.local.rooms());
                self.answer(&request, object([("rooms", rooms)]));
            }
            RequestType::RemoteJoin | RequestType::RemoteLeave | RequestType::RemoteDisconnect => {
                self.on_remote_operation(kind, &request);
            }
            RequestType::RemoteFetch => {
                let opts = opts_from(request.get("opts"));
                let sockets = self
                    .local
                    .targets(&opts)
                    .into_iter()
                    .map(|s| RemoteSocket::local(s).details().to_value())
                    .collect();
                self.answer(&request, object([("sockets", Value::Array(sockets))]));
            }
            RequestType::ServerSideEmit => self.on_server_side_emit(&request),
            RequestType::Broadcast => self.on_broadcast_with_ack(&request),
            RequestType::BroadcastClientCount | RequestType::BroadcastAck => {}
        }
    }

    /// Answers a request with `{requestId, …fields}` in JSON.
    fn answer(&self, request: &Value, fields: Value) {
        let Some(id) = request_id(request) else {
            return;
        };
        let mut response = fields;
        if let Some(m) = response.as_object_mut() {
            m.insert("requestId", Value::String(id.to_owned()));
        }
        self.publish_response(request, codec::encode_json(&response));
    }

    fn on_remote_operation(&self, kind: RequestType, request: &Value) {
        let Some(nsp) = self.namespace() else {
            return;
        };
        let rooms = request_rooms(request.get("rooms"));
        if let Some(opts) = request.get("opts") {
            let opts = opts_from(Some(opts));
            let adapter = nsp.adapter();
            match kind {
                RequestType::RemoteJoin => {
                    for id in self.local.local_sockets(&opts) {
                        adapter.add_all(id, &rooms);
                    }
                }
                RequestType::RemoteLeave => {
                    for id in self.local.local_sockets(&opts) {
                        for room in &rooms {
                            adapter.del(id, room);
                        }
                    }
                }
                _ => {
                    let close = request
                        .get("close")
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                    self.local.disconnect_sockets(&opts, close);
                }
            }
            return;
        }
        // The form of older adapters: one socket by id, with an answer.
        let Some(socket) = request
            .get("sid")
            .and_then(Value::as_str)
            .and_then(Sid::parse)
            .and_then(|id| nsp.get_socket(id))
        else {
            return;
        };
        match kind {
            RequestType::RemoteJoin => {
                if let Some(room) = request.get("room").and_then(socketio::server::room_of) {
                    socket.join(room);
                }
            }
            RequestType::RemoteLeave => {
                if let Some(room) = request.get("room").and_then(Value::as_str) {
                    socket.leave(room);
                }
            }
            _ => socket.disconnect(
                request
                    .get("close")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            ),
        }
        self.answer(request, object([]));
    }

    fn on_server_side_emit(&self, request: &Value) {
        let Some(nsp) = self.namespace() else {
            return;
        };
        let Some(Value::Array(data)) = request.get("data") else {
            return;
        };
        let mut data = data.iter().cloned();
        let Some(event) = data.next() else {
            return;
        };
        let event = match &event {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return,
        };
        let args: Vec<Value> = data.collect();
        let Some(id) = request_id(request) else {
            nsp.receive_server_side_emit(&event, args);
            return;
        };
        let answer = nsp.receive_server_side_emit_with_ack(&event, args);
        let id = id.to_owned();
        let me = self.me.clone();
        // Node answers on the shared response channel, whatever the configuration.
        tokio::spawn(async move {
            let Ok(value) = answer.await else {
                return;
            };
            if let Some(inner) = me.upgrade()
                && let Some(state) = inner.state()
            {
                let response = object([
                    ("type", RequestType::ServerSideEmit.value()),
                    ("requestId", Value::String(id)),
                    ("data", value),
                ]);
                inner.publish(
                    state.channels.response.clone(),
                    codec::encode_json(&response),
                );
            }
        });
    }

    /// A broadcast with acknowledgements from another server: deliver to the local sockets,
    /// tell how many were reached, then forward each answer (its first argument).
    fn on_broadcast_with_ack(&self, request: &Value) {
        let Some(nsp) = self.namespace() else {
            return;
        };
        let Some(id) = request_id(request).map(str::to_owned) else {
            return;
        };
        let Some(packet) = request.get("packet").and_then(packet_from) else {
            return;
        };
        let opts = opts_from(request.get("opts"));
        let out = match OutgoingPacket::with_new_ack(&nsp, packet) {
            Ok(out) => out,
            Err(e) => {
                tracing::warn!(error = %e, "redis adapter: cannot encode a broadcast");
                return;
            }
        };
        let (collector, mut stream) = AckCollector::channel(nsp.name());
        self.local.broadcast_with_ack(&out, &opts, collector);
        let timeout = opts.flags.timeout.unwrap_or(self.config().requests_timeout);
        let me = self.me.clone();
        let request = request.clone();
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
                            let response = object([
                                ("type", RequestType::BroadcastClientCount.value()),
                                ("requestId", Value::String(id.clone())),
                                ("clientCount", Value::from(n)),
                            ]);
                            inner.publish_response(&request, codec::encode_json(&response));
                        }
                        AckEvent::Response(r) => {
                            answered += 1;
                            let first = r.values().into_iter().next().unwrap_or_default();
                            let response = object([
                                ("type", RequestType::BroadcastAck.value()),
                                ("requestId", Value::String(id.clone())),
                                ("packet", first),
                            ]);
                            inner.publish_response(
                                &request,
                                codec::encode(&response, inner.config().encoding),
                            );
                        }
                    }
                }
            };
            let _ = tokio::time::timeout(timeout, forward).await;
        });
    }

    /// An answer to one of this server's requests.
    fn on_response(&self, response: Value) {
        let Some(id) = request_id(&response) else {
            return;
        };
        let collector = lock(&self.ack_requests).get(id).cloned();
        if let Some(acks) = collector {
            match RequestType::from_value(response.get("type")) {
                Some(RequestType::BroadcastClientCount) => {
                    let n = response
                        .get("clientCount")
                        .and_then(Value::as_u64)
                        .unwrap_or(0);
                    acks.client_count(usize::try_from(n).unwrap_or(0));
                }
                Some(RequestType::BroadcastAck) => {
                    acks.remote_response(response.get("packet").cloned().unwrap_or_default());
                }
                _ => {}
            }
            return;
        }
        let mut requests = lock(&self.requests);
        let Some(pending) = requests.get_mut(id) else {
            return;
        };
        match pending {
            Pending::Fetch {
                expected,
                received,
                sockets,
                done,
            } => {
                let Some(Value::Array(list)) = response.get("sockets") else {
                    return;
                };
                *received += 1;
                sockets.extend(list.iter().cloned());
                if *received >= *expected
                    && let Some(done) = done.take()
                {
                    let _ = done.send(());
                }
            }
            Pending::ServerSideEmit {
                expected,
                responses,
                done,
            } => {
                if RequestType::from_value(response.get("type"))
                    != Some(RequestType::ServerSideEmit)
                {
                    return;
                }
                responses.push(response.get("data").cloned().unwrap_or_default());
                if responses.len() >= *expected
                    && let Some(done) = done.take()
                {
                    let _ = done.send(());
                }
            }
        }
    }
}
