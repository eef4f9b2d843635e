//! Serving the official browser client (`<path>/socket.io.min.js` and friends) from a
//! `socket.io-client` `dist` folder the user points the server at. The files are read once,
//! at start-up; nothing is vendored in this repository.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use engineio::{EngineIoService, NotFound, ResponseBody};
use futures_util::future::Either;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::Full;
use tower_layer::Layer;
use tower_service::Service;

use super::client::ClientState;

/// The bundles Node's socket.io serves, with their source maps.
const FILES: [&str; 8] = [
    "socket.io.js",
    "socket.io.js.map",
    "socket.io.min.js",
    "socket.io.min.js.map",
    "socket.io.esm.min.js",
    "socket.io.esm.min.js.map",
    "socket.io.msgpack.min.js",
    "socket.io.msgpack.min.js.map",
];

/// The client files, in memory.
#[derive(Debug)]
pub(crate) struct ClientFiles {
    /// Path prefix with its trailing slash, e.g. `/socket.io/`.
    prefix: String,
    files: HashMap<&'static str, Bytes>,
    etag: HeaderValue,
}

impl ClientFiles {
    /// Reads the bundles of `dist` (at least `socket.io.min.js` must be there).
    pub(crate) fn load(dist: &Path, path: &str) -> std::io::Result<Self> {
        let mut files = HashMap::new();
        for name in FILES {
            if let Ok(data) = std::fs::read(dist.join(name)) {
                files.insert(name, Bytes::from(data));
            }
        }
        if !files.contains_key("socket.io.min.js") {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no socket.io.min.js in {}", dist.display()),
            ));
        }
        // Node's ETag is the client's version, from the package the bundles come from.
        let version = std::fs::read(dist.join("../package.json"))
            .ok()
            .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok())
            .and_then(|p| p.get("version").and_then(|v| v.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "unknown".to_owned());
        let etag = HeaderValue::from_str(&format!("\"{version}\""))
            .unwrap_or(HeaderValue::from_static("\"unknown\""));
        let prefix = format!("{}/", path.trim_end_matches('/'));
        Ok(ClientFiles {
            prefix,
            files,
            etag,
        })
    }

    fn respond<B>(&self, req: &Request<B>) -> Option<Response<Full<Bytes>>> {
        let name = req.uri().path().strip_prefix(self.prefix.as_str())?;
        let (name, data) = self.files.get_key_value(name)?;
        let mut res = if req
            .headers()
            .get(header::IF_NONE_MATCH)
            .is_some_and(|tag| tag == self.etag)
        {
            let mut res = Response::new(Full::new(Bytes::new()));
            *res.status_mut() = StatusCode::NOT_MODIFIED;
            res
        } else {
            Response::new(Full::new(data.clone()))
        };
        let content_type = if name.ends_with(".map") {
            "application/json; charset=utf-8"
        } else {
            "application/javascript; charset=utf-8"
        };
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=0"),
        );
        h.insert(header::ETAG, self.etag.clone());
        Some(res)
    }
}

/// The Socket.IO server as a tower service: the client files when configured, then
/// Engine.IO, then the inner service `S` for every other request.
pub struct SocketIoService<S = NotFound> {
    files: Option<Arc<ClientFiles>>,
    inner: EngineIoService<ClientState, S>,
}

impl<S: Clone> Clone for SocketIoService<S> {
    fn clone(&self) -> Self {
        SocketIoService {
            files: self.files.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<S: std::fmt::Debug> std::fmt::Debug for SocketIoService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIoService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SocketIoService<S>
where
    EngineIoService<ClientState, S>:
        Service<Request<ReqBody>, Response = Response<ResponseBody<ResBody>>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = <EngineIoService<ClientState, S> as Service<Request<ReqBody>>>::Error;
    type Future = Either<
        std::future::Ready<Result<Self::Response, Self::Error>>,
        <EngineIoService<ClientState, S> as Service<Request<ReqBody>>>::Future,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if let Some(res) = self.files.as_ref().and_then(|f| f.respond(&req)) {
            return Either::Left(std::future::ready(
                Ok(res.map(http_body_util::Either::Left)),
            ));
        }
        Either::Right(self.inner.call(req))
    }
}

/// A tower layer putting the Socket.IO server in front of a service.
#[derive(Clone)]
pub struct SocketIoLayer {
    pub(crate) files: Option<Arc<ClientFiles>>,
    pub(crate) engine: engineio::EngineIoLayer<ClientState>,
}

impl std::fmt::Debug for SocketIoLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIoLayer").finish_non_exhaustive()
    }
}

impl<S> Layer<S> for SocketIoLayer {
    type Service = SocketIoService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SocketIoService {
            files: self.files.clone(),
            inner: self.engine.layer(inner),
        }
    }
}
