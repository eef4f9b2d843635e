//! Hostile input, many times over: does the server's memory return to where it was?
//!
//! Each round sends every kind of input the server must refuse (the families of the
//! advisories against engine.io, socket.io-parser and ws), each on a fresh connection, and
//! checks the answer: an oversized POST (413), an oversized WebSocket message and the same
//! size in many fragments (closed), a packet that cannot be decoded (closed), eleven binary
//! attachments (closed), attachments announced and never sent (the client leaves), and a
//! request whose headers never end (the client leaves). The server's resident memory is read
//! after a first warm-up round (allocator pools filled), after the last round, and once more
//! after a pause; between the two last readings and the first, the difference is what the
//! rounds left behind.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::measure::{Common, Errors};
use crate::procfs;

/// The server's default `maxHttpBufferSize`.
const MAX_MESSAGE: usize = 1_000_000;
/// How long a refused connection may take to be closed by the server.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// A client frame with a zero mask (the payload goes as is).
fn frame(out: &mut Vec<u8>, opcode: u8, fin: bool, payload: &[u8]) {
    out.push(if fin { 0x80 } else { 0 } | opcode);
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= usize::from(u16::MAX) {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(payload);
}

async fn request_head(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 || head.len() > 16 * 1024 {
            return Err(io::Error::other("no response head"));
        }
        head.push(byte[0]);
    }
    Ok(head)
}

/// A WebSocket session after the upgrade and the open packet; when `sio`, also connected to
/// the main namespace.
async fn websocket(addr: SocketAddr, sio: bool) -> io::Result<TcpStream> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(
        b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
          Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
          Sec-WebSocket-Version: 13\r\n\r\n",
    )
    .await?;
    let head = request_head(&mut s).await?;
    if !head.starts_with(b"HTTP/1.1 101") {
        return Err(io::Error::other("upgrade refused"));
    }
    if sio {
        let mut out = Vec::new();
        frame(&mut out, 1, true, b"40");
        s.write_all(&out).await?;
    }
    Ok(s)
}

/// Whether `buf` (server frames, unmasked) holds a close frame.
fn holds_close_frame(buf: &[u8]) -> bool {
    let mut at = 0usize;
    while let (Some(&b0), Some(&b1)) = (buf.get(at), buf.get(at + 1)) {
        if b0 & 0x0f == 8 {
            return true;
        }
        let (len, header) = match b1 & 0x7f {
            126 => match buf.get(at + 2..at + 4) {
                Some(b) => (usize::from(u16::from_be_bytes([b[0], b[1]])), 4),
                None => return false,
            },
            127 => match buf
                .get(at + 2..at + 10)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
            {
                Some(b) => (u64::from_be_bytes(b) as usize, 10),
                None => return false,
            },
            n => (usize::from(n), 2),
        };
        at = at.saturating_add(header).saturating_add(len);
    }
    false
}

/// Reads until the server closes the connection or starts the WebSocket closing handshake
/// (the client then leaves, as a client that does not answer would); an error if neither
/// happens within [`CLOSE_WAIT`].
async fn closed_by_server(s: &mut TcpStream, what: &str) -> Result<(), String> {
    let mut received = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let read_all = async {
        loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    received.extend_from_slice(&chunk[..n]);
                    if holds_close_frame(&received) {
                        return;
                    }
                }
            }
        }
    };
    tokio::time::timeout(CLOSE_WAIT, read_all)
        .await
        .map_err(|_| format!("{what}: the server kept the connection open"))
}

async fn oversized_post(addr: SocketAddr) -> Result<(), String> {
    let mut s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    s.write_all(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let head = request_head(&mut s).await.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&head).to_lowercase();
    let len: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or("handshake: no content-length")?;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await.map_err(|e| e.to_string())?;
    let body = String::from_utf8_lossy(&body);
    let sid = body
        .split("\"sid\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .ok_or("handshake: no sid")?
        .to_owned();
    let payload = vec![b'x'; MAX_MESSAGE + 1];
    let request = format!(
        "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    );
    s.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    // The server may answer before the body is in; a write error then is expected.
    let _ = s.write_all(&payload).await;
    let head = request_head(&mut s).await.map_err(|e| e.to_string())?;
    if !head.starts_with(b"HTTP/1.1 413") {
        return Err(format!(
            "oversized POST: {}",
            String::from_utf8_lossy(head.split(|b| *b == b'\r').next().unwrap_or_default())
        ));
    }
    // The session survives a 413 (as in Node); end it with a close packet.
    let mut s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let close = format!(
        "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n\
         Content-Type: text/plain\r\nContent-Length: 1\r\nConnection: close\r\n\r\n1"
    );
    s.write_all(close.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let head = request_head(&mut s).await.map_err(|e| e.to_string())?;
    if !head.starts_with(b"HTTP/1.1 200") {
        return Err("closing POST refused".into());
    }
    Ok(())
}

async fn ws_case(addr: SocketAddr, sio: bool, frames: Vec<u8>, what: &str) -> Result<(), String> {
    let mut s = websocket(addr, sio)
        .await
        .map_err(|e| format!("{what}: {e}"))?;
    // A server that closes early makes later writes fail; that is the expected outcome.
    let _ = s.write_all(&frames).await;
    closed_by_server(&mut s, what).await
}

fn oversized_message() -> Vec<u8> {
    let mut out = Vec::new();
    let mut payload = vec![b'x'; MAX_MESSAGE + 1];
    payload[0] = b'4';
    frame(&mut out, 1, true, &payload);
    out
}

fn oversized_in_fragments() -> Vec<u8> {
    let mut out = Vec::new();
    let piece = vec![b'x'; 10_000];
    frame(&mut out, 1, false, b"4");
    for _ in 0..(MAX_MESSAGE / piece.len() + 1) {
        frame(&mut out, 0, false, &piece);
    }
    frame(&mut out, 0, true, b"");
    out
}

fn undecodable() -> Vec<u8> {
    let mut out = Vec::new();
    frame(&mut out, 1, true, b"42[\"unterminated");
    out
}

fn too_many_attachments() -> Vec<u8> {
    let mut out = Vec::new();
    frame(
        &mut out,
        1,
        true,
        b"4511-[\"e\",{\"_placeholder\":true,\"num\":0}]",
    );
    out
}

/// Attachments announced, then the client leaves without sending them.
async fn abandoned_attachments(addr: SocketAddr) -> Result<(), String> {
    let mut s = websocket(addr, true)
        .await
        .map_err(|e| format!("abandoned attachments: {e}"))?;
    let mut out = Vec::new();
    frame(
        &mut out,
        1,
        true,
        b"452-[\"e\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
    );
    frame(&mut out, 2, true, &[7u8; 1000]);
    s.write_all(&out).await.map_err(|e| e.to_string())?;
    Ok(())
}

/// Headers that never end; the client leaves.
async fn endless_headers(addr: SocketAddr) -> Result<(), String> {
    let mut s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    s.write_all(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nX-A: ")
        .await
        .map_err(|e| e.to_string())?;
    s.write_all(&[b'a'; 4000])
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

async fn round(addr: SocketAddr, errors: &Errors) -> u64 {
    let results = [
        oversized_post(addr).await,
        ws_case(addr, false, oversized_message(), "oversized message").await,
        ws_case(
            addr,
            false,
            oversized_in_fragments(),
            "oversized in fragments",
        )
        .await,
        ws_case(addr, true, undecodable(), "undecodable packet").await,
        ws_case(addr, true, too_many_attachments(), "eleven attachments").await,
        abandoned_attachments(addr).await,
        endless_headers(addr).await,
    ];
    let mut sent = 0;
    for r in results {
        sent += 1;
        if let Err(e) = r {
            errors.add(e);
        }
    }
    sent
}

fn mib(bytes: Option<u64>) -> Value {
    bytes.map_or(Value::Null, |b| {
        json!((b as f64 / 1048576.0 * 100.0).round() / 100.0)
    })
}

pub(crate) async fn run(common: &Common, rounds: u64) -> Result<Value, String> {
    let pid = common
        .server_pid
        .ok_or("hostile: --server-pid is needed to read the server's memory")?;
    let errors = Errors::default();
    let addr = common.addr;
    let rss_start = procfs::rss_bytes(pid);
    let mut inputs = round(addr, &errors).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_warm = procfs::rss_bytes(pid);
    for _ in 1..rounds.max(1) {
        inputs += round(addr, &errors).await;
    }
    let rss_end = procfs::rss_bytes(pid);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = procfs::rss_bytes(pid);
    Ok(json!({
        "scenario": "hostile",
        "server": common.server,
        "rounds": rounds.max(1),
        "inputs": inputs,
        "errors": errors.count(),
        "error_samples": errors.samples(),
        "rss_start_mib": mib(rss_start),
        "rss_after_first_round_mib": mib(rss_warm),
        "rss_after_last_round_mib": mib(rss_end),
        "rss_after_pause_mib": mib(rss_after),
    }))
}
