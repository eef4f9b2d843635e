//! The Manager's task: it opens the Engine.IO session, decodes what arrives and hands each
//! packet to its namespace's socket, and when the session is lost, reconnects with backoff
//! (socket.io-client's `Manager`: `open`, `onclose`, `reconnect`, `onreconnect`).
//!
//! The task owns the connection state, so none of it needs a lock; handles talk to it through
//! [`Command`]s. It ends when every handle is gone.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};

use engineio::TransportKind;
use engineio::client::{Client as EngineClient, Event as EngineEvent, Events, Message};
use tokio::sync::mpsc;
use tokio::time::Sleep;

use super::backoff::Backoff;
use super::error::ConnectError;
use super::listeners::{ManagerListeners, call};
use super::manager::{Manager, ManagerHandle, ManagerShared};
use super::parser::ClientDecoder;
use super::reason::DisconnectReason;
use super::socket::SocketShared;
use crate::{Packet, PacketType};

type Opening = Pin<
    Box<dyn Future<Output = Result<(EngineClient, Events), engineio::client::ConnectError>> + Send>,
>;

/// What handles ask of the task.
pub(crate) enum Command {
    /// Open the connection if it is not (`manager.open()`).
    Open,
    /// This socket became active: open the connection if needed, and join its namespace.
    Connect(Arc<SocketShared>),
    /// A socket became inactive: close the connection if none is left.
    Destroyed,
    /// Close the connection and stop reconnecting.
    Close,
}

/// An open Engine.IO session.
struct Session {
    events: Events,
    decoder: ClientDecoder,
}

pub(crate) struct Driver {
    manager: Weak<ManagerHandle>,
    shared: Arc<ManagerShared>,
    commands: mpsc::UnboundedReceiver<Command>,
    backoff: Backoff,
    /// A session being opened; `true` for a reconnection attempt (socket.io-client's `open`
    /// with a callback).
    opening: Option<(Opening, bool)>,
    session: Option<Session>,
    /// The delay before the next reconnection attempt.
    timer: Option<Pin<Box<Sleep>>>,
    reconnecting: bool,
    skip_reconnect: bool,
    /// Numbers the sessions, so that a late write for an old one is not sent on a new one.
    generation: u64,
    /// Whether a WebSocket worked on this Manager (for `remember_upgrade`).
    prior_websocket: bool,
}

impl Driver {
    pub(crate) fn new(
        manager: Weak<ManagerHandle>,
        shared: Arc<ManagerShared>,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> Driver {
        let o = &shared.options;
        let backoff = Backoff::new(
            o.reconnection_delay,
            o.reconnection_delay_max,
            o.randomization_factor,
        );
        Driver {
            manager,
            shared,
            commands,
            backoff,
            opening: None,
            session: None,
            timer: None,
            reconnecting: false,
            skip_reconnect: false,
            generation: 0,
            prior_websocket: false,
        }
    }

    pub(crate) async fn run(mut self) {
        loop {
            let opening = self.opening.is_some();
            let open = self.session.is_some();
            let waiting = self.timer.is_some();
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    None => break,
                },
                result = opened(&mut self.opening), if opening => self.on_opened(result),
                event = next_event(&mut self.session), if open => self.on_engine_event(event),
                () = elapsed(&mut self.timer), if waiting => self.on_timer(),
            }
        }
        // Every handle is gone: nobody can hear events any more; just close.
        self.skip_reconnect = true;
        if let Some(engine) = self.shared.link.replace(None) {
            engine.close();
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Open => self.open(false),
            Command::Connect(socket) => {
                if !self.reconnecting {
                    self.open(false);
                }
                if self.session.is_some() {
                    socket.begin_connect(self.generation);
                }
            }
            Command::Destroyed => self.close_if_unused(),
            Command::Close => self.close_for_good(),
        }
    }

    /// Starts opening a session, unless one is open or opening.
    fn open(&mut self, attempt: bool) {
        if self.opening.is_some() || self.session.is_some() {
            return;
        }
        self.skip_reconnect = false;
        let url = self.shared.url.url.clone();
        let options = self.shared.options.engine_options(self.prior_websocket);
        tracing::debug!(url = %url, attempt, "socket.io client: opening");
        let future: Opening = Box::pin(async move { EngineClient::connect(&url, options).await });
        self.opening = Some((future, attempt));
    }

    fn on_opened(
        &mut self,
        (result, attempt): (
            Result<(EngineClient, Events), engineio::client::ConnectError>,
            bool,
        ),
    ) {
        match result {
            Ok((engine, events)) => {
                self.generation += 1;
                if engine.transport() == TransportKind::WebSocket {
                    self.prior_websocket = true;
                }
                self.shared.link.replace(Some((engine, self.generation)));
                self.session = Some(Session {
                    events,
                    decoder: self.shared.options.parser.decoder(),
                });
                self.emit(|l| l.open.take_calls(), |h, m| h(m));
                for socket in self.shared.sockets() {
                    socket.begin_connect(self.generation);
                }
                if attempt {
                    let attempts = self.backoff.attempts();
                    self.reconnecting = false;
                    self.backoff.reset();
                    self.emit(|l| l.reconnect.take_calls(), |h, m| h(m, attempts));
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, attempt, "socket.io client: cannot open");
                if self.shared.options.first_transport(self.prior_websocket)
                    == Some(TransportKind::WebSocket)
                {
                    self.prior_websocket = false;
                }
                let error = ConnectError::from_engine(e);
                self.emit(|l| l.error.take_calls(), |h, m| h(m, &error));
                for socket in self.shared.sockets() {
                    let waiting = {
                        let st = socket.lock();
                        st.active && !st.connected
                    };
                    if waiting {
                        socket.emit_connect_error(&error);
                    }
                }
                if attempt {
                    self.reconnecting = false;
                    self.reconnect();
                    self.emit(|l| l.reconnect_error.take_calls(), |h, m| h(m, &error));
                } else if !self.reconnecting
                    && self.shared.options.reconnection
                    && self.backoff.attempts() == 0
                {
                    // A first connection that fails is retried like a lost one.
                    self.reconnect();
                }
            }
        }
    }

    fn on_engine_event(&mut self, event: Option<EngineEvent>) {
        let Some(event) = event else {
            // The session's task ended without a close event: it is gone all the same.
            self.on_close(DisconnectReason::TransportClose);
            return;
        };
        match event {
            EngineEvent::Message(message) => {
                let Some(session) = self.session.as_mut() else {
                    return;
                };
                let decoded = match message {
                    Message::Text(text) => {
                        let (text, start) = text.into_parts();
                        session.decoder.decode_utf8(text, start)
                    }
                    Message::Binary(data) => session.decoder.decode_binary(data),
                };
                match decoded {
                    Ok(Some(packet)) => self.route(packet),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::debug!(error = %e, "socket.io client: undecodable packet");
                        self.on_close(DisconnectReason::ParseError);
                    }
                }
            }
            EngineEvent::Upgrade(transport) => {
                if transport == TransportKind::WebSocket {
                    self.prior_websocket = true;
                }
                self.emit(|l| l.upgrade.take_calls(), |h, m| h(m, transport));
            }
            EngineEvent::Close(reason) => self.on_close(DisconnectReason::from_engine(reason)),
            _ => {}
        }
    }

    /// Hands a packet to the socket of its namespace; packets for namespaces this Manager has
    /// no socket for are ignored.
    fn route(&mut self, packet: Packet) {
        let socket = super::manager::lock(&self.shared.sockets)
            .get(packet.nsp())
            .cloned();
        let Some(socket) = socket else {
            tracing::debug!(nsp = %packet.nsp(), "socket.io client: packet for an unknown namespace");
            return;
        };
        match packet.kind() {
            PacketType::Connect => socket.on_connect_reply(packet),
            PacketType::Event | PacketType::BinaryEvent => socket.on_event(packet),
            PacketType::Ack | PacketType::BinaryAck => socket.on_ack(packet),
            PacketType::Disconnect => {
                socket.on_server_disconnect();
                self.close_if_unused();
            }
            PacketType::ConnectError => {
                socket.on_connect_error(&packet);
                self.close_if_unused();
            }
        }
    }

    /// The session is gone (socket.io-client's `onclose`): every active socket disconnects
    /// with the reason, then a reconnection starts unless it was given up.
    fn on_close(&mut self, reason: DisconnectReason) {
        tracing::debug!(%reason, "socket.io client: connection closed");
        self.session = None;
        self.opening = None;
        self.timer = None;
        if let Some(engine) = self.shared.link.replace(None) {
            engine.close();
        }
        self.backoff.reset();
        self.emit(|l| l.close.take_calls(), |h, m| h(m, reason));
        for socket in self.shared.sockets() {
            let active = socket.lock().active;
            if active {
                socket.on_close(reason);
            }
        }
        if self.shared.options.reconnection && !self.skip_reconnect {
            self.reconnect();
        }
    }

    /// Schedules the next reconnection attempt, or gives up after `reconnection_attempts`.
    fn reconnect(&mut self) {
        if self.reconnecting || self.skip_reconnect {
            return;
        }
        let limit = self.shared.options.reconnection_attempts;
        if limit.is_some_and(|limit| self.backoff.attempts() >= limit) {
            tracing::debug!("socket.io client: reconnection failed");
            self.backoff.reset();
            self.reconnecting = false;
            self.emit(|l| l.reconnect_failed.take_calls(), |h, m| h(m));
            return;
        }
        let delay = self.backoff.duration();
        tracing::debug!(?delay, "socket.io client: reconnecting after a delay");
        self.reconnecting = true;
        self.timer = Some(Box::pin(tokio::time::sleep(delay)));
    }

    fn on_timer(&mut self) {
        self.timer = None;
        if self.skip_reconnect {
            return;
        }
        let attempt = self.backoff.attempts();
        self.emit(|l| l.reconnect_attempt.take_calls(), |h, m| h(m, attempt));
        self.open(true);
    }

    /// No socket is active any more: close (socket.io-client's `_destroy`).
    fn close_if_unused(&mut self) {
        let any_active = self.shared.sockets().iter().any(|s| s.lock().active);
        if !any_active {
            self.close_for_good();
        }
    }

    /// socket.io-client's `_close`: close and do not reconnect.
    fn close_for_good(&mut self) {
        let idle = self.session.is_none() && self.opening.is_none() && self.timer.is_none();
        self.skip_reconnect = true;
        self.reconnecting = false;
        if idle {
            return;
        }
        self.on_close(DisconnectReason::ForcedClose);
    }

    /// Calls Manager listeners: `pick` takes them out of the list (under the lock), `each` calls
    /// one (after the lock is released).
    fn emit<H>(
        &self,
        pick: impl FnOnce(&mut ManagerListeners) -> Vec<H>,
        each: impl Fn(&H, &Manager),
    ) {
        let Some(manager) = Manager::upgrade(&self.manager) else {
            return;
        };
        let handlers = {
            let mut l = self
                .shared
                .listeners
                .write()
                .unwrap_or_else(|e| e.into_inner());
            pick(&mut l)
        };
        for h in &handlers {
            call("manager", || each(h, &manager));
        }
    }
}

/// The outcome of the session being opened; pending for ever if none is.
async fn opened(
    opening: &mut Option<(Opening, bool)>,
) -> (
    Result<(EngineClient, Events), engineio::client::ConnectError>,
    bool,
) {
    match opening {
        Some((future, attempt)) => {
            let result = future.await;
            let attempt = *attempt;
            *opening = None;
            (result, attempt)
        }
        None => std::future::pending().await,
    }
}

/// The next event of the open session; pending for ever if none is open.
async fn next_event(session: &mut Option<Session>) -> Option<EngineEvent> {
    match session {
        Some(session) => session.events.recv().await,
        None => std::future::pending().await,
    }
}

/// The reconnection delay; pending for ever if none is running.
async fn elapsed(timer: &mut Option<Pin<Box<Sleep>>>) {
    match timer {
        Some(timer) => timer.as_mut().await,
        None => std::future::pending().await,
    }
}
