//! What a socket knows of the request that opened its connection (`socket.handshake`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use engineio::RequestInfo;
use http::HeaderMap;

use crate::Value;

/// The handshake of a socket, built from the first HTTP request of its Engine.IO connection
/// and the auth payload of its CONNECT packet, as Node's `socket.handshake`.
#[derive(Debug, Clone)]
pub struct Handshake {
    request: Arc<RequestInfo>,
    auth: Value,
}

impl Handshake {
    pub(crate) fn new(request: Arc<RequestInfo>, auth: Value) -> Self {
        Handshake { request, auth }
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        self.request.headers()
    }

    /// The query parameters of the request (the Engine.IO ones included), decoded.
    pub fn query(&self) -> Vec<(String, String)> {
        self.request.query_pairs()
    }

    /// One query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.request.query(name)
    }

    /// The auth payload of the CONNECT packet (`{}` when the client sent none).
    pub fn auth(&self) -> &Value {
        &self.auth
    }

    /// The peer's address, when known.
    pub fn address(&self) -> Option<SocketAddr> {
        self.request.remote_addr
    }

    /// When the request arrived.
    pub fn time(&self) -> SystemTime {
        self.request.time
    }

    /// When the request arrived, in milliseconds since the Unix epoch (`issued`).
    pub fn issued(&self) -> u64 {
        self.request
            .time
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    /// The request URL (path and query).
    pub fn url(&self) -> String {
        self.request.uri.to_string()
    }

    /// Whether the request came over TLS (as far as the URI tells).
    pub fn secure(&self) -> bool {
        self.request.uri.scheme_str() == Some("https")
    }

    /// Whether the request carried an `Origin` header (a cross-domain request).
    pub fn xdomain(&self) -> bool {
        self.request.header("origin").is_some()
    }
}
