//! Quote-reply previews in message lists (windows, threads, the starred list): each item
//! that quotes a message carries a [`QuotedPreview`] of it. The rules:
//!
//! - A preview shows the quoted message as the UI shows it: from the same list's items
//!   when the list holds it (the overlay already laid over it), else from the cache
//!   ([`Cache::quoted_message`]: its `messages` row, else the copy fetched for quotes)
//!   with the overlay laid over it, so a local edit or delete shows in every preview.
//! - The quoted messages a list needs beyond its own rows are read with the rows (one
//!   primary-key lookup each, only for the quotes the list's rows make) and kept with
//!   them; a delivery only lays the overlay over them.
//! - A quote the cache cannot answer is `Loading`, and reported by
//!   [`Quotes::missing`] for the engine to fetch once; one the server refused
//!   (`404`/`403`) is `Unavailable`.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::items::{MessageItem, QuotedPreview};
use super::overlay::Overlay;
use crate::cache::{Cache, CacheResult, CachedMessage};

/// The quoted messages a list's rows refer to but do not contain, as the cache had them
/// when the rows were last read.
#[derive(Debug, Default)]
pub(crate) struct Quotes {
    held: HashMap<Uuid, CachedMessage>,
    /// Quoted ids the cache did not have.
    missing: Vec<Uuid>,
}

/// The ids `rows` quote that are not among `rows`, each once, in row order.
fn outside(rows: &[CachedMessage]) -> Vec<Uuid> {
    let quoted: Vec<Uuid> = rows
        .iter()
        .filter_map(|m| m.message.quoted_message_id)
        .collect();
    if quoted.is_empty() {
        return quoted;
    }
    let inside: HashSet<Uuid> = rows.iter().map(|m| m.message.id).collect();
    let mut seen = HashSet::new();
    quoted
        .into_iter()
        .filter(|q| !inside.contains(q) && seen.insert(*q))
        .collect()
}

impl Quotes {
    /// Reads the quoted messages `rows` need beyond themselves (reusing none: a re-read
    /// of the rows re-reads them too).
    pub(crate) fn load(&mut self, cache: &Cache, rows: &[CachedMessage]) -> CacheResult<()> {
        self.held.clear();
        self.missing.clear();
        for id in outside(rows) {
            match cache.quoted_message(&id)? {
                Some(m) => {
                    self.held.insert(id, m);
                }
                None => self.missing.push(id),
            }
        }
        Ok(())
    }

    /// The quoted messages the cache did not have at the last read.
    pub(crate) fn missing(&self) -> &[Uuid] {
        &self.missing
    }

    /// Sets the preview of every item that quotes a message. `unavailable`: quoted ids the
    /// server refused.
    pub(crate) fn decorate(
        &self,
        items: &mut [MessageItem],
        overlay: &Overlay,
        unavailable: &HashSet<Uuid>,
    ) {
        if items.iter().all(|i| i.message.quoted_message_id.is_none()) {
            return;
        }
        let index: HashMap<Uuid, usize> = items
            .iter()
            .enumerate()
            .map(|(i, item)| (item.message.id, i))
            .collect();
        let previews: Vec<Option<QuotedPreview>> = items
            .iter()
            .map(|item| {
                let id = item.message.quoted_message_id?;
                Some(if let Some(&i) = index.get(&id) {
                    QuotedPreview::of(&items[i].message)
                } else if let Some(held) = self.held.get(&id) {
                    QuotedPreview::of(&overlay.message(held.clone()).message)
                } else if unavailable.contains(&id) {
                    QuotedPreview::Unavailable { id }
                } else {
                    QuotedPreview::Loading { id }
                })
            })
            .collect();
        for (item, preview) in items.iter_mut().zip(previews) {
            item.quoted = preview;
        }
    }
}
