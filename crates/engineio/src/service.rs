//! The server as a tower [`Service`] and [`Layer`]: requests under the Engine.IO path are
//! answered by the server, every other request goes to the inner service untouched.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::{Either, MapOk, TryFutureExt};
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::Full;
use tower_layer::Layer;
use tower_service::Service;

use crate::server::EngineIo;

/// The body of a response of [`EngineIoService`]: the server's own, or the inner service's.
pub type ResponseBody<B> = http_body_util::Either<Full<Bytes>, B>;

type EngineFuture<B, E> =
    Pin<Box<dyn Future<Output = Result<Response<ResponseBody<B>>, E>> + Send>>;
type InnerFuture<F, B> = MapOk<F, fn(Response<B>) -> Response<ResponseBody<B>>>;

/// A tower service answering Engine.IO requests and passing the others to `S`.
///
/// ```
/// use std::sync::Arc;
/// use engineio::{Config, EngineIo, Handler, Message, Socket};
///
/// struct Echo;
/// impl Handler for Echo {
///     type Data = ();
///     fn on_message(&self, socket: &Arc<Socket<()>>, message: Message) {
///         let _ = socket.send(message);
///     }
/// }
///
/// let engine = EngineIo::new(Config::default(), Echo);
/// // Mount beside other routes: `tower::ServiceBuilder::new().layer(engine.layer()).service(app)`.
/// let _service = engine.service();
/// ```
pub struct EngineIoService<D, S = NotFound> {
    engine: EngineIo<D>,
    inner: S,
}

impl<D, S: Clone> Clone for EngineIoService<D, S> {
    fn clone(&self) -> Self {
        EngineIoService {
            engine: self.engine.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<D, S: std::fmt::Debug> std::fmt::Debug for EngineIoService<D, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineIoService")
            .field("engine", &self.engine)
            .field("inner", &self.inner)
            .finish()
    }
}

impl<D, S, ReqBody, ResBody> Service<Request<ReqBody>> for EngineIoService<D, S>
where
    D: Default + Send + Sync + 'static,
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Send + 'static,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    ResBody: Body<Data = Bytes> + Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = Either<EngineFuture<ResBody, S::Error>, InnerFuture<S::Future, ResBody>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if req
            .uri()
            .path()
            .starts_with(self.engine.engine.prefix.as_str())
        {
            let handled = self.engine.handle(req);
            Either::Left(Box::pin(async move {
                let res = handled.await;
                Ok(res.map(|b| http_body_util::Either::Left(Full::new(b))))
            }))
        } else {
            let wrap: fn(Response<ResBody>) -> Response<ResponseBody<ResBody>> =
                |res| res.map(http_body_util::Either::Right);
            Either::Right(self.inner.call(req).map_ok(wrap))
        }
    }
}

/// A tower layer putting the server in front of a service.
pub struct EngineIoLayer<D> {
    engine: EngineIo<D>,
}

impl<D> Clone for EngineIoLayer<D> {
    fn clone(&self) -> Self {
        EngineIoLayer {
            engine: self.engine.clone(),
        }
    }
}

impl<D> std::fmt::Debug for EngineIoLayer<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineIoLayer")
            .field("engine", &self.engine)
            .finish()
    }
}

impl<D, S> Layer<S> for EngineIoLayer<D> {
    type Service = EngineIoService<D, S>;

    fn layer(&self, inner: S) -> Self::Service {
        EngineIoService {
            engine: self.engine.clone(),
            inner,
        }
    }
}

impl<D: Default + Send + Sync + 'static> EngineIo<D> {
    /// The server as a service that answers 404 outside its path.
    pub fn service(&self) -> EngineIoService<D> {
        self.layer().layer(NotFound)
    }

    /// The server as a layer in front of another service.
    pub fn layer(&self) -> EngineIoLayer<D> {
        EngineIoLayer {
            engine: self.clone(),
        }
    }
}

/// The inner service of a standalone server: 404 for everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotFound;

impl<B> Service<Request<B>> for NotFound {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<B>) -> Self::Future {
        let mut res = Response::new(Full::new(Bytes::new()));
        *res.status_mut() = StatusCode::NOT_FOUND;
        std::future::ready(Ok(res))
    }
}
