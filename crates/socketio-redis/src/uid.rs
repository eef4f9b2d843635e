//! Random identifiers: a server's `uid` and request ids, from the same alphabet as npm `uid2`.

const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A random alphanumeric string of `len` characters.
pub(crate) fn random_id(len: usize) -> String {
    let mut raw = vec![0u8; len];
    if getrandom::fill(&mut raw).is_err() {
        // No system randomness: fall back to the clock and a counter, still unique per process.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for (i, b) in raw.iter_mut().enumerate() {
            *b = (seed >> ((i % 16) * 8)) as u8 ^ (n >> ((i % 8) * 8)) as u8 ^ (i as u8);
        }
    }
    raw.iter()
        .map(|b| {
            let i = usize::from(*b) % ALPHABET.len();
            char::from(ALPHABET.get(i).copied().unwrap_or(b'A'))
        })
        .collect()
}

/// `bytes` random bytes as lowercase hex (the ids of Node's `ClusterAdapter`).
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    if getrandom::fill(&mut raw).is_err() {
        return random_id(bytes * 2).to_ascii_lowercase();
    }
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_alphanumeric_and_differ() {
        let a = super::random_id(6);
        assert_eq!(a.len(), 6);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(super::random_id(16), super::random_id(16));
    }
}
