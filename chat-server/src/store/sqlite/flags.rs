//! Per-user message flags that users set themselves: starring (saving) messages. The flag
//! lives in the user's `user_messages` row (Zulip's bitmask); `flags_rev` stamps its last
//! change so the user's own flag state syncs like every other change.

use chat_protocol::limits::{DEFAULT_MESSAGE_PAGE, MAX_MESSAGE_PAGE};
use chat_protocol::{Change, Message, MessageFlags, StarredQuery, StarredResponse};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::Tx;
use super::access::authorize_message;
use super::rows::{self, MESSAGE_COLS};
use super::schema::{FLAG_READ, FLAG_STARRED};
use crate::store::{Actor, StoreError, StoreResult};

/// The user's flags on the message with primary key `pk`, if it has a row.
pub fn load(
    conn: &Connection,
    app: &str,
    user: &str,
    pk: i64,
) -> StoreResult<Option<MessageFlags>> {
    conn.prepare_cached(
        "SELECT m.id, u.cid, u.user_id, u.flags, u.flags_rev FROM user_messages u \
             JOIN messages m ON m.pk = u.message_pk \
             WHERE u.app_id = ?1 AND u.user_id = ?2 AND u.message_pk = ?3",
    )?
    .query_row(params![app, user, pk], |r| {
        let id: String = r.get(0)?;
        let cid: String = r.get(1)?;
        let flags: i64 = r.get(3)?;
        Ok((id, cid, r.get::<_, String>(2)?, flags, r.get::<_, i64>(4)?))
    })
    .optional()?
    .map(|(id, cid, user_id, flags, rev)| {
        Ok::<_, StoreError>(MessageFlags {
            message_id: Uuid::parse_str(&id).map_err(|e| StoreError::Backend(e.to_string()))?,
            cid: cid
                .parse()
                .map_err(|e| StoreError::Backend(format!("corrupt cid: {e}")))?,
            user_id,
            starred: flags & FLAG_STARRED != 0,
            rev: rev as u64,
        })
    })
    .transpose()
}

/// Stars or unstars a message for `user`; setting the current state changes nothing.
pub fn set_starred(
    w: &mut Tx<'_>,
    user: &str,
    id: Uuid,
    starred: bool,
) -> StoreResult<MessageFlags> {
    let (pk, message) = authorize_message(&w.tx, &w.app, &Actor::user(user), id)?;
    let current = load(&w.tx, &w.app, user, pk)?;
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
    let seq = w.next_seq()? as i64;
    // A user who joined after the message was sent has no row yet: it is born read.
    w.tx.prepare_cached(
        "INSERT INTO user_messages (app_id, user_id, message_pk, cid, flags, flags_rev) \
         VALUES (?1, ?2, ?3, ?4, ?5 | ?6, ?7) \
         ON CONFLICT (app_id, user_id, message_pk) DO UPDATE SET \
           flags = CASE WHEN ?8 THEN flags | ?6 ELSE flags & ~?6 END, flags_rev = ?7",
    )?
    .execute(params![
        w.app,
        user,
        pk,
        message.cid.to_string(),
        FLAG_READ,
        FLAG_STARRED,
        seq,
        starred
    ])?;
    let flags = load(&w.tx, &w.app, user, pk)?
        .ok_or_else(|| StoreError::Backend("flags row vanished".into()))?;
    w.emit(Change::Flags(flags.clone()), vec![user.to_owned()]);
    Ok(flags)
}

/// Ids of `messages` that `user` starred.
pub fn starred_among(
    conn: &Connection,
    app: &str,
    user: &str,
    messages: &[Message],
) -> StoreResult<Vec<Uuid>> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = messages.iter().map(|m| m.id.to_string()).collect();
    let found: Vec<String> = conn
        .prepare_cached(
            "SELECT m.id FROM messages m JOIN user_messages u \
               ON u.app_id = m.app_id AND u.user_id = ?2 AND u.message_pk = m.pk \
             WHERE m.app_id = ?1 AND m.id IN (SELECT value FROM json_each(?3)) \
               AND (u.flags & 4) != 0 ORDER BY m.pk",
        )?
        .query_map(params![app, user, serde_json::to_string(&ids)?], |r| {
            r.get(0)
        })?
        .collect::<Result<_, _>>()?;
    found
        .iter()
        .map(|s| Uuid::parse_str(s).map_err(|e| StoreError::Backend(e.to_string())))
        .collect()
}

/// A page of the user's (`?2`) starred messages before pk `?3`, newest first (`?4` rows):
/// one range of the partial `user_messages_starred` index, then one message probe each.
pub(crate) fn starred_sql() -> String {
    let cols = MESSAGE_COLS
        .split(", ")
        .map(|c| format!("m.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {cols} FROM user_messages u INDEXED BY user_messages_starred \
         CROSS JOIN messages m ON m.pk = u.message_pk \
         WHERE u.app_id = ?1 AND u.user_id = ?2 AND (u.flags & 4) != 0 AND u.message_pk < ?3 \
         ORDER BY u.message_pk DESC LIMIT ?4"
    )
}

/// The user's starred messages, most recently sent first.
pub fn starred(
    conn: &Connection,
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
        Some(id) => match rows::load_message(conn, app, id)?.map(|(pk, _)| pk) {
            Some(pk) if load(conn, app, user, pk)?.is_some_and(|f| f.starred) => pk,
            _ => return Err(StoreError::NotFound(format!("message {id}"))),
        },
    };
    let sql = starred_sql();
    let mut messages: Vec<Message> = conn
        .prepare_cached(&sql)?
        .query_map(
            params![app, user, before, i64::from(limit) + 1],
            rows::message,
        )?
        .collect::<Result<_, _>>()?;
    let has_more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    Ok(StarredResponse { messages, has_more })
}
