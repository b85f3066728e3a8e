//! The rows of message lists (windows, threads, the starred list): reading a window again
//! (reusing unchanged decoded messages), the starred list's rows with queued stars, local
//! echoes appended without a query, and the items the overlay and quote previews make of
//! them. `registry.rs` decides when each runs.

use std::collections::{HashMap, HashSet};

use chat_protocol::{Cid, Message};
use uuid::Uuid;

use super::changes::Window;
use super::diff::ListDiff;
use super::items::MessageItem;
use super::overlay::Overlay;
use super::quotes::Quotes;
use crate::cache::{Cache, CacheResult, CachedMessage};

/// Re-reads a message window, reusing the decoded messages of `rows` whose revision did
/// not change.
pub(super) fn window_rows(
    cache: &Cache,
    cid: &Cid,
    window: &Window,
    rows: &[CachedMessage],
) -> CacheResult<Vec<CachedMessage>> {
    let memo: HashMap<Uuid, &Message> = rows
        .iter()
        .filter(|m| m.local_state.is_none())
        .map(|m| (m.message.id, &m.message))
        .collect();
    cache.messages_window_memo(cid, window.limit, window.end, Some(&memo))
}

/// A message list's items: the overlay laid over the rows, with quote previews.
pub(super) fn overlay_messages(
    overlay: &Overlay,
    rows: &[CachedMessage],
    quotes: &Quotes,
    unavailable: &HashSet<Uuid>,
) -> Vec<MessageItem> {
    let mut items: Vec<MessageItem> = rows.iter().map(|m| overlay.message(m.clone())).collect();
    quotes.decorate(&mut items, overlay, unavailable);
    items
}

/// The rows of a starred list: the newest `limit` of the cache's list (and one more per
/// queued unstar, which the overlay hides), plus the cached messages of queued stars
/// (those older than a full list's oldest row wait for the rows before them), most
/// recently sent first. Finding the queued changes walks the outbox: only open starred
/// lists pay it.
pub(super) fn starred_rows(
    cache: &Cache,
    overlay: &Overlay,
    limit: u32,
) -> CacheResult<Vec<CachedMessage>> {
    let (stars, unstars) = overlay.pending_stars();
    let limit = limit.saturating_add(unstars);
    let mut rows = cache.starred(limit)?;
    let floor = match rows.len() as u32 >= limit {
        true => rows.last().map(|m| m.message.created_at),
        false => None,
    };
    for id in stars {
        if rows.iter().any(|m| m.message.id == id) {
            continue;
        }
        if let Some(m) = cache.message(&id)?
            && floor.is_none_or(|floor| m.message.created_at >= floor)
        {
            rows.push(m);
        }
    }
    rows.sort_by(|a, b| {
        (b.message.created_at, b.message.id).cmp(&(a.message.created_at, a.message.id))
    });
    Ok(rows)
}

/// Appends `new` echoes to a message list's rows, keeping at most `limit` (dropping the
/// oldest); returns how many rows were dropped.
pub(super) fn push_rows(
    rows: &mut Vec<CachedMessage>,
    new: &[&CachedMessage],
    limit: Option<usize>,
) -> usize {
    rows.extend(new.iter().map(|e| (*e).clone()));
    let excess = limit.map_or(0, |l| rows.len().saturating_sub(l));
    rows.drain(..excess);
    excess
}

/// Updates the delivered items of a message list (index-aligned with its rows) after
/// `new` echoes were appended and `excess` of the oldest rows dropped, and returns the
/// matching diff.
pub(super) fn appended(
    last: &mut Vec<MessageItem>,
    overlay: &Overlay,
    new: &[&CachedMessage],
    excess: usize,
) -> Vec<ListDiff<MessageItem>> {
    let dropped_old = excess.min(last.len());
    let skipped_new = excess - dropped_old;
    let mut batch: Vec<ListDiff<MessageItem>> = (0..dropped_old)
        .map(|_| ListDiff::Remove { index: 0 })
        .collect();
    last.drain(..dropped_old);
    for echo in &new[skipped_new..] {
        let item = overlay.message((*echo).clone());
        batch.push(ListDiff::Insert {
            index: last.len(),
            item: item.clone(),
        });
        last.push(item);
    }
    batch
}
