//! The items live queries deliver: [`MessageItem`] (a message as the UI shows it, with its
//! [`MessageState`]), [`ChannelItem`] (a channel-list row), [`ReadReceipt`] and
//! [`MemberItem`] (a member-list row). They are the cache's rows
//! with the not-yet-confirmed local changes of the outbox laid over them (see
//! `overlay.rs`), so the UI shows the user's intent at once and the server's truth after.

use chat_protocol::{Channel, Cid, MemberRole, Message, ReadState, Timestamp};
use serde::Serialize;
use uuid::Uuid;

use super::diff::Keyed;
use crate::outbox::{Failure, OpId};

/// Where a message stands between the user's action and the server's confirmation.
/// Serialized (for the web SDK) as `{"type": "failed", "op_id": …, "failure": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MessageState {
    /// Confirmed by the server; no local change is waiting.
    Sent,
    /// A new message queued in the outbox (waiting for its turn, the network, a retry or
    /// a token).
    Pending,
    /// A new message whose send request is in flight.
    Sending,
    /// A new message the server refused; `retry` or `discard` it with `op_id` (the
    /// message id).
    Failed {
        /// The outbox item (for a send, the message id).
        op_id: OpId,
        /// Why.
        failure: Failure,
    },
    /// A confirmed message with a queued edit (shown with the new content).
    Editing,
    /// A confirmed message with a queued delete (shown deleted).
    Deleting,
    /// An edit or delete of a confirmed message was refused; shown with the local change
    /// until the app retries or discards `op_id` (discarding reverts it).
    UpdateFailed {
        /// The failed outbox item.
        op_id: OpId,
        /// Why.
        failure: Failure,
    },
}

impl MessageState {
    /// Whether the server has confirmed everything shown.
    pub fn is_settled(&self) -> bool {
        matches!(self, Self::Sent)
    }
}

/// A message as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageItem {
    /// The message with local changes applied (edited text, deletion, reaction counts).
    pub message: Message,
    /// Its local state.
    pub state: MessageState,
    /// The current user's reactions on it (local toggles included), sorted.
    pub own_reactions: Vec<String>,
    /// Whether the current user starred it.
    pub starred: bool,
    /// For a quote-reply, the quoted message as it stands now (`None` for any other
    /// message).
    pub quoted: Option<QuotedPreview>,
}

/// The message a quote-reply quotes, as the reply shows it above its text. It follows the
/// quoted message: an edit or a delete (local ones included) shows at once. A quoted
/// message older than the cache holds is fetched once and kept (`Loading` until then).
/// Serialized (for the web SDK) as `{"type": "message", "id": …, "user_id": …, …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuotedPreview {
    /// The quoted message is known.
    Message {
        /// Its id.
        id: Uuid,
        /// Its author.
        user_id: String,
        /// Its text (empty when deleted).
        text: String,
        /// How many attachments it has.
        attachment_count: u32,
        /// When it was sent.
        created_at: Timestamp,
        /// Whether it was deleted.
        deleted: bool,
    },
    /// Not known yet: it is being fetched (or waits for the network).
    Loading {
        /// Its id.
        id: Uuid,
    },
    /// The server does not have it, or the user may not see it.
    Unavailable {
        /// Its id.
        id: Uuid,
    },
}

impl QuotedPreview {
    /// The preview of a known message (as the UI shows it, local changes included).
    pub fn of(message: &Message) -> Self {
        Self::Message {
            id: message.id,
            user_id: message.user_id.clone(),
            text: message.text.clone(),
            attachment_count: u32::try_from(message.attachments.len()).unwrap_or(u32::MAX),
            created_at: message.created_at,
            deleted: message.deleted_at.is_some(),
        }
    }

    /// The quoted message's id.
    pub fn id(&self) -> Uuid {
        match self {
            Self::Message { id, .. } | Self::Loading { id } | Self::Unavailable { id } => *id,
        }
    }
}

impl MessageItem {
    /// The message id (its identity in lists).
    pub fn id(&self) -> Uuid {
        self.message.id
    }
}

impl Keyed for MessageItem {
    type Key = Uuid;
    fn key(&self) -> Uuid {
        self.message.id
    }
}

/// One row of the channel list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelItem {
    /// The channel.
    pub channel: Channel,
    /// The current user's unread messages in it (optimistically zero after `mark_read`).
    pub unread_count: u32,
    /// Unread messages mentioning the current user.
    pub unread_mentions: u32,
    /// The newest top-level message, for the preview (a local echo if one is queued).
    pub last_message: Option<MessageItem>,
}

impl Keyed for ChannelItem {
    type Key = Cid;
    fn key(&self) -> Cid {
        self.channel.cid.clone()
    }
}

/// How far another member has read a channel (a read receipt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadReceipt {
    /// The member.
    pub user_id: String,
    /// The newest message they have read, if any.
    pub last_read_message_id: Option<Uuid>,
    /// When they read it.
    pub last_read_at: Timestamp,
}

impl From<ReadState> for ReadReceipt {
    fn from(r: ReadState) -> Self {
        Self {
            user_id: r.user_id,
            last_read_message_id: r.last_read_message_id,
            last_read_at: r.last_read_at,
        }
    }
}

impl Keyed for ReadReceipt {
    type Key = String;
    fn key(&self) -> String {
        self.user_id.clone()
    }
}

/// One row of a channel's member list: the member with the user's queued changes applied
/// (an added member shows at once, a removed one is gone, a new role shows), whether they
/// are online, and how far they have read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberItem {
    /// The member.
    pub user_id: String,
    /// Their role (a queued role change shown at once).
    pub role: MemberRole,
    /// When they (last) joined; `None` while their addition waits for the server.
    pub joined_at: Option<Timestamp>,
    /// Whether they are online: for other members, as realtime presence last reported; for
    /// the current user, whether this client is connected.
    pub online: bool,
    /// The newest message they have read, if any.
    pub last_read_message_id: Option<Uuid>,
    /// When their read marker last moved, if it ever did.
    pub last_read_at: Option<Timestamp>,
    /// A queued change to this member (added, or a new role) waits for the server.
    pub pending: bool,
}

impl Keyed for MemberItem {
    type Key = String;
    fn key(&self) -> String {
        self.user_id.clone()
    }
}
