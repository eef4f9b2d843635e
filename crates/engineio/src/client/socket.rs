//! The user's handle on a client session: open it, send, close, ask where it stands.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use tokio::sync::mpsc;

use super::driver::{Command, Driver};
use super::error::{ConnectError, SendError};
use super::event::Events;
use super::handshake::Handshake;
use super::options::ClientOptions;
use super::transport::Transport;
use super::url::Target;
use super::websocket;
use crate::config::TransportKind;
use crate::message::Message;
use crate::packet::Frame;

/// What the handles and the session's task share. Written by the task, read by handles.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) handshake: Handshake,
    /// The current transport, as a [`TransportKind`] index (0 polling, 1 WebSocket).
    transport: AtomicU8,
    /// Set once [`Client::close`] was called or the session closed: sends are refused.
    closed: AtomicBool,
}

impl Shared {
    pub(crate) fn set_transport(&self, kind: TransportKind) {
        let v = match kind {
            TransportKind::Polling => 0,
            TransportKind::WebSocket => 1,
        };
        self.transport.store(v, Ordering::Release);
    }

    pub(crate) fn mark_closed(&self) {
        self.closed.store(true, Ordering::Release);
    }
}

/// An Engine.IO v4 client session, to any Engine.IO v4 server (this crate's, or Node's
/// `engine.io` 6). Cheap to clone; every clone drives the same session, which closes when
/// [`Client::close`] is called or when the last clone is dropped.
///
/// The session runs in a task of its own: it answers the server's pings, watches the
/// heartbeat, writes what is sent (in order, batched), upgrades from polling to WebSocket
/// when it can, and reports to [`Events`].
///
/// ```no_run
/// use engineio::client::{Client, ClientOptions, Event};
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let (client, mut events) =
///         Client::connect("http://127.0.0.1:3000", ClientOptions::default()).await?;
///     client.send("hello")?;
///     if let Some(Event::Message(reply)) = events.recv().await {
///         println!("{reply:?}");
///     }
///     client.close();
///     while events.recv().await.is_some() {} // ends once the session's task is done
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
}

impl Client {
    /// Opens a session: the handshake over the first of the `transports` option, then, in
    /// the background, the upgrade to WebSocket if the options and the server allow it.
    /// Returns once the server's open packet has arrived (within the `open_timeout`
    /// option). Must be called within a tokio runtime.
    ///
    /// `url` is `http://host[:port]` (or `ws://`); its query parameters are sent with every
    /// request, its path is not used (see [`ClientOptions::path`]).
    pub async fn connect(
        url: &str,
        options: ClientOptions,
    ) -> Result<(Client, Events), ConnectError> {
        let target = Arc::new(Target::new(url, &options)?);
        let Some(&first) = options.transports.first() else {
            return Err(ConnectError::invalid_options(
                "no transport to connect with".to_owned(),
            ));
        };
        if options.transports.contains(&TransportKind::WebSocket) {
            websocket::check_headers(&options.extra_headers)?;
        }
        let opening = Transport::open(first, Arc::clone(&target));
        let (transport, handshake, initial) = match options.open_timeout {
            Some(limit) => tokio::time::timeout(limit, opening)
                .await
                .map_err(|_| ConnectError::timeout())??,
            None => opening.await?,
        };
        let upgrade = options.upgrade
            && first == TransportKind::Polling
            && options.transports.contains(&TransportKind::WebSocket)
            && handshake.offers(TransportKind::WebSocket);
        let shared = Arc::new(Shared {
            handshake,
            transport: AtomicU8::new(0),
            closed: AtomicBool::new(false),
        });
        shared.set_transport(transport.kind());
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (event_tx, event_rx) = mpsc::unbounded_channel();
        let driver = Driver::new(target, Arc::clone(&shared), command_rx, event_tx, transport);
        tokio::spawn(driver.run(initial, upgrade));
        Ok((Client { shared, commands }, Events::new(event_rx)))
    }

    /// Queues a message for the server. Messages go out in the order they were sent;
    /// nothing is lost while the session is open (the queue is not bounded, like the
    /// official client's). Fails once the session is closed or [`Client::close`] was called.
    pub fn send(&self, message: impl Into<Message>) -> Result<(), SendError> {
        let message = message.into();
        if self.is_closed() {
            return Err(SendError(message));
        }
        // Encoded here, so that the session's task only moves frames around.
        let frame = Frame::message(message.clone());
        self.commands
            .send(Command::Send(frame))
            .map_err(|_| SendError(message))
    }

    /// Closes the session: what was sent before is written first, then the server is told
    /// (a close packet over polling; the WebSocket is closed over WebSocket), and
    /// [`Event::Close`](super::Event::Close) reports `forced close`. Does nothing if the
    /// session is already closed.
    pub fn close(&self) {
        if !self.shared.closed.swap(true, Ordering::AcqRel) {
            // The task may be gone already; then there is nothing left to close.
            let _ = self.commands.send(Command::Close);
        }
    }

    /// Whether the session is closed or closing.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire) || self.commands.is_closed()
    }

    /// The session id the server assigned.
    pub fn sid(&self) -> &str {
        self.shared.handshake.sid()
    }

    /// What the server sent in its open packet.
    pub fn handshake(&self) -> &Handshake {
        &self.shared.handshake
    }

    /// The transport the session is on now.
    pub fn transport(&self) -> TransportKind {
        match self.shared.transport.load(Ordering::Acquire) {
            0 => TransportKind::Polling,
            _ => TransportKind::WebSocket,
        }
    }
}
