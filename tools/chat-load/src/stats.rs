//! The clock every sample is measured on (nanoseconds since one `Instant` of this
//! process, so the sender's stamp and the receiver's reading compare directly), the
//! per-step latency recorder (which also counts the pushes that crossed from one node to
//! another), and percentiles over a sorted vector.

use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use serde::Serialize;

static BASE: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since the process's shared base instant.
pub fn now_nanos() -> u64 {
    u64::try_from(BASE.get_or_init(Instant::now).elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Delivery latencies (ns) and cross-node deliveries, per step index.
#[derive(Default)]
pub struct Recorder {
    steps: Mutex<Vec<StepSamples>>,
}

#[derive(Default)]
struct StepSamples {
    latencies: Vec<u64>,
    crossed: usize,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one delivery of a message of `step`, `latency_ns` after it was sent;
    /// `crossed` when the receiving socket is on another node than the one the message was
    /// sent through.
    pub fn record(&self, step: usize, latency_ns: u64, crossed: bool) {
        let mut steps = self.steps.lock().unwrap_or_else(|e| e.into_inner());
        if steps.len() <= step {
            steps.resize_with(step + 1, StepSamples::default);
        }
        steps[step].latencies.push(latency_ns);
        steps[step].crossed += usize::from(crossed);
    }

    /// Deliveries recorded so far for `step`.
    pub fn count(&self, step: usize) -> usize {
        let steps = self.steps.lock().unwrap_or_else(|e| e.into_inner());
        steps.get(step).map_or(0, |s| s.latencies.len())
    }

    /// The latency samples of `step` and how many of them crossed nodes, leaving the step
    /// empty.
    pub fn take(&self, step: usize) -> (Vec<u64>, usize) {
        let mut steps = self.steps.lock().unwrap_or_else(|e| e.into_inner());
        steps
            .get_mut(step)
            .map(std::mem::take)
            .map(|s| (s.latencies, s.crossed))
            .unwrap_or_default()
    }
}

/// Percentiles of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
    /// Number of samples.
    pub count: usize,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Largest sample.
    pub max_ms: f64,
}

/// The `q` quantile (0..=1) of sorted samples: the smallest sample with at least `q` of
/// them at or below it.
pub fn quantile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Percentiles of `samples` (ns).
pub fn summarize(mut samples: Vec<u64>) -> Percentiles {
    samples.sort_unstable();
    let ms = |ns: u64| ns as f64 / 1e6;
    Percentiles {
        count: samples.len(),
        p50_ms: ms(quantile(&samples, 0.50)),
        p99_ms: ms(quantile(&samples, 0.99)),
        p999_ms: ms(quantile(&samples, 0.999)),
        max_ms: ms(samples.last().copied().unwrap_or(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_one_to_a_thousand() {
        let v: Vec<u64> = (1..=1000).collect();
        assert_eq!(quantile(&v, 0.5), 500);
        assert_eq!(quantile(&v, 0.99), 990);
        assert_eq!(quantile(&v, 0.999), 999);
        assert_eq!(quantile(&v, 1.0), 1000);
        assert_eq!(quantile(&[], 0.5), 0);
    }

    #[test]
    fn recorder_keeps_steps_apart() {
        let r = Recorder::new();
        r.record(2, 5, true);
        r.record(0, 1, false);
        r.record(2, 7, false);
        assert_eq!((r.count(0), r.count(1), r.count(2)), (1, 0, 2));
        assert_eq!(r.take(2), (vec![5, 7], 1));
        assert_eq!(r.count(2), 0);
        assert_eq!(r.take(2), (vec![], 0));
        assert_eq!(r.take(0), (vec![1], 0));
    }
}
