//! The owner's own settings of each cached channel (hide / mute / archive), and the
//! owner's total unread counts for app badges.
//!
//! Rules:
//!
//! - The settings live in the channel's row (`hidden`, `muted`, `archived`, `state_rev`)
//!   and follow "keep the higher rev": a `member_state` change of the owner, an operation's
//!   answer, or a limited channel state's `own_state` (rev 0 for settings never changed,
//!   which a fresh row takes). Other users' settings never reach a client.
//! - The total unread counts are the sums over the channels with unread messages that
//!   are not muted: one range of the partial `channels_unread` index, which holds only
//!   channels with unread messages (O(those channels), never every channel). The live
//!   value re-reads it only when cached rows changed, the same steps that change
//!   per-channel counts, and lays the outbox over it (a queued mute or mark-read counts at
//!   once).

use chat_protocol::MemberState;
use rusqlite::{Connection, params};

use super::Cache;
use super::error::{CacheResult, to_i64};

/// The channels with unread messages, with their counts and whether they are muted: one
/// range of `channels_unread`.
pub(crate) const UNREAD_CHANNELS: &str = "SELECT cid, unread_count, unread_mentions, muted \
     FROM channels INDEXED BY channels_unread WHERE unread_count > 0";

/// The owner's settings of one channel, as the channel list shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct OwnChannelState {
    /// Hidden from the channel list until the next new message.
    pub hidden: bool,
    /// Muted: counts toward no unread total.
    pub muted: bool,
    /// Archived until un-archived.
    pub archived: bool,
}

impl From<&MemberState> for OwnChannelState {
    fn from(s: &MemberState) -> Self {
        Self {
            hidden: s.hidden,
            muted: s.muted,
            archived: s.archived,
        }
    }
}

/// One channel with unread messages, as the total counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadRow {
    /// The channel.
    pub cid: String,
    /// Unread messages.
    pub unread_count: u32,
    /// Unread mentions.
    pub unread_mentions: u32,
    /// Whether the owner muted it.
    pub muted: bool,
}

/// Stores the owner's settings of a cached channel unless the cached ones are newer.
pub(crate) fn apply(conn: &Connection, state: &MemberState) -> CacheResult<()> {
    conn.prepare_cached(
        "UPDATE channels SET hidden = ?2, muted = ?3, archived = ?4, state_rev = ?5 \
         WHERE cid = ?1 AND state_rev <= ?5",
    )?
    .execute(params![
        state.cid.to_string(),
        state.hidden,
        state.muted,
        state.archived,
        to_i64("rev", state.rev)?
    ])?;
    Ok(())
}

impl Cache {
    /// The channels with unread messages (muted ones included, flagged), in cid order:
    /// what the total unread value sums.
    pub fn unread_channels(&self) -> CacheResult<Vec<UnreadRow>> {
        Ok(self
            .conn
            .prepare_cached(UNREAD_CHANNELS)?
            .query_map([], |r| {
                Ok(UnreadRow {
                    cid: r.get(0)?,
                    unread_count: r.get(1)?,
                    unread_mentions: r.get(2)?,
                    muted: r.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    }
}
