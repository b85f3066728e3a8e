//! The engine's side of live queries: the open subscriptions, the rows each last read
//! from the cache (before the overlay) and the list each last delivered, and the
//! message-window geometry (size, and where it ends when the user has scrolled away from
//! the newest messages).
//!
//! A refresh does the least work the step's [`Changed`] allows: after an outbox-only
//! change (a request went out, a retry was scheduled) only the overlay is recomputed from
//! the stored rows; after `send_message` the new local echoes are appended to the stored
//! rows without a query (an echo always sorts last; in the channel list it becomes its
//! channel's preview and moves the channel up, as the cache raised its sort key); anything
//! else re-runs the queries.
//! Each path yields exactly what a full re-query would (tested).

use std::collections::{HashMap, HashSet};

use chat_protocol::{Cid, Member, ReadState};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use uuid::Uuid;

use super::LiveList;
pub(crate) use super::changes::{Changed, Window};
use super::channel_rows::{channel_echoes, channel_items, channel_rows, needs_rows};
use super::diff::{ListDiff, diff};
use super::items::{ChannelItem, MemberItem, MessageItem, ReadReceipt};
use super::message_rows::{appended, overlay_messages, push_rows, starred_rows, window_rows};
use super::overlay::Overlay;
use super::quotes::Quotes;
use crate::cache::{Cache, CacheResult, CachedMessage, ChannelListItem, ChannelQuery};

enum Sub {
    Channels {
        query: ChannelQuery,
        rows: Vec<ChannelListItem>,
        last: Vec<ChannelItem>,
        tx: UnboundedSender<Vec<ListDiff<ChannelItem>>>,
    },
    Messages {
        cid: Cid,
        window: Window,
        rows: Vec<CachedMessage>,
        quotes: Quotes,
        last: Vec<MessageItem>,
        tx: UnboundedSender<Vec<ListDiff<MessageItem>>>,
    },
    Thread {
        parent: Uuid,
        rows: Vec<CachedMessage>,
        quotes: Quotes,
        last: Vec<MessageItem>,
        tx: UnboundedSender<Vec<ListDiff<MessageItem>>>,
    },
    /// The owner's starred messages, most recently sent first: the newest `limit` of the
    /// cache's starred list, plus the cached messages a queued star adds; the overlay
    /// decides what shows (a queued unstar hides a row).
    Starred {
        limit: u32,
        rows: Vec<CachedMessage>,
        quotes: Quotes,
        last: Vec<MessageItem>,
        tx: UnboundedSender<Vec<ListDiff<MessageItem>>>,
    },
    /// Other members' read states (no outbox overlay: the owner's own marker is not a
    /// receipt).
    Reads {
        cid: Cid,
        rows: Vec<ReadReceipt>,
        last: Vec<ReadReceipt>,
        tx: UnboundedSender<Vec<ListDiff<ReadReceipt>>>,
    },
    /// A channel's members with their read states; the overlay adds queued member
    /// changes and presence.
    Members {
        cid: Cid,
        rows: Vec<(Member, Option<ReadState>)>,
        last: Vec<MemberItem>,
        tx: UnboundedSender<Vec<ListDiff<MemberItem>>>,
    },
}

/// The cached members of `cid`, each with their read state.
pub(crate) fn member_rows(
    cache: &Cache,
    cid: &Cid,
) -> CacheResult<Vec<(Member, Option<ReadState>)>> {
    let mut reads: HashMap<String, ReadState> = cache
        .reads(cid)?
        .into_iter()
        .map(|r| (r.user_id.clone(), r))
        .collect();
    Ok(cache
        .members(cid)?
        .into_iter()
        .map(|m| {
            let read = reads.remove(&m.user_id);
            (m, read)
        })
        .collect())
}

/// The open subscriptions.
#[derive(Default)]
pub(crate) struct Registry {
    next_id: u64,
    subs: HashMap<u64, Sub>,
    /// The total-unread value.
    pub(crate) total: super::total::TotalFeed,
    /// Quoted messages the server refused to show (their previews say so).
    unavailable: HashSet<Uuid>,
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
    send(tx, batch)
}

impl Sub {
    /// The echoes among `echoes` that belong in this list's rows, in order: top-level
    /// echoes of a window that follows the newest messages, replies of a thread, and
    /// top-level echoes (as last-message previews) for the channel list.
    fn matching<'a>(&self, echoes: &'a [CachedMessage]) -> Vec<&'a CachedMessage> {
        echoes
            .iter()
            .filter(|e| match self {
                Sub::Messages { cid, window, .. } => {
                    window.end.is_none() && e.message.cid == *cid && e.message.parent_id.is_none()
                }
                Sub::Thread { parent, .. } => e.message.parent_id == Some(*parent),
                Sub::Channels { .. } => e.message.parent_id.is_none(),
                Sub::Reads { .. } | Sub::Members { .. } | Sub::Starred { .. } => false,
            })
            .collect()
    }

    /// Brings the stored rows up to date after `changed`.
    fn update_rows(
        &mut self,
        cache: &Cache,
        overlay: &Overlay,
        changed: &Changed,
    ) -> CacheResult<()> {
        if let Changed::Echoes { echoes, .. } = changed {
            let new = self.matching(echoes);
            match self {
                Sub::Channels { query, rows, .. } => {
                    channel_echoes(cache, overlay, query, rows, &new)?;
                }
                Sub::Messages {
                    window,
                    rows,
                    quotes,
                    ..
                } => {
                    push_rows(rows, &new, Some(window.limit as usize));
                    quotes.load(cache, rows)?;
                }
                Sub::Thread { rows, quotes, .. } => {
                    push_rows(rows, &new, None);
                    quotes.load(cache, rows)?;
                }
                Sub::Reads { .. } | Sub::Members { .. } | Sub::Starred { .. } => {}
            }
            return Ok(());
        }
        if let Sub::Channels { query, rows, .. } = self
            && *changed == Changed::Overlay
            && needs_rows(overlay, rows)
        {
            // A channel whose queued settings bring it into this list is not among the rows.
            *rows = channel_rows(cache, overlay, query)?;
            return Ok(());
        }
        if *changed != Changed::Rows {
            return Ok(());
        }
        match self {
            Sub::Channels { query, rows, .. } => *rows = channel_rows(cache, overlay, query)?,
            Sub::Messages {
                cid,
                window,
                rows,
                quotes,
                ..
            } => {
                *rows = window_rows(cache, cid, window, rows)?;
                quotes.load(cache, rows)?;
            }
            Sub::Thread {
                parent,
                rows,
                quotes,
                ..
            } => {
                *rows = cache.thread_replies(parent)?;
                quotes.load(cache, rows)?;
            }
            Sub::Starred {
                limit,
                rows,
                quotes,
                ..
            } => {
                *rows = starred_rows(cache, overlay, *limit)?;
                quotes.load(cache, rows)?;
            }
            Sub::Reads { cid, rows, .. } => {
                let me = cache.user().unwrap_or_default();
                *rows = cache
                    .reads(cid)?
                    .into_iter()
                    .filter(|r| r.user_id != me)
                    .map(ReadReceipt::from)
                    .collect();
            }
            Sub::Members { cid, rows, .. } => *rows = member_rows(cache, cid)?,
        }
        Ok(())
    }

    /// Lays the overlay over the stored rows and delivers the difference; `false` if the
    /// subscriber is gone.
    fn deliver(&mut self, overlay: &Overlay, unavailable: &HashSet<Uuid>, reset: bool) -> bool {
        match self {
            Sub::Channels {
                query,
                rows,
                last,
                tx,
            } => {
                let items = channel_items(overlay, query, rows);
                deliver(last, items, tx, reset)
            }
            Sub::Messages {
                rows,
                quotes,
                last,
                tx,
                ..
            }
            | Sub::Thread {
                rows,
                quotes,
                last,
                tx,
                ..
            } => deliver(
                last,
                overlay_messages(overlay, rows, quotes, unavailable),
                tx,
                reset,
            ),
            Sub::Starred {
                limit,
                rows,
                quotes,
                last,
                tx,
            } => {
                let items = overlay_messages(overlay, rows, quotes, unavailable)
                    .into_iter()
                    .filter(|m| m.starred)
                    .take(*limit as usize)
                    .collect();
                deliver(last, items, tx, reset)
            }
            Sub::Reads { rows, last, tx, .. } => deliver(last, rows.clone(), tx, reset),
            Sub::Members {
                cid,
                rows,
                last,
                tx,
            } => deliver(last, overlay.members(cid, rows), tx, reset),
        }
    }

    /// The fast path after `send_message` when nothing else changed: the new echoes are
    /// added to the rows exactly as `update_rows` does, and the diff is built directly —
    /// the overlay of the other rows cannot have changed, and an echo always sorts last.
    /// Yields exactly what `update_rows` + `deliver` would. Returns `false` if the
    /// subscriber is gone.
    fn append_echoes(
        &mut self,
        cache: &Cache,
        overlay: &Overlay,
        echoes: &[CachedMessage],
    ) -> CacheResult<bool> {
        let new = self.matching(echoes);
        Ok(match self {
            Sub::Channels {
                query,
                rows,
                last,
                tx,
            } => {
                channel_echoes(cache, overlay, query, rows, &new)?;
                let items = channel_items(overlay, query, rows);
                deliver(last, items, tx, false)
            }
            Sub::Messages {
                window,
                rows,
                last,
                tx,
                ..
            } => {
                let excess = push_rows(rows, &new, Some(window.limit as usize));
                send(tx, appended(last, overlay, &new, excess))
            }
            Sub::Thread { rows, last, tx, .. } => {
                let excess = push_rows(rows, &new, None);
                send(tx, appended(last, overlay, &new, excess))
            }
            Sub::Reads { tx, .. } => !tx.is_closed(),
            Sub::Members { tx, .. } => !tx.is_closed(),
            Sub::Starred { tx, .. } => !tx.is_closed(),
        })
    }
}

/// Sends a batch (if not empty); `false` if the subscriber is gone.
fn send<T>(tx: &UnboundedSender<Vec<ListDiff<T>>>, batch: Vec<ListDiff<T>>) -> bool {
    !tx.is_closed() && (batch.is_empty() || tx.send(batch).is_ok())
}

impl Registry {
    fn add<T: Clone>(
        &mut self,
        cache: &Cache,
        overlay: &Overlay,
        make: impl FnOnce(UnboundedSender<Vec<ListDiff<T>>>) -> Sub,
    ) -> CacheResult<LiveList<T>> {
        let (tx, rx) = unbounded_channel();
        let mut sub = make(tx);
        sub.update_rows(cache, overlay, &Changed::Rows)?;
        sub.deliver(overlay, &self.unavailable, true);
        self.next_id += 1;
        let id = self.next_id;
        self.subs.insert(id, sub);
        Ok(LiveList::new(id, rx))
    }

    /// Opens a channel-list subscription.
    pub(crate) fn add_channels(
        &mut self,
        cache: &Cache,
        overlay: &Overlay,
        query: ChannelQuery,
    ) -> CacheResult<LiveList<ChannelItem>> {
        self.add(cache, overlay, |tx| Sub::Channels {
            query,
            rows: Vec::new(),
            last: Vec::new(),
            tx,
        })
    }

    /// Opens a message-window subscription.
    pub(crate) fn add_messages(
        &mut self,
        cache: &Cache,
        overlay: &Overlay,
        cid: Cid,
        window: Window,
    ) -> CacheResult<LiveList<MessageItem>> {
        self.add(cache, overlay, |tx| Sub::Messages {
            cid,
            window,
            rows: Vec::new(),
            quotes: Quotes::default(),
            last: Vec::new(),
            tx,
        })
    }

    /// Opens a thread subscription (every cached reply of `parent`).
    pub(crate) fn add_thread(
        &mut self,
        cache: &Cache,
        overlay: &Overlay,
        parent: Uuid,
    ) -> CacheResult<LiveList<MessageItem>> {
        self.add(cache, overlay, |tx| Sub::Thread {
            parent,
            rows: Vec::new(),
            quotes: Quotes::default(),
            last: Vec::new(),
            tx,
        })
    }

    /// Brings every subscription up to date after `changed` and delivers the
    /// differences; forgets subscriptions whose receiver was dropped.
    pub(crate) fn refresh(
        &mut self,
        cache: &Cache,
        overlay: &Overlay,
        changed: &Changed,
    ) -> CacheResult<()> {
        let mut closed = Vec::new();
        let mut first_error = None;
        for (&id, sub) in &mut self.subs {
            let open = match changed {
                // An echo that quotes a message needs its preview: the full path.
                Changed::Echoes {
                    echoes,
                    overlay: false,
                } if echoes.iter().all(|e| e.message.quoted_message_id.is_none()) => {
                    match sub.append_echoes(cache, overlay, echoes) {
                        Ok(open) => open,
                        Err(e) => {
                            first_error.get_or_insert(e);
                            true
                        }
                    }
                }
                // One failing query must not leave the other subscriptions stale.
                _ => match sub.update_rows(cache, overlay, changed) {
                    Ok(()) => sub.deliver(overlay, &self.unavailable, false),
                    Err(e) => {
                        first_error.get_or_insert(e);
                        true
                    }
                },
            };
            if !open {
                closed.push(id);
            }
        }
        for id in closed {
            self.subs.remove(&id);
        }
        if let Err(e) = self.total.refresh(cache, overlay, changed) {
            first_error.get_or_insert(e);
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Opens a read-receipts subscription.
    pub(crate) fn add_reads(
        &mut self,
        cache: &Cache,
        overlay: &Overlay,
        cid: Cid,
    ) -> CacheResult<LiveList<ReadReceipt>> {
        self.add(cache, overlay, |tx| Sub::Reads {
            cid,
            rows: Vec::new(),
            last: Vec::new(),
            tx,
        })
    }

    /// Opens a member-list subscription.
    pub(crate) fn add_members(
        &mut self,
        cache: &Cache,
        overlay: &Overlay,
        cid: Cid,
    ) -> CacheResult<LiveList<MemberItem>> {
        self.add(cache, overlay, |tx| Sub::Members {
            cid,
            rows: Vec::new(),
            last: Vec::new(),
            tx,
        })
    }

    /// Opens a starred-list subscription showing the newest `limit` starred messages.
    pub(crate) fn add_starred(
        &mut self,
        cache: &Cache,
        overlay: &Overlay,
        limit: u32,
    ) -> CacheResult<LiveList<MessageItem>> {
        self.add(cache, overlay, |tx| Sub::Starred {
            limit,
            rows: Vec::new(),
            quotes: Quotes::default(),
            last: Vec::new(),
            tx,
        })
    }

    /// Delivers the member lists again after presence changed (nothing else did: no
    /// query runs, and no other list is touched).
    pub(crate) fn refresh_presence(&mut self, overlay: &Overlay) {
        self.subs.retain(|_, sub| match sub {
            Sub::Members { .. } => sub.deliver(overlay, &self.unavailable, false),
            _ => true,
        });
    }

    /// How many starred messages the open starred lists show at most (`None`: none open).
    pub(crate) fn starred_shown(&self) -> Option<u32> {
        self.subs
            .values()
            .filter_map(|s| match s {
                Sub::Starred { limit, .. } => Some(*limit),
                _ => None,
            })
            .max()
    }

    /// A starred list's limit (how many of the cache's starred messages it shows).
    pub(crate) fn starred_limit(&mut self, id: u64) -> Option<&mut u32> {
        match self.subs.get_mut(&id)? {
            Sub::Starred { limit, .. } => Some(limit),
            _ => None,
        }
    }

    /// The quoted messages open lists show that the cache does not have (to fetch).
    pub(crate) fn missing_quotes(&self) -> HashSet<Uuid> {
        self.subs
            .values()
            .flat_map(|s| match s {
                Sub::Messages { quotes, .. }
                | Sub::Thread { quotes, .. }
                | Sub::Starred { quotes, .. } => quotes.missing(),
                _ => &[],
            })
            .copied()
            .collect()
    }

    /// The server refused quoted message `id`: its previews say it is unavailable (from
    /// the next delivery on).
    pub(crate) fn quote_unavailable(&mut self, id: Uuid) {
        self.unavailable.insert(id);
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
