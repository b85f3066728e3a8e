//! Read state: mark read (the marker only moves forward) and unread counts: messages after
//! the marker from the covering `messages_unread` index, mentions from `user_messages`'
//! partial index (the count queries are `schema`'s). The same rules as the SQLite
//! backend's `reads`; PostgreSQL's planner picks the same indexes the SQLite plans pin.
//!
//! Rules:
//!
//! - **Mark read** is for current members (the refusals of `access`); `up_to` must be a
//!   message of the channel (`NotFound` otherwise). A marker that would not move forward
//!   changes nothing and publishes nothing: the current read state is answered.
//! - **Unread messages** need no write: they are counted from the marker. Unread mentions
//!   are the `user_messages` rows flagged mentioned and not read; mark read flags those up
//!   to the marker.
//! - Counts come with `counted_through`, the channel's newest message time read in the same
//!   snapshot, so a client can tell counted messages from newer ones.

use std::collections::BTreeMap;

use chat_protocol::{
    Change, ChannelUnread, Cid, MarkReadResponse, ReadState, Timestamp, UnreadResponse,
};
use uuid::Uuid;

use super::access::require_member;
use super::conn::{Conn, Tx};
use super::rows::{self, READ_COLS, now_ms};
use super::schema::{self, FLAG_READ};
use crate::store::{StoreError, StoreResult};

/// The newest message of a channel, replies included (`$1` app, `$2` cid): the newer of
/// the last top-level message (`messages_channel`) and the last reply
/// (`messages_replies`), two probes at the end of an index range, so that the primary key
/// is never walked backwards over the newer messages of the whole app.
pub(crate) const NEWEST_MESSAGE: &str = "SELECT pk, id FROM messages WHERE pk = GREATEST( \
     COALESCE((SELECT pk FROM messages \
       WHERE app_id = $1 AND cid = $2 AND parent_pk IS NULL ORDER BY pk DESC LIMIT 1), 0), \
     COALESCE((SELECT pk FROM messages \
       WHERE app_id = $1 AND cid = $2 AND parent_pk IS NOT NULL ORDER BY pk DESC LIMIT 1), 0))";

/// Flags the user's (`$2`) unread mentions in a channel (`$3`) up to `$4` as read (`$5`):
/// one range of the partial `user_messages_unread_mentions` index. (Unread messages need
/// no write: they are counted from the marker.)
pub(crate) const MARK_READ_FLAGS: &str = "UPDATE user_messages SET flags = flags | $5 \
     WHERE app_id = $1 AND user_id = $2 AND cid = $3 AND (flags & 3) = 2 AND message_pk <= $4";

/// The message `$3` if it is in channel `$2` of app `$1`: one probe of `(app_id, id)`.
pub(crate) const MESSAGE_IN_CHANNEL: &str =
    "SELECT pk, id FROM messages WHERE app_id = $1 AND cid = $2 AND id = $3";

/// The channel's newest message time (`$1` app, `$2` cid): one primary-key probe.
pub(crate) const COUNTED_THROUGH: &str =
    "SELECT last_created_at FROM channels WHERE app_id = $1 AND cid = $2";

/// The user's (`$3`) read row in a channel (`$1` app, `$2` cid): one primary-key probe.
pub(crate) fn read_sql() -> String {
    format!(
        "SELECT last_read_pk, {READ_COLS} FROM reads WHERE app_id = $1 AND cid = $2 AND user_id = $3"
    )
}

/// A `BIGINT` count as the API's `u32` (saturating; counts are never negative).
fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

async fn load_read(
    c: &Conn,
    app: &str,
    cid: &Cid,
    user: &str,
) -> StoreResult<Option<(i64, ReadState)>> {
    match c.opt(&read_sql(), &[&app, &cid.to_string(), &user]).await? {
        None => Ok(None),
        Some(r) => Ok(Some((rows::get(&r, 0)?, rows::read_state_at(&r, 1)?))),
    }
}

/// Moves the user's read marker forward to `up_to` (default: the newest message) and
/// flags everything up to it as read. The marker never moves backwards.
pub async fn mark_read(
    w: &mut Tx,
    user: &str,
    cid: &Cid,
    up_to: Option<Uuid>,
) -> StoreResult<MarkReadResponse> {
    rows::require_channel(w, &w.app, cid).await?;
    require_member(w, &w.app, cid, user).await?;
    let found = match up_to {
        Some(id) => Some(
            w.opt(MESSAGE_IN_CHANNEL, &[&w.app, &cid.to_string(), &id])
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("message {id} in {cid}")))?,
        ),
        None => w.opt(NEWEST_MESSAGE, &[&w.app, &cid.to_string()]).await?,
    };
    let target: Option<(i64, Uuid)> = match found {
        Some(r) => Some((rows::get(&r, 0)?, rows::get(&r, 1)?)),
        None => None,
    };
    let current = load_read(w, &w.app, cid, user).await?;
    let current_pk = current.as_ref().map_or(0, |(pk, _)| *pk);
    let (target_pk, target_id) = match target {
        Some((pk, id)) if pk > current_pk => (pk, Some(id)),
        _ => match current {
            Some((_, state)) => {
                let unread = channel_unread(w, &w.app, user, cid).await?;
                return Ok(MarkReadResponse {
                    read: state,
                    unread,
                });
            }
            None => (0, None),
        },
    };
    let seq = w.next_seq() as i64;
    let sql = format!(
        "INSERT INTO reads (app_id, cid, user_id, last_read_message_id, last_read_pk, last_read_at, rev) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (app_id, cid, user_id) DO UPDATE SET \
         last_read_message_id = excluded.last_read_message_id, last_read_pk = excluded.last_read_pk, \
         last_read_at = excluded.last_read_at, rev = excluded.rev RETURNING {READ_COLS}"
    );
    let row = w
        .one(
            &sql,
            &[
                &w.app,
                &cid.to_string(),
                &user,
                &target_id,
                &target_pk,
                &now_ms(),
                &seq,
            ],
        )
        .await?;
    let read = rows::read_state(&row)?;
    w.exec(
        MARK_READ_FLAGS,
        &[&w.app, &user, &cid.to_string(), &target_pk, &FLAG_READ],
    )
    .await?;
    w.emit_to_members(Change::Read(read.clone()), cid).await?;
    let unread = channel_unread(w, &w.app, user, cid).await?;
    Ok(MarkReadResponse { read, unread })
}

/// The user's unread counts in one channel (index ranges only; see `schema`). A user who
/// is not a current member has none.
pub async fn channel_unread(
    c: &Conn,
    app: &str,
    user: &str,
    cid: &Cid,
) -> StoreResult<ChannelUnread> {
    let key = cid.to_string();
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&app, &user, &key];
    let unread = rows::get::<i64>(&c.one(schema::UNREAD_IN_CHANNEL, &params).await?, 0)?;
    let mentions = rows::get::<i64>(
        &c.one(schema::UNREAD_MENTIONS_IN_CHANNEL, &params).await?,
        0,
    )?;
    Ok(ChannelUnread {
        cid: cid.clone(),
        unread_count: count(unread),
        unread_mentions: count(mentions),
        counted_through: counted_through(c, app, cid).await?,
    })
}

/// The channel's newest message time, read in the same transaction as its counts (one
/// primary-key lookup): what a client needs to tell counted messages from newer ones.
async fn counted_through(c: &Conn, app: &str, cid: &Cid) -> StoreResult<Option<Timestamp>> {
    let last: Option<i64> = match c.opt(COUNTED_THROUGH, &[&app, &cid.to_string()]).await? {
        Some(r) => Some(rows::get(&r, 0)?),
        None => None,
    };
    Ok(last.filter(|&ms| ms > 0).and_then(Timestamp::from_millis))
}

/// Per-channel counts of a `(cid, count)` query (`$1` app, `$2` user).
async fn per_channel(
    c: &Conn,
    sql: &str,
    app: &str,
    user: &str,
) -> StoreResult<BTreeMap<String, u32>> {
    c.all(sql, &[&app, &user])
        .await?
        .iter()
        .map(|r| Ok((rows::get(r, 0)?, count(rows::get(r, 1)?))))
        .collect()
}

/// The user's unread counts in all channels.
pub async fn unread(c: &Conn, app: &str, user: &str) -> StoreResult<UnreadResponse> {
    let unread = per_channel(c, schema::UNREAD_BY_CHANNEL, app, user).await?;
    let mentions = per_channel(c, schema::UNREAD_MENTIONS_BY_CHANNEL, app, user).await?;
    let mut channels = Vec::with_capacity(unread.len());
    for (cid, n) in unread {
        if n == 0 {
            continue;
        }
        let parsed: Cid = cid
            .parse()
            .map_err(|e| StoreError::Backend(format!("corrupt cid: {e}")))?;
        channels.push(ChannelUnread {
            counted_through: counted_through(c, app, &parsed).await?,
            cid: parsed,
            unread_count: n,
            unread_mentions: mentions.get(&cid).copied().unwrap_or(0),
        });
    }
    // Muted channels keep their own counts but count toward no total (no badge).
    let muted = super::member_state::muted_cids(c, app, user).await?;
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
