//! What applying changes needs to know about a cached channel ([`Facts`]: its window
//! bounds, the owner's join time and read marker), read once per channel per transaction,
//! and the local maintenance of the owner's unread counts.
//!
//! Unread counts are exact when they come from the server (limited channel states,
//! `GET /v1/unread`). Between those, they follow the server's rules locally: a message from
//! someone else is unread if it is live, was sent after the owner (last) joined and comes
//! after the owner's read marker; thread replies count; deleting a message reads it; an
//! edit moves its mention. Each channel keeps `unread_through`, the newest `created_at` its
//! last exact count covered: a message first cached later but sent before that (a reply
//! the limited window did not hold) was already counted and is not counted again. The
//! server's counts say how far they reach (`counted_through`, the channel's newest message
//! time when they were taken); `unread_through` moves there, so a message the counts hold
//! but whose change was still on its way is counted once, not twice.

use chat_protocol::{ChannelUnread, Message, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

use super::error::{CacheError, CacheResult};
use super::rows::channel_key;
use super::schema::LOCAL_ORDER_BASE;

/// Facts about one cached channel, plus the unread count changes not yet written.
#[derive(Debug)]
pub(crate) struct Facts {
    /// The channel's key in `channel_keys` (what its messages are stored under).
    pub(crate) key: i64,
    /// `created_at` (ms) of the oldest cached top-level message of the window.
    window_start: Option<i64>,
    /// The window reaches the start of history.
    window_complete: bool,
    /// The newest `created_at` the last exact unread count covered.
    through: i64,
    /// When the owner (last) joined (ms); older messages are never unread.
    joined_at: i64,
    /// The owner's read marker message id.
    pub(crate) marker: Option<String>,
    /// Up to which `created_at` the owner has read: the marker message's time when it is
    /// cached, else the time the marker moved (newer messages are certainly unread).
    read_through: Option<i64>,
    unread_delta: i64,
    mentions_delta: i64,
}

fn parse_time(text: String, what: &str) -> CacheResult<i64> {
    let t: Timestamp = serde_json::from_value(text.into())
        .map_err(|e| CacheError::Corrupt(format!("undecodable {what} row: {e}")))?;
    Ok(t.millis())
}

fn mentions(m: &Message, me: &str) -> bool {
    m.mentioned_users.iter().any(|u| u == me)
}

impl Facts {
    /// Reads the facts of `cid`; `None` if the channel is not cached.
    pub(crate) fn load(conn: &Connection, me: &str, cid: &str) -> CacheResult<Option<Self>> {
        type Row = (
            Option<i64>,
            bool,
            i64,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let row: Option<Row> = conn
            .prepare_cached(
                "SELECT c.window_start, c.window_complete, c.unread_through, \
                   (SELECT json_extract(m.data, '$.created_at') FROM members m \
                      WHERE m.cid = c.cid AND m.user_id = ?2), \
                   json_extract(r.data, '$.last_read_message_id'), \
                   json_extract(r.data, '$.last_read_at') \
                 FROM channels c LEFT JOIN reads r ON r.cid = c.cid AND r.user_id = ?2 \
                 WHERE c.cid = ?1",
            )?
            .query_row(params![cid, me], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .optional()?;
        let Some((window_start, window_complete, through, joined, marker, read_at)) = row else {
            return Ok(None);
        };
        let marker_at: Option<i64> = match &marker {
            Some(id) => conn
                .prepare_cached("SELECT created_at FROM messages WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?,
            None => None,
        };
        let read_through = match (marker_at, read_at) {
            (Some(at), _) => Some(at),
            (None, Some(read_at)) => Some(parse_time(read_at, "read")?),
            (None, None) => None,
        };
        Ok(Some(Self {
            key: channel_key(conn, cid)?,
            window_start,
            window_complete,
            through,
            joined_at: joined.map_or(Ok(i64::MIN), |t| parse_time(t, "member"))?,
            marker,
            read_through,
            unread_delta: 0,
            mentions_delta: 0,
        }))
    }

    /// Whether a top-level message that is not cached lies before the window (inserting
    /// it would leave a hole in the cached history).
    pub(crate) fn before_window(&self, created_at: i64) -> bool {
        !self.window_complete && self.window_start.is_some_and(|start| created_at < start)
    }

    fn is_unread(&self, created_at: i64) -> bool {
        created_at >= self.joined_at && self.read_through.is_none_or(|t| created_at > t)
    }

    /// A live message from someone else was cached for the first time.
    pub(crate) fn count_new(&mut self, me: &str, m: &Message) {
        let created = m.created_at.millis();
        if created > self.through && self.is_unread(created) {
            self.unread_delta += 1;
            self.mentions_delta += i64::from(mentions(m, me));
        }
    }

    /// A cached, live message from someone else became a tombstone.
    pub(crate) fn uncount(&mut self, me: &str, old: &Message) {
        if self.is_unread(old.created_at.millis()) {
            self.unread_delta -= 1;
            self.mentions_delta -= i64::from(mentions(old, me));
        }
    }

    /// A cached, live message from someone else was edited: its mention of the owner may
    /// have appeared or gone.
    pub(crate) fn remention(&mut self, me: &str, old: &Message, new: &Message) {
        if self.is_unread(new.created_at.millis()) {
            self.mentions_delta += i64::from(mentions(new, me)) - i64::from(mentions(old, me));
        }
    }

    /// Forgets the pending count changes (after they were written).
    pub(crate) fn settle(&mut self) {
        self.unread_delta = 0;
        self.mentions_delta = 0;
    }

    /// Writes the pending count changes.
    pub(crate) fn flush(&self, conn: &Connection, cid: &str) -> CacheResult<()> {
        if self.unread_delta != 0 || self.mentions_delta != 0 {
            conn.prepare_cached(
                "UPDATE channels SET unread_count = max(unread_count + ?2, 0), \
                 unread_mentions = max(unread_mentions + ?3, 0) WHERE cid = ?1",
            )?
            .execute(params![cid, self.unread_delta, self.mentions_delta])?;
        }
        Ok(())
    }
}

/// [`recount`]'s statement: `?1` the cid, `?2` the last read `order_key`, `?3` the owner,
/// `?4` [`LOCAL_ORDER_BASE`], `?5` the channel key. Confirmed rows have
/// `order_key = created_at` (below `LOCAL_ORDER_BASE`), so the channel's `(ck, order_key)`
/// index serves the range.
pub(crate) const RECOUNT: &str = "UPDATE channels SET \
   unread_count = (SELECT count(*) FROM messages m \
     WHERE m.ck = ?5 AND m.order_key > ?2 AND m.order_key < ?4 AND m.user_id != ?3 \
     AND m.deleted_at IS NULL AND m.local_state IS NULL), \
   unread_mentions = (SELECT count(*) FROM messages m \
     WHERE m.ck = ?5 AND m.order_key > ?2 AND m.order_key < ?4 AND m.user_id != ?3 \
     AND m.deleted_at IS NULL AND m.local_state IS NULL \
     AND EXISTS (SELECT 1 FROM json_each(m.data, '$.mentioned_users') WHERE value = ?3)) \
 WHERE cid = ?1";

/// The owner's read marker moved (or its message arrived): count the cached messages
/// after it (flush the channel's [`Facts`] first).
pub(crate) fn recount(conn: &Connection, me: &str, cid: &str) -> CacheResult<()> {
    let Some(facts) = Facts::load(conn, me, cid)? else {
        return Ok(());
    };
    let after = facts
        .read_through
        .unwrap_or(i64::MIN)
        .max(facts.joined_at.saturating_sub(1));
    conn.prepare_cached(RECOUNT)?
        .execute(params![cid, after, me, LOCAL_ORDER_BASE, facts.key])?;
    Ok(())
}

/// Stores exact counts for every cached channel (unlisted ones have none).
pub(crate) fn replace_all(conn: &Connection, channels: &[ChannelUnread]) -> CacheResult<()> {
    conn.prepare_cached(
        "UPDATE channels SET unread_count = 0, unread_mentions = 0, unread_through = max( \
           unread_through, coalesce((SELECT m.order_key FROM messages m \
             WHERE m.ck = (SELECT k.key FROM channel_keys k WHERE k.cid = channels.cid) \
             AND m.order_key < ?1 AND m.local_state IS NULL \
             ORDER BY m.order_key DESC LIMIT 1), 0))",
    )?
    .execute([LOCAL_ORDER_BASE])?;
    for c in channels {
        store_exact(conn, c)?;
    }
    Ok(())
}

/// Stores one channel's exact counts. When the server says up to which message time they
/// count (`counted_through`), `unread_through` moves there: a message created up to it
/// that arrives later (its realtime push or sync change was still on its way) is already
/// in the counts and is not counted again.
pub(crate) fn store_exact(conn: &Connection, c: &ChannelUnread) -> CacheResult<()> {
    conn.prepare_cached(
        "UPDATE channels SET unread_count = ?2, unread_mentions = ?3, \
           unread_through = max(unread_through, coalesce(?4, 0)) WHERE cid = ?1",
    )?
    .execute(params![
        c.cid.to_string(),
        c.unread_count,
        c.unread_mentions,
        c.counted_through.map(|t| t.millis())
    ])?;
    Ok(())
}
