//! The in-memory limiter: a token bucket per key, kept by one node for itself. It is the
//! limiter of a node on SQLite, the fallback of the shared limiter (see [`super`]), and
//! the WebSocket connect rates' limiter ([`crate::realtime::limits`]).
//!
//! Rules:
//! - A bucket holds up to `burst` tokens and refills at `per_second`; a take gets whole
//!   tokens only, at most what is there (`take_up_to`).
//! - The limit may be given per call ([`RateLimiter::take_with`]): a bucket keeps its
//!   tokens when its key's limit changes, capped at the new burst.
//! - Past [`PRUNE_AT`] buckets, full (idle) ones are dropped: a full bucket and an absent
//!   one are the same state.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::RateLimit;

/// Buckets beyond this count are pruned of full (idle) ones.
const PRUNE_AT: usize = 100_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// A set of token buckets keyed by (app, user).
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<(String, String), Bucket>>,
}

impl RateLimiter {
    /// A limiter with the given limit.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token; on refusal returns how long until one is available.
    pub fn check(&self, app: &str, user: &str) -> Result<(), Duration> {
        self.check_at(app, user, Instant::now())
    }

    /// [`RateLimiter::take_up_to`] under `limit` instead of the limiter's own.
    pub fn take_with(
        &self,
        limit: RateLimit,
        app: &str,
        user: &str,
        wanted: usize,
    ) -> (usize, Option<Duration>) {
        self.take_at(limit, app, user, wanted, Instant::now())
    }

    /// Takes up to `wanted` tokens at once (the further messages of a batch send, each
    /// counted like a request of its own); returns how many it took and, when that is
    /// fewer than wanted, how long until the next one is available.
    pub fn take_up_to(&self, app: &str, user: &str, wanted: usize) -> (usize, Option<Duration>) {
        self.take_at(self.limit, app, user, wanted, Instant::now())
    }

    fn check_at(&self, app: &str, user: &str, now: Instant) -> Result<(), Duration> {
        match self.take_at(self.limit, app, user, 1, now) {
            (1, _) => Ok(()),
            (_, wait) => Err(wait.unwrap_or_default()),
        }
    }

    pub(super) fn take_at(
        &self,
        limit: RateLimit,
        app: &str,
        user: &str,
        wanted: usize,
        now: Instant,
    ) -> (usize, Option<Duration>) {
        let burst = f64::from(limit.burst.max(1));
        let rate = limit.per_second.max(f64::MIN_POSITIVE);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > PRUNE_AT {
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let b = buckets
            .entry((app.to_owned(), user.to_owned()))
            .or_insert(Bucket {
                tokens: burst,
                at: now,
            });
        b.tokens = (b.tokens.min(burst) + now.duration_since(b.at).as_secs_f64() * rate).min(burst);
        b.at = now;
        // Whole tokens only; `wanted` is at most a batch, far below f64's exact integers.
        let granted = (b.tokens.floor().max(0.0) as usize).min(wanted);
        b.tokens -= granted as f64;
        let wait = (granted < wanted).then(|| Duration::from_secs_f64((1.0 - b.tokens) / rate));
        (granted, wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills() {
        let limiter = RateLimiter::new(RateLimit {
            per_second: 2.0,
            burst: 3,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at("a", "u", t0).is_ok());
        }
        let wait = limiter.check_at("a", "u", t0).unwrap_err();
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500));
        // a batch takes what is there and says when the next token comes
        let other = RateLimiter::new(RateLimit {
            per_second: 2.0,
            burst: 3,
        });
        let limit = other.limit;
        let (granted, wait) = other.take_at(limit, "a", "u", 5, t0);
        assert_eq!(granted, 3);
        assert!(wait.unwrap() > Duration::from_millis(400));
        assert_eq!(other.take_at(limit, "a", "u", 5, t0).0, 0);
        assert_eq!(
            other.take_at(limit, "a", "u", 1, t0 + Duration::from_secs(1)),
            (1, None)
        );
        // other users and apps have their own buckets
        assert!(limiter.check_at("a", "v", t0).is_ok());
        assert!(limiter.check_at("b", "u", t0).is_ok());
        assert!(
            limiter
                .check_at("a", "u", t0 + Duration::from_millis(500))
                .is_ok()
        );
        assert!(
            limiter
                .check_at("a", "u", t0 + Duration::from_millis(500))
                .is_err()
        );
    }
}
