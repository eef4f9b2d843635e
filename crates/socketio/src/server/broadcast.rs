//! Operations on many sockets of a namespace: `to`/`except` rooms, `volatile`, `local`,
//! `timeout`, then `emit`, `emit_with_ack`, `fetch_sockets`, `sockets_join`, `sockets_leave`,
//! `disconnect_sockets`. A broadcast is encoded once; every socket gets the same bytes.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;

use super::ack::{AckError, BroadcastAcks};
use super::adapter::{BroadcastOptions, OutgoingPacket};
use super::namespace::Namespace;
use super::socket::{EmitError, IntoRooms, Socket, frames_of};
use crate::is_reserved_event;

/// A broadcast in the making. Each method returns a new operator; nothing is sent until
/// `emit`.
#[derive(Debug, Clone)]
pub struct BroadcastOperator {
    nsp: Arc<Namespace>,
    opts: BroadcastOptions,
}

impl BroadcastOperator {
    pub(crate) fn new(nsp: Arc<Namespace>) -> Self {
        BroadcastOperator {
            nsp,
            opts: BroadcastOptions::default(),
        }
    }

    /// Targets the sockets of these rooms (added to the rooms already targeted).
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        for room in rooms.into_rooms() {
            if !self.opts.rooms.contains(&room) {
                self.opts.rooms.push(room);
            }
        }
        self
    }

    /// Same as [`to`](Self::to).
    pub fn within(self, rooms: impl IntoRooms) -> Self {
        self.to(rooms)
    }

    /// Leaves out the sockets of these rooms.
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        for room in rooms.into_rooms() {
            if !self.opts.except.contains(&room) {
                self.opts.except.push(room);
            }
        }
        self
    }

    /// Drops the packet for sockets that cannot write at once.
    pub fn volatile(mut self) -> Self {
        self.opts.flags.volatile = true;
        self
    }

    /// Only this node's sockets (matters with a cluster adapter).
    pub fn local(mut self) -> Self {
        self.opts.flags.local = true;
        self
    }

    /// The acknowledgement timeout of [`emit_with_ack`](Self::emit_with_ack).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.opts.flags.timeout = Some(timeout);
        self
    }

    /// Emits an event to every targeted socket. `args` must serialize to a sequence.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        if is_reserved_event(event) {
            return Err(EmitError::ReservedEvent);
        }
        let encoded = self
            .nsp
            .parser()
            .encode_event(self.nsp.name(), event, args, None)
            .map_err(EmitError::Encode)?;
        let packet = OutgoingPacket {
            frames: frames_of(&encoded, true).into(),
        };
        self.nsp.adapter().broadcast(&packet, &self.opts);
        Ok(())
    }

    /// Emits an event to every targeted socket and collects their acknowledgements until all
    /// answered or the timeout (default 5 s when none was set) passed.
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<BroadcastAcks, EmitError> {
        if is_reserved_event(event) {
            return Err(EmitError::ReservedEvent);
        }
        let id = self.nsp.next_ack_id();
        let encoded = self
            .nsp
            .parser()
            .encode_event(self.nsp.name(), event, args, Some(id))
            .map_err(EmitError::Encode)?;
        let packet = OutgoingPacket {
            frames: frames_of(&encoded, true).into(),
        };
        let (tx, mut rx) = mpsc::unbounded_channel();
        let expected = self
            .nsp
            .adapter()
            .broadcast_with_ack(&packet, &self.opts, id, tx)
            .await;
        let timeout = self.opts.flags.timeout.unwrap_or(Duration::from_secs(5));
        let mut responses = Vec::with_capacity(expected);
        let collect = async {
            while responses.len() < expected {
                match rx.recv().await {
                    Some(r) => responses.push(r),
                    None => break,
                }
            }
        };
        let timed_out = tokio::time::timeout(timeout, collect).await.is_err();
        let error = (timed_out || responses.len() < expected).then_some(AckError::Timeout);
        Ok(BroadcastAcks { responses, error })
    }

    /// The targeted sockets.
    pub async fn fetch_sockets(&self) -> Vec<Arc<Socket>> {
        self.nsp.adapter().fetch_sockets(&self.opts).await
    }

    /// Makes the targeted sockets join rooms.
    pub fn sockets_join(&self, rooms: impl IntoRooms) {
        self.nsp
            .adapter()
            .add_sockets(&self.opts, &rooms.into_rooms());
    }

    /// Makes the targeted sockets leave rooms.
    pub fn sockets_leave(&self, rooms: impl IntoRooms) {
        self.nsp
            .adapter()
            .del_sockets(&self.opts, &rooms.into_rooms());
    }

    /// Disconnects the targeted sockets (with `close`, their whole connections).
    pub fn disconnect_sockets(&self, close: bool) {
        self.nsp.adapter().disconnect_sockets(&self.opts, close);
    }
}
