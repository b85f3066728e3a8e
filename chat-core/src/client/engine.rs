//! The engine: the single owner of the cache, the outbox engine, the sync driver, the
//! token state and the live queries. It runs inside the client's driver task (see
//! `actor.rs`), which feeds it commands, I/O results and clock ticks; the engine answers
//! with [`Io`] requests for the driver to perform. Everything here is synchronous, so the
//! order of events is the order of calls.
//!
//! One step: an input arrives → the engine updates the cache (one transaction per logical
//! change) and the in-memory state machines → [`Engine::pump`] performs what the outbox
//! and the sync driver decided (persisting sends, reconciling completions, applying sync
//! pages) and queues network I/O → live queries are refreshed and diffs delivered.
//!
//! The token state lives in `engine/auth.rs`, realtime in `engine_realtime.rs`.

use chat_protocol::{
    Change, ChannelUnread, MarkReadResponse, MessageResponse, ReactionResponse, UnreadResponse,
};
use serde_json::Value;
use tokio::sync::oneshot;

use super::error::{ClientError, ClientResult};
use super::token::TokenError;
use super::transport::{HttpMethod, HttpReply, HttpRequest, NetworkError};
use crate::cache::{Cache, CachedMessage, LocalState, OutboxWrite};
use crate::live::overlay::Overlay;
use crate::live::registry::{Changed, Registry};
use crate::outbox::{
    BackoffConfig, Effect, Millis, OpId, Outbox, OutboxOp, OutboxSnapshot, PersistedItem,
    SplitMix64,
};
use crate::sync::{SyncDriver, SyncEffect};
use auth::Auth;

use super::engine_realtime::RealtimeParts;

mod auth;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IoTag {
    /// An outbox item's request.
    Outbox(OpId),
    /// A `/v1/sync` page.
    Sync,
    /// `GET /v1/unread` after a sync.
    Unread,
    /// A typing announcement (best effort: its answer is ignored).
    Typing,
}

/// Where the engine is, for the app and for tests.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EngineStatus {
    /// Items in the outbox.
    pub outbox_len: usize,
    /// Requests in flight.
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

/// See the [module documentation](self).
pub(crate) struct Engine {
    pub(crate) cache: Cache,
    pub(crate) outbox: Outbox,
    pub(crate) sync: SyncDriver,
    pub(crate) live: Registry,
    auth: Auth,
    auth_backoff: BackoffConfig,
    rng: SplitMix64,
    pub(crate) io: Vec<Io>,
    /// Start a sync once the outbox is flushed.
    sync_wanted: bool,
    /// Waiting for the running sync.
    sync_waiters: Vec<Waiter>,
    /// Waiting for the next sync to start and finish.
    next_sync_waiters: Vec<Waiter>,
    /// What live queries must catch up with.
    changed: Changed,
    /// Cache errors met while reconciling (for status and logs).
    pub(crate) last_error: Option<String>,
    /// Bumped by every local read-marker change; a `GET /v1/unread` answer is stored only
    /// if none happened since it was asked (it would bring back counts just cleared).
    pub(crate) read_epoch: u64,
    /// `read_epoch` when the pending `GET /v1/unread` was sent.
    unread_asked_at: u64,
    /// Realtime: the connection, typing and presence (see `engine_realtime.rs`).
    pub(crate) rt: RealtimeParts,
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
        Ok(Self {
            cache,
            outbox,
            sync,
            live: Registry::default(),
            auth: Auth::default(),
            auth_backoff: BackoffConfig::default(),
            rng: SplitMix64::new(seed ^ 0x5eed),
            io: Vec::new(),
            sync_wanted: true,
            sync_waiters: Vec::new(),
            next_sync_waiters: Vec::new(),
            changed: Changed::Rows,
            read_epoch: 0,
            unread_asked_at: 0,
            rt: RealtimeParts::default(),
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
            return token.into_iter().chain(realtime).min();
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

    /// Applies a state change (an enqueue) to the cache and the outbox together.
    pub(crate) fn commit(&mut self, outbox: Outbox, write: &OutboxWrite) -> ClientResult<()> {
        self.cache.write_outbox(write)?;
        self.outbox = outbox;
        self.touch();
        Ok(())
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
                for effect in self.outbox.poll(now) {
                    progressed = true;
                    sent |= matches!(effect, Effect::Send { .. });
                    self.on_outbox_effect(effect, now);
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
        if changed != Changed::Nothing {
            let overlay = Overlay::new(&self.outbox);
            if let Err(e) = self.live.refresh(&self.cache, &overlay, &changed) {
                self.last_error = Some(e.to_string());
                // Try again at the next step rather than leave lists stale.
                self.changed.add(Changed::Rows);
            }
        }
    }

    /// Fails everyone waiting for a sync.
    fn fail_sync_waiters(&mut self, error: impl Fn() -> ClientError) {
        for w in self
            .sync_waiters
            .drain(..)
            .chain(self.next_sync_waiters.drain(..))
        {
            let _ = w.send(Err(error()));
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

    /// Writes an item's durable form; `false` if the write failed.
    fn persist(&mut self, op_id: OpId) -> bool {
        let Some(payload) = persisted_json(&self.outbox, op_id) else {
            return true;
        };
        match self.cache.outbox_update(&op_id.to_string(), &payload) {
            Ok(_) => true,
            Err(e) => {
                self.last_error = Some(e.to_string());
                false
            }
        }
    }

    fn on_outbox_effect(&mut self, effect: Effect, now: Millis) {
        match &effect {
            Effect::Send { .. } | Effect::StateChanged { .. } | Effect::RefreshToken { .. } => {
                self.touch_overlay();
            }
            Effect::Completed { .. } | Effect::Failed { .. } => self.touch(),
        }
        match effect {
            Effect::Send { op_id, request } => {
                // Record "may have reached the server" before it can. If that write fails
                // the request is not sent: it counts as a network failure and is retried.
                if !self.persist(op_id) {
                    let outcome = crate::outbox::ApiOutcome::Network("local write failed".into());
                    if let Err(e) = self.outbox.on_result(op_id, outcome, now) {
                        self.last_error = Some(e.to_string());
                    }
                    return;
                }
                self.request(
                    IoTag::Outbox(op_id),
                    request.method.into(),
                    request.path,
                    request.body,
                );
            }
            Effect::Completed {
                op_id, op, body, ..
            } => self.complete(op_id, &op, body),
            Effect::Failed { op_id, failure } => {
                let op = self.outbox.get_op(op_id);
                match op {
                    // A refused reaction or read marker reverts: the overlay disappears.
                    Some(OutboxOp::AddReaction { .. })
                    | Some(OutboxOp::RemoveReaction { .. })
                    | Some(OutboxOp::MarkRead { .. }) => {
                        if let Err(e) = self.discard(op_id) {
                            self.last_error = Some(e.to_string());
                        }
                    }
                    Some(OutboxOp::SendMessage { request, .. }) => {
                        let _ = self.persist(op_id);
                        let state = LocalState::Failed(failure.reason);
                        if let Err(e) = self.cache.set_local_state(&request.id, &state) {
                            self.last_error = Some(e.to_string());
                        }
                    }
                    _ => {
                        let _ = self.persist(op_id);
                    }
                }
            }
            Effect::StateChanged { .. } => {}
            Effect::RefreshToken { repeated } => {
                self.token_refused();
                if repeated {
                    self.auth.stopped = true;
                }
            }
        }
    }

    /// Stores a completed operation's result and drops its row (one transaction).
    fn complete(&mut self, op_id: OpId, op: &OutboxOp, body: Value) {
        if matches!(op, OutboxOp::MarkRead { .. }) {
            self.read_epoch += 1;
        }
        // The answer as changes to apply with the same rules as sync; `Ok(None)` when it
        // carries nothing to apply: "already gone" (a 404 on a removal, no body) or a
        // channel creation (the channel's state arrives with the next sync).
        type Parsed = (Vec<Change>, Option<ChannelUnread>);
        let parsed: Result<Option<Parsed>, serde_json::Error> = match op {
            _ if body.is_null() => Ok(None),
            OutboxOp::SendMessage { .. }
            | OutboxOp::EditMessage { .. }
            | OutboxOp::DeleteMessage { .. } => serde_json::from_value::<MessageResponse>(body)
                .map(|r| Some((vec![Change::Message(r.message)], None))),
            OutboxOp::AddReaction { .. } | OutboxOp::RemoveReaction { .. } => {
                serde_json::from_value::<ReactionResponse>(body).map(|r| {
                    let changes = vec![Change::Reaction(r.reaction), Change::Message(r.message)];
                    Some((changes, None))
                })
            }
            OutboxOp::MarkRead { .. } => serde_json::from_value::<MarkReadResponse>(body)
                .map(|r| Some((vec![Change::Read(r.read)], Some(r.unread)))),
            OutboxOp::CreateChannel { .. } => Ok(None),
        };
        let error = match parsed {
            Ok(Some((changes, unread))) => {
                match self
                    .cache
                    .complete_op(&op_id.to_string(), &changes, unread.as_ref())
                {
                    Ok(()) => return,
                    Err(e) => Some(e.to_string()),
                }
            }
            Ok(None) => None,
            Err(_) => Some(format!("undecodable answer for outbox item {op_id}")),
        };
        // Not recorded from the answer. The server applied it, so the row must not be
        // replayed later (an old edit or reaction toggle would undo newer ones): drop the
        // row on its own and let a sync bring the result (a send's echo stays until then).
        if error.is_some() {
            self.last_error = error;
        }
        self.sync_wanted = true;
        if let Err(e) = self.cache.outbox_remove(&op_id.to_string()) {
            self.last_error = Some(e.to_string());
        }
    }

    /// Removes an item the app gave up on (or a refused reaction / read marker), with
    /// everything cancelled along with it.
    pub(crate) fn discard(&mut self, op_id: OpId) -> ClientResult<()> {
        let mut outbox = self.outbox.clone();
        let cancelled = outbox.discard(op_id)?;
        let mut write = OutboxWrite::default();
        for id in std::iter::once(op_id).chain(cancelled) {
            self.leave(&mut write, id);
        }
        self.commit(outbox, &write)
    }

    fn on_sync_effect(&mut self, effect: SyncEffect, now: Millis) {
        match effect {
            SyncEffect::Fetch { path } => self.request(IoTag::Sync, HttpMethod::Get, path, None),
            SyncEffect::Apply { page } => {
                self.touch();
                match self.cache.apply_sync_page(&page) {
                    Ok(()) => self.sync.on_applied(now),
                    Err(e) => self.sync.on_apply_failed(e.to_string(), now),
                }
            }
            SyncEffect::Reset => {
                self.touch();
                match self.cache.reset_synced_data() {
                    Ok(()) => self.sync.on_reset_done(now),
                    Err(e) => self.sync.on_apply_failed(e.to_string(), now),
                }
            }
            SyncEffect::NeedToken => {
                if self.auth.token.is_some() && self.auth.token != self.auth.sync_token {
                    // A late 401 for a token already replaced: retry with the new one.
                    self.sync.on_token_refreshed(now);
                } else {
                    self.token_refused();
                }
            }
            SyncEffect::RefreshUnread => {
                self.unread_asked_at = self.read_epoch;
                self.request(IoTag::Unread, HttpMethod::Get, "/v1/unread".into(), None);
            }
            SyncEffect::Done { .. } => {
                self.sync_finished(true, now);
                for w in self.sync_waiters.drain(..) {
                    let _ = w.send(Ok(()));
                }
            }
            SyncEffect::Failed { status, body } => {
                self.sync_finished(false, now);
                for w in self.sync_waiters.drain(..) {
                    let _ = w.send(Err(ClientError::Server {
                        status,
                        code: body.as_ref().map(|b| b.code),
                        message: body.as_ref().map(|b| b.message.clone()).unwrap_or_default(),
                    }));
                }
            }
            SyncEffect::Idle => {}
        }
    }

    /// An HTTP request finished.
    pub(crate) fn on_http(
        &mut self,
        tag: IoTag,
        result: Result<HttpReply, NetworkError>,
        now: Millis,
    ) {
        if result.as_ref().is_ok_and(HttpReply::is_success) {
            self.auth.rejections = 0;
        }
        match tag {
            IoTag::Outbox(op_id) => {
                let outcome = match result {
                    Ok(reply) => reply.into_api_outcome(),
                    Err(e) => crate::outbox::ApiOutcome::Network(e.0),
                };
                if let Err(e) = self.outbox.on_result(op_id, outcome, now) {
                    self.last_error = Some(e.to_string());
                }
            }
            IoTag::Sync => {
                let outcome = match result {
                    Ok(reply) => reply.into_sync_outcome(),
                    Err(e) => crate::sync::SyncOutcome::Network(e.0),
                };
                self.sync.on_response(outcome, now);
                if self.sync.is_backing_off() {
                    // The sync keeps retrying in the background; whoever waits for it is
                    // told now (e.g. a pull-to-refresh while offline).
                    let reason = self.sync.last_error().unwrap_or("sync failed").to_owned();
                    for w in self.sync_waiters.drain(..) {
                        let _ = w.send(Err(ClientError::Network(NetworkError(reason.clone()))));
                    }
                }
            }
            IoTag::Typing => {}
            IoTag::Unread => {
                if let Ok(reply) = result.as_ref()
                    && reply.is_success()
                    && self.unread_asked_at == self.read_epoch
                    && let Ok(unread) = serde_json::from_slice::<UnreadResponse>(&reply.body)
                {
                    self.touch();
                    if let Err(e) = self.cache.replace_unread_counts(&unread) {
                        self.last_error = Some(e.to_string());
                    }
                }
            }
        }
    }

    /// Fails everyone waiting for a sync (shutdown).
    pub(crate) fn close(&mut self) {
        self.rt.stop();
        self.fail_sync_waiters(|| ClientError::Closed);
    }
}

/// The durable JSON form of an outbox item (`None` if there is no such item).
pub(crate) fn persisted_json(outbox: &Outbox, op_id: OpId) -> Option<String> {
    outbox
        .persisted(op_id)
        .map(|item| serde_json::to_string(&item).unwrap_or_default())
}
