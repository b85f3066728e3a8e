//! The entities of a chat: users, channels, members, messages, reactions and read state.
//! Every synced entity carries `rev`: the app-wide sequence number of its last change,
//! so clients apply changes idempotently ("keep the higher rev").

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::ids::Cid;
use crate::time::Timestamp;

/// A JSON object of app-defined fields.
pub type CustomData = Map<String, Value>;

/// The kind of channel. All kinds are members-only; the kind sets defaults and lets apps
/// style channels differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ChannelType {
    /// One-to-one and small group conversations.
    Messaging,
    /// Workspace-style team channels.
    Team,
    /// Large audience channels.
    Livestream,
    /// Buyer/seller conversations.
    Commerce,
}

impl ChannelType {
    /// The wire name (`messaging`, `team`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Messaging => "messaging",
            Self::Team => "team",
            Self::Livestream => "livestream",
            Self::Commerce => "commerce",
        }
    }
}

impl fmt::Display for ChannelType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChannelType {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s {
            "messaging" => Self::Messaging,
            "team" => Self::Team,
            "livestream" => Self::Livestream,
            "commerce" => Self::Commerce,
            _ => return Err(()),
        })
    }
}

/// A member's role in a channel, from most to least privileged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MemberRole {
    /// Created the channel; full control.
    Owner,
    /// Manages the channel and its members.
    Admin,
    /// Manages members and deletes others' messages.
    Moderator,
    /// Reads and writes.
    Member,
}

impl MemberRole {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Moderator => "moderator",
            Self::Member => "member",
        }
    }

    /// Whether this role may moderate (add/remove members, delete others' messages).
    pub fn can_moderate(self) -> bool {
        self <= Self::Moderator
    }

    /// Whether this role may change the channel and assign elevated roles.
    pub fn can_admin(self) -> bool {
        self <= Self::Admin
    }
}

impl FromStr for MemberRole {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s {
            "owner" => Self::Owner,
            "admin" => Self::Admin,
            "moderator" => Self::Moderator,
            "member" => Self::Member,
            _ => return Err(()),
        })
    }
}

/// A user of an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    /// App-unique user id.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// Avatar URL.
    pub image: Option<String>,
    /// App-defined fields.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub custom: CustomData,
    /// When the user was first seen.
    pub created_at: Timestamp,
    /// When the profile last changed.
    pub updated_at: Timestamp,
}

/// Per-channel feature switches, plus app-defined fields. Unknown keys are rejected (put
/// app-defined fields under `custom`), so a typo never silently drops a setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ChannelConfig {
    /// Members may react to messages.
    pub reactions: bool,
    /// Members may reply in threads.
    pub replies: bool,
    /// Typing events are relayed.
    pub typing_events: bool,
    /// App-defined fields.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub custom: CustomData,
}

impl Default for ChannelConfig {
    fn default() -> Self {
        Self {
            reactions: true,
            replies: true,
            typing_events: true,
            custom: CustomData::new(),
        }
    }
}

/// A channel (conversation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Channel {
    /// `type:id`, the channel's address.
    pub cid: Cid,
    /// The channel type.
    #[serde(rename = "type")]
    pub kind: ChannelType,
    /// The id part of the cid.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// Image URL.
    pub image: Option<String>,
    /// Feature switches and custom fields.
    pub config: ChannelConfig,
    /// Id of the user who created it.
    pub created_by: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change to name, image or config.
    pub updated_at: Timestamp,
    /// Time of the newest top-level message, if any (the channel list sort key).
    pub last_message_at: Option<Timestamp>,
    /// Number of current members.
    pub member_count: u32,
    /// A distinct channel (1:1 or fixed group conversation): its id is derived from its
    /// member set, and members cannot be added.
    #[serde(default)]
    pub distinct: bool,
    /// Sequence number of the last change to this row.
    pub rev: u64,
}

/// A user's membership in a channel. `deleted: true` is the tombstone of a removed member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    /// The channel.
    pub cid: Cid,
    /// The member.
    pub user_id: String,
    /// The member's role.
    pub role: MemberRole,
    /// When the user (last) joined.
    pub created_at: Timestamp,
    /// Last change (role, removal).
    pub updated_at: Timestamp,
    /// Tombstone: the user was removed (or left).
    pub deleted: bool,
    /// Sequence number of the last change to this row.
    pub rev: u64,
}

/// A message. `deleted_at` set means a tombstone: content is wiped, the row stays so
/// clients show "message deleted" in place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    /// Client-generated UUIDv7: the permanent id and the idempotency key.
    pub id: Uuid,
    /// The channel.
    pub cid: Cid,
    /// The author.
    pub user_id: String,
    /// Text (empty when deleted).
    pub text: String,
    /// App-defined attachment objects (images, files, links...).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub attachments: Vec<Value>,
    /// Thread root, for a thread reply.
    pub parent_id: Option<Uuid>,
    /// Quoted message, for a quote-reply.
    pub quoted_message_id: Option<Uuid>,
    /// Users mentioned in the text.
    pub mentioned_users: Vec<String>,
    /// Reaction counts by type.
    pub reaction_counts: BTreeMap<String, u32>,
    /// Number of thread replies (on a thread root).
    pub reply_count: u32,
    /// Server receive time, strictly increasing within a channel: sorting a channel's
    /// messages (or a thread's replies) by `created_at` gives the server's arrival order.
    pub created_at: Timestamp,
    /// Last change of any kind.
    pub updated_at: Timestamp,
    /// Set when the text or attachments were edited.
    pub edited_at: Option<Timestamp>,
    /// Set when the message was deleted (tombstone).
    pub deleted_at: Option<Timestamp>,
    /// Sequence number of the last change to this row.
    pub rev: u64,
}

/// One user's reaction of one type on one message. `deleted: true` is a removal tombstone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reaction {
    /// The message.
    pub message_id: Uuid,
    /// The message's channel.
    pub cid: Cid,
    /// Who reacted.
    pub user_id: String,
    /// Reaction type, e.g. `like`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When it was (last) added.
    pub created_at: Timestamp,
    /// Tombstone: the reaction was removed.
    pub deleted: bool,
    /// Sequence number of the last change to this row.
    pub rev: u64,
}

/// How far a member has read in a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadState {
    /// The channel.
    pub cid: Cid,
    /// The reader.
    pub user_id: String,
    /// The newest message read (everything up to it, in channel order, is read).
    pub last_read_message_id: Option<Uuid>,
    /// When the read marker last moved.
    pub last_read_at: Timestamp,
    /// Sequence number of the last change to this row.
    pub rev: u64,
}

/// The caller's own flags on a message (Zulip-style per-user message flags). Only
/// `starred` is set by the user; read state is [`ReadState`], mentions come from messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageFlags {
    /// The message.
    pub message_id: Uuid,
    /// The message's channel.
    pub cid: Cid,
    /// Whose flags (always the caller: flags are private).
    pub user_id: String,
    /// The user starred (saved) the message.
    pub starred: bool,
    /// Sequence number of the last change to these flags.
    pub rev: u64,
}

/// A member's own settings for a channel (Stream's hide / mute / archive): private to
/// that user, synced to that user's devices only, never shown to other members.
/// `hidden` clears itself when a new top-level message arrives in the channel; `muted`
/// channels count toward no unread total (their own counts stay); `archived` stays until
/// the user un-archives. A new membership (join or re-join) starts with all three off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberState {
    /// The channel.
    pub cid: Cid,
    /// Whose settings (always the caller: they are private).
    pub user_id: String,
    /// Hidden from the user's channel list until the next new message.
    pub hidden: bool,
    /// Muted: no unread badge (the total leaves it out) and no push.
    pub muted: bool,
    /// Archived until un-archived.
    pub archived: bool,
    /// Sequence number of the last change to these settings (0: never changed).
    pub rev: u64,
}

/// Unread counts of the caller in one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelUnread {
    /// The channel.
    pub cid: Cid,
    /// Unread messages (thread replies included).
    pub unread_count: u32,
    /// Unread messages that mention the caller.
    pub unread_mentions: u32,
    /// The `created_at` of the channel's newest message (thread replies included) when
    /// the counts were taken: every message created up to it is counted (if unread),
    /// none created after it. Message times strictly increase within a channel, so a
    /// client that learns of a message later can tell whether these counts already hold
    /// it. Absent when the channel has no messages yet (and from older servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted_through: Option<Timestamp>,
}

/// A channel with what a client needs to show it: members, read states, the newest page of
/// top-level messages, the caller's own reactions on those messages and unread counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelState {
    /// The channel.
    pub channel: Channel,
    /// Current members.
    pub members: Vec<Member>,
    /// Read states of members.
    pub reads: Vec<ReadState>,
    /// The newest top-level messages, oldest first.
    pub messages: Vec<Message>,
    /// Whether older messages exist before `messages`.
    pub has_more: bool,
    /// The caller's own (non-deleted) reactions on `messages`.
    pub own_reactions: Vec<Reaction>,
    /// Ids of the `messages` the caller starred.
    pub starred: Vec<Uuid>,
    /// The caller's unread counts (zero for server-side callers).
    pub unread: ChannelUnread,
    /// The caller's own settings for the channel (hidden, muted, archived); absent for a
    /// server-side caller who does not name a member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_state: Option<MemberState>,
}
