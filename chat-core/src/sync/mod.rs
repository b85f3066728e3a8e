//! The sans-I/O sync driver: pulls `GET /v1/sync` page by page from the cache's cursor,
//! as docs/protocol.md ("Sync", "Client algorithm", "Cursor errors and resets") describes.
//!
//! Like the [outbox](crate::outbox), [`SyncDriver`] does no I/O, reads no clock and draws
//! randomness only from a seed given at construction. The client feeds it inputs —
//! [`SyncDriver::start`], [`SyncDriver::on_response`], [`SyncDriver::on_applied`],
//! [`SyncDriver::on_apply_failed`], [`SyncDriver::on_reset_done`],
//! [`SyncDriver::on_token_refreshed`], [`SyncDriver::on_connectivity_restored`] and the
//! current time as [`Millis`](crate::clock::Millis) — and performs the [`SyncEffect`]s that [`SyncDriver::poll`]
//! returns. The same inputs always give the same effects.
//!
//! # When to start
//! On app start and on every reconnect the client first flushes the outbox (so the server
//! already holds the user's own pending work), then calls [`SyncDriver::start`] with
//! [`Cache::cursor`](crate::cache::Cache::cursor). Flushing is the client's job, not the
//! driver's. A `start` while a sync is running does not restart it: it is coalesced into
//! one more sync right after the current one completes (with the cursor the current one
//! reached), however many `start`s arrived meanwhile.
//!
//! # Rules
//! - **Page loop.** [`SyncEffect::Fetch`] asks for
//!   `/v1/sync?limit=<SyncConfig::limit>&cursor=<url-encoded cursor>` (no `cursor` for a
//!   bootstrap). A `200` page is handed back as [`SyncEffect::Apply`]; the client applies it
//!   with [`Cache::apply_sync_page`](crate::cache::Cache::apply_sync_page), which stores the
//!   page's cursor in the same transaction, and reports [`SyncDriver::on_applied`] or
//!   [`SyncDriver::on_apply_failed`]. Only then does the driver fetch the next page
//!   (`has_more`) or complete.
//! - **The cursor never moves past what is applied.** [`SyncDriver::cursor`] is always the
//!   cursor of the last page the client reported as applied (or the one given to `start`).
//!   A fetched page's cursor is adopted in `on_applied`, never earlier; every fetch, retry
//!   included, starts from the applied cursor.
//! - **Apply failure** (disk full, busy, …) keeps the cursor: nothing of the page was
//!   stored. The driver waits a backoff delay and fetches again from the applied cursor.
//! - **Resets.** `410` (`cursor_expired`, action `reset`) or `400 invalid_cursor` for a
//!   non-empty cursor gives [`SyncEffect::Reset`]: the client runs
//!   [`Cache::reset_synced_data`](crate::cache::Cache::reset_synced_data) (which keeps the
//!   outbox and local echoes, and clears the stored cursor) and reports
//!   [`SyncDriver::on_reset_done`]; the driver then bootstraps (no cursor). The same answer
//!   to a bootstrap cannot be cured by a reset, so it is retried with backoff instead.
//! - **Auth.** `401` gives [`SyncEffect::NeedToken`]; the driver waits for
//!   [`SyncDriver::on_token_refreshed`] and then fetches the same page again.
//! - **Transient errors** — network failures, `408`, `429`, `5xx`, and `410`/`400` on a
//!   bootstrap — retry with exponential backoff and full jitter ([`BackoffConfig`](crate::backoff::BackoffConfig), drawn
//!   from a seeded [`SplitMix64`](crate::backoff::SplitMix64)). The delay is at least the `Retry-After` header (or the
//!   body's `retry_after_secs`). Transient failures retry forever (capped delay);
//!   [`SyncDriver::next_wakeup`] says when to poll again, and
//!   [`SyncDriver::on_connectivity_restored`] cuts a wait short. The failure count resets
//!   after any successfully applied page.
//! - **Other errors** (`403`, other `4xx`) cannot succeed by retrying: the sync stops with
//!   [`SyncEffect::Failed`], keeping its cursor; the next `start` tries again.
//! - **Completion.** After the last page (`has_more: false`) is applied, `poll` returns
//!   [`SyncEffect::RefreshUnread`] (fetch `GET /v1/unread` and store it with
//!   [`Cache::replace_unread_counts`](crate::cache::Cache::replace_unread_counts); best
//!   effort, the driver is not told the result) and [`SyncEffect::Done`] with the settled
//!   cursor. Then a coalesced sync starts, or the driver is idle.
//!
//! Driving loop:
//!
//! ```text
//! outbox flushed; driver.start(cache.cursor()?, now)
//! after every input and at driver.next_wakeup():
//!     for effect in driver.poll(now):
//!         Fetch { path }    -> GET path; later on_response(outcome, now)
//!         Apply { page }    -> cache.apply_sync_page(&page): on_applied / on_apply_failed
//!         Reset             -> cache.reset_synced_data(): on_reset_done (or on_apply_failed)
//!         NeedToken         -> get a token; then on_token_refreshed(now)
//!         RefreshUnread     -> GET /v1/unread; cache.replace_unread_counts(..)
//!         Done { cursor }   -> notify listeners; Failed { .. } -> log
//!         Idle              -> nothing to do until the next start
//! ```

mod driver;
#[cfg(test)]
mod tests;

pub use driver::{SyncConfig, SyncDriver, SyncEffect, SyncOutcome, sync_path};
