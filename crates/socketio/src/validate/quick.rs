//! A one-pass check of the JSON text of a packet, for the common case: it accepts only text
//! that serde_json accepts too (the text is a `str`, so its UTF-8 is known; text outside
//! strings must be ASCII), and reads an event name that is a plain string. It answers `None`
//! for anything else (an error, a name with escapes or a number, nesting deeper than 128),
//! and the caller then asks serde_json, whose answer (and error) is the reference.
//!
//! Strings, most of a packet's bytes, are scanned sixteen bytes at a time.

use smol_str::SmolStr;

use crate::json_text::plain_words;

/// The event name (for an event) or nothing, when `json` is valid and plain enough; `None`
/// when serde_json must decide.
pub(super) fn check(json: &str, event: bool) -> Option<Option<SmolStr>> {
    let mut scan = Scanner {
        b: json.as_bytes(),
        at: 0,
    };
    let name = if event {
        scan.whitespace();
        scan.eat(b'[')?;
        scan.whitespace();
        if scan.peek()? != b'"' {
            return None;
        }
        let start = scan.at + 1;
        if scan.string()? {
            // serde_json unescapes it.
            return None;
        }
        // Between two quotes, which are ASCII: whole characters.
        let name = json.get(start..scan.at - 1)?;
        if super::is_reserved_event(name) {
            return None;
        }
        let name = SmolStr::new(name);
        scan.rest(Nesting::inside_array())?;
        Some(name)
    } else {
        scan.rest(Nesting::top())?;
        None
    };
    scan.whitespace();
    (scan.at == json.len()).then_some(name)
}

/// The open arrays and objects, innermost in the lowest bit: a set bit is an object.
#[derive(Clone, Copy)]
struct Nesting {
    kinds: u128,
    depth: u32,
}

impl Nesting {
    const MAX_DEPTH: u32 = 128;

    fn top() -> Self {
        Nesting { kinds: 0, depth: 0 }
    }

    fn inside_array() -> Self {
        Nesting { kinds: 0, depth: 1 }
    }

    fn push(&mut self, object: bool) -> Option<()> {
        if self.depth == Self::MAX_DEPTH {
            return None;
        }
        self.kinds = (self.kinds << 1) | u128::from(object);
        self.depth += 1;
        Some(())
    }

    fn pop(&mut self) {
        self.kinds >>= 1;
        self.depth -= 1;
    }

    fn in_object(self) -> bool {
        self.kinds & 1 == 1
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    at: usize,
}

fn is_special(c: u8) -> bool {
    c < 0x20 || c == b'"' || c == b'\\'
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.at += 1)
    }

    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// A value, then whatever closes the containers open in `nesting` (and the values that
    /// follow in them), iteratively.
    fn rest(&mut self, mut nesting: Nesting) -> Option<()> {
        // Whether the next thing is a value (else: a comma or a closing bracket).
        let mut want_value = nesting.depth == 0;
        loop {
            self.whitespace();
            if want_value {
                match self.peek()? {
                    b'[' => {
                        self.at += 1;
                        nesting.push(false)?;
                        self.whitespace();
                        if self.peek()? != b']' {
                            continue;
                        }
                        self.at += 1;
                        nesting.pop();
                    }
                    b'{' => {
                        self.at += 1;
                        nesting.push(true)?;
                        self.whitespace();
                        if self.peek()? != b'}' {
                            self.key()?;
                            continue;
                        }
                        self.at += 1;
                        nesting.pop();
                    }
                    b'"' => {
                        self.string()?;
                    }
                    b'-' | b'0'..=b'9' => self.number()?,
                    b'n' => self.literal(b"null")?,
                    b't' => self.literal(b"true")?,
                    b'f' => self.literal(b"false")?,
                    _ => return None,
                }
                want_value = false;
                if nesting.depth == 0 {
                    return Some(());
                }
                continue;
            }
            match self.peek()? {
                b',' => {
                    self.at += 1;
                    if nesting.in_object() {
                        self.whitespace();
                        self.key()?;
                    }
                    want_value = true;
                }
                b']' if !nesting.in_object() => {
                    self.at += 1;
                    nesting.pop();
                }
                b'}' if nesting.in_object() => {
                    self.at += 1;
                    nesting.pop();
                }
                _ => return None,
            }
            if nesting.depth == 0 {
                return Some(());
            }
        }
    }

    /// `"key":`, at the quote.
    fn key(&mut self) -> Option<()> {
        if self.peek()? != b'"' {
            return None;
        }
        self.string()?;
        self.whitespace();
        self.eat(b':')
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.b.get(self.at..end)? == word).then(|| self.at = end)
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        self.at - start
    }

    /// JSON's number grammar, as serde_json reads it: no leading zeros, digits after `.` and
    /// after an exponent.
    fn number(&mut self) -> Option<()> {
        if self.peek()? == b'-' {
            self.at += 1;
        }
        match self.peek()? {
            b'0' => {
                self.at += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return None;
                }
            }
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    /// A string, at its opening quote; leaves `at` after the closing one. Returns whether it
    /// holds an escape.
    fn string(&mut self) -> Option<bool> {
        let b = self.b;
        let mut at = self.at + 1;
        let mut escaped = false;
        loop {
            // Sixteen plain bytes at a time; stop at the word holding a special byte.
            at += plain_words(b.get(at..).unwrap_or_default());
            // Then byte by byte, at most sixteen, up to the special byte.
            let end = b.len().min(at + 16);
            at += b
                .get(at..end)
                .unwrap_or_default()
                .iter()
                .take_while(|&&c| !is_special(c))
                .count();
            match *b.get(at)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.at = at;
                    self.escape()?;
                    at = self.at;
                }
                c if c < 0x20 => return None,
                // Sixteen plain bytes without a special one: go on.
                _ => {}
            }
        }
        self.at = at + 1;
        Some(escaped)
    }

    /// An escape, at its backslash.
    fn escape(&mut self) -> Option<()> {
        match *self.b.get(self.at + 1)? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 2,
            b'u' => {
                let hex = self.b.get(self.at + 2..self.at + 6)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                self.at += 6;
            }
            _ => return None,
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use smol_str::SmolStr;

    use super::check;
    use crate::json_text::tests::json_value;
    use crate::validate::check_json_text;

    /// Whatever the quick check accepts, serde_json accepts with the same event name. Only
    /// UTF-8 text reaches either (the decoder reads text that the transport checked).
    fn agrees_with_serde_json(json: &[u8], event: bool) -> Result<(), TestCaseError> {
        let Ok(json) = std::str::from_utf8(json) else {
            return Ok(());
        };
        if let Some(name) = check(json, event) {
            let reference = check_json_text(json, event);
            prop_assert_eq!(reference, Ok(name), "{}", json);
        }
        Ok(())
    }

    /// An event as a client writes it, compact or spaced out.
    fn event_text(name: &str, args: &[serde_json::Value], pretty: bool) -> Vec<u8> {
        let mut all = vec![serde_json::Value::from(name)];
        all.extend_from_slice(args);
        let all = serde_json::Value::from(all);
        if pretty {
            serde_json::to_vec_pretty(&all).unwrap()
        } else {
            serde_json::to_vec(&all).unwrap()
        }
    }

    /// Bytes that matter to JSON, to break valid text with.
    const EDITS: &[u8] = b"[]{}\",:\\u0123456789.eE+- \t\nnultrfas/\x00\x1f\x7f\x80\xc3\xa9\xff";

    /// Pieces of JSON, valid and not, to put together at random.
    const TOKENS: &[&[u8]] = &[
        b"[",
        b"]",
        b"{",
        b"}",
        b",",
        b":",
        b" ",
        b"\n",
        b"\"k\"",
        b"\"\\u00e9\\/\"",
        b"\"\\u12\"",
        b"\"\\q\"",
        b"\"\x01\"",
        b"\"\xc3\xa9\"",
        b"\"\xc3\"",
        b"\"",
        b"0",
        b"01",
        b"-0",
        b"-",
        b"1.",
        b"1.5",
        b".5",
        b"1e",
        b"1E+5",
        b"2e-",
        b"+1",
        b"123456789012345678901234567890",
        b"1e400",
        b"null",
        b"nul",
        b"true",
        b"false",
        b"fals",
        b"\x7f",
        b"\xff",
    ];

    proptest! {
        #[test]
        fn plain_events_are_checked_in_one_pass_with_serde_json_s_answer(
            name in "[a-z_:\u{e9}\u{1F600} ]{1,12}",
            args in prop::collection::vec(json_value(), 0..4),
            pretty in any::<bool>(),
        ) {
            prop_assume!(!crate::is_reserved_event(&name));
            let text = event_text(&name, &args, pretty);
            // The quick path must take it (else it saves nothing), with serde_json's name.
            let text = String::from_utf8(text).unwrap();
            prop_assert_eq!(check(&text, true), Some(Some(SmolStr::new(&name))));
            let text = text.into_bytes();
            agrees_with_serde_json(&text, true)?;
        }

        #[test]
        fn plain_values_are_checked_in_one_pass(value in json_value(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_vec_pretty(&value).unwrap()
            } else {
                serde_json::to_vec(&value).unwrap()
            };
            let text = String::from_utf8(text).unwrap();
            prop_assert_eq!(check(&text, false), Some(None));
            let text = text.into_bytes();
            agrees_with_serde_json(&text, false)?;
        }

        #[test]
        fn broken_text_is_never_accepted_where_serde_json_refuses_it(
            name in "[a-z\\\\\"]{0,4}",
            args in prop::collection::vec(json_value(), 0..3),
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, prop::sample::select(EDITS)), 1..4),
        ) {
            let mut text = event_text(&name, &args, false);
            for (at, how, byte) in edits {
                let at = at.index(text.len() + 1);
                match how {
                    0 => text.insert(at, byte),
                    1 if at < text.len() => { text.remove(at); }
                    _ if at < text.len() => text[at] = byte,
                    _ => text.push(byte),
                }
            }
            agrees_with_serde_json(&text, true)?;
            agrees_with_serde_json(&text, false)?;
        }

        #[test]
        fn token_soup_is_never_accepted_where_serde_json_refuses_it(
            tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..14),
        ) {
            let mut text = b"[\"e\",".to_vec();
            for token in &tokens {
                text.extend_from_slice(token);
            }
            agrees_with_serde_json(&text, true)?;
            agrees_with_serde_json(text.get(5..).unwrap_or_default(), false)?;
        }

        #[test]
        fn arbitrary_bytes_are_never_accepted_where_serde_json_refuses_them(
            text in prop::collection::vec(prop::sample::select(EDITS), 0..40),
        ) {
            agrees_with_serde_json(&text, true)?;
            agrees_with_serde_json(&text, false)?;
        }
    }

    #[test]
    fn what_serde_json_must_decide_is_left_to_it() {
        // A bad escape, a control character, a leading zero, a missing exponent, trailing
        // text, an escaped or numeric or reserved name.
        for text in [
            "[\"a\",\"\\x\"]",
            "[\"a\",\"\x01\"]",
            "[\"a\",01]",
            "[\"a\",1e]",
            "[\"a\"] x",
            "[\"a\\n\"]",
            "[1]",
            "[\"connect\"]",
            "[]",
            "[\"a\",]",
            "{\"a\":1,}",
        ] {
            assert_eq!(check(text, true), None, "{text}");
        }
        let deep = format!("[\"a\",{}{}]", "[".repeat(200), "]".repeat(200));
        assert_eq!(check(&deep, true), None);
        let deep_enough = format!("[\"a\",{}{}]", "[".repeat(126), "]".repeat(126));
        assert_eq!(check(&deep_enough, true), Some(Some(SmolStr::new("a"))));
    }
}
