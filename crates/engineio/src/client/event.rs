//! What a session reports to its user: messages, the upgrade, and the close with its reason.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::mpsc;

use crate::config::TransportKind;
use crate::message::Message;

/// Why a client session closed, named as the official `engine.io-client` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The user closed the session ([`Client::close`](super::Client::close), or every
    /// [`Client`](super::Client) was dropped).
    ForcedClose,
    /// The server closed the session: a close packet, or the connection ended.
    TransportClose,
    /// A request or the WebSocket failed, or a response was refused or too large.
    TransportError,
    /// No ping came from the server within `pingInterval + pingTimeout`.
    PingTimeout,
    /// The server sent a packet that could not be decoded. (The official client reports
    /// this as `transport error`; the Socket.IO layer above uses `parse error` for its own
    /// decoding failures.)
    ParseError,
}

impl CloseReason {
    /// The reason as the official client spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::ForcedClose => "forced close",
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happened to a session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The server sent a message.
    Message(Message),
    /// The session moved to another transport (from polling to WebSocket).
    Upgrade(TransportKind),
    /// The session closed; this is the last event.
    Close(CloseReason),
}

/// The events of one session, in order. The stream ends after [`Event::Close`], once the
/// session's task has finished (its connections are closed by then).
///
/// ```no_run
/// # async fn run() -> Result<(), engineio::client::ConnectError> {
/// use engineio::client::{Client, ClientOptions, Event};
///
/// let (client, mut events) = Client::connect("http://127.0.0.1:3000", ClientOptions::default()).await?;
/// client.send("hello").ok();
/// while let Some(event) = events.recv().await {
///     match event {
///         Event::Message(message) => println!("got {message:?}"),
///         Event::Close(reason) => println!("closed: {reason}"),
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
///
/// It is also a [`Stream`](futures_util::Stream). Events queue up without bound until they
/// are read, as the official client's listeners would run: read them promptly.
#[derive(Debug)]
pub struct Events {
    rx: mpsc::UnboundedReceiver<Event>,
}

impl Events {
    pub(crate) fn new(rx: mpsc::UnboundedReceiver<Event>) -> Self {
        Events { rx }
    }

    /// The next event; `None` once the session's task has ended.
    pub async fn recv(&mut self) -> Option<Event> {
        self.rx.recv().await
    }
}

impl futures_util::Stream for Events {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.rx.poll_recv(cx)
    }
}
