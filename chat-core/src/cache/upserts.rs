//! Row writers for synced entities: each upsert keeps the row with the higher `rev`
//! ("keep the higher rev" as one `ON CONFLICT ... WHERE excluded.rev > rev`), and the
//! `replace_*` functions install a limited channel state's member and read lists.

use chat_protocol::{Channel, Member, Message, MessageFlags, Reaction, ReadState};
use rusqlite::{Connection, Statement, params};

use super::error::{CacheResult, to_i64};
use super::message_codec::encode_body;
use super::rows::{channel_key, opt_millis, to_json};

/// The `INSERT` of a message row; `?1`..`?9` are bound by [`execute_message`]. A macro so
/// the conflict clauses below join it at compile time.
macro_rules! message_insert {
    () => {
        "INSERT INTO messages (id, ck, parent_id, user_id, created_at, order_key, rev, \
           deleted_at, local_state, local_error, data, text) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, NULL, NULL, ?8, ?9)"
    };
}

/// What a newer server copy overwrites (every column but the id).
macro_rules! message_update {
    () => {
        " ON CONFLICT (id) DO UPDATE SET ck = excluded.ck, parent_id = excluded.parent_id, \
           user_id = excluded.user_id, created_at = excluded.created_at, \
           order_key = excluded.order_key, rev = excluded.rev, deleted_at = excluded.deleted_at, \
           local_state = NULL, local_error = NULL, data = excluded.data, text = excluded.text"
    };
}

/// Runs `sql` (a `message_insert!` statement) for `m`, whose id the caller has already
/// formatted and whose channel key (`ck`) it knows; returns the rows changed.
fn execute_message(
    conn: &Connection,
    sql: &str,
    m: &Message,
    id: &str,
    ck: i64,
) -> CacheResult<usize> {
    let mut stmt = conn.prepare_cached(sql)?;
    execute_message_with(&mut stmt, m, id, ck)
}

/// [`execute_message`] on a statement the caller holds (prepared from a
/// `message_insert!` statement such as [`INSERT_NEW_MESSAGE`]).
pub(crate) fn execute_message_with(
    stmt: &mut Statement<'_>,
    m: &Message,
    id: &str,
    ck: i64,
) -> CacheResult<usize> {
    Ok(stmt.execute(params![
        id,
        ck,
        m.parent_id.map(|p| p.to_string()),
        m.user_id,
        m.created_at.millis(),
        to_i64("rev", m.rev)?,
        opt_millis(m.deleted_at),
        encode_body(m),
        m.text
    ])?)
}

/// Writes a server message unconditionally (replacing any local echo of the same id).
pub(crate) fn write_message(conn: &Connection, m: &Message) -> CacheResult<()> {
    const SQL: &str = concat!(message_insert!(), message_update!());
    let ck = channel_key(conn, &m.cid.to_string())?;
    execute_message(conn, SQL, m, &m.id.to_string(), ck)?;
    Ok(())
}

/// Inserts a server message whose id is not cached, or does nothing (0 rows) if the id
/// exists; run with [`execute_message_with`].
pub(crate) const INSERT_NEW_MESSAGE: &str =
    concat!(message_insert!(), " ON CONFLICT (id) DO NOTHING");

/// Writes a server message if it is not cached or its `rev` is higher (a local echo has
/// `rev` 0, so the server copy always replaces it).
pub(crate) fn upsert_message_if_newer(conn: &Connection, m: &Message) -> CacheResult<()> {
    const SQL: &str = concat!(
        message_insert!(),
        message_update!(),
        " WHERE excluded.rev > messages.rev"
    );
    let ck = channel_key(conn, &m.cid.to_string())?;
    execute_message(conn, SQL, m, &m.id.to_string(), ck)?;
    Ok(())
}

/// The channel list sort key: the last message time, or the creation time without one.
pub(crate) fn sort_at(c: &Channel) -> i64 {
    c.last_message_at.unwrap_or(c.created_at).millis()
}

/// Inserts a channel, or replaces it if `c.rev` is higher.
pub(crate) fn upsert_channel(conn: &Connection, c: &Channel) -> CacheResult<()> {
    conn.prepare_cached(
        "INSERT INTO channels (cid, rev, sort_at, created_at, data) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (cid) DO UPDATE SET rev = excluded.rev, sort_at = excluded.sort_at, \
           created_at = excluded.created_at, data = excluded.data \
         WHERE excluded.rev > channels.rev",
    )?
    .execute(params![
        c.cid.to_string(),
        to_i64("rev", c.rev)?,
        sort_at(c),
        c.created_at.millis(),
        to_json(c)
    ])?;
    Ok(())
}

/// Keep-the-higher-rev upsert of a member (tombstones included); returns whether it was
/// written.
pub(crate) fn upsert_member(conn: &Connection, m: &Member) -> CacheResult<bool> {
    let n = conn
        .prepare_cached(
            "INSERT INTO members (cid, user_id, rev, deleted, created_at, data) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (cid, user_id) DO UPDATE SET rev = excluded.rev, \
               deleted = excluded.deleted, created_at = excluded.created_at, data = excluded.data \
             WHERE excluded.rev > members.rev",
        )?
        .execute(params![
            m.cid.to_string(),
            m.user_id,
            to_i64("rev", m.rev)?,
            m.deleted,
            m.created_at.millis(),
            to_json(m)
        ])?;
    Ok(n > 0)
}

/// Replaces a channel's member list (rows with a higher `rev` are kept).
pub(crate) fn replace_members(conn: &Connection, cid: &str, members: &[Member]) -> CacheResult<()> {
    for m in members {
        upsert_member(conn, m)?;
    }
    delete_unlisted(
        conn,
        "members",
        cid,
        members.iter().map(|m| m.user_id.as_str()),
    )
}

/// Keep-the-higher-rev upsert of a read state; returns whether it was written.
pub(crate) fn upsert_read(conn: &Connection, r: &ReadState) -> CacheResult<bool> {
    let n = conn
        .prepare_cached(
            "INSERT INTO reads (cid, user_id, rev, data) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (cid, user_id) DO UPDATE SET rev = excluded.rev, data = excluded.data \
             WHERE excluded.rev > reads.rev",
        )?
        .execute(params![
            r.cid.to_string(),
            r.user_id,
            to_i64("rev", r.rev)?,
            to_json(r)
        ])?;
    Ok(n > 0)
}

/// Replaces a channel's read states (rows with a higher `rev` are kept).
pub(crate) fn replace_reads(conn: &Connection, cid: &str, reads: &[ReadState]) -> CacheResult<()> {
    for r in reads {
        upsert_read(conn, r)?;
    }
    delete_unlisted(conn, "reads", cid, reads.iter().map(|r| r.user_id.as_str()))
}

/// Deletes the rows of `table` (`members` or `reads`) in `cid` whose user is not listed.
fn delete_unlisted<'a>(
    conn: &Connection,
    table: &str,
    cid: &str,
    keep: impl Iterator<Item = &'a str>,
) -> CacheResult<()> {
    let keep: std::collections::HashSet<&str> = keep.collect();
    let cached: Vec<String> = conn
        .prepare_cached(&format!("SELECT user_id FROM {table} WHERE cid = ?1"))?
        .query_map([cid], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut delete = conn.prepare_cached(&format!(
        "DELETE FROM {table} WHERE cid = ?1 AND user_id = ?2"
    ))?;
    for user in cached.iter().filter(|u| !keep.contains(u.as_str())) {
        delete.execute(params![cid, user])?;
    }
    Ok(())
}

/// Keep-the-higher-rev upsert of a reaction (tombstones included).
pub(crate) fn upsert_reaction(conn: &Connection, r: &Reaction) -> CacheResult<bool> {
    let n = conn
        .prepare_cached(
            "INSERT INTO reactions \
               (message_id, user_id, type, cid, rev, deleted, created_at, data) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (message_id, user_id, type) DO UPDATE SET cid = excluded.cid, \
               rev = excluded.rev, deleted = excluded.deleted, created_at = excluded.created_at, \
               data = excluded.data \
             WHERE excluded.rev > reactions.rev",
        )?
        .execute(params![
            r.message_id.to_string(),
            r.user_id,
            r.kind,
            r.cid.to_string(),
            to_i64("rev", r.rev)?,
            r.deleted,
            r.created_at.millis(),
            to_json(r)
        ])?;
    Ok(n > 0)
}

/// Keep-the-higher-rev upsert of the owner's flags on a message.
pub(crate) fn upsert_flags(conn: &Connection, f: &MessageFlags) -> CacheResult<bool> {
    let n = conn
        .prepare_cached(
            "INSERT INTO flags (message_id, cid, starred, rev) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (message_id) DO UPDATE SET cid = excluded.cid, \
               starred = excluded.starred, rev = excluded.rev \
             WHERE excluded.rev > flags.rev",
        )?
        .execute(params![
            f.message_id.to_string(),
            f.cid.to_string(),
            f.starred,
            to_i64("rev", f.rev)?
        ])?;
    Ok(n > 0)
}

/// A star listed in a channel state or message page (no rev there: stored with rev 0, so
/// any later `flags` change wins).
pub(crate) fn star_from_state(conn: &Connection, message_id: &str, cid: &str) -> CacheResult<()> {
    conn.prepare_cached(
        "INSERT INTO flags (message_id, cid, starred, rev) VALUES (?1, ?2, 1, 0) \
         ON CONFLICT (message_id) DO NOTHING",
    )?
    .execute(params![message_id, cid])?;
    Ok(())
}
