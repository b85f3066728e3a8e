//! The operations the outbox carries: one local mutation each, in a serde form the caller
//! persists as JSON (the durable outbox row), plus the facts the scheduler needs about an
//! operation — which channel queue it belongs to and which messages it refers to.
//!
//! Operations are plain data. Sending, coalescing and retrying them is the engine's job.

use chat_protocol::{
    Cid, CreateChannelRequest, MemberInput, SendMessageRequest, UpdateChannelRequest,
    UpdateMemberStateRequest, UpdateMessageRequest,
};
use chat_protocol::{ids, limits};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::OutboxError;
pub use super::id::OpId;

/// One local mutation waiting to reach the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum OutboxOp {
    /// `POST /v1/channels/{type}/{id}/messages`. The item's [`OpId`] must equal `request.id`.
    SendMessage {
        /// The channel the message goes to.
        cid: Cid,
        /// The message as it will be sent (edits of a still-unsent message are merged in).
        request: SendMessageRequest,
    },
    /// `PATCH /v1/messages/{id}`.
    EditMessage {
        /// The message's channel (the queue it waits in).
        cid: Cid,
        /// The message to edit.
        id: Uuid,
        /// The fields to change.
        request: UpdateMessageRequest,
    },
    /// `DELETE /v1/messages/{id}`.
    DeleteMessage {
        /// The message's channel.
        cid: Cid,
        /// The message to delete.
        id: Uuid,
    },
    /// `POST /v1/messages/{message_id}/reactions`.
    AddReaction {
        /// The message's channel.
        cid: Cid,
        /// The message reacted to.
        message_id: Uuid,
        /// Reaction type, e.g. `like`.
        kind: String,
    },
    /// `DELETE /v1/messages/{message_id}/reactions/{kind}`.
    RemoveReaction {
        /// The message's channel.
        cid: Cid,
        /// The message.
        message_id: Uuid,
        /// Reaction type to remove.
        kind: String,
    },
    /// `POST /v1/messages/{message_id}/star`: the user stars (saves) a message.
    StarMessage {
        /// The message's channel.
        cid: Cid,
        /// The message starred.
        message_id: Uuid,
    },
    /// `DELETE /v1/messages/{message_id}/star`: the user unstars a message.
    UnstarMessage {
        /// The message's channel.
        cid: Cid,
        /// The message unstarred.
        message_id: Uuid,
    },
    /// `POST /v1/channels/{type}/{id}/read`.
    MarkRead {
        /// The channel.
        cid: Cid,
        /// Read up to this message; `None` = up to the newest.
        message_id: Option<Uuid>,
    },
    /// `POST /v1/channels`. `request.id` is required: its cid is the queue key, and
    /// everything queued for that cid after it waits until it has completed.
    CreateChannel {
        /// The channel to create (for a distinct channel, or this user's replay of the
        /// same create, the server opens the existing one).
        request: CreateChannelRequest,
    },
    /// `PATCH /v1/channels/{type}/{id}`: a new name, image or config (owners and admins).
    UpdateChannel {
        /// The channel.
        cid: Cid,
        /// The fields to change (absent fields stay).
        request: UpdateChannelRequest,
    },
    /// `POST /v1/channels/{type}/{id}/members`: adds members, or changes the roles of
    /// existing ones (moderators and above).
    AddMembers {
        /// The channel.
        cid: Cid,
        /// The members and the roles they get (default `member`).
        members: Vec<MemberInput>,
    },
    /// `DELETE /v1/channels/{type}/{id}/members/{user_id}`: removes a member (moderators
    /// and above), or leaves the channel when `user_id` is the user.
    RemoveMember {
        /// The channel.
        cid: Cid,
        /// The member to remove.
        user_id: String,
    },
    /// `PATCH /v1/channels/{type}/{id}/member`: the user hides, mutes or archives the
    /// channel for themselves (or undoes it).
    SetMemberState {
        /// The channel.
        cid: Cid,
        /// The settings to change (absent fields stay).
        request: UpdateMemberStateRequest,
    },
    /// `DELETE /v1/channels/{type}/{id}`: deletes the channel for everyone (owners and
    /// admins).
    DeleteChannel {
        /// The channel.
        cid: Cid,
    },
}

/// What kind of operation an [`OutboxOp`] is, without its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// [`OutboxOp::SendMessage`].
    SendMessage,
    /// [`OutboxOp::EditMessage`].
    EditMessage,
    /// [`OutboxOp::DeleteMessage`].
    DeleteMessage,
    /// [`OutboxOp::AddReaction`].
    AddReaction,
    /// [`OutboxOp::RemoveReaction`].
    RemoveReaction,
    /// [`OutboxOp::StarMessage`].
    StarMessage,
    /// [`OutboxOp::UnstarMessage`].
    UnstarMessage,
    /// [`OutboxOp::MarkRead`].
    MarkRead,
    /// [`OutboxOp::CreateChannel`].
    CreateChannel,
    /// [`OutboxOp::UpdateChannel`].
    UpdateChannel,
    /// [`OutboxOp::AddMembers`].
    AddMembers,
    /// [`OutboxOp::RemoveMember`].
    RemoveMember,
    /// [`OutboxOp::SetMemberState`].
    SetMemberState,
    /// [`OutboxOp::DeleteChannel`].
    DeleteChannel,
}

impl OutboxOp {
    /// Adds (`add`) or removes the reaction `kind` of the user on `message_id`.
    pub fn reaction(add: bool, cid: Cid, message_id: Uuid, kind: String) -> Self {
        if add {
            Self::AddReaction {
                cid,
                message_id,
                kind,
            }
        } else {
            Self::RemoveReaction {
                cid,
                message_id,
                kind,
            }
        }
    }

    /// Stars (`starred`) or unstars `message_id` for the user.
    pub fn star(starred: bool, cid: Cid, message_id: Uuid) -> Self {
        if starred {
            Self::StarMessage { cid, message_id }
        } else {
            Self::UnstarMessage { cid, message_id }
        }
    }

    /// The payload-free kind of this operation.
    pub fn kind(&self) -> OpKind {
        match self {
            Self::SendMessage { .. } => OpKind::SendMessage,
            Self::EditMessage { .. } => OpKind::EditMessage,
            Self::DeleteMessage { .. } => OpKind::DeleteMessage,
            Self::AddReaction { .. } => OpKind::AddReaction,
            Self::RemoveReaction { .. } => OpKind::RemoveReaction,
            Self::StarMessage { .. } => OpKind::StarMessage,
            Self::UnstarMessage { .. } => OpKind::UnstarMessage,
            Self::MarkRead { .. } => OpKind::MarkRead,
            Self::CreateChannel { .. } => OpKind::CreateChannel,
            Self::UpdateChannel { .. } => OpKind::UpdateChannel,
            Self::AddMembers { .. } => OpKind::AddMembers,
            Self::RemoveMember { .. } => OpKind::RemoveMember,
            Self::SetMemberState { .. } => OpKind::SetMemberState,
            Self::DeleteChannel { .. } => OpKind::DeleteChannel,
        }
    }

    /// Whether this operation changes the channel itself or its member list (what the
    /// channel list and the member list show before the server confirms it).
    pub fn changes_channel(&self) -> bool {
        matches!(
            self,
            Self::UpdateChannel { .. }
                | Self::AddMembers { .. }
                | Self::RemoveMember { .. }
                | Self::SetMemberState { .. }
                | Self::DeleteChannel { .. }
        )
    }

    /// The channel whose FIFO queue this operation waits in. For `CreateChannel` it is the
    /// new channel's cid, which needs `request.id` (and a valid one).
    pub fn queue_key(&self) -> Result<Cid, OutboxError> {
        match self {
            Self::SendMessage { cid, .. }
            | Self::EditMessage { cid, .. }
            | Self::DeleteMessage { cid, .. }
            | Self::AddReaction { cid, .. }
            | Self::RemoveReaction { cid, .. }
            | Self::StarMessage { cid, .. }
            | Self::UnstarMessage { cid, .. }
            | Self::MarkRead { cid, .. }
            | Self::UpdateChannel { cid, .. }
            | Self::AddMembers { cid, .. }
            | Self::RemoveMember { cid, .. }
            | Self::SetMemberState { cid, .. }
            | Self::DeleteChannel { cid } => Ok(cid.clone()),
            Self::CreateChannel { request } => {
                let id = request.id.as_deref().ok_or(OutboxError::MissingChannelId)?;
                Cid::new(request.kind, id).map_err(OutboxError::InvalidId)
            }
        }
    }

    /// The existing message this operation acts on (edit, delete, reactions, stars, mark
    /// read).
    pub fn target_message(&self) -> Option<Uuid> {
        match self {
            Self::EditMessage { id, .. } | Self::DeleteMessage { id, .. } => Some(*id),
            Self::AddReaction { message_id, .. }
            | Self::RemoveReaction { message_id, .. }
            | Self::StarMessage { message_id, .. }
            | Self::UnstarMessage { message_id, .. } => Some(*message_id),
            Self::MarkRead { message_id, .. } => *message_id,
            Self::SendMessage { .. }
            | Self::CreateChannel { .. }
            | Self::UpdateChannel { .. }
            | Self::AddMembers { .. }
            | Self::RemoveMember { .. }
            | Self::SetMemberState { .. }
            | Self::DeleteChannel { .. } => None,
        }
    }

    /// Every message this operation needs to exist on the server before it can succeed:
    /// the target message, or for a send its thread parent and quoted message.
    pub fn message_refs(&self) -> impl Iterator<Item = Uuid> {
        let (first, second) = match self {
            Self::SendMessage { request, .. } => (request.parent_id, request.quoted_message_id),
            other => (other.target_message(), None),
        };
        first.into_iter().chain(second)
    }

    /// The `(message, reaction type)` a reaction operation toggles.
    pub fn reaction_key(&self) -> Option<(Uuid, &str)> {
        match self {
            Self::AddReaction {
                message_id, kind, ..
            }
            | Self::RemoveReaction {
                message_id, kind, ..
            } => Some((*message_id, kind.as_str())),
            _ => None,
        }
    }

    /// The message a star operation toggles, and whether it stars it.
    pub fn star_key(&self) -> Option<(Uuid, bool)> {
        match self {
            Self::StarMessage { message_id, .. } => Some((*message_id, true)),
            Self::UnstarMessage { message_id, .. } => Some((*message_id, false)),
            _ => None,
        }
    }

    /// Checks what the engine relies on before accepting `self` under `op_id`: a send's
    /// id equals its op id, a created channel has a valid id, reaction types are valid
    /// (they become a path segment), and a send's or edit's content, a channel's name and
    /// image and a member list keep the protocol's limits ([`chat_protocol::limits`], the
    /// server's own checks; a removed member's id becomes a path segment too). Everything
    /// else (existence, membership, roles and who may give them) is the server's to
    /// validate.
    pub fn validate(&self, op_id: OpId) -> Result<Cid, OutboxError> {
        match self {
            Self::SendMessage { request, .. } => {
                if request.id != op_id.0 {
                    return Err(OutboxError::SendIdMismatch {
                        op_id,
                        message_id: request.id,
                    });
                }
                limits::check_message_content(
                    &request.text,
                    &request.attachments,
                    &request.mentioned_users,
                )
                .map_err(OutboxError::Content)?;
            }
            Self::EditMessage { request, .. } => {
                limits::check_message_content(
                    request.text.as_deref().unwrap_or_default(),
                    request.attachments.as_deref().unwrap_or_default(),
                    request.mentioned_users.as_deref().unwrap_or_default(),
                )
                .map_err(OutboxError::Content)?;
            }
            Self::AddReaction { kind, .. } | Self::RemoveReaction { kind, .. } => {
                limits::check_reaction_type(kind).map_err(OutboxError::Content)?;
            }
            Self::CreateChannel { request } => {
                if let Some(id) = &request.id {
                    ids::validate_channel_id(id).map_err(OutboxError::InvalidId)?;
                }
                limits::check_name("name", request.name.as_deref())
                    .and_then(|()| limits::check_name("image", request.image.as_deref()))
                    .and_then(|()| limits::check_members(&request.members))
                    .map_err(OutboxError::Content)?;
            }
            Self::UpdateChannel { request, .. } => {
                limits::check_name("name", request.name.as_deref())
                    .and_then(|()| limits::check_name("image", request.image.as_deref()))
                    .map_err(OutboxError::Content)?;
            }
            Self::AddMembers { members, .. } => {
                let ids: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
                limits::check_batch("members", members)
                    .and_then(|()| limits::check_members(&ids))
                    .map_err(OutboxError::Content)?;
            }
            Self::RemoveMember { user_id, .. } => {
                ids::validate_user_id(user_id).map_err(OutboxError::InvalidId)?;
            }
            Self::DeleteMessage { .. }
            | Self::StarMessage { .. }
            | Self::UnstarMessage { .. }
            | Self::MarkRead { .. }
            | Self::SetMemberState { .. }
            | Self::DeleteChannel { .. } => {}
        }
        self.queue_key()
    }
}

/// Applies an edit to a not-yet-sent message: present fields replace the send's fields.
pub(super) fn merge_edit(send: &mut SendMessageRequest, edit: &UpdateMessageRequest) {
    if let Some(text) = &edit.text {
        send.text.clone_from(text);
    }
    if let Some(attachments) = &edit.attachments {
        send.attachments.clone_from(attachments);
    }
    if let Some(mentioned) = &edit.mentioned_users {
        send.mentioned_users.clone_from(mentioned);
    }
}

#[cfg(test)]
mod tests {
    use chat_protocol::{ErrorBody, ErrorCode};

    use super::super::classify::{Class, classify};
    use super::super::test_support::*;
    use super::*;
    use crate::outbox::ApiOutcome;

    #[test]
    fn channel_changes_keep_the_protocols_limits_before_anything_is_queued() {
        let id = op_id(1);
        assert!(update_channel("team:general", "ok").validate(id).is_ok());
        let long = "x".repeat(limits::MAX_NAME_LEN + 1);
        assert!(matches!(
            update_channel("team:general", &long).validate(id),
            Err(OutboxError::Content(_))
        ));
        assert!(matches!(
            add_members("team:general", &[]).validate(id),
            Err(OutboxError::Content(_))
        ));
        let many: Vec<String> = (0..=limits::MAX_BATCH).map(|n| format!("u{n}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(matches!(
            add_members("team:general", &many).validate(id),
            Err(OutboxError::Content(_))
        ));
        assert!(matches!(
            add_members("team:general", &["bad/id"]).validate(id),
            Err(OutboxError::Content(_))
        ));
        // The removed member's id becomes a path segment.
        for bad in ["../x", "a b", ""] {
            assert!(
                matches!(
                    remove_member("team:general", bad).validate(id),
                    Err(OutboxError::InvalidId(_))
                ),
                "{bad:?}"
            );
        }
        assert!(
            remove_member("team:general", "bob@x.io")
                .validate(id)
                .is_ok()
        );
    }

    #[test]
    fn removing_someone_already_gone_is_done_and_a_refused_change_fails() {
        let gone = ApiOutcome::HttpError {
            status: 404,
            body: Some(ErrorBody::new(ErrorCode::NotFound, "member bob")),
            retry_after: None,
        };
        assert_eq!(
            classify(&remove_member("team:general", "bob"), &gone),
            Class::AlreadyDone
        );
        assert!(matches!(
            classify(&add_members("team:general", &["bob"]), &gone),
            Class::Permanent(_)
        ));
        let forbidden = http(ErrorCode::Forbidden);
        assert!(matches!(
            classify(&update_channel("team:general", "x"), &forbidden),
            Class::Permanent(_)
        ));
    }
}
