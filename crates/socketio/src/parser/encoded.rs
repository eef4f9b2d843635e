//! [`Encoded`]: a packet ready for the wire, encoded once and shared by every recipient.

use bytes::Bytes;
use bytestring::ByteString;

/// The Engine.IO `message` packet type, which prefixes every text message on the wire.
pub(crate) const MESSAGE_PREFIX: u8 = b'4';

/// A packet encoded as the Engine.IO messages that carry it: at most one text message, then
/// binary messages, to be sent in that order.
///
/// * JSON parser: the text packet, then one binary message per attachment.
/// * msgpack parser: no text, one binary message.
///
/// Everything is in shared [`Bytes`], so cloning is cheap and a broadcast encodes once and hands
/// the same bytes to every socket.
///
/// The text is stored **with** the Engine.IO `message` type byte `4` in front
/// ([`text_with_prefix`](Encoded::text_with_prefix)), exactly what an Engine.IO v4 WebSocket text
/// frame or a polling payload entry holds, so the Engine.IO layer writes it without a copy;
/// [`text`](Encoded::text) gives the Socket.IO packet alone (a cheap slice of the same bytes).
///
/// ```
/// use socketio::{JsonParser, Parser};
///
/// let enc = JsonParser::default().encode_event("/admin", "hi", &(1,), Some(7)).unwrap();
/// assert_eq!(enc.text_with_prefix().map(|b| &b[..]), Some(&b"42/admin,7[\"hi\",1]"[..]));
/// assert_eq!(enc.text().as_deref(), Some(&b"2/admin,7[\"hi\",1]"[..]));
/// assert!(enc.binaries().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// `4` + the text packet, UTF-8 by its type, so Engine.IO need not check it again.
    text: Option<ByteString>,
    binaries: Vec<Bytes>,
}

impl Encoded {
    /// A text packet (which must start with the `4` prefix) and its attachments.
    pub(crate) fn text_and_attachments(
        text_with_prefix: ByteString,
        attachments: Vec<Bytes>,
    ) -> Encoded {
        Encoded {
            text: Some(text_with_prefix),
            binaries: attachments,
        }
    }

    /// A packet that is a single binary message.
    #[cfg_attr(not(feature = "msgpack"), allow(dead_code))]
    pub(crate) fn binary(message: Bytes) -> Encoded {
        Encoded {
            text: None,
            binaries: vec![message],
        }
    }

    /// The text message as it goes on an Engine.IO v4 transport: `4` followed by the Socket.IO
    /// text packet (e.g. `42["hi"]`). `None` for a parser that writes only binary.
    pub fn text_with_prefix(&self) -> Option<&Bytes> {
        self.text.as_ref().map(ByteString::as_bytes)
    }

    /// [`text_with_prefix`](Encoded::text_with_prefix) as the UTF-8 text it is.
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn text_utf8(&self) -> Option<&ByteString> {
        self.text.as_ref()
    }

    /// The Socket.IO text packet without the Engine.IO prefix (e.g. `2["hi"]`); a slice of the
    /// same bytes, no copy.
    pub fn text(&self) -> Option<Bytes> {
        self.text.as_ref().map(|t| t.as_bytes().slice(1..))
    }

    /// The binary messages that follow the text (attachments), or the whole packet for a
    /// binary-only parser, in sending order.
    pub fn binaries(&self) -> &[Bytes] {
        &self.binaries
    }

    /// Number of Engine.IO messages this packet takes.
    pub fn message_count(&self) -> usize {
        usize::from(self.text.is_some()) + self.binaries.len()
    }

    /// Total size of the messages in bytes (text counted with its prefix).
    pub fn len(&self) -> usize {
        self.text.as_ref().map_or(0, |t| t.len())
            + self.binaries.iter().map(Bytes::len).sum::<usize>()
    }

    /// Whether there is nothing to send (never true for an encoded packet).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The parts: the text with its `4` prefix, and the binary messages.
    pub fn into_parts(self) -> (Option<Bytes>, Vec<Bytes>) {
        (self.text.map(ByteString::into_bytes), self.binaries)
    }

    /// The parts, the text as UTF-8 text.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn into_text_parts(self) -> (Option<ByteString>, Vec<Bytes>) {
        (self.text, self.binaries)
    }
}
