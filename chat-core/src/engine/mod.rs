//! The engine: the single owner of the cache, the outbox engine, the sync driver, the
//! token state and the live queries. It runs inside the client's driver, on a thread of its own (see
//! `driver.rs`), which feeds it commands, I/O results and clock ticks; the engine answers
//! with [`Io`] requests for the driver to perform. Everything here is synchronous, so the
//! order of events is the order of calls.
//!
//! One step: an input arrives → the engine updates the cache (one transaction per logical
//! change) and the in-memory state machines → [`Engine::pump`] performs what the outbox
//! and the sync driver decided (persisting sends, reconciling completions, applying sync
//! pages) and queues network I/O → live queries are refreshed and diffs delivered.
//!
//! The token state lives in `auth.rs`, realtime in `realtime.rs`, the app's mutations in
//! `mutations.rs`, window moves in `window.rs`.

use std::collections::BTreeMap;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::backoff::{BackoffConfig, SplitMix64};
use crate::cache::{Cache, CachedMessage, OutboxWrite};
use crate::client::error::{ClientError, ClientResult};
use crate::client::token::TokenError;
use crate::clock::Millis;
use crate::live::registry::{Changed, Registry};
use crate::net::{HttpMethod, HttpRequest};
use crate::outbox::{Effect, OpId, Outbox, OutboxOp, OutboxSnapshot, PersistedItem};
use crate::sync::{SyncDriver, SyncEffect};
use auth::Auth;
use realtime::RealtimeParts;

mod auth;
pub(crate) mod driver;
mod effects;
mod mutations;
mod outbox_feed;
mod queries;
mod quotes;
pub(crate) mod realtime;
mod search;
mod starred;
#[cfg(test)]
mod tests;
mod watch;
mod window;

use queries::PendingQuery;
pub(crate) use queries::Query;

/// Network work the driver performs for the engine.
#[derive(Debug)]
pub(crate) enum Io {
    /// An HTTP request; report the reply with [`Engine::on_http`].
    Http {
        /// What the request is for.
        tag: IoTag,
        /// The request (with the current token).
        request: HttpRequest,
    },
    /// Ask the token provider; report with [`Engine::on_token`].
    FetchToken,
    /// Open a WebSocket; report with `socket_opened`, `socket_frame`, `socket_closed`.
    OpenSocket {
        /// The socket's id.
        socket: u64,
    },
    /// Send a text frame on an open socket.
    SocketSend {
        /// The socket's id.
        socket: u64,
        /// The frame.
        text: String,
    },
    /// Close a socket (drop it).
    CloseSocket {
        /// The socket's id.
        socket: u64,
    },
}

/// What an HTTP request was for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IoTag {
    /// An outbox item's request.
    Outbox(OpId),
    /// A batch send of these outbox items.
    OutboxBatch(Vec<OpId>),
    /// A `/v1/sync` page.
    Sync,
    /// `GET /v1/unread` after a sync.
    Unread,
    /// A typing announcement (best effort: its answer is ignored).
    Typing,
    /// A query the app asked for (history, thread replies, a lookup; see `queries.rs`).
    Query(u64),
}

/// Where the engine is, for the app and for tests.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EngineStatus {
    /// Items in the outbox.
    pub outbox_len: usize,
    /// Outbox items in flight (each message of a batch send counts).
    pub in_flight: usize,
    /// Whether a sync is running.
    pub syncing: bool,
    /// The saved sync cursor.
    pub cursor: Option<String>,
    /// Authentication stopped (token refused) until `refresh_token`.
    pub auth_stopped: bool,
    /// The last sync error, if the last sync failed.
    pub last_sync_error: Option<String>,
    /// The last local error met in the background (a cache write that failed while
    /// recording a result, undecodable outbox rows kept aside, …), for logs.
    pub last_error: Option<String>,
    /// Realtime is connected and caught up: pushed changes are applied as they arrive
    /// (`false` while its catch-up sync, or any sync, runs — an app may show
    /// "updating…").
    pub realtime_live: bool,
}

type Waiter = oneshot::Sender<ClientResult<()>>;

/// An answer to a caller, held until the step's live-query diffs are delivered.
type Answer = Box<dyn FnOnce() + Send>;

/// See the [module documentation](self).
pub(crate) struct Engine {
    cache: Cache,
    outbox: Outbox,
    sync: SyncDriver,
    live: Registry,
    auth: Auth,
    auth_backoff: BackoffConfig,
    rng: SplitMix64,
    io: Vec<Io>,
    /// Queries in progress, by the id in their [`IoTag::Query`].
    queries: BTreeMap<u64, PendingQuery>,
    /// The last query id given out.
    next_query: u64,
    /// Start a sync once the outbox is flushed.
    sync_wanted: bool,
    /// Waiting for the running sync.
    sync_waiters: Vec<Waiter>,
    /// Waiting for the next sync to start and finish.
    next_sync_waiters: Vec<Waiter>,
    /// What live queries must catch up with.
    changed: Changed,
    /// Presence (or the connection) changed: member lists are delivered again.
    presence_changed: bool,
    /// Cache errors met while reconciling (for status and logs).
    last_error: Option<String>,
    /// Bumped by every local read-marker change and every applied push; a `GET /v1/unread`
    /// answer is stored only if none happened since it was asked (it would bring back
    /// counts just cleared, or miss a message just cached).
    read_epoch: u64,
    /// `read_epoch` when the pending `GET /v1/unread` was sent.
    unread_asked_at: u64,
    /// Sends whose row was written as "may have reached the server" together with their
    /// echo (they were to leave at once): their `Send` needs no second write.
    written_in_flight: std::collections::HashSet<OpId>,
    /// The (channel, thread key) of every stored draft: a send deletes its draft only when
    /// there is one (`cache/drafts.rs`).
    drafts: std::collections::HashSet<(String, String)>,
    /// Realtime: the connection, typing and presence (see `realtime.rs`).
    rt: RealtimeParts,
    /// Answers to callers, sent at the end of [`Engine::pump`] (see [`Engine::answer`]).
    answers: Vec<Answer>,
    /// The live outbox (see `outbox_feed.rs`).
    outbox_feed: outbox_feed::OutboxFeed,
    /// Quoted messages fetched for previews (see `quotes.rs`).
    quote_fetches: quotes::QuoteFetches,
}

impl Engine {
    /// Builds the engine from an open cache: restores the outbox from its rows.
    pub(crate) fn new(
        cache: Cache,
        outbox_config: crate::outbox::OutboxConfig,
        sync: SyncDriver,
        seed: u64,
    ) -> ClientResult<Self> {
        let mut items = Vec::new();
        let mut undecodable = 0usize;
        let mut seen = std::collections::HashSet::new();
        for row in cache.outbox_load()? {
            match serde_json::from_str::<PersistedItem>(&row.payload) {
                Ok(item) if item.op.validate(item.op_id).is_ok() && seen.insert(item.op_id) => {
                    items.push(item);
                }
                // Kept in the database (never dropped), but not sent: a newer SDK may know
                // it. Reported through the status; one bad row never stops the client.
                _ => undecodable += 1,
            }
        }
        let outbox = Outbox::restore(outbox_config, seed, OutboxSnapshot { items })?;
        let drafts = cache.draft_keys()?.into_iter().collect();
        Ok(Self {
            cache,
            outbox,
            sync,
            live: Registry::default(),
            auth: Auth::default(),
            auth_backoff: BackoffConfig::default(),
            rng: SplitMix64::new(seed ^ 0x5eed),
            io: Vec::new(),
            queries: BTreeMap::new(),
            next_query: 0,
            sync_wanted: true,
            sync_waiters: Vec::new(),
            next_sync_waiters: Vec::new(),
            changed: Changed::Rows,
            presence_changed: false,
            read_epoch: 0,
            unread_asked_at: 0,
            written_in_flight: std::collections::HashSet::new(),
            drafts,
            rt: RealtimeParts::default(),
            answers: Vec::new(),
            outbox_feed: outbox_feed::OutboxFeed::default(),
            quote_fetches: quotes::QuoteFetches::default(),
            last_error: (undecodable > 0)
                .then(|| format!("{undecodable} outbox rows could not be decoded and are kept")),
        })
    }

    /// The I/O to perform now.
    pub(crate) fn take_io(&mut self) -> Vec<Io> {
        std::mem::take(&mut self.io)
    }

    /// When the engine wants to be polled again without any input.
    pub(crate) fn next_wakeup(&self) -> Option<Millis> {
        let realtime = self.rt.next_wakeup();
        if self.auth.token.is_none() {
            // Nothing is polled without a token: only a token retry can be due.
            let token = self
                .auth
                .retry_at
                .filter(|_| !self.auth.stopped && !self.auth.fetching);
            return [token, realtime, self.next_query_deadline()]
                .into_iter()
                .flatten()
                .min();
        }
        [self.outbox.next_wakeup(), self.sync.next_wakeup(), realtime]
            .into_iter()
            .flatten()
            .min()
    }

    pub(crate) fn status(&self) -> EngineStatus {
        EngineStatus {
            outbox_len: self.outbox.len(),
            in_flight: self.outbox.in_flight(),
            syncing: self.sync.is_running(),
            cursor: self.sync.cursor().map(str::to_owned),
            auth_stopped: self.auth.stopped,
            last_sync_error: self.sync.last_error().map(str::to_owned),
            last_error: self.last_error.clone(),
            realtime_live: self.rt.machine.as_ref().is_some_and(|m| m.is_live()),
        }
    }

    /// Marks live queries for a re-query at the end of the step (cached rows changed).
    pub(crate) fn touch(&mut self) {
        self.changed.add(Changed::Rows);
    }

    /// Marks live queries for a refresh after a change of the outbox only.
    pub(crate) fn touch_overlay(&mut self) {
        self.changed.add(Changed::Overlay);
    }

    /// Marks live queries for a refresh after new local echoes were stored (and nothing
    /// else in the cache changed).
    pub(crate) fn touch_echo(&mut self, echo: CachedMessage) {
        self.changed.add(Changed::Echoes {
            echoes: vec![echo],
            overlay: false,
        });
    }

    /// Asks for a sync once the outbox is flushed; `waiter` is told when it finished.
    pub(crate) fn request_sync(&mut self, waiter: Option<Waiter>) {
        self.sync_wanted = true;
        self.next_sync_waiters.extend(waiter);
    }

    /// The network is back (or the app came to the foreground): retry now.
    pub(crate) fn on_connectivity(&mut self, now: Millis) {
        self.outbox.on_connectivity_restored();
        self.sync.on_connectivity_restored(now);
        self.retry_failed_quotes();
        self.rt.reconnect_now(now);
        if self.auth.retry_at.is_some() {
            self.auth.retry_at = Some(now);
        }
        self.sync_wanted = true;
    }

    /// Records in `write` that the (current) outbox item `op_id` leaves: its row, and the
    /// local echo of a message that will now never be sent.
    pub(crate) fn leave(&self, write: &mut OutboxWrite, op_id: OpId) {
        write.remove.push(op_id.to_string());
        if let Some(OutboxOp::SendMessage { request, .. }) = self.outbox.get_op(op_id) {
            write.remove_echoes.push(request.id);
        }
    }

    /// Runs the state machines until they have nothing immediate left, then refreshes
    /// live queries.
    pub(crate) fn pump(&mut self, now: Millis) {
        for _ in 0..64 {
            let mut progressed = false;
            if self.auth.token.is_none() {
                // Nothing can be sent, but finished requests are still recorded.
                for effect in self.outbox.take_notifications() {
                    progressed = true;
                    self.on_outbox_effect(effect, now);
                }
                self.want_token(now);
            } else {
                let mut sent = false;
                // Completions are recorded together (a batch send's land in one
                // transaction), before the effects that follow them.
                let mut done = Vec::new();
                for effect in self.outbox.poll(now) {
                    progressed = true;
                    sent |= matches!(effect, Effect::Send { .. } | Effect::SendBatch { .. });
                    match effect {
                        Effect::Completed {
                            op_id, op, body, ..
                        } => done.push((op_id, op, body)),
                        other => {
                            if !done.is_empty() {
                                self.touch();
                                self.complete_all(std::mem::take(&mut done));
                            }
                            self.on_outbox_effect(other, now);
                        }
                    }
                }
                if !done.is_empty() {
                    self.touch();
                    self.complete_all(done);
                }
                // Flushed: nothing in flight and nothing dispatchable now (items waiting
                // for a retry, queued behind one, failed or blocked do not hold a sync).
                let flushed = !sent && self.outbox.in_flight() == 0;
                if self.sync_wanted && !self.sync.is_running() && flushed {
                    match self.cache.cursor() {
                        Ok(cursor) => {
                            self.sync_wanted = false;
                            self.rt.sync_started();
                            self.sync_waiters.append(&mut self.next_sync_waiters);
                            self.sync.start(cursor, now);
                        }
                        // Never sync from a cursor that could not be read (that would be a
                        // bootstrap on top of the cache): try again on the next step.
                        Err(e) => self.last_error = Some(e.to_string()),
                    }
                }
                for effect in self.sync.poll(now) {
                    if !matches!(effect, SyncEffect::Idle) {
                        progressed = true;
                    }
                    self.on_sync_effect(effect, now);
                }
            }
            progressed |= self.pump_realtime(now);
            self.follow_unheld_stars(now);
            self.dispatch_queries(now);
            if !progressed {
                break;
            }
        }
        if self.auth.stopped {
            self.fail_sync_waiters(|| {
                ClientError::Token(TokenError::Refused(
                    "authentication stopped; call refresh_token".into(),
                ))
            });
        }
        let changed = std::mem::take(&mut self.changed);
        let presence_changed = std::mem::take(&mut self.presence_changed);
        // A step that changed nothing shown builds no overlay.
        if changed != Changed::Nothing || presence_changed {
            let overlay = realtime::overlay(&self.outbox, &self.rt, &self.cache);
            if changed != Changed::Nothing
                && let Err(e) = self.live.refresh(&self.cache, &overlay, &changed)
            {
                self.last_error = Some(e.to_string());
                // Try again at the next step rather than leave lists stale.
                self.changed.add(Changed::Rows);
            }
            if presence_changed {
                self.live.refresh_presence(&overlay);
            }
        }
        // Previews the cache could not answer (also of a list opened in this step): asked
        // for now, not at the next event.
        if self.fetch_missing_quotes(now) {
            self.dispatch_queries(now);
        }
        self.outbox_feed.publish(&self.outbox);
        self.send_answers();
        // The search index catches up with the step's writes after everything the step
        // shows and answers is out (`cache/search.rs`).
        if let Err(e) = self.cache.flush_search_index() {
            self.last_error = Some(e.to_string());
        }
    }

    /// Fails everyone waiting for a sync.
    fn fail_sync_waiters(&mut self, error: impl Fn() -> ClientError) {
        let waiters = std::mem::take(&mut self.sync_waiters)
            .into_iter()
            .chain(std::mem::take(&mut self.next_sync_waiters));
        for w in waiters {
            self.answer(w, Err(error()));
        }
    }

    /// Answers a caller once this step's live-query diffs are delivered (at the end of
    /// [`Engine::pump`], or of [`Engine::close`]). The rule every caller may rely on: when
    /// a call returns, the live lists it changed have already been sent their diffs (a
    /// `send_message` that returned is in the window's stream; a finished `sync` is in
    /// every list). The engine may run on a thread of its own, so answering earlier would
    /// let a caller look before the lists moved.
    pub(crate) fn answer<T: Send + 'static>(&mut self, to: oneshot::Sender<T>, value: T) {
        self.answers.push(Box::new(move || {
            let _ = to.send(value);
        }));
    }

    /// Sends the answers held so far.
    fn send_answers(&mut self) {
        for answer in std::mem::take(&mut self.answers) {
            answer();
        }
    }

    fn request(&mut self, tag: IoTag, method: HttpMethod, path: String, body: Option<Value>) {
        let token = self.auth.token.clone().unwrap_or_default();
        if tag == IoTag::Sync {
            self.auth.sync_token = Some(token.clone());
        }
        self.io.push(Io::Http {
            tag,
            request: HttpRequest {
                method,
                path,
                body,
                token,
            },
        });
    }

    /// Fails everyone waiting for a sync (shutdown).
    pub(crate) fn close(&mut self) {
        self.rt.stop();
        self.queries.clear(); // their callers hear `Closed`
        self.fail_sync_waiters(|| ClientError::Closed);
        self.send_answers();
    }
}

/// The durable JSON form of an outbox item (`None` if there is no such item).
impl Engine {
    /// Whether `op_id`'s row already says what sending it now would write: it was written
    /// "in flight" with its echo and has not been tried since. Forgets it either way.
    pub(crate) fn take_written_in_flight(&mut self, op_id: OpId) -> bool {
        self.written_in_flight.remove(&op_id)
            && self
                .outbox
                .persisted(op_id)
                .is_some_and(|item| item.attempts == 0 && item.failure.is_none())
    }
}

pub(crate) fn persisted_json(outbox: &Outbox, op_id: OpId) -> Option<String> {
    outbox
        .persisted(op_id)
        .map(|item| serde_json::to_string(&item).unwrap_or_default())
}
