//! [`Manager`]: one connection to a server (an Engine.IO session, renewed on reconnection)
//! shared by the sockets of any number of namespaces; and the [`Link`] through which those
//! sockets write to whatever session is open.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};

use engineio::TransportKind;
use engineio::client::{Client as EngineClient, Message, Str};
use smol_str::SmolStr;
use tokio::sync::mpsc;

use super::builder::SocketBuilder;
use super::driver::{Command, Driver};
use super::error::{ClientError, ConnectError};
use super::listeners::{ListenerId, ManagerListeners};
use super::options::ManagerOptions;
use super::parser::ClientParser;
use super::reason::DisconnectReason;
use super::socket::{Socket, SocketShared};
use super::url::{ServerUrl, namespace};
use crate::parser::Encoded;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The open Engine.IO session, numbered so that a write meant for an older session (a CONNECT
/// whose `auth` took a while) is not sent on a newer one.
struct Conn {
    client: EngineClient,
    generation: u64,
}

/// What every socket of a Manager writes through: the parser and the session open now. The
/// lock is held only while a packet's messages are queued (never across `.await`), which also
/// keeps a binary packet's attachments together when sockets of several namespaces write at once.
pub(crate) struct Link {
    pub(crate) parser: ClientParser,
    pub(crate) runtime: tokio::runtime::Handle,
    conn: Mutex<Option<Conn>>,
}

impl Link {
    /// Queues a packet on the open session; false if there is none or it is closing.
    pub(crate) fn send(&self, encoded: &Encoded) -> bool {
        match &*lock(&self.conn) {
            Some(conn) => write(&conn.client, encoded),
            None => false,
        }
    }

    /// Queues a packet on session `generation` only.
    pub(crate) fn send_on(&self, generation: u64, encoded: &Encoded) -> bool {
        match &*lock(&self.conn) {
            Some(conn) if conn.generation == generation => write(&conn.client, encoded),
            _ => false,
        }
    }

    /// Installs a new session (or none); returns the one it replaces.
    pub(crate) fn replace(&self, next: Option<(EngineClient, u64)>) -> Option<EngineClient> {
        let next = next.map(|(client, generation)| Conn { client, generation });
        std::mem::replace(&mut *lock(&self.conn), next).map(|c| c.client)
    }

    pub(crate) fn engine(&self) -> Option<EngineClient> {
        lock(&self.conn).as_ref().map(|c| c.client.clone())
    }
}

/// Writes the messages of one packet: the text (the encoded text after its `4`, shared, and
/// UTF-8 by its type: not checked again), then the attachments.
fn write(client: &EngineClient, encoded: &Encoded) -> bool {
    if let Some(text) = encoded.text_utf8() {
        let Some(text) = Str::from_parts(text.clone(), 1) else {
            return false;
        };
        if client.send(Message::Text(text)).is_err() {
            return false;
        }
    }
    encoded
        .binaries()
        .iter()
        .all(|b| client.send(Message::Binary(b.clone())).is_ok())
}

/// What the Manager's handles and its task share.
pub(crate) struct ManagerShared {
    pub(crate) url: ServerUrl,
    pub(crate) options: ManagerOptions,
    pub(crate) link: Arc<Link>,
    /// Every socket ever made by this Manager, by namespace (socket.io-client's `nsps`).
    pub(crate) sockets: Mutex<HashMap<SmolStr, Arc<SocketShared>>>,
    pub(crate) listeners: RwLock<ManagerListeners>,
}

impl ManagerShared {
    pub(crate) fn sockets(&self) -> Vec<Arc<SocketShared>> {
        lock(&self.sockets).values().cloned().collect()
    }
}

/// The strong half of a Manager: while one exists, the task runs.
pub(crate) struct ManagerHandle {
    pub(crate) shared: Arc<ManagerShared>,
    pub(crate) commands: mpsc::UnboundedSender<Command>,
}

/// A connection to a Socket.IO server, shared by sockets of several namespaces (the
/// `Manager` of socket.io-client): it opens the Engine.IO session, reconnects with backoff
/// when it is lost, and routes packets to the sockets.
///
/// Cheap to clone. The connection ends when [`close`](Manager::close) is called, when every
/// socket is disconnected, or when the last handle (this type and every [`Socket`]) is dropped.
///
/// ```no_run
/// use socketio::client::{Manager, ManagerOptions};
///
/// # async fn run() -> Result<(), socketio::client::ClientError> {
/// let manager = Manager::new("http://127.0.0.1:3000", ManagerOptions::default())?;
/// manager.on_reconnect(|_, attempt| println!("back after {attempt} attempts"));
/// // Two namespaces, one connection.
/// let main = manager.socket("/").build();
/// let admin = manager.socket("/admin").auth(&serde_json::json!({"token": "abc"})).build();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Manager {
    pub(crate) handle: Arc<ManagerHandle>,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("url", &self.handle.shared.url.url)
            .finish_non_exhaustive()
    }
}

impl Manager {
    /// A Manager for the server at `url` (`http://host[:port]`; a path is ignored here, the
    /// query is sent with every request). Nothing is opened yet: the connection opens when a
    /// socket connects (at once with `auto_connect`, the default) or on [`open`](Manager::open).
    ///
    /// Must be called within a tokio runtime, which runs the Manager's task.
    pub fn new(url: &str, options: ManagerOptions) -> Result<Manager, ClientError> {
        let url = ServerUrl::parse(url)?;
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| ClientError::no_runtime())?;
        let link = Arc::new(Link {
            parser: options.parser.clone(),
            runtime: runtime.clone(),
            conn: Mutex::new(None),
        });
        let shared = Arc::new(ManagerShared {
            url,
            options,
            link,
            sockets: Mutex::new(HashMap::new()),
            listeners: RwLock::new(ManagerListeners::default()),
        });
        let (commands, rx) = mpsc::unbounded_channel();
        let handle = Arc::new(ManagerHandle {
            shared: Arc::clone(&shared),
            commands,
        });
        let driver = Driver::new(Arc::downgrade(&handle), shared, rx);
        runtime.spawn(driver.run());
        Ok(Manager { handle })
    }

    pub(crate) fn from_handle(handle: Arc<ManagerHandle>) -> Manager {
        Manager { handle }
    }

    pub(crate) fn upgrade(handle: &Weak<ManagerHandle>) -> Option<Manager> {
        handle.upgrade().map(Manager::from_handle)
    }

    pub(crate) fn shared(&self) -> &Arc<ManagerShared> {
        &self.handle.shared
    }

    pub(crate) fn command(&self, command: Command) {
        // The task only ends once every handle is gone, so this cannot fail while `self` lives.
        let _ = self.handle.commands.send(command);
    }

    /// A socket for namespace `nsp` (`/` is the main one), to configure and
    /// [`build`](SocketBuilder::build). If this Manager already has a socket for `nsp`, `build`
    /// returns that one, as socket.io-client does.
    pub fn socket(&self, nsp: &str) -> SocketBuilder {
        SocketBuilder::new(self.clone(), namespace(nsp))
    }

    /// The socket of namespace `nsp`, if this Manager made one.
    pub fn get_socket(&self, nsp: &str) -> Option<Socket> {
        let shared = lock(&self.shared().sockets).get(&namespace(nsp)).cloned()?;
        Some(Socket::from_parts(shared, self.clone()))
    }

    /// Opens the connection if it is not open or opening (socket.io-client's `open()`); a
    /// failure is reported to `error` listeners and, with reconnection on, retried.
    pub fn open(&self) {
        self.command(Command::Open);
    }

    /// Disconnects every socket (`io client disconnect`) and closes the connection; no
    /// reconnection follows. Sockets can connect again with [`Socket::connect`].
    pub fn close(&self) {
        for socket in self.shared().sockets() {
            Socket::from_parts(socket, self.clone()).disconnect();
        }
        self.command(Command::Close);
    }

    /// The Engine.IO session open now, if any: its id, its transport, its handshake.
    pub fn engine(&self) -> Option<EngineClient> {
        self.shared().link.engine()
    }

    /// The URL given to [`Manager::new`].
    pub fn url(&self) -> &str {
        &self.shared().url.url
    }

    pub(crate) fn options(&self) -> &ManagerOptions {
        &self.shared().options
    }

    fn listeners(&self) -> std::sync::RwLockWriteGuard<'_, ManagerListeners> {
        self.shared()
            .listeners
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Called when the connection opens (`open`), the first time and after each reconnection.
    pub fn on_open<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Manager) + Send + Sync + 'static,
    {
        self.listeners().open.add(Arc::new(handler), false, false)
    }

    /// Called when the connection closes (`close`), with the reason.
    pub fn on_close<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Manager, DisconnectReason) + Send + Sync + 'static,
    {
        self.listeners().close.add(Arc::new(handler), false, false)
    }

    /// Called when opening the connection fails (`error`), the first time and on each
    /// reconnection attempt.
    pub fn on_error<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Manager, &ConnectError) + Send + Sync + 'static,
    {
        self.listeners().error.add(Arc::new(handler), false, false)
    }

    /// Called before each reconnection attempt, with its number (1 for the first)
    /// (`reconnect_attempt`).
    pub fn on_reconnect_attempt<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Manager, u32) + Send + Sync + 'static,
    {
        self.listeners()
            .reconnect_attempt
            .add(Arc::new(handler), false, false)
    }

    /// Called when a reconnection succeeded, with the number of attempts it took
    /// (`reconnect`).
    pub fn on_reconnect<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Manager, u32) + Send + Sync + 'static,
    {
        self.listeners()
            .reconnect
            .add(Arc::new(handler), false, false)
    }

    /// Called when a reconnection attempt failed (`reconnect_error`).
    pub fn on_reconnect_error<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Manager, &ConnectError) + Send + Sync + 'static,
    {
        self.listeners()
            .reconnect_error
            .add(Arc::new(handler), false, false)
    }

    /// Called when `reconnection_attempts` attempts failed and the Manager gives up
    /// (`reconnect_failed`).
    pub fn on_reconnect_failed<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Manager) + Send + Sync + 'static,
    {
        self.listeners()
            .reconnect_failed
            .add(Arc::new(handler), false, false)
    }

    /// Called when the connection moved to another transport (the engine's `upgrade` event:
    /// from polling to WebSocket).
    pub fn on_upgrade<F>(&self, handler: F) -> ListenerId
    where
        F: Fn(&Manager, TransportKind) + Send + Sync + 'static,
    {
        self.listeners()
            .upgrade
            .add(Arc::new(handler), false, false)
    }

    /// Removes a Manager listener.
    pub fn off(&self, id: ListenerId) -> bool {
        self.listeners().remove(id)
    }
}
