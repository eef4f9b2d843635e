//! Test support: Rust cluster nodes implementing the control events that
//! `interop/redis/cluster.mjs` sends (the Node node of that script implements the same), a
//! private `redis-server` for tests that restart Redis, and a raw WebSocket client.
#![allow(dead_code, unreachable_pub, missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use socketio::Value;
use socketio::server::{BroadcastOperator, Namespace, SocketIo};
use socketio_redis::{RedisAdapterConfig, RedisAdapterFactory};
use tokio::net::{TcpListener, TcpStream};

pub const REDIS_URL: &str = "redis://127.0.0.1:6379/";

/// A key prefix no other test uses.
pub fn unique_key(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("t-{test}-{}-{nanos}", std::process::id())
}

pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop")
}

/// One Rust server of the cluster.
pub struct Node {
    pub name: String,
    pub addr: SocketAddr,
    pub io: SocketIo,
    pub redis: RedisAdapterFactory,
}

impl Node {
    pub async fn start(name: &str, url: &str, config: RedisAdapterConfig) -> Node {
        let client = socketio_redis::redis::Client::open(url).unwrap();
        let redis = RedisAdapterFactory::new(client, config).await.unwrap();
        let io = SocketIo::builder()
            .ping_interval(Duration::from_millis(2_000))
            .ping_timeout(Duration::from_millis(5_000))
            .adapter(redis.factory())
            .build();
        control(&io, name, &redis);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let serving = io.clone();
        tokio::spawn(async move { serving.serve(listener).await });
        redis.ready().await;
        Node {
            name: name.to_owned(),
            addr,
            io,
            redis,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn rooms_of(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// `io.to(opts.to).except(opts.except)`.
fn operator(nsp: &Arc<Namespace>, opts: &Value) -> BroadcastOperator {
    let mut op = nsp.to(rooms_of(opts.get("to")));
    let except = rooms_of(opts.get("except"));
    if !except.is_empty() {
        op = op.except(except);
    }
    op
}

fn args_of(opts: &Value) -> Vec<Value> {
    opts.get("args")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The control events of `interop/redis/cluster.mjs`.
pub fn control(io: &SocketIo, name: &str, redis: &RedisAdapterFactory) {
    let redis = redis.clone();
    control_with(io, name, move || {
        let redis = redis.clone();
        Box::pin(async move { redis.ready().await })
    });
}

type Ready =
    Arc<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send + Sync>;

/// The control events; `ready` resolves once the node's subscriptions are active.
pub fn control_with<F>(io: &SocketIo, name: &str, ready: F)
where
    F: Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        + Send
        + Sync
        + 'static,
{
    let ready: Ready = Arc::new(ready);
    let nsp = io.sockets();
    let notes: Arc<Mutex<Vec<Value>>> = Arc::default();
    let n = Arc::clone(&notes);
    nsp.on_server_side("note", move |ev| {
        n.lock().unwrap().push(Value::Array(ev.values()));
    });
    let me = name.to_owned();
    nsp.on_server_side("ping-servers", move |ev| {
        let arg: String = ev.arg(0).unwrap_or_default();
        if let Some(ack) = ev.ack() {
            ack.send(&format!("pong:{me}:{arg}")).unwrap();
        }
    });
    let name = name.to_owned();
    io.on_connection(move |socket| {
        let name = name.clone();
        let r = Arc::clone(&ready);
        socket.on_async("sync-subscriptions", move |_, ev| {
            let r = Arc::clone(&r);
            async move {
                r().await;
                if let Some(ack) = ev.ack() {
                    ack.send(&()).unwrap();
                }
            }
        });
        socket.on("whoami", move |_, ev| {
            if let Some(ack) = ev.ack() {
                ack.send(&(name.clone(),)).unwrap();
            }
        });
        socket.on("join", |socket, ev| {
            socket.join(rooms_of(ev.arg::<Value>(0).ok().as_ref()));
            if let Some(ack) = ev.ack() {
                let rooms = sorted(socket.rooms().iter().map(|r| r.to_string()).collect());
                ack.send(&(rooms,)).unwrap();
            }
        });
        socket.on("leave", |socket, ev| {
            let room: String = ev.arg(0).unwrap_or_default();
            socket.leave(&room);
            if let Some(ack) = ev.ack() {
                ack.send(&()).unwrap();
            }
        });
        socket.on("set-data", |socket, ev| {
            let data: Value = ev.arg(0).unwrap_or_default();
            socket.set_data(&data).unwrap();
            if let Some(ack) = ev.ack() {
                ack.send(&()).unwrap();
            }
        });
        socket.on("emit", |socket, ev| {
            let opts: Value = ev.arg(0).unwrap_or_default();
            let event = opts.get("event").and_then(Value::as_str).unwrap_or("none");
            operator(socket.namespace(), &opts)
                .emit(event, &args_of(&opts))
                .unwrap();
            if let Some(ack) = ev.ack() {
                ack.send(&(true,)).unwrap();
            }
        });
        socket.on_async("emit-ack", |socket, ev| async move {
            let opts: Value = ev.arg(0).unwrap_or_default();
            let event = opts.get("event").and_then(Value::as_str).unwrap_or("none");
            let timeout = opts.get("timeout").and_then(Value::as_u64).unwrap_or(5_000);
            let acks = operator(socket.namespace(), &opts)
                .timeout(Duration::from_millis(timeout))
                .emit_with_ack(event, &args_of(&opts))
                .await
                .unwrap();
            let responses: Vec<Value> = acks
                .responses
                .iter()
                .map(|r| r.values().into_iter().next().unwrap_or_default())
                .collect();
            let err = acks.error.map(|e| e.to_string());
            if let Some(ack) = ev.ack() {
                ack.send(&(serde_json::json!({ "err": err, "responses": to_json(&responses) }),))
                    .unwrap();
            }
        });
        socket.on_async("fetch", |socket, ev| async move {
            let opts: Value = ev.arg(0).unwrap_or_default();
            let reply = match operator(socket.namespace(), &opts).fetch_sockets().await {
                Ok(sockets) => {
                    let mut list: Vec<serde_json::Value> = sockets
                        .iter()
                        .map(|s| {
                            serde_json::json!({
                                "id": s.id().as_str(),
                                "rooms": sorted(s.rooms().iter().map(|r| r.to_string()).collect()),
                                "data": to_json(&[s.data_value()])[0],
                                "auth": to_json(&[s.handshake().get("auth").cloned().unwrap_or_default()])[0],
                                "hasTime": s.handshake().get("time").and_then(Value::as_str).is_some(),
                            })
                        })
                        .collect();
                    list.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
                    serde_json::json!({ "err": null, "sockets": list })
                }
                Err(e) => serde_json::json!({ "err": e.to_string(), "sockets": [] }),
            };
            if let Some(ack) = ev.ack() {
                ack.send(&(reply,)).unwrap();
            }
        });
        socket.on_async("remote", |socket, ev| async move {
            // {id, op: emit|join|leave|disconnect, event?, args?, room?, close?}
            let opts: Value = ev.arg(0).unwrap_or_default();
            let id = opts.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
            let sockets = socket.namespace().fetch_sockets().await.unwrap_or_default();
            let found = sockets.iter().find(|s| s.id().as_str() == id);
            if let Some(target) = found {
                let room = opts.get("room").and_then(Value::as_str).unwrap_or("");
                match opts.get("op").and_then(Value::as_str) {
                    Some("emit") => {
                        let event = opts.get("event").and_then(Value::as_str).unwrap_or("none");
                        target.emit(event, &args_of(&opts)).unwrap();
                    }
                    Some("join") => target.join(room),
                    Some("leave") => target.leave(room),
                    Some("disconnect") => {
                        target.disconnect(opts.get("close").and_then(Value::as_bool) == Some(true))
                    }
                    _ => {}
                }
            }
            if let Some(ack) = ev.ack() {
                ack.send(&(found.is_some(),)).unwrap();
            }
        });
        socket.on("sockets-join", |socket, ev| {
            let opts: Value = ev.arg(0).unwrap_or_default();
            operator(socket.namespace(), &opts).sockets_join(rooms_of(opts.get("rooms")));
            if let Some(ack) = ev.ack() {
                ack.send(&()).unwrap();
            }
        });
        socket.on("sockets-leave", |socket, ev| {
            let opts: Value = ev.arg(0).unwrap_or_default();
            operator(socket.namespace(), &opts).sockets_leave(rooms_of(opts.get("rooms")));
            if let Some(ack) = ev.ack() {
                ack.send(&()).unwrap();
            }
        });
        socket.on("disconnect-sockets", |socket, ev| {
            let opts: Value = ev.arg(0).unwrap_or_default();
            let close = opts.get("close").and_then(Value::as_bool) == Some(true);
            // Answer first: the caller may be among the sockets disconnected.
            if let Some(ack) = ev.ack() {
                ack.send(&()).unwrap();
            }
            operator(socket.namespace(), &opts).disconnect_sockets(close);
        });
        socket.on("server-side-emit", |socket, ev| {
            let opts: Value = ev.arg(0).unwrap_or_default();
            let event = opts.get("event").and_then(Value::as_str).unwrap_or("none");
            socket
                .namespace()
                .server_side_emit(event, &args_of(&opts))
                .unwrap();
            if let Some(ack) = ev.ack() {
                ack.send(&()).unwrap();
            }
        });
        socket.on_async("server-side-emit-ack", |socket, ev| async move {
            let opts: Value = ev.arg(0).unwrap_or_default();
            let event = opts.get("event").and_then(Value::as_str).unwrap_or("none");
            let acks = socket
                .namespace()
                .server_side_emit_with_ack(event, &args_of(&opts))
                .await
                .unwrap();
            let err = acks.error.map(|e| e.to_string());
            if let Some(ack) = ev.ack() {
                ack.send(&(serde_json::json!({ "err": err, "responses": to_json(&acks.responses) }),))
                    .unwrap();
            }
        });
        socket.on_async("server-count", |socket, ev| async move {
            let n = socket.namespace().server_count().await;
            if let Some(ack) = ev.ack() {
                ack.send(&(n,)).unwrap();
            }
        });
        let notes = Arc::clone(&notes);
        socket.on("server-notes", move |_, ev| {
            let list = to_json(&notes.lock().unwrap());
            if let Some(ack) = ev.ack() {
                ack.send(&(list,)).unwrap();
            }
        });
    });
}

/// Values as JSON (binary as Node's JSON form of a Buffer, good enough for comparisons).
pub fn to_json(values: &[Value]) -> serde_json::Value {
    serde_json::Value::Array(
        values
            .iter()
            .map(|v| serde_json::to_value(v).unwrap_or(serde_json::Value::Null))
            .collect(),
    )
}

/// Runs `interop/redis/<script>` with `args`; panics with its output unless it succeeds.
pub async fn run_node(script: &str, args: &[String]) -> String {
    let dir = interop_dir();
    assert!(
        dir.join("node_modules/@socket.io/redis-adapter").exists(),
        "npm dependencies missing: run `npm ci --prefix interop`"
    );
    let out = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new("node")
            .arg(dir.join("redis").join(script))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the node script hung")
    .expect("could not run node");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} {args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("RESULT ok"), "no RESULT line:\n{stdout}");
    // Shown with `--no-capture`.
    eprintln!("{stdout}");
    stdout
}

/// A free port in `range` (with `bus`, port + 10000 too, for a cluster node). The ranges are
/// below the kernel's ephemeral ports (32768 and up here), so that a port a test's Redis
/// leaves free for a moment (a restart) is not handed to another test's socket meanwhile; a
/// random start keeps parallel tests apart.
pub fn free_port(range: std::ops::Range<u16>, bus: bool) -> u16 {
    let span = u64::from(range.end - range.start);
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        ^ u64::from(std::process::id()).wrapping_mul(0x9E37_79B9);
    for _ in 0..1_000 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let port = range.start + ((seed >> 33) % span) as u16;
        let free = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(port) && (!bus || free(port + 10_000)) {
            return port;
        }
    }
    panic!("no free port in {range:?}");
}

/// A `redis-server` of the test's own, on a free port; killed when dropped.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<tokio::process::Child>,
}

impl PrivateRedis {
    pub async fn start() -> PrivateRedis {
        let port = free_port(10_000..12_000, false);
        let mut redis = PrivateRedis { port, child: None };
        redis.spawn().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    async fn spawn(&mut self) {
        let child = tokio::process::Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server not installed");
        self.child = Some(child);
        // Bounded wait for the port to accept connections.
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    /// Kills the server (no data is kept) and waits for it to exit.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }

    /// Starts it again on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.spawn().await;
    }
}

/// A raw Socket.IO client over WebSocket (text packets only).
pub struct Raw {
    ws: tokio_websockets::WebSocketStream<TcpStream>,
    pub id: String,
}

impl Raw {
    /// Connects to the main namespace.
    pub async fn connect(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).await.unwrap();
        let uri: http::Uri = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket")
            .parse()
            .unwrap();
        let (ws, _) = tokio_websockets::ClientBuilder::from_uri(uri)
            .connect_on(stream)
            .await
            .unwrap();
        let mut raw = Raw {
            ws,
            id: String::new(),
        };
        let open = raw.recv().await.unwrap();
        assert!(open.starts_with("0{"), "{open}");
        raw.send("40").await;
        let reply = raw.recv().await.unwrap();
        let json: serde_json::Value =
            serde_json::from_str(reply.strip_prefix("40").unwrap()).unwrap();
        raw.id = json["sid"].as_str().unwrap().to_owned();
        raw
    }

    pub async fn send(&mut self, text: &str) {
        self.ws
            .send(tokio_websockets::Message::text(text.to_owned()))
            .await
            .unwrap();
    }

    /// The next text packet (pings answered), or None once closed; at most 20 s.
    pub async fn recv(&mut self) -> Option<String> {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(20), self.ws.next())
                .await
                .expect("nothing received for 20 s")?
                .ok()?;
            let Some(text) = msg.as_text() else { continue };
            if text == "2" {
                self.send("3").await;
                continue;
            }
            return Some(text.to_owned());
        }
    }

    /// The next text packet if one arrives within `wait`.
    pub async fn try_recv(&mut self, wait: Duration) -> Option<String> {
        tokio::time::timeout(wait, self.recv()).await.ok().flatten()
    }
}

/// A Redis Cluster of the test's own (`nodes` primaries, no replicas) on free local ports,
/// in a temporary folder; its processes are killed (by handle) and the folder removed when
/// dropped.
pub struct RedisCluster {
    pub ports: Vec<u16>,
    dir: PathBuf,
    children: Vec<tokio::process::Child>,
}

impl RedisCluster {
    pub async fn start(nodes: usize) -> RedisCluster {
        let dir = std::env::temp_dir().join(unique_key("redis-cluster"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut ports = Vec::new();
        while ports.len() < nodes {
            let port = free_port(12_000..20_000, true);
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
        let mut children = Vec::new();
        for port in &ports {
            let child = tokio::process::Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    &format!("nodes-{port}.conf"),
                    "--dir",
                    dir.to_str().unwrap(),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("redis-server not installed");
            children.push(child);
        }
        for port in &ports {
            let mut up = false;
            for _ in 0..200 {
                if TcpStream::connect(("127.0.0.1", *port)).await.is_ok() {
                    up = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            assert!(up, "redis-server did not start on {port}");
        }
        let mut create = tokio::process::Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for port in &ports {
            create.arg(format!("127.0.0.1:{port}"));
        }
        let out = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        // Bounded wait until every node sees the cluster as ok.
        for port in &ports {
            let mut ok = false;
            for _ in 0..400 {
                let info = tokio::process::Command::new("redis-cli")
                    .args(["-p", &port.to_string(), "cluster", "info"])
                    .output()
                    .await
                    .unwrap();
                if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                    ok = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            assert!(ok, "the cluster did not become ready on {port}");
        }
        RedisCluster {
            ports,
            dir,
            children,
        }
    }

    pub fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}/"))
            .collect()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One Rust server on the sharded adapter.
pub struct ShardedNode {
    pub addr: SocketAddr,
    pub io: SocketIo,
    pub redis: socketio_redis::ShardedRedisAdapterFactory,
}

impl ShardedNode {
    pub async fn start(
        name: &str,
        cluster: &RedisCluster,
        config: socketio_redis::ShardedRedisAdapterConfig,
    ) -> ShardedNode {
        let nodes = socketio_redis::redis::cluster::ClusterClientBuilder::new(cluster.urls());
        let redis = socketio_redis::ShardedRedisAdapterFactory::new(nodes, config)
            .await
            .unwrap();
        let io = SocketIo::builder()
            .ping_interval(Duration::from_millis(2_000))
            .ping_timeout(Duration::from_millis(5_000))
            .adapter(redis.factory())
            .build();
        let ready = redis.clone();
        control_with(&io, name, move || {
            let ready = ready.clone();
            Box::pin(async move { ready.ready().await })
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let serving = io.clone();
        tokio::spawn(async move { serving.serve(listener).await });
        redis.ready().await;
        ShardedNode { addr, io, redis }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}
