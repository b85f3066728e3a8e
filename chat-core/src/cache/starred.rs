//! The owner's starred list (`starred` table, schema version 4): which messages the owner
//! starred, most recently sent first, each with a copy of the message. The rules:
//!
//! - The list is the server's (`GET /v1/starred`) as far as the cache knows it. A page
//!   ([`Cache::apply_starred_page`]) stores its messages and drops the rows in the range it
//!   covers that it does not list (unstarred elsewhere), unless a flags change newer than
//!   the page listed them (`flags_rev > 0`).
//! - The owner's flags changes (sync, realtime, the answer to a star) keep it current: an
//!   unstar removes the row (unless a newer star listed it), a star adds the message when
//!   the cache holds it; a star of a message it does not hold is reported
//!   ([`Cache::take_starred_unheld`]) and the engine fetches the newest page for an open
//!   list.
//!   Changes of a cached channel go through the `flags` table first, so only changes that
//!   win there ("keep the higher rev") reach the list.
//! - A limited channel state (docs/protocol.md) says which of its window's messages are
//!   starred, but its older stars' changes up to the state are not sent: the window's
//!   rows follow the state, the channel's other rows lose their flags revision (the next
//!   page decides them), and the engine fetches the newest page for an open list.
//! - The copies never join `messages`: a starred message older than its channel's window
//!   stays out of the window and out of the unread counts. A message change the window
//!   ignores (outside it) still refreshes the copy ("keep the higher rev").
//! - Reading the list prefers the `messages` row of a message the window holds (its local
//!   state and reactions are current there); one index range (`starred_order`) reads it.

use chat_protocol::{ChannelState, Cid, Message, MessageFlags, StarredResponse};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::Cache;
use super::error::{CacheResult, to_i64};
use super::rows::{CachedMessage, json, to_json};

/// The newest `?2` starred rows: id, copy, whether `messages` holds a confirmed row of it,
/// and the owner's (`?1`) reactions on it.
pub(crate) const STARRED_LIST: &str = "SELECT s.message_id, s.data, \
       EXISTS (SELECT 1 FROM messages m WHERE m.id = s.message_id AND m.local_state IS NULL), \
       (SELECT group_concat(r.type, ',') FROM reactions r \
          WHERE r.message_id = s.message_id AND r.user_id = ?1 AND r.deleted = 0) \
     FROM starred s ORDER BY s.created_at DESC, s.message_id DESC LIMIT ?2";

/// The rows a page's range covers that it does not list (`?3`, a JSON array of ids).
const DROP_UNLISTED: &str = "DELETE FROM starred WHERE created_at >= ?1 AND created_at < ?2 \
     AND flags_rev = 0 AND message_id NOT IN (SELECT value FROM json_each(?3))";

/// Stores (or refreshes, keeping the higher `rev`) the copy of a starred message; a new row
/// takes `flags_rev`, an existing one keeps the higher of both.
fn keep(conn: &Connection, m: &Message, flags_rev: i64) -> CacheResult<()> {
    conn.prepare_cached(
        "INSERT INTO starred (message_id, cid, created_at, rev, flags_rev, data) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (message_id) DO UPDATE SET \
           flags_rev = max(starred.flags_rev, excluded.flags_rev), \
           rev = CASE WHEN excluded.rev > starred.rev THEN excluded.rev ELSE starred.rev END, \
           created_at = CASE WHEN excluded.rev > starred.rev \
             THEN excluded.created_at ELSE starred.created_at END, \
           data = CASE WHEN excluded.rev > starred.rev THEN excluded.data ELSE starred.data END",
    )?
    .execute(params![
        m.id.to_string(),
        m.cid.to_string(),
        m.created_at.millis(),
        to_i64("rev", m.rev)?,
        flags_rev,
        to_json(m)
    ])?;
    Ok(())
}

/// Follows one of the owner's flags changes (see the module rules). `message` is the
/// cached message, if the cache holds it. Returns `true` for a star of a message neither
/// the cache nor the list holds (the list lacks it until a page brings it).
pub(crate) fn follow_flags(
    conn: &Connection,
    f: &MessageFlags,
    message: Option<&Message>,
) -> CacheResult<bool> {
    let rev = to_i64("rev", f.rev)?;
    if !f.starred {
        conn.prepare_cached("DELETE FROM starred WHERE message_id = ?1 AND flags_rev <= ?2")?
            .execute(params![f.message_id.to_string(), rev])?;
        return Ok(false);
    }
    match message {
        Some(m) => keep(conn, m, rev).map(|()| false),
        None => {
            let listed = conn
                .prepare_cached(
                    "UPDATE starred SET flags_rev = max(flags_rev, ?2) WHERE message_id = ?1",
                )?
                .execute(params![f.message_id.to_string(), rev])?;
            Ok(listed == 0)
        }
    }
}

/// Lists the messages of a channel state or message page that the owner starred (`ids`).
pub(crate) fn keep_listed(
    conn: &Connection,
    messages: &[Message],
    ids: &[Uuid],
) -> CacheResult<()> {
    for m in messages.iter().filter(|m| ids.contains(&m.id)) {
        keep(conn, m, 0)?;
    }
    Ok(())
}

/// A limited channel's rows lose their flags revision, unless newer than the state (`?2`).
const LIMITED_UNREV: &str = "UPDATE starred SET flags_rev = 0 \
     WHERE cid = ?1 AND flags_rev > 0 AND NOT (?2 IS NOT NULL AND flags_rev > ?2)";

/// A limited channel's window messages (`?2`) that its state does not list as starred (`?3`).
const LIMITED_DROP: &str = "DELETE FROM starred WHERE cid = ?1 AND flags_rev = 0 \
     AND message_id IN (SELECT value FROM json_each(?2)) \
     AND message_id NOT IN (SELECT value FROM json_each(?3))";

/// How many of a channel's rows are outside its window (`?2`).
const LIMITED_OUTSIDE: &str = "SELECT count(*) FROM starred WHERE cid = ?1 \
     AND message_id NOT IN (SELECT value FROM json_each(?2))";

/// Follows a limited channel state (complete up to `after`, the sync's `limited_seq`): see
/// the module rules. Returns whether the channel keeps rows outside the state's window.
pub(crate) fn limited(
    conn: &Connection,
    state: &ChannelState,
    after: Option<i64>,
) -> CacheResult<bool> {
    let cid = state.channel.cid.to_string();
    let window: Vec<String> = state.messages.iter().map(|m| m.id.to_string()).collect();
    let starred: Vec<String> = state.starred.iter().map(Uuid::to_string).collect();
    conn.prepare_cached(LIMITED_UNREV)?
        .execute(params![cid, after])?;
    conn.prepare_cached(LIMITED_DROP)?.execute(params![
        cid,
        to_json(&window),
        to_json(&starred)
    ])?;
    let outside: i64 = conn
        .prepare_cached(LIMITED_OUTSIDE)?
        .query_row(params![cid, to_json(&window)], |r| r.get(0))?;
    Ok(outside > 0)
}

/// Refreshes the copy of `m` if it is starred ("keep the higher rev").
pub(crate) fn refresh_copy(conn: &Connection, m: &Message) -> CacheResult<()> {
    conn.prepare_cached(
        "UPDATE starred SET rev = ?2, created_at = ?3, data = ?4 \
         WHERE message_id = ?1 AND rev < ?2",
    )?
    .execute(params![
        m.id.to_string(),
        to_i64("rev", m.rev)?,
        m.created_at.millis(),
        to_json(m)
    ])?;
    Ok(())
}

impl Cache {
    /// The newest `limit` starred messages, most recently sent first.
    pub fn starred(&self, limit: u32) -> CacheResult<Vec<CachedMessage>> {
        let rows: Vec<(String, Message, bool, Option<String>)> = self
            .conn
            .prepare_cached(STARRED_LIST)?
            .query_map(params![self.user.as_deref().unwrap_or(""), limit], |r| {
                Ok((r.get(0)?, json(r, 1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut list = Vec::with_capacity(rows.len());
        for (id, copy, cached, reactions) in rows {
            let held = match cached {
                true => self.message(&copy.id)?,
                false => None,
            };
            let item = match held {
                Some(m) => CachedMessage { starred: true, ..m },
                None => {
                    let mut own_reactions: Vec<String> = reactions
                        .map(|s| s.split(',').map(str::to_owned).collect())
                        .unwrap_or_default();
                    own_reactions.sort();
                    debug_assert_eq!(id, copy.id.to_string());
                    CachedMessage {
                        message: copy,
                        local_state: None,
                        own_reactions,
                        starred: true,
                    }
                }
            };
            list.push(item);
        }
        Ok(list)
    }

    /// Whether a star of a message the cache does not hold arrived (sync, realtime) since
    /// the last call: the starred list lacks it until a page brings it.
    pub fn take_starred_unheld(&mut self) -> bool {
        std::mem::take(&mut self.starred_unheld)
    }

    /// The channel of a message the starred list holds.
    pub fn starred_cid(&self, id: &Uuid) -> CacheResult<Option<Cid>> {
        let cid: Option<String> = self
            .conn
            .prepare_cached("SELECT cid FROM starred WHERE message_id = ?1")?
            .query_row([id.to_string()], |r| r.get(0))
            .optional()?;
        Ok(cid.and_then(|c| c.parse().ok()))
    }

    /// The oldest message of the starred list (the `before` of the next page).
    pub fn oldest_starred(&self) -> CacheResult<Option<Uuid>> {
        let id: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT message_id FROM starred ORDER BY created_at, message_id LIMIT 1",
            )?
            .query_row([], |r| r.get(0))
            .optional()?;
        Ok(id.and_then(|s| Uuid::parse_str(&s).ok()))
    }

    /// Stores a page of `GET /v1/starred` fetched with `before` (`None`: the newest page):
    /// its messages are listed, and the rows the page's range covers that it does not list
    /// are dropped, unless a newer flags change listed them. The range runs from the page's
    /// oldest message (from the start of time when nothing older exists) up to `before`.
    pub fn apply_starred_page(
        &mut self,
        before: Option<Uuid>,
        page: &StarredResponse,
    ) -> CacheResult<()> {
        let tx = self.conn.transaction()?;
        let upper: Option<i64> = match before {
            None => None,
            Some(id) => tx
                .prepare_cached("SELECT created_at FROM starred WHERE message_id = ?1")?
                .query_row([id.to_string()], |r| r.get(0))
                .optional()?,
        };
        let lower = match page.has_more {
            true => page.messages.iter().map(|m| m.created_at.millis()).min(),
            false => Some(i64::MIN),
        };
        // An anchor the list no longer holds (unstarred meanwhile): no range is known.
        if let Some(lower) = lower.filter(|_| before.is_none() || upper.is_some()) {
            let listed: Vec<String> = page.messages.iter().map(|m| m.id.to_string()).collect();
            tx.prepare_cached(DROP_UNLISTED)?.execute(params![
                lower,
                upper.unwrap_or(i64::MAX),
                to_json(&listed)
            ])?;
        }
        for m in &page.messages {
            keep(&tx, m, 0)?;
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chat_protocol::StarredResponse;

    use super::*;
    use crate::cache::test_support::{channel, member, message, page as sync_page, plan, state};

    #[test]
    fn the_starred_list_is_one_index_range() {
        let cache = Cache::open_in_memory().unwrap();
        let list = plan(&cache, STARRED_LIST);
        assert!(list.contains("SCAN s USING INDEX starred_order"), "{list}");
        assert!(!list.contains("TEMP B-TREE"), "{list}");
        assert!(!list.contains("SCAN m"), "{list}");
        assert!(!list.contains("SCAN r"), "{list}");
        let oldest = plan(
            &cache,
            "SELECT message_id FROM starred ORDER BY created_at, message_id LIMIT 1",
        );
        assert!(oldest.contains("starred_order"), "{oldest}");
        assert!(!oldest.contains("TEMP B-TREE"), "{oldest}");
        let unlisted = plan(&cache, DROP_UNLISTED);
        assert!(
            unlisted.contains(
                "SEARCH starred USING INDEX starred_order (created_at>? AND created_at<?)"
            ),
            "{unlisted}"
        );
        for sql in [
            "DELETE FROM starred WHERE cid = ?1",
            LIMITED_UNREV,
            LIMITED_DROP,
            LIMITED_OUTSIDE,
        ] {
            let by_channel = plan(&cache, sql);
            assert!(
                by_channel.contains("INDEX starred_channel (cid=?"),
                "{sql}: {by_channel}"
            );
            assert!(!by_channel.contains("SCAN starred"), "{sql}: {by_channel}");
        }
    }

    fn page(messages: Vec<Message>, has_more: bool) -> StarredResponse {
        StarredResponse { messages, has_more }
    }

    fn ids(cache: &Cache) -> Vec<String> {
        cache
            .starred(50)
            .unwrap()
            .into_iter()
            .map(|m| m.message.text)
            .collect()
    }

    #[test]
    fn pages_replace_their_range_and_flags_changes_follow() {
        let mut cache = Cache::open_in_memory().unwrap();
        cache.set_user("ann").unwrap();
        let m = |n: u64, text: &str| {
            let mut m = message("team:a", u128::from(n), "bob", (n * 10) as i64, 1);
            m.text = text.into();
            m
        };
        let (m1, m2, m3, m4) = (m(1, "one"), m(2, "two"), m(3, "three"), m(4, "four"));
        cache
            .apply_starred_page(None, &page(vec![m4.clone(), m3.clone()], true))
            .unwrap();
        assert_eq!(ids(&cache), ["four", "three"]);
        assert_eq!(cache.oldest_starred().unwrap(), Some(m3.id));
        cache
            .apply_starred_page(Some(m3.id), &page(vec![m2.clone(), m1.clone()], false))
            .unwrap();
        assert_eq!(ids(&cache), ["four", "three", "two", "one"]);
        // `three` was unstarred elsewhere: the newest page no longer lists it.
        cache
            .apply_starred_page(None, &page(vec![m4.clone(), m2.clone()], true))
            .unwrap();
        assert_eq!(ids(&cache), ["four", "two", "one"]);
        // An unstar flags change drops a row; an older one does not undo a newer star.
        let flags = |m: &Message, starred, rev| MessageFlags {
            message_id: m.id,
            cid: m.cid.clone(),
            user_id: "ann".into(),
            starred,
            rev,
        };
        follow_flags(&cache.conn, &flags(&m1, false, 5), None).unwrap();
        assert_eq!(ids(&cache), ["four", "two"]);
        follow_flags(&cache.conn, &flags(&m3, true, 7), Some(&m3)).unwrap();
        follow_flags(&cache.conn, &flags(&m3, false, 6), None).unwrap();
        assert_eq!(ids(&cache), ["four", "three", "two"]);
        // A star of a message held nowhere is reported; one the list holds is not.
        let m5 = m(5, "five");
        assert!(follow_flags(&cache.conn, &flags(&m5, true, 8), None).unwrap());
        assert!(!follow_flags(&cache.conn, &flags(&m4, true, 9), None).unwrap());
        assert_eq!(ids(&cache), ["four", "three", "two"]);
        // A page that does not list a row a newer flags change listed keeps it.
        cache
            .apply_starred_page(None, &page(vec![m4.clone()], false))
            .unwrap();
        assert_eq!(ids(&cache), ["four", "three"]);
        // An edit refreshes the copy; an older revision does not.
        let mut edited = m4.clone();
        edited.text = "four, edited".into();
        edited.rev = 9;
        refresh_copy(&cache.conn, &edited).unwrap();
        refresh_copy(&cache.conn, &m4).unwrap();
        assert_eq!(ids(&cache), ["four, edited", "three"]);
        assert_eq!(cache.starred_cid(&m4.id).unwrap(), Some(m4.cid.clone()));
        // Copies never join the channel's messages.
        assert!(cache.message(&m4.id).unwrap().is_none());
    }

    #[test]
    fn a_limited_state_decides_its_window_and_leaves_older_stars_to_the_next_page() {
        let mut cache = Cache::open_in_memory().unwrap();
        cache.set_user("ann").unwrap();
        let m = |n: u64| message("team:a", u128::from(n), "bob", (n * 10) as i64, 1);
        let (m1, m3, m4) = (m(1), m(3), m(4));
        let limited = |starred: Vec<Uuid>, seq: u64, cursor: &str| {
            let mut st = state(
                channel("team:a", seq, Some(40)),
                vec![member("team:a", "ann", 1, false)],
                vec![m3.clone(), m4.clone()],
                true,
            );
            st.starred = starred;
            let mut p = sync_page(vec![st], vec![], cursor);
            p.limited_seq = Some(seq);
            p
        };
        cache
            .apply_sync_page(&limited(vec![m4.id], 10, "c1"))
            .unwrap();
        // m1, older than the window, came with a page and was confirmed by a flags change.
        cache
            .apply_starred_page(None, &page(vec![m4.clone(), m1.clone()], false))
            .unwrap();
        let star = MessageFlags {
            message_id: m1.id,
            cid: m1.cid.clone(),
            user_id: "ann".into(),
            starred: true,
            rev: 20,
        };
        follow_flags(&cache.conn, &star, None).unwrap();
        assert!(!cache.take_starred_unheld());
        let listed = |cache: &Cache| -> Vec<Uuid> {
            cache
                .starred(50)
                .unwrap()
                .iter()
                .map(|m| m.message.id)
                .collect()
        };
        assert_eq!(listed(&cache), [m4.id, m1.id]);

        // Both unstarred elsewhere; the channel comes back limited: the window's star goes
        // at once, the older one waits for the next page, which is asked for.
        cache.apply_sync_page(&limited(vec![], 30, "c2")).unwrap();
        assert_eq!(listed(&cache), [m1.id]);
        assert!(cache.take_starred_unheld());
        cache
            .apply_starred_page(None, &page(vec![], false))
            .unwrap();
        assert!(listed(&cache).is_empty());
    }
}
