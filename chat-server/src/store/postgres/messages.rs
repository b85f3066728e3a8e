//! Messages: idempotent send, cursor-paged lists (channel and thread), edit, soft delete.
//! Order is server arrival order (`pk`, which follows commit order within an app: see
//! [`super`]); ids are client-generated UUIDv7 idempotency keys, so a client with a skewed
//! clock cannot reorder history.
//!
//! Rules:
//!
//! - **Send** is for current members (or, with `bypass_membership`, any known user of the
//!   app); the same id from the same author in the same channel replays the stored message
//!   unchanged, any other reuse of an id is a `Conflict`. Replies need the channel's
//!   `replies` config and a thread root of the same channel; a quoted message must be in
//!   the channel; mentions must be current members. `created_at` strictly increases within
//!   a channel.
//! - Only mentioned members get a `user_messages` row (the sparse design of the SQLite
//!   backend's `schema`); the author's own mention is born read.
//! - **Batches** ([`send_batch`]) run each message under a savepoint: a client refusal
//!   rolls the message back (writes, seq values and changes), a backend failure fails the
//!   whole batch.
//! - **Edit** is the author's (or a server caller's); only a new mention list is checked
//!   against the members. **Delete** is the author's or a moderator's: it wipes content,
//!   tombstones the live reactions (each with its own seq) and marks the mention rows read.

use chat_protocol::{
    Change, Cid, ListMessagesQuery, Message, MessagesResponse, SendMessageRequest,
    UpdateMessageRequest,
    limits::{DEFAULT_MESSAGE_PAGE, MAX_MESSAGE_PAGE},
};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::access::{authorize_message, member_role, outsider};
use super::conn::{Conn, Tx};
use super::rows::{self, CHANNEL_COLS, MESSAGE_COLS, REACTION_COLS, now_ms};
use super::schema::{FLAG_MENTIONED, FLAG_READ};
use super::{apps, flags, reactions};
use crate::store::rules::{check_mentions, dedup};
use crate::store::{Actor, StoreError, StoreResult};

/// One `user_messages` row per mentioned current member (`$1` app, `$2` cid) for the new
/// message `$3` by `$4`, mentioning the users `$5` (`$6` read flag, `$7` mention flag; the
/// author's own mention is born read). Nobody else gets a row: unread counts come from the
/// read marker.
pub(crate) const INSERT_RECIPIENTS: &str = "INSERT INTO user_messages \
     (app_id, user_id, message_pk, cid, flags) \
     SELECT app_id, user_id, $3::BIGINT, cid, \
       $7::INTEGER | (CASE WHEN user_id = $4 THEN $6::INTEGER ELSE 0 END) \
     FROM members \
     WHERE app_id = $1 AND cid = $2 AND user_id = ANY($5::TEXT[]) AND NOT deleted";

/// An edit's mentions (`$2`) on message `$1` (pk) of app `$4` in `$7`, by `$5`: first
/// [`CLEAR_MENTIONS`], then this adds the flag (`$3`) for each mentioned current member
/// who was a member when the message was sent, with the read flag (`$6`) from the member's
/// marker (or authorship) — a row that had no mention flag takes it fresh, since the read
/// flag means nothing without a mention.
pub(crate) const ADD_MENTIONS: &str = "INSERT INTO user_messages \
     (app_id, user_id, message_pk, cid, flags) \
     SELECT mb.app_id, mb.user_id, $1::BIGINT, mb.cid, $3::INTEGER | (CASE WHEN mb.user_id = $5 \
       OR COALESCE(r.last_read_pk, 0) >= $1::BIGINT THEN $6::INTEGER ELSE 0 END) \
     FROM members AS mb \
     LEFT JOIN reads AS r ON r.app_id = mb.app_id AND r.cid = mb.cid AND r.user_id = mb.user_id \
     WHERE mb.app_id = $4 AND mb.cid = $7 AND mb.user_id = ANY($2::TEXT[]) \
       AND NOT mb.deleted AND mb.joined_pk < $1::BIGINT \
     ON CONFLICT (app_id, user_id, message_pk) DO UPDATE SET flags = CASE \
       WHEN (user_messages.flags & $3::INTEGER) <> 0 THEN user_messages.flags \
       ELSE (user_messages.flags & ~$6::INTEGER) | excluded.flags END";

/// Takes the mention flag (`$3`) off message `$1`'s rows (app `$4`) of members no longer
/// in the list `$2`: one range of `user_messages_by_message`.
pub(crate) const CLEAR_MENTIONS: &str = "UPDATE user_messages \
     SET flags = flags & ~$3::INTEGER \
     WHERE app_id = $4 AND message_pk = $1 AND (flags & $3::INTEGER) <> 0 \
       AND user_id <> ALL($2::TEXT[])";

/// The live reactions on message `$1` of app `$2`, to tombstone on delete, in the SQLite
/// backend's key order (bytewise): one range of the reactions' primary key
/// `(app_id, message_pk, …)`.
pub(crate) const LIVE_REACTIONS: &str = "SELECT user_id, type FROM reactions \
     WHERE app_id = $2 AND message_pk = $1 AND NOT deleted \
     ORDER BY user_id COLLATE \"C\", type COLLATE \"C\"";

/// A deleted message's (`$2`, app `$1`) flags rows all take the read flag (`$3`): one range
/// of `user_messages_by_message`.
pub(crate) const DELETED_MENTIONS_READ: &str =
    "UPDATE user_messages SET flags = flags | $3 WHERE app_id = $1 AND message_pk = $2";

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
            Self::Channel(_) => "app_id = $1 AND cid = $2 AND parent_pk IS NULL",
            Self::Thread(_) => "app_id = $1 AND parent_pk = $2",
        }
    }

    /// The list's key, parameter `$2` of [`Scope::clause`].
    fn key(&self) -> Box<dyn ToSql + Sync + Send> {
        match self {
            Self::Channel(cid) => Box::new(cid.to_string()),
            Self::Thread(pk) => Box::new(*pk),
        }
    }
}

/// One message the actor may read.
pub async fn get(c: &Conn, app: &str, actor: &Actor, id: Uuid) -> StoreResult<Message> {
    authorize_message(c, app, actor, id).await.map(|(_, m)| m)
}

/// Sends a message; the same id from the same author in the same channel returns the
/// stored message unchanged (`false` in the tuple).
///
/// In a transaction that has not begun (`PgStore::write_pipelined`) it makes two round
/// trips under the app's lock for a message without parent or mentions: `BEGIN`, the lock
/// and the lookups together, then the inserts with the seq write-back and `COMMIT`. In
/// one that has (a batch), it neither begins nor commits.
pub async fn send(
    w: &mut Tx,
    author: &str,
    cid: &Cid,
    req: SendMessageRequest,
    bypass_membership: bool,
) -> StoreResult<(Message, bool)> {
    // The lookups the checks need go out together (pipelined, one round trip); their
    // results are judged in the order of the rules: the channel, the author's right to
    // write (first, so a retry never reveals a channel the author can no longer read),
    // then the id's idempotency. The app's writes are serialized (its row lock), so
    // nothing read here changes before the inserts below. When this send begins the
    // transaction, the lookups go out with `BEGIN` and the lock, and run after them.
    let conn: &Conn = w;
    let app = w.app.as_str();
    let (started, channel, may_write, existing, members, hidden) = tokio::join!(
        w.start(),
        rows::load_channel(conn, app, cid),
        async {
            if bypass_membership {
                let unknown = apps::unknown_users(conn, app, &[author.to_owned()]).await?;
                Ok::<_, StoreError>(unknown.is_empty())
            } else {
                Ok(member_role(conn, app, cid, author).await?.is_some())
            }
        },
        rows::load_message(conn, app, req.id),
        rows::member_ids(conn, app, cid),
        super::member_state::hidden_members(conn, app, cid),
    );
    let started = started?;
    let owns_transaction = started.is_some();
    w.started(started);
    let (conn, app): (&Conn, &str) = (w, &w.app);
    let channel = channel?.ok_or_else(|| StoreError::NotFound(format!("channel {cid}")))?;
    if !may_write? {
        return Err(if bypass_membership {
            StoreError::Invalid(format!("unknown user {author}"))
        } else {
            outsider(conn, app, cid, author).await?
        });
    }
    if let Some((_, existing)) = existing? {
        if existing.user_id == author && existing.cid == *cid {
            return Ok((existing, false));
        }
        return Err(StoreError::Conflict(format!(
            "message id {} is already taken",
            req.id
        )));
    }
    // Membership does not change within this transaction: one lookup serves the mention
    // check and every change emitted below.
    let members = members?;
    let parent_pk = match req.parent_id {
        None => None,
        Some(pid) => {
            if !channel.config.replies {
                return Err(StoreError::Forbidden(format!(
                    "replies are disabled in {cid}"
                )));
            }
            match rows::load_message(w, &w.app, pid).await? {
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
        match rows::load_message(w, &w.app, qid).await? {
            Some((_, q)) if q.cid == *cid => {}
            _ => {
                return Err(StoreError::Invalid(format!(
                    "quoted message {qid} is not in {cid}"
                )));
            }
        }
    }
    let mentions = dedup(req.mentioned_users);
    check_mentions(&members, &mentions)?;
    let mentions_json = serde_json::to_string(&mentions)?;
    let cid_s = cid.to_string();
    let seq = w.next_seq() as i64;
    let then_seq = w.next_seq() as i64;
    let attachments = serde_json::to_string(&req.attachments)?;
    // created_at strictly increases within a channel (a tie-free, clock-skew-proof server
    // order that clients can sort by), even when the wall clock stalls or steps back: the
    // channel's `last_created_at` is bumped and taken by the insert in one statement.
    let insert = format!(
        "WITH t AS (UPDATE channels SET last_created_at = GREATEST(last_created_at + 1, $11) \
           WHERE app_id = $1 AND cid = $3 RETURNING last_created_at) \
         INSERT INTO messages (app_id, id, cid, user_id, text, attachments, parent_pk, \
         parent_id, quoted_message_id, mentioned_users, reaction_counts, reply_count, \
         created_at, updated_at, rev) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '{{}}', 0, \
           t.last_created_at, t.last_created_at, $12 FROM t \
         RETURNING pk, {MESSAGE_COLS}"
    );
    // The message, then its thread root's reply count or its channel's last message
    // (with the next seq, at the message's time): two statements out together, one round
    // trip; the second runs after the first on the server, so it reads the bumped time.
    // Without mentions to record after the insert, the seq write-back and `COMMIT` go out
    // with them when this send began the transaction. Prepared first, so that the three
    // go out in this order when joined.
    let then_sql = match parent_pk {
        Some(_) => format!(
            "UPDATE messages SET reply_count = reply_count + 1, \
             updated_at = (SELECT last_created_at FROM channels \
               WHERE app_id = $2 AND cid = $3), rev = $4 \
             WHERE pk = $1 RETURNING {MESSAGE_COLS}"
        ),
        None => format!(
            "UPDATE channels SET last_message_at = last_created_at, \
             sort_at = last_created_at, rev = $3 \
             WHERE app_id = $1 AND cid = $2 RETURNING {CHANNEL_COLS}"
        ),
    };
    let conn: &Conn = w;
    let (insert, then_stmt) = tokio::try_join!(conn.prepare(&insert), conn.prepare(&then_sql))?;
    // Members who hid the channel see it again with a new top-level message (after it).
    let unhide = match parent_pk {
        None => hidden?,
        Some(_) => Vec::new(),
    };
    let finish = owns_transaction && mentions.is_empty() && unhide.is_empty();
    let app = w.app.as_str();
    let wall = now_ms();
    let values: [&(dyn ToSql + Sync); 12] = [
        &app,
        &req.id,
        &cid_s,
        &author,
        &req.text,
        &attachments,
        &parent_pk,
        &req.parent_id,
        &req.quoted_message_id,
        &mentions_json,
        &wall,
        &seq,
    ];
    let (row, then, committed) = tokio::join!(
        conn.one_prepared(&insert, &values),
        async {
            match parent_pk {
                Some(ppk) => {
                    let params: [&(dyn ToSql + Sync); 4] = [&ppk, &app, &cid_s, &then_seq];
                    let row = conn.one_prepared(&then_stmt, &params).await?;
                    rows::message(&row).map(Change::Message)
                }
                None => {
                    let params: [&(dyn ToSql + Sync); 3] = [&app, &cid_s, &then_seq];
                    let row = conn.one_prepared(&then_stmt, &params).await?;
                    rows::channel(&row).map(Change::Channel)
                }
            }
        },
        async {
            match finish {
                true => w.commit_pipelined().await,
                false => Ok(()),
            }
        }
    );
    // The first failure is the error (a later statement of the pipeline fails only
    // because the transaction was aborted by it).
    let row = row?;
    let then = then?;
    committed?;
    let pk: i64 = rows::get(&row, 0)?;
    let message = rows::message_at(&row, 1)?;
    // A row per mentioned member (Zulip's UserMessage, sparse: see the module docs).
    if !mentions.is_empty() {
        w.exec(
            INSERT_RECIPIENTS,
            &[
                &w.app,
                &cid_s,
                &pk,
                &author,
                &mentions,
                &FLAG_READ,
                &FLAG_MENTIONED,
            ],
        )
        .await?;
    }
    w.emit(Change::Message(message.clone()), members.clone());
    w.emit(then, members);
    super::member_state::unhide(w, cid, unhide).await?;
    Ok((message, true))
}

/// Sends `items` in order inside the caller's transaction; each message's client-side
/// refusal rolls back to its own savepoint (its writes, seq values and changes), a backend
/// failure fails the whole batch. See
/// [`Store::send_messages`](crate::store::Store::send_messages).
pub async fn send_batch(
    w: &mut Tx,
    cid: &Cid,
    items: Vec<(String, SendMessageRequest)>,
    bypass_membership: bool,
) -> StoreResult<Vec<StoreResult<(Message, bool)>>> {
    let mut results = Vec::with_capacity(items.len());
    for (author, req) in items {
        let mark = w.savepoint().await?;
        match send(w, &author, cid, req, bypass_membership).await {
            Ok(sent) => {
                w.release().await?;
                results.push(Ok(sent));
            }
            Err(e @ StoreError::Backend(_)) => return Err(e),
            Err(refused) => {
                w.rollback_to(mark).await?;
                results.push(Err(refused));
            }
        }
    }
    Ok(results)
}

/// A page of `scope` in `pk` order; `extra` bounds it by a pivot `$3` (when `pivot`), the
/// limit is the last parameter.
pub(crate) fn fetch_sql(scope: Scope<'_>, extra: &str, pivot: bool, descending: bool) -> String {
    let dir = if descending { "DESC" } else { "ASC" };
    let limit = if pivot { "$4" } else { "$3" };
    format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE {} {extra} ORDER BY pk {dir} LIMIT {limit}",
        scope.clause()
    )
}

async fn fetch(
    c: &Conn,
    scope: Scope<'_>,
    app: &str,
    extra: &str,
    pivot: Option<i64>,
    descending: bool,
    limit: u32,
) -> StoreResult<Vec<Message>> {
    let sql = fetch_sql(scope, extra, pivot.is_some(), descending);
    let key = scope.key();
    let limit = i64::from(limit);
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&app, key.as_ref()];
    if let Some(p) = &pivot {
        params.push(p);
    }
    params.push(&limit);
    c.all(&sql, &params)
        .await?
        .iter()
        .map(rows::message)
        .collect()
}

/// The pk of message `$3` if it is in the list `scope`: one probe of `(app_id, id)`.
pub(crate) fn pivot_sql(scope: Scope<'_>) -> String {
    format!(
        "SELECT pk FROM messages WHERE {} AND id = $3",
        scope.clause()
    )
}

/// The pk of message `id` in the list, or `NotFound`.
async fn pivot(c: &Conn, scope: Scope<'_>, app: &str, id: Uuid) -> StoreResult<i64> {
    let sql = pivot_sql(scope);
    let key = scope.key();
    match c.opt(&sql, &[&app, key.as_ref(), &id]).await? {
        Some(row) => rows::get(&row, 0),
        None => Err(StoreError::NotFound(format!("message {id} in this list"))),
    }
}

/// Up to `n` messages before pk `p` (or the newest), oldest first, and whether there are
/// more.
async fn older(
    c: &Conn,
    scope: Scope<'_>,
    app: &str,
    p: Option<i64>,
    n: u32,
) -> StoreResult<(Vec<Message>, bool)> {
    let extra = if p.is_some() { "AND pk < $3" } else { "" };
    let mut v = fetch(c, scope, app, extra, p, true, n + 1).await?;
    let more = v.len() > n as usize;
    v.truncate(n as usize);
    v.reverse();
    Ok((v, more))
}

/// Up to `n` messages after pk `p` (from it, if `inclusive`), and whether there are more.
async fn newer(
    c: &Conn,
    scope: Scope<'_>,
    app: &str,
    p: i64,
    inclusive: bool,
    n: u32,
) -> StoreResult<(Vec<Message>, bool)> {
    let extra = if inclusive {
        "AND pk >= $3"
    } else {
        "AND pk > $3"
    };
    let mut v = fetch(c, scope, app, extra, Some(p), false, n + 1).await?;
    let more = v.len() > n as usize;
    v.truncate(n as usize);
    Ok((v, more))
}

/// A page of messages, oldest first, with has-more flags and the user's own reactions and
/// stars on it.
pub async fn list(
    c: &Conn,
    app: &str,
    user: Option<&str>,
    scope: Scope<'_>,
    q: &ListMessagesQuery,
) -> StoreResult<MessagesResponse> {
    let limit = q
        .limit
        .unwrap_or(DEFAULT_MESSAGE_PAGE)
        .clamp(1, MAX_MESSAGE_PAGE);
    let (messages, has_more_before, has_more_after) = if let Some(id) = q.before {
        let p = pivot(c, scope, app, id).await?;
        let (v, more) = older(c, scope, app, Some(p), limit).await?;
        (v, more, true)
    } else if let Some(id) = q.after {
        let p = pivot(c, scope, app, id).await?;
        let (v, more) = newer(c, scope, app, p, false, limit).await?;
        (v, true, more)
    } else if let Some(id) = q.around {
        let p = pivot(c, scope, app, id).await?;
        let before_n = (limit - 1) / 2;
        let (mut v, more_before) = if before_n > 0 {
            older(c, scope, app, Some(p), before_n).await?
        } else {
            let older_exists = !fetch(c, scope, app, "AND pk < $3", Some(p), true, 1)
                .await?
                .is_empty();
            (Vec::new(), older_exists)
        };
        let (after, more_after) = newer(c, scope, app, p, true, limit - before_n).await?;
        v.extend(after);
        (v, more_before, more_after)
    } else {
        let (v, more) = older(c, scope, app, None, limit).await?;
        (v, more, false)
    };
    let (own_reactions, starred) = match user {
        Some(u) => (
            reactions::own_reactions(c, app, u, &messages).await?,
            flags::starred_among(c, app, u, &messages).await?,
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

/// Edits text, attachments or mentions (author only).
pub async fn update(
    w: &mut Tx,
    actor: &Actor,
    id: Uuid,
    req: UpdateMessageRequest,
) -> StoreResult<Message> {
    let (pk, msg) = authorize_message(w, &w.app, actor, id).await?;
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
            check_mentions(&rows::member_ids(w, &w.app, &msg.cid).await?, &new)?;
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
    let seq = w.next_seq() as i64;
    let sql = format!(
        "UPDATE messages SET text = $2, attachments = $3, mentioned_users = $4, edited_at = $5, \
         updated_at = $5, rev = $6 WHERE pk = $1 RETURNING {MESSAGE_COLS}"
    );
    let row = w
        .one(
            &sql,
            &[&pk, &text, &attachments, &mentions_json, &now, &seq],
        )
        .await?;
    let message = rows::message(&row)?;
    w.exec(CLEAR_MENTIONS, &[&pk, &mentions, &FLAG_MENTIONED, &w.app])
        .await?;
    if !mentions.is_empty() {
        w.exec(
            ADD_MENTIONS,
            &[
                &pk,
                &mentions,
                &FLAG_MENTIONED,
                &w.app,
                &msg.user_id,
                &FLAG_READ,
                &msg.cid.to_string(),
            ],
        )
        .await?;
    }
    w.emit_to_members(Change::Message(message.clone()), &message.cid)
        .await?;
    Ok(message)
}

/// Soft-deletes: wipes content and reactions, keeps the row as a tombstone. Deleting a
/// deleted message returns it unchanged.
pub async fn delete(w: &mut Tx, actor: &Actor, id: Uuid) -> StoreResult<Message> {
    let (pk, msg) = authorize_message(w, &w.app, actor, id).await?;
    let is_author = actor.user_id.as_deref() == Some(msg.user_id.as_str()) && !actor.server;
    if !actor.server && !is_author {
        let user = actor.user_id.as_deref().unwrap_or_default();
        let role = member_role(w, &w.app, &msg.cid, user).await?;
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
    let members = rows::member_ids(w, &w.app, &cid).await?;
    let live: Vec<(String, String)> = w
        .all(LIVE_REACTIONS, &[&pk, &w.app])
        .await?
        .iter()
        .map(|r| Ok((rows::get(r, 0)?, rows::get(r, 1)?)))
        .collect::<StoreResult<_>>()?;
    let tombstone = format!(
        "UPDATE reactions SET deleted = TRUE, rev = $5 \
         WHERE app_id = $1 AND message_pk = $2 AND user_id = $3 AND type = $4 \
         RETURNING {REACTION_COLS}"
    );
    for (user, kind) in live {
        let seq = w.next_seq() as i64;
        let row = w
            .one(&tombstone, &[&w.app, &pk, &user, &kind, &seq])
            .await?;
        w.emit(Change::Reaction(rows::reaction(&row)?), members.clone());
    }
    let now = now_ms();
    let seq = w.next_seq() as i64;
    w.exec(
        "UPDATE messages SET text = '', attachments = '[]', mentioned_users = '[]', \
         reaction_counts = '{}', deleted_at = $2, updated_at = $2, rev = $3 WHERE pk = $1",
        &[&pk, &now, &seq],
    )
    .await?;
    w.exec(DELETED_MENTIONS_READ, &[&w.app, &pk, &FLAG_READ])
        .await?;
    let message = rows::load_message_pk(w, pk).await?;
    w.emit(Change::Message(message.clone()), members);
    Ok(message)
}
