//! [`ManagerOptions`]: how a Manager connects and reconnects, with the defaults of
//! socket.io-client 4 (PROTOCOL-FACTS §5).

use std::time::Duration;

use engineio::TransportKind;
use http::{HeaderMap, HeaderName, HeaderValue};

use super::parser::ClientParser;

/// The options of a [`Manager`](super::Manager): its connection (transports, path, query,
/// headers, timeout, parser) and its reconnection policy.
///
/// Built from [`ManagerOptions::default`] with chained setters; the defaults are
/// socket.io-client's:
///
/// | setter | default |
/// |---|---|
/// | [`transports`](Self::transports) | polling, then WebSocket |
/// | [`upgrade`](Self::upgrade) / [`remember_upgrade`](Self::remember_upgrade) | true / false |
/// | [`path`](Self::path) | `/socket.io` |
/// | [`timeout`](Self::timeout) | 20 s |
/// | [`reconnection`](Self::reconnection) | true |
/// | [`reconnection_attempts`](Self::reconnection_attempts) | unlimited |
/// | [`reconnection_delay`](Self::reconnection_delay) / [`reconnection_delay_max`](Self::reconnection_delay_max) | 1 s / 5 s |
/// | [`randomization_factor`](Self::randomization_factor) | 0.5 |
/// | [`auto_connect`](Self::auto_connect) | true |
/// | [`force_new`](Self::force_new) / [`multiplex`](Self::multiplex) | false / true |
///
/// ```
/// use std::time::Duration;
/// use socketio::client::ManagerOptions;
/// use engineio::TransportKind;
///
/// let options = ManagerOptions::default()
///     .transports([TransportKind::WebSocket])
///     .reconnection_attempts(10)
///     .reconnection_delay(Duration::from_millis(500))
///     .query("room", "lobby");
/// ```
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    pub(crate) transports: Vec<TransportKind>,
    pub(crate) upgrade: bool,
    pub(crate) remember_upgrade: bool,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) extra_headers: HeaderMap,
    pub(crate) timeout: Option<Duration>,
    pub(crate) reconnection: bool,
    /// `None`: unlimited.
    pub(crate) reconnection_attempts: Option<u32>,
    pub(crate) reconnection_delay: Duration,
    pub(crate) reconnection_delay_max: Duration,
    pub(crate) randomization_factor: f64,
    pub(crate) auto_connect: bool,
    pub(crate) parser: ClientParser,
    pub(crate) force_new: bool,
    pub(crate) multiplex: bool,
}

const DEFAULT_RECONNECTION_DELAY: Duration = Duration::from_millis(1000);
const DEFAULT_RECONNECTION_DELAY_MAX: Duration = Duration::from_millis(5000);

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            transports: vec![TransportKind::Polling, TransportKind::WebSocket],
            upgrade: true,
            remember_upgrade: false,
            path: "/socket.io".to_owned(),
            query: Vec::new(),
            extra_headers: HeaderMap::new(),
            timeout: Some(Duration::from_millis(20_000)),
            reconnection: true,
            reconnection_attempts: None,
            reconnection_delay: DEFAULT_RECONNECTION_DELAY,
            reconnection_delay_max: DEFAULT_RECONNECTION_DELAY_MAX,
            randomization_factor: 0.5,
            auto_connect: true,
            parser: ClientParser::default(),
            force_new: false,
            multiplex: true,
        }
    }
}

impl ManagerOptions {
    /// The transports, in order of preference (`transports`): the connection opens on the
    /// first; WebSocket after polling is reached by the upgrade.
    pub fn transports(mut self, transports: impl IntoIterator<Item = TransportKind>) -> Self {
        self.transports = transports.into_iter().collect();
        self
    }

    /// Whether to upgrade from polling to WebSocket when the server offers it (`upgrade`).
    pub fn upgrade(mut self, upgrade: bool) -> Self {
        self.upgrade = upgrade;
        self
    }

    /// Whether a reconnection starts directly on WebSocket once a WebSocket worked on this
    /// Manager (`rememberUpgrade`). socket.io-client remembers it for the whole page; this
    /// client for the Manager.
    pub fn remember_upgrade(mut self, remember: bool) -> Self {
        self.remember_upgrade = remember;
        self
    }

    /// The path the server serves Socket.IO on (`path`; a trailing slash is added).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Adds a query parameter sent with every HTTP request of the connection (`query`),
    /// after those of the URL. The server sees it in its handshake.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Adds a header sent with every HTTP request and with the WebSocket handshake
    /// (`extraHeaders`).
    pub fn extra_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.extra_headers.append(name, value);
        self
    }

    /// How long opening the connection may take (`timeout`); `None` waits for ever. On
    /// expiry, sockets get a `connect_error` whose message is `timeout`.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether to reconnect after the connection is lost (`reconnection`).
    pub fn reconnection(mut self, reconnection: bool) -> Self {
        self.reconnection = reconnection;
        self
    }

    /// How many reconnection attempts to make before giving up with `reconnect_failed`
    /// (`reconnectionAttempts`). 0 means unlimited, as in socket.io-client.
    pub fn reconnection_attempts(mut self, attempts: u32) -> Self {
        self.reconnection_attempts = (attempts > 0).then_some(attempts);
        self
    }

    /// The first delay before reconnecting (`reconnectionDelay`); it doubles with each
    /// attempt. Zero means the default (1 s), as in socket.io-client.
    pub fn reconnection_delay(mut self, delay: Duration) -> Self {
        self.reconnection_delay = if delay.is_zero() {
            DEFAULT_RECONNECTION_DELAY
        } else {
            delay
        };
        self
    }

    /// The longest delay between reconnection attempts (`reconnectionDelayMax`). Zero means
    /// the default (5 s), as in socket.io-client.
    pub fn reconnection_delay_max(mut self, delay: Duration) -> Self {
        self.reconnection_delay_max = if delay.is_zero() {
            DEFAULT_RECONNECTION_DELAY_MAX
        } else {
            delay
        };
        self
    }

    /// The jitter of the delays (`randomizationFactor`): each delay deviates randomly by up to
    /// this fraction. Values outside (0, 1] mean no jitter.
    pub fn randomization_factor(mut self, factor: f64) -> Self {
        self.randomization_factor = factor;
        self
    }

    /// Whether sockets connect as soon as they are built (`autoConnect`). When off, call
    /// [`Socket::connect`](super::Socket::connect).
    pub fn auto_connect(mut self, auto_connect: bool) -> Self {
        self.auto_connect = auto_connect;
        self
    }

    /// The parser; it must be the server's (`parser`).
    pub fn parser(mut self, parser: impl Into<ClientParser>) -> Self {
        self.parser = parser.into();
        self
    }

    /// For [`io`](super::io): always create a new Manager instead of sharing the one
    /// already connected to the same server (`forceNew`).
    pub fn force_new(mut self, force_new: bool) -> Self {
        self.force_new = force_new;
        self
    }

    /// For [`io`](super::io): whether sockets to the same server share one Manager, hence
    /// one connection (`multiplex`; false is like `force_new(true)`).
    pub fn multiplex(mut self, multiplex: bool) -> Self {
        self.multiplex = multiplex;
        self
    }

    /// The Engine.IO options of one connection attempt. With `remember_upgrade`, after a
    /// WebSocket worked, WebSocket goes first (the session then opens on it directly).
    pub(crate) fn engine_options(&self, prior_websocket: bool) -> engineio::client::ClientOptions {
        let mut options = engineio::client::ClientOptions::default()
            .transports(self.transport_order(prior_websocket))
            .upgrade(self.upgrade)
            .path(self.path.clone())
            .open_timeout(self.timeout);
        for (name, value) in &self.query {
            options = options.query(name.clone(), value.clone());
        }
        for (name, value) in &self.extra_headers {
            options = options.extra_header(name.clone(), value.clone());
        }
        options
    }

    /// The transport a connection attempt opens on.
    pub(crate) fn first_transport(&self, prior_websocket: bool) -> Option<TransportKind> {
        self.transport_order(prior_websocket).first().copied()
    }

    /// The transports of one connection attempt, in order.
    fn transport_order(&self, prior_websocket: bool) -> Vec<TransportKind> {
        let mut transports = self.transports.clone();
        if self.remember_upgrade
            && prior_websocket
            && let Some(i) = transports
                .iter()
                .position(|t| *t == TransportKind::WebSocket)
        {
            let ws = transports.remove(i);
            transports.insert(0, ws);
        }
        transports
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_values_fall_back_to_the_defaults_as_in_socket_io_client() {
        let o = ManagerOptions::default()
            .reconnection_attempts(0)
            .reconnection_delay(Duration::ZERO)
            .reconnection_delay_max(Duration::ZERO);
        assert_eq!(o.reconnection_attempts, None);
        assert_eq!(o.reconnection_delay, Duration::from_millis(1000));
        assert_eq!(o.reconnection_delay_max, Duration::from_millis(5000));
        assert_eq!(
            ManagerOptions::default()
                .reconnection_attempts(3)
                .reconnection_attempts,
            Some(3)
        );
    }

    #[test]
    fn a_remembered_upgrade_puts_websocket_first() {
        let (p, w) = (TransportKind::Polling, TransportKind::WebSocket);
        let o = ManagerOptions::default().remember_upgrade(true);
        assert_eq!(o.transport_order(false), [p, w]);
        assert_eq!(o.transport_order(true), [w, p]);
        let o = ManagerOptions::default();
        assert_eq!(o.transport_order(true), [p, w], "not remembered");
        let o = o.remember_upgrade(true).transports([p]);
        assert_eq!(o.transport_order(true), [p], "no websocket to remember");
    }
}
