//! The WebSocket transport: the HTTP upgrade, the upgrade of a polling session
//! (`2probe`/`3probe`, then `5`), and the session loop. One task per WebSocket does both
//! reading and writing, so an idle connection costs one task; the framing is `wsproto`'s.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use hyper::upgrade::OnUpgrade;

use super::wsproto::{MAX_VECTORED, WsConn, WsMessage, WsOut};
use crate::config::TransportKind;
use crate::message::Message;
use crate::packet::{BASE64, Frame, FrameKind, Packet, decode_text};
use crate::socket::{CloseReason, Phase, Socket};

type Ws = WsConn;

/// How long a closing handshake may take before the connection is dropped anyway.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Whether the request is a valid WebSocket upgrade (RFC 6455 §4.2.1). A request without
/// the `Upgrade` or `Sec-WebSocket-Key` headers is refused, never half-handled.
pub(crate) fn is_upgrade_request(headers: &HeaderMap) -> bool {
    let has_token = |name: header::HeaderName, token: &[u8]| {
        headers.get_all(name).iter().any(|v| {
            // Most requests send the token alone; a list is split on commas.
            v.as_bytes().eq_ignore_ascii_case(token)
                || v.as_bytes()
                    .split(|&b| b == b',')
                    .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
        })
    };
    has_token(header::UPGRADE, b"websocket")
        && has_token(header::CONNECTION, b"upgrade")
        && headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_some_and(|v| v.as_bytes() == b"13")
        && headers.contains_key(header::SEC_WEBSOCKET_KEY)
}

/// The `101 Switching Protocols` response for a valid upgrade request.
pub(crate) fn switching_protocols(headers: &HeaderMap) -> Response<Bytes> {
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let mut sha = sha1_smol::Sha1::new();
    sha.update(key);
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let accept = base64::engine::general_purpose::STANDARD.encode(sha.digest().bytes());
    let mut res = Response::new(Bytes::new());
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = res.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    res
}

fn wrap(upgraded: hyper::upgrade::Upgraded, max_message: usize) -> Ws {
    WsConn::new(upgraded, max_message)
}

/// Runs a session that was opened over WebSocket (its open packet is queued).
pub(crate) fn spawn_session<D: Default + Send + Sync + 'static>(
    socket: Arc<Socket<D>>,
    on_upgrade: OnUpgrade,
) {
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws = wrap(upgraded, socket.engine.config.max_http_buffer_size);
                run(socket, ws).await;
            }
            Err(_) => socket.finish(CloseReason::TransportError),
        }
    });
}

/// Runs the upgrade of a polling session to this WebSocket.
pub(crate) fn spawn_upgrade<D: Default + Send + Sync + 'static>(
    socket: Arc<Socket<D>>,
    on_upgrade: OnUpgrade,
) {
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws = wrap(upgraded, socket.engine.config.max_http_buffer_size);
                upgrade(socket, ws).await;
            }
            Err(_) => abandon_upgrade(&socket),
        }
    });
}

/// Accepts the WebSocket and closes it at once (a second WebSocket for a session, as Node
/// does).
pub(crate) fn spawn_refusal(on_upgrade: OnUpgrade) {
    tokio::spawn(async move {
        if let Ok(upgraded) = on_upgrade.await {
            let mut ws = wrap(upgraded, 0);
            let _ = tokio::time::timeout(CLOSE_GRACE, ws.close()).await;
        }
    });
}

fn abandon_upgrade<D: Default + Send + Sync + 'static>(socket: &Socket<D>) {
    let mut st = socket.lock();
    st.websocket_attached = false;
    st.upgrading = false;
}

async fn upgrade<D: Default + Send + Sync + 'static>(socket: Arc<Socket<D>>, mut ws: Ws) {
    if probe_and_upgrade(&socket, &mut ws).await {
        tracing::debug!(sid = %socket.id(), "session upgraded to websocket");
        run(socket, ws).await;
    } else {
        abandon_upgrade(&socket);
        let _ = tokio::time::timeout(CLOSE_GRACE, ws.close()).await;
    }
}

/// Answers the probe and waits for the upgrade packet; true once the session has switched to
/// this WebSocket.
async fn probe_and_upgrade<D: Default + Send + Sync + 'static>(
    socket: &Arc<Socket<D>>,
    ws: &mut Ws,
) -> bool {
    let deadline = tokio::time::sleep(socket.engine.config.upgrade_timeout);
    tokio::pin!(deadline);
    let closed = socket.closed.notified();
    tokio::pin!(closed);
    closed.as_mut().enable();
    if !socket.is_open() {
        return false;
    }
    loop {
        let msg = tokio::select! {
            _ = &mut deadline => return false,
            _ = &mut closed => return false,
            msg = ws.next() => msg,
        };
        let Some(Ok(WsMessage::Text(text))) = msg else {
            return false;
        };
        match decode_text(text) {
            Ok(Packet::Ping(data)) if &data[..] == b"probe" => {
                queue(ws, Frame::pong_probe(), true);
                if ws.flush().await.is_err() {
                    return false;
                }
                socket.lock().upgrading = true;
                // A pending GET is answered with a noop so the client can pause polling.
                socket.writer.notify_waiters();
            }
            Ok(Packet::Upgrade) => {
                let mut st = socket.lock();
                if st.phase != Phase::Open {
                    return false;
                }
                st.transport = TransportKind::WebSocket;
                st.upgrading = false;
                drop(st);
                socket.writer.notify_waiters();
                return true;
            }
            // Anything else before the upgrade packet closes this transport only.
            _ => return false,
        }
    }
}

/// The session loop: write what is queued, read what arrives, until the session closes.
///
/// Not an `async fn`: its arguments would be kept twice in the future (once as arguments, once
/// as locals), and the connection is most of an idle session's task.
#[expect(
    clippy::manual_async_fn,
    reason = "an async fn would hold the connection twice"
)]
fn run<D: Default + Send + Sync + 'static>(
    socket: Arc<Socket<D>>,
    mut ws: Ws,
) -> impl Future<Output = ()> + Send {
    async move {
        let supports_binary = socket.supports_binary();
        let mut batch = VecDeque::new();
        loop {
            let notified = socket.writer.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (phase, first, drained) = socket.take_for_writer(&mut batch);
            if drained {
                socket.report_drain();
            }
            if let Some(first) = first {
                send_all(&mut ws, first, &mut batch, supports_binary);
                if !write_queued(&socket, &mut ws).await {
                    socket.finish(CloseReason::TransportError);
                    break;
                }
            } else {
                // Nothing to write: a session between bursts holds no write buffer either.
                ws.release_write_buffer();
            }
            match phase {
                Phase::Closed(_) => break,
                Phase::Closing => {
                    socket.finish(CloseReason::ForcedClose);
                    break;
                }
                Phase::Open => {}
            }
            tokio::select! {
                biased;
                _ = &mut notified => {}
                msg = ws.next() => {
                    // What handlers queue now is taken at the top of the loop.
                    socket.set_writer_busy();
                    match msg {
                        Some(Ok(WsMessage::Text(text))) => {
                            socket.on_packet(decode_text(text), TransportKind::WebSocket);
                        }
                        Some(Ok(WsMessage::Binary(data))) => {
                            socket.on_packet(Ok(Packet::Message(Message::Binary(data))), TransportKind::WebSocket);
                        }
                        Some(Ok(WsMessage::Close)) => socket.finish(CloseReason::TransportClose),
                        None => socket.finish(CloseReason::TransportClose),
                        Some(Err(e)) => {
                            tracing::debug!(sid = %socket.id(), error = %e, "websocket error");
                            socket.finish(CloseReason::TransportError);
                        }
                    }
                }
            }
        }
        // Boxed: the closing handshake's state would otherwise size the whole session's task.
        let _ = Box::pin(tokio::time::timeout(CLOSE_GRACE, ws.close())).await;
    }
}

/// Writes what is queued on the WebSocket; false if that failed, or if the session closed
/// while the peer was not reading. Most writes complete at once: the first attempt keeps
/// nothing in the session's task between polls, and the session's close is watched for (in
/// a boxed future, so that the rare wait does not size every session's task) only when the
/// write has to wait.
async fn write_queued<D: Default + Send + Sync + 'static>(socket: &Socket<D>, ws: &mut Ws) -> bool {
    let first = std::future::poll_fn(|cx| {
        let write = std::pin::pin!(ws.flush());
        Poll::Ready(write.poll(cx))
    })
    .await;
    if let Poll::Ready(result) = first {
        return result.is_ok();
    }
    // The write is cancel-safe: what was not written stays queued for this one.
    Box::pin(write_or_close(socket, ws)).await
}

async fn write_or_close<D: Default + Send + Sync + 'static>(
    socket: &Socket<D>,
    ws: &mut Ws,
) -> bool {
    let closed = socket.closed.notified();
    tokio::pin!(closed);
    closed.as_mut().enable();
    if matches!(socket.lock().phase, Phase::Closed(_)) {
        return false;
    }
    tokio::select! {
        r = ws.flush() => r.is_ok(),
        () = closed => false,
    }
}

/// Sends the packets taken for the writer, `first` then `batch`, all in one write: straight
/// to the socket in one vectored write when they are few enough and none needs base64 (no
/// copy into a buffer), otherwise queued for the flush.
fn send_all(ws: &mut Ws, first: Frame, batch: &mut VecDeque<Frame>, supports_binary: bool) {
    let frames = std::iter::once(&first).chain(batch.iter());
    let direct = batch.len() < MAX_VECTORED
        && (supports_binary || frames.clone().all(|f| matches!(f.kind, FrameKind::Text(_))));
    if direct {
        let mut outs = [WsOut::Text(&[]); MAX_VECTORED];
        for (out, frame) in outs.iter_mut().zip(frames) {
            *out = match &frame.kind {
                FrameKind::Text(text) => WsOut::Text(text),
                FrameKind::Binary(data) => WsOut::Binary(data),
            };
        }
        ws.send_or_queue(outs.get(..=batch.len()).unwrap_or_default());
        batch.clear();
        return;
    }
    queue(ws, first, supports_binary);
    for frame in batch.drain(..) {
        queue(ws, frame, supports_binary);
    }
}

/// Queues a packet as a WebSocket frame.
fn queue(ws: &mut Ws, frame: Frame, supports_binary: bool) {
    as_ws_out(frame, supports_binary, |out| ws.queue(out));
}

/// Hands `write` a packet as a WebSocket frame (binary data as base64 text for a `b64`
/// client).
fn as_ws_out(frame: Frame, supports_binary: bool, write: impl FnOnce(WsOut<'_>)) {
    match frame.kind {
        FrameKind::Text(text) => write(WsOut::Text(&text)),
        FrameKind::Binary(data) if supports_binary => write(WsOut::Binary(&data)),
        FrameKind::Binary(data) => {
            let encoded = BASE64.encode(&data);
            write(WsOut::TextPrefixed(b'b', encoded.as_bytes()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn upgrade_requests_are_recognized_in_the_forms_browsers_send() {
        let with = |upgrade: &str, connection: &str| {
            is_upgrade_request(&headers(&[
                ("upgrade", upgrade),
                ("connection", connection),
                ("sec-websocket-version", "13"),
                ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ]))
        };
        assert!(with("websocket", "Upgrade"));
        assert!(with("WebSocket", "upgrade"));
        // Firefox.
        assert!(with("websocket", "keep-alive, Upgrade"));
        assert!(with("websocket, h2c", "Upgrade ,keep-alive"));
        assert!(!with("h2c", "Upgrade"));
        assert!(!with("websocket", "keep-alive"));
        assert!(!with("websockets", "upgrade"));
        assert!(!with("websocket", "upgraded"));
        let no_key = headers(&[
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
            ("sec-websocket-version", "13"),
        ]);
        assert!(!is_upgrade_request(&no_key));
        let old_version = headers(&[
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
            ("sec-websocket-version", "8"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]);
        assert!(!is_upgrade_request(&old_version));
    }
}
