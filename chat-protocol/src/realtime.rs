//! Realtime frames on `/connection/websocket`: a strict JSON subset of the Centrifuge client
//! protocol v2 (the protocol of Centrifugo), so official Centrifuge clients can connect.
//!
//! One WebSocket text frame carries one or more JSON objects separated by `\n`. The client
//! sends [`Command`]s; the server sends [`Reply`]s (answers with the command's `id`, or pushes
//! with no `id`). An empty object `{}` is a ping from the server and the pong from the client.
//! Publications on `chat:user:{user_id}` carry a [`RealtimeEvent`].

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::ids::Cid;
use crate::sync::SyncChange;

/// The server-side subscription channel of a user: every event for the user arrives on it.
pub fn user_channel(user_id: &str) -> String {
    format!("chat:user:{user_id}")
}

/// A client command. Exactly one method field is set (none for a pong).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Command {
    /// Request id, echoed in the reply; absent (0) for a pong.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub id: u32,
    /// Authenticate the connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<ConnectRequest>,
    /// Replace an expiring token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<RefreshRequest>,
    /// Client-side subscribe (not offered: all channels are server-side; answered with an error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<Value>,
    /// Other Centrifuge methods (not offered; answered with "method not found").
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// `connect` parameters.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConnectRequest {
    /// The user JWT.
    #[serde(default)]
    pub token: String,
    /// Client name, informational.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Client version, informational.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Other Centrifuge connect fields (data, subs, headers): accepted and ignored.
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// `refresh` parameters.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RefreshRequest {
    /// A fresh user JWT for the same user.
    pub token: String,
}

/// A server frame: a reply (with `id`), a push (no `id`), or a ping (`{}`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Reply {
    /// Id of the command answered; 0 (absent) for pushes and pings.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub id: u32,
    /// The command failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ReplyError>,
    /// Result of `connect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<ConnectResult>,
    /// Result of `refresh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<RefreshResult>,
    /// An asynchronous push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<Push>,
}

impl Reply {
    /// Whether this frame is a ping (`{}`).
    pub fn is_ping(&self) -> bool {
        *self == Self::default()
    }
}

/// An error answer to a command (Centrifuge client error codes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyError {
    /// Centrifuge error code, see [`error_codes`].
    pub code: u32,
    /// Explanation.
    pub message: String,
    /// Whether retrying the same command may succeed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub temporary: bool,
}

/// Result of a successful `connect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectResult {
    /// Server-generated connection id.
    pub client: String,
    /// Server version.
    pub version: String,
    /// The token expires: send `refresh` before `ttl` seconds pass.
    #[serde(default, skip_serializing_if = "is_false")]
    pub expires: bool,
    /// Seconds until the token expires (when `expires`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ttl: u32,
    /// Server-side subscriptions of the connection (always `chat:user:{user_id}`).
    pub subs: std::collections::BTreeMap<String, SubscribeResult>,
    /// Server ping interval in seconds.
    pub ping: u32,
    /// The client must answer pings with `{}`.
    pub pong: bool,
    /// OnyxChat connection info.
    pub data: ConnectInfo,
}

/// OnyxChat data in the connect result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectInfo {
    /// The authenticated user.
    pub user_id: String,
    /// Sync epoch of the app (the `{epoch}` of sync cursors).
    pub epoch: String,
    /// Every change with a `seq` greater than this is pushed on this connection, in `seq`
    /// order. A client synced up to at least this seq can follow the stream alone.
    pub seq: u64,
}

/// A server-side subscription in the connect result.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SubscribeResult {}

/// Result of `refresh`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshResult {
    /// Connection id.
    pub client: String,
    /// Server version.
    pub version: String,
    /// The new token expires.
    #[serde(default, skip_serializing_if = "is_false")]
    pub expires: bool,
    /// Seconds until the new token expires.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ttl: u32,
}

/// An asynchronous push on a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Push {
    /// The channel (`chat:user:{user_id}`).
    pub channel: String,
    /// A publication.
    #[serde(rename = "pub")]
    pub publication: Publication,
}

/// A publication: the payload of a push.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Publication {
    /// The event.
    pub data: RealtimeEvent,
    /// For a durable change: its position in this connection's stream of durable changes
    /// (1 for the first one pushed after `connect`, then one more each time), so a client
    /// can tell that none is missing. Absent (0) on typing and presence events.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset: u64,
}

/// What a publication carries: a durable change (with `seq`, the same object `/v1/sync`
/// returns) or an ephemeral event (no `seq`, never stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RealtimeEvent {
    /// A stored change.
    Change(SyncChange),
    /// A typing or presence event.
    Ephemeral(EphemeralEvent),
}

/// Events that are relayed, never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum EphemeralEvent {
    /// A member started or stopped typing.
    Typing(TypingEvent),
    /// A user who shares a channel with the receiver came online or went offline.
    Presence(PresenceEvent),
    /// Who is online now among the users sharing a channel with the receiver: pushed once,
    /// in a frame of its own, right after the connect reply (then [`EphemeralEvent::Presence`]
    /// events follow the changes). A user not listed is offline.
    PresenceSnapshot(PresenceSnapshot),
}

/// The users online when the connection opened (see [`EphemeralEvent::PresenceSnapshot`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceSnapshot {
    /// Online users sharing a channel with the receiver, sorted.
    pub online: Vec<String>,
}

/// Typing state of a user in a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypingEvent {
    /// The channel.
    pub cid: Cid,
    /// Who is typing.
    pub user_id: String,
    /// Started (`true`) or stopped (`false`).
    pub typing: bool,
    /// The thread, if typing in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<Uuid>,
}

/// Online state of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceEvent {
    /// The user.
    pub user_id: String,
    /// Whether the user has at least one open connection.
    pub online: bool,
}

/// Centrifuge client error codes used in [`ReplyError`].
pub mod error_codes {
    /// Server fault; temporary.
    pub const INTERNAL: u32 = 100;
    /// Bad or missing token.
    pub const UNAUTHORIZED: u32 = 101;
    /// Access denied.
    pub const PERMISSION_DENIED: u32 = 103;
    /// The method is not offered.
    pub const METHOD_NOT_FOUND: u32 = 104;
    /// Already subscribed to the channel.
    pub const ALREADY_SUBSCRIBED: u32 = 105;
    /// Malformed command.
    pub const BAD_REQUEST: u32 = 107;
    /// The token has expired: get a fresh one and connect or refresh again.
    pub const TOKEN_EXPIRED: u32 = 109;
}

/// WebSocket close codes (Centrifuge disconnect codes). Codes 3500..=3999 tell clients not
/// to reconnect; the others allow reconnecting.
pub mod disconnect_codes {
    /// The server is shutting down; reconnect (with jitter).
    pub const SHUTDOWN: u16 = 3001;
    /// Server fault; reconnect.
    pub const INTERNAL: u16 = 3004;
    /// The connection's token expired without a refresh; reconnect with a fresh token.
    pub const EXPIRED: u16 = 3005;
    /// The client fell too far behind the event stream; reconnect and sync.
    pub const SLOW: u16 = 3008;
    /// No pong within the allowed time; reconnect.
    pub const NO_PONG: u16 = 3012;
    /// Too many connects of this user in a short time; reconnect with backoff.
    pub const TOO_MANY_REQUESTS: u16 = 3013;
    /// Bad or missing token; do not reconnect until a new token is given.
    pub const INVALID_TOKEN: u16 = 3500;
    /// Malformed frames; do not reconnect.
    pub const BAD_REQUEST: u16 = 3501;
    /// Connected but never sent `connect` in time.
    pub const STALE: u16 = 3502;
    /// The user has as many open connections as the server allows; do not reconnect until
    /// one of them closes.
    pub const CONNECTION_LIMIT: u16 = 3504;
    /// The page's origin (the upgrade's `Origin` header) is not among the app's allowed
    /// CORS origins; do not reconnect from that page.
    pub const ORIGIN_NOT_ALLOWED: u16 = 3507;
}

fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

fn is_false(v: &bool) -> bool {
    !*v
}
