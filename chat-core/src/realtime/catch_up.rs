//! When pushed changes may be applied, for one live connection.
//!
//! A `/v1/sync` page that replaces a limited channel's window deletes the channel's cached
//! messages and writes the page's: a pushed message newer than the page, applied before
//! it, would be erased (and the cursor would not be past it, but nothing would bring it
//! back until the next sync). So pushed changes are held while any sync runs, and applied
//! right after it — the next sync starts later, so its pages already contain them.
//!
//! On top of that, a connection needs one catch-up: a sync that *starts after* it
//! connected, so nothing committed between the last sync and the connection's starting
//! point is missed. Until that sync has finished, pushes are held too. A gap in the
//! stream, a frame that does not decode, or held changes overflowing while the catch-up
//! runs ask for another one after it; a catch-up that fails for good releases what is
//! held and is retried later.

use std::time::Duration;

use chat_protocol::SyncChange;

use super::state::RealtimeEffect;
use crate::clock::Millis;

/// Wait before retrying a catch-up whose sync failed for good.
const RETRY_FAILED: Duration = Duration::from_secs(10);

/// See the [module documentation](self).
#[derive(Debug, Default)]
pub(super) struct CatchUp {
    /// A catch-up sync must complete before pushes apply directly.
    needed: bool,
    /// A sync is running.
    sync_running: bool,
    /// The running sync started while a catch-up was needed: it is the catch-up.
    counts: bool,
    /// Another catch-up must follow the running one.
    again: bool,
    held: Vec<SyncChange>,
    /// Held changes were dropped (too many): the next catch-up brings them.
    overflowed: bool,
    /// A failed catch-up is retried at this time.
    retry_at: Option<Millis>,
}

impl CatchUp {
    /// A new connection: it needs its catch-up. `sync_running`: a sync that started
    /// before the connection is running (it does not count as the catch-up).
    pub(super) fn connected(sync_running: bool, effects: &mut Vec<RealtimeEffect>) -> Self {
        effects.push(RealtimeEffect::CatchUp);
        Self {
            needed: true,
            sync_running,
            ..Self::default()
        }
    }

    /// Whether pushed changes are held now.
    pub(super) fn holding(&self) -> bool {
        self.needed || self.sync_running
    }

    /// Asks for a catch-up (gap, undecodable frame, new channel to fetch).
    pub(super) fn request(&mut self, effects: &mut Vec<RealtimeEffect>) {
        if self.sync_running && self.counts {
            // The running catch-up may have fetched its last page already.
            self.again = true;
        } else if !self.needed {
            self.needed = true;
            self.retry_at = None;
            effects.push(RealtimeEffect::CatchUp);
        }
    }

    /// Pushed changes arrived: held, or returned to be applied now. Past `max` held
    /// changes, everything held is dropped and a catch-up (which brings it all back) is
    /// asked for; until one starts, further changes are dropped too.
    pub(super) fn push(
        &mut self,
        changes: Vec<SyncChange>,
        max: usize,
        effects: &mut Vec<RealtimeEffect>,
    ) -> Vec<SyncChange> {
        if !self.holding() {
            return changes;
        }
        if self.overflowed {
            return Vec::new();
        }
        if self.held.len() + changes.len() > max {
            self.held.clear();
            self.overflowed = true;
            self.request(effects);
        } else {
            self.held.extend(changes);
        }
        Vec::new()
    }

    /// A sync started.
    pub(super) fn sync_started(&mut self) {
        self.sync_running = true;
        self.counts = self.needed;
        if self.counts && !self.again {
            // It brings everything dropped before it: hold again from here.
            self.overflowed = false;
        }
    }

    /// The running sync finished (`ok`: done; otherwise failed for good). Returns the held
    /// changes to apply now.
    pub(super) fn sync_finished(
        &mut self,
        ok: bool,
        now: Millis,
        effects: &mut Vec<RealtimeEffect>,
    ) -> Vec<SyncChange> {
        if !self.sync_running {
            return Vec::new();
        }
        self.sync_running = false;
        if self.counts {
            self.counts = false;
            self.needed = false;
            self.overflowed = false;
            if !ok {
                self.retry_at = Some(now.saturating_add(RETRY_FAILED));
            } else if self.again {
                self.again = false;
                let held = std::mem::take(&mut self.held);
                self.request(effects);
                return held;
            }
        }
        if self.needed {
            // A sync from before the connection ended: keep holding for the catch-up.
            return Vec::new();
        }
        std::mem::take(&mut self.held)
    }

    /// When a failed catch-up is retried.
    pub(super) fn next_wakeup(&self) -> Option<Millis> {
        self.retry_at
    }

    /// Runs the retry of a failed catch-up when due.
    pub(super) fn poll(&mut self, now: Millis, effects: &mut Vec<RealtimeEffect>) {
        if self.retry_at.is_some_and(|at| now >= at) {
            self.retry_at = None;
            self.request(effects);
        }
    }
}

#[cfg(test)]
mod tests {
    use chat_protocol::{Change, ChannelType, Cid, ReadState, Timestamp};

    use super::*;

    fn change(seq: u64) -> SyncChange {
        SyncChange {
            seq,
            change: Change::Read(ReadState {
                cid: Cid::new(ChannelType::Team, "a").unwrap(),
                user_id: "ann".into(),
                last_read_message_id: None,
                last_read_at: Timestamp::from_millis(0).unwrap(),
                rev: seq,
            }),
        }
    }

    fn seqs(changes: &[SyncChange]) -> Vec<u64> {
        changes.iter().map(|c| c.seq).collect()
    }

    #[test]
    fn a_sync_from_before_the_connection_is_not_its_catch_up() {
        let mut fx = Vec::new();
        let mut c = CatchUp::connected(true, &mut fx);
        assert_eq!(fx, [RealtimeEffect::CatchUp]);
        assert!(c.push(vec![change(1)], 10, &mut fx).is_empty());
        // The old sync ends: still holding, the catch-up has not run.
        assert!(c.sync_finished(true, Millis(0), &mut fx).is_empty());
        assert!(c.holding());
        c.sync_started();
        assert!(c.push(vec![change(2)], 10, &mut fx).is_empty());
        assert_eq!(seqs(&c.sync_finished(true, Millis(0), &mut fx)), [1, 2]);
        assert!(!c.holding());
        assert_eq!(seqs(&c.push(vec![change(3)], 10, &mut fx)), [3]);
    }

    #[test]
    fn any_sync_holds_pushes_until_it_ends() {
        let mut fx = Vec::new();
        let mut c = CatchUp::connected(false, &mut fx);
        c.sync_started();
        c.sync_finished(true, Millis(0), &mut fx);
        // A sync for another reason (the app's pull to refresh).
        c.sync_started();
        assert!(c.push(vec![change(5)], 10, &mut fx).is_empty());
        assert_eq!(seqs(&c.sync_finished(true, Millis(0), &mut fx)), [5]);
    }

    #[test]
    fn trouble_during_the_catch_up_asks_for_another_after_it() {
        let mut fx = Vec::new();
        let mut c = CatchUp::connected(false, &mut fx);
        c.sync_started();
        fx.clear();
        c.request(&mut fx);
        assert!(fx.is_empty(), "asked after the running catch-up");
        assert!(c.push(vec![change(1)], 10, &mut fx).is_empty());
        // The catch-up ends: what is held is applied, and another catch-up starts.
        assert_eq!(seqs(&c.sync_finished(true, Millis(0), &mut fx)), [1]);
        assert_eq!(fx, [RealtimeEffect::CatchUp]);
        assert!(c.holding());
    }

    #[test]
    fn an_overflow_drops_what_is_held_and_asks_again() {
        let mut fx = Vec::new();
        let mut c = CatchUp::connected(false, &mut fx);
        c.sync_started();
        fx.clear();
        assert!(
            c.push(vec![change(1), change(2), change(3)], 2, &mut fx)
                .is_empty()
        );
        assert!(c.sync_finished(true, Millis(0), &mut fx).is_empty());
        assert_eq!(fx, [RealtimeEffect::CatchUp]);
    }

    #[test]
    fn an_overflow_outside_a_catch_up_asks_for_one() {
        let mut fx = Vec::new();
        let mut c = CatchUp::connected(false, &mut fx);
        c.sync_started();
        c.sync_finished(true, Millis(0), &mut fx);
        fx.clear();
        // The app's sync runs; too much arrives meanwhile.
        c.sync_started();
        assert!(
            c.push(vec![change(1), change(2), change(3)], 2, &mut fx)
                .is_empty()
        );
        assert_eq!(fx, [RealtimeEffect::CatchUp]);
        assert!(c.push(vec![change(4)], 2, &mut fx).is_empty(), "dropped");
        assert!(c.sync_finished(true, Millis(0), &mut fx).is_empty());
        assert!(c.holding(), "until the catch-up");
        c.sync_started();
        assert!(c.push(vec![change(5)], 2, &mut fx).is_empty());
        assert_eq!(seqs(&c.sync_finished(true, Millis(0), &mut fx)), [5]);
        assert!(!c.holding());
    }

    #[test]
    fn a_failed_catch_up_releases_and_is_retried_later() {
        let mut fx = Vec::new();
        let mut c = CatchUp::connected(false, &mut fx);
        c.sync_started();
        c.push(vec![change(1)], 10, &mut fx);
        fx.clear();
        assert_eq!(seqs(&c.sync_finished(false, Millis(100), &mut fx)), [1]);
        assert!(!c.holding());
        assert_eq!(c.next_wakeup(), Some(Millis(10_100)));
        c.poll(Millis(10_099), &mut fx);
        assert!(fx.is_empty());
        c.poll(Millis(10_100), &mut fx);
        assert_eq!(fx, [RealtimeEffect::CatchUp]);
        assert!(c.holding());
    }
}
