//! The server handle (`io`): options, namespaces, and the entry points into the Engine.IO
//! server (tower layer, service, standalone listen).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use engineio::{
    Config, ConfigBuilder, CookieOptions, Cors, EngineIo, NotFound, RequestInfo, TransportKind,
};
use hyper::body as hyper_body;
use serde::Serialize;
use smol_str::SmolStr;
use tokio::net::{TcpListener, ToSocketAddrs};
use tower_layer::Layer;

use super::ack::BroadcastAcks;
use super::adapter::{AdapterError, AdapterFactory, RemoteSocket, ServerSideAcks};
use super::broadcast::BroadcastOperator;
use super::client::{self, ClientState, ConnectTimers, EngineHandler};
use super::client_files::{ClientFiles, SocketIoLayer, SocketIoService};
use super::namespace::{ConnectError, Matcher, Namespace, ParentNamespace, ServerSideEvent};
use super::parser::ServerParser;
use super::socket::{DisconnectReason, EmitError, IntoRooms, Socket};
use crate::Value;

pub(crate) struct ServerInner {
    pub(crate) parser: ServerParser,
    /// Closes connections that join no namespace within `connect_timeout`: one task for
    /// every connection of the server.
    pub(crate) connect_timers: ConnectTimers,
    cleanup_empty_child_namespaces: bool,
    adapter: Option<AdapterFactory>,
    namespaces: RwLock<HashMap<SmolStr, Arc<Namespace>>>,
    parents: RwLock<Vec<Arc<ParentNamespace>>>,
}

impl ServerInner {
    pub(crate) fn namespace(&self, name: &str) -> Option<Arc<Namespace>> {
        self.namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// The namespace a CONNECT names: a known one, or a new child of the first dynamic
    /// namespace that accepts the name.
    pub(crate) async fn resolve_namespace(
        self: &Arc<Self>,
        name: &str,
        auth: &Value,
    ) -> Option<Arc<Namespace>> {
        if let Some(nsp) = self.namespace(name) {
            return Some(nsp);
        }
        let parents = self
            .parents
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for parent in parents {
            if parent.accepts(name, auth).await {
                // Another connection may have created it meanwhile.
                if let Some(nsp) = self.namespace(name) {
                    return Some(nsp);
                }
                return Some(self.create_child(&parent, name));
            }
        }
        None
    }

    fn create_child(self: &Arc<Self>, parent: &Arc<ParentNamespace>, name: &str) -> Arc<Namespace> {
        let mut namespaces = self.namespaces.write().unwrap_or_else(|e| e.into_inner());
        if let Some(nsp) = namespaces.get(name) {
            return Arc::clone(nsp);
        }
        let child = Namespace::new(
            SmolStr::from(name),
            self.parser.clone(),
            self.adapter.as_ref(),
            Some(Arc::clone(parent)),
            self.cleanup_empty_child_namespaces,
        );
        namespaces.insert(SmolStr::from(name), Arc::clone(&child));
        parent.add_child(Arc::clone(&child));
        tracing::debug!(nsp = name, "dynamic namespace created");
        child
    }
}

/// A Socket.IO server.
///
/// ```no_run
/// use socketio::server::SocketIo;
///
/// # async fn run() -> std::io::Result<()> {
/// let io = SocketIo::new();
/// io.on_connection(|socket| {
///     socket.on("chat message", |socket, event| {
///         if let Ok((text,)) = event.args::<(String,)>() {
///             let _ = socket.namespace().emit("chat message", &(text,));
///         }
///     });
/// });
/// io.listen("127.0.0.1:3000").await
/// # }
/// ```
#[derive(Clone)]
pub struct SocketIo {
    inner: Arc<ServerInner>,
    engine: EngineIo<ClientState>,
    files: Option<Arc<ClientFiles>>,
}

impl std::fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIo")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl Default for SocketIo {
    fn default() -> Self {
        Self::new()
    }
}

impl SocketIo {
    /// A server with Node's defaults.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder for the options.
    pub fn builder() -> SocketIoBuilder {
        SocketIoBuilder {
            engine: Config::builder().path("/socket.io"),
            parser: ServerParser::default(),
            connect_timeout: Duration::from_secs(45),
            cleanup_empty_child_namespaces: false,
            client_dist: None,
            adapter: None,
        }
    }

    /// The Engine.IO server underneath.
    pub fn engine(&self) -> &EngineIo<ClientState> {
        &self.engine
    }

    /// The namespace of this name, created if needed (a name a dynamic namespace matches by
    /// regex becomes its child, as in Node).
    pub fn of(&self, name: &str) -> Arc<Namespace> {
        let name = if name.starts_with('/') {
            SmolStr::from(name)
        } else {
            SmolStr::from(format!("/{name}"))
        };
        if let Some(nsp) = self.inner.namespace(&name) {
            return nsp;
        }
        let parent = self
            .inner
            .parents
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|p| p.matches_name(&name))
            .cloned();
        if let Some(parent) = parent {
            return self.inner.create_child(&parent, &name);
        }
        let mut namespaces = self
            .inner
            .namespaces
            .write()
            .unwrap_or_else(|e| e.into_inner());
        Arc::clone(namespaces.entry(name.clone()).or_insert_with(|| {
            Namespace::new(
                name,
                self.inner.parser.clone(),
                self.inner.adapter.as_ref(),
                None,
                false,
            )
        }))
    }

    /// A dynamic namespace accepting every name the regular expression matches.
    pub fn of_regex(&self, pattern: &str) -> Result<Arc<ParentNamespace>, regex_lite::Error> {
        let re = regex_lite::Regex::new(pattern)?;
        Ok(self.add_parent(Matcher::Regex(re)))
    }

    /// A dynamic namespace accepting every name for which `accept(name, auth)` resolves to
    /// true.
    pub fn of_predicate<F, Fut>(&self, accept: F) -> Arc<ParentNamespace>
    where
        F: Fn(String, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.add_parent(Matcher::Predicate(Arc::new(move |name, auth| {
            Box::pin(accept(name, auth))
        })))
    }

    fn add_parent(&self, matcher: Matcher) -> Arc<ParentNamespace> {
        let parent = ParentNamespace::new(matcher);
        let weak = Arc::downgrade(&self.inner);
        *parent.unregister.write().unwrap_or_else(|e| e.into_inner()) =
            Some(Box::new(move |name: &str| {
                if let Some(inner) = weak.upgrade() {
                    inner
                        .namespaces
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(name);
                }
            }));
        self.inner
            .parents
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::clone(&parent));
        parent
    }

    /// The main namespace `/`.
    pub fn sockets(&self) -> Arc<Namespace> {
        self.of("/")
    }

    /// A connection listener on the main namespace.
    pub fn on_connection<F>(&self, handler: F)
    where
        F: Fn(&Arc<Socket>) + Send + Sync + 'static,
    {
        self.sockets().on_connection(handler);
    }

    /// A middleware on the main namespace.
    pub fn use_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Arc<Socket>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.sockets().use_middleware(middleware);
    }

    /// Broadcasts to every socket of the main namespace.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        self.sockets().emit(event, args)
    }

    /// Broadcast to rooms of the main namespace.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.sockets().to(rooms)
    }

    /// Broadcast to the main namespace except rooms.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.sockets().except(rooms)
    }

    /// Volatile broadcast on the main namespace.
    pub fn volatile(&self) -> BroadcastOperator {
        self.sockets().volatile()
    }

    /// Broadcast with an acknowledgement timeout on the main namespace.
    pub fn timeout(&self, timeout: Duration) -> BroadcastOperator {
        self.sockets().timeout(timeout)
    }

    /// Broadcast with acknowledgements on the main namespace.
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<BroadcastAcks, EmitError> {
        self.sockets().emit_with_ack(event, args).await
    }

    /// Every socket of the main namespace, on every server of the cluster.
    pub async fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, AdapterError> {
        self.sockets().fetch_sockets().await
    }

    /// Makes every socket of the main namespace join rooms.
    pub fn sockets_join(&self, rooms: impl IntoRooms) {
        self.sockets().sockets_join(rooms)
    }

    /// Makes every socket of the main namespace leave rooms.
    pub fn sockets_leave(&self, rooms: impl IntoRooms) {
        self.sockets().sockets_leave(rooms)
    }

    /// Disconnects every socket of the main namespace.
    pub fn disconnect_sockets(&self, close: bool) {
        self.sockets().disconnect_sockets(close)
    }

    /// Sends an event to the other servers of the cluster (main namespace).
    pub fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        self.sockets().server_side_emit(event, args)
    }

    /// Sends an event to the other servers of the cluster and collects their answers (main
    /// namespace).
    pub async fn server_side_emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<ServerSideAcks, EmitError> {
        self.sockets().server_side_emit_with_ack(event, args).await
    }

    /// Listens to an event sent by another server of the cluster (main namespace).
    pub fn on_server_side<F>(&self, event: impl Into<SmolStr>, handler: F)
    where
        F: Fn(ServerSideEvent) + Send + Sync + 'static,
    {
        self.sockets().on_server_side(event, handler);
    }

    /// How many servers the cluster has.
    pub async fn server_count(&self) -> usize {
        self.sockets().server_count().await
    }

    /// The server as a tower layer in front of another service (axum, hyper…).
    pub fn layer(&self) -> SocketIoLayer {
        SocketIoLayer {
            files: self.files.clone(),
            engine: self.engine.layer(),
        }
    }

    /// The server as a tower service answering 404 outside its path.
    pub fn service(&self) -> SocketIoService {
        self.layer().layer(NotFound)
    }

    /// Binds `addr` and serves until [`close`](Self::close).
    pub async fn listen(&self, addr: impl ToSocketAddrs) -> std::io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        self.serve(listener).await
    }

    /// Serves connections of `listener` until [`close`](Self::close).
    pub async fn serve(&self, listener: TcpListener) -> std::io::Result<()> {
        self.engine.serve_with(listener, self.service()).await
    }

    /// Serves connections of `listener` with `service`, which should contain this server (for
    /// example `io.layer().layer(app)`), until [`close`](Self::close).
    pub async fn serve_with<S, B>(&self, listener: TcpListener, service: S) -> std::io::Result<()>
    where
        S: tower_service::Service<
                http::Request<hyper_body::Incoming>,
                Response = http::Response<B>,
            > + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.engine.serve_with(listener, service).await
    }

    /// Disconnects every socket with `server shutting down`, closes every connection and
    /// stops accepting new ones.
    pub fn close(&self) {
        let namespaces: Vec<_> = self
            .inner
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for nsp in namespaces {
            for socket in nsp.sockets() {
                socket.close(DisconnectReason::ServerShuttingDown);
            }
            nsp.adapter().close();
        }
        self.engine.close();
        self.inner.connect_timers.stop();
    }
}

/// Options of a [`SocketIo`] server, with Node's defaults.
#[must_use]
pub struct SocketIoBuilder {
    engine: ConfigBuilder,
    parser: ServerParser,
    connect_timeout: Duration,
    cleanup_empty_child_namespaces: bool,
    client_dist: Option<std::path::PathBuf>,
    adapter: Option<AdapterFactory>,
}

impl std::fmt::Debug for SocketIoBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIoBuilder").finish_non_exhaustive()
    }
}

impl SocketIoBuilder {
    /// The path (default `/socket.io`).
    pub fn path(mut self, path: &str) -> Self {
        self.engine = self.engine.path(path);
        self
    }

    /// How often the server pings (default 25 s).
    pub fn ping_interval(mut self, d: Duration) -> Self {
        self.engine = self.engine.ping_interval(d);
        self
    }

    /// How long the server waits for a pong (default 20 s).
    pub fn ping_timeout(mut self, d: Duration) -> Self {
        self.engine = self.engine.ping_timeout(d);
        self
    }

    /// How long an upgrade may take (default 10 s).
    pub fn upgrade_timeout(mut self, d: Duration) -> Self {
        self.engine = self.engine.upgrade_timeout(d);
        self
    }

    /// Largest POST body or WebSocket message (default 1 MB).
    pub fn max_http_buffer_size(mut self, size: usize) -> Self {
        self.engine = self.engine.max_http_buffer_size(size);
        self
    }

    /// The queued bytes per connection past which emits report
    /// [`Pressure::OverHighWater`](engineio::Pressure::OverHighWater) (default 1 MiB).
    pub fn high_water_mark(mut self, bytes: usize) -> Self {
        self.engine = self.engine.high_water_mark(bytes);
        self
    }

    /// The most bytes queued for one connection (default 16 MiB); past it the
    /// [`overflow_policy`](Self::overflow_policy) applies. Each socket may change its own
    /// ([`Socket::set_max_buffered_bytes`]).
    pub fn max_buffered_bytes(mut self, bytes: usize) -> Self {
        self.engine = self.engine.max_buffered_bytes(bytes);
        self
    }

    /// What happens when a connection's queue would go past `max_buffered_bytes` (default
    /// [`OverflowPolicy::Disconnect`](engineio::OverflowPolicy::Disconnect): the connection
    /// is closed and its sockets hear [`DisconnectReason::QueueFull`]; with
    /// [`OverflowPolicy::Wait`](engineio::OverflowPolicy::Wait) a direct emit fails with
    /// [`EmitError::Full`] and sends nothing, and a broadcast closes the connection). Each
    /// socket may change its own ([`Socket::set_overflow_policy`]).
    pub fn overflow_policy(mut self, policy: engineio::OverflowPolicy) -> Self {
        self.engine = self.engine.overflow_policy(policy);
        self
    }

    /// Accepted transports (default both).
    pub fn transports(mut self, transports: &[TransportKind]) -> Self {
        self.engine = self.engine.transports(transports);
        self
    }

    /// Whether polling connections may upgrade (default true).
    pub fn allow_upgrades(mut self, allow: bool) -> Self {
        self.engine = self.engine.allow_upgrades(allow);
        self
    }

    /// CORS (default off).
    pub fn cors(mut self, cors: Cors) -> Self {
        self.engine = self.engine.cors(cors);
        self
    }

    /// The session cookie (default off).
    pub fn cookie(mut self, cookie: CookieOptions) -> Self {
        self.engine = self.engine.cookie(cookie);
        self
    }

    /// An asynchronous check of every new connection's HTTP request.
    pub fn allow_request<F, Fut>(mut self, check: F) -> Self
    where
        F: Fn(Arc<RequestInfo>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.engine = self.engine.allow_request(check);
        self
    }

    /// The parser (default JSON with at most 10 attachments per packet).
    pub fn parser(mut self, parser: impl Into<ServerParser>) -> Self {
        self.parser = parser.into();
        self
    }

    /// How long a connection may stay without joining a namespace (default 45 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Removes a dynamic namespace's child when its last socket leaves (default false).
    pub fn cleanup_empty_child_namespaces(mut self, cleanup: bool) -> Self {
        self.cleanup_empty_child_namespaces = cleanup;
        self
    }

    /// The adapter of every namespace (default: the in-memory [`LocalAdapter`]); `factory`
    /// gets the namespace it serves.
    ///
    /// [`LocalAdapter`]: super::LocalAdapter
    pub fn adapter<F>(mut self, factory: F) -> Self
    where
        F: Fn(std::sync::Weak<Namespace>) -> Arc<dyn super::Adapter> + Send + Sync + 'static,
    {
        self.adapter = Some(Arc::new(factory));
        self
    }

    /// Serves the official browser client at `<path>/socket.io.min.js` (and `socket.io.js`,
    /// the ESM and msgpack bundles, and their source maps) from a `socket.io-client` `dist`
    /// folder, e.g. `node_modules/socket.io-client/dist`.
    pub fn serve_client(mut self, dist: impl Into<std::path::PathBuf>) -> Self {
        self.client_dist = Some(dist.into());
        self
    }

    /// The server; fails only when the client files of
    /// [`serve_client`](Self::serve_client) cannot be read.
    pub fn try_build(self) -> std::io::Result<SocketIo> {
        let config = self.engine.build();
        let files = match &self.client_dist {
            Some(dist) => Some(Arc::new(ClientFiles::load(dist, config.path())?)),
            None => None,
        };
        let inner = Arc::new(ServerInner {
            parser: self.parser,
            connect_timers: client::connect_timers(self.connect_timeout),
            cleanup_empty_child_namespaces: self.cleanup_empty_child_namespaces,
            adapter: self.adapter,
            namespaces: RwLock::new(HashMap::new()),
            parents: RwLock::new(Vec::new()),
        });
        let engine = EngineIo::new(
            config,
            EngineHandler {
                server: Arc::clone(&inner),
            },
        );
        let io = SocketIo {
            inner,
            engine,
            files,
        };
        // The main namespace always exists.
        io.of("/");
        Ok(io)
    }

    /// The server.
    ///
    /// # Panics
    /// When [`serve_client`](Self::serve_client) names a folder without the client files;
    /// use [`try_build`](Self::try_build) to handle that as an error.
    #[allow(clippy::expect_used)]
    pub fn build(self) -> SocketIo {
        self.try_build()
            .expect("the socket.io client files could not be read")
    }
}
