//! Messages: what the upper layer sends and receives through a session.

use bytes::{Buf, Bytes};
use bytestring::ByteString;

/// A UTF-8 string held in shared bytes, so that a message received from a peer is handed up
/// without a copy and a message to send can be shared between sessions. The text is a suffix
/// of a [`ByteString`] (a received message keeps the packet type byte before it), so reading it
/// as a `str` needs no second UTF-8 check.
#[derive(Clone, Default)]
pub struct Str {
    text: ByteString,
    /// Where the string starts in `text`: after ASCII bytes, so at a character boundary.
    start: usize,
}

impl Str {
    /// Wraps bytes that must be valid UTF-8.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        Ok(Str {
            text: ByteString::try_from(bytes)?,
            start: 0,
        })
    }

    /// The end of `text` from byte `start`, or `None` if `start` is not a character boundary
    /// of it (the reverse of [`into_parts`](Str::into_parts)): no UTF-8 check.
    pub fn from_parts(text: ByteString, start: usize) -> Option<Self> {
        text.is_char_boundary(start)
            .then(|| Str::suffix(text, start))
    }

    /// The part of `text` after its first `start` bytes, which must be ASCII.
    pub(crate) fn suffix(text: ByteString, start: usize) -> Self {
        debug_assert!(text.is_char_boundary(start));
        Str { text, start }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        self.text.get(self.start..).unwrap_or_default()
    }

    /// The UTF-8 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.as_str().as_bytes()
    }

    /// The UTF-8 bytes, by value.
    pub fn into_bytes(self) -> Bytes {
        let mut bytes = self.text.into_bytes();
        bytes.advance(self.start.min(bytes.len()));
        bytes
    }

    /// The text as the UTF-8 text it is a suffix of, and where it starts in it (for a reader
    /// that keeps reading it as `str`, a header before it left in place).
    pub fn into_parts(self) -> (ByteString, usize) {
        (self.text, self.start)
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.as_str().len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.as_str().is_empty()
    }
}

impl std::fmt::Debug for Str {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Str {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for Str {
    fn from(s: String) -> Self {
        Str::from(ByteString::from(s))
    }
}

impl From<&'static str> for Str {
    fn from(s: &'static str) -> Self {
        Str::from(ByteString::from_static(s))
    }
}

impl From<ByteString> for Str {
    fn from(text: ByteString) -> Self {
        Str { text, start: 0 }
    }
}

impl PartialEq for Str {
    fn eq(&self, other: &Str) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Str {}

impl std::hash::Hash for Str {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// An Engine.IO message: text or binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(Str),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// Length of the data in bytes.
    pub fn len(&self) -> usize {
        match self {
            Message::Text(t) => t.len(),
            Message::Binary(b) => b.len(),
        }
    }

    /// Whether the data is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<&'static str> for Message {
    fn from(s: &'static str) -> Self {
        Message::Text(Str::from(s))
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(Str::from(s))
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Self {
        Message::Binary(b)
    }
}

impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Self {
        Message::Binary(Bytes::from(b))
    }
}

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasher, RandomState};

    use super::*;

    #[test]
    fn a_suffix_reads_as_the_text_after_its_start() {
        let text = Str::suffix(ByteString::from_static("4héllo"), 1);
        assert_eq!(text.as_str(), "héllo");
        assert_eq!(text.as_bytes(), "héllo".as_bytes());
        assert_eq!(text.len(), 6);
        assert_eq!(text, Str::from("héllo"));
        let hasher = RandomState::new();
        assert_eq!(hasher.hash_one(&text), hasher.hash_one(Str::from("héllo")));
        let (whole, start) = text.clone().into_parts();
        assert_eq!((&whole[..], start), ("4héllo", 1));
        assert_eq!(Str::from_parts(whole.clone(), start), Some(text.clone()));
        // Inside the two bytes of `é`, or past the end.
        assert_eq!(Str::from_parts(whole.clone(), 3), None);
        assert_eq!(Str::from_parts(whole, 8), None);
        assert_eq!(text.into_bytes(), Bytes::from_static("héllo".as_bytes()));
    }

    #[test]
    fn only_utf8_bytes_make_a_str() {
        assert_eq!(
            Str::from_utf8(Bytes::from_static("é".as_bytes())).map(|s| s.len()),
            Ok(2)
        );
        assert!(Str::from_utf8(Bytes::from_static(b"\xff")).is_err());
    }
}
