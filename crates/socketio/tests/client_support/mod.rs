//! Support for the client's tests: a recorder of everything a socket and its Manager report, a
//! TCP proxy that can cut, refuse or black-hole connections, Node servers that can be
//! restarted on the same port, and the scenarios run against both our server and Node's.
#![allow(dead_code, unreachable_pub, missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use socketio::client::{
    AckError, DisconnectReason, Manager, ManagerOptions, SocketBuilder, TransportKind, io,
};
use socketio::{Value, to_value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};

/// Turns a hang into a failure; never a timed assertion.
pub const WATCHDOG: Duration = Duration::from_secs(30);

pub fn v(json: serde_json::Value) -> Value {
    to_value(&json).unwrap()
}

pub fn bin(bytes: &[u8]) -> Value {
    Value::Binary(Bytes::copy_from_slice(bytes))
}

// ---------------------------------------------------------------------------------------------
// Recording what happens

/// Something a socket or a Manager reported.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    Connect {
        nsp: String,
        id: String,
        recovered: bool,
    },
    ConnectError {
        nsp: String,
        message: String,
        data: Option<Value>,
        from_server: bool,
    },
    Disconnect {
        nsp: String,
        reason: DisconnectReason,
    },
    Event {
        nsp: String,
        name: String,
        args: Vec<Value>,
    },
    Outgoing {
        nsp: String,
        name: String,
        args: Vec<Value>,
    },
    Open,
    Close(DisconnectReason),
    Error(String),
    ReconnectAttempt(u32),
    Reconnect(u32),
    ReconnectError(String),
    ReconnectFailed,
    Upgrade(TransportKind),
}

pub type Tx = mpsc::UnboundedSender<Note>;

/// The notes, in order. `log` keeps every note read so far; `wait` takes the first note it
/// has not taken before that matches, whether already read or still to come, so that waits
/// may come in any order.
pub struct Notes {
    rx: mpsc::UnboundedReceiver<Note>,
    pub log: Vec<Note>,
    taken: Vec<bool>,
}

pub fn recorder() -> (Tx, Notes) {
    let (tx, rx) = mpsc::unbounded_channel();
    (
        tx,
        Notes {
            rx,
            log: Vec::new(),
            taken: Vec::new(),
        },
    )
}

impl Notes {
    /// Reads one more note into the log.
    pub async fn next(&mut self) -> Note {
        let note = tokio::time::timeout(WATCHDOG, self.rx.recv())
            .await
            .unwrap_or_else(|_| panic!("nothing within the watchdog; so far: {:#?}", self.log))
            .expect("recorder closed");
        self.log.push(note.clone());
        self.taken.push(false);
        note
    }

    /// Takes the first note not taken yet that `f` picks.
    pub async fn wait<T>(&mut self, mut f: impl FnMut(&Note) -> Option<T>) -> T {
        for (i, note) in self.log.iter().enumerate() {
            if !self.taken[i]
                && let Some(t) = f(note)
            {
                self.taken[i] = true;
                return t;
            }
        }
        loop {
            let note = self.next().await;
            if let Some(t) = f(&note) {
                if let Some(last) = self.taken.last_mut() {
                    *last = true;
                }
                return t;
            }
        }
    }

    /// Like `wait`, but a note already taken counts too (and is not taken again).
    pub async fn seen_or_wait<T>(&mut self, mut f: impl FnMut(&Note) -> Option<T>) -> T {
        if let Some(t) = self.log.iter().find_map(&mut f) {
            return t;
        }
        self.wait(f).await
    }

    pub async fn event(&mut self, nsp: &str, name: &str) -> Vec<Value> {
        self.wait(|n| match n {
            Note::Event {
                nsp: s,
                name: e,
                args,
            } if s == nsp && e == name => Some(args.clone()),
            _ => None,
        })
        .await
    }

    pub async fn connected(&mut self, nsp: &str) -> (String, bool) {
        self.wait(|n| match n {
            Note::Connect {
                nsp: s,
                id,
                recovered,
            } if s == nsp => Some((id.clone(), *recovered)),
            _ => None,
        })
        .await
    }

    pub async fn connect_error(&mut self, nsp: &str) -> (String, Option<Value>) {
        self.wait(|n| match n {
            Note::ConnectError {
                nsp: s,
                message,
                data,
                ..
            } if s == nsp => Some((message.clone(), data.clone())),
            _ => None,
        })
        .await
    }

    pub async fn disconnected(&mut self, nsp: &str) -> DisconnectReason {
        self.wait(|n| match n {
            Note::Disconnect { nsp: s, reason } if s == nsp => Some(*reason),
            _ => None,
        })
        .await
    }

    pub async fn manager(&mut self, want: impl Fn(&Note) -> bool) -> Note {
        self.wait(|n| want(n).then(|| n.clone())).await
    }

    /// The events named `name` of `nsp` read so far.
    pub fn events(&self, nsp: &str, name: &str) -> Vec<Vec<Value>> {
        self.log
            .iter()
            .filter_map(|n| match n {
                Note::Event {
                    nsp: s,
                    name: e,
                    args,
                } if s == nsp && e == name => Some(args.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Adds listeners that record everything the socket reports, outgoing events included.
pub fn record(builder: SocketBuilder, tx: &Tx) -> SocketBuilder {
    let (t1, t2, t3, t4, t5) = (tx.clone(), tx.clone(), tx.clone(), tx.clone(), tx.clone());
    builder
        .on_any(move |s, e| {
            let _ = t1.send(Note::Event {
                nsp: s.nsp().to_owned(),
                name: e.name().to_owned(),
                args: e.values(),
            });
        })
        .on_any_outgoing(move |s, name, args| {
            let _ = t2.send(Note::Outgoing {
                nsp: s.nsp().to_owned(),
                name: name.to_owned(),
                args: args.to_vec(),
            });
        })
        .on_connect(move |s| {
            let _ = t3.send(Note::Connect {
                nsp: s.nsp().to_owned(),
                id: s.id().unwrap_or_default(),
                recovered: s.recovered(),
            });
        })
        .on_connect_error(move |s, e| {
            let _ = t4.send(Note::ConnectError {
                nsp: s.nsp().to_owned(),
                message: e.message().to_owned(),
                data: e.data().cloned(),
                from_server: e.is_from_server(),
            });
        })
        .on_disconnect(move |s, reason| {
            let _ = t5.send(Note::Disconnect {
                nsp: s.nsp().to_owned(),
                reason,
            });
        })
}

/// Adds listeners that record every Manager event.
pub fn record_manager(manager: &Manager, tx: &Tx) {
    let t = tx.clone();
    manager.on_open(move |_| {
        let _ = t.send(Note::Open);
    });
    let t = tx.clone();
    manager.on_close(move |_, r| {
        let _ = t.send(Note::Close(r));
    });
    let t = tx.clone();
    manager.on_error(move |_, e| {
        let _ = t.send(Note::Error(e.message().to_owned()));
    });
    let t = tx.clone();
    manager.on_reconnect_attempt(move |_, n| {
        let _ = t.send(Note::ReconnectAttempt(n));
    });
    let t = tx.clone();
    manager.on_reconnect(move |_, n| {
        let _ = t.send(Note::Reconnect(n));
    });
    let t = tx.clone();
    manager.on_reconnect_error(move |_, e| {
        let _ = t.send(Note::ReconnectError(e.message().to_owned()));
    });
    let t = tx.clone();
    manager.on_reconnect_failed(move |_| {
        let _ = t.send(Note::ReconnectFailed);
    });
    let t = tx.clone();
    manager.on_upgrade(move |_, kind| {
        let _ = t.send(Note::Upgrade(kind));
    });
}

/// Awaits a future under the watchdog.
pub async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(WATCHDOG, f)
        .await
        .expect("nothing within the watchdog")
}

// ---------------------------------------------------------------------------------------------
// A TCP proxy that can cut, refuse and black-hole

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward both ways.
    Pass,
    /// Accept new connections and close them at once.
    Refuse,
    /// Keep connections open but drop every byte, both ways.
    Blackhole,
}

struct ProxyState {
    mode: Mutex<Mode>,
    blackhole: AtomicBool,
    cut: watch::Sender<u64>,
}

/// A proxy on 127.0.0.1 in front of `target`.
pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<ProxyState>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.state.cut.send_modify(|g| *g += 1);
    }
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, _) = watch::channel(0u64);
        let state = Arc::new(ProxyState {
            mode: Mutex::new(Mode::Pass),
            blackhole: AtomicBool::new(false),
            cut,
        });
        let s = Arc::clone(&state);
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mode = *s.mode.lock().unwrap();
                if mode == Mode::Refuse {
                    drop(client);
                    continue;
                }
                let mut cut = s.cut.subscribe();
                cut.borrow_and_update();
                let s = Arc::clone(&s);
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::select! {
                        _ = pump(cr, sw, &s) => {}
                        _ = pump(sr, cw, &s) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy {
            addr,
            state,
            accept,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sets what happens to new connections (and, for `Blackhole`, to open ones).
    pub fn set(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
        self.state
            .blackhole
            .store(mode == Mode::Blackhole, Ordering::SeqCst);
    }

    /// Closes every connection open now, both sides.
    pub fn cut(&self) {
        self.state.cut.send_modify(|g| *g += 1);
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    state: &ProxyState,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if state.blackhole.load(Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Node servers

pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop")
}

/// A Node server script printing `LISTENING <port>`; killed when dropped.
pub struct NodeServer {
    child: Child,
    pub port: u16,
    script: PathBuf,
    args: Vec<String>,
}

impl NodeServer {
    /// Starts `script` (relative to `interop/`) on a free port.
    pub async fn start(script: &str, args: &[&str]) -> NodeServer {
        let dir = interop_dir();
        assert!(
            dir.join("node_modules/socket.io").exists(),
            "npm dependencies missing: run `npm ci --prefix interop`"
        );
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        Self::spawn(dir.join(script), args, 0).await
    }

    async fn spawn(script: PathBuf, args: Vec<String>, port: u16) -> NodeServer {
        let mut child = Command::new("node")
            .arg(&script)
            .args(["--port", &port.to_string()])
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("cannot run node");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = within(lines.next_line())
            .await
            .unwrap()
            .expect("the server exited before listening");
        let port = first
            .strip_prefix("LISTENING ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .parse()
            .unwrap();
        // Its log must be read, or a full pipe would stall the server.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        NodeServer {
            child,
            port,
            script,
            args,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Kills the server (connections end abruptly) and waits until it is gone.
    pub async fn kill(&mut self) {
        self.child.kill().await.unwrap();
    }

    /// Starts the same server again on the same port.
    pub async fn restart(&mut self) {
        let again = Self::spawn(self.script.clone(), self.args.clone(), self.port).await;
        *self = again;
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios, run against our server and Node's (both implement interop/socketio/README.md)

/// Arguments of every kind, binary at several depths included; each must come back equal.
pub fn echo_samples() -> Vec<Vec<Value>> {
    vec![
        vec![],
        vec![v(json!("hello"))],
        v(json!([
            1,
            -7,
            1_099_511_627_776u64,
            3.25,
            "héllo €🙂",
            "",
            true,
            false,
            null,
            {"a": [1, {"b": null}]},
            [[], {}],
            {"ключ": "значение"}
        ]))
        .as_array()
        .unwrap()
        .clone(),
        vec![bin(&[0, 1, 127, 128, 255])],
        vec![Value::Object(
            [(
                "a",
                Value::Array(vec![
                    bin(&[1, 2, 3]),
                    Value::Object([("b", bin(&[4]))].into_iter().collect()),
                ]),
            )]
            .into_iter()
            .collect(),
        )],
        vec![
            v(json!("text")),
            bin(&[1]),
            Value::Array(vec![bin(&[2]), v(json!("in between")), bin(&[3])]),
            Value::Object(
                [("deep", Value::Array(vec![bin(&[4])]))]
                    .into_iter()
                    .collect(),
            ),
            bin(&[5]),
        ],
        vec![bin(&[])],
        vec![Value::Binary(Bytes::from(
            (0..64 * 1024).map(|i| (i % 251) as u8).collect::<Vec<u8>>(),
        ))],
        vec![v(json!("x".repeat(100 * 1024)))],
    ]
}

/// The transport a connection starts on, as the server's handshake query names it.
pub fn first_transport(transports: &[TransportKind]) -> &'static str {
    transports[0].as_str()
}

/// Connects over `transports`, checks the welcome (id, namespace, auth, query), the upgrade
/// when polling may upgrade, then echoes every sample, in order, and an event called `error`.
pub async fn transports_and_echo(url: &str, options: ManagerOptions, transports: &[TransportKind]) {
    let (tx, mut notes) = recorder();
    let options = options
        .transports(transports.iter().copied())
        .query("x", "1");
    let manager = Manager::new(url, options).unwrap();
    record_manager(&manager, &tx);
    let socket = record(manager.socket("/").auth(&json!({"user": "ann"})), &tx).build();
    let (id, recovered) = notes.connected("/").await;
    assert!(!recovered);
    assert_eq!(socket.id().as_deref(), Some(id.as_str()));
    let welcome = notes.event("/", "welcome").await;
    let w = &welcome[0];
    assert_eq!(w.get("id").and_then(Value::as_str), Some(id.as_str()));
    assert_eq!(w.get("nsp").and_then(Value::as_str), Some("/"));
    assert_eq!(w.get("auth"), Some(&v(json!({"user": "ann"}))));
    let query = w.get("query").unwrap();
    assert_eq!(query.get("EIO").and_then(Value::as_str), Some("4"));
    assert_eq!(query.get("x").and_then(Value::as_str), Some("1"));
    assert_eq!(
        query.get("transport").and_then(Value::as_str),
        Some(first_transport(transports))
    );
    let engine = manager.engine().unwrap();
    assert_ne!(engine.sid(), id, "the socket id is not the engine id");
    let upgrades = transports.len() > 1 && transports[0] == TransportKind::Polling;
    if upgrades {
        notes
            .seen_or_wait(|n| matches!(n, Note::Upgrade(TransportKind::WebSocket)).then_some(()))
            .await;
        assert_eq!(engine.transport(), TransportKind::WebSocket);
    }

    let samples = echo_samples();
    for args in &samples {
        socket.emit("echo", args).unwrap();
    }
    for (i, args) in samples.iter().enumerate() {
        assert_eq!(&notes.event("/", "echo").await, args, "sample {i}");
    }
    socket.emit("error", &("oops", json!({"code": 7}))).unwrap();
    let got = notes.event("/", "got-error-event").await;
    assert_eq!(got, vec![v(json!("oops")), v(json!({"code": 7}))]);
    socket.emit("echo", &("still here",)).unwrap();
    assert_eq!(notes.event("/", "echo").await, vec![v(json!("still here"))]);
    assert!(socket.connected());
    let expected = if upgrades {
        TransportKind::WebSocket
    } else {
        transports[0]
    };
    assert_eq!(manager.engine().unwrap().transport(), expected);
    // Every emit was seen going out, with its arguments, in order.
    let outgoing = notes.wait_outgoing(samples.len() + 2).await;
    let names: Vec<&str> = outgoing.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names.len(), samples.len() + 2);
    for (i, args) in samples.iter().enumerate() {
        assert_eq!(&outgoing[i], &("echo".to_owned(), args.clone()));
    }
    assert_eq!(names[samples.len()], "error");
    socket.disconnect();
    assert_eq!(
        notes.disconnected("/").await,
        DisconnectReason::IoClientDisconnect
    );
    assert!(!socket.active());
}

/// `io` shares one Manager between namespaces; unknown namespaces and a refusing middleware
/// give `connect_error`; new credentials and `connect()` get in.
pub async fn multiplexed_namespaces(url: &str, options: ManagerOptions) {
    let (tx, mut notes) = recorder();
    let main = record(io(url, options.clone()).unwrap(), &tx).build();
    let custom = record(
        io(&format!("{url}/custom"), options.clone())
            .unwrap()
            .auth(&json!({"who": "custom"})),
        &tx,
    )
    .build();
    let dynamic = record(io(&format!("{url}/dyn-7"), options.clone()).unwrap(), &tx).build();
    let mut ids = Vec::new();
    for nsp in ["/", "/custom", "/dyn-7"] {
        ids.push(notes.connected(nsp).await.0);
        let welcome = notes.event(nsp, "welcome").await;
        assert_eq!(welcome[0].get("nsp").and_then(Value::as_str), Some(nsp));
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "three distinct socket ids");
    let sid = main.manager().engine().unwrap().sid().to_owned();
    for s in [&custom, &dynamic] {
        assert_eq!(s.manager().engine().unwrap().sid(), sid, "one connection");
    }
    assert_eq!(
        notes
            .log
            .iter()
            .filter(|n| matches!(n, Note::Event { name, .. } if name == "welcome"))
            .count(),
        3
    );

    for s in [&main, &custom, &dynamic] {
        s.emit("echo", &(s.nsp(),)).unwrap();
    }
    for nsp in ["/", "/custom", "/dyn-7"] {
        assert_eq!(notes.event(nsp, "echo").await, vec![v(json!(nsp))]);
    }

    for unknown in ["/nope", "/dyn-x"] {
        let s = record(
            io(&format!("{url}{unknown}"), options.clone()).unwrap(),
            &tx,
        )
        .build();
        let (message, data) = notes.connect_error(unknown).await;
        assert_eq!(message, "Invalid namespace");
        assert_eq!(data, None);
        assert!(!s.active() && !s.connected());
        assert_eq!(s.manager().engine().unwrap().sid(), sid);
    }

    let private = record(io(&format!("{url}/private"), options.clone()).unwrap(), &tx).build();
    let (message, data) = notes.connect_error("/private").await;
    assert_eq!(message, "not authorized");
    assert_eq!(data, Some(v(json!({"reason": "bad token"}))));
    assert!(!private.active());
    private.set_auth(&json!({"token": "secret"}));
    private.connect();
    notes.connected("/private").await;
    let welcome = notes.event("/private", "welcome").await;
    assert_eq!(welcome[0].get("auth"), Some(&v(json!({"token": "secret"}))));
    private.emit("echo", &("private",)).unwrap();
    assert_eq!(
        notes.event("/private", "echo").await,
        vec![v(json!("private"))]
    );
    main.emit("echo", &("main again",)).unwrap();
    assert_eq!(notes.event("/", "echo").await, vec![v(json!("main again"))]);
    for s in [&main, &custom, &dynamic, &private] {
        assert!(s.connected(), "{}", s.nsp());
        assert_eq!(s.manager().engine().unwrap().sid(), sid);
    }
    // A second `io` for a namespace the shared Manager has gets its own connection.
    let second = record(io(url, options).unwrap(), &tx).build();
    notes.connected("/").await;
    assert_ne!(second.manager().engine().unwrap().sid(), sid);
    second.disconnect();
    main.manager().close();
}

/// Acknowledgements in both directions, binary included, and an acknowledgement timeout.
pub async fn acks_both_ways(url: &str, options: ManagerOptions) {
    let (tx, mut notes) = recorder();
    let manager = Manager::new(url, options).unwrap();
    let socket = record(manager.socket("/"), &tx)
        .on("need-ack", |_, event| {
            let args = event.values();
            let ack = event.ack().expect("the server asked for an ack");
            if args == [v(json!("empty-reply"))] {
                ack.send(&()).unwrap();
            } else {
                ack.send(&(
                    "reply",
                    args.len(),
                    &args,
                    Bytes::from_static(&[0xac, 0x4b]),
                ))
                .unwrap();
            }
            // A second answer is ignored.
            ack.send(&("again",)).unwrap();
        })
        .build();
    notes.connected("/").await;
    let mut emitted = 0;

    let answer = within(socket.emit_with_ack("echo", &(1, "two")))
        .await
        .unwrap();
    emitted += 1;
    assert_eq!(answer.values(), vec![v(json!(1)), v(json!("two"))]);
    let (n, s): (u32, String) = answer.args().unwrap();
    assert_eq!((n, s.as_str()), (1, "two"));

    let answer = within(socket.emit_with_ack("echo", &())).await.unwrap();
    emitted += 1;
    assert!(answer.values().is_empty());

    let nested = Value::Object(
        [(
            "nested",
            Value::Array(vec![
                bin(&[1, 2]),
                Value::Object([("deeper", bin(&[3]))].into_iter().collect()),
            ]),
        )]
        .into_iter()
        .collect(),
    );
    let args = vec![nested, bin(&[9, 9, 9])];
    let answer = within(socket.emit_with_ack("echo", &args)).await.unwrap();
    emitted += 1;
    assert_eq!(answer.values(), args);

    let answer = within(
        socket
            .timeout(Duration::from_secs(10))
            .emit_with_ack("echo", &("x", 2)),
    )
    .await
    .unwrap();
    emitted += 1;
    assert_eq!(answer.values(), vec![v(json!("x")), v(json!(2))]);

    let requests = vec![
        vec![
            v(json!(1)),
            v(json!("a")),
            Value::Object([("b", bin(&[7]))].into_iter().collect()),
        ],
        vec![],
        vec![v(json!("empty-reply"))],
        vec![v(json!({"list": [true, null, "s"]}))],
    ];
    for r in &requests {
        socket.emit("request-ack", r).unwrap();
        emitted += 1;
    }
    let asked = notes.collect("/", "need-ack", requests.len()).await;
    let results = notes.collect("/", "ack-result", requests.len()).await;
    for (i, r) in requests.iter().enumerate() {
        assert_eq!(&asked[i], r);
        let result = &results[i];
        let expected = if r == &[v(json!("empty-reply"))] {
            Value::Array(vec![])
        } else {
            Value::Array(vec![
                v(json!("reply")),
                v(json!(r.len())),
                Value::Array(r.clone()),
                bin(&[0xac, 0x4b]),
            ])
        };
        assert_eq!(result[0].get("err"), Some(&Value::Null));
        assert_eq!(result[0].get("reply"), Some(&expected));
    }

    let late = within(
        socket
            .timeout(Duration::from_millis(200))
            .emit_with_ack("no-such-event", &("x",)),
    )
    .await;
    emitted += 1;
    assert!(matches!(late, Err(AckError::Timeout)), "{late:?}");

    let count = within(socket.emit_with_ack("count", &())).await.unwrap();
    emitted += 1;
    assert_eq!(count.arg::<u64>(0).unwrap(), emitted);
    assert!(
        notes.events("/", "echo").is_empty(),
        "acked echoes are not echoed"
    );
    socket.disconnect();
}

/// `io server disconnect` (one namespace, and all of them with `close-me`) and
/// `io client disconnect`: final, and the Manager closes once no socket is left.
pub async fn disconnections(url: &str, options: ManagerOptions) {
    let (tx, mut notes) = recorder();
    let manager = Manager::new(url, options.clone()).unwrap();
    record_manager(&manager, &tx);
    let a = record(manager.socket("/dyn-1"), &tx).build();
    let b = record(manager.socket("/dyn-2"), &tx).build();
    notes.connected("/dyn-1").await;
    notes.connected("/dyn-2").await;

    a.emit("disconnect-me", &()).unwrap();
    assert_eq!(
        notes.disconnected("/dyn-1").await,
        DisconnectReason::IoServerDisconnect
    );
    assert!(!a.active() && !a.connected());
    // The other namespace keeps the connection.
    b.emit("echo", &("b",)).unwrap();
    assert_eq!(notes.event("/dyn-2", "echo").await, vec![v(json!("b"))]);
    assert!(manager.engine().is_some());

    b.disconnect();
    assert_eq!(
        notes.disconnected("/dyn-2").await,
        DisconnectReason::IoClientDisconnect
    );
    assert_eq!(
        notes.manager(|n| matches!(n, Note::Close(_))).await,
        Note::Close(DisconnectReason::ForcedClose)
    );
    assert!(!b.active());
    // Nothing reconnects by itself; `connect()` does.
    b.connect();
    notes.connected("/dyn-2").await;
    assert!(
        !notes
            .log
            .iter()
            .any(|n| matches!(n, Note::ReconnectAttempt(_))),
        "{:#?}",
        notes.log
    );
    assert!(!a.connected());

    // close-me: every namespace of the connection hears `io server disconnect`.
    let other = Manager::new(url, options).unwrap();
    record_manager(&other, &tx);
    let c1 = record(other.socket("/dyn-3"), &tx).build();
    let c2 = record(other.socket("/dyn-4"), &tx).build();
    notes.connected("/dyn-3").await;
    notes.connected("/dyn-4").await;
    c1.emit("close-me", &()).unwrap();
    assert_eq!(
        notes.disconnected("/dyn-3").await,
        DisconnectReason::IoServerDisconnect
    );
    assert_eq!(
        notes.disconnected("/dyn-4").await,
        DisconnectReason::IoServerDisconnect
    );
    assert!(!c1.active() && !c2.active());

    // The server saw each one as it should.
    let mut reasons = Vec::new();
    for _ in 0..100 {
        let answer = within(b.emit_with_ack("reasons", &())).await.unwrap();
        reasons = answer.arg::<Vec<Value>>(0).unwrap();
        if reasons.len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reason_of = |nsp: &str| {
        reasons
            .iter()
            .filter(|r| r.get("nsp").and_then(Value::as_str) == Some(nsp))
            .filter_map(|r| r.get("reason").and_then(Value::as_str).map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert_eq!(reason_of("/dyn-1"), ["server namespace disconnect"]);
    assert_eq!(reason_of("/dyn-2"), ["client namespace disconnect"]);
    assert_eq!(reason_of("/dyn-3"), ["server namespace disconnect"]);
    assert_eq!(reason_of("/dyn-4"), ["server namespace disconnect"]);
    b.disconnect();
}

/// Emits made before the connection are sent once connected (an emit with ack too); a
/// volatile one is dropped. Also `once`, `off` and `on_any_outgoing`.
pub async fn buffering_and_listeners(url: &str, options: ManagerOptions) {
    let (tx, mut notes) = recorder();
    let manager = Manager::new(url, options.auto_connect(false)).unwrap();
    let once_count = Arc::new(AtomicU32::new(0));
    let c = Arc::clone(&once_count);
    let socket = record(manager.socket("/"), &tx)
        .once("echo", move |_, _| {
            c.fetch_add(1, Ordering::SeqCst);
        })
        .build();
    assert!(!socket.active() && !socket.connected());
    assert!(manager.engine().is_none());
    socket.emit("echo", &("early",)).unwrap();
    socket.volatile().emit("echo", &("dropped",)).unwrap();
    let acked = socket.emit_with_ack("echo", &("early-ack",));
    let volatile_ack = within(socket.volatile().emit_with_ack("echo", &("v",))).await;
    assert!(matches!(volatile_ack, Err(AckError::Disconnected)));
    let counted = Arc::new(AtomicU32::new(0));
    let c = Arc::clone(&counted);
    let id = socket.on("echo", move |_, _| {
        c.fetch_add(1, Ordering::SeqCst);
    });
    socket.connect();
    notes.connected("/").await;
    assert_eq!(notes.event("/", "echo").await, vec![v(json!("early"))]);
    assert_eq!(
        within(acked).await.unwrap().values(),
        vec![v(json!("early-ack"))]
    );
    assert!(socket.off(id));
    socket.emit("echo", &("after",)).unwrap();
    assert_eq!(notes.event("/", "echo").await, vec![v(json!("after"))]);
    assert!(
        !notes
            .events("/", "echo")
            .contains(&vec![v(json!("dropped"))]),
        "the volatile emit was dropped"
    );
    assert_eq!(once_count.load(Ordering::SeqCst), 1, "once");
    assert_eq!(counted.load(Ordering::SeqCst), 1, "until off");
    assert!(matches!(
        socket.emit("disconnect", &()),
        Err(socketio::client::EmitError::ReservedEvent)
    ));
    // Outgoing listeners saw what went out, when it went out.
    let outgoing: Vec<(String, Vec<Value>)> = notes.wait_outgoing(3).await;
    assert_eq!(
        outgoing,
        vec![
            ("echo".to_owned(), vec![v(json!("early"))]),
            ("echo".to_owned(), vec![v(json!("early-ack"))]),
            ("echo".to_owned(), vec![v(json!("after"))]),
        ]
    );
    socket.disconnect();
}

impl Notes {
    /// The first `n` events named `name` of `nsp` (read so far or to come).
    pub async fn collect(&mut self, nsp: &str, name: &str, n: usize) -> Vec<Vec<Value>> {
        while self.events(nsp, name).len() < n {
            self.next().await;
        }
        self.events(nsp, name).into_iter().take(n).collect()
    }

    /// The first `n` outgoing notes.
    pub async fn wait_outgoing(&mut self, n: usize) -> Vec<(String, Vec<Value>)> {
        let collect = |log: &[Note]| {
            log.iter()
                .filter_map(|note| match note {
                    Note::Outgoing { name, args, .. } => Some((name.clone(), args.clone())),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        while collect(&self.log).len() < n {
            self.next().await;
        }
        collect(&self.log).into_iter().take(n).collect()
    }
}

/// Quick reconnections for tests (the defaults wait seconds).
pub fn quick(options: ManagerOptions) -> ManagerOptions {
    options
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(300))
}

/// The connection is cut (and refused for a while): the socket disconnects, emits are
/// buffered (volatile ones dropped), the Manager retries with `reconnect_attempt` /
/// `reconnect_error`, then reconnects (`reconnect`) with a fresh `auth`, and what was buffered
/// goes out.
pub async fn cut_and_reconnect(target: SocketAddr, options: ManagerOptions) {
    let proxy = Proxy::start(target).await;
    let (tx, mut notes) = recorder();
    let manager = Manager::new(&proxy.url(), quick(options)).unwrap();
    record_manager(&manager, &tx);
    let evaluations = Arc::new(AtomicU32::new(0));
    let e = Arc::clone(&evaluations);
    let socket = record(manager.socket("/"), &tx)
        .auth_fn(move || {
            let n = e.fetch_add(1, Ordering::SeqCst) + 1;
            async move { json!({"n": n}) }
        })
        .build();
    let (first_id, _) = notes.connected("/").await;
    let welcome = notes.event("/", "welcome").await;
    assert_eq!(welcome[0].get("auth"), Some(&v(json!({"n": 1}))));

    proxy.set(Mode::Refuse);
    proxy.cut();
    let reason = notes.disconnected("/").await;
    assert!(
        matches!(
            reason,
            DisconnectReason::TransportClose | DisconnectReason::TransportError
        ),
        "{reason}"
    );
    assert!(socket.active() && !socket.connected());
    assert_eq!(socket.id(), None);
    socket.emit("echo", &("while away",)).unwrap();
    socket.volatile().emit("echo", &("dropped",)).unwrap();
    let acked = socket.emit_with_ack("echo", &("acked later",));
    // At least one attempt fails while the proxy refuses.
    notes
        .manager(|n| matches!(n, Note::ReconnectError(_)))
        .await;
    proxy.set(Mode::Pass);
    let attempts = match notes.manager(|n| matches!(n, Note::Reconnect(_))).await {
        Note::Reconnect(n) => n,
        _ => unreachable!(),
    };
    let (second_id, recovered) = notes.connected("/").await;
    assert!(!recovered);
    assert_ne!(first_id, second_id);
    assert_eq!(notes.event("/", "echo").await, vec![v(json!("while away"))]);
    assert_eq!(
        within(acked).await.unwrap().values(),
        vec![v(json!("acked later"))]
    );
    let welcome = notes.event("/", "welcome").await;
    assert_eq!(
        welcome[0].get("auth"),
        Some(&v(json!({"n": 2}))),
        "auth is evaluated again for the new connection"
    );
    socket.emit("echo", &("barrier",)).unwrap();
    assert_eq!(notes.event("/", "echo").await, vec![v(json!("barrier"))]);
    assert!(
        !notes
            .events("/", "echo")
            .contains(&vec![v(json!("dropped"))])
    );
    // Attempts are numbered 1, 2, …; `reconnect` reports how many it took.
    let numbers: Vec<u32> = notes
        .log
        .iter()
        .filter_map(|n| match n {
            Note::ReconnectAttempt(k) => Some(*k),
            _ => None,
        })
        .collect();
    assert_eq!(numbers, (1..=attempts).collect::<Vec<_>>());
    let errors = notes
        .log
        .iter()
        .filter(|n| matches!(n, Note::ReconnectError(_)))
        .count();
    assert_eq!(
        errors as u32,
        attempts - 1,
        "every attempt but the last failed"
    );
    socket.disconnect();
}

/// With nothing to connect to, the Manager makes `reconnection_attempts` attempts and gives up
/// with `reconnect_failed`, in socket.io-client's order of events.
pub async fn reconnect_failed(options: ManagerOptions) {
    let refusing = Proxy::start(SocketAddr::from(([127, 0, 0, 1], 9))).await;
    refusing.set(Mode::Refuse);
    let (tx, mut notes) = recorder();
    let manager = Manager::new(&refusing.url(), quick(options).reconnection_attempts(2)).unwrap();
    record_manager(&manager, &tx);
    let socket = record(manager.socket("/"), &tx).build();
    notes.manager(|n| matches!(n, Note::ReconnectFailed)).await;
    // The last `reconnect_error` follows `reconnect_failed`, as in socket.io-client.
    while notes
        .log
        .iter()
        .filter(|n| matches!(n, Note::ReconnectError(_)))
        .count()
        < 2
    {
        notes.next().await;
    }
    let manager_notes: Vec<&Note> = notes
        .log
        .iter()
        .filter(|n| {
            !matches!(
                n,
                Note::ConnectError { .. } | Note::Event { .. } | Note::Outgoing { .. }
            )
        })
        .collect();
    let kinds: Vec<String> = manager_notes
        .iter()
        .map(|n| match n {
            Note::Error(_) => "error".to_owned(),
            Note::ReconnectAttempt(k) => format!("attempt {k}"),
            Note::ReconnectError(_) => "reconnect_error".to_owned(),
            Note::ReconnectFailed => "reconnect_failed".to_owned(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "error",
            "attempt 1",
            "error",
            "reconnect_error",
            "attempt 2",
            "error",
            "reconnect_failed",
            "reconnect_error"
        ]
    );
    let connect_errors = notes
        .log
        .iter()
        .filter(|n| {
            matches!(
                n,
                Note::ConnectError {
                    from_server: false,
                    ..
                }
            )
        })
        .count();
    assert_eq!(connect_errors, 3, "one connect_error per failed attempt");
    assert!(socket.active() && !socket.connected());
}

/// A server that accepts TCP and never answers: the `timeout` option ends the attempt with a
/// `connect_error` whose message is `timeout`.
pub async fn open_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts and holds connections without a byte in return.
    let held = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            kept.push(s);
        }
    });
    let (tx, mut notes) = recorder();
    let options = ManagerOptions::default()
        .reconnection(false)
        .timeout(Some(Duration::from_millis(300)));
    let manager = Manager::new(&format!("http://{addr}"), options).unwrap();
    record_manager(&manager, &tx);
    let _socket = record(manager.socket("/"), &tx).build();
    let (message, data) = notes.connect_error("/").await;
    assert_eq!(message, "timeout");
    assert_eq!(data, None);
    assert_eq!(
        notes.manager(|n| matches!(n, Note::Error(_))).await,
        Note::Error("timeout".to_owned())
    );
    held.abort();
}

/// `retries`: every emit goes through the queue with an acknowledgement; the tries the client
/// sent are exactly the events the server saw, in order; a packet that is never acknowledged
/// is dropped after `retries + 1` tries with the timeout error. Needs a server with the `flaky`
/// and `seen` events (see interop/socketio-server/recovery-server.mjs).
pub async fn retries(url: &str, options: ManagerOptions) {
    let (tx, mut notes) = recorder();
    let manager = Manager::new(url, options).unwrap();
    let socket = record(manager.socket("/"), &tx)
        .retries(2)
        .ack_timeout(Duration::from_millis(500))
        .build();
    notes.connected("/").await;
    // Queued in order: each waits for the one before it.
    let a = socket.emit_with_ack("flaky", &("a", 2));
    socket.emit("flaky", &("b", 0)).unwrap();
    socket.emit("flaky", &("c", 1)).unwrap();
    let never = socket.emit_with_ack("flaky", &("never", 100));
    let d = socket.emit_with_ack("flaky", &("d", 0));
    let a = within(a).await.unwrap();
    assert_eq!(a.arg::<String>(0).unwrap(), "a");
    assert!(
        a.arg::<u32>(1).unwrap() >= 3,
        "acknowledged on the third try at the earliest"
    );
    let never = within(never).await;
    assert!(matches!(never, Err(AckError::Timeout)), "{never:?}");
    let d = within(d).await.unwrap();
    assert_eq!(d.arg::<String>(0).unwrap(), "d");

    // What the server saw is exactly what the client sent, try by try. (`seen` goes through
    // the queue too, after every `flaky` try.)
    let seen = within(socket.emit_with_ack("seen", &())).await.unwrap();
    let seen: Vec<String> = seen.arg(0).unwrap();
    notes
        .seen_or_wait(|n| matches!(n, Note::Outgoing { name, .. } if name == "seen").then_some(()))
        .await;
    let tries: Vec<String> = notes
        .log
        .iter()
        .filter_map(|n| match n {
            Note::Outgoing { name, args, .. } if name == "flaky" => {
                args[0].as_str().map(str::to_owned)
            }
            _ => None,
        })
        .collect();
    assert_eq!(seen, tries);
    let count = |tag: &str| seen.iter().filter(|t| *t == tag).count();
    assert!(count("a") >= 3);
    assert!(count("c") >= 2);
    assert_eq!(count("never"), 3, "retries + 1 tries");
    // In order: no tag appears after a later one started.
    let mut order = seen.clone();
    order.dedup();
    assert_eq!(order, ["a", "b", "c", "never", "d"]);
    socket.disconnect();
}
