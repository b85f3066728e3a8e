//! Enqueueing, and the coalescing of operations on things the server has not seen yet.
//!
//! Coalescing only ever touches items that are *coalescable*: not in flight and never
//! possibly applied (no lost reply, no 5xx, no crash while in flight). A send the server
//! may already have stored is final: a later edit is queued as a PATCH and a later delete
//! as a DELETE behind it, because folding them into the send would be silently ignored by
//! the server's idempotent replay.
//!
//! Rules, for a new operation:
//! - edit of a message whose send is coalescable and that has no edit queued separately
//!   (one enqueued while the send was in flight): merged into the send's request;
//! - delete of a message whose send is coalescable and that no other queued send (reply,
//!   quote) or read marker refers to: the send is cancelled together with every queued
//!   edit, reaction change, star change and delete of it, and nothing is queued; otherwise
//!   the delete is queued and the message's not-in-flight edits and reaction changes are
//!   dropped (the delete wipes them anyway; star changes stay: a deleted message can still
//!   be starred or unstarred); a second delete folds into a queued one;
//! - add/remove of a reaction whose latest queued change is the opposite one and
//!   coalescable: both vanish; a repeat of a queued same change folds into it;
//! - star/unstar of a message: the same rule as a reaction, per message (star then unstar
//!   while neither left sends nothing; a second star folds into the first);
//! - mark read: replaces every not-in-flight mark read of the channel (the newest wins)
//!   and goes to the back of the queue, behind the messages it may refer to.

use uuid::Uuid;

use chat_protocol::{Cid, UpdateMessageRequest};

use super::engine::Outbox;
use super::error::OutboxError;
use super::op::{OpId, OutboxOp, merge_edit};
use super::queue::Stage;
use super::state::Enqueued;

/// What enqueueing an operation would do, decided without changing the outbox
/// ([`Outbox::plan`]): the caller persists it, then [`Outbox::apply`]s it. Deciding first
/// costs nothing when the write fails (the outbox never changed), where a copy of the
/// whole outbox would cost O(backlog) on every edit, reaction or read marker.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    op_id: OpId,
    cid: Cid,
    op: OutboxOp,
    queued: bool,
    merged: Option<(OpId, OutboxOp)>,
    cancelled: Vec<OpId>,
}

impl Plan {
    /// The new item, when the operation is queued as its own item (persist it).
    pub fn queued(&self) -> Option<(OpId, &Cid, &OutboxOp)> {
        self.queued.then_some((self.op_id, &self.cid, &self.op))
    }

    /// The item the operation is folded into, with its operation after the merge
    /// (persist that item again).
    pub fn merged(&self) -> Option<(OpId, &OutboxOp)> {
        self.merged.as_ref().map(|(id, op)| (*id, op))
    }

    /// Items removed because of the operation (delete their rows).
    pub fn cancelled(&self) -> &[OpId] {
        &self.cancelled
    }
}

impl Outbox {
    /// Adds a local mutation, or folds it into queued ones (see the rules above):
    /// [`Outbox::plan`] then [`Outbox::apply`]. The caller persists what the result says
    /// before showing the change. Errors leave the outbox unchanged.
    pub fn enqueue(&mut self, op_id: OpId, op: OutboxOp) -> Result<Enqueued, OutboxError> {
        let plan = self.plan(op_id, op)?;
        Ok(self.apply(plan))
    }

    /// Decides what enqueueing `op` does, without changing anything.
    pub fn plan(&self, op_id: OpId, op: OutboxOp) -> Result<Plan, OutboxError> {
        let cid = op.validate(op_id)?;
        if self.index.contains_key(&op_id) {
            return Err(OutboxError::DuplicateOpId(op_id));
        }
        let mut plan = Plan {
            op_id,
            cid,
            op,
            queued: true,
            merged: None,
            cancelled: Vec::new(),
        };
        match plan.op.clone() {
            OutboxOp::EditMessage { id, request, .. } => {
                self.merge_into_send(id, &request, &mut plan);
            }
            OutboxOp::DeleteMessage { id, .. } => self.coalesce_delete(id, &mut plan),
            OutboxOp::AddReaction { .. } | OutboxOp::RemoveReaction { .. } => {
                self.coalesce_reaction(&mut plan);
            }
            OutboxOp::StarMessage { .. } | OutboxOp::UnstarMessage { .. } => {
                self.coalesce_star(&mut plan);
            }
            OutboxOp::MarkRead { .. } => self.supersede_mark_read(&mut plan),
            OutboxOp::SetMemberState { .. } | OutboxOp::DeleteChannel { .. } => {}
            OutboxOp::SendMessage { .. }
            | OutboxOp::CreateChannel { .. }
            | OutboxOp::UpdateChannel { .. }
            | OutboxOp::AddMembers { .. }
            | OutboxOp::RemoveMember { .. } => {}
        }
        Ok(plan)
    }

    /// Carries out a plan made by [`Outbox::plan`] on this outbox, unchanged since.
    pub fn apply(&mut self, plan: Plan) -> Enqueued {
        for id in &plan.cancelled {
            self.remove_entry(*id);
        }
        if let Some((into, op)) = &plan.merged
            && let Some(entry) = self.get_mut(*into)
        {
            entry.op = op.clone();
            self.revision = self.revision.wrapping_add(1);
        }
        if plan.queued {
            self.push_entry(plan.op_id, plan.cid, plan.op, Stage::Queued);
        }
        Enqueued {
            queued: plan.queued,
            merged_into: plan.merged.map(|(id, _)| id),
            cancelled: plan.cancelled,
        }
    }

    /// The send of `message`, if it is still in the outbox and coalescable.
    fn coalescable_send(&self, message: Uuid) -> Option<OpId> {
        let id = OpId(message);
        let entry = self.get(id)?;
        (matches!(entry.op, OutboxOp::SendMessage { .. }) && entry.coalescable()).then_some(id)
    }

    fn merge_into_send(&self, message: Uuid, edit: &UpdateMessageRequest, plan: &mut Plan) {
        let Some(send) = self.coalescable_send(message) else {
            return;
        };
        // An edit queued separately (enqueued while the send was in flight) must not be
        // overtaken: the newest text has to be applied last.
        let edit_queued = self
            .touching(message)
            .any(|e| matches!(e.op, OutboxOp::EditMessage { id, .. } if id == message));
        if edit_queued {
            return;
        }
        let mut op = self.get(send).expect("present").op.clone();
        if let OutboxOp::SendMessage { request, .. } = &mut op {
            merge_edit(request, edit);
        }
        plan.queued = false;
        plan.merged = Some((send, op));
    }

    fn coalesce_delete(&self, message: Uuid, plan: &mut Plan) {
        if let Some(send) = self.coalescable_send(message) {
            let referenced = self.touching(message).any(|e| {
                e.op_id != send
                    && match &e.op {
                        OutboxOp::SendMessage { .. } => e.op.message_refs().any(|m| m == message),
                        OutboxOp::MarkRead { message_id, .. } => *message_id == Some(message),
                        _ => e.in_flight() && e.op.target_message() == Some(message),
                    }
            });
            if !referenced {
                plan.queued = false;
                plan.cancelled = self.cascade(send);
                return;
            }
        }
        plan.cancelled = self
            .touching(message)
            .filter(|e| {
                !e.in_flight()
                    && e.op.target_message() == Some(message)
                    && matches!(
                        e.op,
                        OutboxOp::EditMessage { .. }
                            | OutboxOp::AddReaction { .. }
                            | OutboxOp::RemoveReaction { .. }
                    )
            })
            .map(|e| e.op_id)
            .collect();
        let queued_delete = self
            .touching(message)
            .find(|e| {
                !e.in_flight()
                    && matches!(e.op, OutboxOp::DeleteMessage { id, .. } if id == message)
            })
            .map(|e| e.op_id);
        if let Some(delete) = queued_delete {
            plan.queued = false;
            plan.merged = Some((delete, self.get(delete).expect("present").op.clone()));
        }
    }

    fn coalesce_reaction(&self, plan: &mut Plan) {
        let Some((message, kind)) = plan.op.reaction_key().map(|(m, k)| (m, k.to_owned())) else {
            return;
        };
        self.fold_toggle(message, plan, |op| {
            op.reaction_key() == Some((message, kind.as_str()))
        });
    }

    fn coalesce_star(&self, plan: &mut Plan) {
        let Some((message, _)) = plan.op.star_key() else {
            return;
        };
        self.fold_toggle(message, plan, |op| {
            op.star_key().is_some_and(|(m, _)| m == message)
        });
    }

    /// The rule of toggles (reactions, stars): the latest queued toggle of the same thing
    /// (`same_thing`) is cancelled with an opposite one if coalescable, or absorbs a
    /// repeat unless in flight or parked.
    fn fold_toggle(&self, message: Uuid, plan: &mut Plan, same_thing: impl Fn(&OutboxOp) -> bool) {
        let latest = self
            .touching(message)
            .rev()
            .find(|e| same_thing(&e.op))
            .map(|e| {
                let same = e.op.kind() == plan.op.kind();
                let parked = matches!(e.stage, Stage::Failed(_));
                (e.op_id, same, e.coalescable(), e.in_flight() || parked)
            });
        match latest {
            Some((id, false, true, _)) => {
                plan.queued = false;
                plan.cancelled = vec![id];
            }
            Some((id, true, _, false)) => {
                plan.queued = false;
                plan.merged = Some((id, self.get(id).expect("present").op.clone()));
            }
            _ => {}
        }
    }

    fn supersede_mark_read(&self, plan: &mut Plan) {
        plan.cancelled = self
            .mark_reads(&plan.cid)
            .filter(|e| !e.in_flight())
            .map(|e| e.op_id)
            .collect();
    }
}
