//! Namespaces: static ones (`io.of("/chat")`) and the children of dynamic ones
//! (`io.of_regex(..)`, `io.of_predicate(..)`), with their middlewares and connection
//! listeners.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use engineio::{BuildSidHasher, Sid};
use serde::Serialize;
use smol_str::SmolStr;
use tokio::sync::oneshot;

use super::ack::BroadcastAcks;
use super::adapter::{
    Adapter, AdapterError, AdapterFactory, BoxFuture, LocalAdapter, RemoteSocket, ServerSideAcks,
    args_to_values,
};
use super::broadcast::BroadcastOperator;
use super::parser::ServerParser;
use super::socket::{EmitError, IntoRooms, Socket};
use crate::{Packet, Value, is_reserved_event};

/// A refusal from a namespace middleware, sent to the client as CONNECT_ERROR
/// `{"message": …, "data": …}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    /// The message (`err.message` on the client).
    pub message: String,
    /// Extra data (`err.data` on the client).
    pub data: Option<Value>,
}

impl ConnectError {
    /// A refusal with a message.
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    /// Adds data to the refusal.
    pub fn with_data(mut self, data: impl Into<Value>) -> Self {
        self.data = Some(data.into());
        self
    }
}

pub(crate) type Middleware =
    Arc<dyn Fn(Arc<Socket>) -> BoxFuture<'static, Result<(), ConnectError>> + Send + Sync>;
pub(crate) type ConnectionHandler = Arc<dyn Fn(&Arc<Socket>) + Send + Sync>;
type ServerSideHandler = Arc<dyn Fn(ServerSideEvent) + Send + Sync>;

/// An event another server of the cluster sent with `server_side_emit` (Node's
/// `serverSideEmit`), as its namespace's server-side listeners get it.
#[derive(Debug, Clone)]
pub struct ServerSideEvent {
    packet: Packet,
    ack: Option<ServerSideAck>,
}

impl ServerSideEvent {
    /// The event name.
    pub fn name(&self) -> &str {
        self.packet.event_name().unwrap_or_default()
    }

    /// All the arguments as one value (a tuple, a `Vec`…); extra arguments are ignored and
    /// missing ones are `null`, as for client events.
    pub fn args<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        self.packet.args()
    }

    /// One argument.
    pub fn arg<'a, T: serde::Deserialize<'a>>(
        &'a self,
        index: usize,
    ) -> Result<T, serde_json::Error> {
        self.packet.arg(index)
    }

    /// The arguments as values.
    pub fn values(&self) -> Vec<Value> {
        self.packet.args::<Vec<Value>>().unwrap_or_default()
    }

    /// The acknowledgement the sending server waits for, if it asked for one.
    pub fn ack(&self) -> Option<&ServerSideAck> {
        self.ack.as_ref()
    }
}

/// Answers a server-side event with one value (Node's callback takes one argument); later
/// answers are ignored.
#[derive(Debug, Clone)]
pub struct ServerSideAck {
    tx: Arc<Mutex<Option<oneshot::Sender<Value>>>>,
}

impl ServerSideAck {
    /// Sends the answer.
    pub fn send<T: Serialize + ?Sized>(&self, answer: &T) -> Result<(), serde_json::Error> {
        let value = crate::to_value(answer)?;
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(tx) = tx {
            let _ = tx.send(value);
        }
        Ok(())
    }
}

/// Middlewares and connection listeners, of a namespace or of a dynamic parent.
#[derive(Default)]
pub(crate) struct Hooks {
    middlewares: RwLock<Vec<Middleware>>,
    connection: RwLock<Vec<ConnectionHandler>>,
}

impl Hooks {
    fn add_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Arc<Socket>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.middlewares
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(move |s| Box::pin(middleware(s))));
    }

    fn add_connection<F>(&self, handler: F)
    where
        F: Fn(&Arc<Socket>) + Send + Sync + 'static,
    {
        self.connection
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(handler));
    }

    fn middlewares(&self) -> Vec<Middleware> {
        self.middlewares
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn has_middlewares(&self) -> bool {
        !self
            .middlewares
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    fn connection(&self) -> Vec<ConnectionHandler> {
        self.connection
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A namespace.
pub struct Namespace {
    name: SmolStr,
    parser: ServerParser,
    adapter: Arc<dyn Adapter>,
    sockets: RwLock<HashMap<Sid, Arc<Socket>, BuildSidHasher>>,
    hooks: Hooks,
    server_side: RwLock<HashMap<SmolStr, Vec<ServerSideHandler>>>,
    /// Server→client acknowledgement ids: one counter per namespace, as in Node.
    ack_ids: AtomicU64,
    parent: Option<Arc<ParentNamespace>>,
    /// Removed from its parent when its last socket leaves.
    cleanup_when_empty: bool,
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Namespace {
    pub(crate) fn new(
        name: SmolStr,
        parser: ServerParser,
        adapter: Option<&AdapterFactory>,
        parent: Option<Arc<ParentNamespace>>,
        cleanup_when_empty: bool,
    ) -> Arc<Self> {
        let nsp = Arc::new_cyclic(|weak: &Weak<Namespace>| Namespace {
            name,
            parser,
            adapter: match adapter {
                Some(factory) => factory(weak.clone()),
                None => Arc::new(LocalAdapter::new(weak.clone())),
            },
            sockets: RwLock::new(HashMap::default()),
            hooks: Hooks::default(),
            server_side: RwLock::new(HashMap::new()),
            ack_ids: AtomicU64::new(0),
            parent,
            cleanup_when_empty,
        });
        // Node calls `adapter.init()` once the namespace exists: a cluster adapter learns the
        // namespace's name there and subscribes.
        nsp.adapter.init();
        nsp
    }

    /// The namespace's name (`/`, `/chat`…).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn parser(&self) -> &ServerParser {
        &self.parser
    }

    /// The adapter.
    pub fn adapter(&self) -> &Arc<dyn Adapter> {
        &self.adapter
    }

    pub(crate) fn next_ack_id(&self) -> u64 {
        self.ack_ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds a middleware run for every connection to this namespace, in the order added;
    /// an `Err` refuses the connection with a CONNECT_ERROR carrying its message and data.
    pub fn use_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Arc<Socket>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.hooks.add_middleware(middleware);
    }

    /// Adds a connection listener: called for every new socket, before the client hears it is
    /// connected (so listeners set here never miss an event).
    pub fn on_connection<F>(&self, handler: F)
    where
        F: Fn(&Arc<Socket>) + Send + Sync + 'static,
    {
        self.hooks.add_connection(handler);
    }

    /// Whether a socket connecting here passes through middlewares (its parent's or its own).
    pub(crate) fn has_middlewares(&self) -> bool {
        self.parent
            .as_ref()
            .is_some_and(|p| p.hooks.has_middlewares())
            || self.hooks.has_middlewares()
    }

    pub(crate) fn middlewares(&self) -> Vec<Middleware> {
        let mut all = self
            .parent
            .as_ref()
            .map(|p| p.hooks.middlewares())
            .unwrap_or_default();
        all.extend(self.hooks.middlewares());
        all
    }

    pub(crate) fn connection_handlers(&self) -> Vec<ConnectionHandler> {
        let mut all = self
            .parent
            .as_ref()
            .map(|p| p.hooks.connection())
            .unwrap_or_default();
        all.extend(self.hooks.connection());
        all
    }

    /// A connected socket of this node.
    pub fn get_socket(&self, id: Sid) -> Option<Arc<Socket>> {
        self.sockets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
    }

    /// The sockets of this node in this namespace.
    pub fn sockets(&self) -> Vec<Arc<Socket>> {
        self.sockets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub(crate) fn add_socket(&self, socket: Arc<Socket>) {
        self.sockets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(socket.id(), socket);
    }

    pub(crate) fn remove_socket(&self, id: Sid) {
        let now_empty = {
            let mut sockets = self.sockets.write().unwrap_or_else(|e| e.into_inner());
            sockets.remove(&id);
            sockets.is_empty()
        };
        if now_empty
            && self.cleanup_when_empty
            && let Some(parent) = &self.parent
        {
            parent.remove_child(&self.name);
        }
    }

    fn operator(self: &Arc<Self>) -> BroadcastOperator {
        BroadcastOperator::new(Arc::clone(self))
    }

    /// Broadcasts to every socket of the namespace.
    pub fn emit<T: Serialize + ?Sized>(
        self: &Arc<Self>,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        self.operator().emit(event, args)
    }

    /// Targets rooms.
    pub fn to(self: &Arc<Self>, rooms: impl IntoRooms) -> BroadcastOperator {
        self.operator().to(rooms)
    }

    /// Leaves out rooms.
    pub fn except(self: &Arc<Self>, rooms: impl IntoRooms) -> BroadcastOperator {
        self.operator().except(rooms)
    }

    /// Volatile broadcast.
    pub fn volatile(self: &Arc<Self>) -> BroadcastOperator {
        self.operator().volatile()
    }

    /// Only this node.
    pub fn local(self: &Arc<Self>) -> BroadcastOperator {
        self.operator().local()
    }

    /// Broadcast with an acknowledgement timeout.
    pub fn timeout(self: &Arc<Self>, timeout: Duration) -> BroadcastOperator {
        self.operator().timeout(timeout)
    }

    /// Broadcast with acknowledgements (see [`BroadcastOperator::emit_with_ack`]).
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        self: &Arc<Self>,
        event: &str,
        args: &T,
    ) -> Result<BroadcastAcks, EmitError> {
        self.operator().emit_with_ack(event, args).await
    }

    /// Every socket of the namespace, on every server of the cluster.
    pub async fn fetch_sockets(self: &Arc<Self>) -> Result<Vec<RemoteSocket>, AdapterError> {
        self.operator().fetch_sockets().await
    }

    /// Makes every socket join rooms.
    pub fn sockets_join(self: &Arc<Self>, rooms: impl IntoRooms) {
        self.operator().sockets_join(rooms)
    }

    /// Makes every socket leave rooms.
    pub fn sockets_leave(self: &Arc<Self>, rooms: impl IntoRooms) {
        self.operator().sockets_leave(rooms)
    }

    /// Disconnects every socket.
    pub fn disconnect_sockets(self: &Arc<Self>, close: bool) {
        self.operator().disconnect_sockets(close)
    }

    /// Sends an event to the other servers of the cluster (`serverSideEmit`); `args` must
    /// serialize to a sequence. A single node has no other server to reach. The other
    /// servers hear it through [`on_server_side`](Self::on_server_side).
    pub fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        let args = server_side_args(event, args)?;
        self.adapter.server_side_emit(event, &args);
        Ok(())
    }

    /// Sends an event to the other servers of the cluster and collects one answer from each
    /// (`serverSideEmitWithAck`); `error` is set when some did not answer within the
    /// adapter's request timeout.
    pub async fn server_side_emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<ServerSideAcks, EmitError> {
        let args = server_side_args(event, args)?;
        Ok(self.adapter.server_side_emit_with_ack(event, &args).await)
    }

    /// Listens to an event sent by another server of the cluster with `server_side_emit`
    /// (Node's `nsp.on(event, …)`). Handlers run on the adapter's task: spawn for long work.
    pub fn on_server_side<F>(&self, event: impl Into<SmolStr>, handler: F)
    where
        F: Fn(ServerSideEvent) + Send + Sync + 'static,
    {
        self.server_side
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(event.into())
            .or_default()
            .push(Arc::new(handler));
    }

    /// Delivers a server-side event from another server to this namespace's listeners; for
    /// adapters.
    pub fn receive_server_side_emit(&self, event: &str, args: Vec<Value>) {
        self.dispatch_server_side(event, args, None);
    }

    /// Delivers a server-side event that wants an answer; the receiver resolves with the
    /// first answer a listener sends (and fails if none does). For adapters.
    pub fn receive_server_side_emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> oneshot::Receiver<Value> {
        let (tx, rx) = oneshot::channel();
        let ack = ServerSideAck {
            tx: Arc::new(Mutex::new(Some(tx))),
        };
        self.dispatch_server_side(event, args, Some(ack));
        rx
    }

    fn dispatch_server_side(&self, event: &str, args: Vec<Value>, ack: Option<ServerSideAck>) {
        let handlers = self
            .server_side
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(event)
            .cloned()
            .unwrap_or_default();
        if handlers.is_empty() {
            tracing::debug!(nsp = %self.name, event, "no listener for a server-side event");
            return;
        }
        let event = ServerSideEvent {
            packet: Packet::event(self.name.clone(), event, args),
            ack,
        };
        for handler in handlers {
            handler(event.clone());
        }
    }

    /// How many servers the cluster has.
    pub async fn server_count(&self) -> usize {
        self.adapter.server_count().await
    }
}

/// Checks a server-side event name and turns its arguments into values.
fn server_side_args<T: Serialize + ?Sized>(event: &str, args: &T) -> Result<Vec<Value>, EmitError> {
    if is_reserved_event(event) || matches!(event, "connection" | "new_namespace") {
        return Err(EmitError::ReservedEvent);
    }
    args_to_values(args).map_err(EmitError::Encode)
}

/// Removes a child namespace from the server's registry.
pub(crate) type Unregister = Box<dyn Fn(&str) + Send + Sync>;

/// How a dynamic namespace recognises its children.
pub(crate) enum Matcher {
    Regex(regex_lite::Regex),
    Predicate(Arc<dyn Fn(String, Value) -> BoxFuture<'static, bool> + Send + Sync>),
}

/// A dynamic namespace: the namespaces whose names it accepts are created on the first
/// connection, inherit its middlewares and connection listeners, and can be broadcast to
/// all at once.
pub struct ParentNamespace {
    matcher: Matcher,
    hooks: Hooks,
    children: RwLock<HashMap<SmolStr, Arc<Namespace>>>,
    pub(crate) unregister: RwLock<Option<Unregister>>,
}

impl std::fmt::Debug for ParentNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParentNamespace").finish_non_exhaustive()
    }
}

impl ParentNamespace {
    pub(crate) fn new(matcher: Matcher) -> Arc<Self> {
        Arc::new(ParentNamespace {
            matcher,
            hooks: Hooks::default(),
            children: RwLock::new(HashMap::new()),
            unregister: RwLock::new(None),
        })
    }

    pub(crate) async fn accepts(&self, name: &str, auth: &Value) -> bool {
        match &self.matcher {
            Matcher::Regex(re) => re.is_match(name),
            Matcher::Predicate(f) => f(name.to_owned(), auth.clone()).await,
        }
    }

    pub(crate) fn matches_name(&self, name: &str) -> bool {
        match &self.matcher {
            Matcher::Regex(re) => re.is_match(name),
            Matcher::Predicate(_) => false,
        }
    }

    pub(crate) fn add_child(&self, child: Arc<Namespace>) {
        self.children
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(SmolStr::from(child.name()), child);
    }

    fn remove_child(&self, name: &str) {
        self.children
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        if let Some(unregister) = self
            .unregister
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            unregister(name);
        }
    }

    /// The child namespaces created so far.
    pub fn children(&self) -> Vec<Arc<Namespace>> {
        self.children
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Adds a middleware for the connections of every child.
    pub fn use_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Arc<Socket>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.hooks.add_middleware(middleware);
    }

    /// Adds a connection listener for every child.
    pub fn on_connection<F>(&self, handler: F)
    where
        F: Fn(&Arc<Socket>) + Send + Sync + 'static,
    {
        self.hooks.add_connection(handler);
    }

    /// Broadcasts to every socket of every child.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        for child in self.children() {
            child.emit(event, args)?;
        }
        Ok(())
    }
}
