//! The standalone server: accept TCP connections and serve them with hyper (HTTP/1.1 with
//! upgrades), until the server is closed.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower_service::Service;

use crate::request::RemoteAddr;
use crate::server::EngineIo;

pub(crate) async fn serve<D, S, B>(
    engine: EngineIo<D>,
    listener: TcpListener,
    service: S,
) -> std::io::Result<()>
where
    D: Default + Send + Sync + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    loop {
        let shutdown = engine.engine.shutdown.notified();
        tokio::pin!(shutdown);
        shutdown.as_mut().enable();
        if engine.engine.is_closed() {
            return Ok(());
        }
        let accepted = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => accepted,
        };
        let (stream, addr) = match accepted {
            Ok(conn) => conn,
            Err(e) => {
                // Out of file descriptors and the like: wait a little instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let engine = engine.clone();
        let header_timeout = engine.engine.config.request_header_timeout;
        let engine_for_requests = engine.clone();
        tokio::spawn(async move {
            let hyper_service =
                hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
                    // Three allocations per request: left out for the requests of an open
                    // session, which never read it (see `RemoteAddr`).
                    if !engine_for_requests.is_session_request(req.uri()) {
                        req.extensions_mut().insert(RemoteAddr(addr));
                    }
                    let mut service = service.clone();
                    async move { service.call(req).await }
                });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                // Polling responses are small: one buffer and one write(2) cost less than a
                // queue of buffers and writev(2).
                .writev(false)
                .serve_connection(TokioIo::new(stream), hyper_service)
                .with_upgrades();
            tokio::pin!(conn);
            // Once the server closes, an idle keep-alive connection is closed too, and one
            // with a request in flight after its response: nothing outlives the server.
            let shutdown = engine.engine.shutdown.notified();
            tokio::pin!(shutdown);
            shutdown.as_mut().enable();
            let ended = if engine.engine.is_closed() {
                conn.as_mut().graceful_shutdown();
                conn.await
            } else {
                tokio::select! {
                    ended = conn.as_mut() => ended,
                    () = shutdown => {
                        conn.as_mut().graceful_shutdown();
                        conn.await
                    }
                }
            };
            if let Err(e) = ended {
                tracing::trace!(error = %e, "connection ended with an error");
            }
        });
    }
}
