//! Laying the outbox over the cache: the cache holds what the server confirmed (plus the
//! local echoes of unsent messages); the outbox holds what the user did since. A live
//! query shows both — an edit's new text, a deletion, a toggled reaction or star, a
//! channel read — so the UI reflects the user's action at once. The overlay reads the outbox (through
//! its indexes) on every refresh: when an operation completes, its server result is in the
//! cache and the operation is gone in the same step (no flicker); when a reaction, a star
//! or a read marker fails permanently the client discards it, and the overlay — hence the
//! UI — reverts. Channel changes follow the same rule: a queued rename shows in the channel
//! list, a queued member change in the member list, and a channel the user is leaving
//! leaves the channel list at once; a refused change stops showing.

use std::collections::BTreeMap;

use chat_protocol::{Channel, Cid, Member, MemberRole, ReadState};

use super::items::{ChannelItem, MemberItem, MessageItem, MessageState};
use crate::cache::{CachedMessage, ChannelListItem, LocalState};
use crate::outbox::{Failure, ItemState, OpId, Outbox, OutboxOp};

/// The outbox as a lens over cached rows. It holds no copy: each lookup asks the
/// outbox's per-message and per-channel indexes, so laying the outbox over a window costs
/// O(the window's messages and their queued changes), never O(the backlog).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Overlay<'a> {
    outbox: &'a Outbox,
    /// Who the user is and who is online, for member lists and leaving.
    people: Option<People<'a>>,
}

/// The current user and realtime presence, as the member list shows them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct People<'a> {
    /// The current user.
    pub me: &'a str,
    /// Others' presence as realtime reported it (user → online).
    pub presence: &'a BTreeMap<String, bool>,
    /// Whether this client is connected (the current user's own `online`).
    pub connected: bool,
}

impl<'a> Overlay<'a> {
    /// The lens over `outbox`.
    pub(crate) fn new(outbox: &'a Outbox) -> Self {
        Self {
            outbox,
            people: None,
        }
    }

    /// The lens, knowing the current user and presence (needed by member lists and to
    /// hide a channel the user is leaving).
    pub(crate) fn with_people(mut self, people: People<'a>) -> Self {
        self.people = Some(people);
        self
    }

    /// The queued, not refused changes of `cid` itself or its members, oldest first.
    fn channel_changes(&self, cid: &Cid) -> impl Iterator<Item = &'a OutboxOp> {
        self.outbox
            .channel_changes(cid)
            .filter(|item| !matches!(item.state, ItemState::Failed(_)))
            .map(|item| item.op)
    }

    /// Whether the user is leaving `cid` (a queued removal of themselves): the channel
    /// list no longer shows it.
    pub(crate) fn leaving(&self, cid: &Cid) -> bool {
        let Some(people) = self.people else {
            return false;
        };
        self.channel_changes(cid)
            .any(|op| matches!(op, OutboxOp::RemoveMember { user_id, .. } if user_id == people.me))
    }

    /// A channel with its queued renames (name, image, config) applied.
    pub(crate) fn channel_fields(&self, mut channel: Channel) -> Channel {
        let cid = channel.cid.clone();
        for op in self.channel_changes(&cid) {
            if let OutboxOp::UpdateChannel { request, .. } = op {
                if let Some(name) = &request.name {
                    channel.name = Some(name.clone());
                }
                if let Some(image) = &request.image {
                    channel.image = Some(image.clone());
                }
                if let Some(config) = &request.config {
                    channel.config = config.clone();
                }
            }
        }
        channel
    }

    /// The member list of `cid` from its cached members (with their read states): queued
    /// additions appended (in order), queued removals gone, queued roles shown.
    pub(crate) fn members(
        &self,
        cid: &Cid,
        rows: &[(Member, Option<ReadState>)],
    ) -> Vec<MemberItem> {
        let mut items: Vec<MemberItem> = rows
            .iter()
            .map(|(member, read)| MemberItem {
                user_id: member.user_id.clone(),
                role: member.role,
                joined_at: Some(member.created_at),
                online: false,
                last_read_message_id: read.as_ref().and_then(|r| r.last_read_message_id),
                last_read_at: read.as_ref().map(|r| r.last_read_at),
                pending: false,
            })
            .collect();
        for op in self.channel_changes(cid) {
            match op {
                OutboxOp::AddMembers { members, .. } => {
                    for input in members {
                        match items.iter_mut().find(|i| i.user_id == input.user_id) {
                            Some(item) => {
                                if let Some(role) = input.role.filter(|r| *r != item.role) {
                                    item.role = role;
                                    item.pending = true;
                                }
                            }
                            None => items.push(MemberItem {
                                user_id: input.user_id.clone(),
                                role: input.role.unwrap_or(MemberRole::Member),
                                joined_at: None,
                                online: false,
                                last_read_message_id: None,
                                last_read_at: None,
                                pending: true,
                            }),
                        }
                    }
                }
                OutboxOp::RemoveMember { user_id, .. } => items.retain(|i| i.user_id != *user_id),
                _ => {}
            }
        }
        if let Some(people) = self.people {
            for item in &mut items {
                item.online = if item.user_id == people.me {
                    people.connected
                } else {
                    people.presence.get(&item.user_id).copied().unwrap_or(false)
                };
            }
        }
        items
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
            quoted: None,
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
            channel: self.channel_fields(item.channel),
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
