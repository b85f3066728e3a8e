//! Read state: mark read (the marker only moves forward) and unread counts: messages after
//! the marker from the covering `messages_unread` index, mentions from `user_messages`'
//! partial index (see `schema`).

use std::collections::BTreeMap;

use chat_protocol::{
    Change, ChannelUnread, Cid, MarkReadResponse, ReadState, Timestamp, UnreadResponse,
};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::Tx;
use super::access::require_member;
use super::rows::{self, READ_COLS, now_ms};
use super::schema::{self, FLAG_READ};
use crate::store::{StoreError, StoreResult};

/// The newest message of a channel, replies included (`?1` app, `?2` cid): the newer of
/// the last top-level message (`messages_channel`) and the last reply
/// (`messages_replies`), two probes at the end of an index range. Pinned: walking the
/// primary key backwards would visit the newer messages of the whole app first.
pub(crate) const NEWEST_MESSAGE: &str = "SELECT pk, id FROM messages WHERE pk = MAX( \
     COALESCE((SELECT pk FROM messages INDEXED BY messages_channel \
       WHERE app_id = ?1 AND cid = ?2 AND parent_pk IS NULL ORDER BY pk DESC LIMIT 1), 0), \
     COALESCE((SELECT pk FROM messages INDEXED BY messages_replies \
       WHERE app_id = ?1 AND cid = ?2 AND parent_pk IS NOT NULL ORDER BY pk DESC LIMIT 1), 0))";

/// Flags the user's (`?2`) unread mentions in a channel (`?3`) up to `?4` as read (`?5`):
/// one range of the partial `user_messages_unread_mentions` index. (Unread messages need
/// no write: they are counted from the marker.)
pub(crate) const MARK_READ_FLAGS: &str = "UPDATE user_messages \
     INDEXED BY user_messages_unread_mentions SET flags = flags | ?5 \
     WHERE app_id = ?1 AND user_id = ?2 AND cid = ?3 AND (flags & 3) = 2 AND message_pk <= ?4";

fn load_read(
    conn: &Connection,
    app: &str,
    cid: &Cid,
    user: &str,
) -> StoreResult<Option<(i64, ReadState)>> {
    let sql = format!(
        "SELECT last_read_pk, {READ_COLS} FROM reads WHERE app_id = ?1 AND cid = ?2 AND user_id = ?3"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![app, cid.to_string(), user], |r| {
            Ok((r.get(0)?, rows::read_state_at(r, 1)?))
        })
        .optional()?)
}

/// Moves the user's read marker forward to `up_to` (default: the newest message) and
/// flags everything up to it as read. The marker never moves backwards.
pub fn mark_read(
    w: &mut Tx<'_>,
    user: &str,
    cid: &Cid,
    up_to: Option<Uuid>,
) -> StoreResult<MarkReadResponse> {
    rows::require_channel(&w.tx, &w.app, cid)?;
    require_member(&w.tx, &w.app, cid, user)?;
    let target: Option<(i64, String)> = match up_to {
        Some(id) => Some(
            w.tx.prepare_cached(
                "SELECT pk, id FROM messages WHERE app_id = ?1 AND cid = ?2 AND id = ?3",
            )?
            .query_row(params![w.app, cid.to_string(), id.to_string()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("message {id} in {cid}")))?,
        ),
        None => {
            w.tx.prepare_cached(NEWEST_MESSAGE)?
                .query_row(params![w.app, cid.to_string()], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?
        }
    };
    let current = load_read(&w.tx, &w.app, cid, user)?;
    let current_pk = current.as_ref().map_or(0, |(pk, _)| *pk);
    let (target_pk, target_id) = match target {
        Some((pk, id)) if pk > current_pk => (pk, Some(id)),
        _ => match current {
            Some((_, state)) => {
                let unread = channel_unread(&w.tx, &w.app, user, cid)?;
                return Ok(MarkReadResponse {
                    read: state,
                    unread,
                });
            }
            None => (0, None),
        },
    };
    let seq = w.next_seq()? as i64;
    let sql = format!(
        "INSERT INTO reads (app_id, cid, user_id, last_read_message_id, last_read_pk, last_read_at, rev) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (app_id, cid, user_id) DO UPDATE SET \
         last_read_message_id = excluded.last_read_message_id, last_read_pk = excluded.last_read_pk, \
         last_read_at = excluded.last_read_at, rev = excluded.rev RETURNING {READ_COLS}"
    );
    let read = w.tx.prepare_cached(&sql)?.query_row(
        params![
            w.app,
            cid.to_string(),
            user,
            target_id,
            target_pk,
            now_ms(),
            seq
        ],
        rows::read_state,
    )?;
    w.tx.prepare_cached(MARK_READ_FLAGS)?.execute(params![
        w.app,
        user,
        cid.to_string(),
        target_pk,
        FLAG_READ
    ])?;
    w.emit_to_members(Change::Read(read.clone()), cid)?;
    let unread = channel_unread(&w.tx, &w.app, user, cid)?;
    Ok(MarkReadResponse { read, unread })
}

/// The user's unread counts in one channel (index ranges only; see `schema`).
pub fn channel_unread(
    conn: &Connection,
    app: &str,
    user: &str,
    cid: &Cid,
) -> StoreResult<ChannelUnread> {
    let count = |sql: &str| -> StoreResult<u32> {
        Ok(conn
            .prepare_cached(sql)?
            .query_row(params![app, user, cid.to_string()], |r| r.get(0))?)
    };
    Ok(ChannelUnread {
        cid: cid.clone(),
        unread_count: count(schema::UNREAD_IN_CHANNEL)?,
        unread_mentions: count(schema::UNREAD_MENTIONS_IN_CHANNEL)?,
        counted_through: counted_through(conn, app, cid)?,
    })
}

/// The channel's newest message time, read in the same transaction as its counts (one
/// primary-key lookup): what a client needs to tell counted messages from newer ones.
fn counted_through(conn: &Connection, app: &str, cid: &Cid) -> StoreResult<Option<Timestamp>> {
    let last: Option<i64> = conn
        .prepare_cached("SELECT last_created_at FROM channels WHERE app_id = ?1 AND cid = ?2")?
        .query_row(params![app, cid.to_string()], |r| r.get(0))
        .optional()?;
    Ok(last.filter(|&ms| ms > 0).and_then(Timestamp::from_millis))
}

/// The user's unread counts in all channels.
pub fn unread(conn: &Connection, app: &str, user: &str) -> StoreResult<UnreadResponse> {
    let per_channel = |sql: &str| -> StoreResult<BTreeMap<String, u32>> {
        let out = conn
            .prepare_cached(sql)?
            .query_map(params![app, user], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(out)
    };
    let unread = per_channel(schema::UNREAD_BY_CHANNEL)?;
    let mentions = per_channel(schema::UNREAD_MENTIONS_BY_CHANNEL)?;
    let mut channels = Vec::with_capacity(unread.len());
    for (cid, count) in unread {
        if count == 0 {
            continue;
        }
        let parsed: Cid = cid
            .parse()
            .map_err(|e| StoreError::Backend(format!("corrupt cid: {e}")))?;
        channels.push(ChannelUnread {
            counted_through: counted_through(conn, app, &parsed)?,
            cid: parsed,
            unread_count: count,
            unread_mentions: mentions.get(&cid).copied().unwrap_or(0),
        });
    }
    // Muted channels keep their own counts but count toward no total (no badge).
    let muted = super::member_state::muted_cids(conn, app, user)?;
    let counted = || {
        channels
            .iter()
            .filter(|c| !muted.contains(&c.cid.to_string()))
    };
    Ok(UnreadResponse {
        total_unread_count: counted().map(|c| u64::from(c.unread_count)).sum(),
        total_unread_mentions: counted().map(|c| u64::from(c.unread_mentions)).sum(),
        channels,
    })
}
