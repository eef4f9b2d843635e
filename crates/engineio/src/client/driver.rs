//! The task that runs one client session: it reads the transport, answers pings, watches
//! the heartbeat, writes the queue, performs the upgrade, and closes.
//!
//! One task does all of it, so the session's state needs no lock; the transports keep
//! their requests and connections as values, so everything ends with the task.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};

use super::event::{CloseReason, Event};
use super::polling::batch_len;
use super::socket::Shared;
use super::transport::{Transport, TransportEvent};
use super::url::Target;
use super::websocket::WebSocket;
use crate::config::TransportKind;
use crate::packet::{DecodeError, Frame, Packet};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Probe = Pin<Box<dyn Future<Output = Result<WebSocket, BoxError>> + Send>>;

/// How long the goodbye (close packet or close frame) may take after the user closed the
/// session; the task ends after it either way.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// The same after a failure (ping timeout, transport or parse error): the server is
/// probably unreachable, so the goodbye is only a courtesy.
const FAILED_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// What a [`Client`](super::Client) asks of the task.
#[derive(Debug)]
pub(crate) enum Command {
    /// Queue a message packet.
    Send(Frame),
    /// Close once everything queued is written.
    Close,
}

/// Where the upgrade to WebSocket stands.
enum Upgrade {
    /// None under way: not wanted, failed, or done.
    Idle,
    /// A WebSocket is being opened and probed; polling goes on meanwhile.
    Probing(Probe),
    /// The probe was answered: polling is pausing (no new GET, the requests in flight
    /// finish), then the session switches to this WebSocket.
    Pausing(Box<WebSocket>),
}

pub(crate) struct Driver {
    target: Arc<Target>,
    shared: Arc<Shared>,
    commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
    transport: Transport,
    /// Packets waiting for the transport (engine.io-client's `writeBuffer`).
    queue: VecDeque<Frame>,
    /// Fires `pingInterval + pingTimeout` after the handshake or the last ping.
    heartbeat: Pin<Box<Sleep>>,
    upgrade: Upgrade,
    /// The user asked to close: no more commands, drain the queue, then close.
    closing: bool,
}

impl Driver {
    pub(crate) fn new(
        target: Arc<Target>,
        shared: Arc<Shared>,
        commands: mpsc::UnboundedReceiver<Command>,
        events: mpsc::UnboundedSender<Event>,
        transport: Transport,
    ) -> Driver {
        let deadline = Instant::now() + shared.handshake.heartbeat_deadline();
        Driver {
            target,
            shared,
            commands,
            events,
            transport,
            queue: VecDeque::new(),
            heartbeat: Box::pin(tokio::time::sleep_until(deadline)),
            upgrade: Upgrade::Idle,
            closing: false,
        }
    }

    /// Runs the session to its end. `initial` are the packets that came with the open
    /// packet; `upgrade` says whether to probe a WebSocket.
    pub(crate) async fn run(mut self, initial: Vec<Result<Packet, DecodeError>>, upgrade: bool) {
        let reason = self.session(initial, upgrade).await;
        tracing::debug!(sid = %self.shared.handshake.sid(), %reason, "engine.io client: closed");
        self.shared.mark_closed();
        let _ = self.events.send(Event::Close(reason));
        // The goodbye comes after the event, as in the official client; it is bounded so
        // that a dead server cannot keep the task alive.
        let Driver {
            transport, upgrade, ..
        } = self;
        drop(upgrade);
        let polite = match transport.kind() {
            // A close packet tells the server, unless the server is the one that closed.
            TransportKind::Polling => reason != CloseReason::TransportClose,
            TransportKind::WebSocket => true,
        };
        if polite {
            let grace = match reason {
                CloseReason::ForcedClose => CLOSE_GRACE,
                _ => FAILED_CLOSE_GRACE,
            };
            let _ = tokio::time::timeout(grace, transport.close()).await;
        }
    }

    async fn session(
        &mut self,
        initial: Vec<Result<Packet, DecodeError>>,
        upgrade: bool,
    ) -> CloseReason {
        if let Err(reason) = self.on_packets(initial) {
            return reason;
        }
        self.resume_polling();
        if upgrade {
            let target = Arc::clone(&self.target);
            let sid = self.shared.handshake.sid().to_owned();
            self.upgrade =
                Upgrade::Probing(Box::pin(
                    async move { WebSocket::probe(&target, &sid).await },
                ));
        }
        loop {
            if let Err(reason) = self.step().await {
                return reason;
            }
        }
    }

    /// One turn: finish a pending switch, write, then wait for the next thing to happen.
    async fn step(&mut self) -> Result<(), CloseReason> {
        if let Upgrade::Pausing(_) = &self.upgrade
            && let Transport::Polling(polling) = &self.transport
            && polling.is_idle()
        {
            self.switch_to_websocket().await?;
        }
        self.flush().await?;
        let pausing = matches!(self.upgrade, Upgrade::Pausing(_));
        if self.closing && self.queue.is_empty() && self.transport.is_drained() && !pausing {
            return Err(CloseReason::ForcedClose);
        }
        let probing = matches!(self.upgrade, Upgrade::Probing(_));
        tokio::select! {
            command = self.commands.recv(), if !self.closing => match command {
                Some(Command::Send(frame)) => self.queue.push_back(frame),
                // Dropping every handle closes the session too.
                Some(Command::Close) | None => self.start_closing(),
            },
            event = self.transport.next() => self.on_transport_event(event)?,
            probe = probe_result(&mut self.upgrade), if probing => match probe {
                Ok(ws) => {
                    if let Transport::Polling(polling) = &mut self.transport {
                        polling.pause();
                    }
                    self.upgrade = Upgrade::Pausing(Box::new(ws));
                }
                Err(e) => {
                    tracing::debug!(sid = %self.shared.handshake.sid(), error = %e, "engine.io client: upgrade failed, staying on polling");
                    self.upgrade = Upgrade::Idle;
                }
            },
            () = self.heartbeat.as_mut() => return Err(CloseReason::PingTimeout),
        }
        Ok(())
    }

    fn start_closing(&mut self) {
        self.closing = true;
        // A probe not yet answered is abandoned; a switch already under way completes,
        // since the polling transport is paused and cannot carry the close.
        if let Upgrade::Probing(_) = self.upgrade {
            self.upgrade = Upgrade::Idle;
        }
    }

    fn on_transport_event(&mut self, event: TransportEvent) -> Result<(), CloseReason> {
        match event {
            TransportEvent::Packets(packets) => {
                self.on_packets(packets)?;
                self.resume_polling();
            }
            TransportEvent::Packet(packet) => self.on_packet(packet)?,
            TransportEvent::Drained => {}
            TransportEvent::Closed => return Err(CloseReason::TransportClose),
            TransportEvent::Error(e) => {
                tracing::debug!(sid = %self.shared.handshake.sid(), error = %e, "engine.io client: transport error");
                return Err(CloseReason::TransportError);
            }
        }
        Ok(())
    }

    fn on_packets(&mut self, packets: Vec<Result<Packet, DecodeError>>) -> Result<(), CloseReason> {
        packets.into_iter().try_for_each(|p| self.on_packet(p))
    }

    fn on_packet(&mut self, packet: Result<Packet, DecodeError>) -> Result<(), CloseReason> {
        match packet {
            Ok(Packet::Message(message)) => {
                // The user may have dropped the events; the session goes on regardless.
                let _ = self.events.send(Event::Message(message));
            }
            Ok(Packet::Ping(_)) => {
                // Like the official client, no pong once closing; the timer still restarts.
                if !self.closing {
                    self.queue.push_back(Frame::static_text("3"));
                }
                let deadline = Instant::now() + self.shared.handshake.heartbeat_deadline();
                self.heartbeat.as_mut().reset(deadline);
            }
            Ok(Packet::Close) => return Err(CloseReason::TransportClose),
            // A second open packet, a stray pong, an upgrade or a noop: nothing to do.
            Ok(Packet::Open | Packet::Pong(_) | Packet::Upgrade | Packet::Noop) => {}
            Err(e) => {
                tracing::debug!(sid = %self.shared.handshake.sid(), error = ?e, "engine.io client: undecodable packet");
                return Err(CloseReason::ParseError);
            }
        }
        Ok(())
    }

    /// After a payload: the next GET, unless polling is paused or no longer the transport.
    fn resume_polling(&mut self) {
        if let Transport::Polling(polling) = &mut self.transport {
            polling.poll();
        }
    }

    /// Writes what the transport can take now: over polling, one POST at a time, batched
    /// up to the server's `maxPayload`; over WebSocket, everything, with one flush.
    async fn flush(&mut self) -> Result<(), CloseReason> {
        if self.queue.is_empty() || matches!(self.upgrade, Upgrade::Pausing(_)) {
            return Ok(());
        }
        match &mut self.transport {
            Transport::Polling(polling) => {
                if polling.is_writable() {
                    let n = batch_len(&self.queue, self.shared.handshake.max_payload());
                    let batch: Vec<Frame> = self.queue.drain(..n).collect();
                    polling.write(&batch);
                }
                Ok(())
            }
            Transport::WebSocket(ws) => {
                let frames = self.queue.drain(..);
                // A server that stops reading must not stall the heartbeat check.
                let written = tokio::select! {
                    r = ws.send(frames) => r,
                    () = self.heartbeat.as_mut() => return Err(CloseReason::PingTimeout),
                };
                written.map_err(|e| {
                    tracing::debug!(error = %e, "engine.io client: websocket write failed");
                    CloseReason::TransportError
                })
            }
        }
    }

    /// Completes the upgrade once polling has stopped: `5` on the WebSocket, which becomes
    /// the transport; the queue is then flushed over it.
    async fn switch_to_websocket(&mut self) -> Result<(), CloseReason> {
        let Upgrade::Pausing(mut ws) = std::mem::replace(&mut self.upgrade, Upgrade::Idle) else {
            return Ok(());
        };
        let sent = tokio::select! {
            r = ws.send([Frame::static_text("5")]) => r,
            () = self.heartbeat.as_mut() => return Err(CloseReason::PingTimeout),
        };
        if let Err(e) = sent {
            tracing::debug!(error = %e, "engine.io client: upgrade packet not written");
            return Err(CloseReason::TransportError);
        }
        // The polling transport is idle: dropping it closes its keep-alive connections.
        self.transport = Transport::WebSocket(*ws);
        self.shared.set_transport(TransportKind::WebSocket);
        tracing::debug!(sid = %self.shared.handshake.sid(), "engine.io client: upgraded to websocket");
        let _ = self.events.send(Event::Upgrade(TransportKind::WebSocket));
        Ok(())
    }
}

/// The outcome of the probe under way; pending for ever if there is none.
async fn probe_result(upgrade: &mut Upgrade) -> Result<WebSocket, BoxError> {
    match upgrade {
        Upgrade::Probing(probe) => probe.await,
        _ => std::future::pending().await,
    }
}
