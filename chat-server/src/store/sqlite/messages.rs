//! Messages: idempotent send, cursor-paged lists (channel and thread), edit, soft delete.
//! Order is server arrival order (`pk`); ids are client-generated UUIDv7 idempotency keys,
//! so a client with a skewed clock cannot reorder history.

use chat_protocol::{
    Change, Cid, ListMessagesQuery, Message, MessagesResponse, SendMessageRequest,
    UpdateMessageRequest,
    limits::{DEFAULT_MESSAGE_PAGE, MAX_MESSAGE_PAGE},
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use uuid::Uuid;

use super::access::{authorize_message, member_role, require_member};
use super::rows::{self, MESSAGE_COLS, REACTION_COLS, now_ms};
use super::schema::{FLAG_MENTIONED, FLAG_READ};
use super::{Tx, apps, reactions};
use crate::store::rules::{check_mentions, dedup};
use crate::store::{Actor, StoreError, StoreResult};

/// One `user_messages` row per mentioned current member (`?1` app, `?2` cid) for the new
/// message `?3` by `?4`, mentioning the JSON list `?5` (`?6` read flag, `?7` mention flag;
/// the author's own mention is born read). Nobody else gets a row: unread counts come
/// from the read marker (see `schema`). One probe of the member key per mention.
pub(crate) const INSERT_RECIPIENTS: &str = "INSERT INTO user_messages \
     (app_id, user_id, message_pk, cid, flags) \
     SELECT app_id, user_id, ?3, cid, ?7 | (CASE WHEN user_id = ?4 THEN ?6 ELSE 0 END) \
     FROM members \
     WHERE app_id = ?1 AND cid = ?2 AND user_id IN (SELECT value FROM json_each(?5)) \
       AND deleted = 0";

/// An edit's mentions (`?2`, a JSON list) on message `?1` (pk) of app `?4` in `?7`, by
/// `?5`: first [`CLEAR_MENTIONS`], then this adds the flag (`?3`) for each mentioned
/// current member who was a member when the message was sent, with the read flag (`?6`)
/// from the member's marker (or authorship) — a row that had no mention flag takes it
/// fresh, since the read flag means nothing without a mention.
pub(crate) const ADD_MENTIONS: &str = "INSERT INTO user_messages \
     (app_id, user_id, message_pk, cid, flags) \
     SELECT mb.app_id, mb.user_id, ?1, mb.cid, ?3 | (CASE WHEN mb.user_id = ?5 \
       OR COALESCE(r.last_read_pk, 0) >= ?1 THEN ?6 ELSE 0 END) \
     FROM members AS mb \
     LEFT JOIN reads AS r INDEXED BY sqlite_autoindex_reads_1 ON r.app_id = mb.app_id AND r.cid = mb.cid AND r.user_id = mb.user_id \
     WHERE mb.app_id = ?4 AND mb.cid = ?7 AND mb.user_id IN (SELECT value FROM json_each(?2)) \
       AND mb.deleted = 0 AND mb.joined_pk < ?1 \
     ON CONFLICT (app_id, user_id, message_pk) DO UPDATE SET flags = CASE \
       WHEN (flags & ?3) != 0 THEN flags ELSE (flags & ~?6) | excluded.flags END";

/// Takes the mention flag (`?3`) off message `?1`'s rows (app `?4`) of members no longer
/// in the JSON list `?2`: one range of `user_messages_by_message`.
pub(crate) const CLEAR_MENTIONS: &str = "UPDATE user_messages INDEXED BY user_messages_by_message \
     SET flags = flags & ~?3 \
     WHERE app_id = ?4 AND message_pk = ?1 AND (flags & ?3) != 0 \
       AND user_id NOT IN (SELECT value FROM json_each(?2))";

/// The live reactions on message `?1` of app `?2`, to tombstone on delete: one range of
/// the reactions' unique key `(app_id, message_pk, …)`. Pinned: the planner prefers the
/// covering `reactions_by_user` with `app_id` alone, a walk of every reaction of the app.
pub(crate) const LIVE_REACTIONS: &str = "SELECT rowid, user_id FROM reactions \
     INDEXED BY sqlite_autoindex_reactions_1 \
     WHERE app_id = ?2 AND message_pk = ?1 AND deleted = 0";

/// Which list a page comes from.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Top-level messages of a channel.
    Channel(&'a Cid),
    /// Replies under the thread root with this pk.
    Thread(i64),
}

impl Scope<'_> {
    fn clause(&self) -> &'static str {
        match self {
            Self::Channel(_) => "app_id = ?1 AND cid = ?2 AND parent_pk IS NULL",
            Self::Thread(_) => "app_id = ?1 AND parent_pk = ?2",
        }
    }

    /// The index a page of this list walks (pinned: the primary key walked in `pk` order
    /// would also serve the `ORDER BY`, by visiting the whole app).
    fn index(&self) -> &'static str {
        match self {
            Self::Channel(_) => "messages_channel",
            Self::Thread(_) => "messages_thread",
        }
    }

    fn args(&self, app: &str) -> Vec<Value> {
        let key = match self {
            Self::Channel(cid) => Value::Text(cid.to_string()),
            Self::Thread(pk) => Value::Integer(*pk),
        };
        vec![Value::Text(app.to_owned()), key]
    }
}

/// One message the actor may read.
pub fn get(conn: &Connection, app: &str, actor: &Actor, id: Uuid) -> StoreResult<Message> {
    authorize_message(conn, app, actor, id).map(|(_, m)| m)
}

/// Sends a message; the same id from the same author in the same channel returns the
/// stored message unchanged.
pub fn send(
    w: &mut Tx<'_>,
    author: &str,
    cid: &Cid,
    req: SendMessageRequest,
    bypass_membership: bool,
) -> StoreResult<(Message, bool)> {
    // Authorize first, so a retry never reveals a channel the author can no longer read.
    let channel = rows::require_channel(&w.tx, &w.app, cid)?;
    if bypass_membership {
        if !apps::unknown_users(&w.tx, &w.app, &[author.to_owned()])?.is_empty() {
            return Err(StoreError::Invalid(format!("unknown user {author}")));
        }
    } else {
        require_member(&w.tx, &w.app, cid, author)?;
    }
    if let Some((_, existing)) = rows::load_message(&w.tx, &w.app, req.id)? {
        if existing.user_id == author && existing.cid == *cid {
            return Ok((existing, false));
        }
        return Err(StoreError::Conflict(format!(
            "message id {} is already taken",
            req.id
        )));
    }
    let parent_pk = match req.parent_id {
        None => None,
        Some(pid) => {
            if !channel.config.replies {
                return Err(StoreError::Forbidden(format!(
                    "replies are disabled in {cid}"
                )));
            }
            match rows::load_message(&w.tx, &w.app, pid)? {
                Some((pk, p)) if p.cid == *cid && p.parent_id.is_none() => Some(pk),
                Some((_, p)) if p.cid == *cid => {
                    return Err(StoreError::Invalid(format!(
                        "{pid} is a reply; reply to its root"
                    )));
                }
                _ => return Err(StoreError::Invalid(format!("parent {pid} is not in {cid}"))),
            }
        }
    };
    if let Some(qid) = req.quoted_message_id {
        match rows::load_message(&w.tx, &w.app, qid)? {
            Some((_, q)) if q.cid == *cid => {}
            _ => {
                return Err(StoreError::Invalid(format!(
                    "quoted message {qid} is not in {cid}"
                )));
            }
        }
    }
    let mentions = dedup(req.mentioned_users);
    // Membership does not change within this transaction: one lookup serves the mention
    // check and every change emitted below.
    let members = rows::member_ids(&w.tx, &w.app, cid)?;
    check_mentions(&members, &mentions)?;
    let mentions_json = serde_json::to_string(&mentions)?;
    // created_at strictly increases within a channel (a tie-free, clock-skew-proof server
    // order that clients can sort by), even when the wall clock stalls or steps back.
    let last: i64 =
        w.tx.prepare_cached("SELECT last_created_at FROM channels WHERE app_id = ?1 AND cid = ?2")?
            .query_row(params![w.app, cid.to_string()], |r| r.get(0))?;
    let now = now_ms().max(last + 1);
    w.tx.prepare_cached("UPDATE channels SET last_created_at = ?3 WHERE app_id = ?1 AND cid = ?2")?
        .execute(params![w.app, cid.to_string(), now])?;
    let seq = w.next_seq()? as i64;
    let pk: i64 =
        w.tx.prepare_cached(
            "INSERT INTO messages (app_id, id, cid, user_id, text, attachments, parent_pk, \
             parent_id, quoted_message_id, mentioned_users, reaction_counts, reply_count, \
             created_at, updated_at, rev) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, '{}', 0, ?11, ?11, ?12) RETURNING pk",
        )?
        .query_row(
            params![
                w.app,
                req.id.to_string(),
                cid.to_string(),
                author,
                req.text,
                serde_json::to_string(&req.attachments)?,
                parent_pk,
                req.parent_id.map(|p| p.to_string()),
                req.quoted_message_id.map(|q| q.to_string()),
                mentions_json,
                now,
                seq
            ],
            |r| r.get(0),
        )?;
    // A row per mentioned member (Zulip's UserMessage, sparse: see `schema`).
    w.tx.prepare_cached(INSERT_RECIPIENTS)?.execute(params![
        w.app,
        cid.to_string(),
        pk,
        author,
        mentions_json,
        FLAG_READ,
        FLAG_MENTIONED
    ])?;
    let message = rows::load_message_pk(&w.tx, pk)?;
    w.emit(Change::Message(message.clone()), members.clone());
    let seq = w.next_seq()? as i64;
    if let Some(ppk) = parent_pk {
        w.tx.prepare_cached(
            "UPDATE messages SET reply_count = reply_count + 1, updated_at = ?2, rev = ?3 \
             WHERE pk = ?1",
        )?
        .execute(params![ppk, now, seq])?;
        let parent = rows::load_message_pk(&w.tx, ppk)?;
        w.emit(Change::Message(parent), members);
    } else {
        w.tx.prepare_cached(
            "UPDATE channels SET last_message_at = ?3, sort_at = ?3, rev = ?4 \
             WHERE app_id = ?1 AND cid = ?2",
        )?
        .execute(params![w.app, cid.to_string(), now, seq])?;
        let channel = rows::require_channel(&w.tx, &w.app, cid)?;
        w.emit(Change::Channel(channel), members);
        super::member_state::unhide(w, cid)?;
    }
    Ok((message, true))
}

/// Sends `items` in order inside the caller's transaction; each message's client-side
/// refusal rolls back to its own savepoint (and forgets its changes), a backend failure
/// fails the whole batch. See [`Store::send_messages`](crate::store::Store::send_messages).
pub fn send_batch(
    w: &mut Tx<'_>,
    cid: &Cid,
    items: Vec<(String, SendMessageRequest)>,
    bypass_membership: bool,
) -> StoreResult<Vec<StoreResult<(Message, bool)>>> {
    let mut results = Vec::with_capacity(items.len());
    for (author, req) in items {
        w.tx.execute_batch("SAVEPOINT send_item")?;
        let mark = w.emitted();
        match send(w, &author, cid, req, bypass_membership) {
            Ok(sent) => {
                w.tx.execute_batch("RELEASE send_item")?;
                results.push(Ok(sent));
            }
            Err(e @ StoreError::Backend(_)) => return Err(e),
            Err(refused) => {
                w.tx.execute_batch("ROLLBACK TO send_item; RELEASE send_item")?;
                w.forget_after(mark);
                results.push(Err(refused));
            }
        }
    }
    Ok(results)
}

/// A page of `scope` in `pk` order; `extra` bounds it by a pivot `?3`.
pub(crate) fn fetch_sql(scope: Scope<'_>, extra: &str, descending: bool) -> String {
    let dir = if descending { "DESC" } else { "ASC" };
    format!(
        "SELECT {MESSAGE_COLS} FROM messages INDEXED BY {} WHERE {} {extra} \
         ORDER BY pk {dir} LIMIT ?",
        scope.index(),
        scope.clause()
    )
}

fn fetch(
    conn: &Connection,
    scope: Scope<'_>,
    app: &str,
    extra: &str,
    pivot: Option<i64>,
    descending: bool,
    limit: u32,
) -> StoreResult<Vec<Message>> {
    let sql = fetch_sql(scope, extra, descending);
    let mut args = scope.args(app);
    if let Some(p) = pivot {
        args.push(Value::Integer(p));
    }
    args.push(Value::Integer(i64::from(limit)));
    let mut stmt = conn.prepare_cached(&sql)?;
    let out = stmt
        .query_map(params_from_iter(args), rows::message)?
        .collect::<Result<_, _>>()?;
    Ok(out)
}

/// A page of messages, oldest first, with has-more flags and the user's own reactions.
pub fn list(
    conn: &Connection,
    app: &str,
    user: Option<&str>,
    scope: Scope<'_>,
    q: &ListMessagesQuery,
) -> StoreResult<MessagesResponse> {
    let limit = q
        .limit
        .unwrap_or(DEFAULT_MESSAGE_PAGE)
        .clamp(1, MAX_MESSAGE_PAGE);
    let pivot = |id: Uuid| -> StoreResult<i64> {
        let sql = format!(
            "SELECT pk FROM messages WHERE {} AND id = ?3",
            scope.clause()
        );
        let mut args = scope.args(app);
        args.push(Value::Text(id.to_string()));
        conn.prepare_cached(&sql)?
            .query_row(params_from_iter(args), |r| r.get(0))
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("message {id} in this list")))
    };
    let older = |p: Option<i64>, n: u32| -> StoreResult<(Vec<Message>, bool)> {
        let extra = if p.is_some() { "AND pk < ?3" } else { "" };
        let mut v = fetch(conn, scope, app, extra, p, true, n + 1)?;
        let more = v.len() > n as usize;
        v.truncate(n as usize);
        v.reverse();
        Ok((v, more))
    };
    let newer = |p: i64, inclusive: bool, n: u32| -> StoreResult<(Vec<Message>, bool)> {
        let extra = if inclusive {
            "AND pk >= ?3"
        } else {
            "AND pk > ?3"
        };
        let mut v = fetch(conn, scope, app, extra, Some(p), false, n + 1)?;
        let more = v.len() > n as usize;
        v.truncate(n as usize);
        Ok((v, more))
    };
    let (messages, has_more_before, has_more_after) = if let Some(id) = q.before {
        let (v, more) = older(Some(pivot(id)?), limit)?;
        (v, more, true)
    } else if let Some(id) = q.after {
        let (v, more) = newer(pivot(id)?, false, limit)?;
        (v, true, more)
    } else if let Some(id) = q.around {
        let p = pivot(id)?;
        let before_n = (limit - 1) / 2;
        let (mut v, more_before) = if before_n > 0 {
            older(Some(p), before_n)?
        } else {
            (Vec::new(), true)
        };
        let more_before = if before_n > 0 {
            more_before
        } else {
            has_older(conn, scope, app, p)?
        };
        let (after, more_after) = newer(p, true, limit - before_n)?;
        v.extend(after);
        (v, more_before, more_after)
    } else {
        let (v, more) = older(None, limit)?;
        (v, more, false)
    };
    let (own_reactions, starred) = match user {
        Some(u) => (
            reactions::own_reactions(conn, app, u, &messages)?,
            super::flags::starred_among(conn, app, u, &messages)?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    Ok(MessagesResponse {
        messages,
        has_more_before,
        has_more_after,
        own_reactions,
        starred,
    })
}

fn has_older(conn: &Connection, scope: Scope<'_>, app: &str, pk: i64) -> StoreResult<bool> {
    Ok(!fetch(conn, scope, app, "AND pk < ?3", Some(pk), true, 1)?.is_empty())
}

/// Edits text, attachments or mentions (author only).
pub fn update(
    w: &mut Tx<'_>,
    actor: &Actor,
    id: Uuid,
    req: UpdateMessageRequest,
) -> StoreResult<Message> {
    let (pk, msg) = authorize_message(&w.tx, &w.app, actor, id)?;
    if !actor.server && actor.user_id.as_deref() != Some(msg.user_id.as_str()) {
        return Err(StoreError::Forbidden(
            "only the author can edit a message".into(),
        ));
    }
    if msg.deleted_at.is_some() {
        return Err(StoreError::Invalid(format!("message {id} is deleted")));
    }
    // Only a new mention list is checked against the members: users mentioned earlier may
    // have left since, which must not block an edit of the text.
    let mentions = match req.mentioned_users {
        Some(new) => {
            let new = dedup(new);
            check_mentions(&rows::member_ids(&w.tx, &w.app, &msg.cid)?, &new)?;
            new
        }
        None => msg.mentioned_users,
    };
    let mentions_json = serde_json::to_string(&mentions)?;
    let text = req.text.unwrap_or(msg.text);
    let attachments = req.attachments.unwrap_or(msg.attachments);
    if text.trim().is_empty() && attachments.is_empty() {
        return Err(StoreError::Invalid(
            "a message needs text or attachments".into(),
        ));
    }
    let attachments = serde_json::to_string(&attachments)?;
    let now = now_ms();
    let seq = w.next_seq()? as i64;
    w.tx.prepare_cached(
        "UPDATE messages SET text = ?2, attachments = ?3, mentioned_users = ?4, edited_at = ?5, \
         updated_at = ?5, rev = ?6 WHERE pk = ?1",
    )?
    .execute(params![pk, text, attachments, mentions_json, now, seq])?;
    w.tx.prepare_cached(CLEAR_MENTIONS)?.execute(params![
        pk,
        mentions_json,
        FLAG_MENTIONED,
        w.app
    ])?;
    w.tx.prepare_cached(ADD_MENTIONS)?.execute(params![
        pk,
        mentions_json,
        FLAG_MENTIONED,
        w.app,
        msg.user_id,
        FLAG_READ,
        msg.cid.to_string()
    ])?;
    let message = rows::load_message_pk(&w.tx, pk)?;
    w.emit_to_members(Change::Message(message.clone()), &message.cid)?;
    Ok(message)
}

/// Soft-deletes: wipes content and reactions, keeps the row as a tombstone.
pub fn delete(w: &mut Tx<'_>, actor: &Actor, id: Uuid) -> StoreResult<Message> {
    let (pk, msg) = authorize_message(&w.tx, &w.app, actor, id)?;
    let is_author = actor.user_id.as_deref() == Some(msg.user_id.as_str()) && !actor.server;
    if !actor.server && !is_author {
        let user = actor.user_id.as_deref().unwrap_or_default();
        let role = member_role(&w.tx, &w.app, &msg.cid, user)?;
        if !role.is_some_and(|r| r.can_moderate()) {
            return Err(StoreError::Forbidden(
                "only the author or a moderator can delete".into(),
            ));
        }
    }
    if msg.deleted_at.is_some() {
        return Ok(msg);
    }
    let cid = msg.cid.clone();
    let members = rows::member_ids(&w.tx, &w.app, &cid)?;
    let live: Vec<(i64, String)> =
        w.tx.prepare_cached(LIVE_REACTIONS)?
            .query_map(params![pk, w.app], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
    for (rowid, _) in live {
        let seq = w.next_seq()? as i64;
        let sql = format!(
            "UPDATE reactions SET deleted = 1, rev = ?2 WHERE rowid = ?1 RETURNING {REACTION_COLS}"
        );
        let r =
            w.tx.prepare_cached(&sql)?
                .query_row(params![rowid, seq], rows::reaction)?;
        w.emit(Change::Reaction(r), members.clone());
    }
    let now = now_ms();
    let seq = w.next_seq()? as i64;
    w.tx.prepare_cached(
        "UPDATE messages SET text = '', attachments = '[]', mentioned_users = '[]', \
         reaction_counts = '{}', deleted_at = ?2, updated_at = ?2, rev = ?3 WHERE pk = ?1",
    )?
    .execute(params![pk, now, seq])?;
    w.tx.prepare_cached(
        "UPDATE user_messages SET flags = flags | ?3 WHERE app_id = ?1 AND message_pk = ?2",
    )?
    .execute(params![w.app, pk, FLAG_READ])?;
    let message = rows::load_message_pk(&w.tx, pk)?;
    w.emit(Change::Message(message.clone()), members);
    Ok(message)
}
