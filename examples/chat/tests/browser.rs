#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! The chat as people use it: two pages in headless Chromium (Debian's, at /usr/bin/chromium),
//! driven by `interop/browser/chat.mjs` with playwright-core, join, talk, type, change rooms
//! and leave.
//!
//! Needs `apt-get install chromium` and `npm ci --prefix interop`; without them the test fails
//! and says so. The screenshot of the last page is left at
//! `$CARGO_TARGET_TMPDIR/chat-browser/ann.png` to look at.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";
const INTEROP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../interop");
/// The script's own watchdog: it fails cleanly, with what it was waiting for, past this.
const SCRIPT_TIMEOUT_MS: u64 = 120_000;
/// Ours, in case the script can't even do that. A hang guard, not a timing assertion.
const WATCHDOG: Duration = Duration::from_secs(180);

/// Fails with how to install whatever the browser test needs and isn't there.
fn require_tools() {
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).exists() {
        missing.push(format!(
            "Chromium is not at {CHROMIUM}: install Debian's with `apt-get install -y chromium`"
        ));
    }
    let interop = Path::new(INTEROP);
    let client = Path::new(chat::DEFAULT_CLIENT_DIST).join("socket.io.min.js");
    let playwright = interop.join("node_modules/playwright-core/package.json");
    for needed in [&client, &playwright] {
        if !needed.exists() {
            missing.push(format!(
                "{} is missing: install the pinned npm packages with `npm ci --prefix interop`",
                needed.display()
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "the browser test can't run:\n  {}",
        missing.join("\n  ")
    );
}

/// `target/screenshots/chat-<transport>.png` (Ann's page; `-bob.png` and `-typing.png`
/// beside it).
fn screenshot_path(transport: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("chat-{transport}.png"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_chat_in_chromium_over_websocket() {
    two_people_chat("websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_chat_in_chromium_over_polling() {
    two_people_chat("polling").await;
}

async fn two_people_chat(transport: &str) {
    require_tools();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(chat::run(listener, chat::DEFAULT_CLIENT_DIST));

    let screenshot = screenshot_path(transport);
    let _ = std::fs::remove_file(&screenshot);
    let script = Path::new(INTEROP).join("browser/chat.mjs");
    let child = Command::new("node")
        .arg(&script)
        .arg("--url")
        .arg(format!("http://{addr}/"))
        .arg("--screenshot")
        .arg(&screenshot)
        .arg("--transport")
        .arg(transport)
        .arg("--timeout")
        .arg(SCRIPT_TIMEOUT_MS.to_string())
        .arg("--chromium")
        .arg(CHROMIUM)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("can't start `node` ({e}): install Node.js 20+ (apt-get install nodejs npm)")
        });

    let output = tokio::time::timeout(WATCHDOG, child.wait_with_output())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "watchdog: {} did not finish within {WATCHDOG:?}",
                script.display()
            )
        })
        .unwrap();
    assert!(
        !server.is_finished(),
        "the chat server stopped during the test: {:?}",
        server.await
    );
    server.abort();

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = format!(
        "{} exited with {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        script.display(),
        output.status
    );
    let result: serde_json::Value = stdout
        .lines()
        .find_map(|line| line.strip_prefix("RESULT "))
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_else(|| panic!("no RESULT line\n{report}"));
    assert!(
        output.status.success(),
        "the browser scenario failed\n{report}"
    );
    assert_eq!(result["ok"], true, "{report}");
    assert!(
        result["checks"].as_u64().unwrap_or(0) > 0,
        "no checks ran\n{report}"
    );

    let bob = screenshot.with_file_name(format!("chat-{transport}-bob.png"));
    for shot in [&screenshot, &bob] {
        let png = std::fs::read(shot)
            .unwrap_or_else(|e| panic!("no screenshot at {}: {e}\n{report}", shot.display()));
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{} is not a PNG",
            shot.display()
        );
        eprintln!("screenshot: {}", shot.display());
    }
}
