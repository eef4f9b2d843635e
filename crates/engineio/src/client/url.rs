//! Where the server is, and the URL of every request of a session.
//!
//! The query follows the official client: the URL's own parameters, then the `query` option,
//! then the protocol's `EIO`, `transport`, `sid` and (polling only) the cache buster `t`.

use std::sync::atomic::{AtomicU64, Ordering};

use http::HeaderMap;
use tokio::net::TcpStream;

use super::error::ConnectError;
use super::options::ClientOptions;
use crate::config::TransportKind;

/// Query parameters the protocol sets itself; the user's are dropped.
const RESERVED: [&str; 4] = ["EIO", "transport", "sid", "t"];

/// The server of one client, and what every request to it carries.
#[derive(Debug)]
pub(crate) struct Target {
    /// The host as it is dialled: a name or an address, IPv6 without brackets.
    host: String,
    port: u16,
    /// The `Host` header and the authority of WebSocket URLs (`[::1]:3000`).
    authority: String,
    path: String,
    query: Vec<(String, String)>,
    pub(crate) extra_headers: HeaderMap,
    pub(crate) max_receive_size: usize,
}

impl Target {
    /// Parses `http://host[:port][/...][?query]` (`ws://` too). TLS (`https`, `wss`) is not
    /// supported yet; [`Target::connect`] is where it will wrap the TCP stream.
    pub(crate) fn new(url: &str, options: &ClientOptions) -> Result<Target, ConnectError> {
        let uri: http::Uri = url
            .parse()
            .map_err(|_| ConnectError::invalid_url(format!("cannot parse {url:?}")))?;
        match uri.scheme_str() {
            Some("http" | "ws") => {}
            Some("https" | "wss") => {
                return Err(ConnectError::invalid_url(
                    "TLS (https, wss) is not supported yet".to_owned(),
                ));
            }
            _ => {
                return Err(ConnectError::invalid_url(format!(
                    "{url:?}: the scheme must be http or ws"
                )));
            }
        }
        let Some(raw_host) = uri.host().filter(|h| !h.is_empty()) else {
            return Err(ConnectError::invalid_url(format!("{url:?} has no host")));
        };
        let port = uri.port_u16().unwrap_or(80);
        let host = raw_host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(raw_host)
            .to_owned();
        let authority = if port == 80 {
            raw_host.to_owned()
        } else {
            format!("{raw_host}:{port}")
        };
        let mut query: Vec<(String, String)> = uri.query().map(parse_query).unwrap_or_default();
        query.extend(options.query.iter().cloned());
        query.retain(|(k, _)| !RESERVED.contains(&k.as_str()));
        Ok(Target {
            host,
            port,
            authority,
            path: options.path.clone(),
            query,
            extra_headers: options.extra_headers.clone(),
            max_receive_size: options.max_receive_size,
        })
    }

    /// The value of the `Host` header.
    pub(crate) fn authority(&self) -> &str {
        &self.authority
    }

    /// The path and query of a request (origin form), e.g.
    /// `/engine.io/?EIO=4&transport=polling&sid=abc&t=Pq3x`.
    pub(crate) fn request_path(&self, transport: TransportKind, sid: Option<&str>) -> String {
        let mut out = self.path.clone();
        let mut sep = '?';
        let mut push = |out: &mut String, k: &str, v: &str| {
            out.push(sep);
            sep = '&';
            encode_component(k, out);
            out.push('=');
            encode_component(v, out);
        };
        for (k, v) in &self.query {
            push(&mut out, k, v);
        }
        push(&mut out, "EIO", "4");
        push(&mut out, "transport", transport.as_str());
        if let Some(sid) = sid {
            push(&mut out, "sid", sid);
        }
        if transport == TransportKind::Polling {
            // Cache busting, as the official client does for every polling request.
            push(&mut out, "t", &cache_buster());
        }
        out
    }

    /// The URL of a WebSocket to this server.
    pub(crate) fn websocket_uri(&self, sid: Option<&str>) -> Result<http::Uri, ConnectError> {
        let path = self.request_path(TransportKind::WebSocket, sid);
        format!("ws://{}{}", self.authority, path)
            .parse()
            .map_err(|_| ConnectError::invalid_url(format!("bad websocket URL for {path:?}")))
    }

    /// Opens a connection to the server. A TLS transport would wrap the stream here, behind
    /// the same type, so that polling and WebSocket need not change.
    pub(crate) async fn connect(&self) -> std::io::Result<TcpStream> {
        let stream = TcpStream::connect((self.host.as_str(), self.port)).await?;
        // Engine.IO packets are small and latency matters more than segment count.
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

/// A short token that makes every polling URL unique (`t`), for caches on the way.
fn cache_buster() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut raw = [0u8; 6];
    if getrandom::fill(&mut raw).is_err() {
        // Uniqueness is all that matters here, so a counter will do.
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        for (d, s) in raw.iter_mut().zip(n.to_le_bytes()) {
            *d = s;
        }
    }
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// Percent-encodes like JavaScript's `encodeURIComponent`.
fn encode_component(s: &str, out: &mut String) {
    for &b in s.as_bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
            );
        if keep {
            out.push(char::from(b));
        } else {
            out.push('%');
            for nibble in [b >> 4, b & 0xf] {
                out.push(
                    char::from_digit(u32::from(nibble), 16).map_or('0', |c| c.to_ascii_uppercase()),
                );
            }
        }
    }
}

/// Decodes `%XX` sequences like `decodeURIComponent`; a malformed sequence is kept as it is
/// and invalid UTF-8 is replaced, so no input fails.
fn decode_component(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).and_then(|c| char::from(*c).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                // Two hex digits make at most 255.
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits a query string into decoded pairs; a parameter without `=` has an empty value.
fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode_component(k), decode_component(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str, options: ClientOptions) -> Target {
        Target::new(url, &options).unwrap()
    }

    #[test]
    fn polling_paths_carry_the_protocol_parameters_after_the_users() {
        let t = target(
            "http://127.0.0.1:3000/ignored?a=1&EIO=3",
            ClientOptions::default().query("b", "x y&z"),
        );
        let path = t.request_path(TransportKind::Polling, Some("abc"));
        let (head, cache) = path.rsplit_once("&t=").unwrap();
        assert_eq!(
            head,
            "/engine.io/?a=1&b=x%20y%26z&EIO=4&transport=polling&sid=abc"
        );
        assert!(!cache.is_empty());
        assert_eq!(t.authority(), "127.0.0.1:3000");
    }

    #[test]
    fn websocket_urls_have_no_cache_buster() {
        let t = target(
            "ws://localhost",
            ClientOptions::default().path("/socket.io"),
        );
        assert_eq!(
            t.websocket_uri(None).unwrap().to_string(),
            "ws://localhost/socket.io/?EIO=4&transport=websocket"
        );
    }

    #[test]
    fn ipv6_hosts_are_dialled_without_brackets() {
        let t = target("http://[::1]:8080", ClientOptions::default());
        assert_eq!(t.host, "::1");
        assert_eq!(t.authority(), "[::1]:8080");
    }

    #[test]
    fn unsupported_urls_are_refused() {
        for url in ["https://a", "wss://a", "ftp://a", "not a url", "/relative"] {
            assert!(
                Target::new(url, &ClientOptions::default()).is_err(),
                "{url}"
            );
        }
    }

    #[test]
    fn query_components_round_trip() {
        for s in ["plain", "a b", "é€🙂", "%", "&=?#", "%zz", ""] {
            let mut enc = String::new();
            encode_component(s, &mut enc);
            assert_eq!(decode_component(&enc), s);
        }
        assert_eq!(decode_component("%zz%4"), "%zz%4");
    }
}
