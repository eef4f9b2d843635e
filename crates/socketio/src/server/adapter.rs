//! The adapter: who is in which room, and how a broadcast reaches its sockets. The trait is
//! cluster-shaped (asynchronous requests to every node) so that Redis adapters can implement
//! it; [`LocalAdapter`] is the in-memory implementation for a single node.
//!
//! Room index: two maps kept in step under one std `RwLock` (never held across `.await`):
//! room → members and socket → rooms, so joining, leaving and targeting are all hash lookups.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use engineio::{Frame, Sid};
use smol_str::SmolStr;

use tokio::sync::mpsc;

use super::ack::{AckResponse, AckSlot};
use super::namespace::Namespace;
use super::socket::Socket;
use crate::Value;

/// A room name.
pub type Room = SmolStr;

/// A boxed future, for the asynchronous (cluster-wide) operations of an adapter.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Which sockets an operation targets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastOptions {
    /// Sockets in any of these rooms; every socket when empty.
    pub rooms: Vec<Room>,
    /// Minus the sockets in any of these rooms.
    pub except: Vec<Room>,
    /// Flags of the operation.
    pub flags: BroadcastFlags,
}

/// Flags of a broadcast.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BroadcastFlags {
    /// Dropped for sockets whose transport cannot write right now.
    pub volatile: bool,
    /// Only this node's sockets.
    pub local: bool,
    /// How long to wait for acknowledgements.
    pub timeout: Option<Duration>,
}

/// An encoded packet on its way to many sockets: the same frames are queued for each.
#[derive(Debug, Clone)]
pub struct OutgoingPacket {
    pub(crate) frames: Arc<[Frame]>,
}

/// What the server needs from an adapter. All methods act on one namespace.
///
/// The room index is local and synchronous; the operations on targeted sockets are
/// cluster-wide: a cluster adapter applies them to its own sockets and forwards them to the
/// other nodes. [`LocalAdapter`] implements them for a single node.
pub trait Adapter: Send + Sync + 'static {
    /// Adds a local socket to rooms.
    fn add_all(&self, id: Sid, rooms: &[Room]);
    /// Removes a local socket from a room.
    fn del(&self, id: Sid, room: &str);
    /// Removes a local socket from every room.
    fn del_all(&self, id: Sid);
    /// The rooms of a local socket.
    fn socket_rooms(&self, id: Sid) -> Vec<Room>;
    /// The local sockets an operation targets.
    fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<Sid>;

    /// Sends a packet to every targeted socket.
    fn broadcast(&self, packet: &OutgoingPacket, opts: &BroadcastOptions);
    /// Sends a packet whose acknowledgement id is `ack_id` to every targeted socket; their
    /// answers go to `acks`. Resolves to how many sockets were targeted, once known.
    fn broadcast_with_ack(
        &self,
        packet: &OutgoingPacket,
        opts: &BroadcastOptions,
        ack_id: u64,
        acks: mpsc::UnboundedSender<AckResponse>,
    ) -> BoxFuture<'_, usize>;
    /// The targeted sockets.
    fn fetch_sockets(&self, opts: &BroadcastOptions) -> BoxFuture<'_, Vec<Arc<Socket>>>;
    /// Makes the targeted sockets join rooms.
    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]);
    /// Makes the targeted sockets leave rooms.
    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]);
    /// Disconnects the targeted sockets (with `close`, their whole connections).
    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool);
    /// Sends an event to the other servers of the cluster (none for a single node).
    fn server_side_emit(&self, event: &str, args: &[Value]);
    /// How many servers the cluster has (1 for a single node).
    fn server_count(&self) -> BoxFuture<'_, usize>;
}

/// Builds the adapter of each namespace.
pub type AdapterFactory = Arc<dyn Fn(Weak<Namespace>) -> Arc<dyn Adapter> + Send + Sync>;

#[derive(Default)]
struct RoomIndex {
    rooms: HashMap<Room, HashSet<Sid>>,
    sids: HashMap<Sid, HashSet<Room>>,
}

/// The in-memory adapter of a single server.
pub struct LocalAdapter {
    nsp: Weak<Namespace>,
    index: RwLock<RoomIndex>,
}

impl std::fmt::Debug for LocalAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalAdapter").finish_non_exhaustive()
    }
}

impl LocalAdapter {
    /// The adapter of a namespace.
    pub fn new(nsp: Weak<Namespace>) -> Self {
        LocalAdapter {
            nsp,
            index: RwLock::new(RoomIndex::default()),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, RoomIndex> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, RoomIndex> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Adapter for LocalAdapter {
    fn add_all(&self, id: Sid, rooms: &[Room]) {
        let mut index = self.write();
        for room in rooms {
            index.rooms.entry(room.clone()).or_default().insert(id);
        }
        index
            .sids
            .entry(id)
            .or_default()
            .extend(rooms.iter().cloned());
    }

    fn del(&self, id: Sid, room: &str) {
        let mut index = self.write();
        if let Some(members) = index.rooms.get_mut(room) {
            members.remove(&id);
            if members.is_empty() {
                index.rooms.remove(room);
            }
        }
        if let Some(rooms) = index.sids.get_mut(&id) {
            rooms.remove(room);
        }
    }

    fn del_all(&self, id: Sid) {
        let mut index = self.write();
        let Some(rooms) = index.sids.remove(&id) else {
            return;
        };
        for room in rooms {
            if let Some(members) = index.rooms.get_mut(&room) {
                members.remove(&id);
                if members.is_empty() {
                    index.rooms.remove(&room);
                }
            }
        }
    }

    fn socket_rooms(&self, id: Sid) -> Vec<Room> {
        self.read()
            .sids
            .get(&id)
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<Sid> {
        let index = self.read();
        let excluded = |id: &Sid| {
            opts.except.iter().any(|room| {
                index
                    .rooms
                    .get(room)
                    .is_some_and(|members| members.contains(id))
            })
        };
        if opts.rooms.is_empty() {
            return index
                .sids
                .keys()
                .filter(|id| !excluded(id))
                .copied()
                .collect();
        }
        if let [room] = opts.rooms.as_slice() {
            return index
                .rooms
                .get(room)
                .map(|members| members.iter().filter(|id| !excluded(id)).copied().collect())
                .unwrap_or_default();
        }
        let mut seen = HashSet::new();
        for room in &opts.rooms {
            if let Some(members) = index.rooms.get(room) {
                seen.extend(members.iter().filter(|id| !excluded(id)).copied());
            }
        }
        seen.into_iter().collect()
    }

    fn broadcast(&self, packet: &OutgoingPacket, opts: &BroadcastOptions) {
        for socket in self.targets(opts) {
            socket.send_frames(&packet.frames, opts.flags.volatile);
        }
    }

    fn broadcast_with_ack(
        &self,
        packet: &OutgoingPacket,
        opts: &BroadcastOptions,
        ack_id: u64,
        acks: mpsc::UnboundedSender<AckResponse>,
    ) -> BoxFuture<'_, usize> {
        let targets = self.targets(opts);
        for socket in &targets {
            socket.register_ack(ack_id, AckSlot::Many(acks.clone()));
            socket.send_frames(&packet.frames, opts.flags.volatile);
        }
        Box::pin(std::future::ready(targets.len()))
    }

    fn fetch_sockets(&self, opts: &BroadcastOptions) -> BoxFuture<'_, Vec<Arc<Socket>>> {
        Box::pin(std::future::ready(self.targets(opts)))
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        for id in self.local_sockets(opts) {
            self.add_all(id, rooms);
        }
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        for id in self.local_sockets(opts) {
            for room in rooms {
                self.del(id, room);
            }
        }
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        for socket in self.targets(opts) {
            socket.disconnect(close);
        }
    }

    fn server_side_emit(&self, event: &str, _args: &[Value]) {
        // Node's in-memory adapter warns too: there is no other server to hear it.
        tracing::debug!(
            event,
            "server_side_emit on a single node reaches no other server"
        );
    }

    fn server_count(&self) -> BoxFuture<'_, usize> {
        Box::pin(std::future::ready(1))
    }
}

impl LocalAdapter {
    /// The local sockets targeted by `opts`.
    fn targets(&self, opts: &BroadcastOptions) -> Vec<Arc<Socket>> {
        let Some(nsp) = self.nsp.upgrade() else {
            return Vec::new();
        };
        self.local_sockets(opts)
            .into_iter()
            .filter_map(|id| nsp.get_socket(id))
            .collect()
    }
}
