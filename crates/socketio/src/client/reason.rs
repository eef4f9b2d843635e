//! [`DisconnectReason`]: why a socket (or the Manager's connection) closed, with the strings
//! of socket.io-client.

use std::fmt;

/// Why a socket disconnected, named as socket.io-client names it. After
/// [`IoServerDisconnect`](DisconnectReason::IoServerDisconnect) and
/// [`IoClientDisconnect`](DisconnectReason::IoClientDisconnect) the socket does not reconnect
/// by itself; after the others it does (when reconnection is on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The server disconnected the socket (`socket.disconnect()` on the server).
    IoServerDisconnect,
    /// The application disconnected the socket ([`Socket::disconnect`](super::Socket::disconnect)).
    IoClientDisconnect,
    /// The server stopped sending pings.
    PingTimeout,
    /// The connection was closed (the server went away, the network dropped).
    TransportClose,
    /// The connection failed.
    TransportError,
    /// The server sent a packet this client could not decode.
    ParseError,
    /// The connection was closed on purpose: by the Manager (no socket left, or
    /// [`Manager::close`](super::Manager::close); then only Manager `close` listeners see it,
    /// and nothing reconnects), or by closing [`Manager::engine`](super::Manager::engine)
    /// directly (then sockets see it too, and reconnect, as in socket.io-client).
    ForcedClose,
}

impl DisconnectReason {
    /// The reason as socket.io-client spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::IoServerDisconnect => "io server disconnect",
            DisconnectReason::IoClientDisconnect => "io client disconnect",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ForcedClose => "forced close",
        }
    }

    /// Whether a socket that disconnected for this reason reconnects by itself (when the
    /// Manager's `reconnection` option is on): every reason but the two deliberate
    /// disconnections of the namespace.
    pub fn will_reconnect(self) -> bool {
        !matches!(
            self,
            DisconnectReason::IoServerDisconnect | DisconnectReason::IoClientDisconnect
        )
    }

    /// The reason for an Engine.IO close. The Engine.IO client reports an undecodable Engine.IO
    /// packet as `parse error`; socket.io-client reports it as `transport error`, keeping
    /// `parse error` for Socket.IO packets.
    pub(crate) fn from_engine(reason: engineio::client::CloseReason) -> DisconnectReason {
        use engineio::client::CloseReason as C;
        match reason {
            C::TransportClose => DisconnectReason::TransportClose,
            C::TransportError | C::ParseError => DisconnectReason::TransportError,
            C::PingTimeout => DisconnectReason::PingTimeout,
            C::ForcedClose => DisconnectReason::ForcedClose,
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
