//! HTTP long-polling: a GET waits until packets are queued and takes all of them in one
//! payload; a POST carries packets from the client. One GET and one POST may be pending per
//! session; an overlapping request closes the session, as in Node.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::config::TransportKind;
use crate::packet::Frame;
use crate::payload;
use crate::socket::{CloseReason, Phase, Socket};
use crate::transport::compression;

/// Which pending request a guard watches.
#[derive(Clone, Copy)]
enum Pending {
    Get,
    Post,
}

/// Closes the session if a request is dropped before it is answered: hyper drops the
/// handler when the client goes away ("poll connection closed prematurely" in Node).
struct PendingGuard<'a, D: Default + Send + Sync + 'static> {
    socket: &'a Arc<Socket<D>>,
    which: Pending,
    armed: bool,
}

impl<D: Default + Send + Sync + 'static> Drop for PendingGuard<'_, D> {
    fn drop(&mut self) {
        let mut st = self.socket.lock();
        match self.which {
            Pending::Get => st.get_pending = false,
            Pending::Post => st.post_pending = false,
        }
        drop(st);
        if self.armed {
            self.socket.finish(CloseReason::TransportError);
        }
    }
}

/// Answers a GET with every queued packet, waiting until there is one.
pub(crate) async fn get<D: Default + Send + Sync + 'static>(
    socket: Arc<Socket<D>>,
    request_headers: &HeaderMap,
) -> Response<Bytes> {
    {
        let mut st = socket.lock();
        if st.get_pending {
            drop(st);
            // The first GET is answered with a close packet when the session closes.
            socket.finish(CloseReason::TransportError);
            return empty(StatusCode::BAD_REQUEST);
        }
        st.get_pending = true;
    }
    let mut guard = PendingGuard {
        socket: &socket,
        which: Pending::Get,
        armed: true,
    };
    let mut frames = VecDeque::new();
    loop {
        let notified = socket.writer.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if take_for_get(&socket, &mut frames) {
            break;
        }
        notified.await;
    }
    guard.armed = false;
    drop(guard);
    payload_response(&socket, &frames, request_headers)
}

/// A response carrying `frames` as one payload, compressed when Node would compress it.
fn payload_response<D: Default + Send + Sync + 'static>(
    socket: &Socket<D>,
    frames: &VecDeque<Frame>,
    request_headers: &HeaderMap,
) -> Response<Bytes> {
    let body = payload::encode(frames, payload::encoded_len(frames));
    let encoding = match socket.engine.config.http_compression {
        Some(threshold) if body.len() >= threshold && frames.iter().any(Frame::is_compressible) => {
            compression::accepted(request_headers)
        }
        _ => None,
    };
    let (body, encoding) =
        match encoding.and_then(|e| compression::encode(e, &body).map(|b| (b, e))) {
            Some((compressed, e)) => (compressed, Some(e)),
            None => (body, None),
        };
    let mut res = Response::new(body);
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    if let Some(e) = encoding {
        headers.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(e.as_str()),
        );
    }
    common_headers(request_headers, headers);
    res
}

/// Fills `frames` with what a pending GET must answer now, if anything.
fn take_for_get<D: Default + Send + Sync + 'static>(
    socket: &Arc<Socket<D>>,
    frames: &mut VecDeque<Frame>,
) -> bool {
    let mut st = socket.lock();
    match st.phase {
        Phase::Closed(reason) => {
            // A close the client asked for gets a noop; any other close tells the client.
            frames.push_back(if reason == CloseReason::TransportClose {
                Frame::noop()
            } else {
                Frame::close()
            });
            true
        }
        // What was queued before the close goes out first; the close packet alone after.
        Phase::Closing if !st.queue.is_empty() => {
            let drained = st.queue.take_into(frames);
            drop(st);
            if drained {
                socket.report_drain();
            }
            true
        }
        Phase::Closing => {
            frames.push_back(Frame::close());
            drop(st);
            socket.finish(CloseReason::ForcedClose);
            true
        }
        Phase::Open if !st.queue.is_empty() => {
            let drained = st.queue.take_into(frames);
            drop(st);
            if drained {
                socket.report_drain();
            }
            true
        }
        // An upgrade is under way or done: release the GET so the client can pause polling.
        Phase::Open if st.upgrading || st.transport == TransportKind::WebSocket => {
            frames.push_back(Frame::noop());
            true
        }
        Phase::Open => false,
    }
}

/// Takes the packets of a POST.
pub(crate) async fn post<D, B>(
    socket: Arc<Socket<D>>,
    request_headers: &HeaderMap,
    body: B,
) -> Response<Bytes>
where
    D: Default + Send + Sync + 'static,
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let binary_body = request_headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/octet-stream"));
    if binary_body {
        // v4 never sends binary bodies ("invalid content" in Node).
        socket.finish(CloseReason::TransportError);
        return empty(StatusCode::BAD_REQUEST);
    }
    {
        let mut st = socket.lock();
        if st.post_pending {
            drop(st);
            socket.finish(CloseReason::TransportError);
            return empty(StatusCode::BAD_REQUEST);
        }
        st.post_pending = true;
    }
    let mut guard = PendingGuard {
        socket: &socket,
        which: Pending::Post,
        armed: true,
    };
    let max = socket.engine.config.max_http_buffer_size;
    let declared_too_large = request_headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|len| len > max as u64);
    if declared_too_large {
        guard.armed = false;
        return empty(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let body = match Limited::new(body, max).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => {
            // The session survives an oversized body, as in Node.
            guard.armed = false;
            return empty(StatusCode::PAYLOAD_TOO_LARGE);
        }
        // The client went away mid-body: the guard closes the session.
        Err(_) => return empty(StatusCode::BAD_REQUEST),
    };
    guard.armed = false;
    drop(guard);
    for packet in payload::decode(body) {
        socket.on_packet(packet, TransportKind::Polling);
    }
    let mut res = Response::new(Bytes::from_static(b"ok"));
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    common_headers(request_headers, res.headers_mut());
    res
}

/// The answer to a polling request of a session being upgraded or upgraded already whose
/// transport no longer matches is built by the router; this one is for the handshake GET.
pub(crate) fn handshake_response<D: Default + Send + Sync + 'static>(
    socket: &Socket<D>,
    request_headers: &HeaderMap,
) -> Response<Bytes> {
    let mut frames = VecDeque::new();
    // A fresh session cannot be over its high-water mark yet.
    let _ = socket.lock().queue.take_into(&mut frames);
    payload_response(socket, &frames, request_headers)
}

/// Headers Node adds to every polling response.
fn common_headers(request_headers: &HeaderMap, headers: &mut HeaderMap) {
    let old_ie = request_headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.contains(";MSIE") || ua.contains("Trident/"));
    if old_ie {
        headers.insert("x-xss-protection", HeaderValue::from_static("0"));
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// A response with no body.
pub(crate) fn empty(status: StatusCode) -> Response<Bytes> {
    let mut res = Response::new(Bytes::new());
    *res.status_mut() = status;
    res
}
