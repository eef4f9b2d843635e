//! The adapter: who is in which room, and how a broadcast reaches its sockets. The trait is
//! cluster-shaped (asynchronous requests to every node) so that Redis adapters can implement
//! it; [`LocalAdapter`] is the in-memory implementation for a single node.
//!
//! Room index: two maps kept in step under one std `RwLock` (never held across `.await`):
//! room → members and socket → (rooms, socket), so joining, leaving and targeting are all
//! hash lookups, and a broadcast finds its sockets in one pass over the index.
//!
//! The types a cluster adapter works with live here too: [`OutgoingPacket`] (the encoded
//! frames, plus the structured packet when the adapter publishes it), [`AckCollector`] /
//! [`AckStream`] (the client counts and answers of a broadcast with acknowledgements, from
//! every server), [`RemoteSocket`] / [`SocketDetails`] (what `fetch_sockets` returns, local or
//! on another server) and [`AdapterError`].

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use engineio::{BuildSidHasher, Frame, Sid};
use serde::Serialize;
use serde::de::DeserializeOwned;
use smol_str::SmolStr;

use tokio::sync::mpsc;

use super::ack::{AckError, AckResponse, AckSlot, BroadcastAcks};
use super::broadcast::BroadcastOperator;
use super::handshake::Handshake;
use super::namespace::Namespace;
use super::socket::{EmitError, IntoRooms, Socket, frames_of};
use crate::{EncodeError, Map, Packet, Value};

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
///
/// For an adapter that publishes broadcasts to other servers
/// ([`Adapter::publishes_packets`]) it also carries the packet itself, which the adapter
/// encodes in its own format.
#[derive(Debug, Clone)]
pub struct OutgoingPacket {
    pub(crate) frames: Arc<[Frame]>,
    packet: Option<Arc<Packet>>,
    ack_id: Option<u64>,
}

impl OutgoingPacket {
    /// Encodes an event for a broadcast on `nsp` (with the acknowledgement id `ack_id`, if
    /// any). The packet is built only when `with_packet` is set.
    pub(crate) fn event<T: Serialize + ?Sized>(
        nsp: &Namespace,
        event: &str,
        args: &T,
        ack_id: Option<u64>,
        with_packet: bool,
    ) -> Result<OutgoingPacket, EncodeError> {
        if with_packet {
            let args = args_to_values(args)?;
            let mut packet = Packet::event(nsp.name(), event, args);
            if let Some(id) = ack_id {
                packet = packet.with_id(id);
            }
            return Self::encode(nsp, packet);
        }
        let encoded = nsp.parser().encode_event(nsp.name(), event, args, ack_id)?;
        Ok(OutgoingPacket {
            frames: frames_of(&encoded, true).into(),
            packet: None,
            ack_id,
        })
    }

    /// Encodes a packet with the parser of `nsp`, for the sockets of this server: what a
    /// cluster adapter does with a broadcast it received from another server. The packet's
    /// namespace is replaced by `nsp`'s name; any acknowledgement id is dropped (use
    /// [`with_new_ack`](Self::with_new_ack) for a broadcast with acknowledgements).
    pub fn new(nsp: &Namespace, packet: Packet) -> Result<OutgoingPacket, EncodeError> {
        let packet = rebuild(nsp, packet, None)?;
        Self::encode(nsp, packet)
    }

    /// Like [`new`](Self::new), with a fresh acknowledgement id of `nsp`, so the answers of
    /// this server's sockets can be collected with
    /// [`Adapter::broadcast_with_ack`].
    pub fn with_new_ack(nsp: &Namespace, packet: Packet) -> Result<OutgoingPacket, EncodeError> {
        let packet = rebuild(nsp, packet, Some(nsp.next_ack_id()))?;
        Self::encode(nsp, packet)
    }

    fn encode(nsp: &Namespace, packet: Packet) -> Result<OutgoingPacket, EncodeError> {
        let encoded = nsp.parser().encode(&packet)?;
        Ok(OutgoingPacket {
            frames: frames_of(&encoded, true).into(),
            ack_id: packet.id(),
            packet: Some(Arc::new(packet)),
        })
    }

    /// The packet, when it was built (see [`Adapter::publishes_packets`]).
    pub fn packet(&self) -> Option<&Packet> {
        self.packet.as_deref()
    }

    /// The acknowledgement id the sockets answer with, for a broadcast with acknowledgements.
    pub fn ack_id(&self) -> Option<u64> {
        self.ack_id
    }
}

/// `packet` with `nsp`'s name and the acknowledgement id `id`.
fn rebuild(nsp: &Namespace, packet: Packet, id: Option<u64>) -> Result<Packet, EncodeError> {
    let kind = packet.kind();
    let data = packet.into_payload();
    Packet::new(kind, nsp.name(), id, data).map_err(|e| EncodeError::Serialize(Box::new(e)))
}

/// Typed arguments as values; `()` is no argument.
pub(crate) fn args_to_values<T: Serialize + ?Sized>(args: &T) -> Result<Vec<Value>, EncodeError> {
    match crate::to_value(args)? {
        Value::Array(items) => Ok(items),
        Value::Null => Ok(Vec::new()),
        _ => Err(EncodeError::ArgsNotASequence),
    }
}

/// Why a cluster-wide operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterError {
    timeout: bool,
    message: String,
}

impl AdapterError {
    /// Some servers did not answer in time.
    pub fn timeout(message: impl Into<String>) -> Self {
        AdapterError {
            timeout: true,
            message: message.into(),
        }
    }

    /// Any other failure (for example, the message broker cannot be reached).
    pub fn other(message: impl Into<String>) -> Self {
        AdapterError {
            timeout: false,
            message: message.into(),
        }
    }

    /// Whether some servers did not answer in time.
    pub fn is_timeout(&self) -> bool {
        self.timeout
    }
}

impl std::fmt::Display for AdapterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AdapterError {}

/// The answers of a server-side emit with acknowledgements: one per other server, and whether
/// every server answered before the timeout.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerSideAcks {
    /// The answers received (each server answers with one value), in arrival order.
    pub responses: Vec<Value>,
    /// `Some(AckError::Timeout)` when some servers did not answer in time.
    pub error: Option<AckError>,
}

/// Where a broadcast with acknowledgements reports, from every server: how many sockets each
/// server reached ([`client_count`](Self::client_count), once per server) and each socket's
/// answer. Cloning is cheap; the operator waiting for the answers reads them from the
/// [`AckStream`].
#[derive(Debug, Clone)]
pub struct AckCollector {
    nsp: SmolStr,
    counts: mpsc::UnboundedSender<usize>,
    responses: mpsc::UnboundedSender<AckResponse>,
}

/// What a broadcast with acknowledgements reported so far (see [`AckCollector`]).
#[derive(Debug)]
pub enum AckEvent {
    /// One server reached this many sockets.
    ClientCount(usize),
    /// One socket answered.
    Response(AckResponse),
}

/// The receiving end of an [`AckCollector`].
#[derive(Debug)]
pub struct AckStream {
    counts: mpsc::UnboundedReceiver<usize>,
    responses: mpsc::UnboundedReceiver<AckResponse>,
    counts_open: bool,
    responses_open: bool,
}

impl AckCollector {
    /// A collector for a broadcast on the namespace `nsp`, and the stream its reports come out of.
    pub fn channel(nsp: &str) -> (AckCollector, AckStream) {
        let (counts, counts_rx) = mpsc::unbounded_channel();
        let (responses, responses_rx) = mpsc::unbounded_channel();
        (
            AckCollector {
                nsp: SmolStr::from(nsp),
                counts,
                responses,
            },
            AckStream {
                counts: counts_rx,
                responses: responses_rx,
                counts_open: true,
                responses_open: true,
            },
        )
    }

    /// One server reached `count` sockets.
    pub fn client_count(&self, count: usize) {
        let _ = self.counts.send(count);
    }

    /// A socket answered.
    pub fn response(&self, response: AckResponse) {
        let _ = self.responses.send(response);
    }

    /// A socket of another server answered; cluster adapters forward the first argument of
    /// each answer only, as Node's do.
    pub fn remote_response(&self, first_arg: Value) {
        self.response(AckResponse::new(Packet::ack(
            self.nsp.clone(),
            0,
            vec![first_arg],
        )));
    }

    /// Whether nobody waits for the reports any more.
    pub fn is_closed(&self) -> bool {
        self.responses.is_closed()
    }

    fn slot(&self) -> AckSlot {
        AckSlot::Many(self.responses.clone())
    }
}

impl AckStream {
    /// The next report; `None` once every collector is gone and everything was read.
    pub async fn next(&mut self) -> Option<AckEvent> {
        loop {
            if !self.counts_open && !self.responses_open {
                return None;
            }
            tokio::select! {
                count = self.counts.recv(), if self.counts_open => match count {
                    Some(n) => return Some(AckEvent::ClientCount(n)),
                    None => self.counts_open = false,
                },
                response = self.responses.recv(), if self.responses_open => match response {
                    Some(r) => return Some(AckEvent::Response(r)),
                    None => self.responses_open = false,
                },
            }
        }
    }
}

/// What a server tells the others about one of its sockets (Node's `{id, handshake, rooms,
/// data}` in a fetch-sockets response).
#[derive(Debug, Clone, PartialEq)]
pub struct SocketDetails {
    /// The socket id.
    pub id: Sid,
    /// The handshake as Node's `socket.handshake` object (`headers`, `time`, `address`,
    /// `xdomain`, `secure`, `issued`, `url`, `query`, `auth`).
    pub handshake: Value,
    /// The rooms of the socket (its own id included).
    pub rooms: Vec<Room>,
    /// The user data.
    pub data: Value,
}

impl SocketDetails {
    /// The details as the object Node's adapters exchange.
    pub fn to_value(&self) -> Value {
        let mut m = Map::with_capacity(4);
        m.insert("id", Value::String(self.id.as_str().to_owned()));
        m.insert("handshake", self.handshake.clone());
        m.insert(
            "rooms",
            Value::Array(
                self.rooms
                    .iter()
                    .map(|r| Value::String(r.to_string()))
                    .collect(),
            ),
        );
        m.insert("data", self.data.clone());
        Value::Object(m)
    }

    /// Reads the object Node's adapters exchange; `None` when it has no valid socket id.
    /// Rooms that are numbers (a Node application may use them) are read as their text.
    pub fn from_value(value: &Value) -> Option<SocketDetails> {
        let id = Sid::parse(value.get("id")?.as_str()?)?;
        let rooms = value
            .get("rooms")
            .and_then(Value::as_array)
            .map(|rooms| rooms.iter().filter_map(room_of).collect())
            .unwrap_or_default();
        Some(SocketDetails {
            id,
            handshake: value.get("handshake").cloned().unwrap_or_default(),
            rooms,
            data: value.get("data").cloned().unwrap_or_default(),
        })
    }
}

/// A room name as another server may send it: a string, or a number (its JavaScript text).
pub fn room_of(value: &Value) -> Option<Room> {
    match value {
        Value::String(s) => Some(Room::from(s.as_str())),
        Value::Number(n) => Some(match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => Room::from(format!("{}", f as i64)),
            _ => Room::from(n.to_string()),
        }),
        _ => None,
    }
}

/// A socket returned by `fetch_sockets`: one of this server (the [`Socket`] itself) or of
/// another server of the cluster (a snapshot of its id, handshake, rooms and data, acted on
/// through the adapter).
#[derive(Debug, Clone)]
pub struct RemoteSocket {
    inner: RemoteInner,
}

#[derive(Debug, Clone)]
enum RemoteInner {
    Local(Arc<Socket>),
    Remote {
        nsp: Arc<Namespace>,
        details: Box<SocketDetails>,
    },
}

impl RemoteSocket {
    /// A socket of this server.
    pub fn local(socket: Arc<Socket>) -> RemoteSocket {
        RemoteSocket {
            inner: RemoteInner::Local(socket),
        }
    }

    /// A socket of another server, in the namespace `nsp`.
    pub fn remote(nsp: Arc<Namespace>, details: SocketDetails) -> RemoteSocket {
        RemoteSocket {
            inner: RemoteInner::Remote {
                nsp,
                details: Box::new(details),
            },
        }
    }

    /// The socket id.
    pub fn id(&self) -> Sid {
        match &self.inner {
            RemoteInner::Local(s) => s.id(),
            RemoteInner::Remote { details, .. } => details.id,
        }
    }

    /// The socket itself, when it is connected to this server.
    pub fn as_local(&self) -> Option<&Arc<Socket>> {
        match &self.inner {
            RemoteInner::Local(s) => Some(s),
            RemoteInner::Remote { .. } => None,
        }
    }

    /// Whether the socket is connected to this server.
    pub fn is_local(&self) -> bool {
        self.as_local().is_some()
    }

    /// The rooms of the socket: current for a local socket, as fetched for a remote one.
    pub fn rooms(&self) -> Vec<Room> {
        match &self.inner {
            RemoteInner::Local(s) => s.rooms(),
            RemoteInner::Remote { details, .. } => details.rooms.clone(),
        }
    }

    /// The user data, read as `T`.
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        match &self.inner {
            RemoteInner::Local(s) => s.data(),
            RemoteInner::Remote { details, .. } => crate::value::from_value(&details.data),
        }
    }

    /// The user data as a value.
    pub fn data_value(&self) -> Value {
        match &self.inner {
            RemoteInner::Local(s) => s.data_value(),
            RemoteInner::Remote { details, .. } => details.data.clone(),
        }
    }

    /// The handshake as Node's `socket.handshake` object.
    pub fn handshake(&self) -> Value {
        match &self.inner {
            RemoteInner::Local(s) => handshake_value(s.handshake()),
            RemoteInner::Remote { details, .. } => details.handshake.clone(),
        }
    }

    /// The id, handshake, rooms and data, as sent to other servers.
    pub fn details(&self) -> SocketDetails {
        match &self.inner {
            RemoteInner::Local(s) => SocketDetails {
                id: s.id(),
                handshake: handshake_value(s.handshake()),
                rooms: s.rooms(),
                data: s.data_value(),
            },
            RemoteInner::Remote { details, .. } => (**details).clone(),
        }
    }

    fn namespace(&self) -> &Arc<Namespace> {
        match &self.inner {
            RemoteInner::Local(s) => s.namespace(),
            RemoteInner::Remote { nsp, .. } => nsp,
        }
    }

    /// A broadcast operator targeting this socket only (its own room), wherever it is: add
    /// `timeout`, then `emit_with_ack`.
    pub fn operator(&self) -> BroadcastOperator {
        BroadcastOperator::new(Arc::clone(self.namespace())).to(Room::from(self.id().as_str()))
    }

    /// Emits an event to the socket.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        match &self.inner {
            RemoteInner::Local(s) => s.emit(event, args).map(|_| ()),
            RemoteInner::Remote { .. } => self.operator().emit(event, args),
        }
    }

    /// Emits an event and waits for the socket's answer (5 s at most unless the timeout is
    /// set through [`operator`](Self::operator)).
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<AckResponse, AckError> {
        let acks: BroadcastAcks = self
            .operator()
            .emit_with_ack(event, args)
            .await
            .map_err(|_| AckError::Encode)?;
        match (acks.responses.into_iter().next(), acks.error) {
            (Some(r), _) => Ok(r),
            (None, Some(e)) => Err(e),
            (None, None) => Err(AckError::Disconnected),
        }
    }

    /// Joins rooms.
    pub fn join(&self, rooms: impl IntoRooms) {
        match &self.inner {
            RemoteInner::Local(s) => s.join(rooms),
            RemoteInner::Remote { .. } => self.operator().sockets_join(rooms),
        }
    }

    /// Leaves a room.
    pub fn leave(&self, room: &str) {
        match &self.inner {
            RemoteInner::Local(s) => s.leave(room),
            RemoteInner::Remote { .. } => self.operator().sockets_leave(room),
        }
    }

    /// Disconnects the socket (with `close`, its whole connection).
    pub fn disconnect(&self, close: bool) {
        match &self.inner {
            RemoteInner::Local(s) => s.disconnect(close),
            RemoteInner::Remote { .. } => self.operator().disconnect_sockets(close),
        }
    }
}

/// A handshake as the object Node puts in `socket.handshake`.
pub(crate) fn handshake_value(h: &Handshake) -> Value {
    let mut headers = Map::new();
    for name in h.headers().keys() {
        let values: Vec<&str> = h
            .headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        headers.insert(name.as_str(), Value::String(values.join(", ")));
    }
    let mut query = Map::new();
    for (k, v) in h.query() {
        query.insert(k, Value::String(v));
    }
    let issued = h.issued();
    let mut m = Map::with_capacity(9);
    m.insert("headers", Value::Object(headers));
    m.insert("time", Value::String(js_date_string(issued)));
    m.insert(
        "address",
        h.address()
            .map_or(Value::Null, |a| Value::String(a.ip().to_string())),
    );
    m.insert("xdomain", Value::Bool(h.xdomain()));
    m.insert("secure", Value::Bool(h.secure()));
    m.insert("issued", Value::from(issued));
    m.insert("url", Value::String(h.url()));
    m.insert("query", Value::Object(query));
    m.insert("auth", h.auth().clone());
    Value::Object(m)
}

/// JavaScript's `Date.prototype.toString()` in UTC, e.g.
/// `Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)`.
fn js_date_string(ms: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = DAYS.get((days % 7) as usize).copied().unwrap_or("Thu");
    let month_name = MONTHS.get((month - 1) as usize).copied().unwrap_or("Jan");
    format!(
        "{weekday} {month_name} {day:02} {year} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// What the server needs from an adapter. All methods act on one namespace.
///
/// The room index is local and synchronous; the operations on targeted sockets are
/// cluster-wide: a cluster adapter applies them to its own sockets and forwards them to the
/// other nodes (unless `opts.flags.local`). [`LocalAdapter`] implements them for a single
/// node, and a cluster adapter usually keeps one inside for its own sockets.
pub trait Adapter: Send + Sync + 'static {
    /// Called once the namespace exists (the factory only gets a `Weak` of a namespace under
    /// construction): a cluster adapter reads the namespace's name and subscribes here. Must
    /// not block.
    fn init(&self) {}
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
    /// Whether broadcasts must carry their [`packet`](OutgoingPacket::packet) (an adapter
    /// that publishes them to other servers); otherwise only the frames are encoded.
    fn publishes_packets(&self) -> bool {
        false
    }

    /// Sends a packet to every targeted socket.
    fn broadcast(&self, packet: &OutgoingPacket, opts: &BroadcastOptions);
    /// Sends a packet with an acknowledgement id to every targeted socket. Every server
    /// reports once, through `acks`, how many of its sockets it reached, then their answers.
    fn broadcast_with_ack(
        &self,
        packet: &OutgoingPacket,
        opts: &BroadcastOptions,
        acks: AckCollector,
    );
    /// The targeted sockets, of every server.
    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<RemoteSocket>, AdapterError>>;
    /// Makes the targeted sockets join rooms.
    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]);
    /// Makes the targeted sockets leave rooms.
    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]);
    /// Disconnects the targeted sockets (with `close`, their whole connections).
    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool);
    /// Sends an event to the other servers of the cluster (none for a single node).
    fn server_side_emit(&self, event: &str, args: &[Value]);
    /// Sends an event to the other servers of the cluster and collects one answer from each.
    fn server_side_emit_with_ack(
        &self,
        event: &str,
        args: &[Value],
    ) -> BoxFuture<'_, ServerSideAcks>;
    /// How many servers the cluster has (1 for a single node).
    fn server_count(&self) -> BoxFuture<'_, usize>;
    /// Stops the adapter (unsubscribes from the broker); called when the server closes.
    fn close(&self) {}
}

/// Builds the adapter of each namespace.
pub type AdapterFactory = Arc<dyn Fn(Weak<Namespace>) -> Arc<dyn Adapter> + Send + Sync>;

/// The local members of one room. Most rooms have one (every socket is alone in the room of
/// its own id), which is held inline: no set is allocated for it.
#[derive(Debug)]
enum Members {
    One(Sid),
    Many(HashSet<Sid, BuildSidHasher>),
}

impl Members {
    fn len(&self) -> usize {
        match self {
            Members::One(_) => 1,
            Members::Many(set) => set.len(),
        }
    }

    fn contains(&self, id: &Sid) -> bool {
        match self {
            Members::One(one) => one == id,
            Members::Many(set) => set.contains(id),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Sid> {
        let (one, many) = match self {
            Members::One(one) => (Some(one), None),
            Members::Many(set) => (None, Some(set.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }

    fn insert(&mut self, id: Sid) {
        match self {
            Members::One(one) if *one == id => {}
            Members::One(one) => {
                let first = *one;
                *self = Members::Many([first, id].into_iter().collect());
            }
            Members::Many(set) => {
                set.insert(id);
            }
        }
    }

    /// Removes a member; true if the room is left empty (then the caller drops it).
    fn remove(&mut self, id: &Sid) -> bool {
        match self {
            Members::One(one) => one == id,
            Members::Many(set) => {
                set.remove(id);
                match set.len() {
                    0 => true,
                    1 => {
                        if let Some(last) = set.iter().next().copied() {
                            *self = Members::One(last);
                        }
                        false
                    }
                    _ => false,
                }
            }
        }
    }
}

#[derive(Default)]
struct RoomIndex {
    rooms: HashMap<Room, Members>,
    sids: HashMap<Sid, Member, BuildSidHasher>,
}

impl RoomIndex {
    /// Visits once each socket `opts` targets: the members of its rooms (every socket when
    /// there are none), less the members of its excluded rooms.
    fn for_each_target<'a>(
        &'a self,
        opts: &BroadcastOptions,
        mut visit: impl FnMut(&Sid, &'a Member),
    ) {
        let excluded = Excluded::new(self, &opts.except);
        let mut visit = |id: &Sid, member: &'a Member| {
            if !excluded.contains(id) {
                visit(id, member);
            }
        };
        match opts.rooms.as_slice() {
            [] => {
                for (id, member) in &self.sids {
                    visit(id, member);
                }
            }
            [room] => {
                for id in self.rooms.get(room).into_iter().flat_map(Members::iter) {
                    if let Some(member) = self.sids.get(id) {
                        visit(id, member);
                    }
                }
            }
            rooms => {
                let mut seen = HashSet::with_hasher(BuildSidHasher::default());
                for room in rooms {
                    for id in self.rooms.get(room).into_iter().flat_map(Members::iter) {
                        if seen.insert(*id)
                            && let Some(member) = self.sids.get(id)
                        {
                            visit(id, member);
                        }
                    }
                }
            }
        }
    }
}

/// What the index keeps for one socket.
#[derive(Default)]
struct Member {
    /// In the order joined; a few as a rule, so a list holds them in less than a set.
    rooms: Vec<Room>,
    /// The socket, once the namespace knows it (a socket may join rooms from a middleware,
    /// before it is added to the namespace): a broadcast reaches it without another lookup.
    socket: Weak<Socket>,
}

/// The members of the rooms a broadcast leaves out, resolved once per broadcast.
enum Excluded<'a> {
    None,
    /// Few sockets: compared one by one.
    Few(Vec<Sid>),
    Sets(Vec<&'a Members>),
}

impl<'a> Excluded<'a> {
    fn new(index: &'a RoomIndex, except: &[Room]) -> Self {
        let sets: Vec<&Members> = except
            .iter()
            .filter_map(|room| index.rooms.get(room))
            .collect();
        let total: usize = sets.iter().map(|set| set.len()).sum();
        if total == 0 {
            Excluded::None
        } else if total <= 8 {
            Excluded::Few(sets.iter().flat_map(|set| set.iter().copied()).collect())
        } else {
            Excluded::Sets(sets)
        }
    }

    fn contains(&self, id: &Sid) -> bool {
        match self {
            Excluded::None => false,
            Excluded::Few(ids) => ids.contains(id),
            Excluded::Sets(sets) => sets.iter().any(|set| set.contains(id)),
        }
    }
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

    /// The namespace served.
    pub fn namespace(&self) -> Option<Arc<Namespace>> {
        self.nsp.upgrade()
    }

    /// Whether some local socket is in `room`.
    pub fn has_room(&self, room: &str) -> bool {
        self.read().rooms.contains_key(room)
    }

    /// The rooms that have local members.
    pub fn rooms(&self) -> Vec<Room> {
        self.read().rooms.keys().cloned().collect()
    }

    /// The local sockets targeted by `opts`, found in one pass over the index.
    pub fn targets(&self, opts: &BroadcastOptions) -> Vec<Arc<Socket>> {
        let mut unresolved = Vec::new();
        let mut targets = {
            let index = self.read();
            let capacity = match opts.rooms.as_slice() {
                [] => index.sids.len(),
                [room] => index.rooms.get(room).map_or(0, Members::len),
                _ => 0,
            };
            let mut targets = Vec::with_capacity(capacity);
            index.for_each_target(opts, |id, member| match member.socket.upgrade() {
                Some(socket) => targets.push(socket),
                None => unresolved.push(*id),
            });
            targets
        };
        // Sockets the index does not hold (yet): looked up in the namespace.
        if !unresolved.is_empty()
            && let Some(nsp) = self.nsp.upgrade()
        {
            targets.extend(unresolved.into_iter().filter_map(|id| nsp.get_socket(id)));
        }
        targets
    }

    /// Adds a socket to rooms and tells which of them had no local member before.
    pub fn add_all_new(&self, id: Sid, rooms: &[Room]) -> Vec<Room> {
        let socket = self.nsp.upgrade().and_then(|nsp| nsp.get_socket(id));
        let mut index = self.write();
        let mut created = Vec::new();
        for room in rooms {
            match index.rooms.entry(room.clone()) {
                Entry::Occupied(mut members) => members.get_mut().insert(id),
                Entry::Vacant(vacant) => {
                    created.push(room.clone());
                    vacant.insert(Members::One(id));
                }
            }
        }
        let member = index.sids.entry(id).or_default();
        for room in rooms {
            if !member.rooms.contains(room) {
                // Grown one at a time: most sockets are in one or two rooms, and a list
                // grown by doubling would hold room for four.
                member.rooms.reserve_exact(1);
                member.rooms.push(room.clone());
            }
        }
        if let Some(socket) = &socket {
            member.socket = Arc::downgrade(socket);
        }
        created
    }

    /// Removes a socket from a room and tells whether the room lost its last local member.
    pub fn del_last(&self, id: Sid, room: &str) -> bool {
        let mut index = self.write();
        let mut emptied = false;
        if let Some(members) = index.rooms.get_mut(room)
            && members.remove(&id)
        {
            index.rooms.remove(room);
            emptied = true;
        }
        if let Some(member) = index.sids.get_mut(&id) {
            member.rooms.retain(|r| r.as_str() != room);
        }
        emptied
    }

    /// Removes a socket from every room and tells which rooms lost their last local member.
    pub fn del_all_last(&self, id: Sid) -> Vec<Room> {
        let mut index = self.write();
        let Some(member) = index.sids.remove(&id) else {
            return Vec::new();
        };
        let mut emptied = Vec::new();
        for room in member.rooms {
            if let Some(members) = index.rooms.get_mut(&room)
                && members.remove(&id)
            {
                index.rooms.remove(&room);
                emptied.push(room);
            }
        }
        emptied
    }
}

impl Adapter for LocalAdapter {
    fn add_all(&self, id: Sid, rooms: &[Room]) {
        self.add_all_new(id, rooms);
    }

    fn del(&self, id: Sid, room: &str) {
        self.del_last(id, room);
    }

    fn del_all(&self, id: Sid) {
        self.del_all_last(id);
    }

    fn socket_rooms(&self, id: Sid) -> Vec<Room> {
        self.read()
            .sids
            .get(&id)
            .map(|m| m.rooms.clone())
            .unwrap_or_default()
    }

    fn local_sockets(&self, opts: &BroadcastOptions) -> Vec<Sid> {
        let mut ids = Vec::new();
        self.read().for_each_target(opts, |id, _| ids.push(*id));
        ids
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
        acks: AckCollector,
    ) {
        let Some(ack_id) = packet.ack_id else {
            tracing::warn!("broadcast_with_ack called with a packet that has no ack id");
            acks.client_count(0);
            return;
        };
        let targets = self.targets(opts);
        for socket in &targets {
            socket.register_ack(ack_id, acks.slot());
            socket.send_frames(&packet.frames, opts.flags.volatile);
        }
        acks.client_count(targets.len());
    }

    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<RemoteSocket>, AdapterError>> {
        let sockets = self
            .targets(opts)
            .into_iter()
            .map(RemoteSocket::local)
            .collect();
        Box::pin(std::future::ready(Ok(sockets)))
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

    fn server_side_emit_with_ack(
        &self,
        event: &str,
        _args: &[Value],
    ) -> BoxFuture<'_, ServerSideAcks> {
        tracing::debug!(
            event,
            "server_side_emit_with_ack on a single node reaches no other server"
        );
        Box::pin(std::future::ready(ServerSideAcks::default()))
    }

    fn server_count(&self) -> BoxFuture<'_, usize> {
        Box::pin(std::future::ready(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_date_string_matches_javascript() {
        assert_eq!(
            js_date_string(0),
            "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
        // new Date(1735732800000).toString() in UTC
        assert_eq!(
            js_date_string(1_735_732_800_000),
            "Wed Jan 01 2025 12:00:00 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            js_date_string(951_782_400_000),
            "Tue Feb 29 2000 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
    }

    fn sorted(mut ids: Vec<Sid>) -> Vec<Sid> {
        ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        ids
    }

    fn targets(adapter: &LocalAdapter, rooms: &[&str], except: &[&str]) -> Vec<Sid> {
        let opts = BroadcastOptions {
            rooms: rooms.iter().map(|r| Room::from(*r)).collect(),
            except: except.iter().map(|r| Room::from(*r)).collect(),
            flags: BroadcastFlags::default(),
        };
        sorted(adapter.local_sockets(&opts))
    }

    #[test]
    fn a_room_goes_from_one_member_to_many_and_back_to_none() {
        let adapter = LocalAdapter::new(Weak::new());
        let [a, b, c] = [(); 3].map(|()| Sid::generate().unwrap());
        assert_eq!(adapter.add_all_new(a, &["r".into()]), vec![Room::from("r")]);
        assert_eq!(targets(&adapter, &["r"], &[]), vec![a]);
        // Joining twice changes nothing; a second and third member turn it into a set.
        assert!(adapter.add_all_new(a, &["r".into()]).is_empty());
        assert_eq!(targets(&adapter, &["r"], &[]), vec![a]);
        assert!(adapter.add_all_new(b, &["r".into(), "b".into()]) == vec![Room::from("b")]);
        adapter.add_all(c, &["r".into()]);
        assert_eq!(targets(&adapter, &["r"], &[]), sorted(vec![a, b, c]));
        assert_eq!(targets(&adapter, &["r"], &["b"]), sorted(vec![a, c]));
        assert_eq!(targets(&adapter, &[], &["r"]), Vec::<Sid>::new());
        // Leaving: back to one member, which is still found and still excluded, then none.
        assert!(!adapter.del_last(a, "r"));
        assert!(!adapter.del_last(a, "r"));
        assert!(!adapter.del_last(b, "r"));
        assert_eq!(targets(&adapter, &["r"], &[]), vec![c]);
        assert_eq!(targets(&adapter, &["r", "b"], &["r"]), vec![b]);
        assert_eq!(adapter.del_all_last(c), vec![Room::from("r")]);
        assert!(!adapter.has_room("r"));
        assert!(adapter.has_room("b"));
        assert_eq!(adapter.socket_rooms(b), vec![Room::from("b")]);
        // A socket that left its rooms is still a socket of the namespace.
        assert_eq!(targets(&adapter, &[], &[]), sorted(vec![a, b]));
    }

    #[test]
    fn numeric_rooms_read_as_their_javascript_text() {
        assert_eq!(room_of(&Value::from(12)), Some(Room::from("12")));
        assert_eq!(room_of(&Value::from(1.5)), Some(Room::from("1.5")));
        assert_eq!(room_of(&Value::from("a")), Some(Room::from("a")));
        assert_eq!(room_of(&Value::Null), None);
    }
}
