//! Server options, with the defaults of Node's engine.io 6.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::cors::Cors;
use crate::message::Message;
use crate::request::RequestInfo;
use crate::socket::OverflowPolicy;

/// The transports a server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

impl TransportKind {
    /// The name used in the `transport` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "polling" => Some(TransportKind::Polling),
            "websocket" => Some(TransportKind::WebSocket),
            _ => None,
        }
    }
}

/// The `SameSite` attribute of the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// `SameSite=Strict`
    Strict,
    /// `SameSite=Lax` (the default)
    Lax,
    /// `SameSite=None`
    None,
}

/// The cookie set on the handshake response when [`Config::cookie`] is enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieOptions {
    /// Cookie name (default `io`).
    pub name: String,
    /// `Path` attribute (default `/`).
    pub path: Option<String>,
    /// `HttpOnly` attribute (default on).
    pub http_only: bool,
    /// `SameSite` attribute (default `Lax`).
    pub same_site: Option<SameSite>,
    /// `Secure` attribute (default off).
    pub secure: bool,
    /// `Domain` attribute (default none).
    pub domain: Option<String>,
    /// `Max-Age` attribute in seconds (default none: a session cookie).
    pub max_age: Option<u64>,
}

impl Default for CookieOptions {
    fn default() -> Self {
        CookieOptions {
            name: "io".to_owned(),
            path: Some("/".to_owned()),
            http_only: true,
            same_site: Some(SameSite::Lax),
            secure: false,
            domain: None,
            max_age: None,
        }
    }
}

impl CookieOptions {
    pub(crate) fn header_value(&self, sid: &str) -> String {
        let mut v = format!("{}={}", self.name, sid);
        if let Some(path) = &self.path {
            v.push_str("; Path=");
            v.push_str(path);
        }
        if let Some(domain) = &self.domain {
            v.push_str("; Domain=");
            v.push_str(domain);
        }
        if let Some(max_age) = self.max_age {
            v.push_str(&format!("; Max-Age={max_age}"));
        }
        if self.http_only {
            v.push_str("; HttpOnly");
        }
        if self.secure {
            v.push_str("; Secure");
        }
        match self.same_site {
            Some(SameSite::Strict) => v.push_str("; SameSite=Strict"),
            Some(SameSite::Lax) => v.push_str("; SameSite=Lax"),
            Some(SameSite::None) => v.push_str("; SameSite=None"),
            None => {}
        }
        v
    }
}

/// The future an [`allow_request`](ConfigBuilder::allow_request) hook returns: `Ok(())` lets
/// the handshake go on, `Err(message)` refuses it with HTTP 403 `{"code":4,"message":…}`.
pub type AllowRequestFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

pub(crate) type AllowRequest = Arc<dyn Fn(Arc<RequestInfo>) -> AllowRequestFuture + Send + Sync>;

/// Server options. Build one with [`Config::builder`]; every default is Node's.
#[derive(Clone)]
pub struct Config {
    pub(crate) path: String,
    pub(crate) add_trailing_slash: bool,
    pub(crate) ping_interval: Duration,
    pub(crate) ping_timeout: Duration,
    pub(crate) upgrade_timeout: Duration,
    pub(crate) request_header_timeout: Duration,
    pub(crate) close_timeout: Duration,
    pub(crate) max_http_buffer_size: usize,
    pub(crate) max_buffered_bytes: usize,
    pub(crate) high_water_mark: usize,
    pub(crate) overflow_policy: OverflowPolicy,
    pub(crate) http_compression: Option<usize>,
    pub(crate) polling: bool,
    pub(crate) websocket: bool,
    pub(crate) allow_upgrades: bool,
    pub(crate) cors: Option<Cors>,
    pub(crate) cookie: Option<CookieOptions>,
    pub(crate) allow_request: Option<AllowRequest>,
    pub(crate) initial_packet: Option<Message>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("path", &self.path)
            .field("add_trailing_slash", &self.add_trailing_slash)
            .field("ping_interval", &self.ping_interval)
            .field("ping_timeout", &self.ping_timeout)
            .field("upgrade_timeout", &self.upgrade_timeout)
            .field("max_http_buffer_size", &self.max_http_buffer_size)
            .field("polling", &self.polling)
            .field("websocket", &self.websocket)
            .field("allow_upgrades", &self.allow_upgrades)
            .field("cors", &self.cors)
            .field("cookie", &self.cookie)
            .field("allow_request", &self.allow_request.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            path: "/engine.io".to_owned(),
            add_trailing_slash: true,
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            request_header_timeout: Duration::from_secs(30),
            close_timeout: Duration::from_millis(30_000),
            max_http_buffer_size: 1_000_000,
            max_buffered_bytes: 16 * 1024 * 1024,
            high_water_mark: 1024 * 1024,
            overflow_policy: OverflowPolicy::Disconnect,
            http_compression: Some(1024),
            polling: true,
            websocket: true,
            allow_upgrades: true,
            cors: None,
            cookie: None,
            allow_request: None,
            initial_packet: None,
        }
    }
}

impl Config {
    /// A builder starting from Node's defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder(Config::default())
    }

    /// The path prefix requests are matched against, with the trailing slash when
    /// `add_trailing_slash` is on (as Node matches it).
    pub(crate) fn match_prefix(&self) -> String {
        let base = self.path.trim_end_matches('/');
        if self.add_trailing_slash {
            format!("{base}/")
        } else {
            base.to_owned()
        }
    }

    pub(crate) fn accepts(&self, transport: TransportKind) -> bool {
        match transport {
            TransportKind::Polling => self.polling,
            TransportKind::WebSocket => self.websocket,
        }
    }

    /// The path requests are served under.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The `pingInterval` option.
    pub fn ping_interval(&self) -> Duration {
        self.ping_interval
    }

    /// The `pingTimeout` option.
    pub fn ping_timeout(&self) -> Duration {
        self.ping_timeout
    }

    /// The `maxHttpBufferSize` option.
    pub fn max_http_buffer_size(&self) -> usize {
        self.max_http_buffer_size
    }
}

/// Builds a [`Config`].
///
/// ```
/// use std::time::Duration;
/// let config = engineio::Config::builder()
///     .path("/engine.io/")
///     .ping_interval(Duration::from_secs(10))
///     .max_http_buffer_size(64 * 1024)
///     .build();
/// assert_eq!(config.max_http_buffer_size(), 64 * 1024);
/// ```
#[must_use]
pub struct ConfigBuilder(Config);

impl ConfigBuilder {
    /// The path to serve (default `/engine.io`; Socket.IO uses `/socket.io`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        let mut path = path.into();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        self.0.path = path;
        self
    }

    /// Whether a trailing slash is appended to the path before matching (default true).
    pub fn add_trailing_slash(mut self, add: bool) -> Self {
        self.0.add_trailing_slash = add;
        self
    }

    /// How often the server pings (default 25 s).
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.0.ping_interval = interval;
        self
    }

    /// How long the server waits for a pong before closing (default 20 s).
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.0.ping_timeout = timeout;
        self
    }

    /// How long an upgrade to WebSocket may take (default 10 s).
    pub fn upgrade_timeout(mut self, timeout: Duration) -> Self {
        self.0.upgrade_timeout = timeout;
        self
    }

    /// How long the standalone server ([`EngineIo::listen`](crate::EngineIo::listen) and
    /// `serve`) waits for the headers of a request on a connection (default 30 s, Node's
    /// `headersTimeout` is 60 s): a connection that sends nothing, or its headers a byte at a
    /// time, is closed rather than held forever. Under another server (a tower layer in
    /// axum…), that server's own setting applies.
    pub fn request_header_timeout(mut self, timeout: Duration) -> Self {
        self.0.request_header_timeout = timeout;
        self
    }

    /// Largest accepted POST body or WebSocket message, in bytes (default 1 000 000); also the
    /// `maxPayload` announced in the handshake.
    pub fn max_http_buffer_size(mut self, size: usize) -> Self {
        self.0.max_http_buffer_size = size;
        self
    }

    /// The most bytes queued for one session (default 16 MiB); past it the
    /// [`overflow_policy`](Self::overflow_policy) applies. Node queues without bound; a client
    /// that stops reading must not make the server's memory grow without bound. Each session
    /// may change its own ([`Socket::set_max_buffered_bytes`](crate::Socket::set_max_buffered_bytes)).
    pub fn max_buffered_bytes(mut self, bytes: usize) -> Self {
        self.0.max_buffered_bytes = bytes;
        self
    }

    /// The queued bytes past which sending reports [`Pressure::OverHighWater`] (default
    /// 1 MiB); [`Handler::on_drain`] follows once the queue was handed to the transport.
    ///
    /// [`Pressure::OverHighWater`]: crate::Pressure::OverHighWater
    /// [`Handler::on_drain`]: crate::Handler::on_drain
    pub fn high_water_mark(mut self, bytes: usize) -> Self {
        self.0.high_water_mark = bytes;
        self
    }

    /// What happens past `max_buffered_bytes` (default [`OverflowPolicy::Disconnect`]: the
    /// session is closed with [`CloseReason::QueueFull`](crate::CloseReason::QueueFull)).
    /// Each session may change its own
    /// ([`Socket::set_overflow_policy`](crate::Socket::set_overflow_policy)).
    pub fn overflow_policy(mut self, policy: OverflowPolicy) -> Self {
        self.0.overflow_policy = policy;
        self
    }

    /// Compression of polling responses (`httpCompression`): responses of at least this many
    /// bytes are sent gzip- or deflate-encoded when the client accepts it and one of their
    /// packets may be compressed (default 1024 bytes, as in Node; `None` turns it off).
    pub fn http_compression(mut self, threshold: Option<usize>) -> Self {
        self.0.http_compression = threshold;
        self
    }

    /// The accepted transports (default both). An empty list is taken as both.
    pub fn transports(mut self, transports: &[TransportKind]) -> Self {
        let polling = transports.contains(&TransportKind::Polling);
        let websocket = transports.contains(&TransportKind::WebSocket);
        if polling || websocket {
            self.0.polling = polling;
            self.0.websocket = websocket;
        }
        self
    }

    /// Whether polling sessions may upgrade to WebSocket (default true).
    pub fn allow_upgrades(mut self, allow: bool) -> Self {
        self.0.allow_upgrades = allow;
        self
    }

    /// Cross-origin resource sharing (default off: no CORS headers, preflights refused).
    pub fn cors(mut self, cors: Cors) -> Self {
        self.0.cors = Some(cors);
        self
    }

    /// Sets a cookie holding the session id on the handshake response (default off).
    pub fn cookie(mut self, cookie: CookieOptions) -> Self {
        self.0.cookie = Some(cookie);
        self
    }

    /// An asynchronous check of every handshake request; `Err(message)` refuses it with
    /// HTTP 403 and `{"code":4,"message":<message>}`.
    pub fn allow_request<F, Fut>(mut self, check: F) -> Self
    where
        F: Fn(Arc<RequestInfo>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.0.allow_request = Some(Arc::new(move |req| Box::pin(check(req))));
        self
    }

    /// A message sent right after the open packet of every session.
    pub fn initial_packet(mut self, message: impl Into<Message>) -> Self {
        self.0.initial_packet = Some(message.into());
        self
    }

    /// The options.
    pub fn build(self) -> Config {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_defaults_match_node() {
        assert_eq!(
            CookieOptions::default().header_value("abc"),
            "io=abc; Path=/; HttpOnly; SameSite=Lax"
        );
    }

    #[test]
    fn trailing_slash_is_added_once() {
        let c = Config::builder().path("/engine.io/").build();
        assert_eq!(c.match_prefix(), "/engine.io/");
        let c = Config::builder()
            .path("/engine.io")
            .add_trailing_slash(false)
            .build();
        assert_eq!(c.match_prefix(), "/engine.io");
    }
}
