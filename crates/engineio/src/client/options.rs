//! Client options, with the defaults of the official `engine.io-client` 6.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::config::TransportKind;

/// The default upper bound on one HTTP body or WebSocket message from the server: 100 MiB,
/// the default `maxPayload` of Node's `ws` client.
pub const DEFAULT_MAX_RECEIVE_SIZE: usize = 100 * 1024 * 1024;

/// How to connect: transports, path, extra query parameters and headers, limits.
///
/// Built from [`ClientOptions::default`] with chained setters:
///
/// ```
/// use std::time::Duration;
/// use engineio::TransportKind;
/// use engineio::client::ClientOptions;
///
/// let options = ClientOptions::default()
///     .transports([TransportKind::WebSocket])
///     .path("/socket.io/")
///     .query("token", "abc")
///     .open_timeout(Some(Duration::from_secs(5)));
/// ```
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub(crate) transports: Vec<TransportKind>,
    pub(crate) upgrade: bool,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) extra_headers: HeaderMap,
    pub(crate) open_timeout: Option<Duration>,
    pub(crate) max_receive_size: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            transports: vec![TransportKind::Polling, TransportKind::WebSocket],
            upgrade: true,
            path: "/engine.io/".to_owned(),
            query: Vec::new(),
            extra_headers: HeaderMap::new(),
            open_timeout: Some(Duration::from_secs(20)),
            max_receive_size: DEFAULT_MAX_RECEIVE_SIZE,
        }
    }
}

impl ClientOptions {
    /// The transports to use, in order of preference (`transports`; default polling, then
    /// WebSocket). The session opens on the first one; later ones are only reached by an
    /// upgrade. Duplicates are ignored.
    pub fn transports(mut self, transports: impl IntoIterator<Item = TransportKind>) -> Self {
        self.transports.clear();
        for t in transports {
            if !self.transports.contains(&t) {
                self.transports.push(t);
            }
        }
        self
    }

    /// Whether to upgrade a polling session to WebSocket when the server offers it
    /// (`upgrade`; default true).
    pub fn upgrade(mut self, upgrade: bool) -> Self {
        self.upgrade = upgrade;
        self
    }

    /// The path the server serves Engine.IO on (`path`; default `/engine.io/`). As in the
    /// official client, a trailing slash is added if missing, and the path of the URL passed
    /// to [`Client::connect`](super::Client::connect) is not used.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        let path = path.into();
        let trimmed = path.strip_suffix('/').unwrap_or(&path);
        let slash = if trimmed.starts_with('/') || trimmed.is_empty() {
            ""
        } else {
            "/"
        };
        self.path = format!("{slash}{trimmed}/");
        self
    }

    /// Adds a query parameter sent with every request (`query`), after those of the URL.
    /// `EIO`, `transport`, `sid` and `t` are the protocol's own and cannot be set.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Adds a header sent with every HTTP request and with the WebSocket handshake
    /// (`extraHeaders`). Headers that the WebSocket handshake sets itself (`Host`,
    /// `Upgrade`, `Connection`, `Sec-WebSocket-*`) make [`Client::connect`](super::Client::connect)
    /// fail when a WebSocket is used.
    pub fn extra_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.extra_headers.append(name, value);
        self
    }

    /// How long opening the session (the handshake) may take; `None` waits for ever
    /// (`timeout` of the Socket.IO manager; default 20 s).
    pub fn open_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.open_timeout = timeout;
        self
    }

    /// The largest HTTP body or WebSocket message accepted from the server (default
    /// [`DEFAULT_MAX_RECEIVE_SIZE`]). Anything larger closes the session with
    /// `transport error`.
    pub fn max_receive_size(mut self, bytes: usize) -> Self {
        self.max_receive_size = bytes;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_get_one_leading_and_one_trailing_slash() {
        let p = |s: &str| ClientOptions::default().path(s).path;
        assert_eq!(p("/engine.io"), "/engine.io/");
        assert_eq!(p("/engine.io/"), "/engine.io/");
        assert_eq!(p("socket.io"), "/socket.io/");
        assert_eq!(p("/"), "/");
        assert_eq!(p(""), "/");
    }

    #[test]
    fn duplicate_transports_are_dropped() {
        let o = ClientOptions::default().transports([
            TransportKind::WebSocket,
            TransportKind::Polling,
            TransportKind::WebSocket,
        ]);
        assert_eq!(
            o.transports,
            [TransportKind::WebSocket, TransportKind::Polling]
        );
    }
}
