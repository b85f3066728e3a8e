//! Live queries: a channel list, a channel's message window, a thread and a channel's
//! read receipts (and the total-unread value, `total.rs`), each delivered
//! to the app as an initial [`ListDiff::Reset`] followed by minimal diffs whenever the
//! cache or the outbox changes.
//!
//! The engine keeps, per subscription, only the list it last delivered (bounded by the
//! window size, whatever the history length). After every change it re-runs the
//! subscription's index-backed query, lays the outbox over it (`overlay.rs`), diffs it
//! against the delivered list (`diff.rs`) and sends the batch through an unbounded channel:
//! the engine never waits for the app, and the app's code never runs while the engine
//! holds anything. A [`LiveList`] is the receiving end; dropping it ends the subscription.

mod changes;
mod channel_rows;
#[cfg(test)]
mod channel_state_tests;
pub mod diff;
pub mod items;
pub mod mentions;
mod message_rows;
pub(crate) mod overlay;
#[cfg(test)]
mod overlay_tests;
mod quotes;
pub(crate) mod registry;
mod source;
pub(crate) mod total;

pub use diff::{Keyed, ListDiff, diff};
pub use items::{
    ChannelItem, MemberItem, MessageItem, MessageState, QuotedPreview, ReadReceipt, TotalUnread,
};
pub use source::{LiveSource, Updates};

use tokio::sync::mpsc::UnboundedReceiver;

/// The receiving end of a live query: batches of diffs, the first being a `Reset`.
/// Dropping it (or calling [`LiveList::close`]) cancels the subscription.
#[derive(Debug)]
pub struct LiveList<T> {
    pub(crate) id: u64,
    pub(crate) rx: UnboundedReceiver<Vec<ListDiff<T>>>,
    /// The list with every received batch applied (kept when `track` is on).
    items: Vec<T>,
}

impl<T: Clone> LiveList<T> {
    pub(crate) fn new(id: u64, rx: UnboundedReceiver<Vec<ListDiff<T>>>) -> Self {
        Self {
            id,
            rx,
            items: Vec::new(),
        }
    }

    /// The subscription's id (stable for its lifetime).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Waits for the next batch of diffs (the first is a `Reset`). `None` once the client
    /// is shut down. [`LiveList::items`] reflects the batch when this returns.
    pub async fn next(&mut self) -> Option<Vec<ListDiff<T>>> {
        let batch = self.rx.recv().await?;
        ListDiff::apply_all(&mut self.items, &batch);
        Some(batch)
    }

    /// Takes every batch already delivered without waiting, applying them; returns how
    /// many there were.
    pub fn drain(&mut self) -> usize {
        let mut n = 0;
        while let Ok(batch) = self.rx.try_recv() {
            ListDiff::apply_all(&mut self.items, &batch);
            n += 1;
        }
        n
    }

    /// The list as of the batches received so far.
    pub fn items(&self) -> &[T] {
        &self.items
    }

    /// Ends the subscription.
    pub fn close(self) {}
}

/// A value the engine keeps up to date (the connection state, presence): read it with
/// [`LiveValue::current`], wait for changes with [`LiveValue::changed`] or
/// [`LiveValue::wait_for`]. Values are cloned out, so nothing the app holds can ever
/// block the engine.
#[derive(Debug, Clone)]
pub struct LiveValue<T> {
    rx: tokio::sync::watch::Receiver<T>,
}

impl<T: Clone> LiveValue<T> {
    /// Starts from the current value: [`LiveValue::changed`] waits for the next one.
    pub(crate) fn new(mut rx: tokio::sync::watch::Receiver<T>) -> Self {
        rx.mark_unchanged();
        Self { rx }
    }

    /// The value now.
    pub fn current(&self) -> T {
        self.rx.borrow().clone()
    }

    /// Waits for the next change and returns the new value; `None` once the client is
    /// shut down.
    pub async fn changed(&mut self) -> Option<T> {
        self.rx.changed().await.ok()?;
        Some(self.rx.borrow_and_update().clone())
    }

    /// Waits until the value satisfies `pred` (returns at once if it does now); `None`
    /// once the client is shut down.
    pub async fn wait_for(&mut self, mut pred: impl FnMut(&T) -> bool) -> Option<T> {
        loop {
            let now = self.rx.borrow_and_update().clone();
            if pred(&now) {
                return Some(now);
            }
            self.rx.changed().await.ok()?;
        }
    }
}
