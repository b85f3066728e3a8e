//! Row ↔ wire-type mapping for the PostgreSQL backend: the column lists, `from_row`
//! functions and small loaders used by every query module. The column lists are the SQLite
//! backend's, in the same order.

use std::collections::BTreeMap;
use std::str::FromStr;

use chat_protocol::{
    Channel, ChannelConfig, ChannelType, Cid, Member, MemberRole, Message, Reaction, ReadState,
    Timestamp, User,
};
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;
use uuid::Uuid;

use super::conn::Conn;
use crate::store::{StoreError, StoreResult};

pub use crate::store::columns::{
    CHANNEL_COLS, MEMBER_COLS, MESSAGE_COLS, REACTION_COLS, READ_COLS, USER_COLS,
};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    Timestamp::now().millis()
}

fn corrupt(idx: usize, what: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("corrupt column {idx}: {what}"))
}

/// Column `idx` as `T`.
pub fn get<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> StoreResult<T> {
    row.try_get(idx).map_err(|e| corrupt(idx, e))
}

fn time(row: &Row, idx: usize) -> StoreResult<Timestamp> {
    let ms: i64 = get(row, idx)?;
    Timestamp::from_millis(ms).ok_or_else(|| corrupt(idx, format!("time {ms}")))
}

fn opt_time(row: &Row, idx: usize) -> StoreResult<Option<Timestamp>> {
    match get::<Option<i64>>(row, idx)? {
        None => Ok(None),
        Some(_) => time(row, idx).map(Some),
    }
}

/// Column `idx` as a cid.
pub fn cid(row: &Row, idx: usize) -> StoreResult<Cid> {
    let s: &str = get(row, idx)?;
    s.parse().map_err(|e| corrupt(idx, e))
}

fn json<T: serde::de::DeserializeOwned>(row: &Row, idx: usize) -> StoreResult<T> {
    let s: &str = get(row, idx)?;
    serde_json::from_str(s).map_err(|e| corrupt(idx, e))
}

fn parse<T: FromStr>(row: &Row, idx: usize) -> StoreResult<T> {
    let s: &str = get(row, idx)?;
    s.parse()
        .map_err(|_| corrupt(idx, format!("unexpected value {s:?}")))
}

/// Column `idx`, a `BIGINT` rev or seq, as `u64`.
pub fn rev(row: &Row, idx: usize) -> StoreResult<u64> {
    Ok(get::<i64>(row, idx)? as u64)
}

fn count(row: &Row, idx: usize) -> StoreResult<u32> {
    Ok(get::<i32>(row, idx)?.max(0) as u32)
}

/// Maps a [`USER_COLS`] row.
pub fn user(row: &Row) -> StoreResult<User> {
    Ok(User {
        id: get(row, 0)?,
        name: get(row, 1)?,
        image: get(row, 2)?,
        custom: json(row, 3)?,
        created_at: time(row, 4)?,
        updated_at: time(row, 5)?,
    })
}

/// Maps a [`CHANNEL_COLS`] row.
pub fn channel(row: &Row) -> StoreResult<Channel> {
    Ok(Channel {
        cid: cid(row, 0)?,
        kind: parse::<ChannelType>(row, 1)?,
        id: get(row, 2)?,
        name: get(row, 3)?,
        image: get(row, 4)?,
        config: json::<ChannelConfig>(row, 5)?,
        created_by: get(row, 6)?,
        created_at: time(row, 7)?,
        updated_at: time(row, 8)?,
        last_message_at: opt_time(row, 9)?,
        member_count: count(row, 10)?,
        rev: rev(row, 11)?,
        distinct: get(row, 12)?,
    })
}

/// Maps a [`MEMBER_COLS`] row.
pub fn member(row: &Row) -> StoreResult<Member> {
    Ok(Member {
        cid: cid(row, 0)?,
        user_id: get(row, 1)?,
        role: parse::<MemberRole>(row, 2)?,
        created_at: time(row, 3)?,
        updated_at: time(row, 4)?,
        deleted: get(row, 5)?,
        rev: rev(row, 6)?,
    })
}

/// Maps a [`MESSAGE_COLS`] row.
pub fn message(row: &Row) -> StoreResult<Message> {
    message_at(row, 0)
}

/// [`message`] reading columns starting at `o`.
pub fn message_at(row: &Row, o: usize) -> StoreResult<Message> {
    Ok(Message {
        id: get(row, o)?,
        cid: cid(row, o + 1)?,
        user_id: get(row, o + 2)?,
        text: get(row, o + 3)?,
        attachments: json(row, o + 4)?,
        parent_id: get(row, o + 5)?,
        quoted_message_id: get(row, o + 6)?,
        mentioned_users: json(row, o + 7)?,
        reaction_counts: json::<BTreeMap<String, u32>>(row, o + 8)?,
        reply_count: count(row, o + 9)?,
        created_at: time(row, o + 10)?,
        updated_at: time(row, o + 11)?,
        edited_at: opt_time(row, o + 12)?,
        deleted_at: opt_time(row, o + 13)?,
        rev: rev(row, o + 14)?,
    })
}

/// Maps a [`REACTION_COLS`] row.
pub fn reaction(row: &Row) -> StoreResult<Reaction> {
    Ok(Reaction {
        message_id: get(row, 0)?,
        cid: cid(row, 1)?,
        user_id: get(row, 2)?,
        kind: get(row, 3)?,
        created_at: time(row, 4)?,
        deleted: get(row, 5)?,
        rev: rev(row, 6)?,
    })
}

/// Maps a [`READ_COLS`] row.
pub fn read_state(row: &Row) -> StoreResult<ReadState> {
    read_state_at(row, 0)
}

/// [`read_state`] reading columns starting at `o`.
pub fn read_state_at(row: &Row, o: usize) -> StoreResult<ReadState> {
    Ok(ReadState {
        cid: cid(row, o)?,
        user_id: get(row, o + 1)?,
        last_read_message_id: get(row, o + 2)?,
        last_read_at: time(row, o + 3)?,
        rev: rev(row, o + 4)?,
    })
}

/// The channel row `$2` of app `$1`: one primary-key probe.
pub(crate) fn channel_sql() -> String {
    format!(
        "SELECT {CHANNEL_COLS} FROM channels \
         WHERE app_id = $1 AND cid = $2 AND deleted_at IS NULL"
    )
}

/// The channel row, if it exists in the app (a deleted channel does not).
pub async fn load_channel(conn: &Conn, app: &str, cid: &Cid) -> StoreResult<Option<Channel>> {
    conn.opt(&channel_sql(), &[&app, &cid.to_string()])
        .await?
        .as_ref()
        .map(channel)
        .transpose()
}

/// The channel row, or `NotFound`.
pub async fn require_channel(conn: &Conn, app: &str, cid: &Cid) -> StoreResult<Channel> {
    load_channel(conn, app, cid)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("channel {cid}")))
}

/// Current members of a channel (`$1` app, `$2` cid), sorted: one range of
/// `members_current`.
pub(crate) const MEMBER_IDS: &str = "SELECT user_id FROM members \
     WHERE app_id = $1 AND cid = $2 AND NOT deleted ORDER BY user_id";

/// Ids of the current members, sorted.
pub async fn member_ids(conn: &Conn, app: &str, cid: &Cid) -> StoreResult<Vec<String>> {
    conn.all(MEMBER_IDS, &[&app, &cid.to_string()])
        .await?
        .iter()
        .map(|r| get(r, 0))
        .collect()
}

/// A message row `$2` (id) of app `$1` with its pk: one probe of `(app_id, id)`.
pub(crate) fn message_sql() -> String {
    format!("SELECT pk, parent_pk, {MESSAGE_COLS} FROM messages WHERE app_id = $1 AND id = $2")
}

/// A message row and its internal primary key, by id.
pub async fn load_message(conn: &Conn, app: &str, id: Uuid) -> StoreResult<Option<(i64, Message)>> {
    match conn.opt(&message_sql(), &[&app, &id]).await? {
        None => Ok(None),
        Some(row) => Ok(Some((get(&row, 0)?, message_at(&row, 2)?))),
    }
}

/// A message by primary key.
pub async fn load_message_pk(conn: &Conn, pk: i64) -> StoreResult<Message> {
    let sql = format!("SELECT {MESSAGE_COLS} FROM messages WHERE pk = $1");
    message(&conn.one(&sql, &[&pk]).await?)
}
