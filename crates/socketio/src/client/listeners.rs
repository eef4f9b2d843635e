//! Listener lists: who is called for what, on a socket and on a Manager, and the guard that
//! keeps a panicking listener from taking the connection down with it.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use engineio::TransportKind;
use smol_str::SmolStr;

use super::error::ConnectError;
use super::event::Event;
use super::manager::Manager;
use super::reason::DisconnectReason;
use super::socket::Socket;
use crate::Value;

/// Identifies a listener, to remove it with [`Socket::off`] or [`Manager::off`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

impl ListenerId {
    /// A fresh id; ids are unique in the process, so one `off` finds a listener in any list.
    fn next() -> ListenerId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ListenerId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// One list of listeners of the same kind, in calling order.
pub(crate) struct List<H> {
    items: Vec<(ListenerId, bool, H)>,
}

impl<H> Default for List<H> {
    fn default() -> Self {
        List { items: Vec::new() }
    }
}

impl<H: Clone> List<H> {
    /// Adds a listener (at the front with `front`); `once` listeners are removed when called.
    pub(crate) fn add(&mut self, handler: H, once: bool, front: bool) -> ListenerId {
        let id = ListenerId::next();
        if front {
            self.items.insert(0, (id, once, handler));
        } else {
            self.items.push((id, once, handler));
        }
        id
    }

    pub(crate) fn remove(&mut self, id: ListenerId) -> bool {
        let before = self.items.len();
        self.items.retain(|(i, _, _)| *i != id);
        self.items.len() != before
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The handlers to call now, in order; `once` listeners are removed. The caller calls them
    /// after releasing the lock, so a listener may add or remove listeners.
    pub(crate) fn take_calls(&mut self) -> Vec<H> {
        let calls = self.items.iter().map(|(_, _, h)| h.clone()).collect();
        self.items.retain(|(_, once, _)| !once);
        calls
    }

    /// The handlers to call now, for a list without `once` listeners (read lock only).
    pub(crate) fn calls(&self) -> Vec<H> {
        self.items.iter().map(|(_, _, h)| h.clone()).collect()
    }
}

pub(crate) type EventHandler = Arc<dyn Fn(&Socket, Event) + Send + Sync>;
pub(crate) type AnyHandler = Arc<dyn Fn(&Socket, &Event) + Send + Sync>;
pub(crate) type OutgoingHandler = Arc<dyn Fn(&Socket, &str, &[Value]) + Send + Sync>;
pub(crate) type ConnectHandler = Arc<dyn Fn(&Socket) + Send + Sync>;
pub(crate) type ConnectErrorHandler = Arc<dyn Fn(&Socket, &ConnectError) + Send + Sync>;
pub(crate) type DisconnectHandler = Arc<dyn Fn(&Socket, DisconnectReason) + Send + Sync>;

/// The listeners of one socket.
#[derive(Default)]
pub(crate) struct SocketListeners {
    pub(crate) events: HashMap<SmolStr, List<EventHandler>>,
    pub(crate) any: List<AnyHandler>,
    pub(crate) outgoing: List<OutgoingHandler>,
    pub(crate) connect: List<ConnectHandler>,
    pub(crate) connect_error: List<ConnectErrorHandler>,
    pub(crate) disconnect: List<DisconnectHandler>,
}

impl SocketListeners {
    /// Removes the listener with this id, wherever it is.
    pub(crate) fn remove(&mut self, id: ListenerId) -> bool {
        let mut found = false;
        self.events.retain(|_, list| {
            found |= list.remove(id);
            !list.is_empty()
        });
        found
            || self.any.remove(id)
            || self.outgoing.remove(id)
            || self.connect.remove(id)
            || self.connect_error.remove(id)
            || self.disconnect.remove(id)
    }

    /// Moves every listener of `other` behind those already here.
    pub(crate) fn absorb(&mut self, other: SocketListeners) {
        for (event, list) in other.events {
            self.events
                .entry(event)
                .or_default()
                .items
                .extend(list.items);
        }
        self.any.items.extend(other.any.items);
        self.outgoing.items.extend(other.outgoing.items);
        self.connect.items.extend(other.connect.items);
        self.connect_error.items.extend(other.connect_error.items);
        self.disconnect.items.extend(other.disconnect.items);
    }
}

pub(crate) type ManagerHandler = Arc<dyn Fn(&Manager) + Send + Sync>;
pub(crate) type ManagerCloseHandler = Arc<dyn Fn(&Manager, DisconnectReason) + Send + Sync>;
pub(crate) type ManagerErrorHandler = Arc<dyn Fn(&Manager, &ConnectError) + Send + Sync>;
pub(crate) type ManagerAttemptHandler = Arc<dyn Fn(&Manager, u32) + Send + Sync>;
pub(crate) type ManagerUpgradeHandler = Arc<dyn Fn(&Manager, TransportKind) + Send + Sync>;

/// The listeners of a Manager (socket.io-client's reserved Manager events).
#[derive(Default)]
pub(crate) struct ManagerListeners {
    pub(crate) open: List<ManagerHandler>,
    pub(crate) close: List<ManagerCloseHandler>,
    pub(crate) error: List<ManagerErrorHandler>,
    pub(crate) reconnect_attempt: List<ManagerAttemptHandler>,
    pub(crate) reconnect: List<ManagerAttemptHandler>,
    pub(crate) reconnect_error: List<ManagerErrorHandler>,
    pub(crate) reconnect_failed: List<ManagerHandler>,
    pub(crate) upgrade: List<ManagerUpgradeHandler>,
}

impl ManagerListeners {
    pub(crate) fn remove(&mut self, id: ListenerId) -> bool {
        self.open.remove(id)
            || self.close.remove(id)
            || self.error.remove(id)
            || self.reconnect_attempt.remove(id)
            || self.reconnect.remove(id)
            || self.reconnect_error.remove(id)
            || self.reconnect_failed.remove(id)
            || self.upgrade.remove(id)
    }
}

/// Calls a listener; a panic is logged and contained, so one faulty listener neither kills the
/// Manager's task nor skips the other listeners (the official client isolates listeners from
/// its own state the same way, with `nextTick`).
pub(crate) fn call(what: &str, f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        tracing::error!(listener = what, "socket.io client: a listener panicked");
    }
}
