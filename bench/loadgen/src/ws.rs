//! A WebSocket client written for the generator: the HTTP upgrade, frames in and out, and the
//! Engine.IO heartbeat, nothing else. It costs the generator little per message: one read
//! fills a buffer that may hold many frames, frames are parsed in place, and what a caller
//! queues goes out in one write.
//!
//! It is not a general client: it trusts the server (the upgrade answer is checked for its
//! status only), and its mask is fixed per connection (RFC 6455 wants an unpredictable mask
//! to protect proxies from cache poisoning; there is no proxy between the generator and
//! the server on 127.0.0.1).

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// The largest message accepted from a server (a broadcast payload is far below).
const MAX_MESSAGE: usize = 16 << 20;

/// A message from the server.
pub(crate) struct Frame<'a> {
    pub(crate) binary: bool,
    pub(crate) data: &'a [u8],
}

impl Frame<'_> {
    pub(crate) fn is_text(&self) -> bool {
        !self.binary
    }
}

/// How a frame header reads.
struct Header {
    fin: bool,
    opcode: u8,
    mask: Option<[u8; 4]>,
    header_len: usize,
    payload_len: usize,
}

fn parse_header(buf: &[u8]) -> io::Result<Option<Header>> {
    let (Some(&b0), Some(&b1)) = (buf.first(), buf.get(1)) else {
        return Ok(None);
    };
    let fin = b0 & 0x80 != 0;
    let opcode = b0 & 0x0f;
    let masked = b1 & 0x80 != 0;
    let (mut header_len, payload_len) = match b1 & 0x7f {
        126 => {
            let Some(b) = buf.get(2..4) else {
                return Ok(None);
            };
            (4, usize::from(u16::from_be_bytes([b[0], b[1]])))
        }
        127 => {
            let Some(b) = buf.get(2..10) else {
                return Ok(None);
            };
            let mut len = [0u8; 8];
            len.copy_from_slice(b);
            let len = u64::from_be_bytes(len);
            (10, usize::try_from(len).unwrap_or(usize::MAX))
        }
        n => (2, usize::from(n)),
    };
    if payload_len > MAX_MESSAGE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame larger than the generator accepts",
        ));
    }
    let mask = if masked {
        let Some(b) = buf.get(header_len..header_len + 4) else {
            return Ok(None);
        };
        header_len += 4;
        Some([b[0], b[1], b[2], b[3]])
    } else {
        None
    };
    Ok(Some(Header {
        fin,
        opcode,
        mask,
        header_len,
        payload_len,
    }))
}

/// Appends one masked client frame holding the concatenation of `parts`.
fn encode_frame(out: &mut Vec<u8>, opcode: u8, mask: [u8; 4], parts: &[&[u8]]) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    out.push(0x80 | opcode);
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= usize::from(u16::MAX) {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    let mut i = 0usize;
    for part in parts {
        for b in *part {
            out.push(b ^ mask[i & 3]);
            i += 1;
        }
    }
}

/// A small xorshift: masks and jitter need no cryptography.
pub(crate) fn pseudo_random(seed: &mut u64) -> u64 {
    let mut x = *seed | 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *seed = x;
    x
}

/// One WebSocket connection to the server, with the Engine.IO heartbeat answered inside.
pub(crate) struct WsConn {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    out: Vec<u8>,
    mask: [u8; 4],
    /// A fragmented message being put together (servers here rarely fragment).
    partial: Vec<u8>,
    partial_binary: bool,
    /// Where the last fragmented message was assembled, for the caller to borrow.
    assembled: Vec<u8>,
    /// Engine.IO pings answered so far.
    pub(crate) pings: u64,
}

/// What [`WsConn::step`] found in the buffer.
enum Step {
    /// A complete message in `buf[start..end]`.
    InBuffer(bool, usize, usize),
    /// A complete fragmented message in `assembled`.
    Assembled(bool),
    /// Need more bytes.
    More,
    /// Handled inside (control frame, heartbeat, fragment); look again.
    Again,
}

impl WsConn {
    /// Opens a TCP connection and upgrades it at `path` (with its query).
    pub(crate) async fn connect(addr: SocketAddr, path: &str, seed: u64) -> io::Result<WsConn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut seed = seed;
        let mask = (pseudo_random(&mut seed) as u32).to_ne_bytes();
        let mut conn = WsConn {
            stream,
            buf: vec![0; 4096],
            start: 0,
            end: 0,
            out: Vec::with_capacity(256),
            mask,
            partial: Vec::new(),
            partial_binary: false,
            assembled: Vec::new(),
            pings: 0,
        };
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        conn.stream.write_all(request.as_bytes()).await?;
        // Read the answer's head; bytes after it are already frames.
        loop {
            let head = conn.buf.get(..conn.end).unwrap_or_default();
            if let Some(pos) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                if !head.starts_with(b"HTTP/1.1 101") {
                    let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
                    return Err(io::Error::other(format!(
                        "upgrade refused: {}",
                        String::from_utf8_lossy(line)
                    )));
                }
                conn.start = pos + 4;
                break;
            }
            if conn.end == conn.buf.len() {
                return Err(io::Error::other("upgrade answer too long"));
            }
            let n = conn.stream.read(&mut conn.buf[conn.end..]).await?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            conn.end += n;
        }
        Ok(conn)
    }

    /// Queues a text message made of `parts`.
    pub(crate) fn queue_text(&mut self, parts: &[&[u8]]) {
        encode_frame(&mut self.out, OP_TEXT, self.mask, parts);
    }

    /// Queues a binary message.
    pub(crate) fn queue_binary(&mut self, data: &[u8]) {
        encode_frame(&mut self.out, OP_BINARY, self.mask, &[data]);
    }

    /// Writes everything queued, in one write when the socket takes it. Cancel-safe: what
    /// was not written stays queued.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        while !self.out.is_empty() {
            let n = self.stream.write(&self.out).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.out.drain(..n);
        }
        Ok(())
    }

    /// Looks at the buffer once.
    fn step(&mut self) -> io::Result<Step> {
        let avail = &self.buf[self.start..self.end];
        let Some(h) = parse_header(avail)? else {
            return Ok(Step::More);
        };
        let total = h.header_len + h.payload_len;
        if avail.len() < total {
            return Ok(Step::More);
        }
        let from = self.start + h.header_len;
        let to = self.start + total;
        if let Some(mask) = h.mask {
            for (i, b) in self.buf[from..to].iter_mut().enumerate() {
                *b ^= mask[i & 3];
            }
        }
        self.start = to;
        match h.opcode {
            OP_TEXT | OP_BINARY if h.fin => {
                let binary = h.opcode == OP_BINARY;
                if !binary && &self.buf[from..to] == b"2" {
                    // The Engine.IO heartbeat: answer at once.
                    self.pings += 1;
                    encode_frame(&mut self.out, OP_TEXT, self.mask, &[b"3"]);
                    return Ok(Step::Again);
                }
                Ok(Step::InBuffer(binary, from, to))
            }
            OP_TEXT | OP_BINARY => {
                self.partial.clear();
                self.partial.extend_from_slice(&self.buf[from..to]);
                self.partial_binary = h.opcode == OP_BINARY;
                Ok(Step::Again)
            }
            OP_CONTINUATION => {
                self.partial.extend_from_slice(&self.buf[from..to]);
                if self.partial.len() > MAX_MESSAGE {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "message too large",
                    ));
                }
                if h.fin {
                    std::mem::swap(&mut self.partial, &mut self.assembled);
                    self.partial.clear();
                    return Ok(Step::Assembled(self.partial_binary));
                }
                Ok(Step::Again)
            }
            OP_PING => {
                let payload = self.buf[from..to].to_vec();
                encode_frame(&mut self.out, OP_PONG, self.mask, &[&payload]);
                Ok(Step::Again)
            }
            OP_PONG => Ok(Step::Again),
            OP_CLOSE => Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "closed by the server",
            )),
            _ => Err(io::Error::new(io::ErrorKind::InvalidData, "unknown opcode")),
        }
    }

    /// The next data message. Engine.IO pings and WebSocket pings are answered here (the
    /// answer is written before this returns or waits). Cancel-safe: bytes read are kept.
    pub(crate) async fn recv(&mut self) -> io::Result<Frame<'_>> {
        loop {
            match self.step()? {
                Step::InBuffer(binary, from, to) => {
                    return Ok(Frame {
                        binary,
                        data: &self.buf[from..to],
                    });
                }
                Step::Assembled(binary) => {
                    return Ok(Frame {
                        binary,
                        data: &self.assembled,
                    });
                }
                Step::Again => continue,
                Step::More => {}
            }
            self.flush().await?;
            // Make room: move what is left to the front; grow for a frame larger than the
            // buffer.
            if self.start == self.end {
                self.start = 0;
                self.end = 0;
            } else if self.start > 0 && self.end == self.buf.len() {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                let len = self.buf.len() * 2;
                self.buf.resize(len, 0);
            }
            let n = self.stream.read(&mut self.buf[self.end..]).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed by the server",
                ));
            }
            self.end += n;
        }
    }
}

/// An Engine.IO + Socket.IO session over WebSocket, connected to the main namespace.
pub(crate) struct Session {
    pub(crate) ws: WsConn,
}

impl Session {
    pub(crate) async fn connect(addr: SocketAddr, seed: u64) -> io::Result<Session> {
        let mut ws = WsConn::connect(addr, "/socket.io/?EIO=4&transport=websocket", seed).await?;
        let open = ws.recv().await?;
        if !open.is_text() || open.data.first() != Some(&b'0') {
            return Err(io::Error::other("no Engine.IO open packet"));
        }
        ws.queue_text(&[b"40"]);
        ws.flush().await?;
        loop {
            let f = ws.recv().await?;
            if f.is_text() && f.data.starts_with(b"40") {
                break;
            }
            if f.is_text() && f.data.starts_with(b"44") {
                return Err(io::Error::other(format!(
                    "connect refused: {}",
                    String::from_utf8_lossy(f.data)
                )));
            }
        }
        Ok(Session { ws })
    }
}

/// Reads the decimal number at the start of `text`: the value and the rest.
pub(crate) fn leading_number(text: &[u8]) -> Option<(u64, &[u8])> {
    let digits = text.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 19 {
        return None;
    }
    let (num, rest) = text.split_at(digits);
    let mut value = 0u64;
    for d in num {
        value = value * 10 + u64::from(d - b'0');
    }
    Some((value, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unmasked(out: &[u8]) -> (u8, Vec<u8>) {
        let h = parse_header(out)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("header"));
        let mask = h.mask.unwrap_or_default();
        let payload = out[h.header_len..h.header_len + h.payload_len]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i & 3])
            .collect();
        (h.opcode, payload)
    }

    #[test]
    fn frames_round_trip_at_every_length_class() {
        for len in [0usize, 5, 125, 126, 1000, 65_535, 65_536, 100_000] {
            let data = vec![b'x'; len];
            let mut out = Vec::new();
            encode_frame(&mut out, OP_TEXT, [1, 2, 3, 4], &[b"42", &data]);
            let (op, payload) = unmasked(&out);
            assert_eq!(op, OP_TEXT);
            assert_eq!(payload.len(), len + 2);
            assert!(payload.starts_with(b"42"));
        }
    }

    #[test]
    fn a_partial_header_asks_for_more() {
        let mut out = Vec::new();
        encode_frame(&mut out, OP_BINARY, [9, 9, 9, 9], &[&[0u8; 300]]);
        assert!(parse_header(&out[..1]).ok().flatten().is_none());
        assert!(parse_header(&out[..3]).ok().flatten().is_none());
        assert!(parse_header(&out[..8]).ok().flatten().is_some());
    }

    #[test]
    fn leading_numbers() {
        assert_eq!(leading_number(b"123[x]"), Some((123, &b"[x]"[..])));
        assert_eq!(leading_number(b"[x]"), None);
    }
}
