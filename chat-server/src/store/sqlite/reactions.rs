//! Reactions: add and remove (idempotent, one row per user, message and type, removed
//! ones kept as tombstones so the removal syncs), the per-type counts on the message
//! (recomputed with a fresh seq on every change), and the reads: a message's reactions and
//! the caller's own reactions on a page of messages. Only current members of the
//! message's channel react (`access`); a deleted message takes no new reactions, and a
//! channel whose config turns reactions off refuses them with `Forbidden`.

use std::collections::BTreeMap;

use chat_protocol::{Change, Message, Reaction, ReactionResponse};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::Tx;
use super::access::authorize_message;
use super::rows::{self, REACTION_COLS, now_ms};
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
fn recount(w: &mut Tx<'_>, pk: i64) -> StoreResult<Message> {
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

/// The user's (`?2`) live reactions on the messages with the JSON list of ids `?3`: one
/// probe of `reactions_by_user` per message of the page, never a walk of all the user's
/// reactions.
pub(crate) const OWN_REACTIONS: &str = "SELECT message_id, cid, user_id, type, created_at, \
     deleted, rev FROM reactions INDEXED BY reactions_by_user \
     WHERE app_id = ?1 AND user_id = ?2 AND deleted = 0 AND message_pk IN \
       (SELECT pk FROM messages WHERE app_id = ?1 AND id IN (SELECT value FROM json_each(?3))) \
     ORDER BY message_pk, created_at";

/// The user's current reactions on `messages`.
pub fn own_reactions(
    conn: &Connection,
    app: &str,
    user: &str,
    messages: &[Message],
) -> StoreResult<Vec<Reaction>> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = messages.iter().map(|m| m.id.to_string()).collect();
    let mut stmt = conn.prepare_cached(OWN_REACTIONS)?;
    let out = stmt
        .query_map(
            params![app, user, serde_json::to_string(&ids)?],
            rows::reaction,
        )?
        .collect::<Result<_, _>>()?;
    Ok(out)
}
