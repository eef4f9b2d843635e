//! The server's heartbeat (v4): ping every `pingInterval`, close after `pingTimeout` without a
//! pong. Other traffic does not reset either timer, as in Node: the next ping is due
//! `pingInterval` after the pong.
//!
//! One [`TimerQueue`] per server serves every session, with two lanes: the next ping
//! (`pingInterval` after the handshake or the pong) and the pong's deadline (`pingTimeout`
//! after the ping). A session has one entry pending at a time; its state counts the entries
//! scheduled for it (`beat`), so an entry that no longer applies (its pong came, the session
//! closed) is recognised and skipped when it comes due.

use std::sync::{Arc, Weak};

use crate::config::Config;
use crate::packet::Frame;
use crate::socket::{CloseReason, Phase, Socket};
use crate::timers::{TimerLease, TimerQueue};

/// The lane of the next ping.
const PING: usize = 0;
/// The lane of the pong's deadline.
const PONG_DEADLINE: usize = 1;

/// An entry: the session and the generation it was scheduled for.
pub(crate) type Beat<D> = (Weak<Socket<D>>, u64);

/// The heartbeat of every session of a server.
pub(crate) struct Heartbeat<D> {
    queue: TimerQueue<Beat<D>>,
}

impl<D: Default + Send + Sync + 'static> Heartbeat<D> {
    pub(crate) fn new(config: &Config) -> Self {
        Heartbeat {
            queue: TimerQueue::new(vec![config.ping_interval, config.ping_timeout], fire::<D>),
        }
    }

    /// Starts the heartbeat of a new session: its first ping is due in `pingInterval`.
    pub(crate) fn start(&self, socket: &Arc<Socket<D>>) {
        let lease = self.queue.lease();
        let beat = {
            let mut st = socket.lock();
            st.heartbeat = Some(lease);
            st.beat
        };
        self.queue.schedule(PING, (Arc::downgrade(socket), beat));
    }

    /// The awaited pong arrived: the next ping is due in `pingInterval`.
    pub(crate) fn pong(&self, socket: &Arc<Socket<D>>) {
        let beat = {
            let mut st = socket.lock();
            if !st.awaiting_pong || st.phase != Phase::Open {
                return;
            }
            st.awaiting_pong = false;
            st.beat = st.beat.wrapping_add(1);
            st.beat
        };
        self.queue.schedule(PING, (Arc::downgrade(socket), beat));
    }

    /// Ends every session's heartbeat (the server closes).
    pub(crate) fn stop(&self) {
        self.queue.stop();
    }
}

/// An entry came due.
fn fire<D: Default + Send + Sync + 'static>(lane: usize, (socket, beat): Beat<D>) {
    let Some(socket) = socket.upgrade() else {
        return;
    };
    let mut st = socket.lock();
    if st.beat != beat {
        return;
    }
    if lane == PING {
        if st.phase != Phase::Open {
            return;
        }
        // Marked before the ping goes out, so a pong that beats us here still counts.
        st.awaiting_pong = true;
        st.beat = st.beat.wrapping_add(1);
        st.queue.let_go();
        let beat = st.beat;
        drop(st);
        socket.push_control(Frame::ping());
        socket
            .engine
            .heartbeat
            .queue
            .schedule(PONG_DEADLINE, (Arc::downgrade(&socket), beat));
    } else if st.awaiting_pong {
        drop(st);
        socket.finish(CloseReason::PingTimeout);
    }
}

/// A session's claim on the server's heartbeat (kept in its state until it closes).
pub(crate) type HeartbeatLease<D> = TimerLease<Beat<D>>;
