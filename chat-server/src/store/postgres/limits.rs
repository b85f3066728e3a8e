//! The shared rate limiter of PostgreSQL nodes ([`SharedLimiter`]): the statements only;
//! the algorithm, and why a stale row is an absent one, are in [`crate::ratelimit::gcra`].
//!
//! Rules:
//! - One row per key in `rate_limits` (migration 2): its theoretical arrival time `tat`,
//!   the time of its last take `at` and that take's `granted` count, all in
//!   microseconds.
//! - A take is one autocommit `INSERT … ON CONFLICT DO UPDATE … RETURNING`: the row lock of
//!   the upsert makes concurrent takes of one key, from any node, apply one after the
//!   other, each on the previous one's `tat`. The expressions are [`Gcra::take`]'s, term
//!   for term (the tests compare them on a table of cases).
//! - Time is the database's clock (`clock_timestamp()`), so nodes with skewed clocks still
//!   share one timeline; tests may pass the time instead.
//! - The table is `UNLOGGED` (no WAL: a crash or a failover to a replica empties it, which
//!   only refills every bucket) and not indexed on `tat`, so updates stay HOT (a low
//!   fillfactor leaves them room). Pruning deletes stale rows, a bounded batch per run,
//!   skipping rows a take holds.

use async_trait::async_trait;
use deadpool_postgres::Pool;

use super::conn::Conn;
use crate::ratelimit::{Bucket, Decision, Gcra, SharedLimiter};
use crate::store::StoreResult;

/// Migration 2: the table, and the apps' own limits (SQLite's version 6).
pub(super) const MIGRATION: &str = r#"
    ALTER TABLE apps ADD COLUMN rate_limits TEXT NOT NULL DEFAULT '{}';
    CREATE UNLOGGED TABLE rate_limits (
        app_id TEXT COLLATE "C" NOT NULL,
        bucket SMALLINT NOT NULL,
        user_id TEXT COLLATE "C" NOT NULL,
        tat BIGINT NOT NULL,
        at BIGINT NOT NULL,
        granted BIGINT NOT NULL,
        PRIMARY KEY (app_id, bucket, user_id)
    ) WITH (fillfactor = 50);
"#;

/// The database's clock in Unix microseconds, or the time a test passed as `$7`.
macro_rules! now_us {
    () => {
        "COALESCE($7::BIGINT, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT)"
    };
}

/// `$1` app, `$2` bucket, `$3` user, `$4` interval, `$5` tolerance, `$6` wanted, `$7` now
/// (NULL: the database's clock). With `base = LEAST(GREATEST(tat, now), now + τ)`:
/// `granted = LEAST(wanted, (now + τ − base) / I)`, `tat = base + granted × I`; an absent
/// key has `base = now`.
const TAKE: &str = concat!(
    "INSERT INTO rate_limits AS r (app_id, bucket, user_id, at, granted, tat) \
     SELECT $1::TEXT, $2::SMALLINT, $3::TEXT, n.now, g.granted, n.now + g.granted * $4::BIGINT \
     FROM (SELECT ",
    now_us!(),
    " AS now) AS n, \
     LATERAL (SELECT LEAST($6::BIGINT, $5::BIGINT / $4::BIGINT) AS granted) AS g \
     ON CONFLICT (app_id, bucket, user_id) DO UPDATE SET \
       at = EXCLUDED.at, \
       granted = LEAST($6::BIGINT, (EXCLUDED.at + $5::BIGINT \
         - LEAST(GREATEST(r.tat, EXCLUDED.at), EXCLUDED.at + $5::BIGINT)) / $4::BIGINT), \
       tat = LEAST(GREATEST(r.tat, EXCLUDED.at), EXCLUDED.at + $5::BIGINT) \
         + LEAST($6::BIGINT, (EXCLUDED.at + $5::BIGINT \
         - LEAST(GREATEST(r.tat, EXCLUDED.at), EXCLUDED.at + $5::BIGINT)) / $4::BIGINT) \
         * $4::BIGINT \
     RETURNING granted, tat, at"
);

/// Deletes at most `$1` rows whose `tat` is not after the database's clock.
const PRUNE: &str = "DELETE FROM rate_limits WHERE ctid = ANY(ARRAY( \
       SELECT ctid FROM rate_limits \
       WHERE tat <= (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT \
       LIMIT $1 FOR UPDATE SKIP LOCKED)) \
     AND tat <= (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT";

/// The shared limiter on a node's pool.
#[derive(Clone)]
pub struct PgLimiter {
    pool: Pool,
}

impl PgLimiter {
    pub(super) fn new(pool: Pool) -> Self {
        Self { pool }
    }

    /// [`SharedLimiter::take`] at `now_us` (`None`: the database's clock).
    pub async fn take_at(
        &self,
        app: &str,
        bucket: Bucket,
        user: &str,
        gcra: Gcra,
        wanted: u32,
        now_us: Option<i64>,
    ) -> StoreResult<Decision> {
        let conn = Conn::get(&self.pool).await?;
        let wanted = i64::from(wanted);
        let row = conn
            .one(
                TAKE,
                &[
                    &app,
                    &bucket.code(),
                    &user,
                    &gcra.interval_us,
                    &gcra.tolerance_us,
                    &wanted,
                    &now_us,
                ],
            )
            .await?;
        let (granted, tat_us, at): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        Ok(Decision {
            granted: granted as u32,
            tat_us,
            wait: (granted < wanted).then(|| gcra.wait(tat_us, at)),
        })
    }
}

#[async_trait]
impl SharedLimiter for PgLimiter {
    async fn take(
        &self,
        app: &str,
        bucket: Bucket,
        user: &str,
        gcra: Gcra,
        wanted: u32,
    ) -> StoreResult<Decision> {
        self.take_at(app, bucket, user, gcra, wanted, None).await
    }

    async fn prune(&self, max_rows: i64) -> StoreResult<u64> {
        let conn = Conn::get(&self.pool).await?;
        conn.exec(PRUNE, &[&max_rows]).await
    }
}
