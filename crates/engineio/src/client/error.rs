//! The errors of the client's API: opening a session, and sending on a closed one.

use std::error::Error as StdError;
use std::fmt;

use crate::message::Message;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Why [`Client::connect`](super::Client::connect) failed. Opaque, with predicates, so that
/// its insides can change:
///
/// ```no_run
/// # async fn run() {
/// use engineio::client::{Client, ClientOptions};
///
/// match Client::connect("http://127.0.0.1:3000", ClientOptions::default()).await {
///     Ok(_) => {}
///     Err(e) if e.is_timeout() => eprintln!("the server did not answer in time"),
///     Err(e) => match e.status() {
///         Some(status) => eprintln!("refused with HTTP {status}: {e}"),
///         None => eprintln!("cannot connect: {e}"),
///     },
/// }
/// # }
/// ```
pub struct ConnectError {
    kind: Kind,
    source: Option<BoxError>,
}

#[derive(Debug)]
enum Kind {
    InvalidUrl(String),
    InvalidOptions(String),
    Io,
    Timeout,
    Refused {
        status: u16,
        code: Option<i64>,
        message: Option<String>,
    },
    Handshake(String),
    Transport,
}

impl ConnectError {
    pub(crate) fn invalid_url(why: String) -> Self {
        Self::new(Kind::InvalidUrl(why), None)
    }

    pub(crate) fn invalid_options(why: String) -> Self {
        Self::new(Kind::InvalidOptions(why), None)
    }

    pub(crate) fn io(e: std::io::Error) -> Self {
        Self::new(Kind::Io, Some(Box::new(e)))
    }

    pub(crate) fn timeout() -> Self {
        Self::new(Kind::Timeout, None)
    }

    /// The server answered with an error status. Engine.IO servers explain refusals with a
    /// JSON body `{"code":N,"message":"..."}`, which is kept when it is there.
    pub(crate) fn refused(status: u16, body: &[u8]) -> Self {
        let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let code = json
            .as_ref()
            .and_then(|j| j.get("code"))
            .and_then(|c| c.as_i64());
        let message = json
            .as_ref()
            .and_then(|j| j.get("message"))
            .and_then(|m| m.as_str())
            .map(str::to_owned);
        Self::new(
            Kind::Refused {
                status,
                code,
                message,
            },
            None,
        )
    }

    pub(crate) fn handshake(why: String) -> Self {
        Self::new(Kind::Handshake(why), None)
    }

    pub(crate) fn transport(source: impl Into<BoxError>) -> Self {
        Self::new(Kind::Transport, Some(source.into()))
    }

    fn new(kind: Kind, source: Option<BoxError>) -> Self {
        ConnectError { kind, source }
    }

    /// The handshake did not complete within the `open_timeout` option.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, Kind::Timeout)
    }

    /// The URL or the options cannot be used (bad URL, unsupported scheme, no transport, a
    /// header the WebSocket handshake sets itself).
    pub fn is_invalid_input(&self) -> bool {
        matches!(self.kind, Kind::InvalidUrl(_) | Kind::InvalidOptions(_))
    }

    /// The server could not be reached (connection refused, name not resolved, ...).
    pub fn is_io(&self) -> bool {
        matches!(self.kind, Kind::Io)
    }

    /// The HTTP status the server refused the handshake with (400 for a bad request, 403
    /// when the server's `allowRequest` refused it), if it did.
    pub fn status(&self) -> Option<u16> {
        match self.kind {
            Kind::Refused { status, .. } => Some(status),
            _ => None,
        }
    }

    /// The Engine.IO error code of a refusal (0 unknown transport, 1 unknown session,
    /// 2 bad handshake method, 3 bad request, 4 forbidden, 5 unsupported protocol version).
    pub fn code(&self) -> Option<i64> {
        match self.kind {
            Kind::Refused { code, .. } => code,
            _ => None,
        }
    }
}

impl fmt::Debug for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ConnectError");
        d.field("kind", &self.kind);
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::InvalidUrl(why) => write!(f, "invalid URL: {why}"),
            Kind::InvalidOptions(why) => write!(f, "invalid options: {why}"),
            Kind::Io => f.write_str("cannot reach the server"),
            Kind::Timeout => f.write_str("the handshake timed out"),
            Kind::Refused {
                status,
                code,
                message,
            } => {
                write!(f, "the server refused the handshake with HTTP {status}")?;
                if let Some(message) = message {
                    write!(f, ": {message}")?;
                }
                if let Some(code) = code {
                    write!(f, " (code {code})")?;
                }
                Ok(())
            }
            Kind::Handshake(why) => write!(f, "invalid handshake: {why}"),
            Kind::Transport => f.write_str("the transport failed during the handshake"),
        }
    }
}

impl StdError for ConnectError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// A message could not be sent because the session is closed or closing; the message is
/// handed back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError(pub(crate) Message);

impl SendError {
    /// The message that was not sent.
    pub fn into_inner(self) -> Message {
        self.0
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the Engine.IO session is closed")
    }
}

impl StdError for SendError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_keep_the_engine_io_code_and_message() {
        let e = ConnectError::refused(400, br#"{"code":1,"message":"Session ID unknown"}"#);
        assert_eq!(e.status(), Some(400));
        assert_eq!(e.code(), Some(1));
        assert_eq!(
            e.to_string(),
            "the server refused the handshake with HTTP 400: Session ID unknown (code 1)"
        );
        let e = ConnectError::refused(502, b"<html>bad gateway</html>");
        assert_eq!(e.code(), None);
        assert_eq!(
            e.to_string(),
            "the server refused the handshake with HTTP 502"
        );
    }
}
