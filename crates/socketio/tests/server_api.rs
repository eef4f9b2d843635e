//! The server API beyond the interop contract, driven by a raw client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use socketio::Value;
use socketio::server::{AckError, ConnectError, DisconnectReason, Socket, SocketIo};
use tokio::sync::mpsc;

#[tokio::test]
async fn emit_with_ack_times_out_when_the_client_stays_silent() {
    let io = SocketIo::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        let socket = Arc::clone(socket);
        tokio::spawn(async move {
            let r = socket
                .timeout(Duration::from_millis(50))
                .emit_with_ack("q", &())
                .await;
            tx.send(r.map(|_| ())).unwrap();
        });
    });
    let server = TestServer::start(io).await;
    let mut raw = server.raw().await;
    raw.connect("/", None).await;
    raw.expect_prefix(r#"420["q"]"#).await;
    assert_eq!(rx.recv().await.unwrap(), Err(AckError::Timeout));
}

#[tokio::test]
async fn a_broadcast_with_ack_reports_partial_answers_on_timeout() {
    let io = SocketIo::new();
    let server = TestServer::start(io.clone()).await;
    let mut a = server.raw().await;
    let mut b = server.raw().await;
    a.connect("/", None).await;
    b.connect("/", None).await;
    let pending = tokio::spawn({
        let io = io.clone();
        async move {
            io.timeout(Duration::from_millis(300))
                .emit_with_ack("poll", &(1,))
                .await
        }
    });
    let req = a.expect_prefix("42").await;
    let id: String = req[2..].chars().take_while(char::is_ascii_digit).collect();
    assert_eq!(&req[2 + id.len()..], r#"["poll",1]"#);
    a.send(&format!(r#"43{id}["yes"]"#)).await;
    b.expect_prefix("42").await; // b never answers
    let acks = pending.await.unwrap().unwrap();
    assert_eq!(acks.responses.len(), 1);
    assert_eq!(acks.responses[0].arg::<String>(0).unwrap(), "yes");
    assert_eq!(acks.error, Some(AckError::Timeout));
}

#[tokio::test]
async fn listeners_once_off_any_outgoing_and_packet_middlewares() {
    let io = SocketIo::new();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let s = Arc::clone(&seen);
    io.on_connection(move |socket| {
        let log = Arc::clone(&s);
        socket.once("one", move |_, ev| {
            log.lock().unwrap().push(format!("once:{}", ev.name()))
        });
        let log = Arc::clone(&s);
        let id = socket.on("gone", move |_, _| log.lock().unwrap().push("gone".into()));
        socket.off("gone", id);
        let log = Arc::clone(&s);
        socket.on_any(move |_, ev| log.lock().unwrap().push(format!("any:{}", ev.name())));
        let log = Arc::clone(&s);
        socket.prepend_any(move |_, ev| log.lock().unwrap().push(format!("first:{}", ev.name())));
        let log = Arc::clone(&s);
        socket.on_any_outgoing(move |_, name| log.lock().unwrap().push(format!("out:{name}")));
        socket.use_middleware(|_, ev| {
            if ev.name() == "blocked" {
                Err("no".into())
            } else {
                Ok(())
            }
        });
        let log = Arc::clone(&s);
        socket.on("blocked", move |_, _| {
            log.lock().unwrap().push("blocked-ran".into())
        });
        socket.on("done", |socket, _| {
            socket.emit("finished", &()).unwrap();
        });
    });
    let server = TestServer::start(io).await;
    let mut raw = server.raw().await;
    raw.connect("/", None).await;
    for ev in ["one", "one", "gone", "blocked", "done"] {
        raw.send(&format!(r#"42["{ev}"]"#)).await;
    }
    raw.expect_prefix(r#"42["finished"]"#).await;
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "first:one",
            "any:one",
            "once:one",
            "first:one",
            "any:one",
            "first:gone",
            "any:gone",
            "first:blocked",
            "any:blocked",
            "first:done",
            "any:done",
            "out:finished"
        ]
    );
}

#[tokio::test]
async fn every_listener_of_an_event_gets_it_and_once_listeners_run_once() {
    let io = SocketIo::new();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let s = Arc::clone(&seen);
    io.on_connection(move |socket| {
        // A listener that captures nothing, one that does, and a once listener, on one
        // event: each gets the event's arguments, and the last one its acknowledgement.
        socket.on("ev", |socket, ev| {
            let n: u64 = ev.arg(0).unwrap();
            socket.emit("plain", &(n,)).unwrap();
        });
        let log = Arc::clone(&s);
        socket.on("ev", move |_, ev| {
            let n: u64 = ev.arg(0).unwrap();
            log.lock().unwrap().push(format!("capturing:{n}"));
        });
        let log = Arc::clone(&s);
        socket.once("ev", move |_, ev| {
            let n: u64 = ev.arg(0).unwrap();
            log.lock().unwrap().push(format!("once:{n}"));
            if let Some(ack) = ev.ack() {
                ack.send(&(n * 10,)).unwrap();
            }
        });
    });
    let server = TestServer::start(io).await;
    let mut raw = server.raw().await;
    raw.connect("/", None).await;
    raw.send(r#"421["ev",1]"#).await;
    assert_eq!(
        raw.expect_prefix(r#"42["plain",1"#).await,
        r#"42["plain",1]"#
    );
    assert_eq!(raw.expect_prefix(r#"431[10]"#).await, r#"431[10]"#);
    raw.send(r#"42["ev",2]"#).await;
    assert_eq!(
        raw.expect_prefix(r#"42["plain",2"#).await,
        r#"42["plain",2]"#
    );
    assert_eq!(
        *seen.lock().unwrap(),
        ["capturing:1", "once:1", "capturing:2"]
    );
}

#[tokio::test]
async fn handlers_run_in_arrival_order() {
    let io = SocketIo::new();
    let seen = Arc::new(Mutex::new(Vec::<u64>::new()));
    let s = Arc::clone(&seen);
    io.on_connection(move |socket| {
        let log = Arc::clone(&s);
        socket.on("n", move |socket, ev| {
            let n: u64 = ev.arg(0).unwrap();
            log.lock().unwrap().push(n);
            if n == 499 {
                socket.emit("done", &()).unwrap();
            }
        });
    });
    let server = TestServer::start(io).await;
    let mut raw = server.raw().await;
    raw.connect("/", None).await;
    for i in 0..500 {
        raw.send(&format!(r#"42["n",{i}]"#)).await;
    }
    raw.expect_prefix(r#"42["done"]"#).await;
    assert_eq!(*seen.lock().unwrap(), (0..500).collect::<Vec<_>>());
}

#[tokio::test]
async fn fetch_sockets_join_leave_and_disconnect_by_room() {
    let io = SocketIo::new();
    let server = TestServer::start(io.clone()).await;
    let mut a = server.raw().await;
    let mut b = server.raw().await;
    let a_id = a.connect("/", None).await;
    let b_id = b.connect("/", None).await;
    io.sockets_join("everyone");
    let all = io.to("everyone").fetch_sockets().await.unwrap();
    assert_eq!(all.len(), 2);
    let a_socket = all.iter().find(|s| s.id().as_str() == a_id).unwrap();
    a_socket.join(["vip", "x"]);
    a_socket
        .as_local()
        .unwrap()
        .set_data(&serde_json::json!({"level": 3}))
        .unwrap();
    let vip = io.to("vip").fetch_sockets().await.unwrap();
    assert_eq!(vip.len(), 1);
    assert_eq!(vip[0].data::<serde_json::Value>().unwrap()["level"], 3);
    let mut rooms: Vec<String> = vip[0].rooms().iter().map(|r| r.to_string()).collect();
    rooms.sort();
    let mut expected = vec![a_id.clone(), "everyone".into(), "vip".into(), "x".into()];
    expected.sort();
    assert_eq!(rooms, expected);
    io.to("vip").sockets_leave("x");
    assert!(!vip[0].rooms().iter().any(|r| r == "x"));
    io.to("everyone").except("vip").disconnect_sockets(false);
    b.expect_prefix("41").await;
    let left = io.fetch_sockets().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id().as_str(), a_id);
    assert_ne!(a_id, b_id);
}

#[tokio::test]
async fn middlewares_run_in_order_and_see_the_handshake() {
    let io = SocketIo::new();
    let order = Arc::new(Mutex::new(Vec::new()));
    let o = Arc::clone(&order);
    io.use_middleware(move |socket: Arc<Socket>| {
        let o = Arc::clone(&o);
        async move {
            o.lock().unwrap().push(1);
            assert_eq!(socket.handshake().query_param("EIO").as_deref(), Some("4"));
            Ok(())
        }
    });
    let o = Arc::clone(&order);
    io.use_middleware(move |socket: Arc<Socket>| {
        let o = Arc::clone(&o);
        async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            o.lock().unwrap().push(2);
            match socket.handshake().auth().get("ok") {
                Some(Value::Bool(true)) => Ok(()),
                _ => Err(ConnectError::new("nope")),
            }
        }
    });
    let server = TestServer::start(io).await;
    let mut raw = server.raw().await;
    raw.send("40").await;
    assert_eq!(raw.recv().await.unwrap(), r#"44{"message":"nope"}"#);
    raw.connect("/", Some(r#"{"ok":true}"#)).await;
    assert_eq!(*order.lock().unwrap(), [1, 2, 1, 2]);
}

#[tokio::test]
async fn dynamic_namespaces_by_predicate_and_cleanup_of_empty_children() {
    let io = SocketIo::builder()
        .cleanup_empty_child_namespaces(true)
        .build();
    let parent = io.of_predicate(|name, auth| async move {
        name.starts_with("/team-") && auth.get("member").and_then(Value::as_bool) == Some(true)
    });
    parent.on_connection(|socket| {
        socket.emit("hello", &(socket.namespace().name(),)).unwrap();
    });
    let server = TestServer::start(io.clone()).await;
    let mut raw = server.raw().await;
    raw.send("40/team-a,").await;
    assert_eq!(
        raw.recv().await.unwrap(),
        r#"44/team-a,{"message":"Invalid namespace"}"#
    );
    raw.connect("/team-a", Some(r#"{"member":true}"#)).await;
    raw.expect_prefix(r#"42/team-a,["hello","/team-a"]"#).await;
    assert_eq!(parent.children().len(), 1);
    raw.send("41/team-a,").await;
    // Once empty, the child is gone: a packet round trip on `/` orders the check after it.
    raw.connect("/", None).await;
    assert!(parent.children().is_empty());
}

#[tokio::test]
async fn close_disconnects_everyone_with_server_shutting_down() {
    let io = SocketIo::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        socket.on_disconnect(move |_, reason| tx.send(reason).unwrap());
    });
    let server = TestServer::start(io.clone()).await;
    let mut a = server.raw().await;
    a.connect("/", None).await;
    io.close();
    assert_eq!(
        rx.recv().await.unwrap(),
        DisconnectReason::ServerShuttingDown
    );
    assert!(a.closed().await);
}

#[tokio::test]
async fn close_answers_pending_acks_ends_idle_connections_and_leaves_no_task() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let metrics = tokio::runtime::Handle::current().metrics();
    let tasks_before = metrics.num_alive_tasks();
    let io = SocketIo::new();
    let (tx, mut acks) = mpsc::unbounded_channel();
    io.on_connection(move |socket| {
        let tx = tx.clone();
        let socket = Arc::clone(socket);
        tokio::spawn(async move {
            let answer = socket.emit_with_ack("never-answered", &()).await;
            tx.send(answer.map(|_| ())).unwrap();
        });
    });
    let server = TestServer::start(io.clone()).await;
    let mut ws = server.raw().await;
    ws.connect("/", None).await;
    let question = ws.expect_prefix("42").await;
    assert!(question.contains("never-answered"), "{question}");
    // A polling session whose keep-alive connection then sits idle.
    let mut idle = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.windows(7).any(|w| w == b"\"sid\":\"") {
        let mut buf = [0u8; 1024];
        let n = idle.read(&mut buf).await.unwrap();
        assert!(n > 0, "no handshake");
        head.extend_from_slice(&buf[..n]);
    }

    io.close();
    assert_eq!(acks.recv().await.unwrap(), Err(AckError::Disconnected));
    assert!(ws.closed().await);
    // The idle HTTP connection is closed by the server too.
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), idle.read_to_end(&mut rest))
        .await
        .expect("the idle connection stayed open")
        .unwrap();
    drop((ws, idle, server, io));
    // Every task the server started ends (the watchdog only bounds a failing run).
    let mut waited = 0;
    while metrics.num_alive_tasks() > tasks_before {
        assert!(
            waited < 2000,
            "{} tasks still running",
            metrics.num_alive_tasks() - tasks_before
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
}

#[tokio::test]
async fn reserved_event_names_cannot_be_emitted() {
    let io = SocketIo::new();
    for name in [
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
    ] {
        assert!(io.emit(name, &()).is_err(), "{name}");
    }
}

/// One raw HTTP/1.1 request; returns the head and the body.
async fn http_raw(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: {}\r\n{headers}\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    (
        String::from_utf8_lossy(&raw[..split]).to_lowercase(),
        raw[split + 4..].to_vec(),
    )
}

#[tokio::test]
async fn compress_false_keeps_a_large_polling_response_uncompressed() {
    let io = SocketIo::new();
    io.on_connection(|socket| {
        let socket = Arc::clone(socket);
        socket.on("big", |socket, ev| {
            let compress: bool = ev.arg(0).unwrap();
            socket
                .compress(compress)
                .emit("big", &("x".repeat(5000),))
                .unwrap();
        });
    });
    let server = TestServer::start(io).await;
    let (_, open) = http_raw(
        server.addr,
        "GET",
        "/socket.io/?EIO=4&transport=polling",
        "",
        "",
    )
    .await;
    let sid = String::from_utf8(open[9..29].to_vec()).unwrap();
    let path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    http_raw(server.addr, "POST", &path, "", "40").await;
    let (_, reply) = http_raw(server.addr, "GET", &path, "", "").await;
    assert!(reply.starts_with(b"40{"));
    for compress in [true, false] {
        http_raw(
            server.addr,
            "POST",
            &path,
            "",
            &format!(r#"42["big",{compress}]"#),
        )
        .await;
        let (head, body) =
            http_raw(server.addr, "GET", &path, "accept-encoding: gzip\r\n", "").await;
        assert_eq!(head.contains("content-encoding: gzip"), compress, "{head}");
        if !compress {
            assert!(body.starts_with(br#"42["big","xxx"#));
        }
    }
}

#[tokio::test]
async fn emits_report_pressure_and_the_drain_is_heard() {
    let io = SocketIo::builder().high_water_mark(2_000).build();
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    io.on_connection(move |socket| {
        let drains = tx.clone();
        socket.on_drain(move |_| drains.send("on_drain".into()).unwrap());
        let tx = tx.clone();
        socket.on("flood", move |socket, _| {
            for _ in 0..3 {
                let pressure = socket.emit("chunk", &("y".repeat(1_000),)).unwrap();
                tx.send(format!("{pressure:?}")).unwrap();
            }
            let socket = Arc::clone(socket);
            let tx = tx.clone();
            tokio::spawn(async move {
                socket.drained().await;
                tx.send("drained".into()).unwrap();
            });
        });
    });
    let server = TestServer::start(io).await;
    let (_, open) = http_raw(
        server.addr,
        "GET",
        "/socket.io/?EIO=4&transport=polling",
        "",
        "",
    )
    .await;
    let sid = String::from_utf8(open[9..29].to_vec()).unwrap();
    let path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    http_raw(server.addr, "POST", &path, "", "40").await;
    http_raw(server.addr, "GET", &path, "", "").await;
    http_raw(server.addr, "POST", &path, "", r#"42["flood"]"#).await;
    let pressures: Vec<String> = vec![
        rx.recv().await.unwrap(),
        rx.recv().await.unwrap(),
        rx.recv().await.unwrap(),
    ];
    assert_eq!(pressures, ["Normal", "OverHighWater", "OverHighWater"]);
    let (_, body) = http_raw(server.addr, "GET", &path, "", "").await;
    assert_eq!(body.iter().filter(|&&b| b == 0x1e).count(), 2);
    let mut after: Vec<String> = vec![rx.recv().await.unwrap(), rx.recv().await.unwrap()];
    after.sort();
    assert_eq!(after, ["drained", "on_drain"]);
}

#[tokio::test]
async fn a_room_joined_in_a_middleware_gets_broadcasts_and_except_leaves_out_its_members() {
    let io = SocketIo::new();
    io.use_middleware(|socket: Arc<Socket>| async move {
        if socket.handshake().auth().get("early") == Some(&Value::Bool(true)) {
            socket.join("early");
        }
        Ok(())
    });
    let server = TestServer::start(io.clone()).await;
    let mut a = server.raw().await;
    a.connect("/", Some(r#"{"early":true}"#)).await;
    let mut b = server.raw().await;
    let b_id = b.connect("/", None).await;
    io.to("early").emit("to-early", &(1,)).unwrap();
    assert_eq!(a.recv().await.unwrap(), r#"42["to-early",1]"#);
    // Everyone but the members of `early` and of b's own room: nobody, so a later emit
    // to everyone is the next packet both see.
    io.except("early")
        .except(b_id.as_str())
        .emit("nobody", &())
        .unwrap();
    io.except("early").emit("not-early", &()).unwrap();
    assert_eq!(b.recv().await.unwrap(), r#"42["not-early"]"#);
    io.emit("all", &()).unwrap();
    assert_eq!(a.recv().await.unwrap(), r#"42["all"]"#);
    assert_eq!(b.recv().await.unwrap(), r#"42["all"]"#);
}
