//! The HTTP/1.1 requests of long-polling, on hyper's connection-level client: each kind of
//! request (the GET loop, the POSTs) keeps its own keep-alive connection, because a GET is
//! held open by the server while POSTs must still get through.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::task::JoinHandle;

use super::url::Target;

/// Why a polling request failed.
#[derive(Debug)]
pub(crate) enum HttpError {
    /// The server could not be reached.
    Connect(std::io::Error),
    /// The connection failed or the response was not valid HTTP.
    Protocol(hyper::Error),
    /// The response body was larger than `max_receive_size`.
    TooLarge,
    /// The connection failed while the body was read.
    Body(Box<dyn StdError + Send + Sync>),
    /// The server answered with another status than 200; the body explains why.
    Status(StatusCode, Bytes),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Connect(e) => write!(f, "cannot connect: {e}"),
            HttpError::Protocol(e) => write!(f, "HTTP error: {e}"),
            HttpError::TooLarge => f.write_str("the response body is too large"),
            HttpError::Body(e) => write!(f, "cannot read the response body: {e}"),
            HttpError::Status(status, _) => write!(f, "unexpected HTTP status {status}"),
        }
    }
}

impl StdError for HttpError {}

/// Aborts a task when dropped, so that a connection never outlives its owner.
#[derive(Debug)]
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One HTTP/1.1 connection. hyper drives it in a task of its own, aborted with the value.
#[derive(Debug)]
pub(crate) struct HttpConn {
    sender: http1::SendRequest<Full<Bytes>>,
    _driver: AbortOnDrop,
}

impl HttpConn {
    async fn open(target: &Target) -> Result<HttpConn, HttpError> {
        let stream = target.connect().await.map_err(HttpError::Connect)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(HttpError::Protocol)?;
        let driver = tokio::spawn(async move {
            // Ends when the connection fails or when the sender is dropped.
            if let Err(e) = conn.await {
                tracing::trace!(error = %e, "engine.io client: polling connection ended");
            }
        });
        Ok(HttpConn {
            sender,
            _driver: AbortOnDrop(driver),
        })
    }
}

/// Sends one request and reads the whole answer, reusing `conn` if it is still usable or
/// opening a new connection. Returns the connection for the next request (when it can be
/// reused) and the body of a 200 answer.
pub(crate) async fn exchange(
    target: Arc<Target>,
    conn: Option<HttpConn>,
    method: Method,
    path: String,
    body: Bytes,
) -> (Option<HttpConn>, Result<Bytes, HttpError>) {
    let mut conn = match reuse(conn).await {
        Some(conn) => conn,
        None => match HttpConn::open(&target).await {
            Ok(conn) => conn,
            Err(e) => return (None, Err(e)),
        },
    };
    let request = build(&target, method, path, body);
    let result = send(&mut conn, request, target.max_receive_size).await;
    let reusable = result.is_ok() && !conn.sender.is_closed();
    (reusable.then_some(conn), result)
}

/// The connection, if it can take another request.
async fn reuse(conn: Option<HttpConn>) -> Option<HttpConn> {
    let mut conn = conn?;
    if conn.sender.is_closed() {
        return None;
    }
    conn.sender.ready().await.ok()?;
    Some(conn)
}

fn build(target: &Target, method: Method, path: String, body: Bytes) -> Request<Full<Bytes>> {
    let post = method == Method::POST;
    let mut request = Request::new(Full::new(body));
    *request.method_mut() = method;
    // Origin form (`/engine.io/?EIO=4&...`): hyper writes the URI as it is given.
    *request.uri_mut() = match path.parse() {
        Ok(uri) => uri,
        // The path is built from percent-encoded parts, so this cannot happen; fall back to
        // a request the server will refuse rather than to a panic.
        Err(_) => http::Uri::from_static("/"),
    };
    let headers = request.headers_mut();
    headers.clone_from(&target.extra_headers);
    if let Ok(host) = HeaderValue::from_str(target.authority()) {
        headers.entry(header::HOST).or_insert(host);
    }
    headers
        .entry(header::ACCEPT)
        .or_insert(HeaderValue::from_static("*/*"));
    if post {
        // What browsers send for a string body, and what the server checks for (a binary
        // content type would close the session).
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain;charset=UTF-8"),
        );
    }
    request
}

async fn send(
    conn: &mut HttpConn,
    request: Request<Full<Bytes>>,
    limit: usize,
) -> Result<Bytes, HttpError> {
    let response = conn
        .sender
        .send_request(request)
        .await
        .map_err(HttpError::Protocol)?;
    let status = response.status();
    let body = match Limited::new(response.into_body(), limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => return Err(HttpError::TooLarge),
        Err(e) => return Err(HttpError::Body(e)),
    };
    if status == StatusCode::OK {
        Ok(body)
    } else {
        Err(HttpError::Status(status, body))
    }
}
