//! The sans-I/O outbox engine: every local mutation (send, edit, delete, react, unreact,
//! mark read, create channel) waits here until the server has accepted it.
//!
//! The engine does no I/O, reads no clock and draws randomness only from a seed given at
//! construction. The driver feeds it inputs — [`Outbox::enqueue`], [`Outbox::on_result`],
//! [`Outbox::on_token_refreshed`], [`Outbox::on_connectivity_restored`],
//! [`Outbox::set_reachable`], and the current
//! time as [`Millis`](crate::clock::Millis) — and performs the [`Effect`]s that [`Outbox::poll`] returns. The
//! same inputs always give the same effects, so tests drive it with a simulated server.
//!
//! Rules:
//! - **Order.** Each channel (cid) is a FIFO queue with at most one request in flight;
//!   channels are independent; at most [`OutboxConfig::max_in_flight`] requests are in
//!   flight overall, oldest channel head first. A `CreateChannel` completes before
//!   anything queued after it for that cid is sent.
//! - **Batches** (see `batch.rs`): a channel's run of queued sends leaves as one batch
//!   send ([`Effect::SendBatch`], up to [`OutboxConfig::max_batch`] messages), one request
//!   in flight for the channel; each message is answered and classified as if sent alone.
//! - **Idempotency.** A send's item id is its message id, so every retry — including after
//!   a restart — is the same request; a 200 replay is success.
//! - **Coalescing** of operations the server has not seen (see `coalesce.rs`): edits merge
//!   into unsent sends, deletes cancel them, opposite reaction changes cancel out, read
//!   markers collapse to the newest. [`Outbox::enqueue`] reports what happened. An item
//!   the server may have applied (it was in flight, its reply was lost, it got a 5xx, or
//!   the app died while it was in flight) is never coalesced away: later operations queue
//!   behind it instead.
//! - **Errors** (see [`classify()`]): network / 5xx / 408 retry with exponential backoff and
//!   full jitter ([`BackoffConfig`](crate::backoff::BackoffConfig)); 429 waits at least `Retry-After`; 401 pauses the
//!   whole outbox and asks for a token ([`Effect::RefreshToken`]); any other 4xx parks the
//!   item as [`ItemState::Failed`] without blocking later items of its channel. A 404 when
//!   removing a reaction or deleting a message means the goal already holds: completed.
//!   Transient failures retry forever (capped delay); only the app gives up, via
//!   [`Outbox::discard`].
//! - **Dependencies.** An item that refers to a message whose send failed permanently, or
//!   is queued behind a failed channel creation, is [`ItemState::Blocked`]: it waits
//!   without holding up its channel, runs if the dependency is retried successfully, and
//!   is cancelled if the dependency is discarded.
//! - **Network.** While the app reports the network unreachable
//!   ([`Outbox::set_reachable`]), nothing is dispatched and no retry is scheduled: items
//!   show `Pending`, attempt counters stay; when it is reachable again everything due goes
//!   on the next `poll`.
//! - **Durability.** [`Outbox::snapshot`] / [`Outbox::persisted`] give the JSON-ready
//!   durable form; [`Outbox::restore`] rebuilds the engine after a restart, with in-flight
//!   and waiting items pending again.
//!
//! Driving loop (the driver owns the clock, the HTTP client and the token provider):
//!
//! ```text
//! after every input (enqueue, on_result, on_token_refreshed, …) and at next_wakeup():
//!     for effect in outbox.poll(now):
//!         Send { op_id, request } -> execute it; later on_result(op_id, outcome, now)
//!         SendBatch { op_ids, request } -> execute it; later on_batch_result(&op_ids, …)
//!         RefreshToken { .. }     -> get a token; then on_token_refreshed()
//!         Completed / Failed / StateChanged -> update cache and UI, persist or drop rows
//!     sleep until the next input or outbox.next_wakeup()
//! ```

mod api;
mod batch;
#[cfg(test)]
mod batch_tests;
mod classify;
mod coalesce;
#[cfg(test)]
mod coalesce_tests;
mod engine;
mod error;
mod id;
#[cfg(test)]
mod index_tests;
#[cfg(test)]
mod network_tests;
mod op;
mod queue;
mod state;
#[cfg(test)]
pub(crate) mod test_support;

pub use api::{ApiOutcome, ApiRequest, Method};
pub use classify::{Class, Failure, RetryKind, classify};
pub use coalesce::Plan;
pub use engine::Outbox;
pub use error::OutboxError;
pub use op::{OpId, OpKind, OutboxOp};
pub use state::{
    Effect, Enqueued, ItemState, ItemView, OutboxConfig, OutboxItem, OutboxSnapshot, PauseReason,
    PersistedItem,
};
