//! The generic cell rate algorithm (GCRA), sans I/O: the decision of the shared limiter,
//! with time as an input. The PostgreSQL statement ([`crate::store::postgres`]'s
//! `limits` module) computes exactly this, in the database, atomically per key.
//!
//! Rules:
//! - A key's whole state is one number, its *theoretical arrival time* (TAT): the moment
//!   its bucket would be full again. An absent key and a key whose TAT is not after `now`
//!   are the same state (a full bucket), so stale keys may be deleted at any time.
//! - A limit of `per_second` and `burst` is an emission interval `I = 1 / per_second` and
//!   a tolerance `τ = burst × I`. Taking `n` cells at `now` starts from
//!   `base = min(max(TAT, now), now + τ)`; `⌊(now + τ − base) / I⌋` cells fit. `take`
//!   grants `min(wanted, fits)` of them (the `take_up_to` semantics of batch sends) and
//!   moves the TAT to `base + granted × I`.
//! - The cap `now + τ` is an empty bucket under the limit of this take: a key whose limit
//!   changed (the app's settings) owes at most one burst of the new limit, never the time
//!   it owed under the old one, as with the in-memory bucket (its tokens never go below
//!   zero and refill at the new rate).
//! - When fewer than wanted are granted, the next cell fits at `TAT + I − τ`: the wait is
//!   that minus `now` (at least one microsecond).
//! - Times are integer microseconds (Unix epoch); `I` is at least 1 µs and `τ` at most
//!   [`MAX_TOLERANCE_US`], so no sum overflows an `i64` (or PostgreSQL's `BIGINT`).
//! - This is the same bucket as the in-memory limiter: `burst` requests at once from a
//!   full bucket, then one every `I`.

use std::time::Duration;

use crate::config::RateLimit;

/// The largest tolerance kept (about 31 years): a limit above it is, in effect, none.
pub const MAX_TOLERANCE_US: i64 = 1_000_000_000_000_000;

/// A limit as GCRA parameters, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    /// The emission interval `I`: one cell every `interval_us`.
    pub interval_us: i64,
    /// The burst tolerance `τ = burst × I`.
    pub tolerance_us: i64,
}

/// What one take decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Cells granted (at most the wanted number).
    pub granted: u32,
    /// The key's new TAT.
    pub tat_us: i64,
    /// When fewer than wanted were granted: how long until the next cell fits.
    pub wait: Option<Duration>,
}

impl Gcra {
    /// The parameters of `limit` (a zero burst counts as one; a rate of a million per
    /// second or more is one cell per microsecond).
    pub fn new(limit: RateLimit) -> Self {
        let interval = (1e6 / limit.per_second.max(1e-9)).round();
        let interval_us = if interval.is_finite() {
            (interval as i64).clamp(1, MAX_TOLERANCE_US)
        } else {
            MAX_TOLERANCE_US
        };
        let tolerance_us = interval_us
            .saturating_mul(i64::from(limit.burst.max(1)))
            .min(MAX_TOLERANCE_US);
        Self {
            interval_us,
            tolerance_us,
        }
    }

    /// Takes up to `wanted` cells at `now_us` from a key whose TAT is `tat_us` (`None`:
    /// absent).
    pub fn take(&self, tat_us: Option<i64>, now_us: i64, wanted: u32) -> Decision {
        let base = tat_us.map_or(now_us, |tat| {
            tat.max(now_us).min(now_us + self.tolerance_us)
        });
        let room = (now_us + self.tolerance_us - base).max(0);
        let granted = (room / self.interval_us).min(i64::from(wanted));
        let tat_us = base + granted * self.interval_us;
        Decision {
            granted: granted as u32,
            tat_us,
            wait: (granted < i64::from(wanted)).then(|| self.wait(tat_us, now_us)),
        }
    }

    /// How long after `now_us` the next cell of a key at `tat_us` fits (at least 1 µs; for
    /// reporting a refusal).
    pub fn wait(&self, tat_us: i64, now_us: i64) -> Duration {
        let at = tat_us + self.interval_us - self.tolerance_us;
        Duration::from_micros((at - now_us).max(1) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gcra(per_second: f64, burst: u32) -> Gcra {
        Gcra::new(RateLimit { per_second, burst })
    }

    #[test]
    fn parameters() {
        assert_eq!(
            gcra(20.0, 100),
            Gcra {
                interval_us: 50_000,
                tolerance_us: 5_000_000
            }
        );
        // zero burst is one; absurd rates are clamped, never overflow
        assert_eq!(gcra(2.0, 0).tolerance_us, 500_000);
        let unlimited = Gcra::new(RateLimit::UNLIMITED);
        assert_eq!(unlimited.interval_us, 1);
        let slow = gcra(0.0, u32::MAX);
        assert_eq!(slow.tolerance_us, MAX_TOLERANCE_US);
        assert_eq!(gcra(f64::NAN, 1).interval_us, MAX_TOLERANCE_US);
    }

    #[test]
    fn bursts_then_one_per_interval() {
        let g = gcra(2.0, 3); // I = 500 ms, τ = 1.5 s
        let t0 = 1_700_000_000_000_000;
        let mut tat = None;
        for _ in 0..3 {
            let d = g.take(tat, t0, 1);
            assert_eq!((d.granted, d.wait), (1, None));
            tat = Some(d.tat_us);
        }
        assert_eq!(tat, Some(t0 + 1_500_000));
        let refused = g.take(tat, t0, 1);
        assert_eq!(refused.granted, 0);
        assert_eq!(refused.tat_us, t0 + 1_500_000, "a refusal takes nothing");
        assert_eq!(refused.wait, Some(Duration::from_millis(500)));
        // one cell 500 ms later, not two
        let later = t0 + 500_000;
        let d = g.take(tat, later, 1);
        assert_eq!((d.granted, d.wait), (1, None));
        assert_eq!(g.take(Some(d.tat_us), later, 1).granted, 0);
        // just before the wait is over: still refused, with the rest of the wait
        let d2 = g.take(Some(d.tat_us), later + 499_999, 1);
        assert_eq!(d2.granted, 0);
        assert_eq!(d2.wait, Some(Duration::from_micros(1)));
    }

    #[test]
    fn take_up_to_grants_what_fits() {
        let g = gcra(2.0, 3);
        let t0 = 10_000_000;
        let d = g.take(None, t0, 5);
        assert_eq!(d.granted, 3);
        assert_eq!(d.wait, Some(Duration::from_millis(500)));
        assert_eq!(g.take(Some(d.tat_us), t0, 5).granted, 0);
        // a second later two cells came back
        let d = g.take(Some(d.tat_us), t0 + 1_000_000, 5);
        assert_eq!(d.granted, 2);
        // wanting zero takes nothing and never waits
        let zero = g.take(None, t0, 0);
        assert_eq!((zero.granted, zero.tat_us, zero.wait), (0, t0, None));
    }

    #[test]
    fn stale_and_absent_keys_are_equal() {
        let g = gcra(5.0, 4);
        let now = 50_000_000;
        for stale in [now, now - 1, 0, i64::MIN / 4] {
            assert_eq!(g.take(Some(stale), now, 7), g.take(None, now, 7));
        }
    }

    #[test]
    fn a_changed_limit_owes_at_most_its_own_burst() {
        // a TAT far ahead (a slow limit's burst spent), then a faster limit: the key is an
        // empty bucket of the new limit, its next cell one new interval away
        let g = gcra(1.0, 2);
        let now = 0;
        let d = g.take(Some(now + 100_000_000), now, 1);
        assert_eq!(d.granted, 0);
        assert_eq!(d.tat_us, now + 2_000_000);
        assert_eq!(d.wait, Some(Duration::from_secs(1)));
        let d = g.take(Some(d.tat_us), now + 1_000_000, 1);
        assert_eq!((d.granted, d.wait), (1, None));
    }

    #[test]
    fn matches_the_in_memory_bucket() {
        // The same sequence of takes against both limiters grants the same counts.
        let limit = RateLimit {
            per_second: 4.0,
            burst: 5,
        };
        let g = Gcra::new(limit);
        let bucket = super::super::RateLimiter::new(limit);
        let start = std::time::Instant::now();
        let mut tat = None;
        let steps = [
            (0, 3),
            (0, 3),
            (100, 1),
            (250, 2),
            (900, 9),
            (2_000, 1),
            (2_000, 4),
        ];
        for (ms, wanted) in steps {
            let d = g.take(tat, ms * 1_000, wanted);
            tat = Some(d.tat_us);
            let at = start + Duration::from_millis(ms as u64);
            let (granted, _) = bucket.take_at(limit, "a", "u", wanted as usize, at);
            assert_eq!(d.granted as usize, granted, "at {ms} ms wanting {wanted}");
        }
    }
}
