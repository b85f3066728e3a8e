//! The [`Outbox`] state machine: construction and restore, the driver inputs (`poll`,
//! `on_result`, token and connectivity events), app controls (`retry`, `discard`) and
//! inspection. Enqueueing and coalescing live in `coalesce.rs`, dependency and scheduling
//! rules in `queue.rs`.
//!
//! Driving it: after every input call [`Outbox::poll`] and perform the effects; call it
//! again at [`Outbox::next_wakeup`] if nothing else happens first.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chat_protocol::Cid;
use uuid::Uuid;

use serde_json::Value;

use super::api::ApiOutcome;
use super::classify::{Class, classify};
use super::error::OutboxError;
use super::op::{OpId, OutboxOp};
use super::queue::{Entry, Stage};
use super::state::{Effect, ItemState, ItemView, OutboxConfig, OutboxSnapshot, PersistedItem};
use crate::backoff::SplitMix64;
use crate::clock::Millis;

/// The sans-I/O outbox engine. See the [module docs](super) for the rules it enforces.
#[derive(Debug, Clone)]
pub struct Outbox {
    pub(super) config: OutboxConfig,
    pub(super) rng: SplitMix64,
    /// Items by sequence number: the global enqueue order.
    pub(super) entries: BTreeMap<u64, Entry>,
    /// Sequence number by item id (looked up, never iterated).
    pub(super) index: HashMap<OpId, u64>,
    pub(super) next_seq: u64,
    /// Paused for authentication.
    pub(super) paused: bool,
    /// Token generation, bumped by every refresh.
    pub(super) auth_epoch: u64,
    /// Refreshes since the last successful request.
    pub(super) refreshes_without_success: u32,
    /// Effects produced by inputs, handed out by the next `poll`.
    pub(super) notes: Vec<Effect>,
    /// Each channel's queue: its items' sequence numbers, in order.
    pub(super) queues: HashMap<Cid, BTreeSet<u64>>,
    /// Each channel's `CreateChannel` items.
    pub(super) creates: HashMap<Cid, BTreeSet<u64>>,
    /// Each channel's `MarkRead` items.
    pub(super) mark_reads: HashMap<Cid, BTreeSet<u64>>,
    /// Each channel's items that change the channel or its members
    /// ([`OutboxOp::changes_channel`]).
    pub(super) channel_changes: HashMap<Cid, BTreeSet<u64>>,
    /// The items touching each message (referring to it, or its send).
    pub(super) touching: HashMap<Uuid, BTreeSet<u64>>,
    /// The items depending on each item.
    pub(super) dependents: HashMap<u64, Vec<u64>>,
    /// Channels with a request in flight, each with its number of items in flight (more
    /// than one for a batch send). Its length is the number of requests in flight.
    pub(super) busy: HashMap<Cid, usize>,
    /// Items in flight.
    pub(super) flying: usize,
    /// The most messages a batch may hold now: `config.max_batch`, lowered when the
    /// server refused a batch as a whole (see `batch.rs`).
    pub(super) batch_cap: usize,
    /// Items whose visible state may differ from the one reported.
    pub(super) dirty: BTreeSet<u64>,
    /// Bumped by every change to the items or their visible states (see
    /// [`Outbox::revision`]).
    pub(super) revision: u64,
    /// The network is reported unreachable: nothing is dispatched (see
    /// [`Outbox::set_reachable`]).
    pub(super) offline: bool,
}

impl Outbox {
    /// An empty outbox. `seed` drives the backoff jitter and nothing else.
    pub fn new(config: OutboxConfig, seed: u64) -> Self {
        Self {
            config,
            rng: SplitMix64::new(seed),
            entries: BTreeMap::new(),
            index: HashMap::new(),
            next_seq: 0,
            paused: false,
            auth_epoch: 0,
            refreshes_without_success: 0,
            notes: Vec::new(),
            queues: HashMap::new(),
            creates: HashMap::new(),
            mark_reads: HashMap::new(),
            channel_changes: HashMap::new(),
            touching: HashMap::new(),
            dependents: HashMap::new(),
            busy: HashMap::new(),
            flying: 0,
            batch_cap: config.max_batch.clamp(1, chat_protocol::limits::MAX_BATCH),
            dirty: BTreeSet::new(),
            revision: 0,
            offline: false,
        }
    }

    /// Rebuilds an outbox from its persisted items (in their enqueue order), e.g. after an
    /// app restart. Items that were in flight or waiting to retry are pending again and are
    /// sent on the next `poll` (with the same ids, so a request the server already applied
    /// is answered as a replay). Failed items stay failed. No coalescing happens here.
    pub fn restore(
        config: OutboxConfig,
        seed: u64,
        snapshot: OutboxSnapshot,
    ) -> Result<Self, OutboxError> {
        let mut outbox = Self::new(config, seed);
        for item in snapshot.items {
            let cid = item.op.validate(item.op_id)?;
            if outbox.index.contains_key(&item.op_id) {
                return Err(OutboxError::DuplicateOpId(item.op_id));
            }
            let stage = item.failure.map_or(Stage::Queued, Stage::Failed);
            outbox.push_entry(item.op_id, cid, item.op, stage);
            let entry = outbox.get_mut(item.op_id).expect("just pushed");
            entry.attempts = item.attempts;
            entry.maybe_applied = item.maybe_applied;
        }
        outbox.sync_reported();
        Ok(outbox)
    }

    /// The whole durable state, oldest item first. An item in flight is recorded as
    /// `maybe_applied` (its request may reach the server even if the app dies now).
    pub fn snapshot(&self) -> OutboxSnapshot {
        OutboxSnapshot {
            items: self.entries.values().map(Self::persist).collect(),
        }
    }

    /// The durable form of one item, for callers that persist item by item: write it when
    /// it is queued or merged into (`Enqueued`), sent (`Effect::Send`), failed
    /// (`Effect::Failed`) or retried; delete it when it leaves (`Effect::Completed`,
    /// `Enqueued::cancelled`, `discard`). Rows read back in enqueue order form the
    /// [`OutboxSnapshot`] for [`Outbox::restore`].
    pub fn persisted(&self, op_id: OpId) -> Option<PersistedItem> {
        self.get(op_id).map(Self::persist)
    }

    fn persist(entry: &Entry) -> PersistedItem {
        PersistedItem {
            op_id: entry.op_id,
            op: entry.op.clone(),
            attempts: entry.attempts,
            maybe_applied: entry.maybe_applied || entry.in_flight(),
            failure: match &entry.stage {
                Stage::Failed(f) => Some(f.clone()),
                _ => None,
            },
        }
    }

    /// Hands out the notifications produced by inputs since the last call (`Completed`,
    /// `Failed`, `RefreshToken`) without dispatching anything: for a driver that cannot
    /// send right now (no token) but must still record completed work.
    pub fn take_notifications(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.notes)
    }

    /// Dispatches what may go now and returns every effect produced since the last call:
    /// first notifications from inputs (`Completed`, `Failed`, `RefreshToken`), then
    /// `StateChanged`, then the new `Send`s (oldest channel head first, at most
    /// `max_in_flight` in flight, at most one per channel, none while paused).
    pub fn poll(&mut self, now: Millis) -> Vec<Effect> {
        let mut out = std::mem::take(&mut self.notes);
        let mut sends = Vec::new();
        if !self.paused && !self.offline {
            let mut free = self.free_slots();
            for head in self.heads() {
                if free == 0 {
                    break;
                }
                if head.due.is_some_and(|at| at > now) {
                    continue;
                }
                sends.push(self.dispatch(head.seq, now));
                free -= 1;
            }
        }
        for seq in std::mem::take(&mut self.dirty) {
            if !self.entries.contains_key(&seq) {
                continue;
            }
            let state = self.visible_state(seq);
            let entry = self.entries.get_mut(&seq).expect("present");
            if state != entry.reported {
                if !matches!(state, ItemState::InFlight | ItemState::Failed(_)) {
                    out.push(Effect::StateChanged {
                        op_id: entry.op_id,
                        state: state.clone(),
                    });
                }
                entry.reported = state;
            }
        }
        out.extend(sends);
        out
    }

    /// When `poll` should be called next if no other input arrives: the earliest retry
    /// time of a channel head that `poll` would dispatch. `None` when only an input (a
    /// result, a token, an enqueue) can make progress. Valid right after `poll`.
    pub fn next_wakeup(&self) -> Option<Millis> {
        if self.paused || self.offline || self.free_slots() == 0 {
            return None;
        }
        self.heads().iter().filter_map(|h| h.due).min()
    }

    /// Reports the result of the request sent for `op_id`. Errors if the item is not in
    /// flight (unknown, discarded, or a duplicate report); the outbox is then unchanged.
    pub fn on_result(
        &mut self,
        op_id: OpId,
        outcome: ApiOutcome,
        now: Millis,
    ) -> Result<(), OutboxError> {
        let entry = self.get(op_id).ok_or(OutboxError::NotInFlight(op_id))?;
        if !entry.in_flight() {
            return Err(OutboxError::NotInFlight(op_id));
        }
        match classify(&entry.op, &outcome) {
            Class::Success | Class::AlreadyDone => {
                let entry = self.remove_entry(op_id).expect("present");
                let (status, body) = match outcome {
                    ApiOutcome::Ok { status, body } => (status, body),
                    ApiOutcome::HttpError { status, .. } => (status, Value::Null),
                    // Never classified as a success; kept total without a panic.
                    ApiOutcome::Network(_) => (0, Value::Null),
                };
                self.refreshes_without_success = 0;
                self.notes.push(Effect::Completed {
                    op_id,
                    op: entry.op,
                    status,
                    body,
                });
            }
            Class::Retry { kind, retry_after } => {
                let seq = self.index[&op_id];
                let entry = self.entries.get_mut(&seq).expect("present");
                entry.attempts = entry.attempts.saturating_add(1);
                entry.maybe_applied |= kind.maybe_applied();
                let backoff = self.config.backoff.delay(entry.attempts, &mut self.rng);
                let delay = retry_after.map_or(backoff, |wait| wait.max(backoff));
                entry.not_before = retry_after.map(|wait| now.saturating_add(wait));
                self.set_stage(seq, Stage::Waiting(now.saturating_add(delay)));
            }
            Class::Auth => {
                let seq = self.index[&op_id];
                self.set_stage(seq, Stage::Queued);
                // A 401 for a request sent before the latest refresh says nothing about
                // the new token: just resend it.
                if self.entries[&seq].auth_epoch == self.auth_epoch && !self.paused {
                    self.paused = true;
                    self.mark_all_dirty();
                    self.notes.push(Effect::RefreshToken {
                        repeated: self.refreshes_without_success > 0,
                    });
                }
            }
            Class::Permanent(failure) => {
                let seq = self.index[&op_id];
                self.set_stage(seq, Stage::Failed(failure.clone()));
                self.notes.push(Effect::Failed { op_id, failure });
            }
        }
        Ok(())
    }

    /// A fresh token is available: lift the auth pause. Items waiting only for it are
    /// sent on the next `poll`.
    pub fn on_token_refreshed(&mut self) {
        self.auth_epoch += 1;
        self.refreshes_without_success = self.refreshes_without_success.saturating_add(1);
        if self.paused {
            self.paused = false;
            self.mark_all_dirty();
        }
    }

    /// The network is reported unreachable (`false`) or reachable again (`true`).
    /// Unreachable, the outbox holds: `poll` dispatches nothing and there is no wakeup, so
    /// no request is attempted and no backoff grows; items waiting to retry are due again
    /// (a `Retry-After` still holds) and show `Pending`. Reachable again, everything due
    /// goes on the next `poll` (as after [`Outbox::on_connectivity_restored`]). Items
    /// already in flight finish as they will. A new outbox is reachable.
    pub fn set_reachable(&mut self, reachable: bool) {
        if self.offline != reachable {
            return;
        }
        self.offline = !reachable;
        self.revision = self.revision.wrapping_add(1);
        self.on_connectivity_restored();
    }

    /// Whether the network is reported reachable (see [`Outbox::set_reachable`]).
    pub fn is_reachable(&self) -> bool {
        !self.offline
    }

    /// A number that changes whenever the items change — one is added, merged into,
    /// restaged or removed — or their visible states may have (the auth pause, the
    /// network). Equal revisions mean [`Outbox::items`] is unchanged: a watcher re-reads the
    /// items only when it moved, so the outbox itself pays one addition per change.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Connectivity came back (or the app came to the foreground): every item waiting to
    /// retry becomes due now, unless the server asked it to wait longer (`Retry-After`).
    /// Attempt counters are kept, so a still-broken network keeps backing off.
    pub fn on_connectivity_restored(&mut self) {
        let hurried: Vec<(u64, Stage)> = self
            .entries
            .values()
            .filter_map(|e| e.hurried().map(|stage| (e.seq, stage)))
            .collect();
        for (seq, stage) in hurried {
            self.set_stage(seq, stage);
        }
    }

    /// Retries an item now: a failed item becomes pending with a fresh attempt counter; an
    /// item waiting to retry becomes due now (a `Retry-After` still holds); a pending or
    /// blocked item is left as is (retry a blocked item's failed dependency instead).
    pub fn retry(&mut self, op_id: OpId) -> Result<(), OutboxError> {
        let entry = self.get_mut(op_id).ok_or(OutboxError::UnknownOp(op_id))?;
        let seq = entry.seq;
        match entry.stage {
            Stage::InFlight => return Err(OutboxError::InFlight(op_id)),
            Stage::Failed(_) => {
                entry.attempts = 0;
                self.set_stage(seq, Stage::Queued);
            }
            Stage::Waiting(_) => {
                let stage = entry.hurried().expect("waiting");
                self.set_stage(seq, stage);
            }
            Stage::Queued => {}
        }
        Ok(())
    }

    /// Gives up on an item that is not in flight, and cancels every item that depends on
    /// it (edits, deletes, reactions and read markers of a discarded send, replies and
    /// quotes of it; everything queued for a discarded channel creation). Returns the
    /// removed ids, `op_id` first. Discarding a send that is `maybe_applied` does not
    /// unsend it: the message may exist on the server, and sync will show it.
    pub fn discard(&mut self, op_id: OpId) -> Result<Vec<OpId>, OutboxError> {
        let removed = self.plan_discard(op_id)?;
        self.apply_discard(&removed);
        Ok(removed)
    }

    /// Removes what [`Outbox::plan_discard`] decided, on the outbox it was planned on.
    pub fn apply_discard(&mut self, removed: &[OpId]) {
        for id in removed {
            self.remove_entry(*id);
        }
    }

    /// What [`Outbox::discard`] would remove, without changing anything.
    pub fn plan_discard(&self, op_id: OpId) -> Result<Vec<OpId>, OutboxError> {
        let entry = self.get(op_id).ok_or(OutboxError::UnknownOp(op_id))?;
        if entry.in_flight() {
            return Err(OutboxError::InFlight(op_id));
        }
        Ok(self.cascade(op_id))
    }

    /// The durable form `op_id` would have with its operation replaced by `op` (an item
    /// an enqueue [`Plan`](super::Plan) merges into), for persisting before applying.
    pub fn persisted_as(&self, op_id: OpId, op: &OutboxOp) -> Option<PersistedItem> {
        self.persisted(op_id).map(|item| PersistedItem {
            op: op.clone(),
            ..item
        })
    }

    /// Every item in enqueue order, with its visible state.
    pub fn items(&self) -> Vec<ItemView<'_>> {
        self.entries
            .values()
            .map(|entry| ItemView {
                op_id: entry.op_id,
                op: &entry.op,
                state: self.visible_state(entry.seq),
                attempts: entry.attempts,
                maybe_applied: entry.maybe_applied,
            })
            .collect()
    }

    /// The items that change `message` as the UI shows it — its send, and edits, deletes
    /// and reaction changes of it — in enqueue order, with their visible states. Costs
    /// O(items touching the message), whatever the backlog.
    pub fn changes_of(&self, message: Uuid) -> impl Iterator<Item = ItemView<'_>> {
        self.touching(message)
            .filter(move |e| match &e.op {
                OutboxOp::SendMessage { request, .. } => request.id == message,
                OutboxOp::MarkRead { .. } | OutboxOp::CreateChannel { .. } => false,
                op if op.changes_channel() => false,
                op => op.target_message() == Some(message),
            })
            .map(|entry| ItemView {
                op_id: entry.op_id,
                op: &entry.op,
                state: self.visible_state(entry.seq),
                attempts: entry.attempts,
                maybe_applied: entry.maybe_applied,
            })
    }

    /// Whether `op`, enqueued now as a new item of `cid`, would be sent by the next
    /// [`Outbox::poll`] at `now` (given a token): nothing paused, nothing else of its
    /// channel queued or in flight, nothing it depends on still queued, and a free slot
    /// left after the other channels' due heads. A driver may then record the item as
    /// "may have reached the server" in the same write that queues it, instead of in a
    /// second one when it is sent (a wrong guess only costs coalescing after a restart).
    pub fn goes_at_once(&self, cid: &Cid, op: &OutboxOp, now: Millis) -> bool {
        if self.paused
            || self.offline
            || self.queues.contains_key(cid)
            || self.busy.contains_key(cid)
        {
            return false;
        }
        if op.message_refs().any(|m| self.index.contains_key(&OpId(m))) {
            return false;
        }
        let due_elsewhere = self
            .heads()
            .iter()
            .filter(|h| h.due.is_none_or(|at| at <= now))
            .count();
        self.free_slots() > due_elsewhere
    }

    /// Whether a read marker of `cid` is queued.
    pub fn marks_read(&self, cid: &Cid) -> bool {
        self.mark_reads.contains_key(cid)
    }

    /// The items that change `cid` itself or its members (renames, member changes,
    /// leaving), in enqueue order, with their visible states. Costs O(those items),
    /// whatever the backlog.
    pub fn channel_changes(&self, cid: &Cid) -> impl Iterator<Item = ItemView<'_>> {
        self.channel_changes_of(cid)
    }

    /// The channels with queued items that change them or their members: O(those
    /// channels).
    pub fn changed_channels(&self) -> impl Iterator<Item = &Cid> {
        self.channel_changes.keys()
    }

    fn channel_changes_of(&self, cid: &Cid) -> impl Iterator<Item = ItemView<'_>> {
        self.channel_changes
            .get(cid)
            .into_iter()
            .flatten()
            .map(|seq| &self.entries[seq])
            .map(|entry| ItemView {
                op_id: entry.op_id,
                op: &entry.op,
                state: self.visible_state(entry.seq),
                attempts: entry.attempts,
                maybe_applied: entry.maybe_applied,
            })
    }

    /// The visible state of one item.
    pub fn state(&self, op_id: OpId) -> Option<ItemState> {
        let seq = *self.index.get(&op_id)?;
        Some(self.visible_state(seq))
    }

    /// The operation of one item (with any merged edits).
    pub fn get_op(&self, op_id: OpId) -> Option<OutboxOp> {
        self.get(op_id).map(|e| e.op.clone())
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the outbox holds no item.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of items in flight (each message of a batch send counts).
    pub fn in_flight(&self) -> usize {
        self.flying
    }

    /// Number of requests in flight (a batch send counts once).
    pub fn requests_in_flight(&self) -> usize {
        self.busy.len()
    }

    /// Whether the outbox is paused waiting for a fresh token.
    pub fn is_auth_paused(&self) -> bool {
        self.paused
    }

    fn free_slots(&self) -> usize {
        self.config
            .max_in_flight
            .max(1)
            .saturating_sub(self.requests_in_flight())
    }

    /// Marks every item's current visible state as known to the caller.
    pub(super) fn sync_reported(&mut self) {
        let states: Vec<(u64, ItemState)> = self
            .entries
            .keys()
            .map(|&seq| (seq, self.visible_state(seq)))
            .collect();
        for (seq, state) in states {
            self.entries.get_mut(&seq).expect("present").reported = state;
        }
        self.dirty.clear();
    }
}
