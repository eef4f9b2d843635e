//! gzip and deflate for polling responses, chosen from the request's `Accept-Encoding` as
//! Node's engine.io chooses (gzip first, then deflate).

use std::io::Write;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::{DeflateEncoder, GzEncoder};
use http::{HeaderMap, header};

/// A content encoding the server can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Gzip,
    Deflate,
}

impl Encoding {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
        }
    }
}

/// The encoding to use for a client, if it accepts one (a `q=0` entry refuses it).
pub(crate) fn accepted(request_headers: &HeaderMap) -> Option<Encoding> {
    let accepts = |name: &str| {
        request_headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|entry| {
                let mut parts = entry.split(';').map(str::trim);
                let coding = parts.next().unwrap_or_default();
                let refused = parts.any(|p| {
                    p.strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                (coding.eq_ignore_ascii_case(name) || coding == "*") && !refused
            })
    };
    if accepts("gzip") {
        Some(Encoding::Gzip)
    } else if accepts("deflate") {
        Some(Encoding::Deflate)
    } else {
        None
    }
}

/// Compresses a body; `None` only if the encoder failed (the body then goes out as is).
pub(crate) fn encode(encoding: Encoding, body: &[u8]) -> Option<Bytes> {
    let out = Vec::with_capacity(body.len() / 2);
    let compressed = match encoding {
        Encoding::Gzip => {
            let mut e = GzEncoder::new(out, Compression::default());
            e.write_all(body).ok()?;
            e.finish().ok()?
        }
        Encoding::Deflate => {
            let mut e = DeflateEncoder::new(out, Compression::default());
            e.write_all(body).ok()?;
            e.finish().ok()?
        }
    };
    Some(Bytes::from(compressed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(v: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(v));
        h
    }

    #[test]
    fn gzip_is_preferred_and_q0_refuses() {
        assert_eq!(
            accepted(&headers("gzip, deflate, br")),
            Some(Encoding::Gzip)
        );
        assert_eq!(accepted(&headers("deflate")), Some(Encoding::Deflate));
        assert_eq!(
            accepted(&headers("gzip;q=0, deflate")),
            Some(Encoding::Deflate)
        );
        assert_eq!(accepted(&headers("br")), None);
        assert_eq!(accepted(&HeaderMap::new()), None);
    }
}
