//! The server side of the WebSocket framing (RFC 6455 §5), over the upgraded HTTP
//! connection: small enough that an idle connection holds almost no buffer.
//!
//! - Reading: frames are parsed from one read buffer that starts small, grows only to what the
//!   frame being read needs (bounded by the message limit, checked from the frame header
//!   before any memory is reserved) and shrinks back once a large message is out. Over a
//!   plain TCP connection (the standalone server's) the buffer is made only once the socket
//!   is readable (a small read goes through the stack, and the buffer is made to its size,
//!   so a message read whole becomes that buffer with no other allocation) and released once
//!   it is empty, so an idle connection holds none. Client
//!   frames must be masked; fragments are reassembled into one buffer bounded by the message
//!   limit (empty fragments hold nothing); pings are answered with pongs.
//! - Writing: every frame of a batch is encoded into one buffer and goes out in one write; a
//!   single frame over TCP with nothing else pending is written straight from its packet
//!   (header and payload in one vectored write), and only what the socket does not take at
//!   once is buffered.
//! - Closing: a close frame from the peer is answered; a close of ours waits for the peer's
//!   answer or the end of the connection (the caller bounds how long).
//!
//! Everything read or still to write is kept in the connection, not in the futures, so
//! [`WsConn::next`] can be cancelled (the session loop races it against its queue) without
//! losing or corrupting anything.

use std::cell::RefCell;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use bytestring::ByteString;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;

/// What an idle connection keeps for reading: enough for a small message in one read.
const SMALL_READ: usize = 256;
/// A buffer larger than this is released once it is empty rather than kept.
const KEEP: usize = 4096;
/// The largest header of a frame: 2 bytes, 8 of extended length, 4 of mask.
const MAX_HEADER: usize = 14;

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xa;

/// Close codes (RFC 6455 §7.4.1).
const NORMAL: u16 = 1000;
const PROTOCOL_ERROR: u16 = 1002;
const INVALID_DATA: u16 = 1007;
const TOO_BIG: u16 = 1009;

/// A message from the peer.
#[derive(Debug)]
pub(crate) enum WsMessage {
    /// A text message.
    Text(ByteString),
    Binary(Bytes),
    /// The peer closed (its close frame is answered).
    Close,
}

/// A frame to send.
#[derive(Debug, Clone, Copy)]
pub(crate) enum WsOut<'a> {
    Text(&'a [u8]),
    /// A text frame made of a one-byte prefix and a body (base64 of binary data).
    TextPrefixed(u8, &'a [u8]),
    Binary(&'a [u8]),
}

impl<'a> WsOut<'a> {
    /// The opcode, the one-byte prefix if any, and the body.
    fn parts(self) -> (u8, Option<u8>, &'a [u8]) {
        match self {
            WsOut::Text(text) => (OP_TEXT, None, text),
            WsOut::TextPrefixed(prefix, body) => (OP_TEXT, Some(prefix), body),
            WsOut::Binary(data) => (OP_BINARY, None, data),
        }
    }
}

/// The most frames [`WsConn::send_or_queue`] writes in one vectored write; more are queued.
pub(crate) const MAX_VECTORED: usize = 32;

/// Why reading failed.
#[derive(Debug)]
pub(crate) enum WsError {
    /// The peer broke the protocol (the connection is closed with `code`).
    Protocol(&'static str, u16),
    Io(std::io::Error),
}

impl std::fmt::Display for WsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WsError::Protocol(what, code) => write!(f, "{what} (close {code})"),
            WsError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// A frame header, parsed.
struct Header {
    fin: bool,
    opcode: u8,
    mask: [u8; 4],
    header_len: usize,
    payload_len: usize,
}

/// The connection under the WebSocket.
enum Io {
    /// A plain TCP connection: read when readable, with no buffer held while waiting.
    Tcp(TcpStream),
    /// Any other connection hyper upgraded (mounted in another server, TLS).
    Other(TokioIo<Upgraded>),
}

impl Io {
    async fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Io::Tcp(io) => io.write(buf).await,
            Io::Other(io) => io.write(buf).await,
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Io::Tcp(io) => io.flush().await,
            Io::Other(io) => io.flush().await,
        }
    }

    async fn shutdown(&mut self) -> std::io::Result<()> {
        match self {
            Io::Tcp(io) => io.shutdown().await,
            Io::Other(io) => io.shutdown().await,
        }
    }
}

/// A server-side WebSocket connection.
pub(crate) struct WsConn {
    io: Io,
    max_message: usize,
    read: BytesMut,
    /// How many bytes the read buffer needs for the frame being read (at least its header).
    want: usize,
    /// A fragmented message being reassembled: its opcode and what arrived so far.
    partial: Option<(u8, BytesMut)>,
    write: BytesMut,
    /// A close frame was queued or sent by us.
    close_sent: bool,
    /// The peer's close frame arrived, or its connection ended.
    peer_closed: bool,
    /// The close code to send if we close: set by a protocol error.
    close_code: u16,
}

impl WsConn {
    /// Wraps the upgraded connection; messages over `max_message` bytes end it.
    pub(crate) fn new(io: Upgraded, max_message: usize) -> Self {
        let (io, read) = match io.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => (
                Io::Tcp(parts.io.into_inner()),
                BytesMut::from(&parts.read_buf[..]),
            ),
            Err(io) => (Io::Other(TokioIo::new(io)), BytesMut::new()),
        };
        WsConn {
            io,
            max_message,
            read,
            want: MAX_HEADER,
            partial: None,
            write: BytesMut::new(),
            close_sent: false,
            peer_closed: false,
            close_code: NORMAL,
        }
    }

    /// The next message; `None` once the connection ended. Cancel-safe.
    pub(crate) async fn next(&mut self) -> Option<Result<WsMessage, WsError>> {
        if self.peer_closed {
            return None;
        }
        loop {
            // Control frames to answer (pongs, the close reply) go out first.
            if !self.write.is_empty()
                && let Err(e) = self.write_pending().await
            {
                return Some(Err(WsError::Io(e)));
            }
            match self.parse() {
                Ok(Some(message)) => return Some(Ok(message)),
                Ok(None) => {}
                Err(e) => {
                    if let WsError::Protocol(_, code) = e {
                        self.close_code = code;
                    }
                    return Some(Err(e));
                }
            }
            if !self.write.is_empty() {
                continue;
            }
            let read = match &mut self.io {
                Io::Tcp(io) => read_when_readable(io, &mut self.read, self.want).await,
                Io::Other(io) => {
                    reserve_for(&mut self.read, self.want);
                    io.read_buf(&mut self.read).await
                }
            };
            match read {
                Ok(0) => {
                    self.peer_closed = true;
                    return None;
                }
                Ok(_) => {}
                Err(e) => {
                    self.peer_closed = true;
                    return Some(Err(WsError::Io(e)));
                }
            }
        }
    }

    /// Takes one message out of the read buffer if a whole one is there, answering control
    /// frames on the way; otherwise makes room for the rest of the frame being read.
    fn parse(&mut self) -> Result<Option<WsMessage>, WsError> {
        loop {
            let header = match self.header()? {
                Some(h) => h,
                None => {
                    self.want = MAX_HEADER;
                    self.shrink_read();
                    return Ok(None);
                }
            };
            let frame_len = header.header_len.saturating_add(header.payload_len);
            if self.read.len() < frame_len {
                self.want = frame_len;
                return Ok(None);
            }
            // A buffer holding exactly this frame (the common case) becomes the message
            // itself: splitting it would allocate the count of a shared buffer.
            let mut frame = if self.read.len() == frame_len {
                std::mem::take(&mut self.read)
            } else {
                self.read.split_to(frame_len)
            };
            frame.advance(header.header_len);
            unmask(&mut frame, header.mask);
            if let Some(message) = self.on_frame(&header, frame)? {
                self.shrink_read();
                return Ok(Some(message));
            }
            if self.peer_closed {
                return Ok(Some(WsMessage::Close));
            }
        }
    }

    /// Parses the header at the front of the read buffer (`None` while incomplete), checking
    /// it before any room is made for its payload.
    fn header(&self) -> Result<Option<Header>, WsError> {
        let buf: &[u8] = &self.read;
        let (Some(&b0), Some(&b1)) = (buf.first(), buf.get(1)) else {
            return Ok(None);
        };
        let fin = b0 & 0x80 != 0;
        let opcode = b0 & 0x0f;
        if b0 & 0x70 != 0 {
            return Err(fail("reserved bits set", PROTOCOL_ERROR));
        }
        if b1 & 0x80 == 0 {
            return Err(fail("unmasked client frame", PROTOCOL_ERROR));
        }
        let (payload_len, at) = match b1 & 0x7f {
            126 => match buf.get(2..4).and_then(|b| <[u8; 2]>::try_from(b).ok()) {
                Some(b) => (u64::from(u16::from_be_bytes(b)), 4),
                None => return Ok(None),
            },
            127 => match buf.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
                Some(b) => (u64::from_be_bytes(b), 10),
                None => return Ok(None),
            },
            n => (u64::from(n), 2),
        };
        let Some(mask) = buf
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
        else {
            return Ok(None);
        };
        match opcode {
            OP_CONTINUATION | OP_TEXT | OP_BINARY => {
                let so_far = self.partial.as_ref().map_or(0, |(_, p)| p.len()) as u64;
                if so_far.saturating_add(payload_len) > self.max_message as u64 {
                    return Err(fail("message over the size limit", TOO_BIG));
                }
                match (opcode, &self.partial) {
                    (OP_CONTINUATION, None) => {
                        return Err(fail("continuation without a message", PROTOCOL_ERROR));
                    }
                    (OP_TEXT | OP_BINARY, Some(_)) => {
                        return Err(fail("new message inside a fragmented one", PROTOCOL_ERROR));
                    }
                    _ => {}
                }
            }
            OP_CLOSE | OP_PING | OP_PONG => {
                if !fin || payload_len > 125 {
                    return Err(fail("bad control frame", PROTOCOL_ERROR));
                }
            }
            _ => return Err(fail("unknown opcode", PROTOCOL_ERROR)),
        }
        let payload_len = usize::try_from(payload_len)
            .map_err(|_| fail("message over the size limit", TOO_BIG))?;
        Ok(Some(Header {
            fin,
            opcode,
            mask,
            header_len: at + 4,
            payload_len,
        }))
    }

    /// Handles one whole frame (unmasked); a message when one is complete.
    fn on_frame(
        &mut self,
        header: &Header,
        payload: BytesMut,
    ) -> Result<Option<WsMessage>, WsError> {
        match header.opcode {
            OP_PING => {
                if !self.close_sent {
                    encode(&mut self.write, OP_PONG, &[], &payload);
                }
                Ok(None)
            }
            OP_PONG => Ok(None),
            OP_CLOSE => {
                // The peer's code is echoed when it is valid.
                let code = match (payload.first(), payload.get(1)) {
                    (None, _) => NORMAL,
                    (Some(&a), Some(&b)) => {
                        let code = u16::from_be_bytes([a, b]);
                        let reason = payload.get(2..).unwrap_or_default();
                        if std::str::from_utf8(reason).is_err() {
                            INVALID_DATA
                        } else if valid_close_code(code) {
                            code
                        } else {
                            PROTOCOL_ERROR
                        }
                    }
                    (Some(_), None) => PROTOCOL_ERROR,
                };
                self.peer_closed = true;
                if !self.close_sent {
                    self.close_sent = true;
                    encode(&mut self.write, OP_CLOSE, &[], &code.to_be_bytes());
                }
                Ok(None)
            }
            _ if header.fin && header.opcode != OP_CONTINUATION => {
                self.message(header.opcode, payload).map(Some)
            }
            OP_CONTINUATION => {
                let Some((opcode, mut buffer)) = self.partial.take() else {
                    return Err(fail("continuation without a message", PROTOCOL_ERROR));
                };
                buffer.extend_from_slice(&payload);
                if header.fin {
                    self.message(opcode, buffer).map(Some)
                } else {
                    self.partial = Some((opcode, buffer));
                    Ok(None)
                }
            }
            opcode => {
                // The first fragment of a message.
                self.partial = Some((opcode, BytesMut::from(payload.as_ref())));
                Ok(None)
            }
        }
    }

    fn message(&self, opcode: u8, payload: BytesMut) -> Result<WsMessage, WsError> {
        if opcode == OP_TEXT {
            match ByteString::try_from(payload.freeze()) {
                Ok(text) => Ok(WsMessage::Text(text)),
                Err(_) => Err(fail("invalid UTF-8 in a text message", INVALID_DATA)),
            }
        } else {
            Ok(WsMessage::Binary(payload.freeze()))
        }
    }

    /// Releases the read buffer once it is empty: over TCP always (the next read makes a new
    /// one), otherwise when it is large.
    fn shrink_read(&mut self) {
        let limit = match self.io {
            Io::Tcp(_) => 0,
            Io::Other(_) => KEEP,
        };
        if self.read.is_empty() && self.read.capacity() > limit {
            self.read = BytesMut::new();
        }
    }

    async fn write_pending(&mut self) -> std::io::Result<()> {
        while !self.write.is_empty() {
            let n = self.io.write(&self.write).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            self.write.advance(n);
        }
        if self.write.capacity() > KEEP {
            self.write = BytesMut::new();
        }
        self.io.flush().await
    }

    /// Gives back the write buffer's memory if nothing is left to write in it.
    pub(crate) fn release_write_buffer(&mut self) {
        if self.write.is_empty() && self.write.capacity() > 0 {
            self.write = BytesMut::new();
        }
    }

    /// Queues a frame; [`flush`](Self::flush) writes every queued frame in one write.
    /// Nothing is queued once our close frame is.
    pub(crate) fn queue(&mut self, frame: WsOut<'_>) {
        if self.close_sent {
            return;
        }
        match frame {
            WsOut::Text(text) => encode(&mut self.write, OP_TEXT, &[], text),
            WsOut::TextPrefixed(prefix, body) => encode(&mut self.write, OP_TEXT, &[prefix], body),
            WsOut::Binary(data) => encode(&mut self.write, OP_BINARY, &[], data),
        }
    }

    /// Sends frames: over TCP with nothing else to write, straight to the socket without a
    /// buffer (every header and payload in one vectored write); what the socket does not
    /// take at once, or the frames otherwise (more than [`MAX_VECTORED`]), is queued for
    /// [`flush`](Self::flush).
    pub(crate) fn send_or_queue(&mut self, frames: &[WsOut<'_>]) {
        if self.close_sent {
            return;
        }
        let io = match &self.io {
            Io::Tcp(io) if self.write.is_empty() && frames.len() <= MAX_VECTORED => io,
            _ => return frames.iter().for_each(|frame| self.queue(*frame)),
        };
        if let [frame] = frames {
            // The common case, without the arrays a batch needs.
            let (opcode, prefix, body) = frame.parts();
            let prefix = prefix.as_slice();
            let mut head = [0u8; 10];
            let head_len = encode_header(&mut head, opcode, prefix.len() + body.len());
            let head = head.get(..head_len).unwrap_or_default();
            let pieces = [head, prefix, body];
            let parts = pieces.map(std::io::IoSlice::new);
            let written = io.try_write_vectored(&parts).unwrap_or_default();
            return self.queue_unwritten(pieces, written);
        }
        // Each frame's header, with the one-byte prefix of a prefixed text frame after it.
        let mut heads = [([0u8; 11], 0usize); MAX_VECTORED];
        for (frame, (head, len)) in frames.iter().zip(heads.iter_mut()) {
            let (opcode, prefix, body) = frame.parts();
            let mut header = [0u8; 10];
            let n = encode_header(
                &mut header,
                opcode,
                usize::from(prefix.is_some()) + body.len(),
            );
            for (to, from) in head
                .iter_mut()
                .zip(header.iter().take(n).chain(prefix.iter()))
            {
                *to = *from;
            }
            *len = n + usize::from(prefix.is_some());
        }
        let mut parts = [std::io::IoSlice::new(&[]); 2 * MAX_VECTORED];
        let pieces = frames
            .iter()
            .zip(heads.iter())
            .flat_map(|(frame, (head, len))| {
                [head.get(..*len).unwrap_or_default(), frame.parts().2]
            });
        for (part, piece) in parts.iter_mut().zip(pieces.clone()) {
            *part = std::io::IoSlice::new(piece);
        }
        let used = parts.get(..2 * frames.len()).unwrap_or_default();
        let written = io.try_write_vectored(used).unwrap_or_default();
        self.queue_unwritten(pieces, written);
    }

    /// Queues what a vectored write of `pieces` did not write (it wrote `written` bytes); an
    /// error shows again on the flush.
    fn queue_unwritten<'p>(
        &mut self,
        pieces: impl IntoIterator<Item = &'p [u8]>,
        mut written: usize,
    ) {
        for piece in pieces {
            let skip = written.min(piece.len());
            written -= skip;
            if let Some(rest) = piece.get(skip..)
                && !rest.is_empty()
            {
                self.write.extend_from_slice(rest);
            }
        }
    }

    /// Writes what is queued (with any control frame still pending). Cancel-safe: what was
    /// not written stays queued.
    pub(crate) async fn flush(&mut self) -> std::io::Result<()> {
        self.write_pending().await
    }

    /// The closing handshake: our close frame (1000, or the code of the protocol error that
    /// ended the connection), then the peer's answer or the end of its connection, then the
    /// end of ours. The caller bounds how long it may take.
    pub(crate) async fn close(&mut self) {
        if !self.close_sent {
            self.close_sent = true;
            self.partial = None;
            let code = self.close_code;
            encode(&mut self.write, OP_CLOSE, &[], &code.to_be_bytes());
        }
        if self.write_pending().await.is_err() {
            return;
        }
        // After a protocol error what follows cannot be trusted: no need to wait.
        if self.close_code == NORMAL {
            while !self.peer_closed {
                match self.next().await {
                    Some(Ok(WsMessage::Close)) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                }
            }
        }
        let _ = self.write_pending().await;
        let _ = self.io.shutdown().await;
    }
}

/// Makes room towards `len` bytes in the read buffer: never more than one frame's worth
/// (whose length was checked against the limit), and growing with what actually arrives (at
/// most doubling), so a header announcing a large frame reserves little by itself.
fn reserve_for(read: &mut BytesMut, len: usize) {
    let have = read.len();
    let step = read.capacity().saturating_mul(2).max(have + 4096);
    let want = len.min(step).max(SMALL_READ);
    if read.capacity() < want {
        read.reserve(want - have);
    }
}

/// Waits until the socket is readable, then makes room and reads: nothing is allocated while
/// waiting. Cancel-safe (a read either happened, and its bytes are in `read`, or not).
async fn read_when_readable(
    io: &TcpStream,
    read: &mut BytesMut,
    want: usize,
) -> std::io::Result<usize> {
    loop {
        // The readiness is polled, not awaited through `readable()`, whose future links a
        // waiter into the socket's list and unlinks it on every turn of the session loop.
        std::future::poll_fn(|cx| io.poll_read_ready(cx)).await?;
        match read_now(io, read, want) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            result => return result,
        }
    }
}

thread_local! {
    /// Where a thread reads into an empty buffer: what arrived is then copied into a buffer
    /// of its exact size, so an idle connection keeps no buffer, a message read whole needs
    /// no other allocation (a buffer with room to spare would need a shared count once it
    /// becomes the message), and one read takes every message the socket holds, up to this.
    static READ_SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_SCRATCH_LEN]);
}

const READ_SCRATCH_LEN: usize = 16 * 1024;

/// Reads what the socket has; see [`READ_SCRATCH`] for an empty buffer.
///
/// A read that got less than it had room for emptied the socket's buffer, so the socket is
/// marked not readable (as tokio's own `AsyncRead` does): without that, the next turn of the
/// session loop would find it still readable and spend a system call to learn otherwise.
/// tokio clears the mark only if no new readiness arrived in between.
fn read_now(io: &TcpStream, read: &mut BytesMut, want: usize) -> std::io::Result<usize> {
    let mut got = 0;
    let result = io.try_io(Interest::READABLE, || {
        let (n, room) = if read.is_empty() {
            READ_SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
                Ok(mut scratch) => {
                    let n = io.try_read(&mut scratch)?;
                    read.extend_from_slice(scratch.get(..n).unwrap_or_default());
                    Ok::<_, std::io::Error>((n, scratch.len()))
                }
                // Not reentered in practice; a small read through the stack then.
                Err(_) => {
                    let mut stack = [0u8; SMALL_READ];
                    let n = io.try_read(&mut stack)?;
                    read.extend_from_slice(stack.get(..n).unwrap_or_default());
                    Ok((n, SMALL_READ))
                }
            })?
        } else {
            reserve_for(read, want);
            let room = read.capacity() - read.len();
            (io.try_read_buf(read)?, room)
        };
        got = n;
        if n > 0 && n < room {
            // Drained: tell tokio so, which clears the readiness it saw.
            return Err(std::io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    });
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && got > 0 => Ok(got),
        result => result,
    }
}

fn fail(what: &'static str, code: u16) -> WsError {
    WsError::Protocol(what, code)
}

/// Writes the header of an unmasked frame (a server's) of `len` bytes into `out`; returns
/// its length.
fn encode_header(out: &mut [u8; 10], opcode: u8, len: usize) -> usize {
    let first = 0x80 | opcode;
    if len < 126 {
        *out = [first, len as u8, 0, 0, 0, 0, 0, 0, 0, 0];
        2
    } else if let Ok(len) = u16::try_from(len) {
        let [a, b] = len.to_be_bytes();
        *out = [first, 126, a, b, 0, 0, 0, 0, 0, 0];
        4
    } else {
        let [a, b, c, d, e, f, g, h] = (len as u64).to_be_bytes();
        *out = [first, 127, a, b, c, d, e, f, g, h];
        10
    }
}

/// Appends an unmasked frame (a server's) holding `prefix` then `body`.
fn encode(out: &mut BytesMut, opcode: u8, prefix: &[u8], body: &[u8]) {
    let len = prefix.len() + body.len();
    out.reserve(10 + len);
    out.put_u8(0x80 | opcode);
    if len < 126 {
        out.put_u8(len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.put_u8(126);
        out.put_u16(len);
    } else {
        out.put_u8(127);
        out.put_u64(len as u64);
    }
    out.put_slice(prefix);
    out.put_slice(body);
}

/// Unmasks a client payload in place (RFC 6455 §5.3): sixteen bytes at a time (a loop the
/// compiler turns into vector instructions), then byte by byte.
fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    if mask == [0; 4] {
        return;
    }
    let mut wide = [0u8; 16];
    for (key, &byte) in wide.iter_mut().zip(mask.iter().cycle()) {
        *key = byte;
    }
    let mut chunks = payload.chunks_exact_mut(16);
    for chunk in &mut chunks {
        for (byte, key) in chunk.iter_mut().zip(wide) {
            *byte ^= key;
        }
    }
    // Each chunk was a multiple of four bytes long, so the rest starts at mask[0].
    for (byte, key) in chunks.into_remainder().iter_mut().zip(mask.iter().cycle()) {
        *byte ^= key;
    }
}

/// Whether a peer may send this close code (RFC 6455 §7.4).
fn valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmasking_matches_the_byte_by_byte_definition() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        for len in 0..70u8 {
            let original: Vec<u8> = (0..len).collect();
            let mut data = original.clone();
            unmask(&mut data, mask);
            for (i, (a, b)) in data.iter().zip(&original).enumerate() {
                assert_eq!(*a, b ^ mask[i % 4], "byte {i} of {len}");
            }
        }
    }

    #[test]
    fn frames_are_encoded_with_the_shortest_length() {
        let mut out = BytesMut::new();
        encode(&mut out, OP_TEXT, &[], b"hi");
        assert_eq!(&out[..], b"\x81\x02hi");
        let mut out = BytesMut::new();
        encode(&mut out, OP_BINARY, b"b", &[0; 200]);
        assert_eq!(&out[..4], &[0x82, 126, 0, 201]);
        let mut out = BytesMut::new();
        encode(&mut out, OP_TEXT, &[], &vec![0; 70_000]);
        assert_eq!(&out[..10], &[0x81, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    }

    #[test]
    fn a_header_written_alone_is_the_one_of_the_encoded_frame() {
        for (opcode, len) in [
            (OP_TEXT, 0),
            (OP_TEXT, 125),
            (OP_BINARY, 126),
            (OP_TEXT, 70_000),
        ] {
            let mut whole = BytesMut::new();
            encode(&mut whole, opcode, &[], &vec![7; len]);
            let mut head = [0u8; 10];
            let n = encode_header(&mut head, opcode, len);
            assert_eq!(&head[..n], &whole[..whole.len() - len]);
        }
    }
}
