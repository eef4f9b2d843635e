//! Test support: a server on 127.0.0.1 (fresh port) implementing the interop contract of
//! `interop/socketio/`, and a raw WebSocket client speaking Engine.IO/Socket.IO text.
#![allow(dead_code, unreachable_pub, missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod contract;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use socketio::server::{SocketIo, SocketIoBuilder};
use tokio::net::{TcpListener, TcpStream};

pub struct TestServer {
    pub addr: SocketAddr,
    pub io: SocketIo,
}

impl TestServer {
    pub async fn start(io: SocketIo) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let serving = io.clone();
        tokio::spawn(async move { serving.serve(listener).await });
        TestServer { addr, io }
    }

    pub async fn contract(builder: SocketIoBuilder) -> TestServer {
        Self::start(contract::server(builder)).await
    }

    /// A raw client over WebSocket, after the Engine.IO handshake.
    pub async fn raw(&self) -> Raw {
        let stream = TcpStream::connect(self.addr).await.unwrap();
        let uri: http::Uri = format!("ws://{}/socket.io/?EIO=4&transport=websocket", self.addr)
            .parse()
            .unwrap();
        let (ws, _) = tokio_websockets::ClientBuilder::from_uri(uri)
            .connect_on(stream)
            .await
            .unwrap();
        let mut raw = Raw { ws };
        let open = raw.recv().await.expect("no open packet");
        assert!(open.starts_with("0{"), "{open}");
        raw
    }
}

pub struct Raw {
    pub ws: tokio_websockets::WebSocketStream<TcpStream>,
}

pub enum Frame {
    Text(String),
    Binary(Vec<u8>),
}

impl Raw {
    pub async fn send(&mut self, text: &str) {
        self.ws
            .send(tokio_websockets::Message::text(text.to_owned()))
            .await
            .unwrap();
    }

    pub async fn send_binary(&mut self, data: &[u8]) {
        self.ws
            .send(tokio_websockets::Message::binary(
                bytes::Bytes::copy_from_slice(data),
            ))
            .await
            .unwrap();
    }

    /// The next frame, answering pings; None once the server closed the connection.
    pub async fn next(&mut self) -> Option<Frame> {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(20), self.ws.next())
                .await
                .expect("nothing within the watchdog");
            match msg {
                None | Some(Err(_)) => return None,
                Some(Ok(m)) if m.is_close() => return None,
                Some(Ok(m)) if m.is_text() => {
                    let text = m.as_text().unwrap().to_owned();
                    if text == "2" {
                        self.send("3").await;
                        continue;
                    }
                    return Some(Frame::Text(text));
                }
                Some(Ok(m)) if m.is_binary() => {
                    return Some(Frame::Binary(m.into_payload().to_vec()));
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next text frame.
    pub async fn recv(&mut self) -> Option<String> {
        match self.next().await? {
            Frame::Text(t) => Some(t),
            Frame::Binary(b) => panic!("unexpected binary frame {b:?}"),
        }
    }

    /// Connects to a namespace and returns the socket id from the CONNECT reply.
    pub async fn connect(&mut self, nsp: &str, auth: Option<&str>) -> String {
        let prefix = if nsp == "/" {
            String::new()
        } else {
            format!("{nsp},")
        };
        self.send(&format!("40{prefix}{}", auth.unwrap_or("")))
            .await;
        loop {
            let reply = self.recv().await.expect("closed before the CONNECT reply");
            if let Some(rest) = reply.strip_prefix(&format!("40{prefix}")) {
                let json: serde_json::Value = serde_json::from_str(rest).unwrap();
                return json["sid"].as_str().unwrap().to_owned();
            }
        }
    }

    /// Reads text frames until one starts with `prefix`.
    pub async fn expect_prefix(&mut self, prefix: &str) -> String {
        loop {
            let text = self
                .recv()
                .await
                .unwrap_or_else(|| panic!("closed while waiting for {prefix}"));
            if text.starts_with(prefix) {
                return text;
            }
        }
    }

    /// True once the server closed the connection (skipping any frames before).
    pub async fn closed(&mut self) -> bool {
        while self.next().await.is_some() {}
        true
    }
}
