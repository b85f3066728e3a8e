//! The engine's vocabulary: configuration, the item states callers see, the effects the
//! engine asks the driver to perform, the results of synchronous calls and the persisted
//! form of items.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::api::ApiRequest;
use super::classify::Failure;
use super::op::{OpId, OutboxOp};
use crate::backoff::BackoffConfig;
use crate::clock::Millis;

/// Engine settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxConfig {
    /// Most requests in flight at once, over all channels (at least 1 is used).
    pub max_in_flight: usize,
    /// Most messages in one batch send (consecutive sends of one channel go as one
    /// request, see [`Effect::SendBatch`]); `1` sends every message on its own. At most
    /// [`MAX_BATCH`](chat_protocol::limits::MAX_BATCH) is used.
    pub max_batch: usize,
    /// Retry timing for transient failures.
    pub backoff: BackoffConfig,
}

impl Default for OutboxConfig {
    /// 4 requests in flight; batches of up to 100 messages; 500 ms – 60 s backoff.
    fn default() -> Self {
        Self {
            max_in_flight: 4,
            max_batch: chat_protocol::limits::MAX_BATCH,
            backoff: BackoffConfig::default(),
        }
    }
}

/// Why items wait without being retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    /// The server rejected the token (401); waiting for `on_token_refreshed`.
    Auth,
}

/// The state of an item as the UI should show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "detail", rename_all = "snake_case")]
pub enum ItemState {
    /// Waiting for its turn (earlier items of its channel, a free request slot).
    Pending,
    /// Its request is being executed by the driver.
    InFlight,
    /// A transient failure; retried at `at` (or earlier on connectivity change / `retry`).
    WaitingRetry {
        /// Consecutive failed attempts so far.
        attempt: u32,
        /// When it is retried.
        at: Millis,
    },
    /// The whole outbox is paused.
    Paused(PauseReason),
    /// It cannot succeed before `on` does, and `on` failed permanently (or is itself
    /// blocked): e.g. an edit of a message whose send was rejected, or anything queued
    /// for a channel whose creation was rejected. It does not block the rest of its
    /// channel. It runs once `on` is retried and succeeds; it is cancelled when `on` is
    /// discarded.
    Blocked {
        /// The dependency (a `SendMessage` or `CreateChannel` item).
        on: OpId,
    },
    /// Failed permanently; parked until `retry` or `discard`. Later items proceed.
    Failed(Failure),
}

/// Something the driver must do or may want to know, returned by `Outbox::poll`.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Execute `request` and report the result with `on_result(op_id, …)`. The item is
    /// now in flight; persisting it now records that it may reach the server.
    Send {
        /// The item.
        op_id: OpId,
        /// The call to make.
        request: ApiRequest,
    },
    /// Execute `request` — one batch send of several consecutive messages of `cid` — and
    /// report its result with `on_batch_result(&op_ids, …)`. Every item is now in flight
    /// (persist them all before the request leaves). One request: it takes one of the
    /// `max_in_flight` slots and is its channel's one request in flight.
    SendBatch {
        /// The items, in the channel's order (the order of the request's messages).
        op_ids: Vec<OpId>,
        /// The call to make.
        request: ApiRequest,
    },
    /// The item reached its goal and left the outbox (delete its persisted row).
    Completed {
        /// The item.
        op_id: OpId,
        /// The operation (for applying `body` to the cache).
        op: OutboxOp,
        /// The HTTP status (2xx, or 404 for a removal whose target was already gone).
        status: u16,
        /// The response body (`Value::Null` for an "already gone" 404).
        body: Value,
    },
    /// The item failed permanently and is parked (state [`ItemState::Failed`]).
    Failed {
        /// The item.
        op_id: OpId,
        /// Why.
        failure: Failure,
    },
    /// The item's visible state changed (to anything but `InFlight` and `Failed`, which
    /// are announced by `Send` and `Failed`).
    StateChanged {
        /// The item.
        op_id: OpId,
        /// Its new state.
        state: ItemState,
    },
    /// The server rejected the token: fetch a fresh one, then call `on_token_refreshed`.
    /// `repeated` means a token obtained by an earlier refresh was rejected too, with no
    /// success in between — do not loop: surface it (e.g. sign the user out of chat).
    RefreshToken {
        /// A refreshed token was rejected as well.
        repeated: bool,
    },
}

/// What `Outbox::enqueue` did with an operation, so the caller can mirror it in its local
/// state and persisted rows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Enqueued {
    /// The operation was added as its own item (persist it). `false` when it was merged
    /// into another item or annulled together with one.
    pub queued: bool,
    /// The operation was folded into this item (persist that item again).
    pub merged_into: Option<OpId>,
    /// Items removed from the outbox because of this operation (delete their rows).
    pub cancelled: Vec<OpId>,
}

/// A read-only view of one item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemView<'a> {
    /// The item's id.
    pub op_id: OpId,
    /// The operation (with any merged edits).
    pub op: &'a OutboxOp,
    /// Its visible state.
    pub state: ItemState,
    /// Consecutive transient failures so far.
    pub attempts: u32,
    /// Whether an earlier attempt may have been applied by the server.
    pub maybe_applied: bool,
}

/// One queued operation as the app sees it (`ChatClient::outbox`, `ChatClient::live_outbox`):
/// an owned [`ItemView`] without the engine's bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxItem {
    /// Its id (for a send, the message id): pass it to `retry` or `discard`.
    pub op_id: OpId,
    /// The operation.
    pub op: OutboxOp,
    /// Its state.
    pub state: ItemState,
}

impl From<ItemView<'_>> for OutboxItem {
    fn from(view: ItemView<'_>) -> Self {
        Self {
            op_id: view.op_id,
            op: view.op.clone(),
            state: view.state,
        }
    }
}

/// The durable form of one item. Holds no times: after a restart, an item that was in
/// flight or waiting to retry is simply pending again (its id makes resending safe).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersistedItem {
    /// The item's id.
    pub op_id: OpId,
    /// The operation.
    pub op: OutboxOp,
    /// Consecutive transient failures so far (backoff continues from here).
    #[serde(default)]
    pub attempts: u32,
    /// A request for it may have reached the server (it was in flight, or failed
    /// ambiguously). Such an item is never coalesced away: a pending send that may
    /// already be stored cannot absorb an edit or be cancelled by a delete.
    #[serde(default)]
    pub maybe_applied: bool,
    /// Set when the item failed permanently.
    #[serde(default)]
    pub failure: Option<Failure>,
}

/// Every item, in enqueue order: the whole durable state of the outbox.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OutboxSnapshot {
    /// Items, oldest first.
    pub items: Vec<PersistedItem>,
}

#[cfg(test)]
mod tests {
    use chat_protocol::ErrorCode;

    use super::*;
    use uuid::Uuid;

    #[test]
    fn item_states_round_trip_through_json() {
        let states = [
            ItemState::Pending,
            ItemState::InFlight,
            ItemState::WaitingRetry {
                attempt: 2,
                at: Millis(7),
            },
            ItemState::Paused(PauseReason::Auth),
            ItemState::Blocked {
                on: OpId(Uuid::nil()),
            },
            ItemState::Failed(Failure {
                reason: "too long".into(),
                code: Some(ErrorCode::ValidationFailed),
                status: 400,
            }),
        ];
        for state in states {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(
                serde_json::from_str::<ItemState>(&json).unwrap(),
                state,
                "{json}"
            );
        }
        let paused = serde_json::to_value(ItemState::Paused(PauseReason::Auth)).unwrap();
        assert_eq!(
            paused,
            serde_json::json!({"state": "paused", "detail": "auth"})
        );
    }
}
