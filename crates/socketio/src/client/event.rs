//! [`Event`]: an event received from the server, and [`AckSender`], the answer the server
//! asked for with it.

use std::sync::Arc;

use serde::Serialize;

use super::socket::SocketShared;
use crate::send_once::SendOnce;
use crate::{EncodeError, Packet, Value};

/// An event received from the server.
///
/// ```
/// # fn handler(event: socketio::client::Event) {
/// let (text, n): (String, u32) = event.args().unwrap_or_default();
/// if let Some(ack) = event.ack() {
///     ack.send(&("got it", n)).ok();
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Event {
    packet: Packet,
    ack: Option<AckSender>,
}

impl Event {
    pub(crate) fn new(packet: Packet, socket: &Arc<SocketShared>) -> Event {
        let ack = packet.id().map(|id| AckSender {
            socket: Arc::clone(socket),
            id,
            sent: SendOnce::new(),
        });
        Event { packet, ack }
    }

    /// The event name.
    pub fn name(&self) -> &str {
        self.packet.event_name().unwrap_or_default()
    }

    /// All the arguments as one value: a tuple, a `Vec`, or a struct read from a sequence.
    /// Extra arguments are ignored and missing ones read as `null`, as in JavaScript.
    pub fn args<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        self.packet.args()
    }

    /// One argument (0 = the first after the event name); a missing one reads as `null`, so
    /// `Option<T>` fits.
    pub fn arg<'a, T: serde::Deserialize<'a>>(
        &'a self,
        index: usize,
    ) -> Result<T, serde_json::Error> {
        self.packet.arg(index)
    }

    /// The arguments as untyped values (binary attachments as [`Value::Binary`]).
    pub fn values(&self) -> Vec<Value> {
        self.packet.args::<Vec<Value>>().unwrap_or_default()
    }

    /// The acknowledgement the server asked for, if it did.
    pub fn ack(&self) -> Option<&AckSender> {
        self.ack.as_ref()
    }

    /// The EVENT packet itself.
    pub fn packet(&self) -> &Packet {
        &self.packet
    }
}

/// The server asked for an acknowledgement of its event: answer it once with
/// [`send`](AckSender::send); later calls are ignored, as in socket.io-client.
#[derive(Clone)]
pub struct AckSender {
    socket: Arc<SocketShared>,
    id: u64,
    sent: SendOnce,
}

impl std::fmt::Debug for AckSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckSender").field("id", &self.id).finish()
    }
}

impl AckSender {
    /// Sends the acknowledgement. `args` must serialize as a sequence (`&("ok", 1)`, a `Vec`,
    /// `&()` for none): the arguments the server's callback receives; `bytes::Bytes` values
    /// anywhere inside go as binary.
    pub fn send<T: Serialize + ?Sized>(&self, args: &T) -> Result<(), EncodeError> {
        if !self.sent.take() {
            return Ok(());
        }
        let encoded = self
            .socket
            .link
            .parser
            .encode_ack(&self.socket.nsp, self.id, args)?;
        // Written on whatever connection is open, as socket.io-client does.
        self.socket.link.send(&encoded);
        Ok(())
    }

    /// The acknowledgement id.
    pub fn id(&self) -> u64 {
        self.id
    }
}
