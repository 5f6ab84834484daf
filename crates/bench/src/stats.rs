//! Latency percentiles and error tallies for the load generators.
//!
//! Samples are whole microseconds in a `u32` (71 minutes at most — a request slower than
//! that is a hang, not a latency) so that a million-request run costs 4 MB of samples.
//! Each worker task keeps its own [`Recorder`]; they are merged once, after the run, so
//! the hot path never touches shared state.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// Why one request did not count as a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The server answered with a non-2xx status.
    Http(u16),
    /// TCP connect failed.
    Connect,
    /// The client-side timeout fired.
    Timeout,
    /// Any other transport failure (reset connection, truncated body, …).
    Transport,
    /// A 2xx answer whose body is not the JSON the API promises.
    Decode,
    /// A well-formed answer that fails a cryptographic check (SCT signature, log id,
    /// inclusion proof, leaf index).
    Verify,
}

impl ErrorKind {
    /// Classifies a reqwest failure that happened before a status was received.
    pub fn from_transport(e: &reqwest::Error) -> Self {
        if e.is_timeout() {
            Self::Timeout
        } else if e.is_connect() {
            Self::Connect
        } else {
            Self::Transport
        }
    }

    /// Whether the failure happened before an answer arrived (so no server message
    /// goes with it).
    pub fn is_transport(self) -> bool {
        matches!(self, Self::Connect | Self::Timeout | Self::Transport)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Http(status) => write!(f, "http {status}"),
            Self::Connect => f.write_str("transport/connect"),
            Self::Timeout => f.write_str("transport/timeout"),
            Self::Transport => f.write_str("transport/other"),
            Self::Decode => f.write_str("bad response"),
            Self::Verify => f.write_str("verification failed"),
        }
    }
}

/// What one worker task saw: successful-request latencies and failures by kind.
#[derive(Debug, Default)]
pub struct Recorder {
    /// Latency of each successful request, microseconds.
    pub latencies_us: Vec<u32>,
    /// Failed requests by kind.
    pub errors: HashMap<ErrorKind, u64>,
    /// The first failure message of each kind (what went wrong is usually the same for
    /// all of them, and one sample is what a person needs to fix it).
    pub samples: HashMap<ErrorKind, String>,
}

impl Recorder {
    /// A recorder expecting about `expected` successes (pre-sizes the sample buffer so the
    /// hot path does not reallocate).
    pub fn with_capacity(expected: usize) -> Self {
        Self {
            latencies_us: Vec::with_capacity(expected),
            errors: HashMap::new(),
            samples: HashMap::new(),
        }
    }

    /// Records one success.
    pub fn ok(&mut self, latency: Duration) {
        self.latencies_us
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }

    /// Records one failure; `detail` is evaluated only for the first failure of a kind.
    pub fn error_detail(&mut self, kind: ErrorKind, detail: impl FnOnce() -> String) {
        *self.errors.entry(kind).or_default() += 1;
        self.samples.entry(kind).or_insert_with(detail);
    }

    /// Folds `other` into `self`.
    pub fn merge(&mut self, other: Recorder) {
        self.latencies_us.extend_from_slice(&other.latencies_us);
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
        for (kind, sample) in other.samples {
            self.samples.entry(kind).or_insert(sample);
        }
    }

    /// Number of failed requests.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Failures by kind, named and ordered for printing.
    pub fn errors_by_kind(&self) -> BTreeMap<String, u64> {
        let mut kinds: Vec<_> = self.errors.iter().collect();
        kinds.sort();
        kinds
            .into_iter()
            .map(|(k, n)| (k.to_string(), *n))
            .collect()
    }

    /// First failure message by kind, named for printing.
    pub fn error_samples(&self) -> BTreeMap<String, String> {
        self.samples
            .iter()
            .map(|(k, s)| (k.to_string(), s.clone()))
            .collect()
    }
}

/// Nearest-rank percentile (`q` in 0..=100) of an ascending slice: the smallest sample
/// such that at least `q`% of the samples are ≤ it. `None` for an empty slice.
pub fn percentile(sorted: &[u32], q: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let q = q.clamp(0.0, 100.0);
    // rank = ceil(q/100 · n), 1-based; rank 0 (q = 0) means the minimum.
    let rank = (q / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Latency percentiles of one phase, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Number of samples.
    pub count: usize,
    /// Arithmetic mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest sample.
    pub max_ms: f64,
}

impl LatencySummary {
    /// Summarises microsecond samples (sorted in place). `None` if there are none.
    pub fn from_micros(samples: &mut [u32]) -> Option<Self> {
        samples.sort_unstable();
        let ms = |us: u32| f64::from(us) / 1000.0;
        let sum: u64 = samples.iter().map(|&us| u64::from(us)).sum();
        Some(Self {
            count: samples.len(),
            mean_ms: sum as f64 / samples.len().max(1) as f64 / 1000.0,
            p50_ms: ms(percentile(samples, 50.0)?),
            p90_ms: ms(percentile(samples, 90.0)?),
            p99_ms: ms(percentile(samples, 99.0)?),
            max_ms: ms(*samples.last()?),
        })
    }
}

impl fmt::Display for LatencySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  (mean {:.2}) ms",
            self.p50_ms, self.p90_ms, self.p99_ms, self.max_ms, self.mean_ms
        )
    }
}

/// Requests per second; 0 for a zero-length interval.
pub fn rate(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_of_empty_is_none() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(LatencySummary::from_micros(&mut []), None);
    }

    #[test]
    fn percentile_nearest_rank_1_to_100() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&v, 1.0), Some(1));
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 90.0), Some(90));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 99.5), Some(100));
        assert_eq!(percentile(&v, 100.0), Some(100));
        // Out-of-range q is clamped rather than indexing out of bounds.
        assert_eq!(percentile(&v, 250.0), Some(100));
        assert_eq!(percentile(&v, -3.0), Some(1));
    }

    #[test]
    fn percentile_of_single_sample_is_that_sample() {
        for q in [0.0, 50.0, 99.0, 100.0] {
            assert_eq!(percentile(&[7], q), Some(7));
        }
    }

    #[test]
    fn percentile_small_odd_set() {
        // n = 5: p50 → rank 3, p90 → rank ceil(4.5) = 5.
        let v = [10, 20, 30, 40, 50];
        assert_eq!(percentile(&v, 50.0), Some(30));
        assert_eq!(percentile(&v, 90.0), Some(50));
        assert_eq!(percentile(&v, 20.0), Some(10));
        assert_eq!(percentile(&v, 21.0), Some(20));
    }

    #[test]
    fn summary_sorts_and_converts_to_ms() {
        let mut v: Vec<u32> = (1..=1000).rev().map(|i| i * 1000).collect();
        let s = LatencySummary::from_micros(&mut v).unwrap();
        assert_eq!(s.count, 1000);
        assert_eq!(s.p50_ms, 500.0);
        assert_eq!(s.p90_ms, 900.0);
        assert_eq!(s.p99_ms, 990.0);
        assert_eq!(s.max_ms, 1000.0);
        assert!((s.mean_ms - 500.5).abs() < 1e-9);
        assert!(
            v.windows(2).all(|w| w[0] <= w[1]),
            "samples sorted in place"
        );
    }

    #[test]
    fn recorder_merge_adds_samples_and_errors() {
        let mut a = Recorder::with_capacity(4);
        a.ok(Duration::from_micros(5));
        a.error_detail(ErrorKind::Http(503), || "first".into());
        let mut b = Recorder::default();
        b.ok(Duration::from_millis(2));
        b.error_detail(ErrorKind::Http(503), || "second".into());
        b.error_detail(ErrorKind::Connect, || "refused".into());
        a.merge(b);
        assert_eq!(a.latencies_us, vec![5, 2000]);
        assert_eq!(a.error_count(), 3);
        let by_kind = a.errors_by_kind();
        assert_eq!(by_kind.get("http 503"), Some(&2));
        assert_eq!(by_kind.get("transport/connect"), Some(&1));
        let samples = a.error_samples();
        assert_eq!(
            samples["http 503"], "first",
            "the first sample of a kind is kept"
        );
        assert_eq!(samples["transport/connect"], "refused");
    }

    #[test]
    fn recorder_saturates_absurd_latency() {
        let mut r = Recorder::default();
        r.ok(Duration::from_secs(10 * 3600));
        assert_eq!(r.latencies_us, vec![u32::MAX]);
    }

    #[test]
    fn rate_handles_zero_interval() {
        assert_eq!(rate(10, Duration::ZERO), 0.0);
        assert_eq!(rate(3000, Duration::from_secs(2)), 1500.0);
    }
}
