//! The channel list query: which cached channels a channel list shows, in which order.
//!
//! Rules and bounds:
//!
//! - The default list is every channel that is neither hidden nor archived, most recently
//!   active first (last message time, or creation time for a channel without messages;
//!   ties by creation time, then cid, all descending: the server's order). It walks the
//!   `channels_list` index and stops after `limit` rows that pass the filters.
//! - Sorted by unread count (most unread first, then as above), it walks
//!   `channels_by_unread` the same way.
//! - Filters (channel type, unread only, hidden / muted / archived included, excluded or
//!   alone, a text filter) are checked on each row of that walk: a list costs O(rows
//!   walked), at most the cached channels (the user's own channels, never the app's),
//!   and `limit` when most rows pass. The text filter adds, for each row walked, one
//!   range of the channel's members (its primary key): it matches the channel's name, its
//!   cid and its members' user ids (user profiles are not synced, so member names are not
//!   cached), case-insensitively for ASCII.
//! - The owner's queued changes (a hide, a mute, a leave, a delete) are laid over the rows
//!   by the live list (`live/overlay.rs`): a channel being hidden, archived, left or
//!   deleted leaves the default list at once. A queued un-hide or un-archive shows once
//!   the server confirms it.

use chat_protocol::{Channel, ChannelType, ChannelUnread};
use rusqlite::{OptionalExtension, params};

use super::Cache;
use super::error::CacheResult;
use super::member_state::OwnChannelState;
use super::rows::{ChannelListItem, MESSAGE_SELECT, cached_message, json};

/// The filters of every list (`?2` type, `?3` unread only, `?4`..`?6` hidden, muted,
/// archived as `NULL` = either, `0` = not, `1` = only; `?7` the lowercase text or `NULL`).
macro_rules! channel_list {
    ($index:literal, $order:literal) => {
        channel_list!($index, "?8 IS NULL", $order)
    };
    ($index:literal, $extra:literal, $order:literal) => {
        concat!(
            "SELECT data, unread_count, unread_mentions, sort_at, hidden, muted, archived \
             FROM channels INDEXED BY ",
            $index,
            " WHERE ",
            $extra,
            " AND (?2 IS NULL OR (cid > ?2 || ':' AND cid < ?2 || ';')) \
               AND (?3 = 0 OR unread_count > 0) \
               AND (?4 IS NULL OR hidden = ?4) AND (?5 IS NULL OR muted = ?5) \
               AND (?6 IS NULL OR archived = ?6) \
               AND (?7 IS NULL \
                 OR instr(lower(COALESCE(json_extract(data, '$.name'), '')), ?7) > 0 \
                 OR instr(lower(cid), ?7) > 0 \
                 OR EXISTS (SELECT 1 FROM members AS m WHERE m.cid = channels.cid \
                   AND m.deleted = 0 AND instr(lower(m.user_id), ?7) > 0)) \
             ORDER BY ",
            $order,
            " LIMIT ?1"
        )
    };
}

/// Most recently active first.
pub(crate) const BY_ACTIVITY: &str =
    channel_list!("channels_list", "sort_at DESC, created_at DESC, cid DESC");
/// One channel (`?8`) if it passes the filters: one primary-key probe.
pub(crate) const ONE: &str = channel_list!("sqlite_autoindex_channels_1", "cid = ?8", "cid");
/// Most unread first, then most recently active.
pub(crate) const BY_UNREAD: &str = channel_list!(
    "channels_by_unread",
    "unread_count DESC, sort_at DESC, created_at DESC, cid DESC"
);

/// Whether a list shows channels with a setting (hidden, muted, archived).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Inclusion {
    /// With or without the setting.
    #[default]
    Include,
    /// Only channels without it.
    Exclude,
    /// Only channels with it.
    Only,
}

impl Inclusion {
    /// The SQL parameter: `NULL` = either, else the value the column must have.
    fn param(self) -> Option<bool> {
        match self {
            Self::Include => None,
            Self::Exclude => Some(false),
            Self::Only => Some(true),
        }
    }

    /// Whether a channel with (`set`) or without the setting passes.
    pub fn admits(self, set: bool) -> bool {
        match self {
            Self::Include => true,
            Self::Exclude => !set,
            Self::Only => set,
        }
    }
}

/// The order of a channel list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ChannelSort {
    /// Most recently active first (the server's order).
    #[default]
    LastMessage,
    /// Most unread messages first, then most recently active.
    Unread,
}

/// Which channels a channel list shows and in which order: the first `limit` that pass
/// every filter. By default: every type, neither hidden nor archived (muted ones
/// included), most recently active first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChannelQuery {
    /// Most channels listed.
    pub limit: u32,
    /// Only channels of this type.
    pub kind: Option<ChannelType>,
    /// Only channels with unread messages.
    pub unread_only: bool,
    /// Hidden channels (default: excluded).
    pub hidden: Inclusion,
    /// Muted channels (default: included).
    pub muted: Inclusion,
    /// Archived channels (default: excluded).
    pub archived: Inclusion,
    /// Only channels whose name, cid or a member's user id contains this text
    /// (ASCII case-insensitive); `None` or empty: no text filter.
    pub text: Option<String>,
    /// The order.
    pub sort: ChannelSort,
}

impl ChannelQuery {
    /// The first `limit` channels of the default list.
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            kind: None,
            unread_only: false,
            hidden: Inclusion::Exclude,
            muted: Inclusion::Include,
            archived: Inclusion::Exclude,
            text: None,
            sort: ChannelSort::LastMessage,
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

    /// Whether hidden channels show.
    pub fn hidden(mut self, hidden: Inclusion) -> Self {
        self.hidden = hidden;
        self
    }

    /// Whether muted channels show.
    pub fn muted(mut self, muted: Inclusion) -> Self {
        self.muted = muted;
        self
    }

    /// Whether archived channels show.
    pub fn archived(mut self, archived: Inclusion) -> Self {
        self.archived = archived;
        self
    }

    /// Only channels whose name, cid or a member's id contains `text`.
    pub fn matching(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// The order.
    pub fn sorted_by(mut self, sort: ChannelSort) -> Self {
        self.sort = sort;
        self
    }

    /// Whether a channel with these settings passes the setting filters (what the live
    /// list checks again after laying the owner's queued changes over the rows).
    pub fn admits(&self, own: OwnChannelState) -> bool {
        self.hidden.admits(own.hidden)
            && self.muted.admits(own.muted)
            && self.archived.admits(own.archived)
    }
}

impl From<u32> for ChannelQuery {
    fn from(limit: u32) -> Self {
        Self::new(limit)
    }
}

type Row = (Channel, u32, u32, i64, OwnChannelState);

impl Cache {
    /// The first `limit` channels of the default list (see [`ChannelQuery::new`]), each
    /// with the owner's unread counts and settings and the newest top-level message for
    /// the preview.
    pub fn channel_list(&self, limit: u32) -> CacheResult<Vec<ChannelListItem>> {
        self.channels(&ChannelQuery::new(limit))
    }

    /// The channels a [`ChannelQuery`] lists, in its order.
    pub fn channels(&self, query: &ChannelQuery) -> CacheResult<Vec<ChannelListItem>> {
        self.list_rows(query, None)
    }

    /// The row of `cid` if it passes the query's type, unread and text filters, whatever
    /// its settings (the live list checks them with the user's queued changes applied).
    pub fn channel_row(
        &self,
        query: &ChannelQuery,
        cid: &chat_protocol::Cid,
    ) -> CacheResult<Option<ChannelListItem>> {
        let any = ChannelQuery {
            limit: 1,
            hidden: Inclusion::Include,
            muted: Inclusion::Include,
            archived: Inclusion::Include,
            ..query.clone()
        };
        Ok(self.list_rows(&any, Some(cid.to_string()))?.pop())
    }

    fn list_rows(
        &self,
        query: &ChannelQuery,
        one: Option<String>,
    ) -> CacheResult<Vec<ChannelListItem>> {
        let kind = query.kind.map(|k| k.as_str());
        let text = query
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_ascii_lowercase);
        let sql = match (&one, query.sort) {
            (Some(_), _) => ONE,
            (None, ChannelSort::LastMessage) => BY_ACTIVITY,
            (None, ChannelSort::Unread) => BY_UNREAD,
        };
        let channels: Vec<Row> = self
            .conn
            .prepare_cached(sql)?
            .query_map(
                params![
                    query.limit,
                    kind,
                    query.unread_only,
                    query.hidden.param(),
                    query.muted.param(),
                    query.archived.param(),
                    text,
                    one
                ],
                |r| {
                    let own = OwnChannelState {
                        hidden: r.get(4)?,
                        muted: r.get(5)?,
                        archived: r.get(6)?,
                    };
                    Ok((json(r, 0)?, r.get(1)?, r.get(2)?, r.get(3)?, own))
                },
            )?
            .collect::<Result<_, _>>()?;
        let mut last = self.conn.prepare_cached(&format!(
            "{MESSAGE_SELECT} WHERE m.ck = (SELECT key FROM channel_keys WHERE cid = ?2) \
             AND m.parent_id IS NULL \
             ORDER BY m.order_key DESC LIMIT 1"
        ))?;
        channels
            .into_iter()
            .map(|(channel, unread_count, unread_mentions, sort_at, own)| {
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
                    own,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::member_state::UNREAD_CHANNELS;
    use crate::cache::test_support::plan;

    #[test]
    fn channel_lists_and_the_unread_total_walk_their_indexes() {
        let cache = Cache::open_in_memory().unwrap();
        for (sql, index) in [
            (BY_ACTIVITY, "channels_list"),
            (BY_UNREAD, "channels_by_unread"),
        ] {
            let list = plan(&cache, sql);
            assert!(
                list.contains(&format!("SCAN channels USING INDEX {index}")),
                "{list}"
            );
            assert!(!list.contains("TEMP B-TREE"), "{list}");
            assert!(
                list.contains("SEARCH m USING PRIMARY KEY (cid=?)"),
                "the text filter reads one channel's members: {list}"
            );
        }
        let one = plan(&cache, ONE);
        assert!(
            one.contains("SEARCH channels USING INDEX sqlite_autoindex_channels_1 (cid=?)"),
            "{one}"
        );
        let total = plan(&cache, UNREAD_CHANNELS);
        assert!(
            total.contains("SCAN channels USING COVERING INDEX channels_unread"),
            "{total}"
        );
    }
}
