//! The cache's row types as seen by callers ([`CachedMessage`], [`LocalState`],
//! [`ChannelListItem`], [`WindowBounds`]) and the row ↔ value mapping shared by the query
//! and apply modules.

use std::collections::HashMap;

use chat_protocol::{Channel, ChannelUnread, Message, Timestamp};
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

use super::error::CacheResult;
use super::message_codec::{MESSAGE_COLUMN_COUNT, message_columns, message_from_row};

/// The local state of a message the server has not confirmed yet (a local echo). A
/// server-confirmed message has no local state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalState {
    /// Queued in the outbox, not sent yet (or waiting to be retried).
    Pending,
    /// A send request is in flight.
    Sending,
    /// Sending failed permanently; the reason is shown to the app, which may retry or
    /// discard the message.
    Failed(String),
}

impl LocalState {
    /// The stored name (`pending`, `sending`, `failed`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Failed(_) => "failed",
        }
    }

    /// The failure reason, for [`LocalState::Failed`].
    pub fn error(&self) -> Option<&str> {
        match self {
            Self::Failed(reason) => Some(reason),
            _ => None,
        }
    }

    fn from_columns(state: Option<String>, error: Option<String>) -> Option<Self> {
        match state.as_deref()? {
            "pending" => Some(Self::Pending),
            "sending" => Some(Self::Sending),
            _ => Some(Self::Failed(error.unwrap_or_default())),
        }
    }
}

/// A cached message with what the UI needs to show it.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedMessage {
    /// The message (for a local echo: as built by the SDK, with `rev` 0).
    pub message: Message,
    /// `None` for a server-confirmed message; the send state of a local echo otherwise.
    pub local_state: Option<LocalState>,
    /// The types of the cache owner's live reactions on it, sorted.
    pub own_reactions: Vec<String>,
    /// Whether the cache owner starred it.
    pub starred: bool,
}

/// One entry of [`Cache::channel_list`](super::Cache::channel_list).
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelListItem {
    /// The channel.
    pub channel: Channel,
    /// The cache owner's unread counts in it.
    pub unread: ChannelUnread,
    /// The newest top-level message (a local echo if one is queued), for the preview.
    pub last_message: Option<CachedMessage>,
    /// The list's sort key (ms): the channel's last message time, or its creation time,
    /// raised to the time of the newest top-level message queued in it locally (so a local
    /// send moves the channel up at once). Ties are broken by creation time, then cid.
    pub sort_at: i64,
    /// The owner's own settings of the channel (hidden, muted, archived).
    pub own: super::OwnChannelState,
}

/// Which part of a channel's top-level history the cache holds: everything from `oldest`
/// up to the newest message (the window is always contiguous up to the present).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowBounds {
    /// `created_at` of the oldest cached top-level message (`None`: no message cached).
    pub oldest: Option<Timestamp>,
    /// The window reaches the start of the channel's history (nothing older exists).
    pub reaches_start: bool,
}

/// Decodes a JSON column; a failure means the stored row was damaged.
pub(crate) fn json<T: serde::de::DeserializeOwned>(
    row: &Row<'_>,
    idx: usize,
) -> rusqlite::Result<T> {
    let text: String = row.get(idx)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e)))
}

/// Encodes a value for a JSON column.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    // The wire types serialize infallibly (string keys, no non-finite floats).
    serde_json::to_string(value).unwrap_or_default()
}

/// The message columns of [`cached_message`]; `?1` must be bound to the owner's user id.
pub(crate) const MESSAGE_SELECT: &str = concat!(
    "SELECT ",
    message_columns!(),
    ", m.local_state, m.local_error, \
     (SELECT group_concat(r.type, ',') FROM reactions r \
        WHERE r.message_id = m.id AND r.user_id = ?1 AND r.deleted = 0), \
     (SELECT f.starred FROM flags f WHERE f.message_id = m.id) \
     FROM messages m"
);

/// Maps a [`MESSAGE_SELECT`] row.
pub(crate) fn cached_message(row: &Row<'_>) -> rusqlite::Result<CachedMessage> {
    cached_message_memo(row, None)
}

/// Maps a [`MESSAGE_SELECT`] row, reusing the decoded message from `memo` when it holds
/// the same server-confirmed revision (decoding the JSON is most of a window query's cost).
pub(crate) fn cached_message_memo(
    row: &Row<'_>,
    memo: Option<&HashMap<Uuid, &Message>>,
) -> rusqlite::Result<CachedMessage> {
    const STATE: usize = MESSAGE_COLUMN_COUNT;
    let mut own_reactions: Vec<String> = row
        .get::<_, Option<String>>(STATE + 2)?
        .map(|s| s.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    own_reactions.sort();
    let local_state = LocalState::from_columns(row.get(STATE)?, row.get(STATE + 1)?);
    let known = match (memo, &local_state) {
        (Some(memo), None) => {
            let rev: i64 = row.get(7)?;
            let id: String = row.get(1)?;
            Uuid::parse_str(&id)
                .ok()
                .and_then(|id| memo.get(&id))
                .filter(|m| i64::try_from(m.rev).is_ok_and(|r| r == rev))
                .map(|m| (*m).clone())
        }
        _ => None,
    };
    Ok(CachedMessage {
        message: match known {
            Some(m) => m,
            None => message_from_row(row, 0)?,
        },
        local_state,
        own_reactions,
        starred: row.get::<_, Option<bool>>(STATE + 3)?.unwrap_or(false),
    })
}

/// The owner's user id, as stored in `sync_state`.
pub(crate) fn stored_user(conn: &Connection) -> CacheResult<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT user_id FROM sync_state WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?
        .flatten())
}

/// Whether the channel is cached.
pub(crate) fn channel_cached(conn: &Connection, cid: &str) -> CacheResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM channels WHERE cid = ?1")?
        .query_row(params![cid], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The integer key messages name `cid` by (schema.rs, `channel_keys`), made on first use.
pub(crate) fn channel_key(conn: &Connection, cid: &str) -> CacheResult<i64> {
    let known = conn
        .prepare_cached("SELECT key FROM channel_keys WHERE cid = ?1")?
        .query_row([cid], |r| r.get(0))
        .optional()?;
    if let Some(key) = known {
        return Ok(key);
    }
    conn.prepare_cached("INSERT INTO channel_keys (cid) VALUES (?1)")?
        .execute([cid])?;
    Ok(conn.last_insert_rowid())
}

/// Milliseconds of an optional timestamp.
pub(crate) fn opt_millis(t: Option<Timestamp>) -> Option<i64> {
    t.map(|t| t.millis())
}
