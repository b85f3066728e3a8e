//! Row ↔ wire-type mapping for the SQLite backend: the column lists, `from_row` functions
//! and small loaders used by every query module.

use std::collections::BTreeMap;
use std::str::FromStr;

use chat_protocol::{
    Channel, ChannelConfig, ChannelType, Cid, Member, MemberRole, Message, Reaction, ReadState,
    Timestamp, User,
};
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

use crate::store::{StoreError, StoreResult};

pub use crate::store::columns::{
    CHANNEL_COLS, MEMBER_COLS, MESSAGE_COLS, REACTION_COLS, READ_COLS, USER_COLS,
};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    Timestamp::now().millis()
}

fn bad<E: std::error::Error + Send + Sync + 'static>(idx: usize, e: E) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e))
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Corrupt(String);

fn time(row: &Row<'_>, idx: usize) -> rusqlite::Result<Timestamp> {
    let ms: i64 = row.get(idx)?;
    Timestamp::from_millis(ms).ok_or_else(|| bad(idx, Corrupt(format!("time {ms}"))))
}

fn opt_time(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Timestamp>> {
    match row.get::<_, Option<i64>>(idx)? {
        None => Ok(None),
        Some(_) => time(row, idx).map(Some),
    }
}

fn cid(row: &Row<'_>, idx: usize) -> rusqlite::Result<Cid> {
    let s: String = row.get(idx)?;
    s.parse().map_err(|e| bad(idx, e))
}

fn uuid(row: &Row<'_>, idx: usize) -> rusqlite::Result<Uuid> {
    let s: String = row.get(idx)?;
    Uuid::parse_str(&s).map_err(|e| bad(idx, e))
}

fn opt_uuid(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Uuid>> {
    match row.get::<_, Option<String>>(idx)? {
        None => Ok(None),
        Some(s) => Uuid::parse_str(&s).map(Some).map_err(|e| bad(idx, e)),
    }
}

fn json<T: serde::de::DeserializeOwned>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let s: String = row.get(idx)?;
    serde_json::from_str(&s).map_err(|e| bad(idx, e))
}

fn parse<T: FromStr>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let s: String = row.get(idx)?;
    s.parse()
        .map_err(|_| bad(idx, Corrupt(format!("unexpected value {s:?}"))))
}

fn rev(row: &Row<'_>, idx: usize) -> rusqlite::Result<u64> {
    Ok(row.get::<_, i64>(idx)? as u64)
}

/// Maps a [`USER_COLS`] row.
pub fn user(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        name: row.get(1)?,
        image: row.get(2)?,
        custom: json(row, 3)?,
        created_at: time(row, 4)?,
        updated_at: time(row, 5)?,
    })
}

/// Maps a [`CHANNEL_COLS`] row.
pub fn channel(row: &Row<'_>) -> rusqlite::Result<Channel> {
    Ok(Channel {
        cid: cid(row, 0)?,
        kind: parse::<ChannelType>(row, 1)?,
        id: row.get(2)?,
        name: row.get(3)?,
        image: row.get(4)?,
        config: json::<ChannelConfig>(row, 5)?,
        created_by: row.get(6)?,
        created_at: time(row, 7)?,
        updated_at: time(row, 8)?,
        last_message_at: opt_time(row, 9)?,
        member_count: row.get(10)?,
        rev: rev(row, 11)?,
        distinct: row.get(12)?,
    })
}

/// Maps a [`MEMBER_COLS`] row.
pub fn member(row: &Row<'_>) -> rusqlite::Result<Member> {
    Ok(Member {
        cid: cid(row, 0)?,
        user_id: row.get(1)?,
        role: parse::<MemberRole>(row, 2)?,
        created_at: time(row, 3)?,
        updated_at: time(row, 4)?,
        deleted: row.get(5)?,
        rev: rev(row, 6)?,
    })
}

/// Maps a [`MESSAGE_COLS`] row.
pub fn message(row: &Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: uuid(row, 0)?,
        cid: cid(row, 1)?,
        user_id: row.get(2)?,
        text: row.get(3)?,
        attachments: json(row, 4)?,
        parent_id: opt_uuid(row, 5)?,
        quoted_message_id: opt_uuid(row, 6)?,
        mentioned_users: json(row, 7)?,
        reaction_counts: json::<BTreeMap<String, u32>>(row, 8)?,
        reply_count: row.get(9)?,
        created_at: time(row, 10)?,
        updated_at: time(row, 11)?,
        edited_at: opt_time(row, 12)?,
        deleted_at: opt_time(row, 13)?,
        rev: rev(row, 14)?,
    })
}

/// Maps a [`REACTION_COLS`] row.
pub fn reaction(row: &Row<'_>) -> rusqlite::Result<Reaction> {
    Ok(Reaction {
        message_id: uuid(row, 0)?,
        cid: cid(row, 1)?,
        user_id: row.get(2)?,
        kind: row.get(3)?,
        created_at: time(row, 4)?,
        deleted: row.get(5)?,
        rev: rev(row, 6)?,
    })
}

/// Maps a [`READ_COLS`] row.
pub fn read_state(row: &Row<'_>) -> rusqlite::Result<ReadState> {
    read_state_at(row, 0)
}

/// [`read_state`] reading columns starting at `o`.
pub fn read_state_at(row: &Row<'_>, o: usize) -> rusqlite::Result<ReadState> {
    Ok(ReadState {
        cid: cid(row, o)?,
        user_id: row.get(o + 1)?,
        last_read_message_id: opt_uuid(row, o + 2)?,
        last_read_at: time(row, o + 3)?,
        rev: rev(row, o + 4)?,
    })
}

/// The channel row, if it exists in the app (a deleted channel does not).
pub fn load_channel(conn: &Connection, app: &str, cid: &Cid) -> StoreResult<Option<Channel>> {
    let sql = format!(
        "SELECT {CHANNEL_COLS} FROM channels \
         WHERE app_id = ?1 AND cid = ?2 AND deleted_at IS NULL"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![app, cid.to_string()], channel)
        .optional()?)
}

/// The channel row, or `NotFound`.
pub fn require_channel(conn: &Connection, app: &str, cid: &Cid) -> StoreResult<Channel> {
    load_channel(conn, app, cid)?.ok_or_else(|| StoreError::NotFound(format!("channel {cid}")))
}

/// Current members of a channel (`?1` app, `?2` cid), sorted: one range of
/// `members_current`, which also yields the order (pinned: `members_by_user` with `app_id`
/// alone would also yield it, by walking every membership of the app).
pub(crate) const MEMBER_IDS: &str = "SELECT user_id FROM members INDEXED BY members_current \
     WHERE app_id = ?1 AND cid = ?2 AND deleted = 0 ORDER BY user_id";

/// Ids of the current members, sorted.
pub fn member_ids(conn: &Connection, app: &str, cid: &Cid) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare_cached(MEMBER_IDS)?;
    let ids = stmt
        .query_map(params![app, cid.to_string()], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

/// A message row and its internal primary key, by id.
pub fn load_message(conn: &Connection, app: &str, id: Uuid) -> StoreResult<Option<(i64, Message)>> {
    let sql =
        format!("SELECT pk, parent_pk, {MESSAGE_COLS} FROM messages WHERE app_id = ?1 AND id = ?2");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![app, id.to_string()], |row| {
            // message() reads from index 0; shift by the two leading columns.
            let pk: i64 = row.get(0)?;
            Ok((pk, message_at(row, 2)?))
        })
        .optional()?)
}

/// A message by primary key.
pub fn load_message_pk(conn: &Connection, pk: i64) -> StoreResult<Message> {
    let sql = format!("SELECT {MESSAGE_COLS} FROM messages WHERE pk = ?1");
    Ok(conn.prepare_cached(&sql)?.query_row(params![pk], message)?)
}

/// [`message`] reading columns starting at `offset`.
fn message_at(row: &Row<'_>, offset: usize) -> rusqlite::Result<Message> {
    let o = offset;
    Ok(Message {
        id: uuid(row, o)?,
        cid: cid(row, o + 1)?,
        user_id: row.get(o + 2)?,
        text: row.get(o + 3)?,
        attachments: json(row, o + 4)?,
        parent_id: opt_uuid(row, o + 5)?,
        quoted_message_id: opt_uuid(row, o + 6)?,
        mentioned_users: json(row, o + 7)?,
        reaction_counts: json::<BTreeMap<String, u32>>(row, o + 8)?,
        reply_count: row.get(o + 9)?,
        created_at: time(row, o + 10)?,
        updated_at: time(row, o + 11)?,
        edited_at: opt_time(row, o + 12)?,
        deleted_at: opt_time(row, o + 13)?,
        rev: rev(row, o + 14)?,
    })
}
