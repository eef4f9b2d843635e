//! Acknowledgements in both directions: [`AckSender`] answers a client's ack request once;
//! [`AckResponse`] / [`AckError`] are what the server gets back for its own requests.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use super::socket::Socket;
use crate::send_once::SendOnce;
use crate::{EncodeError, Packet, Value};

/// The client asked for an acknowledgement of its event: answer it once with
/// [`send`](AckSender::send). Later calls are ignored, as in Node.
#[derive(Clone)]
pub struct AckSender {
    socket: Arc<Socket>,
    id: u64,
    sent: SendOnce,
}

impl std::fmt::Debug for AckSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckSender").field("id", &self.id).finish()
    }
}

impl AckSender {
    pub(crate) fn new(socket: Arc<Socket>, id: u64) -> Self {
        AckSender {
            socket,
            id,
            sent: SendOnce::new(),
        }
    }

    /// Sends the acknowledgement; `args` must serialize to a sequence (a tuple or a `Vec`):
    /// the arguments the client's callback receives. Binary values (`bytes::Bytes`) become
    /// attachments.
    pub fn send<T: Serialize + ?Sized>(&self, args: &T) -> Result<(), EncodeError> {
        if !self.sent.take() {
            return Ok(());
        }
        let encoded =
            self.socket
                .parser()
                .encode_ack(self.socket.namespace_name(), self.id, args)?;
        self.socket.send_encoded(encoded, false);
        Ok(())
    }

    /// The id of the acknowledgement.
    pub fn id(&self) -> u64 {
        self.id
    }
}

/// What a client sent back for an event emitted with an acknowledgement.
#[derive(Debug, Clone)]
pub struct AckResponse {
    packet: Packet,
}

impl AckResponse {
    pub(crate) fn new(packet: Packet) -> Self {
        AckResponse { packet }
    }

    /// All the arguments of the answer as one value (usually a tuple or a struct sequence).
    pub fn args<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        self.packet.args()
    }

    /// One argument of the answer.
    pub fn arg<'a, T: serde::Deserialize<'a>>(
        &'a self,
        index: usize,
    ) -> Result<T, serde_json::Error> {
        self.packet.arg(index)
    }

    /// The arguments as untyped values.
    pub fn values(&self) -> Vec<Value> {
        self.packet.args::<Vec<Value>>().unwrap_or_default()
    }
}

/// Why an acknowledgement did not arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckError {
    /// The timeout passed first (`operation has timed out`).
    Timeout,
    /// The socket disconnected first.
    Disconnected,
    /// The event could not be encoded.
    Encode,
    /// The connection's queue was full under
    /// [`OverflowPolicy::Wait`](engineio::OverflowPolicy::Wait): nothing was sent.
    Full,
}

impl std::fmt::Display for AckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AckError::Timeout => "operation has timed out",
            AckError::Disconnected => "socket has been disconnected",
            AckError::Encode => "the event could not be encoded",
            AckError::Full => "the connection's outbound queue is full",
        })
    }
}

impl std::error::Error for AckError {}

/// Where an awaited acknowledgement goes.
pub(crate) enum AckSlot {
    One(oneshot::Sender<AckResponse>),
    Many(mpsc::UnboundedSender<AckResponse>),
}

impl AckSlot {
    /// Whether nobody waits for this answer any more (a broadcast that finished).
    pub(crate) fn is_abandoned(&self) -> bool {
        match self {
            AckSlot::One(tx) => tx.is_closed(),
            AckSlot::Many(tx) => tx.is_closed(),
        }
    }

    pub(crate) fn deliver(self, response: AckResponse) {
        match self {
            AckSlot::One(tx) => {
                let _ = tx.send(response);
            }
            AckSlot::Many(tx) => {
                let _ = tx.send(response);
            }
        }
    }
}

/// The answers of a broadcast with acknowledgement: every answer that arrived, and whether
/// all the targeted sockets answered before the timeout.
#[derive(Debug, Clone)]
pub struct BroadcastAcks {
    /// The answers received, in arrival order.
    pub responses: Vec<AckResponse>,
    /// `Some(AckError::Timeout)` when some sockets did not answer in time.
    pub error: Option<AckError>,
}
