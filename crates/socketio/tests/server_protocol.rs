//! The Socket.IO server over a raw WebSocket: exact packets of PROTOCOL-FACTS §3.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::*;
use socketio::server::SocketIo;

#[tokio::test]
async fn the_connect_reply_carries_only_a_fresh_socket_id() {
    let server = TestServer::contract(SocketIo::builder()).await;
    let mut raw = server.raw().await;
    raw.send("40").await;
    let reply = raw.recv().await.unwrap();
    let json: serde_json::Value = serde_json::from_str(reply.strip_prefix("40").unwrap()).unwrap();
    assert_eq!(json.as_object().unwrap().len(), 1, "{reply}");
    assert_eq!(json["sid"].as_str().unwrap().len(), 20);
    // The welcome emitted by the connection listener comes after the reply.
    let welcome = raw.recv().await.unwrap();
    assert!(welcome.starts_with(r#"42["welcome",{"#), "{welcome}");
}

#[tokio::test]
async fn a_namespace_without_a_trailing_comma_is_accepted() {
    let server = TestServer::contract(SocketIo::builder()).await;
    let mut raw = server.raw().await;
    raw.send("40/custom").await;
    let reply = raw.recv().await.unwrap();
    assert!(reply.starts_with(r#"40/custom,{"sid":""#), "{reply}");
}

#[tokio::test]
async fn an_unknown_namespace_gets_invalid_namespace_and_the_connection_stays() {
    let server = TestServer::contract(SocketIo::builder()).await;
    let mut raw = server.raw().await;
    raw.send("40/nope,").await;
    assert_eq!(
        raw.recv().await.unwrap(),
        r#"44/nope,{"message":"Invalid namespace"}"#
    );
    raw.connect("/", None).await;
}

#[tokio::test]
async fn a_middleware_refusal_sends_its_message_and_data() {
    let server = TestServer::contract(SocketIo::builder()).await;
    let mut raw = server.raw().await;
    raw.send(r#"40/private,{"token":"wrong"}"#).await;
    assert_eq!(
        raw.recv().await.unwrap(),
        r#"44/private,{"message":"not authorized","data":{"reason":"bad token"}}"#
    );
    raw.connect("/private", Some(r#"{"token":"secret"}"#)).await;
}

#[tokio::test]
async fn events_and_acks_in_both_directions() {
    let server = TestServer::contract(SocketIo::builder()).await;
    let mut raw = server.raw().await;
    raw.connect("/", None).await;
    raw.expect_prefix(r#"42["welcome""#).await;
    raw.send(r#"42["echo",1,"two",{"three":[3]}]"#).await;
    assert_eq!(
        raw.recv().await.unwrap(),
        r#"42["echo",1,"two",{"three":[3]}]"#
    );
    raw.send(r#"4217["echo","acked"]"#).await;
    assert_eq!(raw.recv().await.unwrap(), r#"4317["acked"]"#);
    // Server to client: the ack id comes from the namespace's counter.
    raw.send(r#"42["request-ack","x"]"#).await;
    let request = raw.recv().await.unwrap();
    let rest = request.strip_prefix("42").unwrap();
    let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
    assert_eq!(&rest[id.len()..], r#"["need-ack","x"]"#);
    raw.send(&format!(r#"43{id}["back"]"#)).await;
    assert_eq!(
        raw.recv().await.unwrap(),
        r#"42["ack-result",{"err":null,"reply":["back"]}]"#
    );
}

#[tokio::test]
async fn ack_ids_are_shared_by_the_sockets_of_a_namespace() {
    let server = TestServer::contract(SocketIo::builder()).await;
    let mut a = server.raw().await;
    let mut b = server.raw().await;
    a.connect("/", None).await;
    b.connect("/", None).await;
    a.expect_prefix(r#"42["welcome""#).await;
    b.expect_prefix(r#"42["welcome""#).await;
    let mut ids = Vec::new();
    for turn in [0, 1, 0] {
        let raw = if turn == 0 { &mut a } else { &mut b };
        raw.send(r#"42["request-ack"]"#).await;
        let req = raw.expect_prefix(r#"42"#).await;
        let id: u64 = req[2..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap();
        ids.push(id);
        raw.send(&format!("43{id}[]")).await;
        raw.expect_prefix(r#"42["ack-result""#).await;
    }
    assert_eq!(ids, vec![0, 1, 2]);
}

#[tokio::test]
async fn binary_attachments_both_ways() {
    let server = TestServer::contract(SocketIo::builder()).await;
    let mut raw = server.raw().await;
    raw.connect("/", None).await;
    raw.expect_prefix(r#"42["welcome""#).await;
    raw.send(r#"452-["echo",{"_placeholder":true,"num":0},{"n":{"_placeholder":true,"num":1}}]"#)
        .await;
    raw.send_binary(&[1, 2, 3]).await;
    raw.send_binary(&[4]).await;
    assert_eq!(
        raw.recv().await.unwrap(),
        r#"452-["echo",{"_placeholder":true,"num":0},{"n":{"_placeholder":true,"num":1}}]"#
    );
    let Some(Frame::Binary(a)) = raw.next().await else {
        panic!()
    };
    let Some(Frame::Binary(b)) = raw.next().await else {
        panic!()
    };
    assert_eq!((a, b), (vec![1, 2, 3], vec![4]));
}

#[tokio::test]
async fn error_is_an_ordinary_event() {
    let server = TestServer::contract(SocketIo::builder()).await;
    let mut raw = server.raw().await;
    raw.connect("/", None).await;
    raw.send(r#"42["error","x"]"#).await;
    raw.expect_prefix(r#"42["got-error-event","x"]"#).await;
}

#[tokio::test]
async fn bad_packets_close_the_whole_connection() {
    let server = TestServer::contract(SocketIo::builder()).await;
    for bad in [
        r#"42[{"toString":"foo"}]"#,
        r#"42["disconnect"]"#,
        r#"42[]"#,
        r#"42{"not":"an array"}"#,
        r#"4511-["echo"]"#,
        r#"451-["hello",{"_placeholder":true,"num":"splice"}]"#,
        r#"42/custom,["not connected there"]"#,
        "40",
        "44{}",
        "49",
        "4299999999999999999999999[\"echo\"]",
        r#"40"not an object""#,
        r#"41/custom,"#,
        "4",
        "4x",
        r#"42["echo""#,
    ] {
        let mut raw = server.raw().await;
        raw.connect("/", None).await;
        raw.send(bad).await;
        assert!(raw.closed().await, "{bad}");
    }
    // The server still serves.
    let mut raw = server.raw().await;
    raw.connect("/", None).await;
}

#[tokio::test]
async fn ten_attachments_are_accepted() {
    let server = TestServer::contract(SocketIo::builder()).await;
    let mut raw = server.raw().await;
    raw.connect("/", None).await;
    raw.expect_prefix(r#"42["welcome""#).await;
    let placeholders: Vec<String> = (0..10)
        .map(|i| format!(r#"{{"_placeholder":true,"num":{i}}}"#))
        .collect();
    raw.send(&format!(r#"4510-["echo",{}]"#, placeholders.join(",")))
        .await;
    for i in 0..10u8 {
        raw.send_binary(&[i]).await;
    }
    raw.expect_prefix("4510-").await;
}

#[tokio::test]
async fn a_client_disconnect_keeps_the_engine_connection() {
    let server = TestServer::contract(SocketIo::builder()).await;
    let mut raw = server.raw().await;
    raw.connect("/custom", None).await;
    raw.send("41/custom,").await;
    // Connect again on the same Engine.IO connection; the reason was recorded.
    raw.connect("/", None).await;
    raw.expect_prefix(r#"42["welcome""#).await;
    raw.send(r#"421["reasons"]"#).await;
    let reasons = raw.expect_prefix("431").await;
    assert!(
        reasons.contains(r#"{"nsp":"/custom","reason":"client namespace disconnect"}"#),
        "{reasons}"
    );
}

#[tokio::test]
async fn a_server_disconnect_sends_a_disconnect_packet() {
    let server = TestServer::contract(SocketIo::builder()).await;
    let mut raw = server.raw().await;
    raw.connect("/custom", None).await;
    raw.send(r#"42/custom,["disconnect-me"]"#).await;
    raw.expect_prefix("41/custom,").await;
    // The connection is still usable.
    raw.connect("/", None).await;
}

#[tokio::test]
async fn disconnect_with_close_ends_the_connection() {
    let server = TestServer::contract(SocketIo::builder()).await;
    let mut raw = server.raw().await;
    raw.connect("/", None).await;
    raw.connect("/custom", None).await;
    raw.send(r#"42["close-me"]"#).await;
    raw.expect_prefix("41").await;
    assert!(raw.closed().await);
}

#[tokio::test]
async fn a_connection_that_joins_no_namespace_is_closed() {
    let server =
        TestServer::contract(SocketIo::builder().connect_timeout(Duration::from_millis(50))).await;
    let mut raw = server.raw().await;
    assert!(raw.closed().await);
}

#[tokio::test]
async fn dynamic_namespaces_are_created_on_demand() {
    let server = TestServer::contract(SocketIo::builder()).await;
    let mut raw = server.raw().await;
    raw.connect("/dyn-42", None).await;
    let welcome = raw.expect_prefix(r#"42/dyn-42,["welcome""#).await;
    assert!(welcome.contains(r#""nsp":"/dyn-42""#), "{welcome}");
    raw.send("40/dyn-x,").await;
    assert_eq!(
        raw.recv().await.unwrap(),
        r#"44/dyn-x,{"message":"Invalid namespace"}"#
    );
}

#[tokio::test]
async fn rooms_and_broadcasts() {
    let server = TestServer::contract(SocketIo::builder()).await;
    let mut a = server.raw().await;
    let mut b = server.raw().await;
    let mut c = server.raw().await;
    let a_id = a.connect("/", None).await;
    let b_id = b.connect("/", None).await;
    c.connect("/", None).await;
    a.send(r#"421["join","r1"]"#).await;
    let joined = a.expect_prefix("431").await;
    assert_eq!(
        joined,
        format!(r#"431[["{a_id}","r1"]]"#).replace(&format!(r#"["{a_id}","r1"]"#), &{
            let mut r = vec![a_id.clone(), "r1".to_owned()];
            r.sort();
            serde_json::to_string(&r).unwrap()
        })
    );
    b.send(r#"421["join",["r1","r2"]]"#).await;
    b.expect_prefix("431").await;
    a.send(r#"42["to-room","r1","hi"]"#).await;
    a.expect_prefix(r#"42["room-msg","hi"]"#).await;
    b.expect_prefix(r#"42["room-msg","hi"]"#).await;
    a.send(r#"42["room-broadcast","r1","only-b"]"#).await;
    b.expect_prefix(r#"42["room-broadcast-msg","only-b"]"#)
        .await;
    a.send(r#"42["broadcast","all-but-a"]"#).await;
    b.expect_prefix(r#"42["broadcast-msg","all-but-a"]"#).await;
    // C saw neither room message: its next event is the broadcast.
    let next = c.expect_prefix(r#"42["broadcast-msg""#).await;
    assert_eq!(next, r#"42["broadcast-msg","all-but-a"]"#);
    a.send(r#"421["sockets-in","r1"]"#).await;
    let mut ids = vec![a_id.clone(), b_id.clone()];
    ids.sort();
    assert_eq!(
        a.expect_prefix("431").await,
        format!("431[{}]", serde_json::to_string(&ids).unwrap())
    );
}

#[tokio::test]
async fn disconnecting_listeners_still_see_the_rooms() {
    let server = TestServer::contract(SocketIo::builder()).await;
    let mut a = server.raw().await;
    let id = a.connect("/custom", None).await;
    a.send(r#"42/custom,["join","club"]"#).await;
    a.send("41/custom,").await;
    a.connect("/", None).await;
    a.send(r#"421["disconnecting-log"]"#).await;
    let log = a.expect_prefix("431").await;
    let mut rooms = vec![id, "club".to_owned()];
    rooms.sort();
    assert!(
        log.contains(&format!(
            r#""roomsDuringDisconnecting":{}"#,
            serde_json::to_string(&rooms).unwrap()
        )),
        "{log}"
    );
}

#[tokio::test]
async fn attachment_framing_violations_close_the_connection() {
    let server = TestServer::contract(SocketIo::builder()).await;
    // A binary message when no attachment is expected.
    let mut raw = server.raw().await;
    raw.connect("/", None).await;
    raw.send_binary(&[1, 2, 3]).await;
    assert!(raw.closed().await);
    // A text message while attachments are still expected.
    let mut raw = server.raw().await;
    raw.connect("/", None).await;
    raw.send(r#"451-["echo",{"_placeholder":true,"num":0}]"#)
        .await;
    raw.send(r#"42["echo","too early"]"#).await;
    assert!(raw.closed().await);
    // A placeholder pointing past the attachments.
    let mut raw = server.raw().await;
    raw.connect("/", None).await;
    raw.send(r#"451-["echo",{"_placeholder":true,"num":1}]"#)
        .await;
    assert!(raw.closed().await);
}

#[tokio::test]
async fn unknown_ack_ids_from_the_client_are_ignored() {
    let server = TestServer::contract(SocketIo::builder()).await;
    let mut raw = server.raw().await;
    raw.connect("/", None).await;
    raw.expect_prefix(r#"42["welcome""#).await;
    raw.send(r#"43999["nobody asked"]"#).await;
    raw.send(r#"42["echo","still here"]"#).await;
    assert_eq!(raw.recv().await.unwrap(), r#"42["echo","still here"]"#);
}
