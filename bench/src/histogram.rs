//! Latency histogram: microsecond resolution, three significant digits, from 1 µs to one
//! minute (an HDR histogram, so p99.9 of a million samples costs a few KiB, not a sort).

use std::time::Duration;

use hdrhistogram::Histogram;

/// Highest value tracked, in microseconds; anything slower is counted at this value (a
/// request that took over a minute has failed by any measure, its exact time is noise).
const MAX_MICROS: u64 = 60_000_000;

/// Latencies of one run (or of several merged).
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    inner: Histogram<u64>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    pub fn new() -> Self {
        // Bounds and precision are constants within hdrhistogram's limits (1 ≤ low, high ≥
        // 2·low, 0..=5 digits), so construction cannot fail.
        let inner = Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds");
        Self { inner }
    }

    pub fn record(&mut self, latency: Duration) {
        let micros = (latency.as_micros() as u64).clamp(1, MAX_MICROS);
        // In range by the clamp above.
        self.inner.saturating_record(micros);
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        // Same bounds on both sides: `add` only fails on a range mismatch.
        let _ = self.inner.add(&other.inner);
    }

    pub fn count(&self) -> u64 {
        self.inner.len()
    }

    /// The latency at quantile `q` (0.5 = median, 0.999 = p99.9), in microseconds; 0 when empty.
    pub fn quantile_micros(&self, q: f64) -> u64 {
        if self.inner.is_empty() {
            0
        } else {
            self.inner.value_at_quantile(q)
        }
    }

    pub fn max_micros(&self) -> u64 {
        self.inner.max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within(value: u64, expected: u64) -> bool {
        // Three significant digits: at most 0.1 % off, plus one unit of rounding.
        value.abs_diff(expected) <= expected / 1000 + 1
    }

    #[test]
    fn uniform_quantiles() {
        let mut h = LatencyHistogram::new();
        for us in 1..=10_000u64 {
            h.record(Duration::from_micros(us));
        }
        assert_eq!(h.count(), 10_000);
        assert!(
            within(h.quantile_micros(0.5), 5_000),
            "{}",
            h.quantile_micros(0.5)
        );
        assert!(within(h.quantile_micros(0.99), 9_900));
        assert!(within(h.quantile_micros(0.999), 9_990));
        assert!(within(h.max_micros(), 10_000));
    }

    #[test]
    fn tail_is_seen() {
        // 999 fast requests and one slow one: p99 stays fast, p99.9 and max see the slow one.
        let mut h = LatencyHistogram::new();
        for _ in 0..999 {
            h.record(Duration::from_micros(100));
        }
        h.record(Duration::from_millis(250));
        assert!(within(h.quantile_micros(0.99), 100));
        assert!(within(h.quantile_micros(0.9995), 250_000));
        assert!(within(h.max_micros(), 250_000));
    }

    #[test]
    fn merge_adds_counts() {
        let mut a = LatencyHistogram::new();
        let mut b = LatencyHistogram::new();
        for _ in 0..10 {
            a.record(Duration::from_micros(10));
            b.record(Duration::from_micros(1000));
        }
        a.merge(&b);
        assert_eq!(a.count(), 20);
        assert!(within(a.quantile_micros(0.25), 10));
        assert!(within(a.quantile_micros(0.75), 1000));
    }

    #[test]
    fn out_of_range_is_clamped_and_empty_is_zero() {
        let mut h = LatencyHistogram::new();
        assert_eq!(h.quantile_micros(0.5), 0);
        h.record(Duration::from_nanos(10));
        h.record(Duration::from_secs(3600));
        assert_eq!(h.count(), 2);
        assert_eq!(h.quantile_micros(0.0), 1);
        assert!(within(h.max_micros(), MAX_MICROS));
    }
}
