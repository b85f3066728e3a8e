//! The live total-unread value (app badges): the user's unread counts summed over the
//! channels that are not muted, with the outbox laid over them.
//!
//! Rules:
//!
//! - It is computed only while someone holds the value: nothing is read otherwise.
//! - The rows (the cached channels with unread messages: one range of the partial
//!   `channels_unread` index, see `cache/member_state.rs`) are re-read only after a step
//!   that changed cached rows — the same steps that change per-channel counts. An
//!   outbox-only step (a queued mute, mark-read, leave or delete) recomputes the sum from
//!   the stored rows without a query. So a message costs one index range over the
//!   channels with unread messages, never a scan of channels or messages.
//! - A new value is published only when it differs from the last one.

use tokio::sync::watch;

use super::items::TotalUnread;
use super::overlay::Overlay;
use super::registry::Changed;
use crate::cache::{Cache, CacheResult, UnreadRow};

/// The value's sender and the rows it was last computed from.
pub(crate) struct TotalFeed {
    rows: Vec<UnreadRow>,
    /// Whether `rows` are current (false while nobody watched).
    loaded: bool,
    tx: watch::Sender<TotalUnread>,
}

impl Default for TotalFeed {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            loaded: false,
            tx: watch::Sender::new(TotalUnread::default()),
        }
    }
}

impl TotalFeed {
    /// A new watcher of the value, computed now if nobody watched before.
    pub(crate) fn subscribe(
        &mut self,
        cache: &Cache,
        overlay: &Overlay,
    ) -> CacheResult<watch::Receiver<TotalUnread>> {
        if !self.loaded || self.tx.receiver_count() == 0 {
            self.rows = cache.unread_channels()?;
            self.loaded = true;
        }
        self.tx.send_replace(overlay.total_unread(&self.rows));
        Ok(self.tx.subscribe())
    }

    /// Brings the value up to date after `changed` (see the module docs).
    pub(crate) fn refresh(
        &mut self,
        cache: &Cache,
        overlay: &Overlay,
        changed: &Changed,
    ) -> CacheResult<()> {
        if self.tx.receiver_count() == 0 {
            self.loaded = false;
            return Ok(());
        }
        match changed {
            Changed::Nothing => return Ok(()),
            Changed::Rows => self.rows = cache.unread_channels()?,
            Changed::Overlay | Changed::Echoes { .. } => {}
        }
        let new = overlay.total_unread(&self.rows);
        self.tx.send_if_modified(|v| {
            let differs = *v != new;
            *v = new;
            differs
        });
        Ok(())
    }
}
