//! The server handle and the request router: which request goes to which transport, and the
//! checks Node makes first, in Node's order (transport, origin, session id, then for
//! handshakes: method, WebSocket upgrade, `allow_request`, protocol version).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::Body;
use tokio::net::{TcpListener, ToSocketAddrs};

use crate::config::{Config, TransportKind};
use crate::engine::{Engine, Handler};
use crate::errors::RequestError;
use crate::handshake;
use crate::request::RequestInfo;
use crate::sid::Sid;
use crate::socket::Socket;
use crate::transport::{polling, websocket};

/// An Engine.IO server. Cheap to clone; every clone is the same server.
///
/// ```no_run
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
/// # async fn run() -> std::io::Result<()> {
/// EngineIo::new(Config::default(), Echo).listen("127.0.0.1:3000").await
/// # }
/// ```
pub struct EngineIo<D> {
    pub(crate) engine: Arc<Engine<D>>,
}

impl<D> Clone for EngineIo<D> {
    fn clone(&self) -> Self {
        EngineIo {
            engine: Arc::clone(&self.engine),
        }
    }
}

impl<D> std::fmt::Debug for EngineIo<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineIo")
            .field("path", &self.engine.prefix)
            .finish_non_exhaustive()
    }
}

impl<D: Default + Send + Sync + 'static> EngineIo<D> {
    /// A server with these options whose sessions are handled by `handler`.
    pub fn new<H: Handler<Data = D>>(config: Config, handler: H) -> Self {
        EngineIo {
            engine: Arc::new(Engine::new(config, Box::new(handler))),
        }
    }

    /// The options.
    pub fn config(&self) -> &Config {
        &self.engine.config
    }

    /// How many sessions are open.
    pub fn session_count(&self) -> usize {
        self.engine.count()
    }

    /// An open session.
    pub fn session(&self, id: Sid) -> Option<Arc<Socket<D>>> {
        self.engine.get(id)
    }

    /// Stops accepting handshakes and closes every session with
    /// [`CloseReason::ForcedServerClose`](crate::CloseReason::ForcedServerClose). A running
    /// [`serve`](Self::serve) returns.
    pub fn close(&self) {
        self.engine.close();
    }

    /// Binds `addr` and serves until [`close`](Self::close) is called. Requests outside the
    /// path get 404.
    pub async fn listen(&self, addr: impl ToSocketAddrs) -> std::io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        self.serve(listener).await
    }

    /// Serves connections accepted by `listener` until [`close`](Self::close) is called.
    pub async fn serve(&self, listener: TcpListener) -> std::io::Result<()> {
        crate::listen::serve(self.clone(), listener, self.service()).await
    }

    /// Serves connections of `listener` with `service` (which should contain this server, for
    /// example through [`layer`](Self::layer)) until [`close`](Self::close) is called. The
    /// standalone server of a layer above Engine.IO uses this to put its own routes first.
    pub async fn serve_with<S, B>(&self, listener: TcpListener, service: S) -> std::io::Result<()>
    where
        S: tower_service::Service<Request<hyper::body::Incoming>, Response = Response<B>>
            + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        crate::listen::serve(self.clone(), listener, service).await
    }

    /// Whether a request belongs to an open (or once open) session: under the server's path,
    /// with a `sid` in its query.
    pub(crate) fn is_session_request(&self, uri: &http::Uri) -> bool {
        uri.path().starts_with(self.engine.prefix.as_str())
            && EioQuery::parse(uri.query().unwrap_or("")).sid.is_some()
    }

    /// Handles one HTTP request whose path is under the server's path.
    ///
    /// Every request of a session passes here, so the future is kept small: the router
    /// decides synchronously, and only a polling request that waits (or a handshake with an
    /// [`allow_request`](crate::ConfigBuilder::allow_request) hook, boxed) is awaited. A large
    /// future would be copied into its box for every request and allocated past the
    /// allocator's fast sizes.
    pub(crate) fn handle<B>(
        &self,
        req: Request<B>,
    ) -> impl Future<Output = Response<Bytes>> + Send + 'static
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let cors = self.engine.config.cors.as_ref();
        let preflight = match cors {
            Some(cors) if req.method() == Method::OPTIONS => {
                let mut res = polling::empty(StatusCode::NO_CONTENT);
                cors.apply_preflight(req.headers(), res.headers_mut());
                Some(res)
            }
            _ => None,
        };
        // A preflight is answered with the preflight headers alone.
        let request_headers = cors
            .filter(|_| preflight.is_none())
            .map(|_| req.headers().clone());
        let upgrade = req.headers().contains_key(header::UPGRADE);
        let routed = match preflight {
            Some(res) => Routed::Done(Ok(res)),
            None => self.route(req),
        };
        let server = self.clone();
        async move {
            let routed = match routed {
                Routed::Done(routed) => routed,
                Routed::Get(socket, headers) => Ok(polling::get(socket, &headers).await),
                Routed::Post(socket, headers, body) => {
                    Ok(polling::post(socket, &headers, body).await)
                }
                Routed::Later(handshake) => handshake.await,
            };
            let mut res = routed.unwrap_or_else(|e| e.response_to(upgrade));
            if let (Some(cors), Some(request_headers)) =
                (&server.engine.config.cors, &request_headers)
            {
                cors.apply(request_headers, res.headers_mut());
            }
            res
        }
    }

    fn route<B>(&self, mut req: Request<B>) -> Routed<D, B>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let config = &self.engine.config;
        let query = EioQuery::parse(req.uri().query().unwrap_or(""));
        let Some(transport) = query
            .transport
            .and_then(TransportKind::parse)
            .filter(|t| config.accepts(*t))
        else {
            return Routed::Done(Err(RequestError::UnknownTransport));
        };
        if let Some(origin) = req.headers().get(header::ORIGIN) {
            let valid = origin
                .as_bytes()
                .iter()
                .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80);
            if !valid {
                return Routed::Done(Err(RequestError::BadRequest));
            }
        }
        let wants_websocket =
            transport == TransportKind::WebSocket && websocket::is_upgrade_request(req.headers());

        if let Some(sid) = query.sid {
            return match Sid::parse(sid).and_then(|sid| self.engine.get(sid)) {
                Some(socket) => self.route_session(socket, transport, wants_websocket, req),
                None => Routed::Done(Err(RequestError::UnknownSid)),
            };
        }

        // A handshake.
        if req.method() != Method::GET {
            return Routed::Done(Err(RequestError::BadHandshakeMethod));
        }
        if transport == TransportKind::WebSocket && !wants_websocket {
            return Routed::Done(Err(RequestError::BadRequest));
        }
        if self.engine.is_closed() {
            return Routed::Done(Err(RequestError::Forbidden("Server is closing".to_owned())));
        }
        let request = Arc::new(RequestInfo::from_request(&req));
        let supported_version = query.eio == Some("4");
        let supports_binary = !query.b64;
        let Some(allow) = &config.allow_request else {
            return Routed::Done(self.open(
                &mut req,
                request,
                transport,
                supported_version,
                supports_binary,
            ));
        };
        let allowed = allow(Arc::clone(&request));
        let server = self.clone();
        Routed::Later(Box::pin(async move {
            allowed.await.map_err(RequestError::Forbidden)?;
            server.open(
                &mut req,
                request,
                transport,
                supported_version,
                supports_binary,
            )
        }))
    }

    /// Opens a session for a handshake that passed every check but the protocol version.
    fn open<B>(
        &self,
        req: &mut Request<B>,
        request: Arc<RequestInfo>,
        transport: TransportKind,
        supported_version: bool,
        supports_binary: bool,
    ) -> Result<Response<Bytes>, RequestError> {
        if !supported_version {
            return Err(RequestError::UnsupportedProtocolVersion);
        }
        let socket = handshake::open(&self.engine, request, transport, supports_binary)
            .map_err(|_| RequestError::BadRequest)?;
        let mut res = match transport {
            TransportKind::Polling => polling::handshake_response(&socket, req.headers()),
            TransportKind::WebSocket => {
                let res = websocket::switching_protocols(req.headers());
                websocket::spawn_session(Arc::clone(&socket), hyper::upgrade::on(req));
                res
            }
        };
        let cookie = self
            .engine
            .config
            .cookie
            .as_ref()
            .and_then(|c| HeaderValue::from_str(&c.header_value(socket.id().as_str())).ok());
        if let Some(v) = cookie {
            res.headers_mut().insert(header::SET_COOKIE, v);
        }
        Ok(res)
    }

    fn route_session<B>(
        &self,
        socket: Arc<Socket<D>>,
        transport: TransportKind,
        wants_websocket: bool,
        mut req: Request<B>,
    ) -> Routed<D, B>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if wants_websocket {
            let mut st = socket.lock();
            if st.transport == TransportKind::WebSocket || st.websocket_attached {
                // A second WebSocket for the session: accepted and closed at once, as Node does.
                drop(st);
                let res = websocket::switching_protocols(req.headers());
                websocket::spawn_refusal(hyper::upgrade::on(&mut req));
                return Routed::Done(Ok(res));
            }
            if !self.engine.config.allow_upgrades {
                return Routed::Done(Err(RequestError::BadRequest));
            }
            st.websocket_attached = true;
            drop(st);
            let res = websocket::switching_protocols(req.headers());
            websocket::spawn_upgrade(socket, hyper::upgrade::on(&mut req));
            return Routed::Done(Ok(res));
        }
        if transport != socket.transport() || transport == TransportKind::WebSocket {
            return Routed::Done(Err(RequestError::BadRequest));
        }
        let (parts, body) = req.into_parts();
        match parts.method {
            Method::GET => Routed::Get(socket, parts.headers),
            Method::POST => Routed::Post(socket, parts.headers, body),
            _ => Routed::Done(Ok(polling::empty(StatusCode::INTERNAL_SERVER_ERROR))),
        }
    }
}

/// What the router decided for a request.
enum Routed<D, B> {
    /// Answered already.
    Done(Result<Response<Bytes>, RequestError>),
    /// A polling GET of this session, which may wait for packets.
    Get(Arc<Socket<D>>, HeaderMap),
    /// A polling POST of this session, whose body is still to be read.
    Post(Arc<Socket<D>>, HeaderMap, B),
    /// A handshake waiting for the `allow_request` hook.
    Later(Pin<Box<dyn Future<Output = Result<Response<Bytes>, RequestError>> + Send>>),
}

/// The query parameters the router reads. Nothing else from the query is looked at, and no
/// value is ever used as a key of anything (`transport=__proto__` is just unknown).
#[derive(Debug, Default)]
struct EioQuery<'a> {
    eio: Option<&'a str>,
    transport: Option<&'a str>,
    sid: Option<&'a str>,
    b64: bool,
}

impl<'a> EioQuery<'a> {
    /// Reads the pairs byte by byte: every request of a session passes here, and the
    /// separators are ASCII, so each piece starts and ends on a character boundary.
    fn parse(query: &'a str) -> Self {
        let mut q = EioQuery::default();
        let mut rest = query;
        loop {
            let (pair, next) = match rest.bytes().position(|b| b == b'&') {
                Some(amp) => (rest.get(..amp).unwrap_or_default(), rest.get(amp + 1..)),
                None => (rest, None),
            };
            let (key, value) = match pair.bytes().position(|b| b == b'=') {
                Some(eq) => (
                    pair.get(..eq).unwrap_or_default(),
                    pair.get(eq + 1..).unwrap_or_default(),
                ),
                None => (pair, ""),
            };
            match key {
                "EIO" if q.eio.is_none() => q.eio = Some(value),
                "transport" if q.transport.is_none() => q.transport = Some(value),
                "sid" if q.sid.is_none() => q.sid = Some(value),
                "b64" => q.b64 = true,
                _ => {}
            }
            match next {
                Some(next) => rest = next,
                None => return q,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EioQuery;
    use proptest::prelude::*;

    /// The reading by `str::split`, which the byte loop must give back exactly.
    fn by_split(query: &str) -> (Option<&str>, Option<&str>, Option<&str>, bool) {
        let (mut eio, mut transport, mut sid, mut b64) = (None, None, None, false);
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "EIO" if eio.is_none() => eio = Some(value),
                "transport" if transport.is_none() => transport = Some(value),
                "sid" if sid.is_none() => sid = Some(value),
                "b64" => b64 = true,
                _ => {}
            }
        }
        (eio, transport, sid, b64)
    }

    fn read(query: &str) -> (Option<&str>, Option<&str>, Option<&str>, bool) {
        let q = EioQuery::parse(query);
        (q.eio, q.transport, q.sid, q.b64)
    }

    #[test]
    fn a_session_request_query_is_read() {
        assert_eq!(
            read("EIO=4&transport=polling&t=P1&sid=abcdefghijklmnopqrst"),
            (
                Some("4"),
                Some("polling"),
                Some("abcdefghijklmnopqrst"),
                false
            )
        );
        assert_eq!(read(""), (None, None, None, false));
        assert_eq!(read("b64=1&EIO=3&EIO=4"), (Some("3"), None, None, true));
        assert_eq!(read("&&sid=&transport"), (None, Some(""), Some(""), false));
        assert_eq!(
            read("sid=a=b&é=ü&EIO=é"),
            (Some("é"), None, Some("a=b"), false)
        );
    }

    proptest! {
        #[test]
        fn the_byte_loop_reads_what_split_reads(
            pieces in proptest::collection::vec(
                prop_oneof![
                    Just("EIO"), Just("transport"), Just("sid"), Just("b64"), Just("="),
                    Just("&"), Just("4"), Just("polling"), Just("é"), Just("x"), Just("€="),
                ],
                0..24,
            )
        ) {
            let query = pieces.concat();
            prop_assert_eq!(read(&query), by_split(&query));
        }
    }
}
