//! Options (CORS, cookie, path, transports, upgrades, initial packet, allow_request), the
//! handshake request kept for the upper layer, mounting beside other routes, and shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;
use std::sync::Mutex;

use common::*;
use engineio::{
    CloseReason, Config, CookieOptions, Cors, EngineIo, Handler, Message, Origin, Socket,
};

#[tokio::test]
async fn cors_is_off_by_default() {
    let server = TestServer::default().await;
    let res = http(
        server.addr,
        "GET",
        &server.url("EIO=4&transport=polling"),
        &[("origin", "http://a.example")],
        b"",
    )
    .await;
    assert_eq!(res.status, 200);
    assert!(
        res.headers
            .iter()
            .all(|(k, _)| !k.to_ascii_lowercase().starts_with("access-control"))
    );
}

#[tokio::test]
async fn cors_any_origin_and_preflight() {
    let server = TestServer::start(Config::builder().cors(Cors::new(Origin::Any)).build()).await;
    let res = http(
        server.addr,
        "GET",
        &server.url("EIO=4&transport=polling"),
        &[("origin", "http://a.example")],
        b"",
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
    let pre = http(
        server.addr,
        "OPTIONS",
        &server.url("EIO=4&transport=polling"),
        &[
            ("origin", "http://a.example"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type,x-custom"),
        ],
        b"",
    )
    .await;
    assert_eq!(pre.status, 204);
    assert_eq!(pre.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        pre.header("access-control-allow-methods"),
        Some("GET,HEAD,PUT,PATCH,POST,DELETE")
    );
    assert_eq!(
        pre.header("access-control-allow-headers"),
        Some("content-type,x-custom")
    );
    // Error responses carry the headers too, so browsers can read them.
    let err = http(
        server.addr,
        "GET",
        &server.url("EIO=4&transport=nope"),
        &[("origin", "http://a.example")],
        b"",
    )
    .await;
    assert_eq!(err.status, 400);
    assert_eq!(err.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn cors_with_a_list_of_origins_and_credentials() {
    let cors = Cors::new(Origin::List(vec!["http://a.example".into()])).credentials(true);
    let server = TestServer::start(Config::builder().cors(cors).build()).await;
    let res = http(
        server.addr,
        "GET",
        &server.url("EIO=4&transport=polling"),
        &[("origin", "http://a.example")],
        b"",
    )
    .await;
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("http://a.example")
    );
    assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(res.header("vary"), Some("Origin"));
    let other = http(
        server.addr,
        "GET",
        &server.url("EIO=4&transport=polling"),
        &[("origin", "http://evil.example")],
        b"",
    )
    .await;
    assert_eq!(other.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn cors_with_a_predicate() {
    let cors = Cors::new(Origin::Predicate(Arc::new(|o: &str| {
        o.ends_with(".trusted.example")
    })));
    let server = TestServer::start(Config::builder().cors(cors).build()).await;
    let ok = http(
        server.addr,
        "GET",
        &server.url("EIO=4&transport=polling"),
        &[("origin", "http://app.trusted.example")],
        b"",
    )
    .await;
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("http://app.trusted.example")
    );
    let no = http(
        server.addr,
        "GET",
        &server.url("EIO=4&transport=polling"),
        &[("origin", "http://elsewhere.example")],
        b"",
    )
    .await;
    assert_eq!(no.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn the_cookie_is_set_on_the_handshake_only() {
    let server =
        TestServer::start(Config::builder().cookie(CookieOptions::default()).build()).await;
    let res = http(
        server.addr,
        "GET",
        &server.url("EIO=4&transport=polling"),
        &[],
        b"",
    )
    .await;
    let sid = &res.text()[9..29];
    assert_eq!(
        res.header("set-cookie").map(str::to_owned),
        Some(format!("io={sid}; Path=/; HttpOnly; SameSite=Lax"))
    );
    assert_eq!(server.post(sid, b"4x").await.header("set-cookie"), None);
    assert_eq!(server.get(sid).await.header("set-cookie"), None);
}

#[tokio::test]
async fn the_path_is_matched_as_a_prefix_with_a_trailing_slash() {
    let server = TestServer::start(Config::builder().path("/custom").build()).await;
    let res = http(
        server.addr,
        "GET",
        "/custom/?EIO=4&transport=polling",
        &[],
        b"",
    )
    .await;
    assert_eq!(res.status, 200);
    // Without the slash, or elsewhere: not ours (404 from the standalone server).
    assert_eq!(
        http(
            server.addr,
            "GET",
            "/custom?EIO=4&transport=polling",
            &[],
            b""
        )
        .await
        .status,
        404
    );
    assert_eq!(
        http(
            server.addr,
            "GET",
            "/engine.io/?EIO=4&transport=polling",
            &[],
            b""
        )
        .await
        .status,
        404
    );
    let exact = TestServer::start(
        Config::builder()
            .path("/custom")
            .add_trailing_slash(false)
            .build(),
    )
    .await;
    assert_eq!(
        http(
            exact.addr,
            "GET",
            "/custom?EIO=4&transport=polling",
            &[],
            b""
        )
        .await
        .status,
        200
    );
}

#[tokio::test]
async fn without_upgrades_the_open_packet_lists_none_and_upgrades_are_refused() {
    let server = TestServer::start(Config::builder().allow_upgrades(false).build()).await;
    let (sid, json) = server.handshake().await;
    assert_eq!(json["upgrades"], serde_json::json!([]));
    let ws_headers = [
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("sec-websocket-version", "13"),
    ];
    let res = http(
        server.addr,
        "GET",
        &server.url(&format!("EIO=4&transport=websocket&sid={sid}")),
        &ws_headers,
        b"",
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.text(), r#"{"code":3,"message":"Bad request"}"#);
}

#[tokio::test]
async fn the_initial_packet_follows_the_open_packet() {
    let server = TestServer::start(Config::builder().initial_packet("hello").build()).await;
    let res = http(
        server.addr,
        "GET",
        &server.url("EIO=4&transport=polling"),
        &[],
        b"",
    )
    .await;
    assert!(res.text().ends_with("}\x1e4hello"), "{}", res.text());
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    ws_open(&mut ws).await;
    assert_eq!(ws_text(&mut ws).await, "4hello");
}

/// Keeps the handshake request of each session.
struct KeepRequest(Arc<Mutex<Vec<Arc<engineio::RequestInfo>>>>);

impl Handler for KeepRequest {
    type Data = ();
    fn on_open(&self, socket: &Arc<Socket<()>>) {
        self.0.lock().unwrap().push(Arc::clone(socket.request()));
    }
    fn on_message(&self, _: &Arc<Socket<()>>, _: Message) {}
}

#[tokio::test]
async fn the_handshake_request_is_kept_for_the_upper_layer() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let engine = EngineIo::new(Config::default(), KeepRequest(Arc::clone(&seen)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = engine.clone();
    tokio::spawn(async move { serving.serve(listener).await });
    let res = http(
        addr,
        "GET",
        "/engine.io/?EIO=4&transport=polling&token=a%20b",
        &[("x-app", "demo")],
        b"",
    )
    .await;
    assert_eq!(res.status, 200);
    let req = Arc::clone(&seen.lock().unwrap()[0]);
    assert_eq!(req.headers()["x-app"], "demo");
    assert_eq!(req.query("token").as_deref(), Some("a b"));
    assert_eq!(req.query("EIO").as_deref(), Some("4"));
    assert_eq!(req.remote_addr.map(|a| a.ip()), Some(addr.ip()));
    assert_eq!(req.uri.path(), "/engine.io/");
}

#[tokio::test]
async fn close_ends_every_session_and_stops_serving() {
    let mut server = TestServer::default().await;
    let (a, _) = server.handshake().await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let (b, _) = ws_open(&mut ws).await;
    assert_eq!(server.engine.session_count(), 2);
    server.engine.close();
    let mut reasons = Vec::new();
    while reasons.len() < 2 {
        if let Event::Close(sid, r) = server.next_event().await {
            assert!(sid.as_str() == a || sid.as_str() == b);
            reasons.push(r);
        }
    }
    assert_eq!(reasons, vec![CloseReason::ForcedServerClose; 2]);
    assert!(ws_next(&mut ws).await.is_none());
    assert_eq!(server.engine.session_count(), 0);
    // The accept loop has returned.
    server.serve.await.unwrap().unwrap();
}

struct Echo;
impl Handler for Echo {
    type Data = ();
    fn on_message(&self, socket: &Arc<Socket<()>>, message: Message) {
        let _ = socket.send(message);
    }
}

#[tokio::test]
async fn mounts_in_axum_beside_other_routes() {
    let engine = EngineIo::new(Config::default(), Echo);
    let app = axum::Router::new()
        .route("/hello", axum::routing::get(|| async { "hello from axum" }))
        .layer(engine.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let res = http(addr, "GET", "/hello", &[], b"").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "hello from axum");
    // Polling and WebSocket both work through axum.
    let res = http(addr, "GET", "/engine.io/?EIO=4&transport=polling", &[], b"").await;
    assert_eq!(res.status, 200);
    let sid = res.text()[9..29].to_owned();
    let post = http(
        addr,
        "POST",
        &format!("/engine.io/?EIO=4&transport=polling&sid={sid}"),
        &[],
        b"4via-axum",
    )
    .await;
    assert_eq!(post.status, 200);
    let get = http(
        addr,
        "GET",
        &format!("/engine.io/?EIO=4&transport=polling&sid={sid}"),
        &[],
        b"",
    )
    .await;
    assert_eq!(get.text(), "4via-axum");
    let mut ws = ws_connect(addr, "/engine.io/?EIO=4&transport=websocket").await;
    ws_open(&mut ws).await;
    ws_send_text(&mut ws, "4ws-via-axum").await;
    assert_eq!(ws_text(&mut ws).await, "4ws-via-axum");
}

#[tokio::test]
async fn mounts_in_plain_hyper_in_front_of_another_service() {
    use hyper_util::rt::TokioIo;
    let engine = EngineIo::new(Config::default(), Echo);
    let inner = tower::service_fn(|_req: http::Request<hyper::body::Incoming>| async {
        Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
            bytes::Bytes::from_static(b"inner"),
        )))
    });
    let service = tower::Layer::layer(&engine.layer(), inner);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = hyper_util::service::TowerToHyperService::new(service.clone());
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades(),
            );
        }
    });
    assert_eq!(
        http(addr, "GET", "/elsewhere", &[], b"").await.text(),
        "inner"
    );
    assert_eq!(
        http(addr, "GET", "/engine.io/?EIO=4&transport=polling", &[], b"")
            .await
            .status,
        200
    );
    let mut ws = ws_connect(addr, "/engine.io/?EIO=4&transport=websocket").await;
    ws_open(&mut ws).await;
    ws_send_text(&mut ws, "4hyper").await;
    assert_eq!(ws_text(&mut ws).await, "4hyper");
}

/// The standalone server gives routes beside Engine.IO the peer's address, and the requests
/// of a session (which leave it out) are served as usual.
#[tokio::test]
async fn routes_beside_the_server_get_the_remote_address() {
    use tower_service::Service as _;
    let engine = EngineIo::new(Config::default(), Echo);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = tower::service_fn(|req: http::Request<hyper::body::Incoming>| async move {
        let seen = req
            .extensions()
            .get::<engineio::RemoteAddr>()
            .map(|a| a.0.ip().to_string())
            .unwrap_or_default();
        Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
            bytes::Bytes::from(seen),
        )))
    });
    let mut service = tower::Layer::layer(&engine.layer(), app);
    let _ = futures_util::future::poll_fn(|cx| service.poll_ready(cx)).await;
    let serving = engine.clone();
    tokio::spawn(async move { serving.serve_with(listener, service).await });

    let res = http(addr, "GET", "/app?sid=aaaaaaaaaaaaaaaaaaaa", &[], b"").await;
    assert_eq!(res.status, 200);
    assert_eq!(String::from_utf8_lossy(&res.body), addr.ip().to_string());

    let open = http(addr, "GET", "/engine.io/?EIO=4&transport=polling", &[], b"").await;
    let open: serde_json::Value =
        serde_json::from_slice(open.body.strip_prefix(b"0").unwrap()).unwrap();
    let sid = open["sid"].as_str().unwrap();
    let path = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let posted = http(addr, "POST", &path, &[], b"4hello").await;
    assert_eq!(posted.status, 200);
    let polled = http(addr, "GET", &path, &[], b"").await;
    assert_eq!(String::from_utf8_lossy(&polled.body), "4hello");
}
