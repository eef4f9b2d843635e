//! Session ids: 15 bytes from the operating system's cryptographic random source, written in
//! URL-safe base64, so always 20 characters (the shape of Node's base64id).

use base64::Engine as _;

/// A session id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sid([u8; 20]);

impl Sid {
    /// A fresh random id. Fails only if the operating system's random source does.
    pub fn generate() -> std::io::Result<Self> {
        let mut raw = [0u8; 15];
        getrandom::fill(&mut raw).map_err(std::io::Error::other)?;
        let mut out = [0u8; 20];
        let written = base64::engine::general_purpose::URL_SAFE
            .encode_slice(raw, &mut out)
            .map_err(std::io::Error::other)?;
        debug_assert_eq!(written, 20);
        Ok(Sid(out))
    }

    /// Parses an id received from a peer: exactly 20 URL-safe base64 characters.
    pub fn parse(s: &str) -> Option<Self> {
        let bytes: [u8; 20] = s.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
            .then_some(Sid(bytes))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored, so this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Debug for Sid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Sid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_20_url_safe_chars_and_parse_back() {
        let a = Sid::generate().unwrap();
        let b = Sid::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 20);
        assert_eq!(Sid::parse(a.as_str()), Some(a));
    }

    #[test]
    fn foreign_ids_are_refused() {
        assert_eq!(Sid::parse("short"), None);
        assert_eq!(Sid::parse("__proto__xxxxxxxxxxx/"), None);
        assert_eq!(Sid::parse("aaaaaaaaaaaaaaaaaaa/"), None);
    }
}
