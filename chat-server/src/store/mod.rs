//! Storage behind a trait. Every backend (embedded SQLite now, PostgreSQL later) implements
//! [`Store`] and must pass the conformance suite in `tests/integration/store_conformance.rs`.
//!
//! A backend owns three guarantees the rest of the server relies on:
//! - every row belongs to an app, and no method reads or writes outside the given app;
//! - every change to synced data takes a fresh app-wide `seq` inside its write transaction,
//!   so commit order equals `seq` order, and rows carry `rev = seq`;
//! - committed changes are handed to the [`Broadcaster`](crate::realtime::Broadcaster) in
//!   `seq` order, and [`Store::subscribe`] registers a listener atomically with reading the
//!   current `seq` (so a connection misses nothing after the seq it is told).

pub mod columns;
mod cursor;
pub mod postgres;
pub mod rules;
pub mod search;
pub mod sqlite;

pub use cursor::{SyncPhase, SyncPosition};

use async_trait::async_trait;
use chat_protocol::{
    AppCredentials, AppSettings, Channel, ChannelState, Cid, ListMessagesQuery, MarkReadResponse,
    Member, MemberInput, MemberState, Message, MessageFlags, MessagesResponse,
    QueryChannelsRequest, Reaction, ReactionResponse, SendMessageRequest, StarredQuery,
    StarredResponse, SyncResponse, UnreadResponse, UpdateChannelRequest, UpdateMemberStateRequest,
    UpdateMessageRequest, User, UserInput, realtime::ConnectInfo,
};
use uuid::Uuid;

use crate::realtime::Subscription;

/// Who performs an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The acting user (for server-side calls: the user named in the request, if any).
    pub user_id: Option<String>,
    /// A server-side call authenticated with the app secret: bypasses membership and roles.
    pub server: bool,
}

impl Actor {
    /// A user acting with a user token.
    pub fn user(id: impl Into<String>) -> Self {
        Self {
            user_id: Some(id.into()),
            server: false,
        }
    }

    /// A server-side call, optionally on behalf of a user.
    pub fn server(on_behalf_of: Option<String>) -> Self {
        Self {
            user_id: on_behalf_of,
            server: true,
        }
    }
}

/// An app as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRecord {
    /// App id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Public key for server-side calls.
    pub api_key: String,
    /// Secret for server-side calls and token signing.
    pub api_secret: String,
}

/// Tunables of the sync algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncSettings {
    /// A channel with more message changes than this since the cursor comes back limited.
    pub limited_threshold: u32,
    /// Messages in the newest page of a limited channel.
    pub window: u32,
    /// Channels per bootstrap page, and per page of limited channels.
    pub bootstrap_channels: u32,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            limited_threshold: 200,
            window: 50,
            bootstrap_channels: 25,
        }
    }
}

/// Storage errors, mapped one-to-one onto API error codes.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The resource does not exist (in this app).
    #[error("{0} not found")]
    NotFound(String),
    /// The actor is not a member of the channel.
    #[error("not a member of {0}")]
    NotAMember(String),
    /// The actor's role does not allow the operation, or the feature is off.
    #[error("{0}")]
    Forbidden(String),
    /// The id is taken by a different resource.
    #[error("{0}")]
    Conflict(String),
    /// The input refers to something invalid (unknown user, parent in another channel...).
    #[error("{0}")]
    Invalid(String),
    /// The sync cursor cannot be served any more; the client must reset.
    #[error("{0}")]
    CursorExpired(String),
    /// A backend fault.
    #[error("storage failure: {0}")]
    Backend(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Backend(e.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        Self::Backend(format!("corrupt JSON column: {e}"))
    }
}

/// A random token of `len` ASCII letters and digits (app ids, keys, secrets, epochs).
pub(crate) fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    use rand::Rng;
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Result of storage calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// The storage contract of chat-server. Inputs are already validated for shape (lengths,
/// id syntax) by the API layer; the store checks everything that needs data (existence,
/// membership, roles, idempotency) inside its transactions.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates an app with fresh credentials. Names are unique.
    async fn create_app(&self, name: &str) -> StoreResult<AppCredentials>;
    /// Looks up an app by id.
    async fn app_by_id(&self, app_id: &str) -> StoreResult<Option<AppRecord>>;
    /// Looks up an app by name.
    async fn app_by_name(&self, name: &str) -> StoreResult<Option<AppRecord>>;
    /// Looks up an app by api key.
    async fn app_by_key(&self, api_key: &str) -> StoreResult<Option<AppRecord>>;

    /// Creates or replaces user profiles.
    async fn upsert_users(&self, app: &str, users: Vec<UserInput>) -> StoreResult<Vec<User>>;
    /// Creates a bare user row if missing (first authenticated request of a user).
    async fn ensure_user(&self, app: &str, user_id: &str) -> StoreResult<()>;
    /// Fetches users by id (missing ids are skipped).
    async fn get_users(&self, app: &str, ids: Vec<String>) -> StoreResult<Vec<User>>;

    /// Creates a channel (`true` in the tuple), or returns an existing one unchanged
    /// (`false`): a distinct channel to anyone in its defining member set (reviving the
    /// creator's membership if they had left, nobody else's); a channel with an explicit id
    /// only to its creator, still a member, replaying the same initial member set. Any
    /// other create of an existing cid is `Conflict`. A distinct request whose cid is not
    /// the one derived from its member set, or a `!` id without `distinct`, is `Invalid`.
    async fn create_channel(
        &self,
        app: &str,
        creator: &str,
        req: NewChannel,
    ) -> StoreResult<(ChannelState, bool)>;
    /// A channel with members, reads and the newest messages.
    async fn channel_state(
        &self,
        app: &str,
        actor: &Actor,
        cid: &Cid,
        message_limit: u32,
    ) -> StoreResult<ChannelState>;
    /// Changes name, image or config (owner/admin).
    async fn update_channel(
        &self,
        app: &str,
        actor: &Actor,
        cid: &Cid,
        req: UpdateChannelRequest,
    ) -> StoreResult<Channel>;
    /// Channels matching a filter, newest activity first, keyset-paged.
    async fn query_channels(
        &self,
        app: &str,
        actor: &Actor,
        req: QueryChannelsRequest,
    ) -> StoreResult<(Vec<ChannelState>, Option<String>)>;
    /// Adds members or changes their roles; returns the current member list. Users cannot
    /// add anyone to a distinct channel (`Forbidden`); server-side callers can.
    async fn add_members(
        &self,
        app: &str,
        actor: &Actor,
        cid: &Cid,
        members: Vec<MemberInput>,
    ) -> StoreResult<Vec<Member>>;
    /// Removes a member (moderator+, or the member itself); returns the current member list
    /// and the removed member's tombstone (`deleted: true`, stamped with the removal's
    /// seq). In a distinct channel users may only remove themselves (leave).
    async fn remove_member(
        &self,
        app: &str,
        actor: &Actor,
        cid: &Cid,
        user_id: &str,
    ) -> StoreResult<(Vec<Member>, Member)>;
    /// Changes the user's own settings for a channel (hidden, muted, archived; absent
    /// fields stay). Current members only; setting the current values changes nothing.
    /// The change syncs to the user alone.
    async fn set_member_state(
        &self,
        app: &str,
        user: &str,
        cid: &Cid,
        req: UpdateMemberStateRequest,
    ) -> StoreResult<MemberState>;
    /// Deletes a channel (owner/admin, or a server-side caller; members of a distinct
    /// channel cannot): every membership becomes a tombstone synced to its member alone,
    /// later reads and writes answer like a missing channel, and the cid is never reused.
    /// Returns the channel as it was and the caller's own tombstone, if a member.
    async fn delete_channel(
        &self,
        app: &str,
        actor: &Actor,
        cid: &Cid,
    ) -> StoreResult<(Channel, Option<Member>)>;
    /// Current member ids of a channel (empty if it does not exist).
    async fn member_ids(&self, app: &str, cid: &Cid) -> StoreResult<Vec<String>>;
    /// Users who share at least one channel with `user_id` (presence fan-out).
    async fn co_member_ids(&self, app: &str, user_id: &str) -> StoreResult<Vec<String>>;

    /// Sends a message, idempotent on its id: the same id from the same author in the same
    /// channel returns the stored message (`false` in the tuple).
    async fn send_message(
        &self,
        app: &str,
        author: &str,
        cid: &Cid,
        req: SendMessageRequest,
        bypass_membership: bool,
    ) -> StoreResult<(Message, bool)>;
    /// Sends several messages to one channel in ONE transaction, in order, each exactly as
    /// [`Store::send_message`] would (its own author, idempotent on its id). A message
    /// refused for a client reason (`NotFound`, `NotAMember`, `Forbidden`, `Conflict`,
    /// `Invalid`) leaves no trace — its writes are rolled back to a savepoint and its
    /// changes never published — and does not stop the others: its error is its result.
    /// A backend failure fails the whole batch (nothing stored).
    async fn send_messages(
        &self,
        app: &str,
        cid: &Cid,
        items: Vec<(String, SendMessageRequest)>,
        bypass_membership: bool,
    ) -> StoreResult<Vec<StoreResult<(Message, bool)>>>;
    /// One message.
    async fn get_message(&self, app: &str, actor: &Actor, id: Uuid) -> StoreResult<Message>;
    /// A page of top-level messages of a channel.
    async fn list_messages(
        &self,
        app: &str,
        actor: &Actor,
        cid: &Cid,
        query: ListMessagesQuery,
    ) -> StoreResult<MessagesResponse>;
    /// A page of replies in a thread.
    async fn list_replies(
        &self,
        app: &str,
        actor: &Actor,
        parent: Uuid,
        query: ListMessagesQuery,
    ) -> StoreResult<MessagesResponse>;
    /// Edits a message (author only).
    async fn update_message(
        &self,
        app: &str,
        actor: &Actor,
        id: Uuid,
        req: UpdateMessageRequest,
    ) -> StoreResult<Message>;
    /// Soft-deletes a message (author or moderator+); deleting twice is a no-op.
    async fn delete_message(&self, app: &str, actor: &Actor, id: Uuid) -> StoreResult<Message>;
    /// Adds a reaction (idempotent).
    async fn add_reaction(
        &self,
        app: &str,
        user: &str,
        id: Uuid,
        kind: &str,
    ) -> StoreResult<ReactionResponse>;
    /// Removes a reaction (idempotent once it existed).
    async fn remove_reaction(
        &self,
        app: &str,
        user: &str,
        id: Uuid,
        kind: &str,
    ) -> StoreResult<ReactionResponse>;
    /// Current reactions on a message.
    async fn list_reactions(
        &self,
        app: &str,
        actor: &Actor,
        id: Uuid,
    ) -> StoreResult<Vec<Reaction>>;
    /// Moves the user's read marker forward to `up_to` (default: newest message).
    async fn mark_read(
        &self,
        app: &str,
        user: &str,
        cid: &Cid,
        up_to: Option<Uuid>,
    ) -> StoreResult<MarkReadResponse>;
    /// The user's unread counts.
    async fn unread(&self, app: &str, user: &str) -> StoreResult<UnreadResponse>;
    /// Stars or unstars a message for the user (idempotent); the change syncs to the user only.
    async fn set_starred(
        &self,
        app: &str,
        user: &str,
        id: Uuid,
        starred: bool,
    ) -> StoreResult<MessageFlags>;
    /// The user's starred messages, most recently sent first.
    async fn starred(
        &self,
        app: &str,
        user: &str,
        query: StarredQuery,
    ) -> StoreResult<StarredResponse>;

    /// Messages of the user's current channels matching `query`, newest first (the rules:
    /// [`search`]). A `cid` the user is not a member of is refused like a read of it.
    async fn search(
        &self,
        app: &str,
        user: &str,
        query: search::SearchQuery,
    ) -> StoreResult<chat_protocol::SearchResponse>;

    /// One page of the user's changes after `from` (`None` = bootstrap).
    async fn sync(
        &self,
        app: &str,
        user: &str,
        from: Option<SyncPosition>,
        limit: u32,
    ) -> StoreResult<SyncResponse>;
    /// Registers a realtime listener for the user and returns the seq after which every
    /// change is delivered to it, in commit order. Changes at or before that seq may be
    /// delivered too (on PostgreSQL, one committed just before the seq was read and
    /// published just after): the session drops them, the client's catch-up sync has them.
    async fn subscribe(&self, app: &str, user: &str) -> StoreResult<(Subscription, ConnectInfo)>;
    /// Purges removal tombstones (members, reactions) older than `before_seq`; cursors older
    /// than that then get `cursor_expired`.
    async fn compact(&self, app: &str, before_seq: u64) -> StoreResult<()>;

    /// The app's settings (the defaults for an app that never set any); `NotFound` for an
    /// unknown app.
    async fn app_settings(&self, app: &str) -> StoreResult<AppSettings>;
    /// Replaces the app's settings (already validated by the caller) and returns them;
    /// `NotFound` for an unknown app.
    async fn set_app_settings(&self, app: &str, settings: AppSettings) -> StoreResult<AppSettings>;
    /// The allowed CORS origins of every app, as (app id, origin) pairs.
    async fn all_cors_origins(&self) -> StoreResult<Vec<(String, String)>>;
    /// Whether the database answers (a trivial read): `/readyz`.
    async fn ready(&self) -> StoreResult<()>;

    /// Rate-limit counters shared by every node of this database
    /// ([`crate::ratelimit`]); `None` (the default): each node counts in memory.
    fn shared_limiter(&self) -> Option<std::sync::Arc<dyn crate::ratelimit::SharedLimiter>> {
        None
    }
}

/// A validated channel creation.
#[derive(Debug, Clone)]
pub struct NewChannel {
    /// The cid (generated by the API layer when the request had no id, derived from the
    /// member set for distinct channels).
    pub cid: Cid,
    /// The request.
    pub req: chat_protocol::CreateChannelRequest,
}
