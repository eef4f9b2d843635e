//! Messages: what the upper layer sends and receives through a session.

use bytes::Bytes;

/// A UTF-8 string held in shared bytes, so that a message received from a peer is handed up
/// without a copy and a message to send can be shared between sessions.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Str(Bytes);

impl Str {
    /// Wraps bytes that must be valid UTF-8; returns the bytes back if they are not.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, Bytes> {
        match std::str::from_utf8(&bytes) {
            Ok(_) => Ok(Str(bytes)),
            Err(_) => Err(bytes),
        }
    }

    /// Wraps bytes the caller has already validated as UTF-8 (the tail of a validated text
    /// after an ASCII byte).
    pub(crate) fn from_utf8_unchecked_ascii_split(bytes: Bytes) -> Self {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Str(bytes)
    }

    /// The text. Without `unsafe` the bytes are checked again here; the check is linear and
    /// cheap next to any use of the text, and it cannot fail for a `Str` built by this crate.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The UTF-8 bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The UTF-8 bytes, by value.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
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
        Str(Bytes::from(s))
    }
}

impl From<&'static str> for Str {
    fn from(s: &'static str) -> Self {
        Str(Bytes::from_static(s.as_bytes()))
    }
}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
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
