//! The CLI client against the chat demo's server: it joins, prints what the room says, sends
//! the lines typed on its stdin, moves to another room, and quits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use socketio::client::{ManagerOptions, io};
use socketio::server::SocketIo;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpListener;
use tokio::process::{ChildStdout, Command};
use tokio::sync::mpsc;

/// Turns a hang into a failure; never a timed assertion.
const WATCHDOG: Duration = Duration::from_secs(30);

/// Reads the CLI's output until a line equal to `want`.
async fn expect_line(out: &mut Lines<BufReader<ChildStdout>>, want: &str) {
    let mut seen = Vec::new();
    loop {
        let line = tokio::time::timeout(WATCHDOG, out.next_line())
            .await
            .unwrap_or_else(|_| panic!("no {want:?} within the watchdog; got {seen:#?}"))
            .unwrap()
            .unwrap_or_else(|| panic!("the CLI exited before {want:?}; got {seen:#?}"));
        if line == want {
            return;
        }
        seen.push(line);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_joins_the_chat_prints_messages_and_sends_typed_lines() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let io_server = SocketIo::builder().build();
    chat::setup(&io_server);
    let serving = io_server.clone();
    tokio::spawn(async move { serving.serve(listener).await });

    let mut cli = Command::new(env!("CARGO_BIN_EXE_cli-client"))
        .args([url.as_str(), "tester"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = cli.stdin.take().unwrap();
    let mut out = BufReader::new(cli.stdout.take().unwrap()).lines();
    expect_line(&mut out, "* in #general as tester with tester").await;

    // Someone else in the room, with this crate's client.
    let (tx, mut heard) = mpsc::unbounded_channel();
    let ann = io(&url, ManagerOptions::default().force_new(true))
        .unwrap()
        .on("chat message", move |_, event| {
            let _ = tx.send(event.arg::<serde_json::Value>(0).unwrap());
        })
        .build();
    let entered = tokio::time::timeout(WATCHDOG, ann.emit_with_ack("join", &("ann",)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        entered.arg::<serde_json::Value>(0).unwrap()["members"],
        json!(["tester", "ann"])
    );
    expect_line(&mut out, "* ann joined #general (2 here)").await;

    ann.emit("chat message", &("hello tester",)).unwrap();
    expect_line(&mut out, "[general] ann: hello tester").await;

    stdin.write_all(b"hi ann\n").await.unwrap();
    let mut got = Vec::new();
    while !got
        .iter()
        .any(|m: &serde_json::Value| m["text"] == "hi ann")
    {
        got.push(
            tokio::time::timeout(WATCHDOG, heard.recv())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let message = got.last().unwrap();
    assert_eq!(
        (&message["name"], &message["room"]),
        (&json!("tester"), &json!("general"))
    );
    expect_line(&mut out, "[general] tester: hi ann").await;

    stdin.write_all(b"/room lounge\n").await.unwrap();
    expect_line(&mut out, "* in #lounge with tester").await;
    stdin.write_all(b"/quit\n").await.unwrap();
    let status = tokio::time::timeout(WATCHDOG, cli.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    ann.disconnect();
}
