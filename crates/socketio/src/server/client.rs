//! The client: one Engine.IO connection and the namespaces it joined. It decodes what the
//! connection carries and routes each packet, enforcing the scope rules of PROTOCOL-FACTS
//! §3.4: an unknown namespace or a refused middleware answers CONNECT_ERROR and keeps the
//! connection; a second CONNECT, a packet for a namespace not joined or an undecodable packet
//! closes the whole connection.

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use engineio::{CloseReason, Message, Sid, TimerLease, TimerQueue};
use smol_str::SmolStr;

use super::handshake::Handshake;
use super::namespace::Namespace;
use super::parser::AnyDecoder;
use super::server::ServerInner;
use super::socket::{DisconnectReason, Socket, frames_of};
use crate::{Map, Packet, PacketType, Payload, Value};

/// The Engine.IO session of a client.
pub type EngineSocket = engineio::Socket<ClientState>;

/// What the server keeps for each Engine.IO connection.
#[derive(Default)]
pub struct ClientState {
    inner: Mutex<ClientInner>,
}

impl std::fmt::Debug for ClientState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientState").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct ClientInner {
    decoder: Option<AnyDecoder>,
    /// Connected namespaces; a client joins few, so a vector beats a map.
    sockets: Vec<(SmolStr, Arc<Socket>)>,
    /// Namespaces whose CONNECT is being processed (middlewares may take time).
    connecting: Vec<SmolStr>,
    /// Held until the connection joins a namespace: the connect timeout still applies.
    connect_timeout: Option<TimerLease<Weak<EngineSocket>>>,
}

impl ClientInner {
    /// The CONNECT of a namespace was processed; the list gives its memory back once empty
    /// (it is empty for the whole life of most connections).
    fn done_connecting(&mut self, name: &str) {
        self.connecting.retain(|n| n != name);
        if self.connecting.is_empty() {
            self.connecting = Vec::new();
        }
    }
}

/// The connect timeouts of a server's connections.
pub(crate) type ConnectTimers = TimerQueue<Weak<EngineSocket>>;

/// One queue for the connect timeouts of every connection of a server.
pub(crate) fn connect_timers(timeout: Duration) -> ConnectTimers {
    TimerQueue::new(vec![timeout], |_, conn: Weak<EngineSocket>| {
        let Some(conn) = conn.upgrade() else {
            return;
        };
        if lock(&conn).connect_timeout.is_some() {
            tracing::debug!(sid = %conn.id(), "no namespace joined in time");
            conn.close();
        }
    })
}

fn lock(conn: &EngineSocket) -> MutexGuard<'_, ClientInner> {
    conn.data().inner.lock().unwrap_or_else(|e| e.into_inner())
}

/// Disconnects every socket of the connection with `reason`.
pub(crate) fn disconnect_all(conn: &EngineSocket, reason: DisconnectReason) {
    let sockets: Vec<_> = lock(conn).sockets.drain(..).map(|(_, s)| s).collect();
    for socket in sockets {
        socket.close(reason);
    }
}

/// The sockets of a connection.
pub(crate) fn sockets_of(conn: &EngineSocket) -> Vec<Arc<Socket>> {
    lock(conn)
        .sockets
        .iter()
        .map(|(_, s)| Arc::clone(s))
        .collect()
}

/// Forgets a disconnected socket.
pub(crate) fn forget_socket(conn: &EngineSocket, nsp: &str) {
    lock(conn).sockets.retain(|(name, _)| name != nsp);
}

/// The Engine.IO handler of a Socket.IO server.
pub(crate) struct EngineHandler {
    pub(crate) server: Arc<ServerInner>,
}

impl engineio::Handler for EngineHandler {
    type Data = ClientState;

    fn on_open(&self, conn: &Arc<EngineSocket>) {
        // A connection that joins no namespace in time is closed.
        let timers = &self.server.connect_timers;
        let lease = timers.lease();
        {
            let mut inner = lock(conn);
            inner.decoder = Some(self.server.parser.decoder());
            inner.connect_timeout = Some(lease);
        }
        timers.schedule(0, Arc::downgrade(conn));
    }

    fn on_message(&self, conn: &Arc<EngineSocket>, message: Message) {
        let decoded = {
            let mut inner = lock(conn);
            let Some(decoder) = inner.decoder.as_mut() else {
                return;
            };
            match message {
                Message::Text(text) => {
                    let (text, start) = text.into_parts();
                    decoder.decode_utf8(text, start)
                }
                Message::Binary(data) => decoder.decode_binary(data),
            }
        };
        match decoded {
            Ok(Some(packet)) => self.route(conn, packet),
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(sid = %conn.id(), error = ?e, "undecodable packet, closing");
                disconnect_all(conn, DisconnectReason::ParseError);
                conn.close();
            }
        }
    }

    fn on_drain(&self, conn: &Arc<EngineSocket>) {
        for socket in sockets_of(conn) {
            socket.call_drain();
        }
    }

    fn on_close(&self, conn: &Arc<EngineSocket>, reason: CloseReason) {
        let lease = lock(conn).connect_timeout.take();
        drop(lease);
        disconnect_all(conn, DisconnectReason::from_engine(reason));
    }
}

impl EngineHandler {
    fn route(&self, conn: &Arc<EngineSocket>, packet: Packet) {
        let nsp = packet.nsp().clone();
        let (socket, connecting) = {
            let inner = lock(conn);
            (
                inner
                    .sockets
                    .iter()
                    .find(|(name, _)| *name == nsp)
                    .map(|(_, s)| Arc::clone(s)),
                inner.connecting.contains(&nsp),
            )
        };
        match (packet.kind(), socket) {
            (PacketType::Connect, None) if !connecting => {
                let auth = match packet.into_payload().map(Payload::into_value) {
                    Some(Ok(v)) => v,
                    _ => Value::Object(Map::new()),
                };
                // A namespace that exists and has no middleware has nothing to wait for: the
                // socket connects here, without a task of its own.
                if let Some(found) = self.server.namespace(&nsp)
                    && !found.has_middlewares()
                {
                    if let Some(socket) = new_socket(conn, &found, &nsp, auth) {
                        join(&self.server, conn, found, &nsp, socket);
                    }
                    return;
                }
                let mut inner = lock(conn);
                inner.connecting.reserve_exact(1);
                inner.connecting.push(nsp.clone());
                drop(inner);
                let server = Arc::clone(&self.server);
                let conn = Arc::clone(conn);
                tokio::spawn(async move { connect(server, conn, nsp, auth).await });
            }
            (PacketType::Connect | PacketType::ConnectError, _) | (_, None) => {
                tracing::debug!(sid = %conn.id(), nsp = %nsp, kind = ?packet.kind(), "invalid state, closing");
                disconnect_all(conn, DisconnectReason::ForcedServerClose);
                conn.close();
            }
            (_, Some(socket)) => socket.on_packet(packet),
        }
    }
}

fn send_packet(server: &ServerInner, conn: &EngineSocket, packet: &Packet) {
    match server.parser.encode(packet) {
        Ok(encoded) => {
            let _ = conn.send_frames(frames_of(&encoded, true));
        }
        Err(e) => tracing::warn!(error = %e, "could not encode a packet"),
    }
}

async fn connect(server: Arc<ServerInner>, conn: Arc<EngineSocket>, name: SmolStr, auth: Value) {
    let Some(nsp) = server.resolve_namespace(&name, &auth).await else {
        lock(&conn).done_connecting(&name);
        let reply = Packet::connect_error(name.clone(), "Invalid namespace", None);
        send_packet(&server, &conn, &reply);
        return;
    };
    let Some(socket) = new_socket(&conn, &nsp, &name, auth) else {
        return;
    };
    for middleware in nsp.middlewares() {
        if let Err(refusal) = middleware(Arc::clone(&socket)).await {
            lock(&conn).done_connecting(&name);
            let reply = Packet::connect_error(name.clone(), refusal.message, refusal.data);
            send_packet(&server, &conn, &reply);
            return;
        }
    }
    join(&server, &conn, nsp, &name, socket);
}

/// The socket a CONNECT to `nsp` makes, before its middlewares; `None` (and the connection
/// closed) if no id could be drawn.
fn new_socket(
    conn: &Arc<EngineSocket>,
    nsp: &Arc<Namespace>,
    name: &str,
    auth: Value,
) -> Option<Arc<Socket>> {
    let Ok(id) = Sid::generate() else {
        lock(conn).done_connecting(name);
        conn.close();
        return None;
    };
    let handshake = Handshake::new(Arc::clone(conn.request()), auth);
    Some(Arc::new(Socket::new(
        id,
        Arc::clone(nsp),
        Arc::clone(conn),
        handshake,
    )))
}

/// Connects a socket its middlewares let through: into the connection, the namespace and the
/// room of its id, then the connection handlers, then the CONNECT reply.
fn join(
    server: &ServerInner,
    conn: &Arc<EngineSocket>,
    nsp: Arc<Namespace>,
    name: &SmolStr,
    socket: Arc<Socket>,
) {
    let id = socket.id();
    let lease = {
        let mut inner = lock(conn);
        inner.done_connecting(name);
        if !conn.is_open() {
            return;
        }
        // Grown one at a time: most connections join one namespace.
        inner.sockets.reserve_exact(1);
        inner.sockets.push((name.clone(), Arc::clone(&socket)));
        inner.connect_timeout.take()
    };
    drop(lease);
    nsp.add_socket(Arc::clone(&socket));
    nsp.adapter().add_all(id, &[SmolStr::from(id.as_str())]);
    for handler in nsp.connection_handlers() {
        handler(&socket);
    }
    let mut reply = Map::new();
    reply.insert("sid".to_owned(), Value::String(id.as_str().to_owned()));
    match Packet::new(
        PacketType::Connect,
        name.clone(),
        None,
        Some(Payload::Value(Value::Object(reply))),
    )
    .map_err(|_| ())
    .and_then(|p| server.parser.encode(&p).map_err(|_| ()))
    {
        Ok(encoded) => socket.connect_reply(&encoded),
        Err(()) => tracing::warn!("could not encode a CONNECT reply"),
    }
}
