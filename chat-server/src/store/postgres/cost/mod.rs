//! Cost of reads on PostgreSQL: the rules every per-user query of this backend follows, and
//! the registry that lets tests hold the planner to them.
//!
//! Rules (docs/protocol.md, "Security model", "Cost of reads"), as they apply here:
//!
//! - A query that serves a user is bounded by an index range keyed by that user's own data
//!   (the user's memberships, a channel the user is in, a message the user can read), never
//!   by the size of the app or of the tenant: no `Seq Scan` of a table, and every index is
//!   used with its key bound past `app_id` (the first key column after `app_id` is bound
//!   by an equality), never with `app_id` alone.
//! - PostgreSQL has no index hints: its plans come from statistics. So the pins must hold
//!   on a realistic, skewed dataset (one huge app among small ones, a channel with
//!   everyone, a user with few channels) both before any `ANALYZE` (the data is there, the
//!   statistics are not: every equality looks so selective that rival indexes tie) and
//!   after it (a cheaper-looking hash join or scan tempts the planner). The queries are
//!   written so that the right index is the only one their conditions can use, or the
//!   cheapest whatever the statistics say:
//!   - a probe per row of a list (a page's keys, the user's memberships, the channels to
//!     stream) is a `LATERAL` subquery kept whole by `OFFSET 0`: the planner cannot
//!     flatten it into a join it could run as a hash join over the app's rows, nor push
//!     an outer condition (a cursor) into it that would favour another index;
//!   - indexes that serve one query only are partial on a condition only that query
//!     states (`messages_rev`, `reads_rev`: `rev > 0`; `members_user_rev`: `deleted`), so
//!     a probe by key cannot tie with them;
//!   - the stream's arms read `ORDER BY rev LIMIT` page-sized index ranges, which no
//!     scan undercuts even when statistics put a whole table in one channel.
//! - An empty database is not checked: with empty tables every index ties and the planner
//!   keeps whichever it costs a hair cheaper, but an empty table has no cost to bound, and
//!   the plans cached then are re-planned once autovacuum's `ANALYZE` of the grown tables
//!   invalidates them.
//! - The plans checked are **generic** plans (`plan_cache_mode = force_generic_plan`): the
//!   store runs every statement through a connection's prepared-statement cache, and after
//!   a few executions PostgreSQL reuses a generic plan, one planned without the values.
//!
//! [`hot_queries`] (in `registry`) lists each query with the index every table must be
//! reached through; [`violations`] (in `check`) checks them on a connection, reading
//! `EXPLAIN (FORMAT JSON)` trees. The test `tests/integration/postgres_read_cost.rs` runs it
//! on a skewed dataset before and after `ANALYZE`. It is a test hook: the server itself
//! never calls it.

mod check;
mod registry;

pub use check::{Access, accesses, check, explain, index_keys, render, violations};
pub use registry::{HotQuery, Reach, hot_queries};
