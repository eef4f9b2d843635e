//! [`SocketBuilder`]: a socket's options (`auth`, `ackTimeout`, `retries`) and its first
//! listeners, set before it connects so that nothing the server sends right after the
//! connection can be missed.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use smol_str::SmolStr;

use super::auth::Auth;
use super::error::ConnectError;
use super::event::Event;
use super::listeners::SocketListeners;
use super::manager::{Manager, lock};
use super::reason::DisconnectReason;
use super::socket::{Socket, SocketShared};
use crate::Value;

/// A socket being configured; [`build`](SocketBuilder::build) makes it (and connects it when
/// the Manager's `auto_connect` is on, the default). Made by [`Manager::socket`] or
/// [`io`](super::io).
///
/// ```no_run
/// use std::time::Duration;
/// use socketio::client::{io, ManagerOptions};
///
/// # fn run() -> Result<(), socketio::client::ClientError> {
/// let socket = io("http://127.0.0.1:3000/chat", ManagerOptions::default())?
///     .auth_fn(|| async { serde_json::json!({"token": "fresh token"}) })
///     .ack_timeout(Duration::from_secs(5))
///     .retries(3)
///     .on("chat message", |_, event| println!("{:?}", event.values()))
///     .on_connect_error(|_, err| eprintln!("refused: {err}"))
///     .build();
/// # Ok(()) }
/// ```
pub struct SocketBuilder {
    manager: Manager,
    nsp: SmolStr,
    auth: Auth,
    ack_timeout: Option<Duration>,
    retries: Option<u32>,
    listeners: SocketListeners,
}

impl std::fmt::Debug for SocketBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketBuilder")
            .field("nsp", &self.nsp)
            .field("auth", &self.auth)
            .field("ack_timeout", &self.ack_timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl SocketBuilder {
    pub(crate) fn new(manager: Manager, nsp: SmolStr) -> SocketBuilder {
        SocketBuilder {
            manager,
            nsp,
            auth: Auth::None,
            ack_timeout: None,
            retries: None,
            listeners: SocketListeners::default(),
        }
    }

    /// The credentials sent with every CONNECT packet (`auth`): an object (a map, a struct,
    /// `serde_json::json!({...})`). The server sees `{}` without it.
    pub fn auth<T: Serialize + ?Sized>(mut self, auth: &T) -> Self {
        self.auth = Auth::fixed(auth);
        self
    }

    /// A function giving the credentials, called before every CONNECT packet, so a
    /// reconnection sends fresh ones (`auth` as a function).
    pub fn auth_fn<F, Fut, T>(mut self, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = T> + Send + 'static,
        T: Serialize,
    {
        self.auth = Auth::dynamic(f);
        self
    }

    /// The default acknowledgement timeout of this socket's emits (`ackTimeout`); without
    /// it, acknowledgements are awaited for ever unless an emit sets
    /// [`timeout`](Socket::timeout).
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = Some(timeout);
        self
    }

    /// Sends every (non-volatile) emit through a queue, one at a time with an
    /// acknowledgement, and sends it again when the acknowledgement does not come, up to
    /// `retries` more times (`retries`): at-least-once delivery. Set
    /// [`ack_timeout`](SocketBuilder::ack_timeout) too, or a lost try is only sent again
    /// after a reconnection.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = Some(retries);
        self
    }

    /// Listens to an event (see [`Socket::on`]).
    pub fn on<F>(mut self, event: &str, handler: F) -> Self
    where
        F: Fn(&Socket, Event) + Send + Sync + 'static,
    {
        self.listeners
            .events
            .entry(SmolStr::new(event))
            .or_default()
            .add(Arc::new(handler), false, false);
        self
    }

    /// Listens to the next occurrence of an event (see [`Socket::once`]).
    pub fn once<F>(mut self, event: &str, handler: F) -> Self
    where
        F: Fn(&Socket, Event) + Send + Sync + 'static,
    {
        self.listeners
            .events
            .entry(SmolStr::new(event))
            .or_default()
            .add(Arc::new(handler), true, false);
        self
    }

    /// Listens to every event received (see [`Socket::on_any`]).
    pub fn on_any<F>(mut self, handler: F) -> Self
    where
        F: Fn(&Socket, &Event) + Send + Sync + 'static,
    {
        self.listeners.any.add(Arc::new(handler), false, false);
        self
    }

    /// Listens to every event sent (see [`Socket::on_any_outgoing`]).
    pub fn on_any_outgoing<F>(mut self, handler: F) -> Self
    where
        F: Fn(&Socket, &str, &[Value]) + Send + Sync + 'static,
    {
        self.listeners.outgoing.add(Arc::new(handler), false, false);
        self
    }

    /// Called each time the socket connects (see [`Socket::on_connect`]).
    pub fn on_connect<F>(mut self, handler: F) -> Self
    where
        F: Fn(&Socket) + Send + Sync + 'static,
    {
        self.listeners.connect.add(Arc::new(handler), false, false);
        self
    }

    /// Called when connecting fails (see [`Socket::on_connect_error`]).
    pub fn on_connect_error<F>(mut self, handler: F) -> Self
    where
        F: Fn(&Socket, &ConnectError) + Send + Sync + 'static,
    {
        self.listeners
            .connect_error
            .add(Arc::new(handler), false, false);
        self
    }

    /// Called when the socket disconnects (see [`Socket::on_disconnect`]).
    pub fn on_disconnect<F>(mut self, handler: F) -> Self
    where
        F: Fn(&Socket, DisconnectReason) + Send + Sync + 'static,
    {
        self.listeners
            .disconnect
            .add(Arc::new(handler), false, false);
        self
    }

    /// Makes the socket, and connects it if the Manager's `auto_connect` is on. If the Manager
    /// already has a socket for this namespace, that one is returned with these listeners
    /// added (its options stay), and reconnected if it was not active, as
    /// socket.io-client's `manager.socket(nsp)` does.
    pub fn build(self) -> Socket {
        let SocketBuilder {
            manager,
            nsp,
            auth,
            ack_timeout,
            retries,
            listeners,
        } = self;
        let shared = {
            let mut sockets = lock(&manager.shared().sockets);
            match sockets.get(&nsp) {
                Some(existing) => {
                    existing.add_listeners(listeners);
                    Arc::clone(existing)
                }
                None => {
                    let shared = Arc::new(SocketShared::new(
                        nsp.clone(),
                        &manager,
                        auth,
                        ack_timeout,
                        retries,
                        listeners,
                    ));
                    sockets.insert(nsp, Arc::clone(&shared));
                    shared
                }
            }
        };
        let socket = Socket::from_parts(shared, manager);
        if socket.manager().options().auto_connect && !socket.active() {
            socket.connect();
        }
        socket
    }
}
