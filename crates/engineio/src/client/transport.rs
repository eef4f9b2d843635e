//! The transport a session is on: polling or WebSocket, behind one set of events.

use std::sync::Arc;

use super::error::ConnectError;
use super::handshake::Handshake;
use super::polling::{Polling, PollingEvent};
use super::url::Target;
use super::websocket::{WebSocket, WsEvent};
use crate::config::TransportKind;
use crate::packet::{DecodeError, Packet};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The active transport of a session.
#[derive(Debug)]
pub(crate) enum Transport {
    /// HTTP long-polling.
    Polling(Polling),
    /// WebSocket.
    WebSocket(WebSocket),
}

/// What the active transport reports.
#[derive(Debug)]
pub(crate) enum TransportEvent {
    /// Packets of one polling payload, in order.
    Packets(Vec<Result<Packet, DecodeError>>),
    /// One packet from a WebSocket frame.
    Packet(Result<Packet, DecodeError>),
    /// A POST was accepted (polling): writing may go on.
    Drained,
    /// The server closed the connection.
    Closed,
    /// The transport failed.
    Error(BoxError),
}

impl Transport {
    /// Opens a session on `kind`: the handshake. Returns the packets that followed the open
    /// packet, if any.
    pub(crate) async fn open(
        kind: TransportKind,
        target: Arc<Target>,
    ) -> Result<(Transport, Handshake, Vec<Result<Packet, DecodeError>>), ConnectError> {
        match kind {
            TransportKind::Polling => {
                let (polling, handshake, initial) = Polling::open(target).await?;
                Ok((Transport::Polling(polling), handshake, initial))
            }
            TransportKind::WebSocket => {
                let (ws, handshake) = WebSocket::open(&target).await?;
                Ok((Transport::WebSocket(ws), handshake, Vec::new()))
            }
        }
    }

    /// Which transport this is.
    pub(crate) fn kind(&self) -> TransportKind {
        match self {
            Transport::Polling(_) => TransportKind::Polling,
            Transport::WebSocket(_) => TransportKind::WebSocket,
        }
    }

    /// The next event. Cancel-safe.
    pub(crate) async fn next(&mut self) -> TransportEvent {
        match self {
            Transport::Polling(p) => match p.next().await {
                PollingEvent::Packets(packets) => TransportEvent::Packets(packets),
                PollingEvent::Drained => TransportEvent::Drained,
                PollingEvent::Error(e) => TransportEvent::Error(e.into()),
            },
            Transport::WebSocket(ws) => match ws.next().await {
                WsEvent::Packet(packet) => TransportEvent::Packet(packet),
                WsEvent::Closed => TransportEvent::Closed,
                WsEvent::Error(e) => TransportEvent::Error(e.into()),
            },
        }
    }

    /// Whether nothing written is still in flight (a polling POST).
    pub(crate) fn is_drained(&self) -> bool {
        match self {
            Transport::Polling(p) => p.is_writable(),
            Transport::WebSocket(_) => true,
        }
    }

    /// Ends the transport: a close packet over polling, a close frame over WebSocket.
    pub(crate) async fn close(self) {
        match self {
            Transport::Polling(p) => p.close().await,
            Transport::WebSocket(ws) => ws.close().await,
        }
    }
}
