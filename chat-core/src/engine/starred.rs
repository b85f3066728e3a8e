//! The starred list's moves: opening it (the cache's list at once, the server's newest
//! page fetched behind it) and growing it a page at a time. Growing reads the cache first;
//! only when the cache's list runs out does the engine fetch the page before the oldest
//! cached star ([`Query::Starred`]) and store it (rules: `cache/starred.rs`).

use tokio::sync::oneshot;

use super::{Engine, Query};
use crate::cache::CacheResult;
use crate::client::error::{ClientError, ClientResult};
use crate::clock::Millis;
use crate::live::overlay::Overlay;
use crate::live::{LiveList, MessageItem};

impl Engine {
    /// A live starred list of the newest `page` starred messages; the newest page is
    /// fetched from the server in the background (best effort: offline, the cached list
    /// shows).
    pub(crate) fn watch_starred(
        &mut self,
        page: u32,
        now: Millis,
    ) -> CacheResult<LiveList<MessageItem>> {
        let overlay = Overlay::new(&self.outbox);
        let list = self.live.add_starred(&self.cache, &overlay, page)?;
        let query = Query::Starred {
            before: None,
            limit: page,
            waiter: None,
        };
        self.ask(query, now);
        Ok(list)
    }

    /// Fetches the newest starred messages (as many as an open starred list shows) when a
    /// star of a message the cache does not hold arrived: the list shows it once stored.
    pub(crate) fn follow_unheld_stars(&mut self, now: Millis) {
        if !self.cache.take_starred_unheld() {
            return;
        }
        if let Some(limit) = self.live.starred_shown() {
            let query = Query::Starred {
                before: None,
                limit,
                waiter: None,
            };
            self.ask(query, now);
        }
    }

    /// Grows the starred list `sub` by `page` and tells `waiter` whether older starred
    /// messages may remain: from the cache when it holds them, otherwise after fetching
    /// and storing the page before the oldest cached one.
    pub(crate) fn starred_more(
        &mut self,
        sub: u64,
        page: u32,
        waiter: oneshot::Sender<ClientResult<bool>>,
        now: Millis,
    ) {
        let Some(limit) = self.live.starred_limit(sub) else {
            return self.answer(waiter, Err(ClientError::Closed));
        };
        *limit = limit.saturating_add(page);
        let limit = *limit;
        self.touch();
        let before = match self.cache.starred(limit) {
            Ok(held) if held.len() as u32 >= limit => {
                return self.answer(waiter, Ok(true));
            }
            Ok(_) => self.cache.oldest_starred(),
            Err(e) => Err(e),
        };
        match before {
            Ok(before) => self.ask(
                Query::Starred {
                    before,
                    limit: page,
                    waiter: Some(waiter),
                },
                now,
            ),
            Err(e) => self.answer(waiter, Err(e.into())),
        }
    }
}
