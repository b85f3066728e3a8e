//! Per-user rate limits of REST requests — each (app, user) has a write bucket and a read
//! bucket ([`Bucket`]), each with a rate and a burst ([`RateLimit`]) — and the per-address
//! rate of WebSocket connects ([`Bucket::Connects`], keyed by the peer address under the
//! app id `""`, which no app has; see [`crate::realtime::limits`]).
//!
//! Rules:
//! - **Where the counters live.** A node on SQLite keeps them in memory
//!   ([`RateLimiter`], a token bucket per key): it is the only node. A node on PostgreSQL
//!   keeps them in the database ([`SharedLimiter`], implemented by the PostgreSQL store),
//!   so every node serving one database enforces one limit per user: N nodes behind a load
//!   balancer do not give a user N times the limit. The shared state is one theoretical
//!   arrival time per key ([`gcra`]); a check is one autocommit statement, exact across
//!   nodes, with the same `take_up_to` semantics as the in-memory bucket.
//! - **Which limit.** The caller passes the limit of each take (the app's own limit, or
//!   the server's default; see [`crate::api::AppState`]); a key's state carries over when
//!   its limit changes.
//! - **Failure mode: fail over to the node's own buckets.** When the shared limiter errs
//!   or does not answer within [`SHARED_TIMEOUT`], the take is decided by this node's
//!   in-memory bucket for the key, and a warning is logged (at most once per
//!   [`WARN_EVERY`]). A database outage thus degrades the limits to per-node ones (the
//!   behaviour of a single node) instead of refusing every user (fail closed) or
//!   removing the limits altogether (fail open): the limits protect the nodes, they are
//!   not a billing quota, and a request that gets past them still needs the database.
//! - **Stale keys.** A key whose arrival time is not after now is the same as an absent
//!   one, so every node deletes such rows in the background: at most [`PRUNE_BATCH`] rows
//!   per run, a run every [`PRUNE_EVERY`] (at once again while runs come back full).
//! - Limits of a million requests per second or more (tests' [`RateLimit::UNLIMITED`])
//!   are not counted in the database at all.

pub mod gcra;
mod memory;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use tokio::sync::watch;

pub use self::gcra::{Decision, Gcra};
pub use self::memory::RateLimiter;
use crate::config::RateLimit;
use crate::store::StoreError;

/// How long a shared take may take before the node's own bucket decides.
pub const SHARED_TIMEOUT: Duration = Duration::from_secs(1);
/// Shortest interval between two warnings about the shared limiter.
pub const WARN_EVERY: Duration = Duration::from_secs(30);
/// Most stale rows one pruning run deletes.
pub const PRUNE_BATCH: i64 = 5_000;
/// Interval between pruning runs.
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Rates from which a limit is not counted in the database.
const UNCOUNTED_RATE: f64 = 1e6;

/// A kind of bucket: a user's two, and an address's WebSocket connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Requests other than `GET`/`HEAD` (and each further message of a batch send).
    Writes,
    /// `GET` and `HEAD` requests.
    Reads,
    /// WebSocket upgrades from one peer address (the key's app is
    /// [`CONNECTS_APP`], its user the address).
    Connects,
}

/// The app of every [`Bucket::Connects`] key: empty, which no app id is.
pub const CONNECTS_APP: &str = "";

impl Bucket {
    /// The bucket's code in the shared table.
    pub fn code(self) -> i16 {
        match self {
            Self::Writes => 0,
            Self::Reads => 1,
            Self::Connects => 2,
        }
    }
}

/// Counters shared by every node of a database (see the module docs).
#[async_trait]
pub trait SharedLimiter: Send + Sync + 'static {
    /// Takes up to `wanted` cells of the key (`app`, `bucket`, `user`) under `gcra`, at
    /// the limiter's own clock, in one atomic step.
    async fn take(
        &self,
        app: &str,
        bucket: Bucket,
        user: &str,
        gcra: Gcra,
        wanted: u32,
    ) -> Result<Decision, StoreError>;

    /// Deletes at most `max_rows` stale keys (arrival time not after now); how many it
    /// deleted.
    async fn prune(&self, max_rows: i64) -> Result<u64, StoreError>;
}

/// The rate limits of one node: shared counters when the store has them, this node's
/// buckets otherwise and as their fallback.
pub struct RateLimits {
    writes: RateLimiter,
    reads: RateLimiter,
    connects: RateLimiter,
    shared: Option<Arc<dyn SharedLimiter>>,
    /// [`SHARED_TIMEOUT`], shorter in tests.
    timeout: Duration,
    /// Unix seconds of the last warning about the shared limiter.
    warned_at: AtomicU64,
}

impl RateLimits {
    /// Limits with `writes` and `reads` as the defaults of this node's buckets, counted in
    /// `shared` when given.
    pub fn new(
        writes: RateLimit,
        reads: RateLimit,
        shared: Option<Arc<dyn SharedLimiter>>,
    ) -> Self {
        Self {
            writes: RateLimiter::new(writes),
            reads: RateLimiter::new(reads),
            connects: RateLimiter::new(RateLimit::default()),
            shared,
            timeout: SHARED_TIMEOUT,
            warned_at: AtomicU64::new(0),
        }
    }

    /// Whether the counters are shared across nodes.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Takes up to `wanted` cells of the user's `bucket` under `limit`: how many it took
    /// and, when fewer than wanted, how long until the next one is available.
    pub async fn take(
        &self,
        bucket: Bucket,
        limit: RateLimit,
        app: &str,
        user: &str,
        wanted: usize,
    ) -> (usize, Option<Duration>) {
        if wanted == 0 {
            return (0, None);
        }
        if let Some(shared) = &self.shared {
            if limit.per_second >= UNCOUNTED_RATE {
                return (wanted, None);
            }
            let cells = u32::try_from(wanted).unwrap_or(u32::MAX);
            let gcra = Gcra::new(limit);
            let taken =
                tokio::time::timeout(self.timeout, shared.take(app, bucket, user, gcra, cells))
                    .await;
            match taken {
                Ok(Ok(d)) => return (d.granted as usize, d.wait),
                Ok(Err(e)) => self.warn(&e.to_string()),
                Err(_) => self.warn("no answer within the timeout"),
            }
        }
        let local = match bucket {
            Bucket::Writes => &self.writes,
            Bucket::Reads => &self.reads,
            Bucket::Connects => &self.connects,
        };
        local.take_with(limit, app, user, wanted)
    }

    /// Takes one cell: `Err` with the wait when refused.
    pub async fn check(
        &self,
        bucket: Bucket,
        limit: RateLimit,
        app: &str,
        user: &str,
    ) -> Result<(), Duration> {
        match self.take(bucket, limit, app, user, 1).await {
            (1, _) => Ok(()),
            (_, wait) => Err(wait.unwrap_or(Duration::from_secs(1))),
        }
    }

    fn warn(&self, why: &str) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.warned_at.load(Ordering::Relaxed);
        if now >= last + WARN_EVERY.as_secs()
            && self
                .warned_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                error = why,
                "shared rate limiter unavailable: this node's own buckets decide"
            );
        }
    }

    /// Deletes stale shared keys until `shutdown` flips (see the module docs); returns at
    /// once without a shared limiter.
    pub async fn prune_until(&self, mut shutdown: watch::Receiver<bool>) {
        let Some(shared) = &self.shared else { return };
        let mut wait = PRUNE_EVERY;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
            wait = match shared.prune(PRUNE_BATCH).await {
                Ok(n) if n as i64 >= PRUNE_BATCH => Duration::from_millis(100),
                Ok(_) => PRUNE_EVERY,
                Err(e) => {
                    self.warn(&e.to_string());
                    PRUNE_EVERY
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shared limiter that always fails, or never answers.
    struct Broken {
        hang: bool,
    }

    #[async_trait]
    impl SharedLimiter for Broken {
        async fn take(
            &self,
            _: &str,
            _: Bucket,
            _: &str,
            _: Gcra,
            _: u32,
        ) -> Result<Decision, StoreError> {
            if self.hang {
                std::future::pending::<()>().await;
            }
            Err(StoreError::Backend("connection refused".into()))
        }

        async fn prune(&self, _: i64) -> Result<u64, StoreError> {
            Err(StoreError::Backend("connection refused".into()))
        }
    }

    const LIMIT: RateLimit = RateLimit {
        per_second: 0.001,
        burst: 3,
    };

    async fn local_decides(limits: RateLimits) {
        assert!(limits.is_shared());
        for _ in 0..3 {
            assert!(limits.check(Bucket::Writes, LIMIT, "a", "u").await.is_ok());
        }
        let wait = limits
            .check(Bucket::Writes, LIMIT, "a", "u")
            .await
            .unwrap_err();
        assert!(wait > Duration::from_secs(900));
        // the read bucket is a bucket of its own
        assert_eq!(limits.take(Bucket::Reads, LIMIT, "a", "u", 5).await.0, 3);
    }

    #[tokio::test]
    async fn a_failing_shared_limiter_falls_back_to_the_node() {
        let shared = Arc::new(Broken { hang: false });
        local_decides(RateLimits::new(LIMIT, LIMIT, Some(shared))).await;
    }

    #[tokio::test]
    async fn a_hanging_shared_limiter_times_out_to_the_node() {
        let shared = Arc::new(Broken { hang: true });
        let mut limits = RateLimits::new(LIMIT, LIMIT, Some(shared));
        limits.timeout = Duration::from_millis(20);
        local_decides(limits).await;
    }

    #[tokio::test]
    async fn unlimited_and_empty_takes_skip_the_shared_limiter() {
        let limits = RateLimits::new(LIMIT, LIMIT, Some(Arc::new(Broken { hang: true })));
        let unlimited = RateLimit::UNLIMITED;
        let took = limits.take(Bucket::Writes, unlimited, "a", "u", 50).await;
        assert_eq!(took, (50, None));
        assert_eq!(
            limits.take(Bucket::Writes, LIMIT, "a", "u", 0).await,
            (0, None)
        );
    }
}
