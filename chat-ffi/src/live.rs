//! Live queries across the FFI: each `watch_*` call opens a chat-core live query and
//! pumps its deliveries into a host listener on the crate's runtime (see
//! `subscription.rs` for the delivery rules). A message window also crosses as a
//! [`MessageWindow`] object, so the host can page it while the pump keeps running.

use std::sync::Arc;

use chat_core::client::{self as core, WindowControl};
use chat_core::live::LiveSource;
use tokio::task::JoinHandle;

use crate::client::{FfiClient, cid, uuid};
use crate::diffs::{channel_diffs, member_diffs, message_diffs, receipt_diffs};
use crate::error::ChatError;
use crate::runtime::{run, spawn};
use crate::subscription::{
    ChannelListListener, ConnectionListener, MemberListListener, MessageListListener,
    OutboxListener, PresenceListener, ReadReceiptListener, Subscription, TypingListener, deliver,
};
use crate::types::ConnectionState;

/// Pumps `source` into `call` (converted by `convert`) until the source ends, the
/// subscription is cancelled or the host's callback throws.
pub(crate) fn pump<S: LiveSource, U: Send + 'static>(
    mut source: S,
    convert: impl Fn(S::Item) -> U + Send + 'static,
    call: impl Fn(U) + Send + Sync + 'static,
) -> JoinHandle<()> {
    let call = Arc::new(call);
    spawn(async move {
        while let Some(item) = source.next().await {
            let call = call.clone();
            if !deliver(move |v| call(v), convert(item)).await {
                return;
            }
        }
    })
}

/// A live message window: delivers to its listener, and moves through the history on
/// request. Ends on `cancel()`, `close()` or when released by the GC.
#[derive(Debug, uniffi::Object)]
pub struct MessageWindow {
    control: WindowControl,
    subscription: Arc<Subscription>,
}

#[uniffi::export]
impl MessageWindow {
    /// Shows one more page of older messages (from the cache, else fetched); `false` once
    /// the start of the channel is reached.
    pub async fn load_older(&self) -> Result<bool, ChatError> {
        let control = self.control.clone();
        run(async move { Ok(control.load_older().await?) }).await
    }

    /// Moves one page towards the newest messages; `true` when the window is at the
    /// newest again (and follows new messages).
    pub async fn load_newer(&self) -> Result<bool, ChatError> {
        let control = self.control.clone();
        run(async move { Ok(control.load_newer().await?) }).await
    }

    /// Centres the window on a message, fetching older history as needed.
    pub async fn jump_to(&self, message_id: String) -> Result<(), ChatError> {
        let control = self.control.clone();
        let id = uuid("message id", &message_id)?;
        run(async move { Ok(control.jump_to(id).await?) }).await
    }

    /// Stops delivering (idempotent).
    pub fn cancel(&self) {
        self.subscription.cancel();
    }

    /// Whether the window still delivers.
    pub fn is_active(&self) -> bool {
        self.subscription.is_active()
    }
}

#[uniffi::export]
impl FfiClient {
    /// A live window on a channel's newest `page` messages (following new ones),
    /// delivered to `listener`; page it with the returned [`MessageWindow`].
    pub async fn watch_messages(
        &self,
        cid: String,
        page: u32,
        listener: Arc<dyn MessageListListener>,
    ) -> Result<Arc<MessageWindow>, ChatError> {
        let client = self.inner.clone();
        let cid = self::cid(&cid)?;
        let window = run(async move { client.messages(&cid, page).await }).await?;
        let control = window.control();
        let task = pump(window, message_diffs, move |d| listener.on_diffs(d));
        Ok(Arc::new(MessageWindow {
            control,
            subscription: Subscription::new(task),
        }))
    }

    /// A thread's replies, oldest first, delivered to `listener` (cached replies at once,
    /// the newest fetched in the background).
    pub async fn watch_thread(
        &self,
        parent_id: String,
        listener: Arc<dyn MessageListListener>,
    ) -> Result<Arc<Subscription>, ChatError> {
        let client = self.inner.clone();
        let parent = uuid("parent id", &parent_id)?;
        let list = run(async move { client.thread(parent).await }).await?;
        Ok(Subscription::new(pump(list, message_diffs, move |d| {
            listener.on_diffs(d);
        })))
    }

    /// The live channel list (the first `limit` by activity), delivered to `listener`.
    pub async fn watch_channels(
        &self,
        limit: u32,
        listener: Arc<dyn ChannelListListener>,
    ) -> Result<Arc<Subscription>, ChatError> {
        let client = self.inner.clone();
        let list = run(async move { client.channel_list(limit).await }).await?;
        Ok(Subscription::new(pump(list, channel_diffs, move |d| {
            listener.on_diffs(d);
        })))
    }

    /// A channel's read receipts (how far each other member has read), delivered to
    /// `listener`.
    pub async fn watch_read_receipts(
        &self,
        cid: String,
        listener: Arc<dyn ReadReceiptListener>,
    ) -> Result<Arc<Subscription>, ChatError> {
        let client = self.inner.clone();
        let cid = self::cid(&cid)?;
        let list = run(async move { client.read_receipts(&cid).await }).await?;
        Ok(Subscription::new(pump(list, receipt_diffs, move |d| {
            listener.on_diffs(d);
        })))
    }

    /// A channel's member list (role, online, last read; the user's queued member changes
    /// shown at once), delivered to `listener`.
    pub async fn watch_members(
        &self,
        cid: String,
        listener: Arc<dyn MemberListListener>,
    ) -> Result<Arc<Subscription>, ChatError> {
        let client = self.inner.clone();
        let cid = self::cid(&cid)?;
        let list = run(async move { client.members(&cid).await }).await?;
        Ok(Subscription::new(pump(list, member_diffs, move |d| {
            listener.on_diffs(d);
        })))
    }

    /// Who else is typing in `cid`, delivered to `listener` (the current list first).
    pub fn watch_typing(
        &self,
        cid: String,
        listener: Arc<dyn TypingListener>,
    ) -> Result<Arc<Subscription>, ChatError> {
        let watch = self.inner.typing(&self::cid(&cid)?);
        let convert = |users: Vec<core::TypingUser>| users.into_iter().map(Into::into).collect();
        Ok(Subscription::new(pump(watch, convert, move |u| {
            listener.on_typing(u);
        })))
    }

    /// Who is online among the users sharing a channel with this user, delivered to
    /// `listener` (the current set first; empty after a reconnect until someone comes or
    /// goes).
    pub fn watch_presence(&self, listener: Arc<dyn PresenceListener>) -> Arc<Subscription> {
        let convert = |p: core::Presence| p.online_users();
        let updates = self.inner.presence().updates();
        Subscription::new(pump(updates, convert, move |u| listener.on_presence(u)))
    }

    /// Every queued operation, oldest first, delivered to `listener` (the current list
    /// first, then each change: items appear, change state and leave).
    pub async fn watch_outbox(
        &self,
        listener: Arc<dyn OutboxListener>,
    ) -> Result<Arc<Subscription>, ChatError> {
        let client = self.inner.clone();
        let live = run(async move { client.live_outbox().await }).await?;
        let convert = |items: Vec<core::OutboxItem>| items.into_iter().map(Into::into).collect();
        Ok(Subscription::new(pump(live.updates(), convert, move |i| {
            listener.on_outbox(i);
        })))
    }

    /// The connection state now.
    pub fn connection_state(&self) -> ConnectionState {
        self.inner.connection_state().current().into()
    }

    /// The connection state, delivered to `listener` (the current one first).
    pub fn watch_connection(&self, listener: Arc<dyn ConnectionListener>) -> Arc<Subscription> {
        let updates = self.inner.connection_state().updates();
        Subscription::new(pump(updates, Into::into, move |s| listener.on_state(s)))
    }
}
