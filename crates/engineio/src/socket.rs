//! A session ("engine socket"): its outbound queue, its transport state and how it closes.
//!
//! Every transport works the same way: packets to send go into one queue under a short-lived
//! std mutex (never held across `.await`), and the `writer` notification wakes whoever writes
//! for the session now: a pending polling GET, or the session's WebSocket task. What a peer
//! sends is decoded by the transport and handed to [`Socket::on_packet`], in arrival order.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::config::TransportKind;
use crate::engine::Engine;
use crate::heartbeat::HeartbeatLease;
use crate::message::Message;
use crate::packet::{DecodeError, Frame, Packet};
use crate::request::RequestInfo;
use crate::sid::Sid;

/// Why a session closed, named as Node's engine.io names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The peer closed the connection, or sent a close packet over polling.
    TransportClose,
    /// The transport failed: an aborted or overlapping request, an oversized WebSocket
    /// message, a protocol violation of the transport, a ping sent by a v4 client.
    TransportError,
    /// No pong arrived within `pingTimeout`.
    PingTimeout,
    /// The server closed the session ([`Socket::close`]).
    ForcedClose,
    /// The peer sent a packet that could not be decoded.
    ParseError,
    /// The whole server was shut down.
    ForcedServerClose,
    /// More than the session's bound (`max_buffered_bytes`) was queued for a peer that does
    /// not read fast enough ([`OverflowPolicy::Disconnect`]).
    QueueFull,
}

impl CloseReason {
    /// The reason as Node's engine.io spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ForcedClose => "forced close",
            CloseReason::ParseError => "parse error",
            CloseReason::ForcedServerClose => "forced server close",
            CloseReason::QueueFull => "outbound queue full",
        }
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How full a session's queue is after packets were queued: what a producer acts on
/// (backpressure). Over the high-water mark, slow down until [`Socket::drained`] returns or
/// [`Handler::on_drain`](crate::Handler::on_drain) is called; over `max_buffered_bytes` the
/// session is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pressure {
    /// At or under the high-water mark.
    Normal,
    /// Over the high-water mark.
    OverHighWater,
}

/// What happens to packets that would take a session's queue past its bound
/// (`max_buffered_bytes`), that is, to a peer that does not read as fast as it is sent to.
/// Volatile packets never get that far: they are dropped whenever the transport cannot write
/// them at once ([`Socket::is_writable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverflowPolicy {
    /// The session is closed with [`CloseReason::QueueFull`] (the default): nothing queued
    /// is lost while the session lives, and memory stays bounded.
    #[default]
    Disconnect,
    /// The packet is refused with [`SendError::Full`] and nothing is queued; the sender waits
    /// ([`Socket::send_frames_when_ready`], or [`Socket::drained`] then again) and the
    /// session stays open.
    Wait,
}

/// A message could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The session is closed (or was closed now because its queue overflowed).
    Closed,
    /// The queue is full and the session's policy is [`OverflowPolicy::Wait`]: nothing was
    /// queued.
    Full,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SendError::Closed => "the session is closed",
            SendError::Full => "the session's outbound queue is full",
        })
    }
}

impl std::error::Error for SendError {}

/// A session's queue bounds: the server's options, which each session may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueueLimits {
    pub(crate) max_buffered_bytes: usize,
    pub(crate) high_water_mark: usize,
    pub(crate) policy: OverflowPolicy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Open,
    /// The server closes the session once what is queued (ending with a close packet on
    /// polling) has been written.
    Closing,
    Closed(CloseReason),
}

/// The packets waiting for the transport, and their size.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    /// The first packet queued, held here so that a queue of one (the common case) needs no
    /// allocation; `frames` holds the ones after it, and is empty while this is `None`.
    first: Option<Frame>,
    frames: VecDeque<Frame>,
    pub(crate) bytes: usize,
    /// The queue went over the high-water mark since the writer last emptied it.
    over_high_water: bool,
    /// More than one packet was queued at once since the last heartbeat: the session is busy,
    /// so its buffers are kept while empty. The heartbeat clears it ([`Outbox::let_go`]).
    keep: bool,
}

impl Outbox {
    fn push(&mut self, frame: Frame) {
        self.bytes += frame.len();
        if self.first.is_none() {
            self.first = Some(frame);
        } else {
            self.keep = true;
            self.frames.push_back(frame);
        }
    }

    /// Lets the next take that finds nothing queued give the buffers' memory back: called at
    /// each heartbeat, so a session that fell idle holds none after its next ping, while a
    /// busy one does not make its buffers again at every burst.
    pub(crate) fn let_go(&mut self) {
        self.keep = false;
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// Moves every queued packet to `out` (which must be empty); the two buffers swap, so
    /// while packets keep coming neither allocates. When nothing was queued and no burst came
    /// since the last heartbeat, both buffers give their memory back: an idle session holds
    /// none. Returns whether the queue had been over
    /// the high-water mark: the caller then reports the drain ([`Socket::drained`]) once the
    /// lock is released.
    #[must_use]
    pub(crate) fn take_into(&mut self, out: &mut VecDeque<Frame>) -> bool {
        let (first, drained) = self.take_first(out);
        if let Some(first) = first {
            out.push_front(first);
        }
        drained
    }

    /// Takes the first queued packet, and moves the others to `rest` (which must be empty) as
    /// [`take_into`](Self::take_into) does. A queue of one packet moves no buffer: a session
    /// sending one packet at a time allocates none for its queue.
    #[must_use]
    pub(crate) fn take_first(&mut self, rest: &mut VecDeque<Frame>) -> (Option<Frame>, bool) {
        let first = self.first.take();
        if self.frames.is_empty() {
            if first.is_none() && !self.keep {
                if self.frames.capacity() > 0 {
                    self.frames = VecDeque::new();
                }
                if rest.capacity() > 0 {
                    *rest = VecDeque::new();
                }
            }
        } else {
            std::mem::swap(&mut self.frames, rest);
        }
        self.bytes = 0;
        (first, std::mem::take(&mut self.over_high_water))
    }

    pub(crate) fn clear(&mut self) {
        self.first = None;
        self.frames.clear();
        self.bytes = 0;
    }
}

pub(crate) struct State<D> {
    pub(crate) phase: Phase,
    pub(crate) transport: TransportKind,
    /// A WebSocket is attached for an upgrade (or is the transport).
    pub(crate) websocket_attached: bool,
    /// The upgrade probe succeeded; polling requests are answered with a noop until the
    /// client sends the upgrade packet.
    pub(crate) upgrading: bool,
    pub(crate) queue: Outbox,
    pub(crate) get_pending: bool,
    pub(crate) post_pending: bool,
    /// A ping went out and its pong has not come yet.
    pub(crate) awaiting_pong: bool,
    /// How many heartbeat entries were scheduled for the session: only the latest applies.
    pub(crate) beat: u64,
    /// The session's claim on the server's heartbeat, given up when it closes.
    pub(crate) heartbeat: Option<HeartbeatLease<D>>,
    pub(crate) limits: QueueLimits,
}

/// One Engine.IO session, shared by its transport and the upper layer.
///
/// `D` is the upper layer's per-session data ([`Handler::Data`](crate::Handler::Data)).
pub struct Socket<D> {
    id: Sid,
    request: Arc<RequestInfo>,
    data: D,
    /// Binary frames are allowed on the WebSocket (false when the client sent `b64`).
    supports_binary: bool,
    pub(crate) engine: Arc<Engine<D>>,
    state: Mutex<State<D>>,
    /// Wakes the current writer: something was queued, or the state changed.
    pub(crate) writer: Notify,
    /// The session's WebSocket task is handling what it read, and takes the queue before it
    /// waits again: packets queued meanwhile (an answer from a handler) need no wake-up, which
    /// would only make the task run once more for nothing. Set by that task; cleared, and read
    /// by producers, under the state lock.
    writer_busy: AtomicBool,
    /// Wakes every task of the session when it closes.
    pub(crate) closed: Notify,
    /// Wakes [`Socket::drained`] waiters.
    drain: Notify,
}

impl<D> std::fmt::Debug for Socket<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl<D: Default + Send + Sync + 'static> Socket<D> {
    pub(crate) fn new(
        id: Sid,
        request: Arc<RequestInfo>,
        data: D,
        transport: TransportKind,
        supports_binary: bool,
        engine: Arc<Engine<D>>,
    ) -> Self {
        let limits = QueueLimits {
            max_buffered_bytes: engine.config.max_buffered_bytes,
            high_water_mark: engine.config.high_water_mark,
            policy: engine.config.overflow_policy,
        };
        Socket {
            id,
            request,
            data,
            supports_binary,
            engine,
            state: Mutex::new(State {
                phase: Phase::Open,
                transport,
                websocket_attached: transport == TransportKind::WebSocket,
                upgrading: false,
                queue: Outbox::default(),
                get_pending: false,
                post_pending: false,
                awaiting_pong: false,
                beat: 0,
                heartbeat: None,
                limits,
            }),
            writer: Notify::new(),
            writer_busy: AtomicBool::new(false),
            closed: Notify::new(),
            drain: Notify::new(),
        }
    }

    /// The session id.
    pub fn id(&self) -> Sid {
        self.id
    }

    /// The HTTP request that opened the session.
    pub fn request(&self) -> &Arc<RequestInfo> {
        &self.request
    }

    /// The upper layer's data for this session.
    pub fn data(&self) -> &D {
        &self.data
    }

    /// The Engine.IO protocol version of the session (always 4 for now).
    pub fn protocol(&self) -> u8 {
        4
    }

    /// The transport in use now.
    pub fn transport(&self) -> TransportKind {
        self.lock().transport
    }

    /// Whether the session is still open.
    pub fn is_open(&self) -> bool {
        self.lock().phase == Phase::Open
    }

    /// Whether binary messages go out as binary WebSocket frames (false when the client asked
    /// for base64 with `b64`).
    pub(crate) fn supports_binary(&self) -> bool {
        self.supports_binary
    }

    /// Whether a packet queued now would go out at once: nothing is waiting in the queue and
    /// the transport can write (a WebSocket, or a polling GET is pending). Volatile packets
    /// are dropped when this is false, as Node drops them on a non-writable transport.
    pub fn is_writable(&self) -> bool {
        let st = self.lock();
        st.phase == Phase::Open
            && st.queue.is_empty()
            && (st.transport == TransportKind::WebSocket || st.get_pending)
    }

    /// Queues a message.
    pub fn send(&self, message: Message) -> Result<Pressure, SendError> {
        self.send_frame(Frame::message(message))
    }

    /// Queues an already encoded message packet (see [`Frame::from_encoded_message`]), so that
    /// one encoding can be shared by many sessions.
    pub fn send_frame(&self, frame: Frame) -> Result<Pressure, SendError> {
        debug_assert!(frame.is_message());
        self.send_frames(std::iter::once(frame))
    }

    /// Queues several packets at once: no other packet can come between them (a Socket.IO
    /// packet and its binary attachments). Past the session's bound its
    /// [`OverflowPolicy`] applies: the session is closed, or nothing is queued and
    /// [`SendError::Full`] returned.
    pub fn send_frames(
        &self,
        frames: impl IntoIterator<Item = Frame>,
    ) -> Result<Pressure, SendError> {
        let mut st = self.lock();
        if st.phase != Phase::Open {
            return Err(SendError::Closed);
        }
        let was_empty = st.queue.is_empty();
        if st.limits.policy == OverflowPolicy::Wait {
            let frames: Vec<Frame> = frames.into_iter().collect();
            let size = frames.iter().map(Frame::len).sum::<usize>();
            if st.queue.bytes.saturating_add(size) > st.limits.max_buffered_bytes {
                // The writer reports the drain once it takes the queue, so a waiting sender
                // hears of it.
                st.queue.over_high_water = true;
                return Err(SendError::Full);
            }
            for frame in frames {
                st.queue.push(frame);
            }
        } else {
            for frame in frames {
                st.queue.push(frame);
            }
        }
        self.after_push(st, was_empty)
    }

    /// Queues several packets at once, first waiting while the queue is over its high-water
    /// mark or has no room for them: the way for a producer to never outrun its peer, whatever
    /// the session's policy. Fails with [`SendError::Closed`] once the session closes, and
    /// with [`SendError::Full`] only if the packets alone are larger than the bound.
    pub async fn send_frames_when_ready(&self, frames: Vec<Frame>) -> Result<Pressure, SendError> {
        let size = frames.iter().map(Frame::len).sum::<usize>();
        loop {
            let drained = self.drain.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            let closed = self.closed.notified();
            tokio::pin!(closed);
            closed.as_mut().enable();
            {
                let mut st = self.lock();
                if st.phase != Phase::Open {
                    return Err(SendError::Closed);
                }
                let limits = st.limits;
                if size > limits.max_buffered_bytes {
                    return Err(SendError::Full);
                }
                if st.queue.bytes <= limits.high_water_mark
                    && st.queue.bytes.saturating_add(size) <= limits.max_buffered_bytes
                {
                    let was_empty = st.queue.is_empty();
                    for frame in frames {
                        st.queue.push(frame);
                    }
                    return self.after_push(st, was_empty);
                }
                st.queue.over_high_water = true;
            }
            tokio::select! {
                _ = drained => {}
                _ = closed => return Err(SendError::Closed),
            }
        }
    }

    /// Applies the queue's bounds after packets were queued, and wakes the writer if the
    /// queue was empty: packets added to a queue that was not were preceded by a wake-up
    /// the writer has not acted on yet (each writer arms its wake-up before it takes the
    /// queue), so it takes them with the others.
    fn after_push(
        &self,
        mut st: MutexGuard<'_, State<D>>,
        was_empty: bool,
    ) -> Result<Pressure, SendError> {
        let limits = st.limits;
        let bytes = st.queue.bytes;
        if bytes > limits.high_water_mark {
            st.queue.over_high_water = true;
        }
        let wake = was_empty && !self.writer_busy.load(Ordering::Relaxed);
        drop(st);
        if bytes > limits.max_buffered_bytes {
            self.overflow();
            return Err(SendError::Closed);
        }
        if wake {
            self.writer.notify_one();
        }
        Ok(if bytes > limits.high_water_mark {
            Pressure::OverHighWater
        } else {
            Pressure::Normal
        })
    }

    /// Sets this session's queue bound (`max_buffered_bytes` of the server by default).
    pub fn set_max_buffered_bytes(&self, bytes: usize) {
        self.lock().limits.max_buffered_bytes = bytes;
    }

    /// Sets this session's high-water mark (`high_water_mark` of the server by default).
    pub fn set_high_water_mark(&self, bytes: usize) {
        self.lock().limits.high_water_mark = bytes;
    }

    /// Sets what happens past this session's bound (`overflow_policy` of the server by
    /// default).
    pub fn set_overflow_policy(&self, policy: OverflowPolicy) {
        self.lock().limits.policy = policy;
    }

    /// This session's queue bound, in bytes.
    pub fn max_buffered_bytes(&self) -> usize {
        self.lock().limits.max_buffered_bytes
    }

    /// This session's policy past its bound.
    pub fn overflow_policy(&self) -> OverflowPolicy {
        self.lock().limits.policy
    }

    /// Closes the session at once with [`CloseReason::QueueFull`]: for a sender that cannot
    /// wait (a broadcast) and meets a full queue under [`OverflowPolicy::Wait`].
    pub fn close_queue_full(self: &Arc<Self>) {
        tracing::debug!(sid = %self.id, "outbound queue full, closing");
        self.finish(CloseReason::QueueFull);
    }

    /// Whether more than the high-water mark is queued for this session.
    pub fn is_over_high_water(&self) -> bool {
        let st = self.lock();
        st.queue.bytes > st.limits.high_water_mark
    }

    /// Waits until this session's queue is back under the high-water mark (at once if it
    /// is), or the session closed.
    pub async fn drained(&self) {
        loop {
            let drained = self.drain.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            let closed = self.closed.notified();
            tokio::pin!(closed);
            closed.as_mut().enable();
            if !self.is_open() || !self.is_over_high_water() {
                return;
            }
            tokio::select! {
                _ = drained => {}
                _ = closed => return,
            }
        }
    }

    /// Reports that the queue, once over the high-water mark, was handed to the transport.
    pub(crate) fn report_drain(self: &Arc<Self>) {
        self.drain.notify_waiters();
        self.engine.handler.on_drain(self);
    }

    /// How many bytes are queued for this session and not yet handed to its transport.
    pub fn buffered_bytes(&self) -> usize {
        self.lock().queue.bytes
    }

    /// A peer that does not read what is sent to it would make its queue grow without bound:
    /// past `max_buffered_bytes` the session is closed instead.
    fn overflow(&self) {
        tracing::debug!(sid = %self.id, "outbound queue over its bound, closing");
        if let Some(socket) = self.engine.get(self.id) {
            socket.finish(CloseReason::QueueFull);
        }
    }

    /// Closes the session from the server side: what is queued is still written, then the
    /// session closes with [`CloseReason::ForcedClose`]. On polling, as in Node, the queued
    /// packets go out first and the close packet in a later response (clients handle the
    /// packets of a payload asynchronously but its close packet at once, so sharing one
    /// response would let the close overtake them); the client's GET for it is awaited at
    /// most `close_timeout` (30 s).
    pub fn close(self: &Arc<Self>) {
        let mut st = self.lock();
        if st.phase != Phase::Open {
            return;
        }
        st.phase = Phase::Closing;
        let polling = st.transport == TransportKind::Polling;
        drop(st);
        self.writer.notify_one();
        if polling {
            let socket = Arc::clone(self);
            let delay = self.engine.config.close_timeout;
            // The timer ends with the session, whichever comes first.
            tokio::spawn(async move {
                let closed = socket.closed.notified();
                tokio::pin!(closed);
                closed.as_mut().enable();
                if matches!(socket.lock().phase, Phase::Closed(_)) {
                    return;
                }
                tokio::select! {
                    () = tokio::time::sleep(delay) => socket.finish(CloseReason::ForcedClose),
                    () = closed => {}
                }
            });
        }
    }

    /// Marks the session's WebSocket task as handling what it read: see `writer_busy`.
    pub(crate) fn set_writer_busy(&self) {
        self.writer_busy.store(true, Ordering::Relaxed);
    }

    /// Takes the first queued packet and moves the rest to `rest` (see
    /// [`Outbox::take_first`]), for the session's WebSocket task, which from now on needs a
    /// wake-up for what is queued; also returns the session's phase.
    pub(crate) fn take_for_writer(
        &self,
        rest: &mut VecDeque<Frame>,
    ) -> (Phase, Option<Frame>, bool) {
        let mut st = self.lock();
        self.writer_busy.store(false, Ordering::Relaxed);
        let (first, drained) = st.queue.take_first(rest);
        (st.phase, first, drained)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State<D>> {
        // A panic while the lock is held cannot leave the state inconsistent in a way that
        // matters more than stopping the session, so a poisoned lock is used as is.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a control packet (ping, noop…) even while closing.
    pub(crate) fn push_control(&self, frame: Frame) {
        let mut st = self.lock();
        if matches!(st.phase, Phase::Closed(_)) {
            return;
        }
        let wake = st.queue.is_empty() && !self.writer_busy.load(Ordering::Relaxed);
        st.queue.push(frame);
        drop(st);
        if wake {
            self.writer.notify_one();
        }
    }

    /// Handles one packet received from the peer over `from`.
    pub(crate) fn on_packet(
        self: &Arc<Self>,
        packet: Result<Packet, DecodeError>,
        from: TransportKind,
    ) {
        match packet {
            Ok(Packet::Message(message)) => {
                if self.is_open() {
                    self.engine.handler.on_message(self, message);
                }
            }
            Ok(Packet::Pong(_)) => self.engine.heartbeat.pong(self),
            // Over WebSocket Node ignores a close packet; the session ends at the next ping
            // timeout, or when the client closes the connection, as official clients do.
            Ok(Packet::Close) if from == TransportKind::Polling => {
                self.finish(CloseReason::TransportClose)
            }
            // In v4 only the server pings ("invalid heartbeat direction").
            Ok(Packet::Ping(_)) => self.finish(CloseReason::TransportError),
            Ok(Packet::Close | Packet::Open | Packet::Upgrade | Packet::Noop) => {}
            Err(_) => self.finish(CloseReason::ParseError),
        }
    }

    /// Closes the session now: it leaves the registry, its tasks stop, a pending GET is
    /// answered, and the upper layer hears `reason`. Does nothing if already closed.
    pub(crate) fn finish(self: &Arc<Self>, reason: CloseReason) {
        let mut st = self.lock();
        if matches!(st.phase, Phase::Closed(_)) {
            return;
        }
        st.phase = Phase::Closed(reason);
        st.queue.clear();
        let heartbeat = st.heartbeat.take();
        drop(st);
        drop(heartbeat);
        self.engine.remove(self.id);
        self.closed.notify_waiters();
        self.writer.notify_waiters();
        self.writer.notify_one();
        tracing::debug!(sid = %self.id, %reason, "session closed");
        self.engine.handler.on_close(self, reason);
    }
}

#[cfg(test)]
mod outbox_tests {
    use super::*;

    fn texts(frames: &VecDeque<Frame>) -> Vec<Frame> {
        frames.iter().cloned().collect()
    }

    #[test]
    fn packets_are_taken_in_the_order_queued() {
        let mut outbox = Outbox::default();
        let mut out = VecDeque::new();
        for text in ["a", "b", "c"] {
            outbox.push(Frame::message_text(text));
        }
        let _ = outbox.take_into(&mut out);
        let want: Vec<Frame> = ["a", "b", "c"].map(Frame::message_text).into();
        assert_eq!(texts(&out), want);
        assert!(outbox.is_empty());
        assert_eq!(outbox.bytes, 0);

        out.clear();
        outbox.push(Frame::message_text("d"));
        outbox.push(Frame::message_text("e"));
        let (first, _) = outbox.take_first(&mut out);
        assert_eq!(first, Some(Frame::message_text("d")));
        assert_eq!(texts(&out), vec![Frame::message_text("e")]);
        assert!(outbox.is_empty());
    }

    #[test]
    fn one_packet_is_taken_without_a_buffer_and_a_session_idle_since_a_heartbeat_holds_none() {
        let mut outbox = Outbox::default();
        let mut rest = VecDeque::new();
        outbox.push(Frame::message_text("x"));
        let (first, _) = outbox.take_first(&mut rest);
        assert_eq!(first, Some(Frame::message_text("x")));
        assert_eq!(rest.capacity(), 0);

        outbox.push(Frame::message_text("y"));
        outbox.push(Frame::message_text("z"));
        let _ = outbox.take_first(&mut rest);
        rest.clear();
        // Busy since the last heartbeat: the buffer is kept for the next burst.
        let (first, _) = outbox.take_first(&mut rest);
        assert_eq!(first, None);
        assert!(rest.capacity() > 0 || outbox.frames.capacity() > 0);
        outbox.push(Frame::message_text("y"));
        outbox.push(Frame::message_text("z"));
        let _ = outbox.take_first(&mut rest);
        assert_eq!(texts(&rest), vec![Frame::message_text("z")]);
        rest.clear();
        // After a heartbeat, the next take that finds nothing gives both buffers back.
        outbox.let_go();
        let (first, _) = outbox.take_first(&mut rest);
        assert_eq!(first, None);
        assert_eq!(rest.capacity(), 0);
        assert_eq!(outbox.frames.capacity(), 0);
    }
}
