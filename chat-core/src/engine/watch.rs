//! What the facade may ask the engine for without changing anything: new live queries
//! (each laid over the current outbox, so it starts with the user's pending actions
//! shown), the outbox's items (once or live), and receivers of the realtime values. The facade never
//! reaches into the engine's fields: every view of its state is one of these calls.

use chat_protocol::Cid;
use tokio::sync::watch;
use uuid::Uuid;

use super::Engine;
use super::realtime::TypingMap;
use crate::cache::{CacheResult, ChannelQuery};
use crate::live::registry::Window;
use crate::live::{ChannelItem, LiveList, MemberItem, MessageItem, ReadReceipt};
use crate::outbox::OutboxItem;
use crate::realtime::{ConnectionState, Presence};

impl Engine {
    /// A live channel list.
    pub(crate) fn watch_channels(
        &mut self,
        query: ChannelQuery,
    ) -> CacheResult<LiveList<ChannelItem>> {
        let overlay = super::realtime::overlay(&self.outbox, &self.rt, &self.cache);
        self.live.add_channels(&self.cache, &overlay, query)
    }

    /// A live message window on `cid`.
    pub(crate) fn watch_messages(
        &mut self,
        cid: Cid,
        window: Window,
    ) -> CacheResult<LiveList<MessageItem>> {
        let overlay = super::realtime::overlay(&self.outbox, &self.rt, &self.cache);
        self.live.add_messages(&self.cache, &overlay, cid, window)
    }

    /// Live read receipts of `cid`.
    pub(crate) fn watch_reads(&mut self, cid: Cid) -> CacheResult<LiveList<ReadReceipt>> {
        let overlay = super::realtime::overlay(&self.outbox, &self.rt, &self.cache);
        self.live.add_reads(&self.cache, &overlay, cid)
    }

    /// The live member list of `cid`.
    pub(crate) fn watch_members(&mut self, cid: Cid) -> CacheResult<LiveList<MemberItem>> {
        let overlay = super::realtime::overlay(&self.outbox, &self.rt, &self.cache);
        self.live.add_members(&self.cache, &overlay, cid)
    }

    /// A live list of a thread's replies.
    pub(crate) fn watch_thread(&mut self, parent_id: Uuid) -> CacheResult<LiveList<MessageItem>> {
        let overlay = super::realtime::overlay(&self.outbox, &self.rt, &self.cache);
        self.live.add_thread(&self.cache, &overlay, parent_id)
    }

    /// The `@` autocomplete suggestions for `prefix` in `cid` (`live/mentions.rs`).
    pub(crate) fn mention_candidates(
        &self,
        cid: &Cid,
        prefix: &str,
        limit: usize,
    ) -> CacheResult<Vec<MemberItem>> {
        let overlay = super::realtime::overlay(&self.outbox, &self.rt, &self.cache);
        crate::live::mentions::candidates(&self.cache, &overlay, cid, prefix, limit)
    }

    /// The stored draft of `cid` / the thread of `parent_id`.
    pub(crate) fn draft(
        &self,
        cid: &Cid,
        parent_id: Option<Uuid>,
    ) -> CacheResult<Option<crate::cache::Draft>> {
        self.cache.draft(cid, parent_id)
    }

    /// Every queued operation, oldest first.
    pub(crate) fn outbox_items(&self) -> Vec<OutboxItem> {
        super::outbox_feed::items(&self.outbox)
    }

    /// Every queued operation, oldest first, live (see `outbox_feed.rs`).
    pub(crate) fn watch_outbox(&mut self) -> watch::Receiver<Vec<OutboxItem>> {
        self.outbox_feed.subscribe(&self.outbox)
    }

    /// The realtime connection state, live.
    pub(crate) fn watch_connection(&self) -> watch::Receiver<ConnectionState> {
        self.rt.connection.subscribe()
    }

    /// Who is typing, per channel, live.
    pub(crate) fn watch_typing(&self) -> watch::Receiver<TypingMap> {
        self.rt.typing_out.subscribe()
    }

    /// Presence of co-members, live.
    pub(crate) fn watch_presence(&self) -> watch::Receiver<Presence> {
        self.rt.presence_out.subscribe()
    }
}
