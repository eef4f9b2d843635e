//! The client's errors: [`ConnectError`] (the `connect_error` event), [`EmitError`] (an emit
//! refused at once), [`AckError`] (an acknowledgement that did not come), and [`ClientError`]
//! (a Manager that cannot be created).

use std::fmt;
use std::sync::Arc;

use crate::{EncodeError, Value};

/// Why a namespace could not be joined: what a `connect_error` listener receives, and the
/// Manager's `error` and `reconnect_error` events.
///
/// Either the server refused the namespace (a CONNECT_ERROR packet: unknown namespace, or a
/// middleware's error with its `message` and `data`), or the connection itself could not be
/// opened (then [`engine_error`](ConnectError::engine_error) says why; the message is
/// `timeout` when the `timeout` option expired, as in socket.io-client).
///
/// ```
/// # fn check(err: &socketio::client::ConnectError) {
/// if err.is_from_server() {
///     eprintln!("refused: {} {:?}", err.message(), err.data());
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ConnectError {
    message: String,
    data: Option<Value>,
    from_server: bool,
    engine: Option<Arc<engineio::client::ConnectError>>,
}

impl ConnectError {
    /// A refusal sent by the server in a CONNECT_ERROR packet.
    pub(crate) fn from_server(message: String, data: Option<Value>) -> ConnectError {
        ConnectError {
            message,
            data,
            from_server: true,
            engine: None,
        }
    }

    /// The Engine.IO session could not be opened.
    pub(crate) fn from_engine(e: engineio::client::ConnectError) -> ConnectError {
        let message = if e.is_timeout() {
            "timeout".to_owned()
        } else {
            e.to_string()
        };
        ConnectError {
            message,
            data: None,
            from_server: false,
            engine: Some(Arc::new(e)),
        }
    }

    /// Anything else found while connecting (a reply this client cannot use).
    pub(crate) fn other(message: impl Into<String>) -> ConnectError {
        ConnectError {
            message: message.into(),
            data: None,
            from_server: false,
            engine: None,
        }
    }

    /// The message: the server's `message`, or what went wrong with the connection.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The `data` the server sent with its refusal (a middleware error's `data`), if any.
    pub fn data(&self) -> Option<&Value> {
        self.data.as_ref()
    }

    /// Whether the server refused the namespace (a CONNECT_ERROR packet). Such a socket does not
    /// reconnect by itself: fix its credentials and call [`Socket::connect`](super::Socket::connect).
    pub fn is_from_server(&self) -> bool {
        self.from_server
    }

    /// Whether opening the connection timed out (the Manager's `timeout` option).
    pub fn is_timeout(&self) -> bool {
        self.engine.as_deref().is_some_and(|e| e.is_timeout())
    }

    /// Why the Engine.IO session could not be opened, when that is what happened.
    pub fn engine_error(&self) -> Option<&engineio::client::ConnectError> {
        self.engine.as_deref()
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.engine
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Why an emit was refused at once.
#[derive(Debug)]
#[non_exhaustive]
pub enum EmitError {
    /// `connect`, `connect_error`, `disconnect`, `disconnecting`, `newListener` and
    /// `removeListener` are reserved (socket.io-client throws for them).
    ReservedEvent,
    /// The arguments could not be encoded (they must serialize as a sequence).
    Encode(EncodeError),
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::ReservedEvent => f.write_str("reserved event name"),
            EmitError::Encode(e) => write!(f, "could not encode the event: {e}"),
        }
    }
}

impl std::error::Error for EmitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EmitError::Encode(e) => Some(e),
            EmitError::ReservedEvent => None,
        }
    }
}

impl From<EncodeError> for EmitError {
    fn from(e: EncodeError) -> Self {
        EmitError::Encode(e)
    }
}

/// Why the acknowledgement of an emit did not arrive.
#[derive(Debug)]
#[non_exhaustive]
pub enum AckError {
    /// The timeout passed first (`operation has timed out`).
    Timeout,
    /// The socket disconnected first (`socket has been disconnected`), or a volatile emit was
    /// dropped because the socket was not connected.
    Disconnected,
    /// The emit itself was refused.
    Emit(EmitError),
}

impl AckError {
    /// Whether this is [`AckError::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, AckError::Timeout)
    }
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AckError::Timeout => f.write_str("operation has timed out"),
            AckError::Disconnected => f.write_str("socket has been disconnected"),
            AckError::Emit(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for AckError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AckError::Emit(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a [`Manager`](super::Manager) could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    kind: ClientErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ClientErrorKind {
    InvalidUrl(String),
    NoRuntime,
}

impl ClientError {
    pub(crate) fn invalid_url(why: impl Into<String>) -> ClientError {
        ClientError {
            kind: ClientErrorKind::InvalidUrl(why.into()),
        }
    }

    pub(crate) fn no_runtime() -> ClientError {
        ClientError {
            kind: ClientErrorKind::NoRuntime,
        }
    }

    /// The URL is not `http(s)://host[:port][/namespace][?query]` (or `ws(s)://`).
    pub fn is_invalid_url(&self) -> bool {
        matches!(self.kind, ClientErrorKind::InvalidUrl(_))
    }

    /// The Manager was created outside a tokio runtime, which its task needs.
    pub fn is_no_runtime(&self) -> bool {
        matches!(self.kind, ClientErrorKind::NoRuntime)
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ClientErrorKind::InvalidUrl(why) => write!(f, "invalid URL: {why}"),
            ClientErrorKind::NoRuntime => {
                f.write_str("a Manager must be created within a tokio runtime")
            }
        }
    }
}

impl std::error::Error for ClientError {}
