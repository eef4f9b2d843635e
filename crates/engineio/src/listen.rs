//! The standalone server: accept TCP connections and serve them with hyper (HTTP/1.1 with
//! upgrades), until the server is closed.

use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tower_service::Service;

use crate::request::RemoteAddr;
use crate::server::EngineIo;

pub(crate) async fn serve<D: Default + Send + Sync + 'static>(
    engine: EngineIo<D>,
    listener: TcpListener,
) -> std::io::Result<()> {
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
        let service = engine.service();
        tokio::spawn(async move {
            let hyper_service =
                hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
                    req.extensions_mut().insert(RemoteAddr(addr));
                    let mut service = service.clone();
                    async move { service.call(req).await }
                });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), hyper_service)
                .with_upgrades();
            if let Err(e) = conn.await {
                tracing::trace!(error = %e, "connection ended with an error");
            }
        });
    }
}
