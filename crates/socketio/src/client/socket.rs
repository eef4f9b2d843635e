//! [`Socket`]: the client's side of one namespace. It emits (directly when connected, into a
//! buffer otherwise), receives (buffering what comes before the CONNECT reply), tracks its
//! acknowledgements both ways, and follows its Manager's connection through reconnections,
//! with connection state recovery (PROTOCOL-FACTS §7).
//!
//! State changes happen under the socket's lock; listeners are called after it is released, so
//! a listener may emit, connect or disconnect. Packets from the server are handled on the
//! Manager's task, in arrival order.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use serde::Serialize;
use smol_str::SmolStr;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::ack::{AckFuture, AckResponse, AckResult, AckSlot, AckWaiter};
use super::auth::{Auth, connect_payload};
use super::driver::Command;
use super::error::{AckError, ConnectError, EmitError};
use super::event::Event;
use super::listeners::{ListenerId, SocketListeners, call};
use super::manager::{Link, Manager, ManagerHandle, lock};
use super::reason::DisconnectReason;
use super::retry::RetryQueue;
use crate::parser::Encoded;
use crate::{Packet, PacketType, Payload, Value, is_reserved_event, to_value};

/// What socket.io-client says when the CONNECT reply has no `sid` (a Socket.IO v2 server).
const V2_SERVER: &str = "It seems you are trying to reach a Socket.IO server in v2.x with a v3.x client, but they are not compatible (more information here: https://socket.io/docs/v3/migrating-from-2-x-to-3-0/)";

/// Above this many acknowledgements awaited, answers nobody waits for any more (dropped
/// futures) are forgotten before a new one is added, so the map cannot grow without bound.
const ACK_PRUNE_THRESHOLD: usize = 64;

/// An emit made while disconnected, sent on the next connection.
pub(crate) struct Buffered {
    encoded: Encoded,
    event: SmolStr,
    /// The arguments, kept only if `on_any_outgoing` listeners existed at emit time.
    args: Option<Vec<Value>>,
    ack_id: Option<u64>,
}

/// The mutable state of a socket.
pub(crate) struct SocketState {
    /// Whether the socket follows its Manager's connection (socket.io-client's `active`).
    pub(crate) active: bool,
    pub(crate) connected: bool,
    /// The session the CONNECT packet was sent on, so it is sent once per session.
    connect_sent: Option<u64>,
    id: Option<SmolStr>,
    /// The private id for connection state recovery, from the CONNECT reply.
    pid: Option<String>,
    /// The offset of the last event received, sent back on reconnection.
    last_offset: Option<String>,
    recovered: bool,
    auth: Auth,
    pub(crate) acks: std::collections::HashMap<u64, AckSlot>,
    send_buffer: VecDeque<Buffered>,
    receive_buffer: Vec<Packet>,
    pub(crate) queue: RetryQueue,
}

/// Emit flags (`volatile`, `timeout`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Flags {
    pub(crate) volatile: bool,
    pub(crate) timeout: Option<Duration>,
}

/// Work to do once the socket's lock is released: answers to deliver and outgoing listeners
/// to call.
#[derive(Default)]
pub(crate) struct After {
    pub(crate) answers: Vec<(AckWaiter, AckResult)>,
    pub(crate) outgoing: Vec<(SmolStr, Vec<Value>)>,
}

impl After {
    fn run(self, socket: &Arc<SocketShared>) {
        for (tx, answer) in self.answers {
            // The waiter may have been dropped; then nobody wants the answer.
            let _ = tx.send(answer);
        }
        if self.outgoing.is_empty() {
            return;
        }
        let Some(handle) = socket.handle() else {
            return;
        };
        let listeners = socket.read_listeners().outgoing.calls();
        for (event, args) in &self.outgoing {
            for h in &listeners {
                call("on_any_outgoing", || h(&handle, event, args));
            }
        }
    }
}

/// What the handles of a socket and its Manager's task share.
pub(crate) struct SocketShared {
    pub(crate) nsp: SmolStr,
    pub(crate) link: Arc<Link>,
    manager: Weak<ManagerHandle>,
    pub(crate) state: Mutex<SocketState>,
    listeners: RwLock<SocketListeners>,
    ack_timeout: Option<Duration>,
    pub(crate) retries: Option<u32>,
    next_ack_id: AtomicU64,
}

impl SocketShared {
    pub(crate) fn new(
        nsp: SmolStr,
        manager: &Manager,
        auth: Auth,
        ack_timeout: Option<Duration>,
        retries: Option<u32>,
        listeners: SocketListeners,
    ) -> SocketShared {
        SocketShared {
            nsp,
            link: Arc::clone(&manager.shared().link),
            manager: Arc::downgrade(&manager.handle),
            state: Mutex::new(SocketState {
                active: false,
                connected: false,
                connect_sent: None,
                id: None,
                pid: None,
                last_offset: None,
                recovered: false,
                auth,
                acks: std::collections::HashMap::new(),
                send_buffer: VecDeque::new(),
                receive_buffer: Vec::new(),
                queue: RetryQueue::default(),
            }),
            listeners: RwLock::new(listeners),
            ack_timeout,
            retries,
            next_ack_id: AtomicU64::new(0),
        }
    }

    /// A handle for listeners; none once the application dropped every handle.
    pub(crate) fn handle(self: &Arc<Self>) -> Option<Socket> {
        Manager::upgrade(&self.manager).map(|m| Socket::from_parts(Arc::clone(self), m))
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, SocketState> {
        lock(&self.state)
    }

    fn read_listeners(&self) -> std::sync::RwLockReadGuard<'_, SocketListeners> {
        self.listeners.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_listeners(&self) -> std::sync::RwLockWriteGuard<'_, SocketListeners> {
        self.listeners.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn add_listeners(&self, more: SocketListeners) {
        self.write_listeners().absorb(more);
    }

    pub(crate) fn next_ack_id(&self) -> u64 {
        self.next_ack_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn has_outgoing_listeners(&self) -> bool {
        !self.read_listeners().outgoing.is_empty()
    }

    // ---- emitting ----

    fn emit<T: Serialize + ?Sized>(
        self: &Arc<Self>,
        event: &str,
        args: &T,
        flags: Flags,
    ) -> Result<(), EmitError> {
        if is_reserved_event(event) {
            return Err(EmitError::ReservedEvent);
        }
        if self.retries.is_some() && !flags.volatile {
            let args = args_to_values(args)?;
            self.enqueue(event, args, flags.timeout.or(self.ack_timeout), None);
            return Ok(());
        }
        let encoded = self
            .link
            .parser
            .encode_event(&self.nsp, event, args, None)?;
        let values = self.outgoing_values(args);
        let mut after = After::default();
        {
            let mut st = self.lock();
            if st.connected {
                self.link.send(&encoded);
                if let Some(values) = values {
                    after.outgoing.push((SmolStr::new(event), values));
                }
            } else if flags.volatile {
                tracing::debug!(nsp = %self.nsp, event, "socket.io client: volatile packet dropped while disconnected");
            } else {
                st.send_buffer.push_back(Buffered {
                    encoded,
                    event: SmolStr::new(event),
                    args: values,
                    ack_id: None,
                });
            }
        }
        after.run(self);
        Ok(())
    }

    fn emit_with_ack<T: Serialize + ?Sized>(
        self: &Arc<Self>,
        event: &str,
        args: &T,
        flags: Flags,
    ) -> AckFuture {
        if is_reserved_event(event) {
            return AckFuture::failed(AckError::Emit(EmitError::ReservedEvent));
        }
        let timeout = flags.timeout.or(self.ack_timeout);
        if self.retries.is_some() && !flags.volatile {
            let args = match args_to_values(args) {
                Ok(args) => args,
                Err(e) => return AckFuture::failed(AckError::Emit(e)),
            };
            let (tx, rx) = oneshot::channel();
            self.enqueue(event, args, timeout, Some(tx));
            return AckFuture::new(async move { rx.await.unwrap_or(Err(AckError::Disconnected)) });
        }
        let id = self.next_ack_id();
        let encoded = match self
            .link
            .parser
            .encode_event(&self.nsp, event, args, Some(id))
        {
            Ok(encoded) => encoded,
            Err(e) => return AckFuture::failed(AckError::Emit(e.into())),
        };
        let values = self.outgoing_values(args);
        let (tx, rx) = oneshot::channel();
        let mut after = After::default();
        {
            let mut st = self.lock();
            if st.connected {
                register_ack(&mut st, id, AckSlot::Waiter(tx));
                self.link.send(&encoded);
                if let Some(values) = values {
                    after.outgoing.push((SmolStr::new(event), values));
                }
            } else if flags.volatile {
                return AckFuture::failed(AckError::Disconnected);
            } else {
                register_ack(&mut st, id, AckSlot::Waiter(tx));
                st.send_buffer.push_back(Buffered {
                    encoded,
                    event: SmolStr::new(event),
                    args: values,
                    ack_id: Some(id),
                });
            }
        }
        after.run(self);
        // The deadline runs from the emit, as socket.io-client's timer does.
        let deadline = timeout.map(|t| Instant::now() + t);
        let socket = Arc::downgrade(self);
        AckFuture::new(async move {
            let Some(deadline) = deadline else {
                return rx.await.unwrap_or(Err(AckError::Disconnected));
            };
            match tokio::time::timeout_at(deadline, rx).await {
                Ok(answer) => answer.unwrap_or(Err(AckError::Disconnected)),
                Err(_) => {
                    if let Some(socket) = socket.upgrade() {
                        socket.forget_ack(id);
                    }
                    Err(AckError::Timeout)
                }
            }
        })
    }

    /// The arguments as values for `on_any_outgoing` listeners, only when there are some.
    fn outgoing_values<T: Serialize + ?Sized>(&self, args: &T) -> Option<Vec<Value>> {
        if !self.has_outgoing_listeners() {
            return None;
        }
        args_to_values(args).ok()
    }

    /// An acknowledgement timed out: its answer will not be awaited, and if the event is still
    /// buffered it is not sent at all (as socket.io-client does).
    fn forget_ack(&self, id: u64) {
        let mut st = self.lock();
        st.acks.remove(&id);
        st.send_buffer.retain(|b| b.ack_id != Some(id));
    }

    // ---- connecting and disconnecting ----

    /// Sends the CONNECT packet on session `generation`, once, if the socket wants to be
    /// connected; evaluates an `auth` function first.
    pub(crate) fn begin_connect(self: &Arc<Self>, generation: u64) {
        let (auth, pid, offset) = {
            let mut st = self.lock();
            if !st.active || st.connected || st.connect_sent == Some(generation) {
                return;
            }
            st.connect_sent = Some(generation);
            (st.auth.clone(), st.pid.clone(), st.last_offset.clone())
        };
        match auth {
            Auth::None => self.send_connect(
                generation,
                connect_payload(pid.as_deref(), offset.as_deref(), None),
            ),
            Auth::Static(map) => self.send_connect(
                generation,
                connect_payload(pid.as_deref(), offset.as_deref(), Some(map)),
            ),
            Auth::Dynamic(f) => {
                let socket = Arc::clone(self);
                let auth = f();
                self.link.runtime.spawn(async move {
                    let auth = auth.await;
                    socket.send_connect(
                        generation,
                        connect_payload(pid.as_deref(), offset.as_deref(), auth),
                    );
                });
            }
        }
    }

    fn send_connect(&self, generation: u64, payload: Option<crate::Map>) {
        let encoded = match self
            .link
            .parser
            .encode(&Packet::connect(self.nsp.clone(), payload))
        {
            Ok(encoded) => encoded,
            Err(e) => {
                tracing::warn!(nsp = %self.nsp, error = %e, "socket.io client: CONNECT not encodable");
                return;
            }
        };
        let st = self.lock();
        // The socket may have been disconnected while `auth` was evaluated.
        if st.active && !st.connected && st.connect_sent == Some(generation) {
            self.link.send_on(generation, &encoded);
        }
    }

    /// The server accepted the namespace: `{sid, pid?}`.
    pub(crate) fn on_connect_reply(self: &Arc<Self>, packet: Packet) {
        #[derive(serde::Deserialize)]
        struct Reply {
            sid: Option<String>,
            pid: Option<String>,
        }
        let reply: Option<Reply> = packet.payload().and_then(|p| p.deserialize().ok());
        let Some(Reply {
            sid: Some(sid),
            pid,
        }) = reply
        else {
            self.emit_connect_error(&ConnectError::other(V2_SERVER));
            return;
        };
        let mut after = After::default();
        let received = {
            let mut st = self.lock();
            if !st.active {
                // Disconnected by the application while the CONNECT was under way: tell the
                // server, which now counts this socket as connected.
                drop(st);
                if let Ok(encoded) = self
                    .link
                    .parser
                    .encode(&Packet::disconnect(self.nsp.clone()))
                {
                    self.link.send(&encoded);
                }
                return;
            }
            if st.connected {
                return;
            }
            st.recovered = pid.is_some() && st.pid == pid;
            st.pid = pid;
            st.id = Some(SmolStr::new(sid));
            st.connected = true;
            st.connect_sent = None;
            // What was emitted while disconnected goes first, under the lock, so that no
            // emit made from now on can overtake it.
            for b in std::mem::take(&mut st.send_buffer) {
                self.link.send(&b.encoded);
                if let Some(args) = b.args {
                    after.outgoing.push((b.event, args));
                }
            }
            std::mem::take(&mut st.receive_buffer)
        };
        tracing::debug!(nsp = %self.nsp, "socket.io client: connected");
        for packet in received {
            self.dispatch(packet);
        }
        after.run(self);
        let mut after = After::default();
        {
            let mut st = self.lock();
            self.drain_queue(&mut st, true, &mut after);
        }
        after.run(self);
        let Some(handle) = self.handle() else {
            return;
        };
        let listeners = self.write_listeners().connect.take_calls();
        for h in listeners {
            call("on_connect", || h(&handle));
        }
    }

    /// The server refused the namespace: the socket gives up (no reconnection), as
    /// socket.io-client does.
    pub(crate) fn on_connect_error(self: &Arc<Self>, packet: &Packet) {
        {
            let mut st = self.lock();
            st.active = false;
            st.connect_sent = None;
        }
        let value = packet
            .payload()
            .and_then(|p| p.to_value().ok())
            .unwrap_or_default();
        let error = match value {
            Value::String(message) => ConnectError::from_server(message, None),
            Value::Object(mut m) => {
                let message = match m.remove("message") {
                    Some(Value::String(s)) => s,
                    Some(other) => serde_json::to_string(&other).unwrap_or_default(),
                    None => String::new(),
                };
                ConnectError::from_server(message, m.remove("data"))
            }
            _ => ConnectError::from_server(String::new(), None),
        };
        self.emit_connect_error(&error);
    }

    pub(crate) fn emit_connect_error(self: &Arc<Self>, error: &ConnectError) {
        let Some(handle) = self.handle() else {
            return;
        };
        let listeners = self.write_listeners().connect_error.take_calls();
        for h in listeners {
            call("on_connect_error", || h(&handle, error));
        }
    }

    /// The server disconnected the socket: no reconnection for it.
    pub(crate) fn on_server_disconnect(self: &Arc<Self>) {
        {
            let mut st = self.lock();
            st.active = false;
            st.connect_sent = None;
        }
        self.on_close(DisconnectReason::IoServerDisconnect);
    }

    /// The socket is no longer connected (its `onclose`): awaited acknowledgements fail,
    /// except those of emits still buffered (they go out on the next connection), and the
    /// `disconnect` listeners run.
    pub(crate) fn on_close(self: &Arc<Self>, reason: DisconnectReason) {
        let mut after = After::default();
        {
            let mut st = self.lock();
            st.connected = false;
            st.id = None;
            st.connect_sent = None;
            let buffered: HashSet<u64> = st.send_buffer.iter().filter_map(|b| b.ack_id).collect();
            let ids: Vec<u64> = st
                .acks
                .keys()
                .copied()
                .filter(|id| !buffered.contains(id))
                .collect();
            for id in ids {
                match st.acks.remove(&id) {
                    Some(AckSlot::Waiter(tx)) => {
                        after.answers.push((tx, Err(AckError::Disconnected)))
                    }
                    Some(AckSlot::Queued(seq)) => self.queue_disconnected(&mut st, seq, &mut after),
                    None => {}
                }
            }
        }
        after.run(self);
        let Some(handle) = self.handle() else {
            return;
        };
        tracing::debug!(nsp = %self.nsp, %reason, "socket.io client: disconnected");
        let listeners = self.write_listeners().disconnect.take_calls();
        for h in listeners {
            call("on_disconnect", || h(&handle, reason));
        }
    }

    // ---- receiving ----

    /// An EVENT: dispatched if connected, kept for later if the CONNECT reply has not come
    /// yet (the missed packets of a recovered session arrive before it).
    pub(crate) fn on_event(self: &Arc<Self>, packet: Packet) {
        {
            let mut st = self.lock();
            if !st.active {
                return;
            }
            if !st.connected {
                st.receive_buffer.push(packet);
                return;
            }
        }
        self.dispatch(packet);
    }

    fn dispatch(self: &Arc<Self>, packet: Packet) {
        let Some(handle) = self.handle() else {
            return;
        };
        let tracks_offset = self.lock().pid.is_some();
        let offset = if tracks_offset {
            offset_of(&packet)
        } else {
            None
        };
        let event = Event::new(packet, self);
        let (any, handlers) = {
            let mut l = self.write_listeners();
            let any = l.any.take_calls();
            let handlers = l
                .events
                .get_mut(event.name())
                .map(|list| list.take_calls())
                .unwrap_or_default();
            (any, handlers)
        };
        for h in any {
            call("on_any", || h(&handle, &event));
        }
        for h in handlers {
            let event = event.clone();
            call("on", || h(&handle, event));
        }
        if let Some(offset) = offset {
            self.lock().last_offset = Some(offset);
        }
    }

    /// An ACK for one of our emits.
    pub(crate) fn on_ack(self: &Arc<Self>, packet: Packet) {
        let Some(id) = packet.id() else {
            return;
        };
        let mut after = After::default();
        {
            let mut st = self.lock();
            match st.acks.remove(&id) {
                Some(AckSlot::Waiter(tx)) => after.answers.push((tx, Ok(AckResponse::new(packet)))),
                Some(AckSlot::Queued(seq)) => {
                    self.queue_result(&mut st, seq, Ok(AckResponse::new(packet)), &mut after);
                }
                None => tracing::debug!(nsp = %self.nsp, id, "socket.io client: unknown ack id"),
            }
        }
        after.run(self);
    }

    /// Runs `f` with the lock held and then what it left to do.
    pub(crate) fn with_state(self: &Arc<Self>, f: impl FnOnce(&mut SocketState, &mut After)) {
        let mut after = After::default();
        {
            let mut st = self.lock();
            f(&mut st, &mut after);
        }
        after.run(self);
    }
}

/// Adds an awaited acknowledgement, first dropping answers nobody waits for when there are
/// many.
fn register_ack(st: &mut SocketState, id: u64, slot: AckSlot) {
    if st.acks.len() >= ACK_PRUNE_THRESHOLD {
        st.acks.retain(|_, slot| match slot {
            AckSlot::Waiter(tx) => !tx.is_closed(),
            AckSlot::Queued(_) => true,
        });
    }
    st.acks.insert(id, slot);
}

/// The arguments of an emit as values (for the retry queue, which re-encodes each try, and
/// for outgoing listeners).
pub(crate) fn args_to_values<T: Serialize + ?Sized>(args: &T) -> Result<Vec<Value>, EmitError> {
    match to_value(args) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(Value::Null) => Ok(Vec::new()),
        Ok(_) => Err(EmitError::Encode(crate::EncodeError::ArgsNotASequence)),
        Err(e) => Err(EmitError::Encode(e.into())),
    }
}

/// The recovery offset an event carries: its last argument when that is a string. Like
/// socket.io-client, which records the last argument of every event once it has a private id;
/// unlike it, the event name of an event without arguments and events with an ack id (whose
/// last argument there is the ack function) are not taken for offsets: the server never puts
/// an offset on those.
fn offset_of(packet: &Packet) -> Option<String> {
    if packet.kind() != PacketType::Event || packet.id().is_some() {
        return None;
    }
    match packet.payload()? {
        Payload::Json(raw) => {
            let items: Vec<&serde_json::value::RawValue> =
                serde_json::from_slice(raw.as_bytes()).ok()?;
            let last = items.get(1..)?.last()?;
            serde_json::from_str::<String>(last.get()).ok()
        }
        Payload::Value(Value::Array(items)) => items.get(1..)?.last()?.as_str().map(str::to_owned),
        Payload::Value(_) => None,
    }
}

/// The client side of one namespace (socket.io-client's `Socket`): emit events, listen to
/// them, answer the server's acknowledgement requests, and follow the Manager's connection
/// through reconnections.
///
/// Cheap to clone; every clone is the same socket. Listeners run on the Manager's task in the
/// order packets arrive: keep them short, or spawn (see [`on_async`](Socket::on_async)).
///
/// ```no_run
/// use socketio::client::{io, ManagerOptions};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let socket = io("http://127.0.0.1:3000/", ManagerOptions::default())?
///     .auth(&serde_json::json!({"token": "abc"}))
///     .on("news", |_, event| println!("news: {:?}", event.values()))
///     .on_connect(|socket| println!("connected as {:?}", socket.id()))
///     .build();
/// socket.emit("hello", &("world", 42))?;
/// let answer = socket
///     .timeout(std::time::Duration::from_secs(5))
///     .emit_with_ack("sum", &(1, 2))
///     .await?;
/// let (sum,): (u32,) = answer.args()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Socket {
    shared: Arc<SocketShared>,
    manager: Manager,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("nsp", &self.shared.nsp)
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

impl Socket {
    pub(crate) fn from_parts(shared: Arc<SocketShared>, manager: Manager) -> Socket {
        Socket { shared, manager }
    }

    /// The namespace.
    pub fn nsp(&self) -> &str {
        &self.shared.nsp
    }

    /// The Manager (the connection) this socket uses.
    pub fn manager(&self) -> &Manager {
        &self.manager
    }

    /// The socket id the server assigned, while connected (not the Engine.IO session id).
    pub fn id(&self) -> Option<String> {
        self.shared.lock().id.as_ref().map(SmolStr::to_string)
    }

    /// Whether the socket is connected to its namespace.
    pub fn connected(&self) -> bool {
        self.shared.lock().connected
    }

    /// Whether the socket follows its Manager's connection, i.e. will (re)connect by itself
    /// (socket.io-client's `active`): false after [`disconnect`](Socket::disconnect), a server
    /// disconnect or a refused connection.
    pub fn active(&self) -> bool {
        self.shared.lock().active
    }

    /// Whether the last connection recovered the previous session (connection state
    /// recovery): the server kept this socket's id and rooms and sent what was missed.
    pub fn recovered(&self) -> bool {
        self.shared.lock().recovered
    }

    /// Connects the socket (again) to its namespace, opening the Manager's connection if
    /// needed (`socket.connect()`). Does nothing if it is connected.
    pub fn connect(&self) {
        {
            let mut st = self.shared.lock();
            if st.connected {
                return;
            }
            st.active = true;
        }
        self.manager
            .command(Command::Connect(Arc::clone(&self.shared)));
    }

    /// Disconnects the socket from its namespace (`socket.disconnect()`): the server is told,
    /// `disconnect` listeners hear `io client disconnect`, and the socket does not reconnect
    /// until [`connect`](Socket::connect). When no socket of the Manager is left, its
    /// connection closes.
    pub fn disconnect(&self) {
        let was_connected = {
            let mut st = self.shared.lock();
            let was_connected = st.connected;
            if was_connected
                && let Ok(encoded) = self
                    .shared
                    .link
                    .parser
                    .encode(&Packet::disconnect(self.shared.nsp.clone()))
            {
                self.shared.link.send(&encoded);
            }
            st.active = false;
            st.connect_sent = None;
            was_connected
        };
        if was_connected {
            self.shared.on_close(DisconnectReason::IoClientDisconnect);
        }
        self.manager.command(Command::Destroyed);
    }

    /// Sets the `auth` sent with the next CONNECT packets (an object: a map or a struct).
    pub fn set_auth<T: Serialize + ?Sized>(&self, auth: &T) {
        self.shared.lock().auth = Auth::fixed(auth);
    }

    /// Sets an asynchronous `auth` function, called before every CONNECT packet.
    pub fn set_auth_fn<F, Fut, T>(&self, f: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = T> + Send + 'static,
        T: Serialize,
    {
        self.shared.lock().auth = Auth::dynamic(f);
    }

    /// Emits an event. `args` must serialize as a sequence: the event's arguments
    /// (`&("hello", 42)`, `&[1, 2]`, `&()` for none); `bytes::Bytes` values anywhere inside go
    /// as binary. While disconnected the event is buffered and sent on (re)connection.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        self.shared.emit(event, args, Flags::default())
    }

    /// Emits an event and waits for the server's acknowledgement, within the socket's
    /// `ack_timeout` if it has one (see [`timeout`](Socket::timeout)).
    pub fn emit_with_ack<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> AckFuture {
        self.shared.emit_with_ack(event, args, Flags::default())
    }

    /// Emits a `message` event (`socket.send()`).
    pub fn send<T: Serialize + ?Sized>(&self, args: &T) -> Result<(), EmitError> {
        self.emit("message", args)
    }

    /// Emits with an acknowledgement timeout (`socket.timeout(ms)`).
    pub fn timeout(&self, timeout: Duration) -> SocketOperator {
        SocketOperator {
            socket: self.clone(),
            flags: Flags {
                timeout: Some(timeout),
                ..Flags::default()
            },
        }
    }

    /// Emits a volatile event: dropped instead of buffered while disconnected, and never
    /// retried (`socket.volatile`).
    pub fn volatile(&self) -> SocketOperator {
        SocketOperator {
            socket: self.clone(),
            flags: Flags {
                volatile: true,
                ..Flags::default()
            },
        }
    }

    fn add<H: Clone>(
        &self,
        pick: impl FnOnce(&mut SocketListeners) -> &mut super::listeners::List<H>,
        handler: H,
        once: bool,
        front: bool,
    ) -> ListenerId {
        pick(&mut self.shared.write_listeners()).add(handler, once, front)
    }

    /// Listens to an event. Listeners run on the Manager's task in arrival order.
    pub fn on<F>(&self, event: &str, handler: F) -> ListenerId
    where
        F: Fn(&Socket, Event) + Send + Sync + 'static,
    {
        let event = SmolStr::new(event);
        self.add(
            |l| l.events.entry(event).or_default(),
            Arc::new(handler) as _,
            false,
            false,
        )
    }

    /// Listens to the next occurrence of an event only.
    pub fn once<F>(&self, event: &str, handler: F) -> ListenerId
    where
        F: Fn(&Socket, Event) + Send + Sync + 'static,
    {
        let event = SmolStr::new(event);
        self.add(
            |l| l.events.entry(event).or_default(),
            Arc::new(handler) as _,
            true,
            false,
        )
    }

    /// Listens to an event with an asynchronous handler, started in arrival order in a task of
    /// its own.
    pub fn on_async<F, Fut>(&self, event: &str, handler: F) -> ListenerId
    where
        F: Fn(Socket, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let runtime = self.shared.link.runtime.clone();
        self.on(event, move |socket, event| {
            runtime.spawn(handler(socket.clone(), event));
        })
    }

    /// Removes a listener (of any kind) of this socket.
    pub fn off(&self, id: ListenerId) -> bool {
        self.shared.write_listeners().remove(id)
    }

    /// Removes every listener of an event.
    pub fn off_all(&self, event: &str) {
        self.shared.write_listeners().events.remove(event);
    }

    /// Listens to every event received, before the event's own listeners (`onAny`).
    pub fn on_any<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Socket, &Event) + Send + Sync + 'static,
    {
        self.add(|l| &mut l.any, Arc::new(handler) as _, false, false)
    }

    /// Like [`on_any`](Socket::on_any), before the other catch-all listeners (`prependAny`).
    pub fn prepend_any<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Socket, &Event) + Send + Sync + 'static,
    {
        self.add(|l| &mut l.any, Arc::new(handler) as _, false, true)
    }

    /// Listens to every event this socket sends, with its name and arguments, when it goes
    /// out (`onAnyOutgoing`; acknowledgements are not included).
    pub fn on_any_outgoing<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Socket, &str, &[Value]) + Send + Sync + 'static,
    {
        self.add(|l| &mut l.outgoing, Arc::new(handler) as _, false, false)
    }

    /// Like [`on_any_outgoing`](Socket::on_any_outgoing), first (`prependAnyOutgoing`).
    pub fn prepend_any_outgoing<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Socket, &str, &[Value]) + Send + Sync + 'static,
    {
        self.add(|l| &mut l.outgoing, Arc::new(handler) as _, false, true)
    }

    /// Called each time the socket connects to its namespace (`connect`).
    pub fn on_connect<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Socket) + Send + Sync + 'static,
    {
        self.add(|l| &mut l.connect, Arc::new(handler) as _, false, false)
    }

    /// Called when connecting fails (`connect_error`): the server refused the namespace, or
    /// the connection could not be opened.
    pub fn on_connect_error<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Socket, &ConnectError) + Send + Sync + 'static,
    {
        self.add(
            |l| &mut l.connect_error,
            Arc::new(handler) as _,
            false,
            false,
        )
    }

    /// Called when the socket disconnects (`disconnect`), with the reason.
    pub fn on_disconnect<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Socket, DisconnectReason) + Send + Sync + 'static,
    {
        self.add(|l| &mut l.disconnect, Arc::new(handler) as _, false, false)
    }
}

/// An emit with flags (`socket.timeout(ms)`, `socket.volatile`).
#[derive(Debug, Clone)]
pub struct SocketOperator {
    socket: Socket,
    flags: Flags,
}

impl SocketOperator {
    /// Sets the acknowledgement timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.flags.timeout = Some(timeout);
        self
    }

    /// Makes the emit volatile.
    pub fn volatile(mut self) -> Self {
        self.flags.volatile = true;
        self
    }

    /// Emits the event (see [`Socket::emit`]).
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        self.socket.shared.emit(event, args, self.flags)
    }

    /// Emits the event and waits for the acknowledgement (see [`Socket::emit_with_ack`]).
    pub fn emit_with_ack<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> AckFuture {
        self.socket.shared.emit_with_ack(event, args, self.flags)
    }
}
