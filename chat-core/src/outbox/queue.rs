//! Queue structure and scheduling decisions: the per-item record, the dependencies
//! between items, and which item of each channel may go next.
//!
//! All items live in one global enqueue order (`seq`). Beside it the outbox keeps
//! indexes, each updated by the only functions that add, remove or restage an item
//! ([`Outbox::push_entry`], [`Outbox::remove_entry`], [`Outbox::set_stage`]): each
//! channel's FIFO queue (that order filtered by channel), its `CreateChannel` items, its
//! items changing the channel or its members, the items touching each message, each item's dependencies and dependents, the channels
//! with a request in flight, and the items whose visible state may have changed. So no
//! decision walks the whole outbox: dispatching costs O(channels with queued items),
//! a completion O(its dependents), and the cost never grows with the backlog. Ties are
//! broken by `seq`, which keeps every decision deterministic.
//!
//! Dependencies: an item depends on the latest earlier `CreateChannel` of its channel
//! still in the outbox, and on the `SendMessage` items (still in the outbox, enqueued
//! earlier) of every message it refers to (target, thread parent, quoted message). A
//! dependency that failed permanently — directly or through its own dependencies —
//! *blocks* the item: it is skipped and does not hold up its channel. Any other present
//! dependency makes the item (and hence its channel) *wait*.

use std::collections::{BTreeSet, HashMap};

use chat_protocol::Cid;
use uuid::Uuid;

use super::engine::Outbox;
use super::op::{OpId, OutboxOp};
use super::state::{ItemState, PauseReason};
use crate::clock::Millis;

/// The engine-internal lifecycle of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Stage {
    /// Ready as soon as it is its channel's turn.
    Queued,
    /// Handed to the driver; a result is expected.
    InFlight,
    /// Retried at the given time.
    Waiting(Millis),
    /// Parked after a permanent failure.
    Failed(super::classify::Failure),
}

/// One outbox item.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) op_id: OpId,
    /// Position in the global enqueue order.
    pub(super) seq: u64,
    /// The channel queue it belongs to.
    pub(super) cid: Cid,
    pub(super) op: OutboxOp,
    pub(super) stage: Stage,
    /// Consecutive transient failures.
    pub(super) attempts: u32,
    /// A request for it may have been applied by the server.
    pub(super) maybe_applied: bool,
    /// The token generation it was last sent with (to ignore 401s from stale tokens).
    pub(super) auth_epoch: u64,
    /// The server's `Retry-After` deadline from the last failure, honoured even when a
    /// retry is forced early (connectivity change, `retry`). Not persisted: clock epochs
    /// do not survive restarts.
    pub(super) not_before: Option<Millis>,
    /// The visible state last announced (or known to the caller).
    pub(super) reported: ItemState,
    /// Sequence numbers of its direct dependencies (fixed at enqueue, see the module docs;
    /// a dependency leaves this list when it leaves the outbox).
    pub(super) deps: Vec<u64>,
}

impl Entry {
    pub(super) fn in_flight(&self) -> bool {
        self.stage == Stage::InFlight
    }

    /// Whether the server certainly has not seen this item, so it may still be merged
    /// into or annulled by a later operation.
    pub(super) fn coalescable(&self) -> bool {
        !self.in_flight() && !self.maybe_applied
    }

    /// The stage of an item waiting to retry that is hurried: due now, except for a
    /// server-imposed wait. `None` when it is not waiting.
    pub(super) fn hurried(&self) -> Option<Stage> {
        matches!(self.stage, Stage::Waiting(_))
            .then(|| self.not_before.map_or(Stage::Queued, Stage::Waiting))
    }
}

/// The state `entry` shows, given its gate and whether the outbox is auth-paused.
pub(super) fn visible(entry: &Entry, gate: Gate, paused: bool) -> ItemState {
    match (&entry.stage, gate) {
        (Stage::InFlight, _) => ItemState::InFlight,
        (Stage::Failed(f), _) => ItemState::Failed(f.clone()),
        (_, Gate::Blocked(on)) => ItemState::Blocked { on },
        _ if paused => ItemState::Paused(PauseReason::Auth),
        (Stage::Waiting(at), _) => ItemState::WaitingRetry {
            attempt: entry.attempts,
            at: *at,
        },
        (Stage::Queued, _) => ItemState::Pending,
    }
}

/// Whether an item may be dispatched as far as its dependencies are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gate {
    /// No dependency left.
    Open,
    /// A dependency is still on its way; the item's channel waits.
    Wait,
    /// A dependency failed permanently (possibly transitively); the item is parked.
    Blocked(OpId),
}

/// The next item a channel would dispatch.
pub(super) struct Head {
    pub(super) seq: u64,
    /// `Some(at)` when it is waiting to retry at `at`.
    pub(super) due: Option<Millis>,
}

/// The messages an operation touches, for the per-message index: the ones it refers to
/// and, for a send, its own.
fn touched(op: &OutboxOp) -> impl Iterator<Item = Uuid> + '_ {
    let own = match op {
        OutboxOp::SendMessage { request, .. } => Some(request.id),
        _ => None,
    };
    op.message_refs().chain(own)
}

fn insert_into<K: std::hash::Hash + Eq>(map: &mut HashMap<K, BTreeSet<u64>>, key: K, seq: u64) {
    map.entry(key).or_default().insert(seq);
}

fn remove_from<K: std::hash::Hash + Eq>(map: &mut HashMap<K, BTreeSet<u64>>, key: &K, seq: u64) {
    if let Some(set) = map.get_mut(key) {
        set.remove(&seq);
        if set.is_empty() {
            map.remove(key);
        }
    }
}

impl Outbox {
    /// The item with id `id`.
    pub(super) fn get(&self, id: OpId) -> Option<&Entry> {
        self.entries.get(self.index.get(&id)?)
    }

    /// The item with id `id`, mutably. Never change its stage through it: use
    /// [`Outbox::set_stage`], which keeps the indexes.
    pub(super) fn get_mut(&mut self, id: OpId) -> Option<&mut Entry> {
        self.entries.get_mut(self.index.get(&id)?)
    }

    /// The items touching `message` (referring to it, or its send), in enqueue order.
    pub(super) fn touching(&self, message: Uuid) -> impl DoubleEndedIterator<Item = &Entry> {
        self.touching
            .get(&message)
            .into_iter()
            .flatten()
            .map(|seq| &self.entries[seq])
    }

    /// The `MarkRead` items of `cid`, in enqueue order.
    pub(super) fn mark_reads(&self, cid: &Cid) -> impl Iterator<Item = &Entry> {
        self.mark_reads
            .get(cid)
            .into_iter()
            .flatten()
            .map(|seq| &self.entries[seq])
    }

    /// The dependency gate of the item `seq`: blocked by the first dependency that failed
    /// or is itself blocked, waiting while any other is present, open without any.
    pub(super) fn gate(&self, seq: u64) -> Gate {
        let mut gate = Gate::Open;
        for dep in &self.entries[&seq].deps {
            let d = &self.entries[dep];
            if matches!(d.stage, Stage::Failed(_)) || matches!(self.gate(*dep), Gate::Blocked(_)) {
                return Gate::Blocked(d.op_id);
            }
            gate = Gate::Wait;
        }
        gate
    }

    /// The state the item `seq` shows now.
    pub(super) fn visible_state(&self, seq: u64) -> ItemState {
        visible(&self.entries[&seq], self.gate(seq), self.paused)
    }

    /// The item each idle channel would dispatch next, oldest first. A channel with a
    /// request in flight has none (one in flight per channel); failed and blocked items
    /// are skipped; an item that must wait for a dependency holds its channel.
    pub(super) fn heads(&self) -> Vec<Head> {
        let mut heads = Vec::new();
        for (cid, queue) in &self.queues {
            if self.busy.contains_key(cid) {
                continue;
            }
            for &seq in queue {
                let entry = &self.entries[&seq];
                if matches!(entry.stage, Stage::Failed(_)) {
                    continue;
                }
                match self.gate(seq) {
                    Gate::Blocked(_) => continue,
                    Gate::Wait => break,
                    Gate::Open => {}
                }
                let due = match entry.stage {
                    Stage::Waiting(at) => Some(at),
                    _ => None,
                };
                heads.push(Head { seq, due });
                break;
            }
        }
        heads.sort_unstable_by_key(|h| h.seq);
        heads
    }

    /// Moves the item `seq` to `stage`, keeping the in-flight bookkeeping, and marks its
    /// visible state (and its dependents') for the next report.
    pub(super) fn set_stage(&mut self, seq: u64, stage: Stage) {
        let entry = self.entries.get_mut(&seq).expect("a present item");
        let was = entry.in_flight();
        entry.stage = stage;
        match (was, entry.in_flight()) {
            (false, true) => {
                self.flying += 1;
                *self.busy.entry(entry.cid.clone()).or_default() += 1;
            }
            (true, false) => {
                self.flying -= 1;
                let cid = entry.cid.clone();
                self.land(&cid);
            }
            _ => {}
        }
        self.mark_dirty(seq);
    }

    /// One item of `cid`'s request in flight landed; the channel is idle once all have.
    fn land(&mut self, cid: &Cid) {
        if let Some(n) = self.busy.get_mut(cid) {
            *n -= 1;
            if *n == 0 {
                self.busy.remove(cid);
            }
        }
    }

    /// Marks the item `seq` and, transitively, its dependents for the next state report
    /// (their gates follow its stage).
    pub(super) fn mark_dirty(&mut self, seq: u64) {
        self.revision = self.revision.wrapping_add(1);
        let mut stack = vec![seq];
        while let Some(s) = stack.pop() {
            if self.dirty.insert(s) {
                stack.extend(self.dependents.get(&s).into_iter().flatten());
            }
        }
    }

    /// Marks every item for the next state report (the auth pause changed).
    pub(super) fn mark_all_dirty(&mut self) {
        self.revision = self.revision.wrapping_add(1);
        self.dirty.extend(self.entries.keys());
    }

    /// `root` and, transitively, every item depending on it (except items in flight,
    /// which cannot depend on a present item): `root` first, then in enqueue order.
    pub(super) fn cascade(&self, root: OpId) -> Vec<OpId> {
        let Some(&root_seq) = self.index.get(&root) else {
            return Vec::new();
        };
        let mut gone = BTreeSet::new();
        let mut stack = vec![root_seq];
        while let Some(seq) = stack.pop() {
            for &d in self.dependents.get(&seq).into_iter().flatten() {
                if !self.entries[&d].in_flight() && gone.insert(d) {
                    stack.push(d);
                }
            }
        }
        gone.remove(&root_seq);
        std::iter::once(root)
            .chain(gone.iter().map(|seq| self.entries[seq].op_id))
            .collect()
    }

    /// Removes one item, returning it; its dependents lose the dependency.
    pub(super) fn remove_entry(&mut self, id: OpId) -> Option<Entry> {
        let seq = self.index.remove(&id)?;
        let entry = self.entries.remove(&seq)?;
        self.revision = self.revision.wrapping_add(1);
        remove_from(&mut self.queues, &entry.cid, seq);
        if matches!(entry.op, OutboxOp::CreateChannel { .. }) {
            remove_from(&mut self.creates, &entry.cid, seq);
        }
        if matches!(entry.op, OutboxOp::MarkRead { .. }) {
            remove_from(&mut self.mark_reads, &entry.cid, seq);
        }
        if entry.op.changes_channel() {
            remove_from(&mut self.channel_changes, &entry.cid, seq);
        }
        for message in touched(&entry.op) {
            remove_from(&mut self.touching, &message, seq);
        }
        if entry.in_flight() {
            self.flying -= 1;
            self.land(&entry.cid);
        }
        for dep in &entry.deps {
            if let Some(list) = self.dependents.get_mut(dep) {
                list.retain(|d| *d != seq);
            }
        }
        for dependent in self.dependents.remove(&seq).unwrap_or_default() {
            if let Some(e) = self.entries.get_mut(&dependent) {
                e.deps.retain(|d| *d != seq);
                self.mark_dirty(dependent);
            }
        }
        self.dirty.remove(&seq);
        Some(entry)
    }

    /// Adds an item at the end of the order. Its dependencies: the channel's latest
    /// `CreateChannel` still queued, and the queued sends of the messages it refers to.
    pub(super) fn push_entry(&mut self, op_id: OpId, cid: Cid, op: OutboxOp, stage: Stage) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut deps: Vec<u64> = self
            .creates
            .get(&cid)
            .and_then(|set| set.last())
            .copied()
            .into_iter()
            .collect();
        for message in op.message_refs() {
            if let Some(&dep) = self.index.get(&OpId(message))
                && !deps.contains(&dep)
                && matches!(self.entries[&dep].op, OutboxOp::SendMessage { .. })
            {
                deps.push(dep);
            }
        }
        for dep in &deps {
            self.dependents.entry(*dep).or_default().push(seq);
        }
        insert_into(&mut self.queues, cid.clone(), seq);
        if matches!(op, OutboxOp::CreateChannel { .. }) {
            insert_into(&mut self.creates, cid.clone(), seq);
        }
        if matches!(op, OutboxOp::MarkRead { .. }) {
            insert_into(&mut self.mark_reads, cid.clone(), seq);
        }
        if op.changes_channel() {
            insert_into(&mut self.channel_changes, cid.clone(), seq);
        }
        for message in touched(&op) {
            insert_into(&mut self.touching, message, seq);
        }
        self.index.insert(op_id, seq);
        let entry = Entry {
            op_id,
            seq,
            cid,
            op,
            stage: Stage::Queued,
            attempts: 0,
            maybe_applied: false,
            auth_epoch: self.auth_epoch,
            not_before: None,
            reported: ItemState::Pending,
            deps,
        };
        self.entries.insert(seq, entry);
        self.set_stage(seq, stage);
    }
}
