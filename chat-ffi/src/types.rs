//! The records and enums that cross the FFI: chat-core's values in host-friendly shapes
//! (ids and cids as strings, times as chat-protocol's `Timestamp` — the host's instant type,
//! see `time.rs` — attachments as JSON text). Conversions only.

use std::collections::HashMap;

use chat_core::client::{ConnectionState as CoreState, DisconnectReason};
use chat_core::live::{
    ChannelItem as CoreChannel, MemberItem as CoreMember, MessageItem as CoreItem,
    MessageState as CoreMessageState, ReadReceipt as CoreReceipt,
};
use chat_protocol::Timestamp;

/// A message.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Message {
    /// The message id (a UUIDv7, chosen by the sending client).
    pub id: String,
    /// Its channel (`type:id`).
    pub cid: String,
    /// The author.
    pub user_id: String,
    /// The text.
    pub text: String,
    /// App-defined attachments, each a JSON object as text.
    pub attachments: Vec<String>,
    /// The thread root, for a reply.
    pub parent_id: Option<String>,
    /// The quoted message, if any.
    pub quoted_message_id: Option<String>,
    /// Mentioned user ids.
    pub mentioned_users: Vec<String>,
    /// Reaction counts by type.
    pub reaction_counts: HashMap<String, u32>,
    /// Replies in its thread.
    pub reply_count: u32,
    /// When it was sent (the server's time once confirmed).
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Last edit of the text, if edited.
    pub edited_at: Option<Timestamp>,
    /// Deletion time, if deleted (a tombstone).
    pub deleted_at: Option<Timestamp>,
}

impl From<chat_protocol::Message> for Message {
    fn from(m: chat_protocol::Message) -> Self {
        Self {
            id: m.id.to_string(),
            cid: m.cid.to_string(),
            user_id: m.user_id,
            text: m.text,
            attachments: m.attachments.iter().map(|a| a.to_string()).collect(),
            parent_id: m.parent_id.map(|p| p.to_string()),
            quoted_message_id: m.quoted_message_id.map(|q| q.to_string()),
            mentioned_users: m.mentioned_users,
            reaction_counts: m.reaction_counts.into_iter().collect(),
            reply_count: m.reply_count,
            created_at: m.created_at,
            updated_at: m.updated_at,
            edited_at: m.edited_at,
            deleted_at: m.deleted_at,
        }
    }
}

/// Where a message stands between the user's action and the server's confirmation.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum MessageState {
    /// Confirmed by the server.
    Sent,
    /// Queued, not sent yet.
    Pending,
    /// Its send request is in flight.
    Sending,
    /// The server refused it: `retry` or `discard` it with `op_id`.
    Failed {
        /// The outbox item (the message id).
        op_id: String,
        /// Why.
        reason: String,
        /// The HTTP status.
        status: u16,
    },
    /// A queued edit is shown.
    Editing,
    /// A queued delete is shown.
    Deleting,
    /// An edit or delete was refused; shown until retried or discarded.
    UpdateFailed {
        /// The failed outbox item.
        op_id: String,
        /// Why.
        reason: String,
        /// The HTTP status.
        status: u16,
    },
}

impl From<CoreMessageState> for MessageState {
    fn from(s: CoreMessageState) -> Self {
        match s {
            CoreMessageState::Sent => Self::Sent,
            CoreMessageState::Pending => Self::Pending,
            CoreMessageState::Sending => Self::Sending,
            CoreMessageState::Failed { op_id, failure } => Self::Failed {
                op_id: op_id.to_string(),
                reason: failure.reason,
                status: failure.status,
            },
            CoreMessageState::Editing => Self::Editing,
            CoreMessageState::Deleting => Self::Deleting,
            CoreMessageState::UpdateFailed { op_id, failure } => Self::UpdateFailed {
                op_id: op_id.to_string(),
                reason: failure.reason,
                status: failure.status,
            },
        }
    }
}

/// A message as the UI shows it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MessageItem {
    /// The message, local changes applied.
    pub message: Message,
    /// Its local state.
    pub state: MessageState,
    /// The current user's reactions on it, sorted.
    pub own_reactions: Vec<String>,
    /// Whether the current user starred it.
    pub starred: bool,
    /// For a quote-reply, the quoted message as it stands now.
    pub quoted: Option<QuotedPreview>,
}

impl From<CoreItem> for MessageItem {
    fn from(i: CoreItem) -> Self {
        Self {
            message: i.message.into(),
            state: i.state.into(),
            own_reactions: i.own_reactions,
            starred: i.starred,
            quoted: i.quoted.map(Into::into),
        }
    }
}

/// The message a quote-reply quotes, as the reply shows it (it follows edits and deletes).
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum QuotedPreview {
    /// The quoted message is known.
    Message {
        /// Its id.
        id: String,
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
    /// Not known yet: being fetched (or waiting for the network).
    Loading {
        /// Its id.
        id: String,
    },
    /// The server does not have it, or the user may not see it.
    Unavailable {
        /// Its id.
        id: String,
    },
}

impl From<chat_core::live::QuotedPreview> for QuotedPreview {
    fn from(q: chat_core::live::QuotedPreview) -> Self {
        use chat_core::live::QuotedPreview as Core;
        match q {
            Core::Message {
                id,
                user_id,
                text,
                attachment_count,
                created_at,
                deleted,
            } => Self::Message {
                id: id.to_string(),
                user_id,
                text,
                attachment_count,
                created_at,
                deleted,
            },
            Core::Loading { id } => Self::Loading { id: id.to_string() },
            Core::Unavailable { id } => Self::Unavailable { id: id.to_string() },
        }
    }
}

/// One row of the channel list.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ChannelItem {
    /// The channel (`type:id`).
    pub cid: String,
    /// Its name, if set.
    pub name: Option<String>,
    /// Its image URL, if set.
    pub image: Option<String>,
    /// Members.
    pub member_count: u32,
    /// A distinct conversation (a direct message or a fixed group; members are fixed).
    pub distinct: bool,
    /// Time of its newest message, if any.
    pub last_message_at: Option<Timestamp>,
    /// The current user's unread messages in it.
    pub unread_count: u32,
    /// Unread messages mentioning the current user.
    pub unread_mentions: u32,
    /// The newest message, for the preview.
    pub last_message: Option<MessageItem>,
}

impl From<CoreChannel> for ChannelItem {
    fn from(c: CoreChannel) -> Self {
        Self {
            cid: c.channel.cid.to_string(),
            name: c.channel.name,
            image: c.channel.image,
            member_count: c.channel.member_count,
            distinct: c.channel.distinct,
            last_message_at: c.channel.last_message_at,
            unread_count: c.unread_count,
            unread_mentions: c.unread_mentions,
            last_message: c.last_message.map(Into::into),
        }
    }
}

/// The realtime connection as the app sees it.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum ConnectionState {
    /// Not connected and not trying (stopped, in the background, or refused by the
    /// server until the app calls `reconnect`).
    Disconnected {
        /// `stopped`, `background`, or the server's close reason.
        reason: String,
    },
    /// The app said the network is unreachable.
    WaitingForNetwork,
    /// Opening the socket and authenticating.
    Connecting {
        /// Failed attempts so far.
        attempt: u32,
    },
    /// Connected: changes arrive live.
    Connected,
    /// Waiting before the next attempt.
    WaitingToReconnect {
        /// Failed attempts so far.
        attempt: u32,
        /// Milliseconds until the next attempt (from when this state was entered).
        retry_in_ms: u64,
    },
    /// The token was refused: call `refresh_token` when the user can sign in again.
    AuthFailed {
        /// What was refused.
        reason: String,
    },
}

impl From<CoreState> for ConnectionState {
    fn from(s: CoreState) -> Self {
        match s {
            CoreState::Disconnected { reason } => Self::Disconnected {
                reason: match reason {
                    DisconnectReason::Stopped => "stopped".into(),
                    DisconnectReason::Background => "background".into(),
                    DisconnectReason::Refused { code, reason } => format!("{code} {reason}"),
                },
            },
            CoreState::WaitingForNetwork => Self::WaitingForNetwork,
            CoreState::Connecting { attempt } => Self::Connecting { attempt },
            CoreState::Connected => Self::Connected,
            CoreState::WaitingToReconnect { attempt, retry_in } => Self::WaitingToReconnect {
                attempt,
                retry_in_ms: u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX),
            },
            CoreState::AuthFailed { reason } => Self::AuthFailed { reason },
        }
    }
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NewMessage {
    /// The text (at most 5,000 characters).
    pub text: String,
    /// Thread root, to reply in a thread.
    #[uniffi(default = None)]
    pub parent_id: Option<String>,
    /// A message to quote.
    #[uniffi(default = None)]
    pub quoted_message_id: Option<String>,
    /// Mentioned user ids.
    #[uniffi(default = [])]
    pub mentioned_users: Vec<String>,
    /// Attachments, each a JSON object as text.
    #[uniffi(default = [])]
    pub attachments: Vec<String>,
}

/// Someone typing in a channel (or in one of its threads).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TypingUser {
    /// Who.
    pub user_id: String,
    /// The thread root, when typing in a thread.
    pub parent_id: Option<String>,
}

impl From<chat_core::client::TypingUser> for TypingUser {
    fn from(t: chat_core::client::TypingUser) -> Self {
        Self {
            user_id: t.user_id,
            parent_id: t.parent_id.map(|p| p.to_string()),
        }
    }
}

/// How far another member has read a channel.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReadReceipt {
    /// The member.
    pub user_id: String,
    /// The newest message they have read, if known.
    pub last_read_message_id: Option<String>,
    /// When they read it.
    pub last_read_at: Timestamp,
}

impl From<CoreReceipt> for ReadReceipt {
    fn from(r: CoreReceipt) -> Self {
        Self {
            user_id: r.user_id,
            last_read_message_id: r.last_read_message_id.map(|m| m.to_string()),
            last_read_at: r.last_read_at,
        }
    }
}

/// One row of a channel's member list.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MemberItem {
    /// The member.
    pub user_id: String,
    /// Their role (a queued role change shown at once).
    pub role: crate::outbox::MemberRole,
    /// When they (last) joined; absent while their addition waits for the server.
    pub joined_at: Option<Timestamp>,
    /// Online: others as realtime presence reports them; the current user while this client
    /// is connected.
    pub online: bool,
    /// The newest message they have read, if any.
    pub last_read_message_id: Option<String>,
    /// When their read marker last moved, if it ever did.
    pub last_read_at: Option<Timestamp>,
    /// A queued change to this member (added, or a new role) waits for the server.
    pub pending: bool,
}

impl From<CoreMember> for MemberItem {
    fn from(m: CoreMember) -> Self {
        Self {
            user_id: m.user_id,
            role: m.role.into(),
            joined_at: m.joined_at,
            online: m.online,
            last_read_message_id: m.last_read_message_id.map(|id| id.to_string()),
            last_read_at: m.last_read_at,
            pending: m.pending,
        }
    }
}

/// What the user was writing in a channel or a thread and has not sent.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Draft {
    /// The channel (`type:id`).
    pub cid: String,
    /// The thread root, for a draft reply in a thread.
    pub parent_id: Option<String>,
    /// The text.
    pub text: String,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

impl From<chat_core::client::Draft> for Draft {
    fn from(d: chat_core::client::Draft) -> Self {
        Self {
            cid: d.cid.to_string(),
            parent_id: d.parent_id.map(|p| p.to_string()),
            text: d.text,
            updated_at: d.updated_at,
        }
    }
}
