//! Request and response bodies of the REST API under `/v1`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::error::ErrorBody;
use crate::ids::Cid;
use crate::models::{
    ChannelConfig, ChannelState, ChannelType, ChannelUnread, CustomData, Member, MemberRole,
    Message, Reaction, ReadState, User,
};

/// A user profile to create or replace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserInput {
    /// App-unique user id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Avatar URL.
    #[serde(default)]
    pub image: Option<String>,
    /// App-defined fields.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub custom: CustomData,
}

/// `POST /v1/users`: create or replace users (server-side callers: any user; a user: itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpsertUsersRequest {
    /// Up to 100 users.
    pub users: Vec<UserInput>,
}

/// A list of users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsersResponse {
    /// The users.
    pub users: Vec<User>,
}

/// One user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserResponse {
    /// The user.
    pub user: User,
}

/// A member to add, with an optional role (default `member`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberInput {
    /// The user to add.
    pub user_id: String,
    /// The role to give (default `member`; `owner` cannot be given).
    #[serde(default)]
    pub role: Option<MemberRole>,
}

/// `POST /v1/channels`: create a channel.
///
/// - `distinct: true`: the conversation of exactly `members` ∪ {creator}. Its id is derived
///   from that set ([`crate::ids::distinct_channel_id`]); `id` may be omitted or must equal
///   the derived id. Creating it again answers 200 with its state (and brings back a caller
///   who had left).
/// - An explicit `id` otherwise: an idempotent create. It answers 200 with the existing
///   channel only to its creator replaying the same initial member set; anything else is
///   `409 conflict`.
/// - No `id`: the server generates one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateChannelRequest {
    /// The channel type.
    #[serde(rename = "type")]
    pub kind: ChannelType,
    /// The channel id; the server generates one when absent (or derives it, for distinct
    /// channels). Ids starting with `!` are reserved for derived distinct ids.
    #[serde(default)]
    pub id: Option<String>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Image URL.
    #[serde(default)]
    pub image: Option<String>,
    /// Initial members besides the creator (who becomes `owner`). For a distinct channel,
    /// the other members of the conversation (at least the creator; at most 100 others).
    #[serde(default)]
    pub members: Vec<String>,
    /// Feature switches and custom fields.
    #[serde(default)]
    pub config: Option<ChannelConfig>,
    /// Server-side callers only: the creating user.
    #[serde(default)]
    pub created_by: Option<String>,
    /// A distinct channel: one conversation per member set, id derived from the members,
    /// members fixed for life (nobody can be added; members can only leave).
    #[serde(default)]
    pub distinct: bool,
}

impl CreateChannelRequest {
    /// A channel of type `kind` with a server-generated (or client-chosen, set `id`) id.
    pub fn new(kind: ChannelType) -> Self {
        Self {
            kind,
            id: None,
            name: None,
            image: None,
            members: Vec::new(),
            config: None,
            created_by: None,
            distinct: false,
        }
    }

    /// The distinct conversation between the creator and `members` (a 1:1 direct message
    /// with one member, a fixed group with several). The id is derived from the member
    /// set; SDKs fill it in with [`crate::ids::distinct_channel_id`] before sending.
    pub fn distinct(kind: ChannelType, members: Vec<String>) -> Self {
        Self {
            members,
            distinct: true,
            ..Self::new(kind)
        }
    }
}

/// `PATCH /v1/channels/{type}/{id}`: change name, image or config (owner/admin). Absent fields stay.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateChannelRequest {
    /// New display name.
    #[serde(default)]
    pub name: Option<String>,
    /// New image URL.
    #[serde(default)]
    pub image: Option<String>,
    /// New config (replaces the whole config).
    #[serde(default)]
    pub config: Option<ChannelConfig>,
}

/// Channel query filter; all given conditions must hold. User callers only ever see
/// channels they are a member of.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelFilter {
    /// Only channels of this type.
    #[serde(default, rename = "type")]
    pub kind: Option<ChannelType>,
    /// Only channels where all these users are members.
    #[serde(default)]
    pub members: Option<Vec<String>>,
    /// Only these channels.
    #[serde(default)]
    pub cids: Option<Vec<Cid>>,
}

/// One channel (after an update).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelResponse {
    /// The channel.
    pub channel: crate::models::Channel,
}

/// `POST /v1/channels/query`: channels sorted by last message time (newest first, channels
/// without messages by creation time), paged by an opaque cursor.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueryChannelsRequest {
    /// The filter.
    #[serde(default)]
    pub filter: ChannelFilter,
    /// Page size, 1..=100 (default 20).
    #[serde(default)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Messages per channel, 0..=200 (default 25).
    #[serde(default)]
    pub message_limit: Option<u32>,
}

/// A page of channels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueryChannelsResponse {
    /// The channels, in sort order.
    pub channels: Vec<ChannelState>,
    /// Cursor of the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// `PATCH /v1/channels/{type}/{id}/member`: the caller's own settings for the channel.
/// Absent fields stay; at least one must be given.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberStateRequest {
    /// Hide the channel from the list (cleared by the next new message) or show it again.
    #[serde(default)]
    pub hidden: Option<bool>,
    /// Mute (no unread badge, no push) or unmute.
    #[serde(default)]
    pub muted: Option<bool>,
    /// Archive or un-archive.
    #[serde(default)]
    pub archived: Option<bool>,
}

/// The caller's own settings for a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberStateResponse {
    /// The settings after the change.
    pub state: crate::models::MemberState,
}

/// `DELETE /v1/channels/{type}/{id}`: the deleted channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeleteChannelResponse {
    /// The channel as it was when deleted.
    pub channel: crate::models::Channel,
    /// The caller's own membership tombstone (absent for a server-side caller who was not
    /// a member), stamped with its seq like the change sync delivers, so the caller drops
    /// the channel at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<Member>,
}

/// `POST /v1/channels/{type}/{id}/members`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddMembersRequest {
    /// Up to 100 members to add (or whose role to change).
    pub members: Vec<MemberInput>,
}

/// The current member list (after adding members, changing roles or removing one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MembersResponse {
    /// Current members.
    pub members: Vec<Member>,
    /// After a removal (or leaving): the removed member's tombstone (`deleted: true`),
    /// stamped with the removal's seq like the change sync delivers, so the caller can
    /// apply it at once (a client that left drops the channel without waiting for sync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<Member>,
}

/// `POST /v1/channels/{type}/{id}/messages`: send (idempotent on `id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendMessageRequest {
    /// Client-generated UUIDv7, the message's permanent id and idempotency key.
    pub id: Uuid,
    /// Text, at most 5000 characters.
    #[serde(default)]
    pub text: String,
    /// App-defined attachment objects, at most 30.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub attachments: Vec<Value>,
    /// Thread root (a top-level message of the same channel).
    #[serde(default)]
    pub parent_id: Option<Uuid>,
    /// Quoted message (same channel).
    #[serde(default)]
    pub quoted_message_id: Option<Uuid>,
    /// Mentioned users (must be members).
    #[serde(default)]
    pub mentioned_users: Vec<String>,
    /// Server-side callers only: the author.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// `POST /v1/channels/{type}/{id}/messages/batch`: up to [`MAX_BATCH`](crate::limits::MAX_BATCH)
/// sends to one channel in one request, applied in order, each idempotent on its `id`
/// exactly like a single send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendMessagesRequest {
    /// The messages, oldest first.
    pub messages: Vec<SendMessageRequest>,
}

/// The answer to a batch send: one result per message, in the request's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendMessagesResponse {
    /// One result per message of the request, in its order.
    pub results: Vec<SendResult>,
}

/// What happened to one message of a batch send: what a single send of it would have
/// answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendResult {
    /// The message's id, as sent.
    pub id: Uuid,
    /// The status a single send would have answered: `201` created, `200` already stored
    /// (a replay), or an error status (`400`, `403`, `404`, `409`, `429`).
    pub status: u16,
    /// The stored message (`200`, `201`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// Why it was refused (error statuses); `retry_after_secs` is set on a `429`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

/// `PATCH /v1/messages/{id}`: edit (author only). Absent fields stay.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateMessageRequest {
    /// New text.
    #[serde(default)]
    pub text: Option<String>,
    /// New attachments.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
    pub attachments: Option<Vec<Value>>,
    /// New mentioned users.
    #[serde(default)]
    pub mentioned_users: Option<Vec<String>>,
}

/// One message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageResponse {
    /// The message.
    pub message: Message,
}

/// Query of a message list: at most one of `before`, `after`, `around`; none = newest page.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct ListMessagesQuery {
    /// Messages strictly older than this id.
    #[serde(default)]
    pub before: Option<Uuid>,
    /// Messages strictly newer than this id.
    #[serde(default)]
    pub after: Option<Uuid>,
    /// A page centred on this id (included).
    #[serde(default)]
    pub around: Option<Uuid>,
    /// Page size, 1..=200 (default 50).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A page of messages in channel order (oldest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessagesResponse {
    /// The page, oldest first.
    pub messages: Vec<Message>,
    /// Whether older messages exist before the page.
    pub has_more_before: bool,
    /// Whether newer messages exist after the page.
    pub has_more_after: bool,
    /// The caller's own reactions on the page's messages.
    pub own_reactions: Vec<Reaction>,
    /// Ids of the page's messages the caller starred.
    pub starred: Vec<Uuid>,
}

/// The caller's flags on a message after starring or unstarring it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlagsResponse {
    /// The flags.
    pub flags: crate::models::MessageFlags,
}

/// `GET /v1/starred`: the caller's starred messages, most recently sent first.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct StarredQuery {
    /// Only messages sent before this (starred) message.
    #[serde(default)]
    pub before: Option<Uuid>,
    /// Page size, 1..=200 (default 50).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A page of starred messages, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StarredResponse {
    /// The messages, newest first.
    pub messages: Vec<Message>,
    /// Whether older starred messages exist.
    pub has_more: bool,
}

/// `POST /v1/messages/{id}/reactions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReactionRequest {
    /// Reaction type, e.g. `like`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// A reaction change and the message with updated counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReactionResponse {
    /// The reaction (a tombstone after a removal).
    pub reaction: Reaction,
    /// The message with updated `reaction_counts`.
    pub message: Message,
}

/// All current reactions on a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReactionsResponse {
    /// The reactions, oldest first.
    pub reactions: Vec<Reaction>,
}

/// `POST /v1/channels/{type}/{id}/read`: mark read up to a message (default: the newest).
/// The marker never moves backwards.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MarkReadRequest {
    /// Read up to and including this message.
    #[serde(default)]
    pub message_id: Option<Uuid>,
}

/// The caller's read state after marking read, and its unread counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MarkReadResponse {
    /// The read state.
    pub read: ReadState,
    /// Unread counts in this channel.
    pub unread: ChannelUnread,
}

/// `GET /v1/unread`: the caller's unread counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnreadResponse {
    /// Unread messages in all channels the caller has not muted.
    pub total_unread_count: u64,
    /// Unread mentions in all channels the caller has not muted.
    pub total_unread_mentions: u64,
    /// Channels with at least one unread message (muted ones included).
    pub channels: Vec<ChannelUnread>,
}

/// `POST /v1/channels/{type}/{id}/typing`: typing started or stopped (not stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TypingRequest {
    /// `true` = started typing, `false` = stopped.
    pub typing: bool,
    /// The thread being typed in, if any.
    #[serde(default)]
    pub parent_id: Option<Uuid>,
}

/// Credentials of a new app, as printed by `chat-server app create`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppCredentials {
    /// The app id (goes into user tokens as `app`).
    pub app_id: String,
    /// Public key identifying the app in server-side calls.
    pub api_key: String,
    /// Secret: signs user tokens and authenticates server-side calls. Never ship it in apps.
    pub api_secret: String,
}

/// An app's settings (`GET`/`PUT /v1/app/settings`, server-side credentials only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppSettings {
    /// Web origins (`scheme://host[:port]`, no path) whose pages may call the API from a
    /// browser (CORS) and open the realtime WebSocket with this app's tokens. `"*"` (any
    /// origin) is accepted only by a server running in dev mode.
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// The app's own per-user rate limits; a limit left out is the server's default
    /// (omitted from answers when the app has none).
    #[serde(default, skip_serializing_if = "AppRateLimits::is_empty")]
    pub rate_limits: AppRateLimits,
}

/// An app's per-user rate limits (each user of the app has a write and a read bucket).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AppRateLimits {
    /// Requests other than `GET`/`HEAD` (each message of a batch send counts); absent: the
    /// server's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writes: Option<RateLimitSetting>,
    /// `GET`/`HEAD` requests; absent: the server's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reads: Option<RateLimitSetting>,
}

/// One rate limit: `per_second` on average, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RateLimitSetting {
    /// Sustained requests per second per user (0.01 to 10,000).
    pub per_second: f64,
    /// Requests a user may make at once (1 to 100,000).
    pub burst: u32,
}

impl AppRateLimits {
    /// Whether the app has no limit of its own (both are the server's defaults).
    pub fn is_empty(&self) -> bool {
        self.writes.is_none() && self.reads.is_none()
    }
}

impl RateLimitSetting {
    /// The lowest `per_second` accepted (one request every 100 s).
    pub const MIN_PER_SECOND: f64 = 0.01;
    /// The highest `per_second` accepted.
    pub const MAX_PER_SECOND: f64 = 10_000.0;
    /// The highest `burst` accepted.
    pub const MAX_BURST: u32 = 100_000;

    /// Checks the bounds: `per_second` in [`Self::MIN_PER_SECOND`]..=[`Self::MAX_PER_SECOND`]
    /// (a finite number), `burst` in 1..=[`Self::MAX_BURST`]; the error names what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if !(Self::MIN_PER_SECOND..=Self::MAX_PER_SECOND).contains(&self.per_second) {
            return Err(format!(
                "per_second must be between {} and {}",
                Self::MIN_PER_SECOND,
                Self::MAX_PER_SECOND
            ));
        }
        if !(1..=Self::MAX_BURST).contains(&self.burst) {
            return Err(format!("burst must be between 1 and {}", Self::MAX_BURST));
        }
        Ok(())
    }
}
