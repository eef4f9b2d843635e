//! A chat: nicknames, rooms, a typing indicator, the user list of each room and the last
//! messages of a room shown to whoever enters it. Open http://127.0.0.1:3000/ in two browser
//! tabs.
//!
//! The page (`public/index.html`) uses the official browser client, which this server serves
//! at `/socket.io/socket.io.min.js` from the `socket.io-client` package installed by
//! `npm ci --prefix interop` (`scripts/demo` does that). Events from the page:
//! - `join` (name[, ack]): enter the room `general` under that name; the ack (and a `history`
//!   event) carries `{room, rooms, members, history}`; the room gets `user joined`
//!   `{name, room, users, members}` (`users` is the count);
//! - `switch room` (room[, ack]): leave the current room for another (created on demand);
//!   same answer as `join`; the old room gets `user left`, the new one `user joined`;
//! - `chat message` (text): the room gets `chat message` `{name, text, at, room}`;
//! - `typing` / `stop typing`: the others in the room get them with the name (volatile);
//! - on disconnect the room gets `user left` `{name, room, users, members}`.
//!
//! Everyone gets `rooms` (the list of rooms with people in them) when it changes.
//!
//! `cargo run -p chat -- [addr] [client-dist-dir]` runs it ([`run`]).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use serde::{Deserialize, Serialize};
use serde_json::json;
use socketio::server::{IncomingBody, Socket, SocketIo};
use tower_layer::Layer;

const PAGE: &str = include_str!("../public/index.html");

/// How many messages of a room are kept for newcomers.
const HISTORY: usize = 50;

/// The room everyone enters first.
const LOBBY: &str = "general";

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Who a socket is, kept in its data.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Member {
    name: String,
    room: String,
}

fn member_of(socket: &Socket) -> Option<Member> {
    socket.data::<Option<Member>>().ok().flatten()
}

/// The chat's shared state: members per room (in order of arrival) and recent messages.
#[derive(Default)]
struct Rooms {
    members: BTreeMap<String, Vec<(String, String)>>,
    history: HashMap<String, VecDeque<serde_json::Value>>,
}

impl Rooms {
    fn names(&self, room: &str) -> Vec<String> {
        self.members
            .get(room)
            .map(|m| m.iter().map(|(_, name)| name.clone()).collect())
            .unwrap_or_default()
    }

    fn enter(&mut self, room: &str, socket_id: &str, name: &str) {
        self.members
            .entry(room.to_owned())
            .or_default()
            .push((socket_id.to_owned(), name.to_owned()));
    }

    fn leave(&mut self, room: &str, socket_id: &str) {
        if let Some(members) = self.members.get_mut(room) {
            members.retain(|(id, _)| id != socket_id);
            if members.is_empty() {
                self.members.remove(room);
            }
        }
    }

    fn list(&self) -> Vec<String> {
        let mut rooms: Vec<String> = self.members.keys().cloned().collect();
        if !rooms.iter().any(|r| r == LOBBY) {
            rooms.insert(0, LOBBY.to_owned());
        }
        rooms
    }

    fn record(&mut self, room: &str, message: serde_json::Value) {
        let history = self.history.entry(room.to_owned()).or_default();
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(message);
    }

    /// What a socket entering `room` is told.
    fn welcome(&self, room: &str) -> serde_json::Value {
        json!({
            "room": room,
            "rooms": self.list(),
            "members": self.names(room),
            "history": self.history.get(room).map(|h| h.iter().cloned().collect::<Vec<_>>()).unwrap_or_default(),
        })
    }
}

type Shared = Arc<Mutex<Rooms>>;

fn lock(rooms: &Shared) -> std::sync::MutexGuard<'_, Rooms> {
    rooms.lock().unwrap_or_else(|e| e.into_inner())
}

fn clean(text: &str, max: usize) -> String {
    text.trim().chars().take(max).collect()
}

/// Puts `socket` into `room` and tells everyone concerned.
fn enter(
    socket: &Arc<Socket>,
    rooms: &Shared,
    name: &str,
    room: &str,
    event: &socketio::server::Event,
) {
    let (welcome, members, list) = {
        let mut r = lock(rooms);
        r.enter(room, socket.id().as_str(), name);
        (r.welcome(room), r.names(room), r.list())
    };
    socket.join(room);
    let _ = socket.set_data(&Some(Member {
        name: name.to_owned(),
        room: room.to_owned(),
    }));
    if let Some(ack) = event.ack() {
        let _ = ack.send(&(welcome.clone(),));
    }
    let _ = socket.emit("history", &(welcome,));
    let _ = socket.namespace().to(room).emit(
        "user joined",
        &(json!({ "name": name, "room": room, "users": members.len(), "members": members }),),
    );
    let _ = socket.namespace().emit("rooms", &(list,));
}

/// Takes `socket` out of its room and tells the others there.
fn leave(socket: &Arc<Socket>, rooms: &Shared, member: &Member) {
    let (members, list) = {
        let mut r = lock(rooms);
        r.leave(&member.room, socket.id().as_str());
        (r.names(&member.room), r.list())
    };
    socket.leave(&member.room);
    let _ = socket.namespace().to(member.room.as_str()).emit(
        "user left",
        &(json!({ "name": member.name, "room": member.room, "users": members.len(), "members": members }),),
    );
    let _ = socket.namespace().emit("rooms", &(list,));
}

/// Installs the chat's event handlers.
pub fn setup(io: &SocketIo) {
    let rooms: Shared = Arc::default();
    io.on_connection(move |socket| {
        let r = Arc::clone(&rooms);
        socket.on("join", move |socket, event| {
            let name = clean(&event.arg::<String>(0).unwrap_or_default(), 32);
            if name.is_empty() || member_of(socket).is_some() {
                return;
            }
            enter(socket, &r, &name, LOBBY, &event);
        });
        let r = Arc::clone(&rooms);
        socket.on("switch room", move |socket, event| {
            let room = clean(&event.arg::<String>(0).unwrap_or_default(), 32);
            let Some(member) = member_of(socket) else {
                return;
            };
            if room.is_empty() || room == member.room {
                return;
            }
            leave(socket, &r, &member);
            enter(socket, &r, &member.name, &room, &event);
        });
        let r = Arc::clone(&rooms);
        socket.on("chat message", move |socket, event| {
            let (Some(member), Ok(text)) = (member_of(socket), event.arg::<String>(0)) else {
                return;
            };
            let text = clean(&text, 1000);
            if text.is_empty() {
                return;
            }
            let message =
                json!({ "name": member.name, "text": text, "at": now_ms(), "room": member.room });
            lock(&r).record(&member.room, message.clone());
            let _ = socket
                .namespace()
                .to(member.room.as_str())
                .emit("chat message", &(message,));
        });
        socket.on("typing", |socket, _| {
            if let Some(m) = member_of(socket) {
                let _ = socket
                    .to(m.room.as_str())
                    .volatile()
                    .emit("typing", &(m.name,));
            }
        });
        socket.on("stop typing", |socket, _| {
            if let Some(m) = member_of(socket) {
                let _ = socket
                    .to(m.room.as_str())
                    .volatile()
                    .emit("stop typing", &(m.name,));
            }
        });
        let r = Arc::clone(&rooms);
        socket.on_disconnect(move |socket, _reason| {
            if let Some(member) = member_of(socket) {
                leave(socket, &r, &member);
            }
        });
    });
}

/// The page at `/`, 404 elsewhere.
pub async fn page(req: Request<IncomingBody>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut res = if req.uri().path() == "/" {
        let mut res = Response::new(Full::new(Bytes::from_static(PAGE.as_bytes())));
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/html; charset=utf-8"),
        );
        res
    } else {
        Response::new(Full::new(Bytes::new()))
    };
    if req.uri().path() != "/" {
        *res.status_mut() = StatusCode::NOT_FOUND;
    }
    Ok(res)
}

/// The default location of the browser client: the `socket.io-client` package installed by
/// `npm ci --prefix interop`.
pub const DEFAULT_CLIENT_DIST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../interop/node_modules/socket.io-client/dist"
);

/// Serves the chat on `listener` until the server is closed.
pub async fn run(listener: tokio::net::TcpListener, client_dist: &str) -> std::io::Result<()> {
    let io = SocketIo::builder()
        .serve_client(client_dist)
        .try_build()
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("{e} (run `npm ci --prefix interop` first)"),
            )
        })?;
    setup(&io);
    let app = io.layer().layer(tower::service_fn(page));
    io.serve_with(listener, app).await
}
