//! Queue structure and scheduling decisions: the per-item record, the dependencies
//! between items, and which item of each channel may go next.
//!
//! All items live in one global enqueue order; a channel's FIFO queue is that order
//! filtered by the item's queue key, so no per-channel structure can drift out of sync.
//! Every decision walks the order front to back, which keeps it deterministic.
//!
//! Dependencies: an item depends on the latest earlier `CreateChannel` of its channel
//! still in the outbox, and on the `SendMessage` items (still in the outbox, enqueued
//! earlier) of every message it refers to (target, thread parent, quoted message). A
//! dependency that failed permanently — directly or through its own dependencies —
//! *blocks* the item: it is skipped and does not hold up its channel. Any other present
//! dependency makes the item (and hence its channel) *wait*.

use std::collections::{BTreeMap, BTreeSet};

use chat_protocol::Cid;

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

    /// Makes an item waiting to retry due now, except for a server-imposed wait.
    pub(super) fn hurry(&mut self) {
        if matches!(self.stage, Stage::Waiting(_)) {
            self.stage = self.not_before.map_or(Stage::Queued, Stage::Waiting);
        }
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

/// The gate of every item, in enqueue order (aligned with `Outbox::entries`).
pub(super) struct Gates {
    seqs: Vec<u64>,
    gates: Vec<Gate>,
}

impl Gates {
    /// The gate of the item with sequence number `seq`.
    pub(super) fn of(&self, seq: u64) -> Gate {
        let i = self
            .seqs
            .binary_search(&seq)
            .expect("every item has a gate");
        self.gates[i]
    }

    /// Gates in enqueue order.
    pub(super) fn iter(&self) -> impl Iterator<Item = Gate> + '_ {
        self.gates.iter().copied()
    }
}

/// The next item a channel would dispatch.
pub(super) struct Head {
    pub(super) seq: u64,
    /// `Some(at)` when it is waiting to retry at `at`.
    pub(super) due: Option<Millis>,
}

impl Outbox {
    /// The item with id `id`.
    pub(super) fn get(&self, id: OpId) -> Option<&Entry> {
        self.entries.get(self.index.get(&id)?)
    }

    /// The item with id `id`, mutably.
    pub(super) fn get_mut(&mut self, id: OpId) -> Option<&mut Entry> {
        self.entries.get_mut(self.index.get(&id)?)
    }

    /// Calls `f(entry, sequence numbers of its direct dependencies)` for every item in
    /// enqueue order.
    pub(super) fn for_each_with_deps(&self, mut f: impl FnMut(&Entry, &[u64])) {
        let mut last_create: BTreeMap<&Cid, u64> = BTreeMap::new();
        let mut deps = Vec::new();
        for entry in self.entries.values() {
            deps.clear();
            deps.extend(last_create.get(&entry.cid).copied());
            for message in entry.op.message_refs() {
                let Some(&seq) = self.index.get(&OpId(message)) else {
                    continue;
                };
                if seq < entry.seq
                    && !deps.contains(&seq)
                    && matches!(self.entries[&seq].op, OutboxOp::SendMessage { .. })
                {
                    deps.push(seq);
                }
            }
            f(entry, &deps);
            if matches!(entry.op, OutboxOp::CreateChannel { .. }) {
                last_create.insert(&entry.cid, entry.seq);
            }
        }
    }

    /// The dependency gate of every item.
    pub(super) fn gates(&self) -> Gates {
        let mut seqs = Vec::with_capacity(self.entries.len());
        let mut gates: Vec<Gate> = Vec::with_capacity(self.entries.len());
        self.for_each_with_deps(|entry, deps| {
            let mut gate = Gate::Open;
            for dep in deps {
                let i = seqs.binary_search(dep).expect("dependencies come first");
                let dep = &self.entries[dep];
                if matches!(dep.stage, Stage::Failed(_)) || matches!(gates[i], Gate::Blocked(_)) {
                    gate = Gate::Blocked(dep.op_id);
                    break;
                }
                gate = Gate::Wait;
            }
            seqs.push(entry.seq);
            gates.push(gate);
        });
        Gates { seqs, gates }
    }

    /// The item each idle channel would dispatch next, oldest first. A channel with a
    /// request in flight has none (one in flight per channel); failed and blocked items
    /// are skipped; an item that must wait for a dependency holds its channel.
    pub(super) fn heads(&self, gates: &Gates) -> Vec<Head> {
        let mut done: BTreeSet<&Cid> = self
            .entries
            .values()
            .filter(|e| e.in_flight())
            .map(|e| &e.cid)
            .collect();
        let mut heads = Vec::new();
        for (entry, gate) in self.entries.values().zip(gates.iter()) {
            if matches!(entry.stage, Stage::Failed(_)) || matches!(gate, Gate::Blocked(_)) {
                continue;
            }
            if !done.insert(&entry.cid) || gate == Gate::Wait {
                continue;
            }
            let due = match entry.stage {
                Stage::Waiting(at) => Some(at),
                _ => None,
            };
            heads.push(Head {
                seq: entry.seq,
                due,
            });
        }
        heads
    }

    /// Removes `root` and, transitively, every item depending on it (except items in
    /// flight, which cannot depend on a present item). Returns the removed ids, `root`
    /// first, then in enqueue order.
    pub(super) fn remove_cascade(&mut self, root: OpId) -> Vec<OpId> {
        let Some(&root_seq) = self.index.get(&root) else {
            return Vec::new();
        };
        let mut removed = vec![root];
        let mut gone = BTreeSet::from([root_seq]);
        self.for_each_with_deps(|entry, deps| {
            if entry.seq != root_seq && !entry.in_flight() && deps.iter().any(|d| gone.contains(d))
            {
                gone.insert(entry.seq);
                removed.push(entry.op_id);
            }
        });
        for id in &removed {
            self.remove_entry(*id);
        }
        removed
    }

    /// Removes one item, returning it.
    pub(super) fn remove_entry(&mut self, id: OpId) -> Option<Entry> {
        let seq = self.index.remove(&id)?;
        self.entries.remove(&seq)
    }

    /// Adds an item at the end of the order.
    pub(super) fn push_entry(&mut self, op_id: OpId, cid: Cid, op: OutboxOp, stage: Stage) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.index.insert(op_id, seq);
        let entry = Entry {
            op_id,
            seq,
            cid,
            op,
            stage,
            attempts: 0,
            maybe_applied: false,
            auth_epoch: self.auth_epoch,
            not_before: None,
            reported: ItemState::Pending,
        };
        self.entries.insert(seq, entry);
    }
}
