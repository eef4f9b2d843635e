//! The delay before each reconnection attempt: exponential backoff with jitter, computed as
//! socket.io-client computes it (PROTOCOL-FACTS §5), so that a fleet of Rust clients spreads its
//! reconnections over time exactly as browsers do.
//!
//! delay = min × 2^attempts (then `attempts` grows by one); with a jitter `j` in (0, 1], **one**
//! random `r` in [0, 1) gives both the size of the deviation, `floor(r × j × delay)`, and its
//! sign: subtracted when `floor(r × 10)` is even, added when odd. The result is capped at max
//! and truncated to a 32-bit integer, like JavaScript's `| 0`.

use std::time::Duration;

/// The backoff state of one Manager.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    min_ms: f64,
    max_ms: f64,
    /// 0 disables the jitter; only (0, 1] is used, as in the official client.
    jitter: f64,
    attempts: u32,
}

impl Backoff {
    /// `min` and `max` are the `reconnectionDelay` and `reconnectionDelayMax` options, `jitter`
    /// the `randomizationFactor`; a jitter outside (0, 1] means none.
    pub(crate) fn new(min: Duration, max: Duration, jitter: f64) -> Backoff {
        Backoff {
            min_ms: min.as_millis() as f64,
            max_ms: max.as_millis() as f64,
            jitter: if jitter > 0.0 && jitter <= 1.0 {
                jitter
            } else {
                0.0
            },
            attempts: 0,
        }
    }

    /// The next delay; counts one more attempt.
    pub(crate) fn duration(&mut self) -> Duration {
        // Drawn only when it is used, as the official client does.
        let r = if self.jitter > 0.0 {
            random_unit()
        } else {
            0.0
        };
        self.duration_with(r)
    }

    /// The next delay for a given random number `r` in [0, 1).
    pub(crate) fn duration_with(&mut self, r: f64) -> Duration {
        let mut ms = self.min_ms * 2f64.powf(f64::from(self.attempts));
        self.attempts = self.attempts.saturating_add(1);
        if self.jitter > 0.0 {
            let deviation = (r * self.jitter * ms).floor();
            // `& 1` of JavaScript on a small non-negative integer: its parity.
            let odd = (r * 10.0).floor() % 2.0 != 0.0;
            ms = if odd { ms + deviation } else { ms - deviation };
        }
        // A negative delay is a zero delay for `setTimeout`.
        let ms = to_int32(ms.min(self.max_ms)).max(0);
        Duration::from_millis(ms.unsigned_abs().into())
    }

    /// The attempts counted since the last reset.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Starts over (after a successful reconnection, and when the connection closes).
    pub(crate) fn reset(&mut self) {
        self.attempts = 0;
    }
}

/// JavaScript's `ToInt32`: truncation, then wrapping modulo 2^32 into the signed range.
fn to_int32(x: f64) -> i32 {
    if !x.is_finite() {
        return 0;
    }
    const TWO_32: f64 = 4_294_967_296.0;
    let mut n = x.trunc() % TWO_32;
    if n < 0.0 {
        n += TWO_32;
    }
    if n >= TWO_32 / 2.0 {
        n -= TWO_32;
    }
    n as i32
}

/// A uniform random number in [0, 1) from the operating system's generator (53 random bits,
/// as many as an `f64` holds). A failing generator gives 0, i.e. no jitter.
fn random_unit() -> f64 {
    let bits = getrandom::u64().unwrap_or(0) >> 11;
    bits as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Backoff {
        Backoff::new(
            Duration::from_millis(1000),
            Duration::from_millis(5000),
            0.5,
        )
    }

    fn ms(d: Duration) -> u128 {
        d.as_millis()
    }

    #[test]
    fn without_jitter_the_delay_doubles_up_to_the_maximum() {
        let mut b = Backoff::new(
            Duration::from_millis(1000),
            Duration::from_millis(5000),
            0.0,
        );
        let seq: Vec<u128> = (0..5).map(|_| ms(b.duration())).collect();
        assert_eq!(seq, [1000, 2000, 4000, 5000, 5000]);
        assert_eq!(b.attempts(), 5);
    }

    #[test]
    fn one_random_number_sets_both_the_size_and_the_sign_of_the_deviation() {
        // r = 0.25: deviation floor(0.25 × 0.5 × 1000) = 125; floor(2.5) = 2 is even: minus.
        assert_eq!(ms(defaults().duration_with(0.25)), 875);
        // r = 0.35: deviation 175; floor(3.5) = 3 is odd: plus.
        assert_eq!(ms(defaults().duration_with(0.35)), 1175);
        // r = 0: no deviation.
        assert_eq!(ms(defaults().duration_with(0.0)), 1000);
        // r close to 1: deviation 499, floor(9.99) = 9 is odd: plus.
        assert_eq!(ms(defaults().duration_with(0.999)), 1499);
        // r = 0.1999: deviation floor(99.95) = 99, floor(1.999) = 1 is odd: plus.
        assert_eq!(ms(defaults().duration_with(0.1999)), 1099);
        // r = 0.2: deviation 100, floor(2.0) = 2 is even: minus.
        assert_eq!(ms(defaults().duration_with(0.2)), 900);
    }

    #[test]
    fn later_attempts_deviate_from_the_doubled_delay_and_are_capped() {
        let mut b = defaults();
        assert_eq!(ms(b.duration_with(0.999)), 1499); // 1000 + 499
        assert_eq!(ms(b.duration_with(0.999)), 2999); // 2000 + 999
        assert_eq!(ms(b.duration_with(0.25)), 3500); // 4000 − 500
        assert_eq!(ms(b.duration_with(0.999)), 5000); // 8000 + 3996, capped
        assert_eq!(ms(b.duration_with(0.0)), 5000); // 16000, capped
    }

    #[test]
    fn default_delays_stay_within_the_documented_ranges() {
        // PROTOCOL-FACTS §5: attempt 0 → 500–1500 ms, 1 → 1000–3000 ms, 2 → 2000–5000 ms,
        // later ≤ 5000 ms; checked over a grid of random numbers.
        let ranges = [
            (500, 1500),
            (1000, 3000),
            (2000, 5000),
            (0, 5000),
            (0, 5000),
        ];
        for i in 0..1000 {
            let r = f64::from(i) / 1000.0;
            let mut b = defaults();
            for (attempt, (lo, hi)) in ranges.iter().enumerate() {
                let d = ms(b.duration_with(r));
                assert!((*lo..=*hi).contains(&d), "attempt {attempt}, r {r}: {d} ms");
            }
        }
    }

    #[test]
    fn a_full_jitter_can_reach_zero() {
        let mut b = Backoff::new(
            Duration::from_millis(1000),
            Duration::from_millis(5000),
            1.0,
        );
        // r = 0.05: deviation 50, floor(0.5) = 0 is even: minus.
        assert_eq!(ms(b.duration_with(0.05)), 950);
        let mut b = Backoff::new(
            Duration::from_millis(1000),
            Duration::from_millis(5000),
            1.0,
        );
        // r = 0.0999: deviation 99, floor(0.999) = 0 even: minus.
        assert_eq!(ms(b.duration_with(0.0999)), 901);
    }

    #[test]
    fn a_jitter_outside_zero_to_one_is_no_jitter() {
        for jitter in [-0.5, 0.0, 1.5, f64::NAN] {
            let mut b = Backoff::new(
                Duration::from_millis(1000),
                Duration::from_millis(5000),
                jitter,
            );
            assert_eq!(ms(b.duration_with(0.999)), 1000, "jitter {jitter}");
        }
    }

    #[test]
    fn reset_starts_the_sequence_over() {
        let mut b = defaults();
        b.duration_with(0.0);
        b.duration_with(0.0);
        assert_eq!(b.attempts(), 2);
        b.reset();
        assert_eq!(b.attempts(), 0);
        assert_eq!(ms(b.duration_with(0.0)), 1000);
    }

    #[test]
    fn many_attempts_neither_overflow_nor_exceed_the_maximum() {
        let mut b = defaults();
        for _ in 0..2000 {
            assert!(ms(b.duration()) <= 5000);
        }
        assert_eq!(b.attempts(), 2000);
    }

    #[test]
    fn the_result_is_truncated_like_javascript_bitwise_or() {
        assert_eq!(to_int32(1499.9), 1499);
        assert_eq!(to_int32(-3.7), -3);
        assert_eq!(to_int32(f64::INFINITY), 0);
        assert_eq!(to_int32(2_147_483_648.0), -2_147_483_648);
        assert_eq!(to_int32(4_294_967_297.0), 1);
        // A maximum beyond 2^31 ms wraps as in JavaScript, and a negative delay is no delay.
        let mut b = Backoff::new(
            Duration::from_millis(3_000_000_000),
            Duration::from_millis(3_000_000_000),
            0.0,
        );
        assert_eq!(ms(b.duration()), 0);
    }

    /// The same random numbers through socket.io-client's own `Backoff` (npm socket.io-client
    /// 4.8.4, installed by `npm ci --prefix interop`) give the same delays.
    #[test]
    fn delays_match_socket_io_client_for_the_same_random_numbers() {
        let backo2 = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../interop/node_modules/socket.io-client/build/cjs/contrib/backo2.js");
        assert!(
            backo2.exists(),
            "npm dependencies missing: run `npm ci --prefix interop`"
        );
        let configs: [(u64, u64, f64); 5] = [
            (1000, 5000, 0.5),
            (500, 2000, 1.0),
            (100, 10000, 0.3),
            (1000, 5000, 0.0),
            (250, 60000, 0.9),
        ];
        let mut randoms: Vec<f64> = (0..200).map(|i| f64::from(i) / 200.0).collect();
        randoms.extend([0.0999, 0.1999, 0.2, 0.35, 0.999_999, 0.123_456_789]);
        const ATTEMPTS: usize = 10;
        let script = r#"
            const { Backoff } = require(process.argv[1]);
            const [configs, randoms, attempts] = JSON.parse(process.argv[2]);
            const out = [];
            for (const [min, max, jitter] of configs) {
              for (const r of randoms) {
                Math.random = () => r;
                const b = new Backoff({ min, max, jitter });
                const row = [];
                for (let i = 0; i < attempts; i++) row.push(b.duration());
                out.push(row);
              }
            }
            console.log(JSON.stringify(out));
        "#;
        let input = serde_json::to_string(&(&configs, &randoms, ATTEMPTS)).unwrap();
        let output = std::process::Command::new("node")
            .arg("-e")
            .arg(script)
            .arg(&backo2)
            .arg(&input)
            .output()
            .expect("cannot run node");
        assert!(output.status.success(), "{output:?}");
        let theirs: Vec<Vec<u64>> = serde_json::from_slice(&output.stdout).unwrap();
        let mut ours = Vec::new();
        for (min, max, jitter) in configs {
            for &r in &randoms {
                let mut b = Backoff::new(
                    Duration::from_millis(min),
                    Duration::from_millis(max),
                    jitter,
                );
                let row: Vec<u64> = (0..ATTEMPTS)
                    .map(|_| b.duration_with(r).as_millis() as u64)
                    .collect();
                ours.push(row);
            }
        }
        assert_eq!(ours.len(), theirs.len());
        for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(
                o,
                t,
                "config {} r {}",
                i / randoms.len(),
                randoms[i % randoms.len()]
            );
        }
    }

    #[test]
    fn random_numbers_are_in_the_unit_interval() {
        for _ in 0..1000 {
            let r = random_unit();
            assert!((0.0..1.0).contains(&r));
        }
    }
}
