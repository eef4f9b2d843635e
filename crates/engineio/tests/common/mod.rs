//! Test support: a real server on 127.0.0.1 (a fresh port each), a handler that records what
//! happens, and small raw HTTP and WebSocket clients.
#![allow(dead_code, unreachable_pub, missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use engineio::{CloseReason, Config, EngineIo, Handler, Message, Sid, Socket};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// What the server's handler saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Open(Sid),
    Message(Sid, Message),
    Close(Sid, CloseReason),
}

/// The messages a `burst` message gets back, queued at once so the session's writer takes
/// them together: three binary messages of 3 MB (more than a loopback socket takes at once),
/// each filled with its index, then `4end`.
pub const BURST: [(u8, usize); 3] = [(1, 3_000_000), (2, 3_000_000), (3, 3_000_000)];

/// Echoes every message; `server-close` closes the session instead, `burst` gets [`BURST`].
pub struct Recorder(pub mpsc::UnboundedSender<Event>);

impl Handler for Recorder {
    type Data = ();

    fn on_open(&self, socket: &Arc<Socket<()>>) {
        let _ = self.0.send(Event::Open(socket.id()));
    }

    fn on_message(&self, socket: &Arc<Socket<()>>, message: Message) {
        let _ = self.0.send(Event::Message(socket.id(), message.clone()));
        match &message {
            Message::Text(t) if t == "server-close" => socket.close(),
            Message::Text(t) if t == "burst" => {
                for (fill, len) in BURST {
                    let _ = socket.send(Message::Binary(vec![fill; len].into()));
                }
                let _ = socket.send(Message::Text("end".into()));
            }
            _ => {
                let _ = socket.send(message);
            }
        }
    }

    fn on_close(&self, socket: &Arc<Socket<()>>, reason: CloseReason) {
        let _ = self.0.send(Event::Close(socket.id(), reason));
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub engine: EngineIo<()>,
    pub events: mpsc::UnboundedReceiver<Event>,
    pub serve: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    pub async fn start(config: Config) -> TestServer {
        let (tx, events) = mpsc::unbounded_channel();
        let engine = EngineIo::new(config, Recorder(tx));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let serving = engine.clone();
        let serve = tokio::spawn(async move { serving.serve(listener).await });
        TestServer {
            addr,
            engine,
            events,
            serve,
        }
    }

    pub async fn default() -> TestServer {
        Self::start(Config::default()).await
    }

    /// The next event, waiting for it (a watchdog fails the test instead of hanging).
    pub async fn next_event(&mut self) -> Event {
        tokio::time::timeout(Duration::from_secs(20), self.events.recv())
            .await
            .expect("no event within the watchdog")
            .expect("event channel closed")
    }

    /// Waits for the close event of `sid`, skipping others.
    pub async fn closed(&mut self, sid: &str) -> CloseReason {
        loop {
            if let Event::Close(s, reason) = self.next_event().await
                && s.as_str() == sid
            {
                return reason;
            }
        }
    }

    pub fn url(&self, query: &str) -> String {
        format!("/engine.io/?{query}")
    }

    /// A polling handshake; returns the sid and the open packet's JSON.
    pub async fn handshake(&self) -> (String, serde_json::Value) {
        let res = http(
            self.addr,
            "GET",
            &self.url("EIO=4&transport=polling"),
            &[],
            b"",
        )
        .await;
        assert_eq!(res.status, 200, "handshake failed: {res:?}");
        let body = res.text();
        let json: serde_json::Value =
            serde_json::from_str(body.strip_prefix('0').unwrap()).unwrap();
        (json["sid"].as_str().unwrap().to_owned(), json)
    }

    pub async fn get(&self, sid: &str) -> Response {
        http(
            self.addr,
            "GET",
            &self.url(&format!("EIO=4&transport=polling&sid={sid}")),
            &[],
            b"",
        )
        .await
    }

    pub async fn post(&self, sid: &str, body: &[u8]) -> Response {
        http(
            self.addr,
            "POST",
            &self.url(&format!("EIO=4&transport=polling&sid={sid}")),
            &[("content-type", "text/plain;charset=UTF-8")],
            body,
        )
        .await
    }

    pub async fn ws(&self, query: &str) -> Ws {
        ws_connect(self.addr, &self.url(query)).await
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

/// Writes a raw HTTP/1.1 request.
pub async fn send_request(
    stream: &mut TcpStream,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) {
    let mut req = format!("{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        req.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
}

/// Reads a whole response (the server closes after it: `connection: close`).
pub async fn read_response(stream: &mut TcpStream) -> Response {
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut raw))
        .await
        .expect("no response within the watchdog")
        .unwrap();
    parse_response(&raw)
}

pub fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Response {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    send_request(&mut stream, method, path, headers, body).await;
    read_response(&mut stream).await
}

pub type Ws = tokio_websockets::WebSocketStream<TcpStream>;

pub async fn ws_connect(addr: SocketAddr, path: &str) -> Ws {
    let stream = TcpStream::connect(addr).await.unwrap();
    let uri: http::Uri = format!("ws://{addr}{path}").parse().unwrap();
    let (ws, _) = tokio_websockets::ClientBuilder::from_uri(uri)
        .connect_on(stream)
        .await
        .unwrap();
    ws
}

/// The next text frame (panics on anything else).
pub async fn ws_text(ws: &mut Ws) -> String {
    let msg = ws_next(ws).await.expect("websocket ended");
    msg.as_text()
        .unwrap_or_else(|| panic!("not text: {msg:?}"))
        .to_owned()
}

/// The next data frame, or None when the server closed the connection.
pub async fn ws_next(ws: &mut Ws) -> Option<tokio_websockets::Message> {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("no frame within the watchdog");
        match next {
            None | Some(Err(_)) => return None,
            Some(Ok(m)) if m.is_close() => return None,
            Some(Ok(m)) if m.is_text() || m.is_binary() => return Some(m),
            Some(Ok(_)) => continue,
        }
    }
}

pub async fn ws_send_text(ws: &mut Ws, text: &str) {
    ws.send(tokio_websockets::Message::text(text.to_owned()))
        .await
        .unwrap();
}

pub async fn ws_send_binary(ws: &mut Ws, data: &'static [u8]) {
    ws.send(tokio_websockets::Message::binary(Bytes::from_static(data)))
        .await
        .unwrap();
}

/// Sid of the open packet of a websocket session.
pub async fn ws_open(ws: &mut Ws) -> (String, serde_json::Value) {
    let open = ws_text(ws).await;
    let json: serde_json::Value = serde_json::from_str(open.strip_prefix('0').unwrap()).unwrap();
    (json["sid"].as_str().unwrap().to_owned(), json)
}
