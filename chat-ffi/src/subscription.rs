//! Live queries across the FFI: the host implements a listener, chat-ffi pumps the live
//! list into it on a background task, and a [`Subscription`] ends the pump on `close()`
//! or when the host's garbage collector releases it. Each batch is handed to the listener
//! on a blocking thread, one batch at a time and in order, so a slow listener delays only
//! its own list, never the engine.

use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;

use crate::diffs::{ChannelDiff, MemberDiff, MessageDiff, ReadReceiptDiff};
use crate::outbox::OutboxEntry;
use crate::types::{ConnectionState, TypingUser};

/// Receives a message list's diffs (a `Reset` first).
#[uniffi::export(with_foreign)]
pub trait MessageListListener: Send + Sync {
    /// One batch: apply its diffs in order.
    fn on_diffs(&self, diffs: Vec<MessageDiff>);
}

/// Receives the channel list's diffs (a `Reset` first).
#[uniffi::export(with_foreign)]
pub trait ChannelListListener: Send + Sync {
    /// One batch: apply its diffs in order.
    fn on_diffs(&self, diffs: Vec<ChannelDiff>);
}

/// Receives a channel's read receipts as diffs (a `Reset` first).
#[uniffi::export(with_foreign)]
pub trait ReadReceiptListener: Send + Sync {
    /// One batch: apply its diffs in order.
    fn on_diffs(&self, diffs: Vec<ReadReceiptDiff>);
}

/// Receives a channel's member list as diffs (a `Reset` first).
#[uniffi::export(with_foreign)]
pub trait MemberListListener: Send + Sync {
    /// One batch: apply its diffs in order.
    fn on_diffs(&self, diffs: Vec<MemberDiff>);
}

/// Receives who is typing in a channel (the current list first, then each change).
#[uniffi::export(with_foreign)]
pub trait TypingListener: Send + Sync {
    /// Everyone typing now, sorted by user id.
    fn on_typing(&self, users: Vec<TypingUser>);
}

/// Receives who is online (the current set first, then each change).
#[uniffi::export(with_foreign)]
pub trait PresenceListener: Send + Sync {
    /// The user ids online now, sorted.
    fn on_presence(&self, online: Vec<String>);
}

/// Receives the outbox's items (the current list first, then each change).
#[uniffi::export(with_foreign)]
pub trait OutboxListener: Send + Sync {
    /// Every queued operation now, oldest first.
    fn on_outbox(&self, items: Vec<OutboxEntry>);
}

/// Receives the connection state (the current one first, then each change).
#[uniffi::export(with_foreign)]
pub trait ConnectionListener: Send + Sync {
    /// The new state.
    fn on_state(&self, state: ConnectionState);
}

/// A running live query; ends on [`Subscription::cancel`], on `close()` (the host's
/// `AutoCloseable`/dispose, which uniffi generates) or when released by the GC.
#[derive(Debug, uniffi::Object)]
pub struct Subscription {
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Subscription {
    pub(crate) fn new(task: JoinHandle<()>) -> Arc<Self> {
        Arc::new(Self {
            task: Mutex::new(Some(task)),
        })
    }
}

#[uniffi::export]
impl Subscription {
    /// Stops delivering (idempotent). A batch being delivered finishes first.
    pub fn cancel(&self) {
        let task = self
            .task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            task.abort();
        }
    }

    /// Whether the subscription still delivers.
    pub fn is_active(&self) -> bool {
        self.task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .is_some_and(|t| !t.is_finished())
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// Hands `value` to a host callback on a blocking thread and waits for it to return;
/// `false` if the callback panicked (the subscription then ends).
pub(crate) async fn deliver<T: Send + 'static>(
    call: impl FnOnce(T) + Send + 'static,
    value: T,
) -> bool {
    tokio::task::spawn_blocking(move || call(value))
        .await
        .is_ok()
}
