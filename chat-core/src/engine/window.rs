//! Moving a live message window (older, newer, jump to a message) and storing history
//! fetched for it. Moving reads the cache first; only when the cache has no more of the
//! history does the engine fetch a page from the server (`before=<oldest cached id>`),
//! store it contiguously with the cached window, and move again. The window keeps at most
//! `max` messages: past that it slides instead of growing, so memory stays bounded however
//! far the user scrolls.

use chat_protocol::{Change, Cid, MessagesResponse, SyncChange};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::{Engine, Query};
use crate::client::error::{ClientError, ClientResult};
use crate::clock::Millis;

impl Engine {
    /// Grows a window one page towards older messages, sliding it if that makes it
    /// longer than `max`, and tells `waiter` whether older messages remain. When the cache
    /// runs out first, nothing moves yet: the page before the oldest cached message is
    /// fetched ([`Query::History`]), stored, and the window settles over it (sliding
    /// first would drop the newest page and then not show the fetched one).
    pub(crate) fn window_older(
        &mut self,
        sub: u64,
        waiter: oneshot::Sender<ClientResult<bool>>,
        now: Millis,
    ) {
        match self.grow_older(sub) {
            Ok(Grown::Done) => {
                let settled = self.window_settle(sub).map(|()| true);
                self.answer(waiter, settled);
            }
            Ok(Grown::Start) => {
                let settled = self.window_settle(sub).map(|()| false);
                self.answer(waiter, settled);
            }
            Ok(Grown::Fetch { cid, before, limit }) => self.ask(
                Query::History {
                    sub,
                    cid,
                    before,
                    limit,
                    waiter,
                },
                now,
            ),
            Err(e) => {
                self.answer(waiter, Err(e));
            }
        }
    }

    /// Grows the window's limit by a page; says whether the cache holds it.
    fn grow_older(&mut self, sub: u64) -> ClientResult<Grown> {
        let Some((cid, window, _)) = self.live.window(sub) else {
            return Err(ClientError::Closed);
        };
        let cid = cid.clone();
        window.limit = window.limit.saturating_add(window.page);
        let spec = *window;
        let cached = self
            .cache
            .messages_window(&cid, spec.limit, spec.end)?
            .len() as u32;
        if cached >= spec.limit {
            return Ok(Grown::Done);
        }
        let bounds = self.cache.window(&cid)?;
        if bounds.is_none_or(|b| b.reaches_start) {
            return Ok(Grown::Start);
        }
        let before = self.cache.oldest_message(&cid)?.map(|m| m.message.id);
        Ok(Grown::Fetch {
            cid,
            before,
            limit: spec.page,
        })
    }

    /// Keeps a window within `max` messages after it grew: past that it slides (keeping
    /// the oldest `max` of what it would show), then refreshes.
    pub(crate) fn window_settle(&mut self, sub: u64) -> ClientResult<()> {
        let Some((cid, window, _)) = self.live.window(sub) else {
            return Err(ClientError::Closed);
        };
        let (cid, spec) = (cid.clone(), *window);
        let items = self.cache.messages_window(&cid, spec.limit, spec.end)?;
        if items.len() as u32 > spec.max {
            let cut = &items[spec.max as usize];
            if cut.local_state.is_none() {
                let (_, window, _) = self.live.window(sub).expect("checked");
                window.end = Some(cut.message.created_at);
                window.limit = spec.max;
            }
        }
        self.touch();
        Ok(())
    }

    /// Moves a window one page towards the newest messages; returns whether it is at the
    /// newest (following new messages) now.
    pub(crate) fn window_newer(&mut self, sub: u64) -> ClientResult<bool> {
        let Some((cid, window, items)) = self.live.window(sub) else {
            return Err(ClientError::Closed);
        };
        let Some(last) = items.last() else {
            window.end = None;
            self.touch();
            return Ok(true);
        };
        if window.end.is_none() {
            return Ok(true);
        }
        let (cid, spec, after) = (cid.clone(), *window, last.message.created_at);
        let newer = self.cache.messages_after(&cid, after, spec.page + 1)?;
        let end = match newer.get(spec.page as usize) {
            Some(m) if m.local_state.is_none() => Some(m.message.created_at),
            _ => None,
        };
        let (_, window, _) = self.live.window(sub).expect("checked");
        window.end = end;
        window.limit = spec.limit.saturating_add(spec.page).min(spec.max);
        self.touch();
        Ok(end.is_none())
    }

    /// Centres a window on a cached message (or its thread root). `false` if the message
    /// is not cached.
    pub(crate) fn window_jump(&mut self, sub: u64, id: Uuid) -> ClientResult<bool> {
        let Some((cid, window, _)) = self.live.window(sub) else {
            return Err(ClientError::Closed);
        };
        let (cid, spec) = (cid.clone(), *window);
        let Some(mut target) = self.cache.message(&id)? else {
            return Ok(false);
        };
        if let Some(parent) = target.message.parent_id {
            match self.cache.message(&parent)? {
                Some(root) => target = root,
                None => return Ok(false),
            }
        }
        if target.message.cid != cid {
            return Err(ClientError::InvalidInput(format!(
                "message {id} is not in {cid}"
            )));
        }
        let half = spec.page / 2;
        let newer = if target.local_state.is_some() {
            Vec::new()
        } else {
            self.cache
                .messages_after(&cid, target.message.created_at, half + 1)?
        };
        let (end, limit) = match newer.get(half as usize) {
            Some(m) if m.local_state.is_none() => {
                (Some(m.message.created_at), spec.page.max(half * 2 + 1))
            }
            // Fewer than `half` newer messages, or local echoes among them: follow the
            // newest, with room for everything newer than the target plus `half` older.
            _ => {
                let all_newer = if target.local_state.is_some() {
                    0
                } else {
                    self.cache
                        .messages_after(&cid, target.message.created_at, spec.max)?
                        .len() as u32
                };
                (None, spec.page.max(all_newer + 1 + half))
            }
        };
        let (_, window, _) = self.live.window(sub).expect("checked");
        window.end = end;
        window.limit = limit.min(spec.max);
        self.touch();
        Ok(true)
    }

    /// Stores an older history page fetched for a window with `before` (the oldest cached
    /// message when the fetch started). If the cached window changed meanwhile (a sync
    /// replaced it), the page would not join it and is dropped: storing it would claim
    /// history the cache does not hold.
    pub(crate) fn apply_history(
        &mut self,
        cid: &Cid,
        before: Option<Uuid>,
        page: &MessagesResponse,
    ) -> ClientResult<()> {
        let oldest = self.cache.oldest_message(cid)?.map(|m| m.message.id);
        if oldest == before {
            self.cache.apply_history_page(cid, page)?;
        }
        self.touch();
        Ok(())
    }

    /// Stores fetched thread replies (and the user's reactions on them).
    pub(crate) fn apply_messages(&mut self, page: &MessagesResponse) -> ClientResult<()> {
        let changes: Vec<SyncChange> = page
            .messages
            .iter()
            .map(|m| SyncChange {
                seq: m.rev,
                change: Change::Message(m.clone()),
            })
            .chain(page.own_reactions.iter().map(|r| SyncChange {
                seq: r.rev,
                change: Change::Reaction(r.clone()),
            }))
            .collect();
        self.cache.apply_changes(&changes)?;
        self.touch();
        Ok(())
    }
}

/// Where growing a window towards older messages got.
enum Grown {
    /// The cache holds the page.
    Done,
    /// The cache holds the channel's start: nothing older exists.
    Start,
    /// The cache has no more: fetch the page before `before`.
    Fetch {
        cid: Cid,
        before: Option<Uuid>,
        limit: u32,
    },
}
