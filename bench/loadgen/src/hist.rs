//! A latency histogram: log-linear buckets over nanoseconds (128 linear steps per power of
//! two, so a reported percentile is within 1% of the true value), fixed size, cheap to record
//! into and to merge. The maximum is kept exactly.

/// Values below this are counted exactly; above, each power of two has this many buckets.
const STEPS: u64 = 128;
const STEP_BITS: u32 = 7;
/// Enough powers of two for 2^40 ns (about 18 minutes).
const BUCKETS: usize = ((40 - STEP_BITS as usize) + 1) * STEPS as usize;

#[derive(Clone)]
pub(crate) struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

fn bucket_of(ns: u64) -> usize {
    if ns < STEPS {
        return ns as usize;
    }
    let exp = 63 - ns.leading_zeros();
    let mantissa = (ns >> (exp - STEP_BITS)) & (STEPS - 1);
    let index = (u64::from(exp - STEP_BITS) + 1) * STEPS + mantissa;
    (index as usize).min(BUCKETS - 1)
}

/// The smallest value that falls in bucket `index`.
fn floor_of(index: usize) -> u64 {
    let index = index as u64;
    if index < STEPS {
        return index;
    }
    let exp = index / STEPS - 1 + u64::from(STEP_BITS);
    let mantissa = index % STEPS;
    (STEPS + mantissa) << (exp - u64::from(STEP_BITS))
}

impl Histogram {
    pub(crate) fn new() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max: 0,
        }
    }

    pub(crate) fn record(&mut self, ns: u64) {
        if let Some(c) = self.counts.get_mut(bucket_of(ns)) {
            *c += 1;
        }
        self.total += 1;
        self.max = self.max.max(ns);
    }

    pub(crate) fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    #[cfg(test)]
    pub(crate) fn count(&self) -> u64 {
        self.total
    }

    pub(crate) fn max(&self) -> u64 {
        self.max
    }

    /// The value at quantile `q` (0..=1), in nanoseconds: the lower bound of the bucket that
    /// holds the sample of that rank (the exact maximum for the top rank).
    pub(crate) fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        if rank == self.total {
            return self.max;
        }
        let mut seen = 0;
        for (index, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return floor_of(index).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_within_one_percent() {
        for ns in [0u64, 1, 127, 128, 129, 1000, 12_345, 999_999, 7_000_000_000] {
            let floor = floor_of(bucket_of(ns));
            assert!(floor <= ns, "{ns}: floor {floor}");
            assert!(
                (ns - floor) as f64 <= ns as f64 / 100.0 + 1.0,
                "{ns}: floor {floor}"
            );
        }
    }

    #[test]
    fn quantiles_of_a_uniform_spread() {
        let mut h = Histogram::new();
        for v in 1..=10_000u64 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5) as f64;
        assert!((p50 - 5_000_000.0).abs() < 60_000.0, "{p50}");
        let p99 = h.quantile(0.99) as f64;
        assert!((p99 - 9_900_000.0).abs() < 100_000.0, "{p99}");
        assert_eq!(h.quantile(1.0), 10_000_000);
        assert_eq!(h.count(), 10_000);
    }

    #[test]
    fn merging_adds_counts_and_keeps_the_max() {
        let mut a = Histogram::new();
        let mut b = Histogram::new();
        a.record(10);
        b.record(1_000_000);
        a.merge(&b);
        assert_eq!(a.count(), 2);
        assert_eq!(a.max(), 1_000_000);
    }
}
