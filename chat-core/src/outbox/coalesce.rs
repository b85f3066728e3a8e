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
//!   edit, reaction change and delete of it, and nothing is queued; otherwise the delete is
//!   queued and the message's not-in-flight edits and reaction changes are dropped (the
//!   delete wipes them anyway); a second delete folds into a queued one;
//! - add/remove of a reaction whose latest queued change is the opposite one and
//!   coalescable: both vanish; a repeat of a queued same change folds into it;
//! - mark read: replaces every not-in-flight mark read of the channel (the newest wins)
//!   and goes to the back of the queue, behind the messages it may refer to.

use uuid::Uuid;

use chat_protocol::{Cid, UpdateMessageRequest};

use super::engine::Outbox;
use super::error::OutboxError;
use super::op::{OpId, OutboxOp, merge_edit};
use super::queue::{Entry, Stage};
use super::state::Enqueued;

impl Enqueued {
    fn queued() -> Self {
        Self {
            queued: true,
            ..Self::default()
        }
    }
}

impl Outbox {
    /// Adds a local mutation, or folds it into queued ones (see the rules above). The
    /// caller persists what the result says before showing the change. Errors leave the
    /// outbox unchanged.
    pub fn enqueue(&mut self, op_id: OpId, op: OutboxOp) -> Result<Enqueued, OutboxError> {
        let cid = op.validate(op_id)?;
        if self.index.contains_key(&op_id) {
            return Err(OutboxError::DuplicateOpId(op_id));
        }
        let result = match &op {
            OutboxOp::EditMessage { id, request, .. } => self.merge_into_send(*id, request),
            OutboxOp::DeleteMessage { id, .. } => self.coalesce_delete(*id),
            OutboxOp::AddReaction { .. } | OutboxOp::RemoveReaction { .. } => {
                self.coalesce_reaction(&op)
            }
            OutboxOp::MarkRead { .. } => self.supersede_mark_read(&cid),
            OutboxOp::SendMessage { .. } | OutboxOp::CreateChannel { .. } => Enqueued::queued(),
        };
        if result.queued {
            self.push_entry(op_id, cid, op, Stage::Queued);
        }
        Ok(result)
    }

    /// The send of `message`, if it is still in the outbox and coalescable.
    fn coalescable_send(&self, message: Uuid) -> Option<OpId> {
        let id = OpId(message);
        let entry = self.get(id)?;
        (matches!(entry.op, OutboxOp::SendMessage { .. }) && entry.coalescable()).then_some(id)
    }

    /// Removes the items of `among` (in enqueue order) matching `pred`, returning their ids.
    fn remove_where(
        &mut self,
        among: impl Fn(&Self) -> Vec<&Entry>,
        pred: impl Fn(&Entry) -> bool,
    ) -> Vec<OpId> {
        let ids: Vec<OpId> = among(self)
            .into_iter()
            .filter(|e| pred(e))
            .map(|e| e.op_id)
            .collect();
        for id in &ids {
            self.remove_entry(*id);
        }
        ids
    }

    fn merge_into_send(&mut self, message: Uuid, edit: &UpdateMessageRequest) -> Enqueued {
        let Some(send) = self.coalescable_send(message) else {
            return Enqueued::queued();
        };
        // An edit queued separately (enqueued while the send was in flight) must not be
        // overtaken: the newest text has to be applied last.
        let edit_queued = self
            .touching(message)
            .any(|e| matches!(e.op, OutboxOp::EditMessage { id, .. } if id == message));
        if edit_queued {
            return Enqueued::queued();
        }
        if let Some(entry) = self.get_mut(send)
            && let OutboxOp::SendMessage { request, .. } = &mut entry.op
        {
            merge_edit(request, edit);
        }
        Enqueued {
            queued: false,
            merged_into: Some(send),
            cancelled: Vec::new(),
        }
    }

    fn coalesce_delete(&mut self, message: Uuid) -> Enqueued {
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
                return Enqueued {
                    queued: false,
                    merged_into: None,
                    cancelled: self.remove_cascade(send),
                };
            }
        }
        let dropped = self.remove_where(
            |o| o.touching(message).collect(),
            |e| {
                !e.in_flight()
                    && e.op.target_message() == Some(message)
                    && matches!(
                        e.op,
                        OutboxOp::EditMessage { .. }
                            | OutboxOp::AddReaction { .. }
                            | OutboxOp::RemoveReaction { .. }
                    )
            },
        );
        let queued_delete = self
            .touching(message)
            .find(|e| {
                !e.in_flight()
                    && matches!(e.op, OutboxOp::DeleteMessage { id, .. } if id == message)
            })
            .map(|e| e.op_id);
        Enqueued {
            queued: queued_delete.is_none(),
            merged_into: queued_delete,
            cancelled: dropped,
        }
    }

    fn coalesce_reaction(&mut self, op: &OutboxOp) -> Enqueued {
        let key = op.reaction_key();
        let Some((message, _)) = key else {
            return Enqueued::queued();
        };
        let latest = self
            .touching(message)
            .rev()
            .find(|e| e.op.reaction_key() == key)
            .map(|e| {
                let same = e.op.kind() == op.kind();
                let parked = matches!(e.stage, Stage::Failed(_));
                (e.op_id, same, e.coalescable(), e.in_flight() || parked)
            });
        match latest {
            Some((id, false, true, _)) => {
                self.remove_entry(id);
                Enqueued {
                    queued: false,
                    merged_into: None,
                    cancelled: vec![id],
                }
            }
            Some((id, true, _, false)) => Enqueued {
                queued: false,
                merged_into: Some(id),
                cancelled: Vec::new(),
            },
            _ => Enqueued::queued(),
        }
    }

    fn supersede_mark_read(&mut self, cid: &Cid) -> Enqueued {
        let cancelled = self.remove_where(|o| o.mark_reads(cid).collect(), |e| !e.in_flight());
        Enqueued {
            queued: true,
            merged_into: None,
            cancelled,
        }
    }
}
