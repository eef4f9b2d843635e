//! The retry queue of a socket with the `retries` option (socket.io-client 4.6+): every emit
//! is queued and sent one at a time with an acknowledgement; a try that times out (or is cut
//! by a disconnection) is sent again, until the number of tries exceeds `retries`. Delivery
//! becomes at-least-once and in order: the server may see an event more than once, never an
//! event overtaking an earlier one.
//!
//! Each try is a new EVENT with a new ack id; the queue waits for the answer to the latest.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use smol_str::SmolStr;

use super::ack::{AckResponse, AckSlot, AckWaiter};
use super::error::AckError;
use super::socket::{After, SocketShared, SocketState};
use crate::Value;

/// One queued emit.
struct Queued {
    seq: u64,
    event: SmolStr,
    args: Vec<Value>,
    /// The acknowledgement timeout of each try (`timeout` flag, else `ackTimeout`); without
    /// one a try waits for ever, and is only sent again after a reconnection.
    timeout: Option<Duration>,
    tries: u32,
    /// A try is out and its answer awaited.
    pending: bool,
    /// Who waits for the final answer (an `emit_with_ack`); none for a plain emit.
    done: Option<AckWaiter>,
}

/// The queue of a socket.
#[derive(Default)]
pub(crate) struct RetryQueue {
    next_seq: u64,
    items: VecDeque<Queued>,
}

impl RetryQueue {
    fn front_is(&self, seq: u64) -> bool {
        self.items.front().is_some_and(|q| q.seq == seq)
    }
}

impl SocketShared {
    /// Queues an emit and sends it if it is first in line.
    pub(crate) fn enqueue(
        self: &Arc<Self>,
        event: &str,
        args: Vec<Value>,
        timeout: Option<Duration>,
        done: Option<AckWaiter>,
    ) {
        self.with_state(|st, after| {
            let seq = st.queue.next_seq;
            st.queue.next_seq += 1;
            st.queue.items.push_back(Queued {
                seq,
                event: SmolStr::new(event),
                args,
                timeout,
                tries: 0,
                pending: false,
                done,
            });
            self.drain_queue(st, false, after);
        });
    }

    /// Sends the first queued emit, unless a try of it is already out (`force` sends it again
    /// anyway: after a reconnection, the previous try may have been lost).
    pub(crate) fn drain_queue(
        self: &Arc<Self>,
        st: &mut SocketState,
        force: bool,
        after: &mut After,
    ) {
        if !st.connected {
            return;
        }
        // Bounded: every turn sends and returns, or removes an item.
        while let Some(front) = st.queue.items.front_mut() {
            if front.pending && !force {
                return;
            }
            front.pending = true;
            front.tries = front.tries.saturating_add(1);
            let id = self.next_ack_id();
            match self
                .link
                .parser
                .encode_event(&self.nsp, &front.event, &front.args, Some(id))
            {
                Ok(encoded) => {
                    st.acks.insert(id, AckSlot::Queued(front.seq));
                    self.link.send(&encoded);
                    tracing::debug!(nsp = %self.nsp, seq = front.seq, tries = front.tries, "socket.io client: queued packet sent");
                    if self.has_outgoing_listeners() {
                        after
                            .outgoing
                            .push((front.event.clone(), front.args.clone()));
                    }
                    if let Some(timeout) = front.timeout {
                        self.spawn_try_timer(id, timeout);
                    }
                    return;
                }
                Err(e) => {
                    // Values always encode; should one not, the emit fails rather than blocks
                    // the queue.
                    if let Some(done) = st.queue.items.pop_front().and_then(|q| q.done) {
                        after.answers.push((done, Err(AckError::Emit(e.into()))));
                    }
                }
            }
        }
    }

    /// Arms the timeout of one try.
    fn spawn_try_timer(self: &Arc<Self>, id: u64, timeout: Duration) {
        let socket = Arc::downgrade(self);
        self.link.runtime.spawn(async move {
            tokio::time::sleep(timeout).await;
            let Some(socket) = socket.upgrade() else {
                return;
            };
            socket.with_state(|st, after| {
                // Answered (or cut by a disconnection) meanwhile: nothing to do.
                if let Some(AckSlot::Queued(seq)) = st.acks.get(&id) {
                    let seq = *seq;
                    st.acks.remove(&id);
                    socket.queue_result(st, seq, Err(AckError::Timeout), after);
                }
            });
        });
    }

    /// The outcome of the try of queued emit `seq`: an answer completes it; an error sends it
    /// again, unless it was tried more than `retries` times, then it is dropped with the error.
    pub(crate) fn queue_result(
        self: &Arc<Self>,
        st: &mut SocketState,
        seq: u64,
        result: Result<AckResponse, AckError>,
        after: &mut After,
    ) {
        if !st.queue.front_is(seq) {
            // An answer to a packet already acknowledged.
            return;
        }
        let retries = self.retries.unwrap_or(0);
        match result {
            Ok(answer) => {
                if let Some(done) = st.queue.items.pop_front().and_then(|q| q.done) {
                    after.answers.push((done, Ok(answer)));
                }
            }
            Err(e) => {
                let exhausted = st.queue.items.front().is_some_and(|q| q.tries > retries);
                if exhausted {
                    tracing::debug!(nsp = %self.nsp, seq, "socket.io client: queued packet dropped after its last try");
                    if let Some(done) = st.queue.items.pop_front().and_then(|q| q.done) {
                        after.answers.push((done, Err(e)));
                    }
                } else if let Some(front) = st.queue.items.front_mut() {
                    front.pending = false;
                }
            }
        }
        self.drain_queue(st, false, after);
    }

    /// The socket disconnected while a try of queued emit `seq` was out. With a timeout the
    /// try counts as failed (socket.io-client calls its callback with `socket has been
    /// disconnected`); without one it stays pending, and is sent again on reconnection.
    pub(crate) fn queue_disconnected(
        self: &Arc<Self>,
        st: &mut SocketState,
        seq: u64,
        after: &mut After,
    ) {
        let has_timeout = st
            .queue
            .items
            .front()
            .is_some_and(|q| q.seq == seq && q.timeout.is_some());
        if has_timeout {
            self.queue_result(st, seq, Err(AckError::Disconnected), after);
        }
    }
}
