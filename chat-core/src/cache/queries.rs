//! Read queries over the cache, the building blocks of live queries: the channel list,
//! a channel's message window, thread replies, single messages and the per-channel
//! members, reads, reactions, unread counts and window bounds. Every list query is backed
//! by an index (see the query-plan test below).

use std::collections::HashMap;

use chat_protocol::{
    Channel, ChannelType, ChannelUnread, Cid, Member, Message, Reaction, ReadState, Timestamp,
};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::Cache;
use super::error::CacheResult;
use super::rows::{
    CachedMessage, ChannelListItem, MESSAGE_SELECT, WindowBounds, cached_message,
    cached_message_memo, json,
};

const CHANNEL_LIST: &str = "SELECT data, unread_count, unread_mentions, sort_at FROM channels \
     WHERE (?2 IS NULL OR (cid > ?2 || ':' AND cid < ?2 || ';')) \
       AND (?3 = 0 OR unread_count > 0) \
     ORDER BY sort_at DESC, created_at DESC, cid DESC LIMIT ?1";

/// The authors of a channel's newest `?2` confirmed messages, most recent first.
const RECENT_AUTHORS: &str = "SELECT user_id FROM ( \
       SELECT user_id, order_key FROM messages \
       WHERE ck = (SELECT key FROM channel_keys WHERE cid = ?1) AND local_state IS NULL \
       ORDER BY order_key DESC LIMIT ?2) \
     GROUP BY user_id ORDER BY max(order_key) DESC";

/// Which channels a channel list shows: the first `limit` by last activity, optionally
/// only one channel type and only channels with unread messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelQuery {
    /// Most channels listed.
    pub limit: u32,
    /// Only channels of this type.
    pub kind: Option<ChannelType>,
    /// Only channels with unread messages.
    pub unread_only: bool,
}

impl ChannelQuery {
    /// The first `limit` channels, of every type.
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            kind: None,
            unread_only: false,
        }
    }

    /// Only channels of type `kind`.
    pub fn of_kind(mut self, kind: ChannelType) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Only channels with unread messages.
    pub fn unread_only(mut self) -> Self {
        self.unread_only = true;
        self
    }
}

impl From<u32> for ChannelQuery {
    fn from(limit: u32) -> Self {
        Self::new(limit)
    }
}

impl Cache {
    pub(super) fn me(&self) -> &str {
        self.user.as_deref().unwrap_or("")
    }

    /// The first `limit` channels, most recently active first (by the last message time,
    /// or the creation time for a channel without messages; ties by creation time, then
    /// cid, all descending — the server's order), each with the owner's unread counts and
    /// the newest top-level message for the preview.
    pub fn channel_list(&self, limit: u32) -> CacheResult<Vec<ChannelListItem>> {
        self.channels(ChannelQuery::new(limit))
    }

    /// [`Cache::channel_list`] with a [`ChannelQuery`] filter.
    pub fn channels(&self, query: ChannelQuery) -> CacheResult<Vec<ChannelListItem>> {
        let kind = query.kind.map(|k| k.as_str());
        let channels: Vec<(Channel, u32, u32, i64)> = self
            .conn
            .prepare_cached(CHANNEL_LIST)?
            .query_map(params![query.limit, kind, query.unread_only], |r| {
                Ok((json(r, 0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut last = self.conn.prepare_cached(&format!(
            "{MESSAGE_SELECT} WHERE m.ck = (SELECT key FROM channel_keys WHERE cid = ?2) \
             AND m.parent_id IS NULL \
             ORDER BY m.order_key DESC LIMIT 1"
        ))?;
        channels
            .into_iter()
            .map(|(channel, unread_count, unread_mentions, sort_at)| {
                let last_message = last
                    .query_row(params![self.me(), channel.cid.to_string()], cached_message)
                    .optional()?;
                Ok(ChannelListItem {
                    sort_at,
                    unread: ChannelUnread {
                        cid: channel.cid.clone(),
                        unread_count,
                        unread_mentions,
                        counted_through: None,
                    },
                    channel,
                    last_message,
                })
            })
            .collect()
    }

    /// Up to `limit` top-level messages of `cid` — the newest ones, or the newest strictly
    /// older than `before` (a server `created_at`) — returned oldest first. Local echoes of
    /// unsent messages come after every server-confirmed message, in enqueue order (they
    /// are never "before" a server time).
    pub fn messages_window(
        &self,
        cid: &Cid,
        limit: u32,
        before: Option<Timestamp>,
    ) -> CacheResult<Vec<CachedMessage>> {
        self.messages_window_memo(cid, limit, before, None)
    }

    /// [`Cache::messages_window`], reusing already decoded server-confirmed messages of
    /// `memo` whose revision did not change (what a live window re-runs after each change).
    pub fn messages_window_memo(
        &self,
        cid: &Cid,
        limit: u32,
        before: Option<Timestamp>,
        memo: Option<&HashMap<Uuid, &Message>>,
    ) -> CacheResult<Vec<CachedMessage>> {
        let before = before.map_or(i64::MAX, |t| t.millis());
        let mut out: Vec<CachedMessage> = self
            .conn
            .prepare_cached(&format!(
                "{MESSAGE_SELECT} WHERE m.ck = (SELECT key FROM channel_keys WHERE cid = ?2) \
             AND m.parent_id IS NULL \
                 AND m.order_key < ?3 ORDER BY m.order_key DESC LIMIT ?4"
            ))?
            .query_map(params![self.me(), cid.to_string(), before, limit], |r| {
                cached_message_memo(r, memo)
            })?
            .collect::<Result<_, _>>()?;
        out.reverse();
        Ok(out)
    }

    /// Up to `limit` top-level messages of `cid` strictly newer than `after` (a server
    /// `created_at`), oldest first; local echoes come last, as in the window.
    pub fn messages_after(
        &self,
        cid: &Cid,
        after: Timestamp,
        limit: u32,
    ) -> CacheResult<Vec<CachedMessage>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "{MESSAGE_SELECT} WHERE m.ck = (SELECT key FROM channel_keys WHERE cid = ?2) \
             AND m.parent_id IS NULL \
                 AND m.order_key > ?3 ORDER BY m.order_key LIMIT ?4"
            ))?
            .query_map(
                params![self.me(), cid.to_string(), after.millis(), limit],
                cached_message,
            )?
            .collect::<Result<_, _>>()?)
    }

    /// The oldest cached server-confirmed top-level message of `cid` (where the next
    /// older history page starts).
    pub fn oldest_message(&self, cid: &Cid) -> CacheResult<Option<CachedMessage>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "{MESSAGE_SELECT} WHERE m.ck = (SELECT key FROM channel_keys WHERE cid = ?2) \
             AND m.parent_id IS NULL \
                 AND m.local_state IS NULL ORDER BY m.order_key LIMIT 1"
            ))?
            .query_row(params![self.me(), cid.to_string()], cached_message)
            .optional()?)
    }

    /// The newest cached server-confirmed top-level message of `cid` (what "read up to
    /// here" means for the user).
    pub fn newest_message(&self, cid: &Cid) -> CacheResult<Option<CachedMessage>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "{MESSAGE_SELECT} WHERE m.ck = (SELECT key FROM channel_keys WHERE cid = ?2) \
             AND m.parent_id IS NULL \
                 AND m.local_state IS NULL ORDER BY m.order_key DESC LIMIT 1"
            ))?
            .query_row(params![self.me(), cid.to_string()], cached_message)
            .optional()?)
    }

    /// The cached replies of a thread, oldest first (local echoes last).
    pub fn thread_replies(&self, parent_id: &Uuid) -> CacheResult<Vec<CachedMessage>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "{MESSAGE_SELECT} WHERE m.parent_id = ?2 ORDER BY m.order_key"
            ))?
            .query_map(params![self.me(), parent_id.to_string()], cached_message)?
            .collect::<Result<_, _>>()?)
    }

    /// One cached message (server-confirmed or local echo).
    pub fn message(&self, id: &Uuid) -> CacheResult<Option<CachedMessage>> {
        Ok(self
            .conn
            .prepare_cached(&format!("{MESSAGE_SELECT} WHERE m.id = ?2"))?
            .query_row(params![self.me(), id.to_string()], cached_message)
            .optional()?)
    }

    /// The authors of `cid`'s newest `window` confirmed messages, the most recent first,
    /// each once (one range of the channel's window index).
    pub fn recent_authors(&self, cid: &Cid, window: u32) -> CacheResult<Vec<String>> {
        Ok(self
            .conn
            .prepare_cached(RECENT_AUTHORS)?
            .query_map(params![cid.to_string(), window], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }

    /// A cached channel.
    pub fn channel(&self, cid: &Cid) -> CacheResult<Option<Channel>> {
        Ok(self
            .conn
            .prepare_cached("SELECT data FROM channels WHERE cid = ?1")?
            .query_row([cid.to_string()], |r| json(r, 0))
            .optional()?)
    }

    /// The current members of a cached channel, oldest membership first (as the server
    /// lists them).
    pub fn members(&self, cid: &Cid) -> CacheResult<Vec<Member>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT data FROM members WHERE cid = ?1 AND deleted = 0 \
                 ORDER BY created_at, user_id",
            )?
            .query_map([cid.to_string()], |r| json(r, 0))?
            .collect::<Result<_, _>>()?)
    }

    /// Whether the channel is cached.
    pub fn has_channel(&self, cid: &Cid) -> CacheResult<bool> {
        super::rows::channel_cached(&self.conn, &cid.to_string())
    }

    /// The read states of a cached channel, by user id.
    pub fn reads(&self, cid: &Cid) -> CacheResult<Vec<ReadState>> {
        Ok(self
            .conn
            .prepare_cached("SELECT data FROM reads WHERE cid = ?1 ORDER BY user_id")?
            .query_map([cid.to_string()], |r| json(r, 0))?
            .collect::<Result<_, _>>()?)
    }

    /// The cached live reactions on a message, oldest first. For a message cached from a
    /// limited channel state this holds only the owner's reactions plus those added since
    /// (the message's `reaction_counts` are always exact).
    pub fn reactions(&self, message_id: &Uuid) -> CacheResult<Vec<Reaction>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT data FROM reactions WHERE message_id = ?1 AND deleted = 0 \
                 ORDER BY created_at, user_id, type",
            )?
            .query_map([message_id.to_string()], |r| json(r, 0))?
            .collect::<Result<_, _>>()?)
    }

    /// The owner's unread counts in a cached channel.
    pub fn unread(&self, cid: &Cid) -> CacheResult<Option<ChannelUnread>> {
        Ok(self
            .conn
            .prepare_cached("SELECT unread_count, unread_mentions FROM channels WHERE cid = ?1")?
            .query_row([cid.to_string()], |r| {
                Ok(ChannelUnread {
                    cid: cid.clone(),
                    unread_count: r.get(0)?,
                    unread_mentions: r.get(1)?,
                    counted_through: None,
                })
            })
            .optional()?)
    }

    /// Which part of a cached channel's top-level history is cached.
    pub fn window(&self, cid: &Cid) -> CacheResult<Option<WindowBounds>> {
        Ok(self
            .conn
            .prepare_cached("SELECT window_start, window_complete FROM channels WHERE cid = ?1")?
            .query_row([cid.to_string()], |r| {
                Ok(WindowBounds {
                    oldest: r.get::<_, Option<i64>>(0)?.and_then(Timestamp::from_millis),
                    reaches_start: r.get(1)?,
                })
            })
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::test_support::plan;

    #[test]
    fn list_queries_are_index_backed() {
        let cache = Cache::open_in_memory().unwrap();
        let list = plan(&cache, CHANNEL_LIST);
        assert!(list.contains("channels_list"), "{list}");
        assert!(!list.contains("TEMP B-TREE"), "{list}");
        let window = plan(
            &cache,
            &format!(
                "{MESSAGE_SELECT} WHERE m.ck = (SELECT key FROM channel_keys WHERE cid = ?2) \
             AND m.parent_id IS NULL \
                 AND m.order_key < ?3 ORDER BY m.order_key DESC LIMIT ?4"
            ),
        );
        assert!(window.contains("messages_window"), "{window}");
        assert!(!window.contains("TEMP B-TREE"), "{window}");
        let thread = plan(
            &cache,
            &format!("{MESSAGE_SELECT} WHERE m.parent_id = ?2 ORDER BY m.order_key"),
        );
        assert!(thread.contains("messages_thread"), "{thread}");
        assert!(!thread.contains("TEMP B-TREE"), "{thread}");
        let recount = plan(&cache, crate::cache::unread::RECOUNT);
        assert!(
            recount.contains(
                "SEARCH m USING INDEX messages_window (ck=? AND order_key>? AND order_key<?)"
            ),
            "{recount}"
        );
        assert!(!recount.contains("SCAN m"), "{recount}");
        // The mention ranking reads one range of the window index; its grouping sorts at
        // most the `?2` rows of that range.
        let recent = plan(&cache, RECENT_AUTHORS);
        assert!(
            recent.contains("SEARCH messages USING INDEX messages_window (ck=?)"),
            "{recent}"
        );
        assert!(!recent.contains("SCAN messages"), "{recent}");
    }
}
