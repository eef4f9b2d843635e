//! Session ids: 15 bytes from the operating system's cryptographic random source, written in
//! URL-safe base64, so always 20 characters (the shape of Node's base64id).

use std::cell::RefCell;
use std::hash::{BuildHasher, Hash, Hasher};

use base64::Engine as _;

/// A session id.
///
/// Hashed as one word folded from its bytes (see [`SidHasher`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sid([u8; 20]);

/// Raw bytes of one id.
const RAW: usize = 15;
/// Ids' worth of randomness read from the operating system at once.
const POOL_IDS: usize = 32;

/// Randomness from the operating system not yet used, per thread: one `getrandom` call gives
/// the bytes of 32 ids (as Node's base64id keeps a pool of random bytes), instead of a system
/// call for each. Every byte is used once and wiped when taken.
struct Pool {
    bytes: [u8; RAW * POOL_IDS],
    /// Where the unused bytes start; `bytes.len()` when the pool is empty.
    next: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = const {
        RefCell::new(Pool { bytes: [0; RAW * POOL_IDS], next: RAW * POOL_IDS })
    };
}

/// Fills `raw` from this thread's pool, refilling it from the operating system when empty.
fn random_id_bytes(raw: &mut [u8; RAW]) -> std::io::Result<()> {
    let from_pool = POOL.try_with(|pool| {
        let Ok(mut pool) = pool.try_borrow_mut() else {
            return Ok(false);
        };
        if pool.next >= pool.bytes.len() {
            getrandom::fill(&mut pool.bytes).map_err(std::io::Error::other)?;
            pool.next = 0;
        }
        let start = pool.next;
        let Some(taken) = pool.bytes.get_mut(start..start + RAW) else {
            return Ok(false);
        };
        raw.copy_from_slice(taken);
        taken.fill(0);
        pool.next = start + RAW;
        Ok(true)
    });
    match from_pool {
        Ok(Ok(true)) => Ok(()),
        Ok(Err(e)) => Err(e),
        // No pool on this thread (it is being torn down): straight from the system.
        Ok(Ok(false)) | Err(_) => getrandom::fill(raw).map_err(std::io::Error::other),
    }
}

impl Sid {
    /// A fresh random id. Fails only if the operating system's random source does.
    pub fn generate() -> std::io::Result<Self> {
        let mut raw = [0u8; RAW];
        random_id_bytes(&mut raw)?;
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

    /// The id's bytes folded into one word: every byte counts, and equal ids fold equal.
    fn folded(&self) -> u64 {
        let [
            a0,
            a1,
            a2,
            a3,
            a4,
            a5,
            a6,
            a7,
            b0,
            b1,
            b2,
            b3,
            b4,
            b5,
            b6,
            b7,
            c0,
            c1,
            c2,
            c3,
        ] = self.0;
        let a = u64::from_le_bytes([a0, a1, a2, a3, a4, a5, a6, a7]);
        let b = u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]);
        let c = u64::from(u32::from_le_bytes([c0, c1, c2, c3]));
        a ^ b.rotate_left(23) ^ c.rotate_left(45)
    }
}

impl Hash for Sid {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.folded());
    }
}

/// A hasher for maps keyed by [`Sid`]: one multiply per id instead of SipHash over 20 bytes.
///
/// Keyed maps need SipHash's secret keys when a peer chooses the keys that go in (to keep it
/// from filling one bucket). A server's ids are drawn from the operating system's random
/// source and never chosen by a peer: a peer only ever looks one up. Each map still gets a
/// seed of its own, so that copying one map into another in its iteration order does not
/// crowd the new map's buckets. Other keys are hashed with a simple rotate-and-xor, good for
/// spreading but not for keys a peer picks.
#[derive(Clone, Copy, Debug)]
pub struct SidHasher(u64);

impl Hasher for SidHasher {
    fn finish(&self) -> u64 {
        let wide = u128::from(self.0) * 0x9E37_79B9_7F4A_7C15;
        (wide as u64) ^ ((wide >> 64) as u64)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.rotate_left(26) ^ n;
    }
}

/// Builds [`SidHasher`]s with a seed drawn for each map: `HashMap<Sid, V, BuildSidHasher>`.
#[derive(Clone, Copy, Debug)]
pub struct BuildSidHasher {
    seed: u64,
}

impl Default for BuildSidHasher {
    fn default() -> Self {
        BuildSidHasher {
            seed: std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64),
        }
    }
}

impl BuildHasher for BuildSidHasher {
    type Hasher = SidHasher;

    fn build_hasher(&self) -> SidHasher {
        SidHasher(self.seed)
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
    fn ids_taken_from_the_pool_are_all_different_past_its_refills() {
        // 32 ids per refill: 1000 ids on each of two threads go through many refills.
        let make = || {
            (0..1000)
                .map(|_| Sid::generate().unwrap())
                .collect::<Vec<_>>()
        };
        let other = std::thread::spawn(make);
        let mut ids = make();
        ids.extend(other.join().unwrap());
        let distinct: std::collections::HashSet<&str> = ids.iter().map(Sid::as_str).collect();
        assert_eq!(distinct.len(), 2000);
        assert!(ids.iter().all(|id| Sid::parse(id.as_str()) == Some(*id)));
        // The bytes are random: each of the 64 characters shows up (40 000 draws).
        let chars: std::collections::HashSet<u8> =
            ids.iter().flat_map(|id| id.as_str().bytes()).collect();
        assert_eq!(chars.len(), 64);
    }

    #[test]
    fn maps_keyed_by_ids_spread_them_and_find_them() {
        let ids: Vec<Sid> = (0..4096).map(|_| Sid::generate().unwrap()).collect();
        let build = BuildSidHasher::default();
        // Equal ids hash equal, whatever their copy.
        let copy = Sid::parse(ids[0].as_str()).unwrap();
        assert_eq!(build.hash_one(ids[0]), build.hash_one(copy));
        // 4096 random keys into 4096 buckets by the low bits (as hashbrown picks buckets)
        // fill about 63% of them; a poor hash fills far fewer.
        let low: std::collections::HashSet<u64> =
            ids.iter().map(|id| build.hash_one(id) & 4095).collect();
        assert!(low.len() > 2300, "{} buckets", low.len());
        // The top 7 bits (hashbrown's tag) take every value.
        let top: std::collections::HashSet<u64> =
            ids.iter().map(|id| build.hash_one(id) >> 57).collect();
        assert_eq!(top.len(), 128);
        // Two maps hash the same id differently (their own seeds).
        assert_ne!(
            BuildSidHasher::default().hash_one(ids[0]),
            BuildSidHasher::default().hash_one(ids[0])
        );
        let mut map: std::collections::HashMap<Sid, usize, BuildSidHasher> =
            std::collections::HashMap::default();
        for (i, id) in ids.iter().enumerate() {
            map.insert(*id, i);
        }
        // Copied in the first map's order into a fresh one.
        let mut copied: std::collections::HashMap<Sid, usize, BuildSidHasher> =
            std::collections::HashMap::default();
        copied.extend(map.iter().map(|(id, i)| (*id, *i)));
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(map.get(id), Some(&i));
            assert_eq!(copied.remove(id), Some(i));
        }
        assert!(copied.is_empty());
    }

    #[test]
    fn foreign_ids_are_refused() {
        assert_eq!(Sid::parse("short"), None);
        assert_eq!(Sid::parse("__proto__xxxxxxxxxxx/"), None);
        assert_eq!(Sid::parse("aaaaaaaaaaaaaaaaaaa/"), None);
    }
}
