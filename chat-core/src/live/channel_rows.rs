//! The rows of a live channel list and how the user's queued changes shape them.
//!
//! Rules:
//!
//! - The rows are the cache's list for the query ([`crate::cache::ChannelQuery`]), plus
//!   each channel with a queued settings change (hide, mute, archive or their undo) that
//!   the cache's filters left out: one primary-key read per such channel (bounded by the
//!   queued changes, never by the channels). So un-hiding shows a channel at once, and a
//!   list of hidden channels shows one being hidden at once.
//! - What shows is decided on the rows with the overlay applied ([`Overlay::shows`]): a
//!   channel being left or deleted never shows, and the query's setting filters are
//!   checked against the queued settings. At most `limit` channels show.
//! - Rows keep the cache's order: (most unread first, when so sorted,) newest activity
//!   first, then newest channel, then cid.

use super::items::ChannelItem;
use super::overlay::Overlay;
use crate::cache::{Cache, CacheResult, CachedMessage, ChannelListItem, ChannelQuery, ChannelSort};

/// The rows of `query`: the cache's list, plus the channels whose queued settings may bring
/// them into it.
pub(crate) fn channel_rows(
    cache: &Cache,
    overlay: &Overlay,
    query: &ChannelQuery,
) -> CacheResult<Vec<ChannelListItem>> {
    let mut rows = cache.channels(query)?;
    let mut added = false;
    for cid in overlay.settings_changing() {
        if rows.iter().any(|r| r.channel.cid == cid) {
            continue;
        }
        if let Some(row) = cache.channel_row(query, &cid)? {
            rows.push(row);
            added = true;
        }
    }
    if added {
        sort_rows(query, &mut rows);
    }
    Ok(rows)
}

/// Whether a channel with queued settings is missing from `rows` (they must be re-read
/// after an outbox-only change).
pub(crate) fn needs_rows(overlay: &Overlay, rows: &[ChannelListItem]) -> bool {
    overlay
        .settings_changing()
        .iter()
        .any(|cid| !rows.iter().any(|r| r.channel.cid == *cid))
}

/// The channel list as the UI shows it: the rows with the overlay laid over them, without
/// the channels the user is leaving or deleting, or whose queued settings the query's
/// filters leave out; at most `limit`.
pub(crate) fn channel_items(
    overlay: &Overlay,
    query: &ChannelQuery,
    rows: &[ChannelListItem],
) -> Vec<ChannelItem> {
    rows.iter()
        .filter(|i| overlay.shows(query, i))
        .take(query.limit as usize)
        .map(|i| overlay.channel(i.clone()))
        .collect()
}

/// A channel list's rows after new top-level `echoes`: each channel's preview is its echo
/// and its sort key rises to the echo's time (as the cache raised it when it stored the
/// echo), so the list re-sorts at once. A channel the list does not hold yet (beyond its
/// limit, or left out by its filter) is asked of the cache again.
pub(crate) fn channel_echoes(
    cache: &Cache,
    overlay: &Overlay,
    query: &ChannelQuery,
    rows: &mut Vec<ChannelListItem>,
    echoes: &[&CachedMessage],
) -> CacheResult<()> {
    for echo in echoes {
        match rows.iter_mut().find(|i| i.channel.cid == echo.message.cid) {
            Some(row) => {
                row.last_message = Some((*echo).clone());
                row.sort_at = row.sort_at.max(echo.message.created_at.millis());
            }
            None => {
                *rows = channel_rows(cache, overlay, query)?;
                return Ok(());
            }
        }
    }
    sort_rows(query, rows);
    Ok(())
}

/// Sorts rows in the cache's order for `query`.
fn sort_rows(query: &ChannelQuery, rows: &mut [ChannelListItem]) {
    let by_unread = query.sort == ChannelSort::Unread;
    rows.sort_by(|a, b| {
        let unread = |i: &ChannelListItem| if by_unread { i.unread.unread_count } else { 0 };
        unread(b)
            .cmp(&unread(a))
            .then(b.sort_at.cmp(&a.sort_at))
            .then(b.channel.created_at.cmp(&a.channel.created_at))
            .then_with(|| b.channel.cid.to_string().cmp(&a.channel.cid.to_string()))
    });
}
