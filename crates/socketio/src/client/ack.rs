//! Acknowledgements of the client's own emits: [`AckResponse`] (what the server answered),
//! [`AckFuture`] (waiting for it), and the slots that route an ACK packet to its waiter.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use super::error::AckError;
use crate::{Packet, Value};

/// What the server answered to an event emitted with [`Socket::emit_with_ack`]: every
/// argument of its acknowledgement (socket.io-client's `emitWithAck` keeps only the first).
///
/// [`Socket::emit_with_ack`]: super::Socket::emit_with_ack
#[derive(Debug, Clone)]
pub struct AckResponse {
    packet: Packet,
}

impl AckResponse {
    pub(crate) fn new(packet: Packet) -> Self {
        AckResponse { packet }
    }

    /// All the arguments as one value: a tuple, a `Vec`, or a struct read from a sequence.
    /// Extra arguments are ignored, as in JavaScript.
    pub fn args<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        self.packet.args()
    }

    /// One argument (a missing one reads as `null`, so `Option<T>` fits).
    pub fn arg<'a, T: serde::Deserialize<'a>>(
        &'a self,
        index: usize,
    ) -> Result<T, serde_json::Error> {
        self.packet.arg(index)
    }

    /// The arguments as untyped values (binary as [`Value::Binary`]).
    pub fn values(&self) -> Vec<Value> {
        self.packet.args::<Vec<Value>>().unwrap_or_default()
    }

    /// The ACK packet itself.
    pub fn packet(&self) -> &Packet {
        &self.packet
    }
}

/// An answer, or why there is none.
pub(crate) type AckResult = Result<AckResponse, AckError>;

/// Where an [`AckFuture`] (or a queued emit's waiter) gets its answer.
pub(crate) type AckWaiter = oneshot::Sender<AckResult>;

/// Where the answer to one ack id goes.
pub(crate) enum AckSlot {
    /// An [`AckFuture`] waits for it.
    Waiter(AckWaiter),
    /// The try of a packet of the retry queue, identified by its sequence number.
    Queued(u64),
}

/// The answer to an emit with acknowledgement: resolves with the server's answer, or with an
/// [`AckError`] on timeout or disconnection. The event is sent when the emit is called, not
/// when this future is first polled; dropping the future forgets the answer.
pub struct AckFuture(Pin<Box<dyn Future<Output = Result<AckResponse, AckError>> + Send>>);

impl AckFuture {
    pub(crate) fn new(
        fut: impl Future<Output = Result<AckResponse, AckError>> + Send + 'static,
    ) -> AckFuture {
        AckFuture(Box::pin(fut))
    }

    pub(crate) fn failed(error: AckError) -> AckFuture {
        AckFuture::new(std::future::ready(Err(error)))
    }
}

impl std::fmt::Debug for AckFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AckFuture")
    }
}

impl Future for AckFuture {
    type Output = Result<AckResponse, AckError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}
