//! The interop contract of `interop/socketio/README.md`, implemented with this crate: the same
//! behaviour as `interop/socketio/reference-server.mjs` (Node's socket.io).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use socketio::server::{ConnectError, Socket, SocketIo, SocketIoBuilder};
use socketio::{Value, to_value};

#[derive(Default)]
struct Logs {
    reasons: Mutex<Vec<serde_json::Value>>,
    disconnecting: Mutex<Vec<serde_json::Value>>,
}

fn v(json: serde_json::Value) -> Value {
    to_value(&json).unwrap()
}

fn sorted_rooms(socket: &Socket) -> Vec<String> {
    let mut rooms: Vec<String> = socket.rooms().iter().map(|r| r.to_string()).collect();
    rooms.sort();
    rooms
}

/// Rooms given as a string or an array of strings.
fn rooms_arg(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn setup(logs: Arc<Logs>) -> impl Fn(&Arc<Socket>) + Send + Sync + Clone + 'static {
    move |socket: &Arc<Socket>| {
        let hs = socket.handshake();
        let query: serde_json::Map<String, serde_json::Value> = hs
            .query()
            .into_iter()
            .map(|(k, val)| (k, serde_json::Value::String(val)))
            .collect();
        let mut welcome = v(json!({
            "id": socket.id().as_str(),
            "nsp": socket.namespace().name(),
            "query": query,
        }));
        if let Some(obj) = welcome.as_object_mut() {
            obj.insert("auth".to_owned(), hs.auth().clone());
        }
        socket.emit("welcome", &(welcome,)).unwrap();

        let count = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&count);
        socket.on_any(move |_, _| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        socket.on("count", move |_, ev| {
            if let Some(ack) = ev.ack() {
                ack.send(&(count.load(Ordering::Relaxed),)).unwrap();
            }
        });

        socket.on("echo", |socket, ev| {
            let args = ev.values();
            match ev.ack() {
                Some(ack) => ack.send(&args).unwrap(),
                None => {
                    socket.emit("echo", &args).unwrap();
                }
            }
        });
        socket.on("error", |socket, ev| {
            socket.emit("got-error-event", &ev.values()).unwrap();
        });
        socket.on_async("request-ack", |socket, ev| async move {
            let args = ev.values();
            let result = socket
                .timeout(Duration::from_secs(5))
                .emit_with_ack("need-ack", &args)
                .await;
            let mut out = socketio::Map::new();
            match result {
                Ok(reply) => {
                    out.insert("err".to_owned(), Value::Null);
                    out.insert("reply".to_owned(), Value::Array(reply.values()));
                }
                Err(e) => {
                    out.insert("err".to_owned(), Value::String(e.to_string()));
                    out.insert("reply".to_owned(), Value::Array(Vec::new()));
                }
            }
            socket.emit("ack-result", &(Value::Object(out),)).unwrap();
        });
        socket.on("join", |socket, ev| {
            let rooms = rooms_arg(&ev.arg::<Value>(0).unwrap_or(Value::Null));
            socket.join(rooms);
            if let Some(ack) = ev.ack() {
                ack.send(&(sorted_rooms(socket),)).unwrap();
            }
        });
        socket.on("leave", |socket, ev| {
            for room in rooms_arg(&ev.arg::<Value>(0).unwrap_or(Value::Null)) {
                socket.leave(&room);
            }
            if let Some(ack) = ev.ack() {
                ack.send(&(sorted_rooms(socket),)).unwrap();
            }
        });
        socket.on("to-room", |socket, ev| {
            let mut args = ev.values();
            if args.is_empty() {
                return;
            }
            let room = rooms_arg(&args.remove(0));
            socket.namespace().to(room).emit("room-msg", &args).unwrap();
        });
        socket.on("except-room", |socket, ev| {
            let mut args = ev.values();
            if args.is_empty() {
                return;
            }
            let room = rooms_arg(&args.remove(0));
            socket
                .namespace()
                .except(room)
                .emit("except-msg", &args)
                .unwrap();
        });
        socket.on("broadcast", |socket, ev| {
            socket
                .broadcast()
                .emit("broadcast-msg", &ev.values())
                .unwrap();
        });
        socket.on("room-broadcast", |socket, ev| {
            let mut args = ev.values();
            if args.is_empty() {
                return;
            }
            let room = rooms_arg(&args.remove(0));
            socket.to(room).emit("room-broadcast-msg", &args).unwrap();
        });
        socket.on("volatile", |socket, ev| {
            let n: Value = ev.arg(0).unwrap_or(Value::Null);
            socket.volatile().emit("volatile-msg", &(n,)).unwrap();
        });
        socket.on_async("broadcast-ack", |socket, ev| async move {
            let acks = socket
                .namespace()
                .timeout(Duration::from_secs(3))
                .emit_with_ack("ping-all", &())
                .await
                .unwrap();
            let mut responses: Vec<String> = acks
                .responses
                .iter()
                .filter_map(|r| r.arg::<String>(0).ok())
                .collect();
            responses.sort();
            let err = acks.error.map(|e| e.to_string());
            if let Some(ack) = ev.ack() {
                ack.send(&(json!({ "err": err, "responses": responses }),))
                    .unwrap();
            }
        });
        socket.on("disconnect-me", |socket, _| socket.disconnect(false));
        socket.on("close-me", |socket, _| socket.disconnect(true));
        let l = Arc::clone(&logs);
        socket.on("reasons", move |_, ev| {
            let list = l.reasons.lock().unwrap().clone();
            if let Some(ack) = ev.ack() {
                ack.send(&(list,)).unwrap();
            }
        });
        let l = Arc::clone(&logs);
        socket.on("disconnecting-log", move |_, ev| {
            let list = l.disconnecting.lock().unwrap().clone();
            if let Some(ack) = ev.ack() {
                ack.send(&(list,)).unwrap();
            }
        });
        socket.on_async("sockets-in", |socket, ev| async move {
            let room = rooms_arg(&ev.arg::<Value>(0).unwrap_or(Value::Null));
            let mut ids: Vec<String> = socket
                .namespace()
                .to(room)
                .fetch_sockets()
                .await
                .unwrap_or_default()
                .iter()
                .map(|s| s.id().to_string())
                .collect();
            ids.sort();
            if let Some(ack) = ev.ack() {
                ack.send(&(ids,)).unwrap();
            }
        });
        let l = Arc::clone(&logs);
        socket.on_disconnecting(move |socket, reason| {
            l.disconnecting.lock().unwrap().push(json!({
                "nsp": socket.namespace().name(),
                "reason": reason.as_str(),
                "roomsDuringDisconnecting": sorted_rooms(socket),
            }));
        });
        let l = Arc::clone(&logs);
        socket.on_disconnect(move |socket, reason| {
            l.reasons.lock().unwrap().push(json!({
                "nsp": socket.namespace().name(),
                "reason": reason.as_str(),
            }));
        });
    }
}

/// A server implementing the contract.
pub fn server(builder: SocketIoBuilder) -> SocketIo {
    let io = builder.build();
    let logs = Arc::new(Logs::default());
    let handlers = setup(logs);
    io.of("/").on_connection(handlers.clone());
    io.of("/custom").on_connection(handlers.clone());
    let private = io.of("/private");
    private.use_middleware(|socket: Arc<Socket>| async move {
        match socket
            .handshake()
            .auth()
            .get("token")
            .and_then(Value::as_str)
        {
            Some("secret") => Ok(()),
            _ => {
                Err(ConnectError::new("not authorized")
                    .with_data(v(json!({ "reason": "bad token" }))))
            }
        }
    });
    private.on_connection(handlers.clone());
    io.of_regex(r"^/dyn-\d+$").unwrap().on_connection(handlers);
    io
}
