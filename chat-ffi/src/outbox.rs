//! Channels and the outbox across the FFI: creating a channel ([`NewChannel`]), changing
//! it ([`ChannelUpdate`], [`MemberRole`]), listing
//! queued work ([`OutboxEntry`], for an "unsent" screen or a badge) and the engine's
//! status ([`ClientStatus`]). Conversions only.

use chat_core::client::{EngineStatus, OutboxItem};
use chat_core::outbox::{ItemState, PauseReason};
use chat_protocol::{
    ChannelType, CreateChannelRequest, MemberRole as CoreRole, UpdateChannelRequest,
};

/// A channel type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ChannelKind {
    /// One-to-one and small group conversations.
    Messaging,
    /// Workspace-style team channels.
    Team,
    /// Large audience channels.
    Livestream,
    /// Buyer/seller conversations.
    Commerce,
}

impl From<ChannelKind> for ChannelType {
    fn from(k: ChannelKind) -> Self {
        match k {
            ChannelKind::Messaging => Self::Messaging,
            ChannelKind::Team => Self::Team,
            ChannelKind::Livestream => Self::Livestream,
            ChannelKind::Commerce => Self::Commerce,
        }
    }
}

/// A member's role in a channel, from most to least privileged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
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

impl From<MemberRole> for CoreRole {
    fn from(r: MemberRole) -> Self {
        match r {
            MemberRole::Owner => Self::Owner,
            MemberRole::Admin => Self::Admin,
            MemberRole::Moderator => Self::Moderator,
            MemberRole::Member => Self::Member,
        }
    }
}

impl From<CoreRole> for MemberRole {
    fn from(r: CoreRole) -> Self {
        match r {
            CoreRole::Owner => Self::Owner,
            CoreRole::Admin => Self::Admin,
            CoreRole::Moderator => Self::Moderator,
            CoreRole::Member => Self::Member,
        }
    }
}

/// A change to a channel's name or image (absent fields stay).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChannelUpdate {
    /// The new display name.
    #[uniffi(default = None)]
    pub name: Option<String>,
    /// The new image URL.
    #[uniffi(default = None)]
    pub image: Option<String>,
}

impl From<ChannelUpdate> for UpdateChannelRequest {
    fn from(u: ChannelUpdate) -> Self {
        Self {
            name: u.name,
            image: u.image,
            config: None,
        }
    }
}

/// A channel to create (works offline: messages may be sent to it at once).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NewChannel {
    /// Its type.
    pub kind: ChannelKind,
    /// Its id; generated when absent (derived from the members when `distinct`). An
    /// explicit id is an idempotent create for this user: if someone else uses it, the
    /// create fails (409) in the outbox.
    #[uniffi(default = None)]
    pub id: Option<String>,
    /// Display name.
    #[uniffi(default = None)]
    pub name: Option<String>,
    /// Image URL.
    #[uniffi(default = None)]
    pub image: Option<String>,
    /// Members besides the current user.
    #[uniffi(default = [])]
    pub members: Vec<String>,
    /// A distinct conversation: one channel per member set (current user included), its id
    /// derived from the set, its members fixed (they may only leave).
    #[uniffi(default = false)]
    pub distinct: bool,
}

impl From<NewChannel> for CreateChannelRequest {
    fn from(c: NewChannel) -> Self {
        Self {
            kind: c.kind.into(),
            id: c.id,
            name: c.name,
            image: c.image,
            members: c.members,
            config: None,
            created_by: None,
            distinct: c.distinct,
        }
    }
}

/// Where a queued operation is.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum OutboxState {
    /// Waiting for its turn.
    Pending,
    /// Being sent now.
    InFlight,
    /// Failed for a transient reason; retried at `retry_at_ms` (or on reconnect).
    WaitingRetry {
        /// Failed attempts so far.
        attempt: u32,
        /// When it is retried, on the client's monotonic clock: milliseconds since this
        /// client started, not a wall-clock time (compare it only with other values of the
        /// same client).
        retry_at_ms: i64,
    },
    /// Waiting for a new token (`refresh_token`).
    PausedForAuth,
    /// Waits for another operation that failed (`on`): runs once that is retried and
    /// succeeds, cancelled if it is discarded.
    Blocked {
        /// The operation it depends on.
        on: String,
    },
    /// Refused by the server; kept until `retry` or `discard`.
    Failed {
        /// Why.
        reason: String,
        /// The HTTP status.
        status: u16,
    },
}

impl From<ItemState> for OutboxState {
    fn from(s: ItemState) -> Self {
        match s {
            ItemState::Pending => Self::Pending,
            ItemState::InFlight => Self::InFlight,
            ItemState::WaitingRetry { attempt, at } => Self::WaitingRetry {
                attempt,
                retry_at_ms: i64::try_from(at.0).unwrap_or(i64::MAX),
            },
            ItemState::Paused(PauseReason::Auth) => Self::PausedForAuth,
            ItemState::Blocked { on } => Self::Blocked { on: on.to_string() },
            ItemState::Failed(f) => Self::Failed {
                reason: f.reason,
                status: f.status,
            },
        }
    }
}

/// One queued operation.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OutboxEntry {
    /// Its id (for a send, the message id): pass it to `retry` or `discard`.
    pub op_id: String,
    /// What it does: `send_message`, `edit_message`, `delete_message`, `add_reaction`,
    /// `remove_reaction`, `star_message`, `unstar_message`, `mark_read`, `create_channel`,
    /// `update_channel`, `add_members` or `remove_member`.
    pub kind: String,
    /// The channel it concerns.
    pub cid: Option<String>,
    /// Its state.
    pub state: OutboxState,
}

impl From<OutboxItem> for OutboxEntry {
    fn from(i: OutboxItem) -> Self {
        let cid = i.op.queue_key().ok().map(|cid| cid.to_string());
        Self {
            op_id: i.op_id.to_string(),
            kind: serde_json::to_value(i.op.kind())
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            cid,
            state: i.state.into(),
        }
    }
}

/// The engine's state, for diagnostics and "syncing…" indicators.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ClientStatus {
    /// Operations in the outbox.
    pub outbox_len: u32,
    /// Outbox items in flight (each message of a batch send counts).
    pub in_flight: u32,
    /// A sync is running.
    pub syncing: bool,
    /// Authentication stopped (the token was refused) until `refresh_token`.
    pub auth_stopped: bool,
    /// Realtime is connected and caught up.
    pub realtime_live: bool,
    /// The last sync error, if the last sync failed.
    pub last_sync_error: Option<String>,
    /// The last background error, for logs.
    pub last_error: Option<String>,
}

impl From<EngineStatus> for ClientStatus {
    fn from(s: EngineStatus) -> Self {
        Self {
            outbox_len: u32::try_from(s.outbox_len).unwrap_or(u32::MAX),
            in_flight: u32::try_from(s.in_flight).unwrap_or(u32::MAX),
            syncing: s.syncing,
            auth_stopped: s.auth_stopped,
            realtime_live: s.realtime_live,
            last_sync_error: s.last_sync_error,
            last_error: s.last_error,
        }
    }
}
