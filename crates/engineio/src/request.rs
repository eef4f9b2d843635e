//! The HTTP request that opened a session, kept for the upper layer (Socket.IO builds its
//! `handshake` from it).

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::SystemTime;

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, Version};

/// The remote address of a connection, as a request extension. The standalone server sets it
/// on every request but those of an open session (a request under the server's path whose
/// query names a `sid`): sessions read it from their handshake. When mounting the service
/// elsewhere, insert it (for example from axum's `ConnectInfo`) so that sessions know their
/// peer's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteAddr(pub SocketAddr);

/// The handshake request of a session.
///
/// The headers are kept as one block of bytes (a long-lived session holds little), and the
/// [`HeaderMap`] is built on first access to [`headers`](Self::headers).
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// Request method.
    pub method: Method,
    /// Request URI (path and query).
    pub uri: Uri,
    /// HTTP version.
    pub version: Version,
    /// Every header as `name:value\n`, in order (names never hold `:`, values never `\n`).
    head: Box<[u8]>,
    /// The headers as a map, once asked for.
    headers: OnceLock<Box<HeaderMap>>,
    /// The peer's address, when known (see [`RemoteAddr`]).
    pub remote_addr: Option<SocketAddr>,
    /// When the request arrived.
    pub time: SystemTime,
}

impl RequestInfo {
    /// A copy of the request's head. The copy owns its bytes: hyper's header values and URI
    /// point into the connection's read buffer (8 KiB), which a session kept open for hours
    /// must not hold on to.
    pub(crate) fn from_request<B>(req: &http::Request<B>) -> Self {
        let len = req
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 2)
            .sum();
        let mut head = Vec::with_capacity(len);
        for (name, value) in req.headers() {
            head.extend_from_slice(name.as_str().as_bytes());
            head.push(b':');
            head.extend_from_slice(value.as_bytes());
            head.push(b'\n');
        }
        let src = req.uri();
        let uri = match (src.scheme(), src.path_and_query()) {
            // The usual form, a path and a query: copied as it is, not written out again.
            (None, Some(path)) => {
                Uri::from_maybe_shared(bytes::Bytes::copy_from_slice(path.as_str().as_bytes()))
            }
            _ => Uri::try_from(src.to_string()),
        }
        .unwrap_or_else(|_| src.clone());
        RequestInfo {
            method: req.method().clone(),
            uri,
            version: req.version(),
            head: head.into_boxed_slice(),
            headers: OnceLock::new(),
            remote_addr: req.extensions().get::<RemoteAddr>().map(|a| a.0),
            time: SystemTime::now(),
        }
    }

    /// The request headers, in their order of arrival.
    pub fn headers(&self) -> &HeaderMap {
        self.headers.get_or_init(|| Box::new(self.parse_headers()))
    }

    /// The first value of a header, without building the whole map.
    pub fn header(&self, name: impl AsRef<str>) -> Option<HeaderValue> {
        let name = name.as_ref();
        self.header_lines()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .and_then(|(_, v)| HeaderValue::from_bytes(v).ok())
    }

    fn header_lines(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.head.split(|&b| b == b'\n').filter_map(|line| {
            let at = line.iter().position(|&b| b == b':')?;
            Some((line.get(..at)?, line.get(at + 1..)?))
        })
    }

    fn parse_headers(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in self.header_lines() {
            if let (Ok(name), Ok(value)) =
                (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
            {
                map.append(name, value);
            }
        }
        map
    }

    /// The query parameters, percent-decoded, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.uri.query().map(parse_query).unwrap_or_default()
    }

    /// The first value of a query parameter, percent-decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// Parses an `application/x-www-form-urlencoded` query as URLSearchParams does.
pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(pair), String::new()),
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(v) = hex {
                    out.push(v);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_keeps_every_header_in_order_and_the_uri() {
        let req = http::Request::builder()
            .uri("/engine.io/?EIO=4&transport=websocket&x=%20y")
            .header("x-custom", "a")
            .header("x-custom", "b")
            .header("cookie", "k=v")
            .body(())
            .unwrap();
        let info = RequestInfo::from_request(&req);
        assert_eq!(*info.headers(), *req.headers());
        assert_eq!(
            info.header("X-Custom").as_ref().map(|v| v.as_bytes()),
            Some(&b"a"[..])
        );
        assert_eq!(info.header("x-none"), None);
        assert_eq!(info.uri, *req.uri());
        assert_eq!(info.query("x").as_deref(), Some(" y"));
    }

    #[test]
    fn the_uri_is_copied_in_every_form() {
        for uri in [
            "/engine.io/?EIO=4&transport=polling",
            "/engine.io/",
            "http://127.0.0.1:3000/engine.io/?EIO=4&transport=polling",
            "*",
        ] {
            let req = http::Request::builder().uri(uri).body(()).unwrap();
            let info = RequestInfo::from_request(&req);
            assert_eq!(info.uri, *req.uri(), "{uri}");
            assert_eq!(info.uri.to_string(), uri);
        }
    }

    #[test]
    fn query_is_decoded_like_url_search_params() {
        assert_eq!(
            parse_query("EIO=4&transport=polling&t=a%20b+c&x&bad=%zz"),
            vec![
                ("EIO".into(), "4".into()),
                ("transport".into(), "polling".into()),
                ("t".into(), "a b c".into()),
                ("x".into(), String::new()),
                ("bad".into(), "%zz".into()),
            ]
        );
    }
}
