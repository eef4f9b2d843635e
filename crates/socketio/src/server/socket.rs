//! A socket: one client connected to one namespace. It holds the client's listeners, the
//! acknowledgements the server awaits, its user data, and it sends through the Engine.IO
//! session it shares with the client's other namespaces.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use engineio::{Frame, Message, OverflowPolicy, Pressure, SendError, Sid};
use serde::Serialize;
use serde::de::DeserializeOwned;
use smol_str::SmolStr;
use tokio::sync::oneshot;

use super::ack::{AckError, AckResponse, AckSender, AckSlot};
use super::adapter::Room;
use super::broadcast::BroadcastOperator;
use super::client::EngineSocket;
use super::handshake::Handshake;
use super::namespace::Namespace;
use super::parser::ServerParser;
use crate::parser::Encoded;
use crate::{EncodeError, Packet, PacketType, Value, is_reserved_event};

/// Why a socket disconnected, named as Node's socket.io names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The connection was closed (the user closed the tab, the network dropped…).
    TransportClose,
    /// The connection failed.
    TransportError,
    /// The client stopped answering pings.
    PingTimeout,
    /// The connection was closed by the Engine.IO layer.
    ForcedClose,
    /// The client sent something that could not be decoded.
    ParseError,
    /// The server is shutting down ([`SocketIo::close`](super::SocketIo::close)).
    ServerShuttingDown,
    /// The server closed the whole connection ([`Socket::disconnect`] with `close`).
    ForcedServerClose,
    /// The client disconnected from the namespace (`socket.disconnect()` on its side).
    ClientNamespaceDisconnect,
    /// The server disconnected the socket from the namespace ([`Socket::disconnect`]).
    ServerNamespaceDisconnect,
    /// The connection's outbound queue went past its bound (the client does not read as fast
    /// as it is sent to; see [`OverflowPolicy`](engineio::OverflowPolicy)).
    QueueFull,
}

impl DisconnectReason {
    /// The reason as Node spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::ForcedClose => "forced close",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ServerShuttingDown => "server shutting down",
            DisconnectReason::ForcedServerClose => "forced server close",
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::QueueFull => "outbound queue full",
        }
    }

    pub(crate) fn from_engine(reason: engineio::CloseReason) -> Self {
        match reason {
            engineio::CloseReason::TransportClose => DisconnectReason::TransportClose,
            engineio::CloseReason::TransportError => DisconnectReason::TransportError,
            engineio::CloseReason::PingTimeout => DisconnectReason::PingTimeout,
            engineio::CloseReason::ForcedClose => DisconnectReason::ForcedClose,
            engineio::CloseReason::ParseError => DisconnectReason::ParseError,
            engineio::CloseReason::ForcedServerClose => DisconnectReason::ServerShuttingDown,
            engineio::CloseReason::QueueFull => DisconnectReason::QueueFull,
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event received from the client.
#[derive(Debug, Clone)]
pub struct Event {
    packet: Packet,
    ack: Option<AckSender>,
}

impl Event {
    /// The event name.
    pub fn name(&self) -> &str {
        self.packet.event_name().unwrap_or_default()
    }

    /// All the arguments as one value: a tuple, a `Vec`, or a struct deserialized from a
    /// sequence. Extra arguments are ignored and missing ones are `null`, as in JavaScript.
    pub fn args<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        self.packet.args()
    }

    /// One argument (a missing one deserializes from `null`, so `Option<T>` fits).
    pub fn arg<'a, T: serde::Deserialize<'a>>(
        &'a self,
        index: usize,
    ) -> Result<T, serde_json::Error> {
        self.packet.arg(index)
    }

    /// The arguments as untyped values (binary attachments as [`Value::Binary`]).
    pub fn values(&self) -> Vec<Value> {
        self.packet.args::<Vec<Value>>().unwrap_or_default()
    }

    /// The acknowledgement the client asked for, if any.
    pub fn ack(&self) -> Option<&AckSender> {
        self.ack.as_ref()
    }
}

/// Identifies a listener, to remove it with [`Socket::off`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

/// A listener's function, cloned out of the listener lists before it is called (so that it
/// may add or remove listeners). Most listeners are closures that capture nothing: those are
/// zero-sized and kept as a `'static` reference, so a socket's listeners cost no allocation
/// each; the others are shared.
enum Handler<T: ?Sized + 'static> {
    Static(&'static T),
    Shared(Arc<T>),
}

impl<T: ?Sized> Clone for Handler<T> {
    fn clone(&self) -> Self {
        match self {
            Handler::Static(f) => Handler::Static(f),
            Handler::Shared(f) => Handler::Shared(Arc::clone(f)),
        }
    }
}

impl<T: ?Sized> std::ops::Deref for Handler<T> {
    type Target = T;

    fn deref(&self) -> &T {
        match self {
            Handler::Static(f) => f,
            Handler::Shared(f) => f,
        }
    }
}

/// Whether a value needs no storage and no drop: it can be leaked at no cost.
fn costs_nothing<F>(_: &F) -> bool {
    std::mem::size_of::<F>() == 0 && !std::mem::needs_drop::<F>()
}

/// Defines the function that turns a closure into a `Handler` of one signature.
macro_rules! handler_fn {
    ($name:ident, $alias:ident, $($sig:tt)+) => {
        type $alias = Handler<dyn $($sig)+ + Send + Sync>;

        fn $name<F: $($sig)+ + Send + Sync + 'static>(f: F) -> $alias {
            if costs_nothing(&f) {
                // A zero-sized box allocates nothing, and leaking it loses nothing.
                let f: &'static (dyn $($sig)+ + Send + Sync) = Box::leak(Box::new(f));
                Handler::Static(f)
            } else {
                Handler::Shared(Arc::new(f))
            }
        }
    };
}

handler_fn!(event_handler, EventHandler, Fn(&Arc<Socket>, Event));
handler_fn!(any_handler, AnyHandler, Fn(&Arc<Socket>, &Event));
handler_fn!(outgoing_handler, OutgoingHandler, Fn(&Arc<Socket>, &str));
handler_fn!(
    disconnect_handler,
    DisconnectHandler,
    Fn(&Arc<Socket>, DisconnectReason)
);
handler_fn!(drain_handler, DrainHandler, Fn(&Arc<Socket>));
handler_fn!(
    packet_middleware,
    PacketMiddleware,
    Fn(&Arc<Socket>, &Event) -> Result<(), String>
);

struct Listener<H> {
    id: ListenerId,
    once: bool,
    handler: H,
}

#[derive(Default)]
struct Listeners {
    next_id: u64,
    /// Every event listener with its event's name, in the order they were added: a socket
    /// has few, so a flat list costs less memory than a map of lists and is as quick to scan.
    events: Vec<(SmolStr, Listener<EventHandler>)>,
    disconnect: Vec<Listener<DisconnectHandler>>,
    /// The kinds of listeners most sockets never have, boxed: their empty lists would
    /// otherwise take room in every socket.
    more: Option<Box<MoreListeners>>,
}

#[derive(Default)]
struct MoreListeners {
    any: Vec<Listener<AnyHandler>>,
    outgoing: Vec<Listener<OutgoingHandler>>,
    disconnecting: Vec<Listener<DisconnectHandler>>,
    drain: Vec<Listener<DrainHandler>>,
    middlewares: Vec<PacketMiddleware>,
}

impl Listeners {
    fn next(&mut self) -> ListenerId {
        self.next_id += 1;
        ListenerId(self.next_id)
    }

    fn more_mut(&mut self) -> &mut MoreListeners {
        self.more.get_or_insert_with(Box::default)
    }

    /// The listeners of event `name`: the first, the others (empty, and so not allocated, for
    /// an event with one listener), and whether any of them is a `once` listener.
    fn event_handlers(&self, name: &str) -> (Option<EventHandler>, Vec<EventHandler>, bool) {
        let mut once = false;
        let mut matching = self.events.iter().filter(|(n, _)| n == name).map(|(_, x)| {
            once |= x.once;
            x.handler.clone()
        });
        let first = matching.next();
        let rest: Vec<EventHandler> = matching.collect();
        (first, rest, once)
    }

    /// The handlers of one of the less common kinds of listeners (none if the socket has no
    /// such listener).
    fn handlers<H: Clone>(&self, kind: impl Fn(&MoreListeners) -> &Vec<Listener<H>>) -> Vec<H> {
        self.more.as_deref().map_or_else(Vec::new, |more| {
            kind(more).iter().map(|x| x.handler.clone()).collect()
        })
    }
}

const CONNECTING: u8 = 0;
const CONNECTED: u8 = 1;
const DISCONNECTED: u8 = 2;

/// A client connected to a namespace.
pub struct Socket {
    id: Sid,
    nsp: Arc<Namespace>,
    conn: Arc<EngineSocket>,
    handshake: Handshake,
    state: AtomicU8,
    /// Packets emitted before the CONNECT reply went out; sent right after it.
    early: Mutex<Vec<Frame>>,
    listeners: RwLock<Listeners>,
    acks: Mutex<HashMap<u64, AckSlot>>,
    data: Mutex<Value>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id)
            .field("nsp", &self.nsp.name())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Socket {
    pub(crate) fn new(
        id: Sid,
        nsp: Arc<Namespace>,
        conn: Arc<EngineSocket>,
        handshake: Handshake,
    ) -> Self {
        Socket {
            id,
            nsp,
            conn,
            handshake,
            state: AtomicU8::new(CONNECTING),
            early: Mutex::new(Vec::new()),
            listeners: RwLock::new(Listeners::default()),
            acks: Mutex::new(HashMap::new()),
            data: Mutex::new(Value::Null),
        }
    }

    /// The socket id (not the Engine.IO session id).
    pub fn id(&self) -> Sid {
        self.id
    }

    /// The namespace.
    pub fn namespace(&self) -> &Arc<Namespace> {
        &self.nsp
    }

    pub(crate) fn namespace_name(&self) -> &str {
        self.nsp.name()
    }

    /// The handshake (headers, query, auth, address…).
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The Engine.IO session this socket uses.
    pub fn conn(&self) -> &Arc<EngineSocket> {
        &self.conn
    }

    /// Whether the socket is connected.
    pub fn connected(&self) -> bool {
        self.state.load(Ordering::Acquire) != DISCONNECTED
    }

    pub(crate) fn parser(&self) -> &ServerParser {
        self.nsp.parser()
    }

    /// The rooms the socket is in (always including its own id).
    pub fn rooms(&self) -> Vec<Room> {
        self.nsp.adapter().socket_rooms(self.id)
    }

    /// Joins one room or several.
    pub fn join(&self, rooms: impl IntoRooms) {
        if self.connected() {
            self.nsp.adapter().add_all(self.id, &rooms.into_rooms());
        }
    }

    /// Leaves one room or several.
    pub fn leave(&self, rooms: impl IntoRooms) {
        for room in rooms.into_rooms() {
            self.nsp.adapter().del(self.id, &room);
        }
    }

    /// Stores user data (kept as a value, so that it can cross a cluster and be read back by
    /// [`data`](Self::data)).
    pub fn set_data<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), serde_json::Error> {
        *lock(&self.data) = crate::to_value(data)?;
        Ok(())
    }

    /// Reads the user data back as `T`.
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        let value = lock(&self.data).clone();
        crate::value::from_value(&value)
    }

    /// The user data as a value.
    pub fn data_value(&self) -> Value {
        lock(&self.data).clone()
    }

    /// Listens to an event. Listeners run on the task that received the packet, in the order
    /// packets arrive; spawn a task for long work (or use [`on_async`](Self::on_async)).
    pub fn on<F>(&self, event: impl Into<SmolStr>, handler: F) -> ListenerId
    where
        F: Fn(&Arc<Socket>, Event) + Send + Sync + 'static,
    {
        self.add_listener(event.into(), false, event_handler(handler))
    }

    /// Listens to an event with an asynchronous handler: each call is started in arrival
    /// order, in a task of its own (like an `async` listener in Node).
    pub fn on_async<F, Fut>(&self, event: impl Into<SmolStr>, handler: F) -> ListenerId
    where
        F: Fn(Arc<Socket>, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.on(event, move |socket, event| {
            tokio::spawn(handler(Arc::clone(socket), event));
        })
    }

    /// Listens to the next occurrence of an event only.
    pub fn once<F>(&self, event: impl Into<SmolStr>, handler: F) -> ListenerId
    where
        F: Fn(&Arc<Socket>, Event) + Send + Sync + 'static,
    {
        self.add_listener(event.into(), true, event_handler(handler))
    }

    fn add_listener(&self, event: SmolStr, once: bool, handler: EventHandler) -> ListenerId {
        let mut l = self.listeners.write().unwrap_or_else(|e| e.into_inner());
        let id = l.next();
        // Grown one at a time: a socket has a few listeners, and a list grown by doubling
        // would hold room for up to twice as many.
        l.events.reserve_exact(1);
        l.events.push((event, Listener { id, once, handler }));
        id
    }

    /// Removes a listener.
    pub fn off(&self, event: &str, id: ListenerId) {
        let mut l = self.listeners.write().unwrap_or_else(|e| e.into_inner());
        l.events.retain(|(name, x)| !(name == event && x.id == id));
    }

    /// Removes every listener of an event.
    pub fn off_all(&self, event: &str) {
        self.listeners
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .events
            .retain(|(name, _)| name != event);
    }

    /// Listens to every incoming event, before the event's own listeners.
    pub fn on_any<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Arc<Socket>, &Event) + Send + Sync + 'static,
    {
        self.push_any(handler, false)
    }

    /// Like [`on_any`](Self::on_any), but runs before the other catch-all listeners.
    pub fn prepend_any<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Arc<Socket>, &Event) + Send + Sync + 'static,
    {
        self.push_any(handler, true)
    }

    fn push_any<F>(&self, handler: F, front: bool) -> ListenerId
    where
        F: Fn(&Arc<Socket>, &Event) + Send + Sync + 'static,
    {
        let mut l = self.listeners.write().unwrap_or_else(|e| e.into_inner());
        let id = l.next();
        let listener = Listener {
            id,
            once: false,
            handler: any_handler(handler),
        };
        if front {
            l.more_mut().any.insert(0, listener);
        } else {
            l.more_mut().any.push(listener);
        }
        id
    }

    /// Removes a catch-all listener.
    pub fn off_any(&self, id: ListenerId) {
        let mut l = self.listeners.write().unwrap_or_else(|e| e.into_inner());
        if let Some(more) = l.more.as_deref_mut() {
            more.any.retain(|x| x.id != id);
        }
    }

    /// Listens to every event this socket emits (called with the event name).
    pub fn on_any_outgoing<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Arc<Socket>, &str) + Send + Sync + 'static,
    {
        let mut l = self.listeners.write().unwrap_or_else(|e| e.into_inner());
        let id = l.next();
        l.more_mut().outgoing.push(Listener {
            id,
            once: false,
            handler: outgoing_handler(handler),
        });
        id
    }

    /// Removes an outgoing catch-all listener.
    pub fn off_any_outgoing(&self, id: ListenerId) {
        let mut l = self.listeners.write().unwrap_or_else(|e| e.into_inner());
        if let Some(more) = l.more.as_deref_mut() {
            more.outgoing.retain(|x| x.id != id);
        }
    }

    /// Adds a packet middleware: it sees every incoming event after the catch-all listeners
    /// and before the event's listeners; an `Err` stops the event (nothing is sent to the
    /// client, as in Node).
    pub fn use_middleware<F>(&self, middleware: F)
    where
        F: Fn(&Arc<Socket>, &Event) -> Result<(), String> + Send + Sync + 'static,
    {
        self.listeners
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .more_mut()
            .middlewares
            .push(packet_middleware(middleware));
    }

    /// Called when the socket starts to disconnect, while it is still in its rooms.
    pub fn on_disconnecting<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Arc<Socket>, DisconnectReason) + Send + Sync + 'static,
    {
        let mut l = self.listeners.write().unwrap_or_else(|e| e.into_inner());
        let id = l.next();
        l.more_mut().disconnecting.push(Listener {
            id,
            once: false,
            handler: disconnect_handler(handler),
        });
        id
    }

    /// Called once the socket has disconnected.
    pub fn on_disconnect<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Arc<Socket>, DisconnectReason) + Send + Sync + 'static,
    {
        let mut l = self.listeners.write().unwrap_or_else(|e| e.into_inner());
        let id = l.next();
        l.disconnect.push(Listener {
            id,
            once: false,
            handler: disconnect_handler(handler),
        });
        id
    }

    /// Emits an event to this client. `args` must serialize to a sequence: the event's
    /// arguments (`&("hello", 42)`, `&[1, 2]`, `&()` for none). `bytes::Bytes` values anywhere
    /// inside become binary attachments.
    ///
    /// Returns how full the connection's queue is: over the high-water mark, a producer
    /// should wait for [`drained`](Self::drained) before sending more. Past the connection's
    /// bound its [`OverflowPolicy`] applies: the connection is closed
    /// ([`DisconnectReason::QueueFull`]), or nothing is sent and [`EmitError::Full`] returned.
    pub fn emit<T: Serialize + ?Sized>(
        self: &Arc<Self>,
        event: &str,
        args: &T,
    ) -> Result<Pressure, EmitError> {
        self.operator().emit(event, args)
    }

    /// Emits an event, first waiting while the connection's queue is over its high-water mark
    /// or has no room for it: a producer that sends this way never outruns its client and
    /// never meets the overflow policy. Fails with [`EmitError::Full`] only for a packet
    /// larger than the bound; resolves at once (sending nothing) if the socket is
    /// disconnected.
    pub async fn emit_when_ready<T: Serialize + ?Sized>(
        self: &Arc<Self>,
        event: &str,
        args: &T,
    ) -> Result<Pressure, EmitError> {
        if is_reserved_event(event) {
            return Err(EmitError::ReservedEvent);
        }
        let encoded = self
            .parser()
            .encode_event(self.namespace_name(), event, args, None)
            .map_err(EmitError::Encode)?;
        self.call_outgoing(event);
        if self.state.load(Ordering::Acquire) != CONNECTED {
            // Before the CONNECT reply (or after the disconnection) the usual path applies.
            return self.send_direct(into_frames(encoded, true), false);
        }
        match self
            .conn
            .send_frames_when_ready(frames_of(&encoded, true))
            .await
        {
            Ok(pressure) => Ok(pressure),
            Err(SendError::Full) => Err(EmitError::Full),
            Err(SendError::Closed) => Ok(Pressure::Normal),
        }
    }

    /// Sets the most bytes queued for this socket's connection (the server's
    /// `max_buffered_bytes` by default). The connection, and so the bound, is shared by the
    /// client's namespaces.
    pub fn set_max_buffered_bytes(&self, bytes: usize) {
        self.conn.set_max_buffered_bytes(bytes);
    }

    /// Sets the queued bytes past which emits report [`Pressure::OverHighWater`] (the
    /// server's `high_water_mark` by default); shared by the client's namespaces.
    pub fn set_high_water_mark(&self, bytes: usize) {
        self.conn.set_high_water_mark(bytes);
    }

    /// Sets what happens when the connection's queue would go past its bound (the server's
    /// `overflow_policy` by default); shared by the client's namespaces.
    pub fn set_overflow_policy(&self, policy: OverflowPolicy) {
        self.conn.set_overflow_policy(policy);
    }

    /// Emits an event and waits for the client's acknowledgement (no timeout: see
    /// [`timeout`](Self::timeout)).
    pub fn emit_with_ack<T: Serialize + ?Sized>(
        self: &Arc<Self>,
        event: &str,
        args: &T,
    ) -> AckFuture {
        self.operator().emit_with_ack(event, args)
    }

    /// Operations with a timeout for acknowledgements.
    pub fn timeout(self: &Arc<Self>, timeout: Duration) -> SocketOperator {
        SocketOperator {
            timeout: Some(timeout),
            ..self.operator()
        }
    }

    /// Operations whose packets are dropped when the transport cannot write at once.
    pub fn volatile(self: &Arc<Self>) -> SocketOperator {
        SocketOperator {
            volatile: true,
            ..self.operator()
        }
    }

    /// Operations whose packets may (`true`, the default) or may not be compressed: a polling
    /// response is gzip/deflate-encoded when large enough and one of its packets may be.
    pub fn compress(self: &Arc<Self>, compress: bool) -> SocketOperator {
        SocketOperator {
            compress,
            ..self.operator()
        }
    }

    fn operator(self: &Arc<Self>) -> SocketOperator {
        SocketOperator {
            socket: Arc::clone(self),
            timeout: None,
            volatile: false,
            compress: true,
        }
    }

    /// Broadcasts to every socket of the namespace but this one.
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(Arc::clone(&self.nsp)).except(self.id.as_str())
    }

    /// Broadcasts to the sockets of a room (several with `to` again), but not this one.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().to(rooms)
    }

    /// Broadcasts to every socket of the namespace except those in these rooms, and this one.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().except(rooms)
    }

    /// Disconnects the socket from its namespace (the client hears `io server disconnect`);
    /// with `close`, closes the whole connection and every namespace on it.
    pub fn disconnect(self: &Arc<Self>, close: bool) {
        if close {
            // Every namespace of the connection hears a DISCONNECT, then the connection closes
            // once they are written.
            for socket in super::client::sockets_of(&self.conn) {
                socket.disconnect(false);
            }
            self.conn.close();
            return;
        }
        if !self.connected() {
            return;
        }
        if let Ok(encoded) = self.parser().encode(&Packet::disconnect(self.nsp.name())) {
            self.send_encoded(encoded, false);
        }
        self.close(DisconnectReason::ServerNamespaceDisconnect);
    }

    /// Queues an encoded packet.
    pub(crate) fn send_encoded(&self, encoded: Encoded, volatile: bool) -> Pressure {
        self.send_or_close(into_frames(encoded, true), volatile)
    }

    /// Queues frames (a packet and its attachments, never split) for a sender that cannot
    /// wait (broadcasts); returns how full the connection's queue is now. A connection whose
    /// policy is [`OverflowPolicy::Wait`] and whose queue is full is closed: a broadcast
    /// cannot wait for one client, and must not lose a packet silently either.
    pub(crate) fn send_frames(&self, frames: &[Frame], volatile: bool) -> Pressure {
        self.send_or_close(frames.iter().cloned(), volatile)
    }

    fn send_or_close(&self, frames: impl IntoIterator<Item = Frame>, volatile: bool) -> Pressure {
        match self.send_direct(frames, volatile) {
            Ok(pressure) => pressure,
            Err(_) => {
                self.conn.close_queue_full();
                Pressure::Normal
            }
        }
    }

    /// Queues frames for this socket alone: a full queue under [`OverflowPolicy::Wait`] is
    /// [`EmitError::Full`], nothing queued. A volatile packet that cannot be written at once,
    /// or a packet to a disconnected socket, is dropped (as in Node).
    fn send_direct(
        &self,
        frames: impl IntoIterator<Item = Frame>,
        volatile: bool,
    ) -> Result<Pressure, EmitError> {
        let queued = match self.state.load(Ordering::Acquire) {
            CONNECTED => {
                if volatile && !self.conn.is_writable() {
                    return Ok(Pressure::Normal);
                }
                self.conn.send_frames(frames)
            }
            CONNECTING => {
                let mut early = lock(&self.early);
                // Checked again under the lock: the switch to CONNECTED flushes `early` while
                // holding it, so nothing is queued behind the flush.
                if self.state.load(Ordering::Acquire) == CONNECTING {
                    early.extend(frames);
                    return Ok(Pressure::Normal);
                }
                drop(early);
                self.conn.send_frames(frames)
            }
            _ => return Ok(Pressure::Normal),
        };
        match queued {
            Ok(pressure) => Ok(pressure),
            Err(SendError::Full) => Err(EmitError::Full),
            Err(SendError::Closed) => Ok(Pressure::Normal),
        }
    }

    /// How many bytes are queued on this socket's connection and not yet handed to its
    /// transport (shared by the namespaces of the connection).
    pub fn buffered_bytes(&self) -> usize {
        self.conn.buffered_bytes()
    }

    /// Waits until the connection's queue is back under its high-water mark (at once if it
    /// is), or the connection closed: the way for a producer to slow down.
    pub async fn drained(&self) {
        self.conn.drained().await
    }

    /// Called when the connection's queue, once over its high-water mark, has been handed
    /// to the transport.
    pub fn on_drain<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Arc<Socket>) + Send + Sync + 'static,
    {
        let mut l = self.listeners.write().unwrap_or_else(|e| e.into_inner());
        let id = l.next();
        l.more_mut().drain.push(Listener {
            id,
            once: false,
            handler: drain_handler(handler),
        });
        id
    }

    pub(crate) fn call_drain(self: &Arc<Self>) {
        let handlers: Vec<DrainHandler> = {
            let l = self.listeners.read().unwrap_or_else(|e| e.into_inner());
            l.handlers(|more| &more.drain)
        };
        for h in handlers {
            h(self);
        }
    }

    /// Sends the CONNECT reply, then what was emitted before it.
    pub(crate) fn connect_reply(&self, reply: &Encoded) {
        let mut early = lock(&self.early);
        let mut frames = frames_of(reply, true);
        frames.append(&mut early);
        let _ = self.conn.send_frames(frames);
        // A socket disconnected by a connection listener stays disconnected.
        let _ =
            self.state
                .compare_exchange(CONNECTING, CONNECTED, Ordering::AcqRel, Ordering::Acquire);
    }

    pub(crate) fn register_ack(&self, id: u64, slot: AckSlot) {
        let mut acks = lock(&self.acks);
        // Answers nobody waits for any more (timed-out broadcasts) are dropped here, so a
        // socket that never answers cannot make the map grow.
        acks.retain(|_, slot| !slot.is_abandoned());
        acks.insert(id, slot);
    }

    pub(crate) fn forget_ack(&self, id: u64) {
        lock(&self.acks).remove(&id);
    }

    pub(crate) fn call_outgoing(self: &Arc<Self>, event: &str) {
        let handlers: Vec<OutgoingHandler> = {
            let l = self.listeners.read().unwrap_or_else(|e| e.into_inner());
            l.handlers(|more| &more.outgoing)
        };
        for h in handlers {
            h(self, event);
        }
    }

    /// Handles a packet the client sent to this namespace.
    pub(crate) fn on_packet(self: &Arc<Self>, packet: Packet) {
        match packet.kind() {
            PacketType::Event | PacketType::BinaryEvent => self.on_event(packet),
            PacketType::Ack | PacketType::BinaryAck => {
                if let Some(id) = packet.id() {
                    let slot = lock(&self.acks).remove(&id);
                    if let Some(slot) = slot {
                        slot.deliver(AckResponse::new(packet));
                    }
                }
            }
            PacketType::Disconnect => self.close(DisconnectReason::ClientNamespaceDisconnect),
            PacketType::Connect | PacketType::ConnectError => {}
        }
    }

    fn on_event(self: &Arc<Self>, packet: Packet) {
        let ack = packet.id().map(|id| AckSender::new(Arc::clone(self), id));
        let event = Event { packet, ack };
        // The event's listeners, in the order added, are taken after the catch-all listeners
        // and middlewares ran (they may add or remove some); a socket without those (most)
        // takes them under the same lock. Events of a socket are dispatched one at a time (by
        // its connection's task), so `once` listeners found under the read lock are still there
        // when the write lock removes them.
        let (taken, any, middlewares) = {
            let l = self.listeners.read().unwrap_or_else(|e| e.into_inner());
            match l.more.as_deref() {
                None => (Some(l.event_handlers(event.name())), Vec::new(), Vec::new()),
                Some(more) => (
                    None,
                    more.any.iter().map(|x| x.handler.clone()).collect(),
                    more.middlewares.clone(),
                ),
            }
        };
        for h in any {
            h(self, &event);
        }
        for m in middlewares {
            if let Err(e) = m(self, &event) {
                tracing::debug!(socket = %self.id, error = %e, "packet middleware refused an event");
                return;
            }
        }
        let (first, rest, once) = taken.unwrap_or_else(|| {
            self.listeners
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .event_handlers(event.name())
        });
        if once {
            let name = event.name();
            let mut l = self.listeners.write().unwrap_or_else(|e| e.into_inner());
            l.events.retain(|(n, x)| !(x.once && n == name));
        }
        // Each listener but the last gets a copy of the event; the last gets the event.
        let mut handlers = first.into_iter().chain(rest).peekable();
        while let Some(h) = handlers.next() {
            if handlers.peek().is_none() {
                h(self, event);
                return;
            }
            h(self, event.clone());
        }
    }

    /// Disconnects the socket: `disconnecting` listeners (still in its rooms), then it leaves
    /// every room and its namespace, pending acknowledgements fail, `disconnect` listeners.
    pub(crate) fn close(self: &Arc<Self>, reason: DisconnectReason) {
        if self.state.swap(DISCONNECTED, Ordering::AcqRel) == DISCONNECTED {
            return;
        }
        let disconnecting: Vec<DisconnectHandler> = {
            let l = self.listeners.read().unwrap_or_else(|e| e.into_inner());
            l.handlers(|more| &more.disconnecting)
        };
        for h in disconnecting {
            h(self, reason);
        }
        self.nsp.adapter().del_all(self.id);
        self.nsp.remove_socket(self.id);
        super::client::forget_socket(&self.conn, self.nsp.name());
        lock(&self.acks).clear();
        let disconnect: Vec<DisconnectHandler> = {
            let l = self.listeners.read().unwrap_or_else(|e| e.into_inner());
            l.disconnect.iter().map(|x| x.handler.clone()).collect()
        };
        for h in disconnect {
            h(self, reason);
        }
        tracing::debug!(socket = %self.id, nsp = self.nsp.name(), %reason, "socket disconnected");
    }
}

/// The frames of an encoded packet sent once, in order, marked compressible or not: the
/// bytes move into the frames (no list is made, and no count is shared).
pub(crate) fn into_frames(encoded: Encoded, compress: bool) -> impl Iterator<Item = Frame> {
    let (text, binaries) = encoded.into_text_parts();
    text.and_then(Frame::from_encoded_text)
        .into_iter()
        .chain(
            binaries
                .into_iter()
                .map(|bin| Frame::message(Message::Binary(bin))),
        )
        .map(move |frame| frame.compress(compress))
}

/// The frames of an encoded packet, in order, marked compressible or not, for a packet that
/// stays shared (a broadcast).
pub(crate) fn frames_of(encoded: &Encoded, compress: bool) -> Vec<Frame> {
    into_frames(encoded.clone(), compress).collect()
}

/// Why an emit failed.
#[derive(Debug)]
pub enum EmitError {
    /// `connect`, `connect_error`, `disconnect`, `disconnecting`, `newListener` and
    /// `removeListener` are reserved.
    ReservedEvent,
    /// The arguments could not be encoded.
    Encode(EncodeError),
    /// The connection's queue is full and its policy is
    /// [`OverflowPolicy::Wait`]: nothing was sent; wait for
    /// [`Socket::drained`] (or use [`Socket::emit_when_ready`]) and emit again.
    Full,
}

impl std::fmt::Display for EmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EmitError::ReservedEvent => f.write_str("reserved event name"),
            EmitError::Encode(e) => write!(f, "could not encode the event: {e}"),
            EmitError::Full => f.write_str("the connection's outbound queue is full"),
        }
    }
}

impl std::error::Error for EmitError {}

/// An emit with options on one socket (`socket.timeout(..)`, `socket.volatile()`).
#[derive(Debug, Clone)]
pub struct SocketOperator {
    socket: Arc<Socket>,
    timeout: Option<Duration>,
    volatile: bool,
    compress: bool,
}

impl SocketOperator {
    /// Whether the packets may be compressed (default true).
    pub fn compress(mut self, compress: bool) -> Self {
        self.compress = compress;
        self
    }

    /// Sets the acknowledgement timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Makes the packet volatile.
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Emits the event; returns how full the connection's queue is.
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<Pressure, EmitError> {
        if is_reserved_event(event) {
            return Err(EmitError::ReservedEvent);
        }
        let socket = &self.socket;
        let encoded = socket
            .parser()
            .encode_event(socket.namespace_name(), event, args, None)
            .map_err(EmitError::Encode)?;
        socket.call_outgoing(event);
        socket.send_direct(into_frames(encoded, self.compress), self.volatile)
    }

    /// Emits the event and waits for the acknowledgement.
    pub fn emit_with_ack<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> AckFuture {
        let socket = Arc::clone(&self.socket);
        let timeout = self.timeout;
        let prepared = if is_reserved_event(event) {
            Err(AckError::Encode)
        } else {
            let id = socket.nsp.next_ack_id();
            socket
                .parser()
                .encode_event(socket.namespace_name(), event, args, Some(id))
                .map_err(|_| AckError::Encode)
                .and_then(|encoded| {
                    let (tx, rx) = oneshot::channel();
                    socket.register_ack(id, AckSlot::One(tx));
                    socket.call_outgoing(event);
                    match socket.send_direct(into_frames(encoded, self.compress), self.volatile) {
                        Err(EmitError::Full) => {
                            socket.forget_ack(id);
                            Err(AckError::Full)
                        }
                        _ => Ok((id, rx)),
                    }
                })
        };
        AckFuture(Box::pin(async move {
            let (id, rx) = prepared?;
            let outcome = match timeout {
                Some(t) => match tokio::time::timeout(t, rx).await {
                    Ok(r) => r.map_err(|_| AckError::Disconnected),
                    Err(_) => Err(AckError::Timeout),
                },
                None => rx.await.map_err(|_| AckError::Disconnected),
            };
            if outcome.is_err() {
                socket.forget_ack(id);
            }
            outcome
        }))
    }
}

/// The acknowledgement of an emit: resolves with the client's answer, or an error on timeout
/// or disconnection.
pub struct AckFuture(Pin<Box<dyn Future<Output = Result<AckResponse, AckError>> + Send>>);

impl std::fmt::Debug for AckFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AckFuture")
    }
}

impl Future for AckFuture {
    type Output = Result<AckResponse, AckError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

/// One room or several.
pub trait IntoRooms {
    /// The rooms.
    fn into_rooms(self) -> Vec<Room>;
}

impl IntoRooms for &str {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self)]
    }
}

impl IntoRooms for &String {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self.as_str())]
    }
}

impl IntoRooms for String {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self)]
    }
}

impl IntoRooms for Room {
    fn into_rooms(self) -> Vec<Room> {
        vec![self]
    }
}

impl<const N: usize> IntoRooms for [&str; N] {
    fn into_rooms(self) -> Vec<Room> {
        self.iter().map(|r| Room::from(*r)).collect()
    }
}

impl IntoRooms for Vec<String> {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().map(Room::from).collect()
    }
}

impl IntoRooms for Vec<Room> {
    fn into_rooms(self) -> Vec<Room> {
        self
    }
}

impl IntoRooms for &[&str] {
    fn into_rooms(self) -> Vec<Room> {
        self.iter().map(|r| Room::from(*r)).collect()
    }
}
