//! HTTP long-polling, client side: a GET loop that the server holds open until it has
//! packets, and POSTs of queued packets. At most one GET and one POST are in flight, as the
//! server requires (an overlapping request closes the session).
//!
//! The requests are futures kept in this value, not tasks: dropping the transport cancels
//! them, and polling it ([`Polling::next`]) is cancel-safe.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Method;

use super::error::ConnectError;
use super::handshake::Handshake;
use super::http::{HttpConn, HttpError, exchange};
use super::url::Target;
use crate::config::TransportKind;
use crate::packet::{DecodeError, Frame, Packet};
use crate::payload;

type Exchange = Pin<Box<dyn Future<Output = (Option<HttpConn>, Result<Bytes, HttpError>)> + Send>>;

/// What a polling transport reports.
#[derive(Debug)]
pub(crate) enum PollingEvent {
    /// A GET returned these packets, in order (a decoding error ends the list).
    Packets(Vec<Result<Packet, DecodeError>>),
    /// A POST was accepted: the transport can write again.
    Drained,
    /// A request failed.
    Error(HttpError),
}

/// The polling transport of one session.
pub(crate) struct Polling {
    target: Arc<Target>,
    sid: String,
    /// Idle keep-alive connections, one per kind of request.
    get_conn: Option<HttpConn>,
    post_conn: Option<HttpConn>,
    /// The requests in flight.
    get: Option<Exchange>,
    post: Option<Exchange>,
    /// Set when an upgrade pauses polling: no new GET is started.
    paused: bool,
}

impl std::fmt::Debug for Polling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Polling")
            .field("sid", &self.sid)
            .field("polling", &self.get.is_some())
            .field("writing", &self.post.is_some())
            .field("paused", &self.paused)
            .finish()
    }
}

impl Polling {
    /// Opens a session with the handshake GET. Returns the transport, the handshake, and the
    /// packets that followed the open packet in the same payload (a server may send a
    /// message right away).
    pub(crate) async fn open(
        target: Arc<Target>,
    ) -> Result<(Polling, Handshake, Vec<Result<Packet, DecodeError>>), ConnectError> {
        let path = target.request_path(TransportKind::Polling, None);
        let (conn, result) =
            exchange(Arc::clone(&target), None, Method::GET, path, Bytes::new()).await;
        let body = result.map_err(|e| match e {
            HttpError::Connect(e) => ConnectError::io(e),
            HttpError::Status(status, body) => ConnectError::refused(status.as_u16(), &body),
            e => ConnectError::transport(e),
        })?;
        // The open packet comes first; whatever follows is an ordinary payload.
        let (open, rest) = match body.iter().position(|&b| b == payload::SEPARATOR) {
            Some(at) => (body.slice(..at), Some(body.slice(at + 1..))),
            None => (body, None),
        };
        let handshake = Handshake::from_open_packet(open)?;
        let initial = rest.map(payload::decode).unwrap_or_default();
        let polling = Polling {
            target,
            sid: handshake.sid().to_owned(),
            get_conn: conn,
            post_conn: None,
            get: None,
            post: None,
            paused: false,
        };
        Ok((polling, handshake, initial))
    }

    /// Starts the next GET, unless one is in flight or polling is paused.
    pub(crate) fn poll(&mut self) {
        if self.get.is_some() || self.paused {
            return;
        }
        let path = self
            .target
            .request_path(TransportKind::Polling, Some(&self.sid));
        self.get = Some(Box::pin(exchange(
            Arc::clone(&self.target),
            self.get_conn.take(),
            Method::GET,
            path,
            Bytes::new(),
        )));
    }

    /// Whether a POST may start (none is in flight).
    pub(crate) fn is_writable(&self) -> bool {
        self.post.is_none()
    }

    /// Whether no request is in flight: a paused transport has then stopped.
    pub(crate) fn is_idle(&self) -> bool {
        self.get.is_none() && self.post.is_none()
    }

    /// Stops the GET loop for an upgrade; the requests in flight still complete.
    pub(crate) fn pause(&mut self) {
        self.paused = true;
    }

    /// Starts a POST of these frames as one payload. The caller checked
    /// [`Polling::is_writable`].
    pub(crate) fn write(&mut self, frames: &[Frame]) {
        let body = payload::encode(frames, payload::encoded_len(frames));
        let path = self
            .target
            .request_path(TransportKind::Polling, Some(&self.sid));
        self.post = Some(Box::pin(exchange(
            Arc::clone(&self.target),
            self.post_conn.take(),
            Method::POST,
            path,
            body,
        )));
    }

    /// The next completed request. Pending for ever when none is in flight.
    pub(crate) async fn next(&mut self) -> PollingEvent {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<PollingEvent> {
        if let Some(get) = self.get.as_mut()
            && let Poll::Ready((conn, result)) = get.as_mut().poll(cx)
        {
            self.get = None;
            self.get_conn = conn;
            return Poll::Ready(match result {
                Ok(body) => PollingEvent::Packets(payload::decode(body)),
                Err(e) => PollingEvent::Error(e),
            });
        }
        if let Some(post) = self.post.as_mut()
            && let Poll::Ready((conn, result)) = post.as_mut().poll(cx)
        {
            self.post = None;
            self.post_conn = conn;
            return Poll::Ready(match result {
                // The body is `ok`; nothing else in it matters.
                Ok(_) => PollingEvent::Drained,
                Err(e) => PollingEvent::Error(e),
            });
        }
        Poll::Pending
    }

    /// Says goodbye with a close packet (`1`) in a POST of its own, once a POST in flight is
    /// done (two at once would make the server close with an error). A GET in flight stays
    /// open until then, so that the server sees a clean close rather than an aborted poll.
    pub(crate) async fn close(mut self) {
        if let Some(post) = self.post.take() {
            let (conn, _) = post.await;
            self.post_conn = conn;
        }
        let path = self
            .target
            .request_path(TransportKind::Polling, Some(&self.sid));
        let close = payload::encode(&[Frame::close()], 1);
        let (_, result) = exchange(
            Arc::clone(&self.target),
            self.post_conn.take(),
            Method::POST,
            path,
            close,
        )
        .await;
        if let Err(e) = result {
            tracing::debug!(sid = %self.sid, error = %e, "engine.io client: close packet not delivered");
        }
    }
}

/// How many of the queued frames the next POST carries: the leading ones whose payload fits
/// in the server's `maxPayload` (0: no limit), and always at least one, as engine.io-client
/// batches. engine.io-client counts 1 + each packet's data length + 2 per further packet,
/// which is the exact payload length for text packets; binary packets are counted here by
/// their exact base64 length (`b` + 4 per 3 bytes) where it estimates 1.33 per byte.
pub(crate) fn batch_len(queue: &VecDeque<Frame>, max_payload: usize) -> usize {
    if max_payload == 0 {
        return queue.len();
    }
    let mut size = 0usize;
    for (i, frame) in queue.iter().enumerate() {
        size = size
            .saturating_add(frame.polling_len())
            .saturating_add(usize::from(i > 0));
        if i > 0 && size > max_payload {
            return i;
        }
    }
    queue.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    fn texts(lens: &[usize]) -> VecDeque<Frame> {
        lens.iter()
            .map(|&n| Frame::message_text(&"x".repeat(n)))
            .collect()
    }

    #[test]
    fn batches_fill_up_to_max_payload() {
        // "4xxxxxxxx" is 9 bytes; two with a separator are 19.
        assert_eq!(batch_len(&texts(&[8, 8, 8]), 19), 2);
        assert_eq!(batch_len(&texts(&[8, 8, 8]), 18), 1);
        assert_eq!(batch_len(&texts(&[8, 8, 8]), 29), 3);
        assert_eq!(batch_len(&texts(&[8, 8, 8]), 0), 3);
    }

    #[test]
    fn an_oversized_packet_still_goes_alone() {
        assert_eq!(batch_len(&texts(&[100, 1]), 10), 1);
        assert_eq!(batch_len(&texts(&[]), 10), 0);
    }

    #[test]
    fn binary_counts_as_its_base64() {
        let mut q = VecDeque::new();
        q.push_back(Frame::message(Message::Binary(Bytes::from_static(&[0; 3]))));
        q.push_back(Frame::message(Message::Binary(Bytes::from_static(&[0; 3]))));
        // "bAAAA" twice plus a separator: 11 bytes.
        assert_eq!(batch_len(&q, 11), 2);
        assert_eq!(batch_len(&q, 10), 1);
    }
}
