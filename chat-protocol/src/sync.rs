//! `/v1/sync`: the diff a reconnecting client needs. Changes are stamped with an app-wide,
//! commit-ordered sequence number (`seq`); a client stores the returned opaque cursor in
//! the same transaction as the data it covers. The algorithm is described in docs/protocol.md.

use serde::{Deserialize, Serialize};

use crate::models::{
    Channel, ChannelState, Member, MemberState, Message, MessageFlags, Reaction, ReadState,
};

/// A change to synced data. The entity inside carries its own `rev` (= the change's `seq`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Change {
    /// A channel was created or its name/image/config/last message time changed.
    Channel(Channel),
    /// A membership was added, changed or removed (`deleted: true`).
    Member(Member),
    /// A message was sent, edited, reacted to, replied to or deleted (tombstone).
    Message(Message),
    /// A reaction was added or removed (`deleted: true`).
    Reaction(Reaction),
    /// A member's read marker moved.
    Read(ReadState),
    /// The caller's own flags on a message changed (starred / unstarred).
    Flags(MessageFlags),
    /// The caller's own channel settings changed (hidden, muted, archived); only ever
    /// sent to that user.
    MemberState(MemberState),
}

impl Change {
    /// The `rev` stamped on the changed entity.
    pub fn rev(&self) -> u64 {
        match self {
            Self::Channel(c) => c.rev,
            Self::Member(m) => m.rev,
            Self::Message(m) => m.rev,
            Self::Reaction(r) => r.rev,
            Self::Read(r) => r.rev,
            Self::Flags(f) => f.rev,
            Self::MemberState(s) => s.rev,
        }
    }
}

/// A change with its sequence number, as delivered by `/v1/sync` and realtime publications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncChange {
    /// App-wide, commit-ordered sequence number.
    pub seq: u64,
    /// The change.
    #[serde(flatten)]
    pub change: Change,
}

/// `GET /v1/sync` query.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct SyncQuery {
    /// The cursor of the previous response; absent or empty = bootstrap.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Most changes in this page, 1..=1000 (default 500).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// One page of the caller's changes after the cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncResponse {
    /// Changes in `seq` order, for channels not in `limited`.
    pub changes: Vec<SyncChange>,
    /// Channels whose history the client must replace: drop the cached messages of each,
    /// then store this newest page (joined channels, channels with too many changes, and
    /// every channel on bootstrap).
    pub limited: Vec<ChannelState>,
    /// The seq the `limited` states are complete up to (set when `limited` is not empty).
    /// A row of those channels with a higher `rev` may be missing from a state; it comes
    /// as a change, later in this sync or in the next one. A client replacing a channel
    /// therefore keeps the cached rows newer than this seq (a message it just sent, say)
    /// instead of dropping them until they come back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limited_seq: Option<u64>,
    /// Opaque cursor to store with this page's data and send next time.
    pub cursor: String,
    /// More changes are waiting: call again with `cursor` right away.
    pub has_more: bool,
}
