//! The outbox's indexes against a reference computed from scratch. A seeded random walk
//! enqueues every kind of operation on a few channels (sends referring to earlier
//! messages, edits, deletes, reactions, read markers, channel creations), polls, answers
//! with every outcome class, retries, discards, refreshes tokens and restores
//! connectivity; after every step each item's gate, the channel heads, the in-flight
//! bookkeeping and every index must equal what a full walk of the enqueue order gives
//! (the algorithm the indexes replaced), and after every poll each item's reported state
//! must be its visible one.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chat_protocol::{ChannelType, Cid, CreateChannelRequest, ErrorCode, SendMessageRequest};
use uuid::Uuid;

use super::queue::{Gate, Stage, visible};
use super::test_support::*;
use super::{ApiOutcome, Effect, ItemState, OpId, Outbox, OutboxConfig, OutboxOp};
use crate::backoff::SplitMix64;
use crate::clock::Millis;

/// Gates the way the outbox computed them before it kept indexes: one walk of the order,
/// the dependencies found on the way (latest earlier `CreateChannel` of the channel still
/// present; present earlier sends of the referenced messages).
fn reference_gates(ob: &Outbox) -> BTreeMap<u64, Gate> {
    let mut last_create: BTreeMap<&Cid, u64> = BTreeMap::new();
    let mut gates: BTreeMap<u64, Gate> = BTreeMap::new();
    for entry in ob.entries.values() {
        let mut deps: Vec<u64> = last_create.get(&entry.cid).copied().into_iter().collect();
        for message in entry.op.message_refs() {
            if let Some(&seq) = ob.index.get(&OpId(message))
                && seq < entry.seq
                && !deps.contains(&seq)
                && matches!(ob.entries[&seq].op, OutboxOp::SendMessage { .. })
            {
                deps.push(seq);
            }
        }
        let mut gate = Gate::Open;
        for dep in &deps {
            let d = &ob.entries[dep];
            if matches!(d.stage, Stage::Failed(_)) || matches!(gates[dep], Gate::Blocked(_)) {
                gate = Gate::Blocked(d.op_id);
                break;
            }
            gate = Gate::Wait;
        }
        gates.insert(entry.seq, gate);
        if matches!(entry.op, OutboxOp::CreateChannel { .. }) {
            last_create.insert(&entry.cid, entry.seq);
        }
    }
    gates
}

/// Heads the way they were computed before: one walk of the order.
fn reference_heads(ob: &Outbox, gates: &BTreeMap<u64, Gate>) -> Vec<u64> {
    let mut done: BTreeSet<&Cid> = ob
        .entries
        .values()
        .filter(|e| e.in_flight())
        .map(|e| &e.cid)
        .collect();
    let mut heads = Vec::new();
    for entry in ob.entries.values() {
        let gate = gates[&entry.seq];
        if matches!(entry.stage, Stage::Failed(_)) || matches!(gate, Gate::Blocked(_)) {
            continue;
        }
        if !done.insert(&entry.cid) || gate == Gate::Wait {
            continue;
        }
        heads.push(entry.seq);
    }
    heads
}

/// Checks every index of `ob`; returns how many items are blocked and waiting.
fn check(ob: &Outbox, step: usize, polled: bool) -> (usize, usize) {
    let gates = reference_gates(ob);
    for (&seq, &gate) in &gates {
        assert_eq!(ob.gate(seq), gate, "step {step}: gate of item {seq}");
    }
    let heads: Vec<u64> = ob.heads().iter().map(|h| h.seq).collect();
    assert_eq!(heads, reference_heads(ob, &gates), "step {step}: heads");
    let flying: Vec<&Cid> = ob
        .entries
        .values()
        .filter(|e| e.in_flight())
        .map(|e| &e.cid)
        .collect();
    assert_eq!(ob.flying, flying.len(), "step {step}: in flight");
    let mut busy: HashMap<Cid, usize> = HashMap::new();
    for cid in flying {
        *busy.entry(cid.clone()).or_default() += 1;
    }
    assert_eq!(ob.busy, busy, "step {step}: busy channels");
    let mut queues: HashMap<Cid, BTreeSet<u64>> = HashMap::new();
    let mut creates: HashMap<Cid, BTreeSet<u64>> = HashMap::new();
    let mut reads: HashMap<Cid, BTreeSet<u64>> = HashMap::new();
    let mut touching: HashMap<Uuid, BTreeSet<u64>> = HashMap::new();
    for e in ob.entries.values() {
        queues.entry(e.cid.clone()).or_default().insert(e.seq);
        match &e.op {
            OutboxOp::CreateChannel { .. } => {
                creates.entry(e.cid.clone()).or_default().insert(e.seq);
            }
            OutboxOp::MarkRead { .. } => {
                reads.entry(e.cid.clone()).or_default().insert(e.seq);
            }
            OutboxOp::SendMessage { request, .. } => {
                touching.entry(request.id).or_default().insert(e.seq);
            }
            _ => {}
        }
        for m in e.op.message_refs() {
            touching.entry(m).or_default().insert(e.seq);
        }
    }
    assert_eq!(ob.queues, queues, "step {step}: channel queues");
    assert_eq!(ob.creates, creates, "step {step}: creations");
    assert_eq!(ob.mark_reads, reads, "step {step}: read markers");
    assert_eq!(ob.touching, touching, "step {step}: items by message");
    if polled {
        for e in ob.entries.values() {
            let state = visible(e, gates[&e.seq], ob.paused);
            assert_eq!(
                e.reported, state,
                "step {step}: reported state of item {}",
                e.seq
            );
        }
    }
    let blocked = gates
        .values()
        .filter(|g| matches!(g, Gate::Blocked(_)))
        .count();
    (
        blocked,
        gates.values().filter(|g| **g == Gate::Wait).count(),
    )
}

/// Enqueues through [`Outbox::plan`] and [`Outbox::apply`], checking that planning
/// changes nothing (the engine writes the plan before applying it).
fn enqueue(ob: &mut Outbox, id: OpId, op: OutboxOp) -> bool {
    let state = |ob: &Outbox| {
        (
            format!("{:?}", ob.entries),
            ob.queues.clone(),
            ob.touching.clone(),
            ob.dirty.clone(),
        )
    };
    let before = state(ob);
    let Ok(plan) = ob.plan(id, op) else {
        return false;
    };
    let after = state(ob);
    assert_eq!(before, after, "planning changed the outbox");
    ob.apply(plan);
    true
}

fn create_op(c: &str) -> OutboxOp {
    let cid = cid(c);
    OutboxOp::CreateChannel {
        request: CreateChannelRequest {
            kind: ChannelType::Team,
            id: Some(cid.id().to_owned()),
            name: None,
            image: None,
            members: vec![],
            config: None,
            created_by: None,
            distinct: false,
        },
    }
}

/// A send of a new message, sometimes a reply to or a quote of an earlier one.
fn send_ref(c: &str, n: u64, parent: Option<u64>, quoted: Option<u64>) -> OutboxOp {
    OutboxOp::SendMessage {
        cid: cid(c),
        request: SendMessageRequest {
            id: v7(n),
            text: format!("m{n}"),
            attachments: vec![],
            parent_id: parent.map(v7),
            quoted_message_id: quoted.map(v7),
            mentioned_users: vec![],
            user_id: None,
        },
    }
}

/// One random walk; returns how often items were seen blocked and waiting.
fn walk(seed: u64, steps: usize) -> (usize, usize) {
    let mut rng = SplitMix64::new(seed);
    let mut pick = |n: u64| rng.next_u64() % n;
    let channels = ["team:a", "team:b", "team:c"];
    let mut ob = Outbox::new(
        OutboxConfig {
            max_in_flight: 2,
            ..OutboxConfig::default()
        },
        seed,
    );
    let mut now = T0;
    let mut messages: Vec<(usize, u64)> = Vec::new(); // (channel, message n) sent so far
    let mut in_flight: Vec<OpId> = Vec::new();
    let mut seen = (0, 0);
    for (step, next_id) in (0..steps).zip(1u64..) {
        let c = pick(channels.len() as u64) as usize;
        let known = |pick: &mut dyn FnMut(u64) -> u64| -> Option<(usize, u64)> {
            (!messages.is_empty()).then(|| messages[pick(messages.len() as u64) as usize])
        };
        let id = OpId(v7(next_id));
        let before = (ob.revision(), owned_items(&ob));
        match pick(14) {
            0..=3 => {
                let parent = if pick(4) == 0 {
                    known(&mut pick).filter(|(mc, _)| *mc == c).map(|(_, n)| n)
                } else {
                    None
                };
                let quoted = if pick(5) == 0 {
                    known(&mut pick).map(|(_, n)| n)
                } else {
                    None
                };
                if ob
                    .enqueue(id, send_ref(channels[c], next_id, parent, quoted))
                    .is_ok()
                {
                    messages.push((c, next_id));
                }
            }
            4 => {
                enqueue(&mut ob, id, create_op(channels[c]));
            }
            5 => {
                if let Some((mc, n)) = known(&mut pick) {
                    enqueue(&mut ob, id, edit_op(channels[mc], n, "edited"));
                }
            }
            6 => {
                if let Some((mc, n)) = known(&mut pick) {
                    enqueue(&mut ob, id, delete_op(channels[mc], n));
                }
            }
            7 => {
                if let Some((mc, n)) = known(&mut pick) {
                    let add = pick(2) == 0;
                    enqueue(&mut ob, id, reaction(add, channels[mc], n, "like"));
                }
            }
            8 => {
                let marker = known(&mut pick).filter(|(mc, _)| *mc == c).map(|(_, n)| n);
                enqueue(&mut ob, id, mark_read(channels[c], marker));
            }
            9..=11 => {
                // Answer one request in flight with a random outcome class.
                if !in_flight.is_empty() {
                    let i = pick(in_flight.len() as u64) as usize;
                    let op = in_flight.swap_remove(i);
                    let outcome = match pick(6) {
                        0..=2 => ApiOutcome::Ok {
                            status: 200,
                            body: serde_json::Value::Null,
                        },
                        3 => net(),
                        4 => http(ErrorCode::Unauthorized),
                        _ => http(ErrorCode::ValidationFailed),
                    };
                    ob.on_result(op, outcome, now).unwrap();
                }
            }
            12 => {
                // Retry or discard something (a failed item usually).
                let candidates: Vec<OpId> = ob.entries.values().map(|e| e.op_id).collect();
                if !candidates.is_empty() {
                    let target = candidates[pick(candidates.len() as u64) as usize];
                    if pick(2) == 0 {
                        let _ = ob.retry(target);
                    } else {
                        let _ = ob.discard(target);
                    }
                }
            }
            _ => {
                if ob.is_auth_paused() || pick(2) == 0 {
                    ob.on_token_refreshed();
                } else {
                    ob.on_connectivity_restored();
                }
            }
        }
        let _ = check(&ob, step, false);
        assert_revision_covers(&before, &ob, step);
        let before = (ob.revision(), owned_items(&ob));
        now = now.saturating_add(std::time::Duration::from_millis(pick(700)));
        for effect in ob.poll(now) {
            match effect {
                Effect::Send { op_id, .. } => in_flight.push(op_id),
                // Each item of a batch is answered on its own (`on_result` per item is
                // what `on_batch_result` does).
                Effect::SendBatch { op_ids, .. } => in_flight.extend(op_ids),
                _ => {}
            }
        }
        let (blocked, waiting) = check(&ob, step, true);
        assert_revision_covers(&before, &ob, step);
        seen = (seen.0 + blocked, seen.1 + waiting);
    }
    seen
}

/// The items as a watcher sees them.
fn owned_items(ob: &Outbox) -> Vec<(OpId, OutboxOp, ItemState)> {
    ob.items()
        .into_iter()
        .map(|i| (i.op_id, i.op.clone(), i.state))
        .collect()
}

/// A watcher that re-reads the items only when the revision moved misses nothing: an
/// unchanged revision means unchanged items.
fn assert_revision_covers(
    before: &(u64, Vec<(OpId, OutboxOp, ItemState)>),
    ob: &Outbox,
    step: usize,
) {
    if ob.revision() == before.0 {
        assert_eq!(
            owned_items(ob),
            before.1,
            "step {step}: the items changed without a new revision"
        );
    }
}

#[test]
fn the_indexes_always_equal_a_walk_of_the_whole_order() {
    let mut seen = (0, 0);
    for seed in 0..16 {
        let (blocked, waiting) = walk(seed, 300);
        seen = (seen.0 + blocked, seen.1 + waiting);
    }
    // The walks reach the interesting cases: dependencies that block and that wait.
    assert!(seen.0 > 100 && seen.1 > 100, "{seen:?}");
}

#[test]
fn a_completion_touches_only_its_own_items_however_long_the_backlog() {
    // With 10,000 sends queued in one channel, a completion marks nothing else for the
    // state report, and each poll dispatches the next send and reports only it: nothing
    // is recomputed for the rest of the backlog. (One send per request, so that each
    // poll dispatches exactly one.)
    let mut ob = Outbox::new(
        OutboxConfig {
            max_batch: 1,
            ..OutboxConfig::default()
        },
        42,
    );
    for n in 1..=10_000 {
        send(&mut ob, "team:a", n);
    }
    let _ = ob.poll(T0);
    for n in 1..=10_000u64 {
        assert_eq!(ob.in_flight(), 1);
        ob.on_result(
            op_id(n),
            ApiOutcome::Ok {
                status: 201,
                body: serde_json::Value::Null,
            },
            Millis(T0.0 + n),
        )
        .unwrap();
        assert!(
            ob.dirty.is_empty(),
            "item {n}: completing it marks nothing else"
        );
        let effects = ob.poll(Millis(T0.0 + n));
        assert!(ob.dirty.is_empty());
        let expected = usize::from(n < 10_000);
        assert_eq!(sent(&effects).len(), expected, "item {n}");
    }
    assert!(ob.is_empty());
}
