//! Engine.IO long-polling from the generator: a bare HTTP/1.1 client on one keep-alive
//! connection (requests go one after the other, so one connection serves both the GETs and
//! the POSTs), and the session on top of it.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The Engine.IO record separator between packets of a polling payload.
const SEPARATOR: u8 = 0x1e;

/// One keep-alive HTTP/1.1 connection.
pub(crate) struct HttpConn {
    stream: TcpStream,
    host: String,
    buf: Vec<u8>,
    end: usize,
    request: Vec<u8>,
}

fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

impl HttpConn {
    pub(crate) async fn connect(addr: SocketAddr) -> io::Result<HttpConn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(HttpConn {
            stream,
            host: addr.to_string(),
            buf: vec![0; 8192],
            end: 0,
            request: Vec::with_capacity(512),
        })
    }

    async fn fill(&mut self) -> io::Result<()> {
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
        Ok(())
    }

    /// Sends a request and reads the whole answer; returns the body of a 200 answer.
    pub(crate) async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> io::Result<Vec<u8>> {
        self.request.clear();
        self.request.extend_from_slice(
            format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host).as_bytes(),
        );
        if method == "POST" {
            self.request.extend_from_slice(
                format!(
                    "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n",
                    body.len()
                )
                .as_bytes(),
            );
        }
        self.request.extend_from_slice(b"\r\n");
        self.request.extend_from_slice(body);
        self.stream.write_all(&self.request).await?;

        let head_end = loop {
            if let Some(pos) = self.buf[..self.end]
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
            {
                break pos + 4;
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let status = head.split(' ').nth(1).unwrap_or_default().to_owned();
        let chunked = header_value(&head, "transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        let body = if chunked {
            self.read_chunked(head_end).await?
        } else {
            let len: usize = header_value(&head, "content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            while self.end < head_end + len {
                self.fill().await?;
            }
            let body = self.buf[head_end..head_end + len].to_vec();
            self.consume(head_end + len);
            body
        };
        if header_value(&head, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) {
            return Err(io::Error::other(
                "the server closed the keep-alive connection",
            ));
        }
        if status != "200" {
            return Err(io::Error::other(format!(
                "{method} answered {status}: {}",
                String::from_utf8_lossy(&body)
            )));
        }
        Ok(body)
    }

    fn consume(&mut self, n: usize) {
        self.buf.copy_within(n..self.end, 0);
        self.end -= n;
    }

    async fn read_chunked(&mut self, mut pos: usize) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = self.buf[pos..self.end]
                    .windows(2)
                    .position(|w| w == b"\r\n")
                {
                    break pos + i;
                }
                self.fill().await?;
            };
            let size_text = String::from_utf8_lossy(&self.buf[pos..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| io::Error::other("bad chunk size"))?;
            let data_start = line_end + 2;
            while self.end < data_start + size + 2 {
                self.fill().await?;
            }
            body.extend_from_slice(&self.buf[data_start..data_start + size]);
            pos = data_start + size + 2;
            if size == 0 {
                self.consume(pos);
                return Ok(body);
            }
        }
    }
}

/// An Engine.IO + Socket.IO session over long-polling, connected to the main namespace.
pub(crate) struct PollingSession {
    http: HttpConn,
    path: String,
    /// Engine.IO pings answered.
    pub(crate) pings: u64,
}

impl PollingSession {
    pub(crate) async fn connect(addr: SocketAddr) -> io::Result<PollingSession> {
        let mut http = HttpConn::connect(addr).await?;
        let open = http
            .request("GET", "/socket.io/?EIO=4&transport=polling", b"")
            .await?;
        let open = String::from_utf8_lossy(&open).into_owned();
        let sid = open
            .split("\"sid\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .filter(|_| open.starts_with('0'))
            .ok_or_else(|| io::Error::other(format!("no open packet: {open}")))?
            .to_owned();
        let path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
        let mut session = PollingSession {
            http,
            path,
            pings: 0,
        };
        session.post(b"40").await?;
        loop {
            let packets = session.poll().await?;
            if packets.iter().any(|p| p.starts_with(b"40")) {
                break;
            }
            if let Some(p) = packets.iter().find(|p| p.starts_with(b"44")) {
                return Err(io::Error::other(format!(
                    "connect refused: {}",
                    String::from_utf8_lossy(p)
                )));
            }
        }
        Ok(session)
    }

    /// Sends one payload (packets already joined).
    pub(crate) async fn post(&mut self, payload: &[u8]) -> io::Result<()> {
        let path = std::mem::take(&mut self.path);
        let result = self.http.request("POST", &path, payload).await;
        self.path = path;
        result.map(|_| ())
    }

    /// One GET: the packets it brought, pings answered (with a POST) before returning.
    pub(crate) async fn poll(&mut self) -> io::Result<Vec<Vec<u8>>> {
        let path = std::mem::take(&mut self.path);
        let result = self.http.request("GET", &path, b"").await;
        self.path = path;
        let body = result?;
        let mut packets = Vec::new();
        let mut pings = 0;
        for packet in body.split(|b| *b == SEPARATOR) {
            match packet {
                b"2" => pings += 1,
                b"1" => return Err(io::Error::other("the server closed the session")),
                _ => packets.push(packet.to_vec()),
            }
        }
        for _ in 0..pings {
            self.pings += 1;
            self.post(b"3").await?;
        }
        Ok(packets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_are_case_insensitive() {
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\n";
        assert_eq!(header_value(head, "content-length"), Some("12"));
        assert_eq!(header_value(head, "CONNECTION"), Some("keep-alive"));
        assert_eq!(header_value(head, "transfer-encoding"), None);
    }
}
