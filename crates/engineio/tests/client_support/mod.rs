//! Test support for the client: waiting for events with a watchdog, echo round trips, and
//! the message set every transport must carry unchanged.
#![allow(dead_code, unreachable_pub, missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use bytes::Bytes;
use engineio::TransportKind;
use engineio::client::{Client, ClientOptions, CloseReason, ConnectError, Event, Events, Message};

/// Turns a hang into a failure; never a timed assertion.
pub const WATCHDOG: Duration = Duration::from_secs(20);

pub fn only(transport: TransportKind) -> ClientOptions {
    ClientOptions::default().transports([transport])
}

pub async fn connect(url: &str, options: ClientOptions) -> (Client, Events) {
    try_connect(url, options).await.expect("connect failed")
}

pub async fn try_connect(
    url: &str,
    options: ClientOptions,
) -> Result<(Client, Events), ConnectError> {
    tokio::time::timeout(WATCHDOG, Client::connect(url, options))
        .await
        .expect("connect hung")
}

/// The next event (the stream must not end before it).
pub async fn next_event(events: &mut Events) -> Event {
    tokio::time::timeout(WATCHDOG, events.recv())
        .await
        .expect("no event within the watchdog")
        .expect("the event stream ended")
}

/// The next message, skipping the upgrade event; panics on a close.
pub async fn next_message(events: &mut Events) -> Message {
    loop {
        match next_event(events).await {
            Event::Message(m) => return m,
            Event::Upgrade(_) => continue,
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

/// Waits for the close event, skipping messages and upgrades, then for the end of the
/// stream (the session's task is gone).
pub async fn close_reason(events: &mut Events) -> CloseReason {
    let reason = loop {
        match next_event(events).await {
            Event::Close(reason) => break reason,
            _ => continue,
        }
    };
    let end = tokio::time::timeout(WATCHDOG, events.recv())
        .await
        .expect("the session's task did not end");
    assert_eq!(end, None, "an event after close");
    reason
}

/// Text, non-ASCII text, small and large binary, a large text: what every transport must
/// carry unchanged, text as text and binary as binary.
pub fn sample_messages() -> Vec<Message> {
    vec![
        Message::from("hello"),
        Message::from("héllo €🙂"),
        Message::from(vec![1u8, 2, 3]),
        Message::from("x".repeat(100 * 1024)),
        Message::from(Bytes::from((0..=255u8).collect::<Vec<u8>>())),
        Message::from(""),
        Message::from(Vec::<u8>::new()),
    ]
}

/// Sends every message, then expects each back, in order, from an echo server.
pub async fn echo_all(client: &Client, events: &mut Events, messages: &[Message]) {
    for m in messages {
        client.send(m.clone()).unwrap();
    }
    for (i, m) in messages.iter().enumerate() {
        assert_eq!(&next_message(events).await, m, "message {i}");
    }
}

/// `n` numbered texts, for order checks.
pub fn numbered(n: usize) -> Vec<Message> {
    (0..n).map(|i| Message::from(format!("m{i}"))).collect()
}
