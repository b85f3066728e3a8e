//! Per-user message flags that users set themselves: starring (saving) messages. The flag
//! lives in the user's `user_messages` row (Zulip's bitmask); `flags_rev` stamps its last
//! change so the user's own flag state syncs like every other change.
//!
//! Rules:
//!
//! - Only current members of the message's channel star (`access`); setting the current
//!   state changes nothing (no seq, no change), and unstarring a message without a row
//!   answers an unstarred state with rev 0.
//! - A row created by a star (the user was not mentioned) is born read: the read flag only
//!   means something next to a mention.
//! - A flag change is published to the user alone.
//! - The starred list is newest-sent first; its `before` anchor must be one of the user's
//!   starred messages, any other id answers like a missing message.

use chat_protocol::limits::{DEFAULT_MESSAGE_PAGE, MAX_MESSAGE_PAGE};
use chat_protocol::{Change, Message, MessageFlags, StarredQuery, StarredResponse};
use uuid::Uuid;

use super::access::authorize_message;
use super::conn::{Conn, Tx};
use super::rows::{self, MESSAGE_COLS};
use super::schema::{FLAG_READ, FLAG_STARRED};
use crate::store::{Actor, StoreError, StoreResult};

/// The user's (`$2`) flags row on message `$3` (pk) of app `$1`, with the message id: a
/// primary-key probe of each table.
pub(crate) const FLAGS_OF: &str = "SELECT m.id, u.cid, u.user_id, u.flags, u.flags_rev \
     FROM user_messages u JOIN messages m ON m.pk = u.message_pk \
     WHERE u.app_id = $1 AND u.user_id = $2 AND u.message_pk = $3";

/// The user's flags on the message with primary key `pk`, if it has a row.
pub async fn load(c: &Conn, app: &str, user: &str, pk: i64) -> StoreResult<Option<MessageFlags>> {
    let row = c.opt(FLAGS_OF, &[&app, &user, &pk]).await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let flags: i32 = rows::get(&row, 3)?;
    Ok(Some(MessageFlags {
        message_id: rows::get(&row, 0)?,
        cid: rows::cid(&row, 1)?,
        user_id: rows::get(&row, 2)?,
        starred: flags & FLAG_STARRED != 0,
        rev: rows::rev(&row, 4)?,
    }))
}

/// Stars or unstars a message for `user`; setting the current state changes nothing.
pub async fn set_starred(
    w: &mut Tx,
    user: &str,
    id: Uuid,
    starred: bool,
) -> StoreResult<MessageFlags> {
    let (pk, message) = authorize_message(w, &w.app, &Actor::user(user), id).await?;
    let current = load(w, &w.app, user, pk).await?;
    if let Some(flags) = &current
        && flags.starred == starred
    {
        return Ok(flags.clone());
    }
    if current.is_none() && !starred {
        return Ok(MessageFlags {
            message_id: id,
            cid: message.cid,
            user_id: user.into(),
            starred,
            rev: 0,
        });
    }
    let seq = w.next_seq() as i64;
    // A user who joined after the message was sent has no row yet: it is born read.
    w.exec(
        "INSERT INTO user_messages (app_id, user_id, message_pk, cid, flags, flags_rev) \
         VALUES ($1, $2, $3, $4, $5::INTEGER | $6::INTEGER, $7) \
         ON CONFLICT (app_id, user_id, message_pk) DO UPDATE SET \
           flags = CASE WHEN $8::BOOLEAN THEN user_messages.flags | $6::INTEGER \
             ELSE user_messages.flags & ~$6::INTEGER END, \
           flags_rev = $7",
        &[
            &w.app,
            &user,
            &pk,
            &message.cid.to_string(),
            &FLAG_READ,
            &FLAG_STARRED,
            &seq,
            &starred,
        ],
    )
    .await?;
    let flags = load(w, &w.app, user, pk)
        .await?
        .ok_or_else(|| StoreError::Backend("flags row vanished".into()))?;
    w.emit(Change::Flags(flags.clone()), vec![user.to_owned()]);
    Ok(flags)
}

/// Of the messages with the ids `$3` (app `$1`), those the user `$2` starred, in pk order:
/// one probe of the messages' `(app_id, id)` key and of the user's flags row per message.
pub(crate) const STARRED_AMONG: &str = "SELECT m.id FROM messages m JOIN user_messages u \
       ON u.app_id = m.app_id AND u.user_id = $2 AND u.message_pk = m.pk \
     WHERE m.app_id = $1 AND m.id = ANY($3::UUID[]) AND (u.flags & 4) <> 0 \
     ORDER BY m.pk";

/// Ids of `messages` that `user` starred, in `pk` order.
pub async fn starred_among(
    c: &Conn,
    app: &str,
    user: &str,
    messages: &[Message],
) -> StoreResult<Vec<Uuid>> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = messages.iter().map(|m| m.id).collect();
    c.all(STARRED_AMONG, &[&app, &user, &ids])
        .await?
        .iter()
        .map(|r| rows::get(r, 0))
        .collect()
}

/// A page of the user's (`$2`) starred messages before pk `$3`, newest first (`$4` rows):
/// one range of the partial `user_messages_starred` index, then one message probe each.
pub(crate) fn starred_sql() -> String {
    let cols = MESSAGE_COLS
        .split(", ")
        .map(|c| format!("m.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {cols} FROM user_messages u JOIN messages m ON m.pk = u.message_pk \
         WHERE u.app_id = $1 AND u.user_id = $2 AND (u.flags & 4) <> 0 AND u.message_pk < $3 \
         ORDER BY u.message_pk DESC LIMIT $4"
    )
}

/// The user's starred messages, most recently sent first.
pub async fn starred(
    c: &Conn,
    app: &str,
    user: &str,
    q: &StarredQuery,
) -> StoreResult<StarredResponse> {
    let limit = q
        .limit
        .unwrap_or(DEFAULT_MESSAGE_PAGE)
        .clamp(1, MAX_MESSAGE_PAGE);
    // The anchor must be in the list (one of the user's starred messages): any other id
    // answers like a missing one, so the anchor cannot probe other users' messages.
    let before = match q.before {
        None => i64::MAX,
        Some(id) => match rows::load_message(c, app, id).await?.map(|(pk, _)| pk) {
            Some(pk) if load(c, app, user, pk).await?.is_some_and(|f| f.starred) => pk,
            _ => return Err(StoreError::NotFound(format!("message {id}"))),
        },
    };
    let mut messages: Vec<Message> = c
        .all(
            &starred_sql(),
            &[&app, &user, &before, &(i64::from(limit) + 1)],
        )
        .await?
        .iter()
        .map(rows::message)
        .collect::<StoreResult<_>>()?;
    let has_more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    Ok(StarredResponse { messages, has_more })
}
