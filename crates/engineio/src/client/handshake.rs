//! The open packet: what the server tells a new session (`0{"sid":...}`).

use std::time::Duration;

use bytes::Bytes;

use super::error::ConnectError;
use crate::config::TransportKind;
use crate::packet::{Packet, decode_text};

/// Heartbeat values above this are clamped, so that no timer arithmetic can overflow
/// (Node's timers cannot go beyond 2³¹ − 1 ms either).
const MAX_HEARTBEAT_MS: u64 = i32::MAX as u64;

/// The session parameters the server sent in its open packet.
///
/// ```no_run
/// # async fn run() -> Result<(), engineio::client::ConnectError> {
/// use engineio::client::{Client, ClientOptions};
///
/// let (client, _events) = Client::connect("http://127.0.0.1:3000", ClientOptions::default()).await?;
/// let handshake = client.handshake();
/// println!("session {} pings every {:?}", handshake.sid(), handshake.ping_interval());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    sid: String,
    upgrades: Vec<String>,
    ping_interval: Duration,
    ping_timeout: Duration,
    max_payload: usize,
}

impl Handshake {
    /// The session id (`sid`).
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// The transports the server offers to upgrade to (`upgrades`), as it named them.
    pub fn upgrades(&self) -> &[String] {
        &self.upgrades
    }

    /// How often the server pings (`pingInterval`).
    pub fn ping_interval(&self) -> Duration {
        self.ping_interval
    }

    /// How long the server waits for a pong (`pingTimeout`).
    pub fn ping_timeout(&self) -> Duration {
        self.ping_timeout
    }

    /// The largest polling payload the server accepts (`maxPayload`, the server's
    /// `maxHttpBufferSize`); 0 if the server did not say.
    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// How long the client waits for a ping before it gives up on the server
    /// (`pingInterval + pingTimeout`).
    pub(crate) fn heartbeat_deadline(&self) -> Duration {
        self.ping_interval + self.ping_timeout
    }

    /// Whether the server offers an upgrade to `transport`.
    pub(crate) fn offers(&self, transport: TransportKind) -> bool {
        self.upgrades.iter().any(|u| u == transport.as_str())
    }

    /// Reads an open packet (type character included), as received on either transport.
    pub(crate) fn from_open_packet(text: Bytes) -> Result<Handshake, ConnectError> {
        let open = bytestring::ByteString::try_from(text.clone())
            .ok()
            .map(decode_text);
        if open != Some(Ok(Packet::Open)) {
            let start = String::from_utf8_lossy(text.get(..32).unwrap_or(&text)).into_owned();
            return Err(ConnectError::handshake(format!(
                "expected an open packet, got {start:?}"
            )));
        }
        // The data of every packet type is what follows its type character.
        Self::parse(&text.slice(1..)).map_err(ConnectError::handshake)
    }

    fn parse(json: &[u8]) -> Result<Handshake, String> {
        let json: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| format!("open packet JSON: {e}"))?;
        let sid = json
            .get("sid")
            .and_then(|s| s.as_str())
            .filter(|s| !s.is_empty())
            .ok_or("the open packet has no sid")?
            .to_owned();
        let upgrades = match json.get("upgrades") {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(u) => u
                .as_array()
                .ok_or("upgrades is not an array")?
                .iter()
                .filter_map(|u| u.as_str().map(str::to_owned))
                .collect(),
        };
        let millis = |key: &str| -> Result<Duration, String> {
            let ms = json
                .get(key)
                .and_then(|v| v.as_u64())
                .ok_or_else(|| format!("{key} is not a non-negative integer"))?;
            Ok(Duration::from_millis(ms.min(MAX_HEARTBEAT_MS)))
        };
        let ping_interval = millis("pingInterval")?;
        let ping_timeout = millis("pingTimeout")?;
        let max_payload = json
            .get("maxPayload")
            .and_then(|v| v.as_u64())
            .map_or(0, |v| usize::try_from(v).unwrap_or(usize::MAX));
        Ok(Handshake {
            sid,
            upgrades,
            ping_interval,
            ping_timeout,
            max_payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(s: &'static str) -> Result<Handshake, ConnectError> {
        Handshake::from_open_packet(Bytes::from_static(s.as_bytes()))
    }

    #[test]
    fn the_default_node_handshake_parses() {
        let h = open(r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#).unwrap();
        assert_eq!(h.sid(), "lv_VI97HAXpY6yYWAAAC");
        assert!(h.offers(TransportKind::WebSocket));
        assert!(!h.offers(TransportKind::Polling));
        assert_eq!(h.ping_interval(), Duration::from_secs(25));
        assert_eq!(h.ping_timeout(), Duration::from_secs(20));
        assert_eq!(h.heartbeat_deadline(), Duration::from_secs(45));
        assert_eq!(h.max_payload(), 1_000_000);
    }

    #[test]
    fn optional_fields_may_be_missing_and_huge_values_are_clamped() {
        let h = open(r#"0{"sid":"x","pingInterval":99999999999999,"pingTimeout":0}"#).unwrap();
        assert!(h.upgrades().is_empty());
        assert_eq!(h.max_payload(), 0);
        assert_eq!(h.ping_interval(), Duration::from_millis(i32::MAX as u64));
    }

    #[test]
    fn malformed_open_packets_are_refused() {
        for bad in [
            "",
            "4hello",
            "0",
            "0{}",
            "0not json",
            r#"0{"sid":"","pingInterval":1,"pingTimeout":1}"#,
            r#"0{"sid":1,"pingInterval":1,"pingTimeout":1}"#,
            r#"0{"sid":"a","pingInterval":-1,"pingTimeout":1}"#,
            r#"0{"sid":"a","pingInterval":1}"#,
            r#"0{"sid":"a","upgrades":"websocket","pingInterval":1,"pingTimeout":1}"#,
        ] {
            assert!(open(bad).is_err(), "{bad:?}");
        }
    }
}
