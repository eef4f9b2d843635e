//! Operations on many sockets of a namespace: `to`/`except` rooms, `volatile`, `local`,
//! `timeout`, then `emit`, `emit_with_ack`, `fetch_sockets`, `sockets_join`, `sockets_leave`,
//! `disconnect_sockets`. A broadcast is encoded once; every socket gets the same bytes.
//!
//! With a cluster adapter every operation reaches the sockets of every server (unless
//! `local`); a broadcast with acknowledgements completes when every server has told how many
//! sockets it reached and all of them answered, as in Node.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::ack::{AckError, BroadcastAcks};
use super::adapter::{
    AckCollector, AckEvent, AdapterError, BroadcastOptions, OutgoingPacket, RemoteSocket,
};
use super::namespace::Namespace;
use super::socket::{EmitError, IntoRooms};
use crate::is_reserved_event;

/// How long a broadcast with acknowledgements waits when no timeout was set.
const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(5);

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

    /// The targeting and flags of this operator.
    pub fn options(&self) -> &BroadcastOptions {
        &self.opts
    }

    /// Whether the packet must be built for the adapter to publish it.
    fn with_packet(&self) -> bool {
        !self.opts.flags.local && self.nsp.adapter().publishes_packets()
    }

    /// Emits an event to every targeted socket. `args` must serialize to a sequence.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        if is_reserved_event(event) {
            return Err(EmitError::ReservedEvent);
        }
        let packet = OutgoingPacket::event(&self.nsp, event, args, None, self.with_packet())
            .map_err(EmitError::Encode)?;
        self.nsp.adapter().broadcast(&packet, &self.opts);
        Ok(())
    }

    /// Emits an event to every targeted socket and collects their acknowledgements until all
    /// answered or the timeout (default 5 s when none was set) passed. With a cluster
    /// adapter, each server reports how many sockets it reached; an answer from a socket of
    /// another server holds the first argument of its acknowledgement only (as in Node).
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<BroadcastAcks, EmitError> {
        if is_reserved_event(event) {
            return Err(EmitError::ReservedEvent);
        }
        let id = self.nsp.next_ack_id();
        let packet = OutgoingPacket::event(&self.nsp, event, args, Some(id), self.with_packet())
            .map_err(EmitError::Encode)?;
        let timeout = self.opts.flags.timeout.unwrap_or(DEFAULT_ACK_TIMEOUT);
        // Other servers learn the timeout from the flags, to know how long to forward answers.
        let mut opts = self.opts.clone();
        opts.flags.timeout = Some(timeout);
        let (collector, mut stream) = AckCollector::channel(self.nsp.name());
        let adapter = self.nsp.adapter();
        adapter.broadcast_with_ack(&packet, &opts, collector);
        let server_count = async {
            if opts.flags.local {
                1
            } else {
                adapter.server_count().await
            }
        };

        let mut expected_servers: Option<usize> = None;
        let mut reporting_servers = 0usize;
        let mut expected_clients = 0usize;
        let mut responses = Vec::new();
        let collect = async {
            tokio::pin!(server_count);
            loop {
                if let Some(servers) = expected_servers
                    && reporting_servers >= servers
                    && responses.len() >= expected_clients
                {
                    return true;
                }
                tokio::select! {
                    n = &mut server_count, if expected_servers.is_none() => {
                        expected_servers = Some(n);
                    }
                    event = stream.next() => match event {
                        Some(AckEvent::ClientCount(n)) => {
                            reporting_servers += 1;
                            expected_clients += n;
                        }
                        Some(AckEvent::Response(r)) => responses.push(r),
                        // Nobody can report any more.
                        None => return false,
                    },
                }
            }
        };
        let complete = tokio::time::timeout(timeout, collect)
            .await
            .unwrap_or(false);
        let error = (!complete).then_some(AckError::Timeout);
        Ok(BroadcastAcks { responses, error })
    }

    /// The targeted sockets, of every server of the cluster (fails when some server did not
    /// answer in time).
    pub async fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, AdapterError> {
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
