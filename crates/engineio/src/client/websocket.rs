//! The WebSocket transport, client side: one Engine.IO packet per frame (text frames for
//! text packets, binary frames for binary messages, with no type byte in v4), and the probe
//! that opens the upgrade of a polling session (`2probe` → `3probe`).

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::HeaderMap;
use tokio::net::TcpStream;
use tokio_websockets::{ClientBuilder, Limits, Message as WsMessage, Payload, WebSocketStream};

use super::error::ConnectError;
use super::handshake::Handshake;
use super::url::Target;
use crate::message::Message;
use crate::packet::{DecodeError, Frame, FrameKind, Packet, decode_text};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a WebSocket transport reports.
#[derive(Debug)]
pub(crate) enum WsEvent {
    /// One packet (or why it could not be decoded).
    Packet(Result<Packet, DecodeError>),
    /// The server closed the connection.
    Closed,
    /// The connection failed (including a message over `max_receive_size`).
    Error(tokio_websockets::Error),
}

/// The WebSocket transport of one session.
#[derive(Debug)]
pub(crate) struct WebSocket {
    ws: WebSocketStream<TcpStream>,
}

/// Refuses extra headers that the WebSocket handshake writes itself.
pub(crate) fn check_headers(headers: &HeaderMap) -> Result<(), ConnectError> {
    match headers
        .keys()
        .find(|k| tokio_websockets::client::DISALLOWED_HEADERS.contains(k))
    {
        Some(name) => Err(ConnectError::invalid_options(format!(
            "the WebSocket handshake sets the {name} header itself"
        ))),
        None => Ok(()),
    }
}

impl WebSocket {
    /// Opens a WebSocket to the server, for a new session (`sid` absent) or for the upgrade
    /// of a polling session.
    async fn connect(target: &Target, sid: Option<&str>) -> Result<WebSocket, ConnectError> {
        let uri = target.websocket_uri(sid)?;
        let mut builder = ClientBuilder::from_uri(uri)
            .limits(Limits::default().max_payload_len(Some(target.max_receive_size)));
        for (name, value) in &target.extra_headers {
            builder = builder
                .add_header(name.clone(), value.clone())
                .map_err(|_| {
                    ConnectError::invalid_options(format!(
                        "the WebSocket handshake sets the {name} header itself"
                    ))
                })?;
        }
        let stream = target.connect().await.map_err(ConnectError::io)?;
        match builder.connect_on(stream).await {
            Ok((ws, _response)) => Ok(WebSocket { ws }),
            Err(tokio_websockets::Error::Upgrade(
                tokio_websockets::upgrade::Error::DidNotSwitchProtocols(status),
            )) => Err(ConnectError::refused(status, b"")),
            Err(tokio_websockets::Error::Io(e)) => Err(ConnectError::io(e)),
            Err(e) => Err(ConnectError::transport(e)),
        }
    }

    /// Opens a session over WebSocket only: connects, then reads the open packet.
    pub(crate) async fn open(target: &Target) -> Result<(WebSocket, Handshake), ConnectError> {
        let mut ws = Self::connect(target, None).await?;
        let open = loop {
            match ws.ws.next().await {
                Some(Ok(m)) if m.is_text() => break Bytes::from(m.into_payload()),
                Some(Ok(m)) if m.is_ping() || m.is_pong() => continue,
                Some(Ok(_)) => {
                    return Err(ConnectError::handshake(
                        "expected an open packet, got a binary or close frame".to_owned(),
                    ));
                }
                Some(Err(e)) => return Err(ConnectError::transport(e)),
                None => {
                    return Err(ConnectError::handshake(
                        "the server closed the WebSocket before the open packet".to_owned(),
                    ));
                }
            }
        };
        let handshake = Handshake::from_open_packet(open)?;
        Ok((ws, handshake))
    }

    /// Opens a WebSocket for the session `sid` and probes it: `2probe` must be answered with
    /// `3probe`. The transport is returned ready for the upgrade packet.
    pub(crate) async fn probe(target: &Target, sid: &str) -> Result<WebSocket, BoxError> {
        let mut ws = Self::connect(target, Some(sid)).await?;
        ws.send([Frame::static_text("2probe")]).await?;
        match ws.next().await {
            WsEvent::Packet(Ok(Packet::Pong(data))) if &data[..] == b"probe" => Ok(ws),
            WsEvent::Packet(other) => Err(format!("probe error: got {other:?}").into()),
            WsEvent::Closed => Err("probe error: the server closed the WebSocket".into()),
            WsEvent::Error(e) => Err(e.into()),
        }
    }

    /// The next packet. Cancel-safe: a frame is taken from the stream only when it is
    /// returned. Ping and pong frames are answered by the WebSocket layer and skipped.
    pub(crate) async fn next(&mut self) -> WsEvent {
        loop {
            match self.ws.next().await {
                None => return WsEvent::Closed,
                Some(Err(e)) => return WsEvent::Error(e),
                Some(Ok(m)) if m.is_text() => {
                    let text = bytestring::ByteString::try_from(Bytes::from(m.into_payload()));
                    return WsEvent::Packet(
                        text.map_err(|_| DecodeError::InvalidUtf8)
                            .and_then(decode_text),
                    );
                }
                Some(Ok(m)) if m.is_binary() => {
                    let data = Bytes::from(m.into_payload());
                    return WsEvent::Packet(Ok(Packet::Message(Message::Binary(data))));
                }
                Some(Ok(m)) if m.is_close() => return WsEvent::Closed,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Writes frames, one WebSocket message each, with a single flush at the end.
    pub(crate) async fn send(
        &mut self,
        frames: impl IntoIterator<Item = Frame>,
    ) -> Result<(), tokio_websockets::Error> {
        for frame in frames {
            self.ws.feed(to_ws(frame)).await?;
        }
        self.ws.flush().await
    }

    /// Closes the connection with a close frame. No close packet: the official client does
    /// not send one over WebSocket, and Node's server ignores it there.
    pub(crate) async fn close(mut self) {
        if let Err(e) = self.ws.close().await {
            tracing::trace!(error = %e, "engine.io client: websocket close");
        }
    }
}

fn to_ws(frame: Frame) -> WsMessage {
    match frame.kind {
        FrameKind::Text(text) => WsMessage::text(Payload::from(text)),
        FrameKind::Binary(data) => WsMessage::binary(Payload::from(data)),
    }
}
