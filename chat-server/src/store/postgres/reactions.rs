//! Reactions: add and remove (idempotent, one row per user, message and type, removed
//! ones kept as tombstones so the removal syncs), the per-type counts on the message
//! (recomputed with a fresh seq on every change), and the reads: a message's reactions and
//! the caller's own reactions on a page of messages. Only current members of the
//! message's channel react (`access`); a deleted message takes no new reactions, and a
//! channel whose config turns reactions off refuses them with `Forbidden`.

use std::collections::BTreeMap;

use chat_protocol::{Change, Message, Reaction, ReactionResponse};
use uuid::Uuid;

use super::access::authorize_message;
use super::conn::{Conn, Tx};
use super::rows::{self, MESSAGE_COLS, REACTION_COLS, now_ms};
use crate::store::{Actor, StoreError, StoreResult};

/// A user's (`$3`) reaction of type `$4` on message `$2` (pk) of app `$1`, live or a
/// tombstone: one primary-key probe.
pub(crate) fn find_reaction_sql() -> String {
    format!(
        "SELECT {REACTION_COLS} FROM reactions \
         WHERE app_id = $1 AND message_pk = $2 AND user_id = $3 AND type = $4"
    )
}

async fn find_reaction(w: &Tx, pk: i64, user: &str, kind: &str) -> StoreResult<Option<Reaction>> {
    w.opt(&find_reaction_sql(), &[&w.app, &pk, &user, &kind])
        .await?
        .as_ref()
        .map(rows::reaction)
        .transpose()
}

/// Live reactions per type on the message `$1` of app `$2`: one range of the reactions'
/// primary key.
pub(crate) const REACTION_COUNTS: &str = "SELECT type, COUNT(*) FROM reactions \
     WHERE app_id = $2 AND message_pk = $1 AND NOT deleted GROUP BY type";

/// Recomputes `reaction_counts` of a message with a fresh seq and emits it.
async fn recount(w: &mut Tx, pk: i64) -> StoreResult<Message> {
    let counts: BTreeMap<String, u32> = w
        .all(REACTION_COUNTS, &[&pk, &w.app])
        .await?
        .iter()
        .map(|r| {
            let n: i64 = rows::get(r, 1)?;
            Ok((rows::get(r, 0)?, n as u32))
        })
        .collect::<StoreResult<_>>()?;
    let seq = w.next_seq() as i64;
    let sql = format!(
        "UPDATE messages SET reaction_counts = $2, updated_at = $3, rev = $4 WHERE pk = $1 \
         RETURNING {MESSAGE_COLS}"
    );
    let counts = serde_json::to_string(&counts)?;
    let row = w.one(&sql, &[&pk, &counts, &now_ms(), &seq]).await?;
    let message = rows::message(&row)?;
    w.emit_to_members(Change::Message(message.clone()), &message.cid)
        .await?;
    Ok(message)
}

/// Adds a reaction; adding an existing one changes nothing.
pub async fn add_reaction(
    w: &mut Tx,
    user: &str,
    id: Uuid,
    kind: &str,
) -> StoreResult<ReactionResponse> {
    let (pk, message) = authorize_message(w, &w.app, &Actor::user(user), id).await?;
    if message.deleted_at.is_some() {
        return Err(StoreError::Invalid(format!("message {id} is deleted")));
    }
    let channel = rows::require_channel(w, &w.app, &message.cid).await?;
    if !channel.config.reactions {
        return Err(StoreError::Forbidden(format!(
            "reactions are disabled in {}",
            channel.cid
        )));
    }
    if let Some(existing) = find_reaction(w, pk, user, kind).await?
        && !existing.deleted
    {
        return Ok(ReactionResponse {
            reaction: existing,
            message,
        });
    }
    let seq = w.next_seq() as i64;
    let sql = format!(
        "INSERT INTO reactions (app_id, message_pk, message_id, cid, user_id, type, created_at, \
         deleted, rev) VALUES ($1, $2, $3, $4, $5, $6, $7, FALSE, $8) \
         ON CONFLICT (app_id, message_pk, user_id, type) DO UPDATE SET deleted = FALSE, \
         created_at = excluded.created_at, rev = excluded.rev RETURNING {REACTION_COLS}"
    );
    let row = w
        .one(
            &sql,
            &[
                &w.app,
                &pk,
                &id,
                &message.cid.to_string(),
                &user,
                &kind,
                &now_ms(),
                &seq,
            ],
        )
        .await?;
    let reaction = rows::reaction(&row)?;
    w.emit_to_members(Change::Reaction(reaction.clone()), &message.cid)
        .await?;
    let message = recount(w, pk).await?;
    Ok(ReactionResponse { reaction, message })
}

/// Removes a reaction; removing an already removed one changes nothing, removing one that
/// never existed is `NotFound`.
pub async fn remove_reaction(
    w: &mut Tx,
    user: &str,
    id: Uuid,
    kind: &str,
) -> StoreResult<ReactionResponse> {
    let (pk, message) = authorize_message(w, &w.app, &Actor::user(user), id).await?;
    let existing = find_reaction(w, pk, user, kind)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("reaction {kind} of {user} on {id}")))?;
    if existing.deleted {
        return Ok(ReactionResponse {
            reaction: existing,
            message,
        });
    }
    let seq = w.next_seq() as i64;
    let sql = format!(
        "UPDATE reactions SET deleted = TRUE, rev = $5 \
         WHERE app_id = $1 AND message_pk = $2 AND user_id = $3 AND type = $4 \
         RETURNING {REACTION_COLS}"
    );
    let row = w.one(&sql, &[&w.app, &pk, &user, &kind, &seq]).await?;
    let reaction = rows::reaction(&row)?;
    w.emit_to_members(Change::Reaction(reaction.clone()), &message.cid)
        .await?;
    let message = recount(w, pk).await?;
    Ok(ReactionResponse { reaction, message })
}

/// Live reactions on message `$2` (pk) of app `$1`, oldest first: one range of the
/// reactions' primary key.
pub(crate) fn list_reactions_sql() -> String {
    format!(
        "SELECT {REACTION_COLS} FROM reactions WHERE app_id = $1 AND message_pk = $2 \
         AND NOT deleted ORDER BY created_at, user_id COLLATE \"C\""
    )
}

/// Current reactions on the message with primary key `pk`, oldest first (ties by user id,
/// bytewise as on SQLite).
pub async fn list_reactions(c: &Conn, app: &str, pk: i64) -> StoreResult<Vec<Reaction>> {
    c.all(&list_reactions_sql(), &[&app, &pk])
        .await?
        .iter()
        .map(rows::reaction)
        .collect()
}

/// The user's (`$2`) live reactions on the messages with the ids `$3`: one probe of
/// `reactions_by_user` per message of the page, never a walk of all the user's reactions.
pub(crate) const OWN_REACTIONS: &str = "SELECT message_id, cid, user_id, type, created_at, \
     deleted, rev FROM reactions \
     WHERE app_id = $1 AND user_id = $2 AND NOT deleted AND message_pk IN \
       (SELECT pk FROM messages WHERE app_id = $1 AND id = ANY($3::UUID[])) \
     ORDER BY message_pk, created_at";

/// The user's current reactions on `messages`, by message (in `pk` order), oldest first.
pub async fn own_reactions(
    c: &Conn,
    app: &str,
    user: &str,
    messages: &[Message],
) -> StoreResult<Vec<Reaction>> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = messages.iter().map(|m| m.id).collect();
    c.all(OWN_REACTIONS, &[&app, &user, &ids])
        .await?
        .iter()
        .map(rows::reaction)
        .collect()
}
