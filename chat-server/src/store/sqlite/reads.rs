//! Reactions and read state: add/remove reactions (with counts on the message), mark read,
//! and unread counts served from `user_messages`' partial indexes.

use std::collections::BTreeMap;

use chat_protocol::{
    Change, ChannelUnread, Cid, MarkReadResponse, Reaction, ReactionResponse, ReadState,
    UnreadResponse,
};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::Tx;
use super::access::{authorize_message, require_member};
use super::rows::{self, REACTION_COLS, READ_COLS, now_ms};
use super::schema::{self, FLAG_READ};
use crate::store::{Actor, StoreError, StoreResult};

fn find_reaction(w: &Tx<'_>, pk: i64, user: &str, kind: &str) -> StoreResult<Option<Reaction>> {
    let sql = format!(
        "SELECT {REACTION_COLS} FROM reactions \
         WHERE app_id = ?1 AND message_pk = ?2 AND user_id = ?3 AND type = ?4"
    );
    Ok(w.tx
        .prepare_cached(&sql)?
        .query_row(params![w.app, pk, user, kind], rows::reaction)
        .optional()?)
}

/// Live reactions per type on the message `?1` of app `?2`: one range of the reactions'
/// unique key (without `app_id` the message's reactions were found by scanning every
/// reaction of every app).
pub(crate) const REACTION_COUNTS: &str = "SELECT type, COUNT(*) FROM reactions \
     INDEXED BY sqlite_autoindex_reactions_1 \
     WHERE app_id = ?2 AND message_pk = ?1 AND deleted = 0 GROUP BY type";

/// Recomputes `reaction_counts` of a message with a fresh seq and emits it.
fn recount(w: &mut Tx<'_>, pk: i64) -> StoreResult<chat_protocol::Message> {
    let counts: BTreeMap<String, u32> =
        w.tx.prepare_cached(REACTION_COUNTS)?
            .query_map(params![pk, w.app], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
    let seq = w.next_seq()? as i64;
    w.tx.prepare_cached(
        "UPDATE messages SET reaction_counts = ?2, updated_at = ?3, rev = ?4 WHERE pk = ?1",
    )?
    .execute(params![pk, serde_json::to_string(&counts)?, now_ms(), seq])?;
    let message = rows::load_message_pk(&w.tx, pk)?;
    w.emit_to_members(Change::Message(message.clone()), &message.cid)?;
    Ok(message)
}

/// Adds a reaction; adding an existing one changes nothing.
pub fn add_reaction(
    w: &mut Tx<'_>,
    user: &str,
    id: Uuid,
    kind: &str,
) -> StoreResult<ReactionResponse> {
    let (pk, message) = authorize_message(&w.tx, &w.app, &Actor::user(user), id)?;
    if message.deleted_at.is_some() {
        return Err(StoreError::Invalid(format!("message {id} is deleted")));
    }
    let channel = rows::require_channel(&w.tx, &w.app, &message.cid)?;
    if !channel.config.reactions {
        return Err(StoreError::Forbidden(format!(
            "reactions are disabled in {}",
            channel.cid
        )));
    }
    if let Some(existing) = find_reaction(w, pk, user, kind)?
        && !existing.deleted
    {
        return Ok(ReactionResponse {
            reaction: existing,
            message,
        });
    }
    let seq = w.next_seq()? as i64;
    let sql = format!(
        "INSERT INTO reactions (app_id, message_pk, message_id, cid, user_id, type, created_at, \
         deleted, rev) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8) \
         ON CONFLICT (app_id, message_pk, user_id, type) DO UPDATE SET deleted = 0, \
         created_at = excluded.created_at, rev = excluded.rev RETURNING {REACTION_COLS}"
    );
    let reaction = w.tx.prepare_cached(&sql)?.query_row(
        params![
            w.app,
            pk,
            id.to_string(),
            message.cid.to_string(),
            user,
            kind,
            now_ms(),
            seq
        ],
        rows::reaction,
    )?;
    w.emit_to_members(Change::Reaction(reaction.clone()), &message.cid)?;
    let message = recount(w, pk)?;
    Ok(ReactionResponse { reaction, message })
}

/// Removes a reaction; removing an already removed one changes nothing.
pub fn remove_reaction(
    w: &mut Tx<'_>,
    user: &str,
    id: Uuid,
    kind: &str,
) -> StoreResult<ReactionResponse> {
    let (pk, message) = authorize_message(&w.tx, &w.app, &Actor::user(user), id)?;
    let existing = find_reaction(w, pk, user, kind)?
        .ok_or_else(|| StoreError::NotFound(format!("reaction {kind} of {user} on {id}")))?;
    if existing.deleted {
        return Ok(ReactionResponse {
            reaction: existing,
            message,
        });
    }
    let seq = w.next_seq()? as i64;
    let sql = format!(
        "UPDATE reactions SET deleted = 1, rev = ?5 \
         WHERE app_id = ?1 AND message_pk = ?2 AND user_id = ?3 AND type = ?4 \
         RETURNING {REACTION_COLS}"
    );
    let reaction =
        w.tx.prepare_cached(&sql)?
            .query_row(params![w.app, pk, user, kind, seq], rows::reaction)?;
    w.emit_to_members(Change::Reaction(reaction.clone()), &message.cid)?;
    let message = recount(w, pk)?;
    Ok(ReactionResponse { reaction, message })
}

/// Current reactions on a message, oldest first.
pub fn list_reactions(conn: &Connection, app: &str, pk: i64) -> StoreResult<Vec<Reaction>> {
    let sql = format!(
        "SELECT {REACTION_COLS} FROM reactions WHERE app_id = ?1 AND message_pk = ?2 \
         AND deleted = 0 ORDER BY created_at, user_id"
    );
    let out = conn
        .prepare_cached(&sql)?
        .query_map(params![app, pk], rows::reaction)?
        .collect::<Result<_, _>>()?;
    Ok(out)
}

/// The newest message of a channel, replies included (`?1` app, `?2` cid): the newer of
/// the last top-level message (`messages_channel`) and the last reply
/// (`messages_replies`), two probes at the end of an index range. Pinned: walking the
/// primary key backwards would visit the newer messages of the whole app first.
pub(crate) const NEWEST_MESSAGE: &str = "SELECT pk, id FROM messages WHERE pk = MAX( \
     COALESCE((SELECT pk FROM messages INDEXED BY messages_channel \
       WHERE app_id = ?1 AND cid = ?2 AND parent_pk IS NULL ORDER BY pk DESC LIMIT 1), 0), \
     COALESCE((SELECT pk FROM messages INDEXED BY messages_replies \
       WHERE app_id = ?1 AND cid = ?2 AND parent_pk IS NOT NULL ORDER BY pk DESC LIMIT 1), 0))";

/// Flags the user's (`?2`) unread messages of a channel (`?3`) up to `?4` as read (`?5`):
/// one range of the partial `user_messages_unread` index.
pub(crate) const MARK_READ_FLAGS: &str = "UPDATE user_messages INDEXED BY user_messages_unread \
     SET flags = flags | ?5 \
     WHERE app_id = ?1 AND user_id = ?2 AND cid = ?3 AND (flags & 1) = 0 AND message_pk <= ?4";

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

/// The user's unread counts in one channel (served by the partial indexes).
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
    })
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
        let parsed: Cid = cid
            .parse()
            .map_err(|e| StoreError::Backend(format!("corrupt cid: {e}")))?;
        channels.push(ChannelUnread {
            cid: parsed,
            unread_count: count,
            unread_mentions: mentions.get(&cid).copied().unwrap_or(0),
        });
    }
    Ok(UnreadResponse {
        total_unread_count: channels.iter().map(|c| u64::from(c.unread_count)).sum(),
        total_unread_mentions: channels.iter().map(|c| u64::from(c.unread_mentions)).sum(),
        channels,
    })
}
