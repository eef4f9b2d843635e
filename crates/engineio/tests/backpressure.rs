//! Backpressure: a producer learns when a session's queue passes the high-water mark and
//! hears when it drains.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use engineio::{Config, EngineIo, Handler, Message, Pressure, Socket};
use tokio::sync::mpsc;

/// Echoes and reports the pressure of each echo, and every drain.
struct Pressured(mpsc::UnboundedSender<&'static str>);

impl Handler for Pressured {
    type Data = ();

    fn on_message(&self, socket: &Arc<Socket<()>>, message: Message) {
        let report = match socket.send(message) {
            Ok(Pressure::Normal) => "normal",
            Ok(Pressure::OverHighWater) => "over",
            Err(_) => "closed",
        };
        let _ = self.0.send(report);
    }

    fn on_drain(&self, _: &Arc<Socket<()>>) {
        let _ = self.0.send("drain");
    }
}

#[tokio::test]
async fn pressure_is_reported_over_the_high_water_mark_and_the_drain_after() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let config = Config::builder().high_water_mark(1000).build();
    let engine = EngineIo::new(config, Pressured(tx));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = engine.clone();
    tokio::spawn(async move { serving.serve(listener).await });

    let open = http(addr, "GET", "/engine.io/?EIO=4&transport=polling", &[], b"").await;
    let sid = open.text()[9..29].to_owned();
    let path = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let message = format!("4{}", "m".repeat(600));
    let body = [message.as_str(); 3].join("\x1e");
    assert_eq!(
        http(addr, "POST", &path, &[], body.as_bytes()).await.status,
        200
    );
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(rx.recv().await.unwrap());
    }
    assert_eq!(seen, ["normal", "over", "over"]);

    // A producer waiting for the drain is released once a GET takes the queue.
    let socket = engine.session(engineio::Sid::parse(&sid).unwrap()).unwrap();
    assert!(socket.is_over_high_water());
    let waiter = tokio::spawn(async move { socket.drained().await });
    let res = http(addr, "GET", &path, &[], b"").await;
    assert_eq!(res.body.len(), 3 * 601 + 2);
    assert_eq!(rx.recv().await.unwrap(), "drain");
    tokio::time::timeout(Duration::from_secs(20), waiter)
        .await
        .unwrap()
        .unwrap();
}
