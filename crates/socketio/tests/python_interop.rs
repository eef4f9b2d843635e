//! The PyPI `python-socketio` client (`AsyncClient`, versions pinned in
//! `interop/python/requirements.txt`) against this server: every scenario of
//! `interop/python/client.py` (checked against Node's socket.io 4.8.4 reference server, see
//! `interop/python/README.md`), over WebSocket, polling and the polling-to-WebSocket upgrade,
//! with the JSON parser and (feature `msgpack`) the msgpack serializer. Needs the virtualenv
//! `interop/python/.venv`, which `scripts/test` creates.

#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use socketio::server::SocketIo;

fn python_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/python")
}

fn builder(parser: &str) -> socketio::server::SocketIoBuilder {
    let b = SocketIo::builder()
        .ping_interval(Duration::from_millis(2_000))
        .ping_timeout(Duration::from_millis(5_000));
    match parser {
        #[cfg(feature = "msgpack")]
        "msgpack" => b.parser(socketio::MsgpackParser),
        _ => b,
    }
}

async fn run(scenario: &str, transport: &str, parser: &str) {
    let dir = python_dir();
    let python = dir.join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test, or create it by hand with \
         `python3 -m venv interop/python/.venv && \
         interop/python/.venv/bin/pip install -r interop/python/requirements.txt`",
        python.display()
    );
    let server = TestServer::contract(builder(parser)).await;
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(&python)
            .arg(dir.join("client.py"))
            .args(["--url", &format!("http://{}", server.addr)])
            .args([
                "--scenario",
                scenario,
                "--transport",
                transport,
                "--parser",
                parser,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the Python scenario runner hung")
    .expect("could not run the virtualenv's python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python-socketio {scenario} over {transport} with {parser} failed \
         ({})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    let result = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("no RESULT line:\n{stdout}"));
    let result: serde_json::Value = serde_json::from_str(result).unwrap();
    assert_eq!(result["ok"], serde_json::Value::Bool(true), "{result}");
}

async fn every_transport(scenario: &str, parser: &str) {
    for transport in ["websocket", "polling", "upgrade"] {
        run(scenario, transport, parser).await;
    }
}

macro_rules! scenarios {
    ($($name:ident => $scenario:literal),* $(,)?) => {
        mod json {
            $(
                #[tokio::test]
                async fn $name() {
                    super::every_transport($scenario, "json").await;
                }
            )*
        }
        #[cfg(feature = "msgpack")]
        mod msgpack {
            $(
                #[tokio::test]
                async fn $name() {
                    super::every_transport($scenario, "msgpack").await;
                }
            )*
        }
    };
}

scenarios! {
    connect_with_auth_and_query => "connect-auth",
    echo_of_every_kind_of_argument => "emit",
    acknowledgements_in_both_directions => "call",
    binary_arguments_and_binary_acks => "binary",
    static_dynamic_private_and_unknown_namespaces => "namespaces",
}
