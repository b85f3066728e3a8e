//! Laying the outbox over the cache: the cache holds what the server confirmed (plus the
//! local echoes of unsent messages); the outbox holds what the user did since. A live
//! query shows both — an edit's new text, a deletion, a toggled reaction or star, a
//! channel read — so the UI reflects the user's action at once. The overlay reads the outbox (through
//! its indexes) on every refresh: when an operation completes, its server result is in the
//! cache and the operation is gone in the same step (no flicker); when a reaction, a star
//! or a read marker fails permanently the client discards it, and the overlay — hence the
//! UI — reverts.

use super::items::{ChannelItem, MessageItem, MessageState};
use crate::cache::{CachedMessage, ChannelListItem, LocalState};
use crate::outbox::{Failure, ItemState, OpId, Outbox, OutboxOp};

/// The outbox as a lens over cached rows. It holds no copy: each lookup asks the
/// outbox's per-message and per-channel indexes, so laying the outbox over a window costs
/// O(the window's messages and their queued changes), never O(the backlog).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Overlay<'a> {
    outbox: &'a Outbox,
}

impl<'a> Overlay<'a> {
    /// The lens over `outbox`.
    pub(crate) fn new(outbox: &'a Outbox) -> Self {
        Self { outbox }
    }

    /// The UI item of a cached message, with its queued changes applied.
    pub(crate) fn message(&self, cached: CachedMessage) -> MessageItem {
        let CachedMessage {
            mut message,
            local_state,
            mut own_reactions,
            mut starred,
        } = cached;
        let echo = local_state.is_some();
        let mut state = match local_state {
            None => MessageState::Sent,
            Some(LocalState::Failed(reason)) => MessageState::Failed {
                op_id: OpId(message.id),
                failure: Failure {
                    reason,
                    code: None,
                    status: 0,
                },
            },
            Some(_) => MessageState::Pending,
        };
        for pending in self.outbox.changes_of(message.id) {
            let failed = match &pending.state {
                ItemState::Failed(f) => Some(f.clone()),
                _ => None,
            };
            match &pending.op {
                OutboxOp::SendMessage { request, .. } => {
                    message.text.clone_from(&request.text);
                    message.attachments.clone_from(&request.attachments);
                    message.mentioned_users.clone_from(&request.mentioned_users);
                    state = match (failed, &pending.state) {
                        (Some(failure), _) => MessageState::Failed {
                            op_id: pending.op_id,
                            failure,
                        },
                        (None, ItemState::InFlight) => MessageState::Sending,
                        _ => MessageState::Pending,
                    };
                }
                OutboxOp::EditMessage { request, .. } => {
                    if let Some(text) = &request.text {
                        message.text.clone_from(text);
                    }
                    if let Some(attachments) = &request.attachments {
                        message.attachments.clone_from(attachments);
                    }
                    if let Some(mentioned) = &request.mentioned_users {
                        message.mentioned_users.clone_from(mentioned);
                    }
                    if message.deleted_at.is_none() {
                        message.edited_at = Some(message.edited_at.unwrap_or(message.updated_at));
                    }
                    state = update_state(echo, state, failed, pending.op_id, MessageState::Editing);
                }
                OutboxOp::DeleteMessage { .. } => {
                    message.text.clear();
                    message.attachments.clear();
                    message.mentioned_users.clear();
                    message.deleted_at = Some(message.deleted_at.unwrap_or(message.updated_at));
                    state =
                        update_state(echo, state, failed, pending.op_id, MessageState::Deleting);
                }
                OutboxOp::AddReaction { kind, .. }
                    if failed.is_none() && !own_reactions.contains(kind) =>
                {
                    own_reactions.push(kind.clone());
                    *message.reaction_counts.entry(kind.clone()).or_default() += 1;
                }
                OutboxOp::RemoveReaction { kind, .. } if failed.is_none() => {
                    if let Some(pos) = own_reactions.iter().position(|k| k == kind) {
                        own_reactions.remove(pos);
                        if let Some(n) = message.reaction_counts.get_mut(kind) {
                            *n = n.saturating_sub(1);
                            if *n == 0 {
                                message.reaction_counts.remove(kind);
                            }
                        }
                    }
                }
                OutboxOp::StarMessage { .. } | OutboxOp::UnstarMessage { .. }
                    if failed.is_none() =>
                {
                    starred = matches!(pending.op, OutboxOp::StarMessage { .. });
                }
                _ => {}
            }
        }
        // A reaction of mine counts at least once. The server publishes a reaction and the
        // message's recount as two events: between them the cache holds my reaction with the
        // old counts, and the UI must not show "liked by me, 0 likes".
        for kind in &own_reactions {
            let count = message.reaction_counts.entry(kind.clone()).or_default();
            *count = (*count).max(1);
        }
        own_reactions.sort();
        MessageItem {
            message,
            state,
            own_reactions,
            starred,
        }
    }

    /// The messages queued (not refused) star operations star, in enqueue order, and how
    /// many unstar operations are queued. Walks the whole outbox: for starred lists only.
    pub(crate) fn pending_stars(&self) -> (Vec<uuid::Uuid>, u32) {
        let mut unstars = 0;
        let stars = self
            .outbox
            .items()
            .into_iter()
            .filter(|i| !matches!(i.state, ItemState::Failed(_)))
            .filter_map(|i| match i.op {
                OutboxOp::StarMessage { message_id, .. } => Some(*message_id),
                OutboxOp::UnstarMessage { .. } => {
                    unstars += 1;
                    None
                }
                _ => None,
            })
            .collect();
        (stars, unstars)
    }

    /// The UI row of a cached channel-list entry: a pending `mark_read` shows the channel
    /// as read (the server's answer then stores the exact counts).
    pub(crate) fn channel(&self, item: ChannelListItem) -> ChannelItem {
        let read = self.outbox.marks_read(&item.channel.cid);
        ChannelItem {
            unread_count: if read { 0 } else { item.unread.unread_count },
            unread_mentions: if read { 0 } else { item.unread.unread_mentions },
            last_message: item.last_message.map(|m| self.message(m)),
            channel: item.channel,
        }
    }
}

/// The state after an edit or delete: a local echo keeps its send state; a failure wins
/// over a pending change; a delete wins over an edit.
fn update_state(
    echo: bool,
    current: MessageState,
    failed: Option<Failure>,
    op_id: OpId,
    pending: MessageState,
) -> MessageState {
    if echo {
        return current;
    }
    match (failed, current) {
        (_, current @ MessageState::UpdateFailed { .. }) => current,
        (Some(failure), _) => MessageState::UpdateFailed { op_id, failure },
        (None, MessageState::Deleting) => MessageState::Deleting,
        (None, _) => pending,
    }
}
