//! The errors a request can get before it reaches a session, with Node's codes and messages:
//! HTTP 400 (403 for code 4) and a JSON body `{"code":N,"message":"…"}`.

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};

/// A refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RequestError {
    /// 0: `transport` missing, unknown or disabled.
    UnknownTransport,
    /// 1: `sid` not found.
    UnknownSid,
    /// 2: a handshake with another method than GET.
    BadHandshakeMethod,
    /// 3: a malformed request (bad origin, transport mismatch, websocket without upgrade).
    BadRequest,
    /// 4: refused by `allow_request`, with its message.
    Forbidden(String),
    /// 5: `EIO` is not `4`.
    UnsupportedProtocolVersion,
}

impl RequestError {
    pub(crate) fn code(&self) -> u8 {
        match self {
            RequestError::UnknownTransport => 0,
            RequestError::UnknownSid => 1,
            RequestError::BadHandshakeMethod => 2,
            RequestError::BadRequest => 3,
            RequestError::Forbidden(_) => 4,
            RequestError::UnsupportedProtocolVersion => 5,
        }
    }

    pub(crate) fn message(&self) -> &str {
        match self {
            RequestError::UnknownTransport => "Transport unknown",
            RequestError::UnknownSid => "Session ID unknown",
            RequestError::BadHandshakeMethod => "Bad handshake method",
            RequestError::BadRequest => "Bad request",
            RequestError::Forbidden(m) if !m.is_empty() => m,
            RequestError::Forbidden(_) => "Forbidden",
            RequestError::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            RequestError::Forbidden(_) => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The response; a refused upgrade request also gets `Connection: close`, as Node ends
    /// such connections instead of keeping a half-negotiated one alive.
    pub(crate) fn response_to(&self, upgrade_request: bool) -> http::Response<Bytes> {
        let mut res = self.response();
        if upgrade_request {
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        res
    }

    pub(crate) fn response(&self) -> http::Response<Bytes> {
        let body =
            serde_json::json!({ "code": self.code(), "message": self.message() }).to_string();
        let mut res = http::Response::new(Bytes::from(body));
        *res.status_mut() = self.status();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_match_node() {
        let r = RequestError::UnknownSid.response();
        assert_eq!(r.status(), 400);
        assert_eq!(
            &r.body()[..],
            br#"{"code":1,"message":"Session ID unknown"}"#
        );
        let r = RequestError::Forbidden("nope".into()).response();
        assert_eq!(r.status(), 403);
        assert_eq!(&r.body()[..], br#"{"code":4,"message":"nope"}"#);
    }
}
