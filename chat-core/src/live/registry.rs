//! The engine's side of live queries: the open subscriptions, what each last delivered,
//! and the message-window geometry (size, and where it ends when the user has scrolled
//! away from the newest messages).

use std::collections::HashMap;

use chat_protocol::{Cid, Message, Timestamp};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use uuid::Uuid;

use super::LiveList;
use super::diff::{ListDiff, diff};
use super::items::{ChannelItem, MessageItem};
use super::overlay::Overlay;
use crate::cache::{Cache, CacheResult, ChannelQuery};

/// Which slice of a channel's history a message window shows: the newest `limit`
/// top-level messages created before `end` (`None`: up to the newest, following new
/// messages as they arrive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// Messages shown.
    pub limit: u32,
    /// How many messages one `load_older`/`load_newer` step adds.
    pub page: u32,
    /// The most messages kept: beyond it the window slides instead of growing.
    pub max: u32,
    /// Exclusive upper bound (server `created_at`); `None` = live at the newest message.
    pub end: Option<Timestamp>,
}

enum Sub {
    Channels {
        query: ChannelQuery,
        last: Vec<ChannelItem>,
        tx: UnboundedSender<Vec<ListDiff<ChannelItem>>>,
    },
    Messages {
        cid: Cid,
        window: Window,
        last: Vec<MessageItem>,
        /// The server-confirmed messages of the last query, decoded (reused while their
        /// revision is unchanged).
        memo: HashMap<Uuid, Message>,
        tx: UnboundedSender<Vec<ListDiff<MessageItem>>>,
    },
    Thread {
        parent: Uuid,
        last: Vec<MessageItem>,
        tx: UnboundedSender<Vec<ListDiff<MessageItem>>>,
    },
}

/// The open subscriptions.
#[derive(Default)]
pub(crate) struct Registry {
    next_id: u64,
    subs: HashMap<u64, Sub>,
}

fn channels(
    cache: &Cache,
    overlay: &Overlay,
    query: ChannelQuery,
) -> CacheResult<Vec<ChannelItem>> {
    Ok(cache
        .channels(query)?
        .into_iter()
        .map(|item| overlay.channel(item))
        .collect())
}

fn messages(
    cache: &Cache,
    overlay: &Overlay,
    cid: &Cid,
    window: &Window,
    memo: &mut HashMap<Uuid, Message>,
) -> CacheResult<Vec<MessageItem>> {
    let rows = cache.messages_window_memo(cid, window.limit, window.end, Some(memo))?;
    memo.clear();
    memo.extend(
        rows.iter()
            .filter(|m| m.local_state.is_none())
            .map(|m| (m.message.id, m.message.clone())),
    );
    Ok(rows.into_iter().map(|m| overlay.message(m)).collect())
}

fn thread(cache: &Cache, overlay: &Overlay, parent: &Uuid) -> CacheResult<Vec<MessageItem>> {
    Ok(cache
        .thread_replies(parent)?
        .into_iter()
        .map(|m| overlay.message(m))
        .collect())
}

/// Sends `new` as a diff against `last` (a `Reset` if `reset`); `false` if the receiver
/// is gone.
fn deliver<T: super::Keyed + PartialEq + Clone>(
    last: &mut Vec<T>,
    new: Vec<T>,
    tx: &UnboundedSender<Vec<ListDiff<T>>>,
    reset: bool,
) -> bool {
    let batch = if reset {
        vec![ListDiff::Reset { items: new.clone() }]
    } else {
        diff(last, &new)
    };
    *last = new;
    batch.is_empty() || tx.send(batch).is_ok()
}

impl Registry {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Opens a channel-list subscription.
    pub(crate) fn add_channels(
        &mut self,
        cache: &Cache,
        overlay: &Overlay,
        query: ChannelQuery,
    ) -> CacheResult<LiveList<ChannelItem>> {
        let (tx, rx) = unbounded_channel();
        let mut last = Vec::new();
        deliver(&mut last, channels(cache, overlay, query)?, &tx, true);
        let id = self.id();
        self.subs.insert(id, Sub::Channels { query, last, tx });
        Ok(LiveList::new(id, rx))
    }

    /// Opens a message-window subscription.
    pub(crate) fn add_messages(
        &mut self,
        cache: &Cache,
        overlay: &Overlay,
        cid: Cid,
        window: Window,
    ) -> CacheResult<LiveList<MessageItem>> {
        let (tx, rx) = unbounded_channel();
        let mut last = Vec::new();
        let mut memo = HashMap::new();
        let items = messages(cache, overlay, &cid, &window, &mut memo)?;
        deliver(&mut last, items, &tx, true);
        let id = self.id();
        self.subs.insert(
            id,
            Sub::Messages {
                cid,
                window,
                last,
                memo,
                tx,
            },
        );
        Ok(LiveList::new(id, rx))
    }

    /// Opens a thread subscription (every cached reply of `parent`).
    pub(crate) fn add_thread(
        &mut self,
        cache: &Cache,
        overlay: &Overlay,
        parent: Uuid,
    ) -> CacheResult<LiveList<MessageItem>> {
        let (tx, rx) = unbounded_channel();
        let mut last = Vec::new();
        deliver(&mut last, thread(cache, overlay, &parent)?, &tx, true);
        let id = self.id();
        self.subs.insert(id, Sub::Thread { parent, last, tx });
        Ok(LiveList::new(id, rx))
    }

    /// Re-runs every subscription and delivers the differences; forgets subscriptions
    /// whose receiver was dropped.
    pub(crate) fn refresh(&mut self, cache: &Cache, overlay: &Overlay) -> CacheResult<()> {
        let mut closed = Vec::new();
        for (&id, sub) in &mut self.subs {
            let open = match sub {
                Sub::Channels { query, last, tx } => {
                    !tx.is_closed() && deliver(last, channels(cache, overlay, *query)?, tx, false)
                }
                Sub::Messages {
                    cid,
                    window,
                    last,
                    memo,
                    tx,
                } => {
                    !tx.is_closed()
                        && deliver(
                            last,
                            messages(cache, overlay, cid, window, memo)?,
                            tx,
                            false,
                        )
                }
                Sub::Thread { parent, last, tx } => {
                    !tx.is_closed() && deliver(last, thread(cache, overlay, parent)?, tx, false)
                }
            };
            if !open {
                closed.push(id);
            }
        }
        for id in closed {
            self.subs.remove(&id);
        }
        Ok(())
    }

    /// A message window's channel, geometry and delivered items.
    pub(crate) fn window(&mut self, id: u64) -> Option<(&Cid, &mut Window, &[MessageItem])> {
        match self.subs.get_mut(&id)? {
            Sub::Messages {
                cid, window, last, ..
            } => Some((cid, window, last)),
            _ => None,
        }
    }
}
