//! The server's shared core: options, the upper layer's handler and the session registry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::config::Config;
use crate::heartbeat::Heartbeat;
use crate::message::Message;
use crate::sid::{BuildSidHasher, Sid};
use crate::socket::{CloseReason, Socket};

/// What the layer above Engine.IO (Socket.IO, or an application) does with sessions.
///
/// The callbacks run on the task that received the packet, in arrival order for each session,
/// and must not block: hand long work to a task of your own.
pub trait Handler: Send + Sync + 'static {
    /// Per-session data, created with `Default` when a session opens and reachable through
    /// [`Socket::data`].
    type Data: Default + Send + Sync + 'static;

    /// A session opened (its open packet is queued).
    fn on_open(&self, socket: &Arc<Socket<Self::Data>>) {
        let _ = socket;
    }

    /// A message arrived.
    fn on_message(&self, socket: &Arc<Socket<Self::Data>>, message: Message);

    /// The session closed.
    fn on_close(&self, socket: &Arc<Socket<Self::Data>>, reason: CloseReason) {
        let _ = (socket, reason);
    }

    /// The session's queue had gone over the high-water mark and has now been handed to the
    /// transport.
    fn on_drain(&self, socket: &Arc<Socket<Self::Data>>) {
        let _ = socket;
    }
}

pub(crate) struct Engine<D> {
    pub(crate) config: Config,
    /// The path prefix requests must start with.
    pub(crate) prefix: String,
    pub(crate) handler: Box<dyn Handler<Data = D>>,
    sessions: RwLock<HashMap<Sid, Arc<Socket<D>>, BuildSidHasher>>,
    closed: AtomicBool,
    /// Wakes the standalone server's accept loop when the server closes.
    pub(crate) shutdown: tokio::sync::Notify,
    /// Pings and pong deadlines of every session.
    pub(crate) heartbeat: Heartbeat<D>,
}

impl<D: Default + Send + Sync + 'static> Engine<D> {
    pub(crate) fn new(config: Config, handler: Box<dyn Handler<Data = D>>) -> Self {
        Engine {
            prefix: config.match_prefix(),
            heartbeat: Heartbeat::new(&config),
            config,
            handler,
            sessions: RwLock::new(HashMap::default()),
            closed: AtomicBool::new(false),
            shutdown: tokio::sync::Notify::new(),
        }
    }

    pub(crate) fn get(&self, id: Sid) -> Option<Arc<Socket<D>>> {
        self.sessions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
    }

    pub(crate) fn insert(&self, socket: Arc<Socket<D>>) {
        self.sessions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(socket.id(), socket);
    }

    pub(crate) fn remove(&self, id: Sid) {
        self.sessions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    pub(crate) fn count(&self) -> usize {
        self.sessions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Stops accepting handshakes and closes every session.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.shutdown.notify_waiters();
        self.heartbeat.stop();
        let sessions: Vec<_> = self
            .sessions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for socket in sessions {
            socket.finish(CloseReason::ForcedServerClose);
        }
    }
}
