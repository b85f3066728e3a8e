//! The realtime connection state machine, sans-I/O: it consumes socket events (opened, a
//! frame, closed), the token, sync start/finish, the network and foreground signals and
//! clock ticks, and answers with [`RealtimeEffect`]s. The driver owns the real socket;
//! tests drive the machine with an injected clock and scripted frames.
//!
//! Rules (docs/architecture.md, "Realtime"):
//! - Connect: open the socket, send `connect` with the current token, wait for the reply
//!   (all within `connect_timeout`). When pushed changes may be applied is decided by
//!   `catch_up.rs` (held during any sync and until the connection's catch-up sync).
//! - Reconnect with full-jitter exponential backoff. The attempt counter resets once a
//!   connection has stayed up for `stable_after`; the first retry after losing such a
//!   connection is immediate, except after a server shutdown (every client would come
//!   back at once). A server that accepts and then drops connections gets backoff.
//! - A dead socket is detected by a watchdog: no frame for the server's ping interval plus
//!   `ping_grace` replaces it.
//! - Token: `109` on connect or a `3005` close drop the token and connect again with a new
//!   one; `3500` does the same but never reuses the refused token (if the provider has no
//!   other, the state becomes auth-failed until the app gives one). A token is renewed
//!   and sent with `refresh` before it expires (`renewal.rs`). Authentication stopping
//!   closes the connection (nothing could be synced).
//! - Close codes 3501–3999: do not reconnect until the app acts (reconnect, network or
//!   foreground change).
//! - Network down: close and wait. Background: close after `background_grace`.
//! - A frame that does not decode is dropped whole (nothing of it is applied), the
//!   connection is kept (a newer server may send events this client does not know), and a
//!   catch-up sync recovers any durable change it may have carried.

use chat_protocol::SyncChange;
use chat_protocol::realtime::error_codes;

use super::catch_up::CatchUp;
use super::frames::{self, FrameError, ServerMessage};
use super::renewal::Renewal;
use super::state::{ConnectionState, DisconnectReason, RealtimeConfig, RealtimeEffect};
use crate::backoff::SplitMix64;
use crate::clock::Millis;

/// The realtime connection state machine, sans-I/O: socket events, frames, the token,
/// sync, network, foreground and clock ticks in, [`RealtimeEffect`]s out. Its rules are in
/// docs/architecture.md ("Realtime") and in the source of this type's module.
#[derive(Debug)]
pub struct RealtimeMachine {
    pub(super) config: RealtimeConfig,
    pub(super) rng: SplitMix64,
    pub(super) phase: Phase,
    pub(super) started: bool,
    pub(super) network: bool,
    pub(super) foreground: bool,
    /// When the app went to the background (the grace period runs from here).
    pub(super) background_at: Option<Millis>,
    pub(super) token: Option<String>,
    /// The last token the server refused with `3500`: never sent again.
    pub(super) refused_token: Option<String>,
    pub(super) auth_stopped: bool,
    /// Failed attempts since the last stable connection.
    pub(super) attempt: u32,
    pub(super) next_socket: u64,
    pub(super) next_command: u32,
    /// A sync is running (reported by the engine, connected or not).
    pub(super) sync_running: bool,
    pub(super) effects: Vec<RealtimeEffect>,
    published: ConnectionState,
    /// Frames dropped because they did not decode (for status and logs).
    pub(crate) rejected_frames: u64,
    /// The last decode error.
    pub(crate) last_frame_error: Option<FrameError>,
}

#[derive(Debug)]
pub(super) enum Phase {
    Idle(DisconnectReason),
    Offline,
    WaitingToken,
    Backoff {
        until: Millis,
        retry_in: std::time::Duration,
    },
    Opening {
        socket: u64,
        deadline: Millis,
    },
    Handshake {
        socket: u64,
        command: u32,
        token: String,
        deadline: Millis,
        /// Changes that came before the connect reply, and the last one's offset.
        early: Vec<SyncChange>,
        early_offset: u64,
    },
    Connected(Box<Live>),
    AuthFailed(String),
}

#[derive(Debug)]
pub(super) struct Live {
    pub(super) socket: u64,
    pub(super) ping_every: std::time::Duration,
    pub(super) watchdog: Millis,
    /// The connection becomes stable (resetting the attempt counter) at this time.
    pub(super) stable_at: Option<Millis>,
    pub(super) renewal: Renewal,
    pub(super) last_seq: u64,
    /// The last publication offset seen (0: none yet).
    pub(super) offset: u64,
    pub(super) catch_up: CatchUp,
}

impl RealtimeMachine {
    /// A stopped machine; `seed` drives the backoff jitter.
    pub fn new(config: RealtimeConfig, seed: u64) -> Self {
        Self {
            config,
            rng: SplitMix64::new(seed),
            phase: Phase::Idle(DisconnectReason::Stopped),
            started: false,
            network: true,
            foreground: true,
            background_at: None,
            token: None,
            refused_token: None,
            auth_stopped: false,
            attempt: 0,
            next_socket: 0,
            next_command: 0,
            sync_running: false,
            effects: Vec::new(),
            published: ConnectionState::Disconnected {
                reason: DisconnectReason::Stopped,
            },
            rejected_frames: 0,
            last_frame_error: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> ConnectionState {
        match &self.phase {
            Phase::Idle(reason) => ConnectionState::Disconnected {
                reason: reason.clone(),
            },
            Phase::Offline => ConnectionState::WaitingForNetwork,
            Phase::WaitingToken | Phase::Opening { .. } | Phase::Handshake { .. } => {
                ConnectionState::Connecting {
                    attempt: self.attempt,
                }
            }
            Phase::Backoff { retry_in, .. } => ConnectionState::WaitingToReconnect {
                attempt: self.attempt,
                retry_in: *retry_in,
            },
            Phase::Connected(_) => ConnectionState::Connected,
            Phase::AuthFailed(reason) => ConnectionState::AuthFailed {
                reason: reason.clone(),
            },
        }
    }

    /// Whether the connection is up and pushed changes are applied as they arrive.
    pub fn is_live(&self) -> bool {
        matches!(&self.phase, Phase::Connected(live) if !live.catch_up.holding())
    }

    /// Whether the connection is up and holds pushed changes back (until a sync ends):
    /// changes are on their way that the cache does not have yet.
    pub fn is_holding(&self) -> bool {
        matches!(&self.phase, Phase::Connected(live) if live.catch_up.holding())
    }

    /// Starts connecting (idempotent).
    pub fn start(&mut self, now: Millis) {
        if !self.started {
            self.started = true;
            self.attempt = 0;
            self.connect_now(now);
        }
    }

    /// Closes the connection for good.
    pub fn stop(&mut self) {
        self.started = false;
        self.drop_socket();
        self.phase = Phase::Idle(DisconnectReason::Stopped);
        self.publish();
    }

    /// The app asks to reconnect now (after a refusal, or to skip a backoff wait). A
    /// connection being opened is kept.
    pub fn reconnect(&mut self, now: Millis) {
        let busy = matches!(
            self.phase,
            Phase::Connected(_) | Phase::Opening { .. } | Phase::Handshake { .. }
        );
        if self.started && !busy {
            self.attempt = 0;
            self.connect_now(now);
        }
    }

    /// The app reports network reachability.
    pub fn set_network(&mut self, available: bool, now: Millis) {
        if available == self.network {
            return;
        }
        self.network = available;
        if !self.started {
            return;
        }
        if available {
            self.reconnect(now);
        } else {
            self.drop_socket();
            self.phase = Phase::Offline;
            self.publish();
        }
    }

    /// The app went to the background (`false`) or came back (`true`).
    pub fn set_foreground(&mut self, foreground: bool, now: Millis) {
        if foreground == self.foreground {
            return;
        }
        self.foreground = foreground;
        if foreground {
            self.background_at = None;
            self.reconnect(now);
        } else {
            self.background_at = Some(now);
            if self.started && !matches!(self.phase, Phase::Connected(_)) {
                // Not connected: nothing to keep alive, stop trying right away.
                self.drop_socket();
                self.phase = Phase::Idle(DisconnectReason::Background);
                self.publish();
            }
        }
    }

    /// The engine's current token and whether its authentication is stopped. Called after
    /// every engine step; cheap when nothing changed.
    pub fn set_token(&mut self, token: Option<&str>, auth_stopped: bool, now: Millis) {
        let changed = self.token.as_deref() != token;
        self.token = token.map(str::to_owned);
        self.auth_stopped = auth_stopped;
        if auth_stopped && !matches!(self.phase, Phase::AuthFailed(_)) {
            // Nothing can be synced or refreshed: stop until the app gives a token.
            if self.started {
                self.drop_socket();
                self.phase = Phase::AuthFailed("the token was refused".into());
                self.publish();
            }
            return;
        }
        match &mut self.phase {
            Phase::WaitingToken if self.token.is_some() => self.connect_now(now),
            Phase::AuthFailed(_) if !auth_stopped && changed && self.token.is_some() => {
                self.attempt = 0;
                self.connect_now(now);
            }
            Phase::Connected(_) => self.offer_refresh(),
            _ => {}
        }
    }

    /// The app asked for a new token (`refresh_token`): a token refused before may be
    /// valid again (the provider's user changed, the server's keys were fixed).
    pub fn forget_refused_token(&mut self) {
        self.refused_token = None;
    }

    /// A sync started (any sync: realtime's catch-up, the app's, the start's).
    pub fn sync_started(&mut self) {
        self.sync_running = true;
        if let Phase::Connected(live) = &mut self.phase {
            live.catch_up.sync_started();
        }
    }

    /// The running sync finished (`ok`) or failed for good: changes held meanwhile are
    /// applied now.
    pub fn sync_finished(&mut self, ok: bool, now: Millis) {
        self.sync_running = false;
        if let Phase::Connected(live) = &mut self.phase {
            let held = live.catch_up.sync_finished(ok, now, &mut self.effects);
            if !held.is_empty() {
                self.effects.push(RealtimeEffect::Apply(held));
            }
        }
    }

    /// Asks for a catch-up sync now (e.g. the user was added to a channel that is not
    /// cached: its changes are held until the sync has brought the channel).
    pub fn request_catch_up(&mut self) {
        if let Phase::Connected(live) = &mut self.phase {
            live.catch_up.request(&mut self.effects);
        }
    }

    /// The socket `socket` is open.
    pub fn opened(&mut self, socket: u64, now: Millis) {
        let Phase::Opening {
            socket: current,
            deadline,
        } = self.phase
        else {
            return;
        };
        if current != socket {
            return;
        }
        let Some(token) = self.token.clone() else {
            self.drop_socket();
            self.connect_now(now);
            return;
        };
        self.next_command += 1;
        let command = self.next_command;
        self.effects.push(RealtimeEffect::Send {
            socket,
            text: frames::connect(command, &token),
        });
        // One deadline for opening and authenticating.
        self.phase = Phase::Handshake {
            socket,
            command,
            token,
            deadline,
            early: Vec::new(),
            early_offset: 0,
        };
    }

    /// A text frame arrived on `socket`.
    pub fn frame(&mut self, socket: u64, text: &str, now: Millis) {
        if self.socket() != Some(socket) {
            return;
        }
        let messages = match frames::decode_frame(text) {
            Ok(messages) => messages,
            Err(e) => {
                self.rejected_frames += 1;
                self.last_frame_error = Some(e);
                if let Phase::Connected(live) = &mut self.phase {
                    live.watchdog = now.saturating_add(live.ping_every + self.config.ping_grace);
                    live.catch_up.request(&mut self.effects);
                }
                return;
            }
        };
        let mut changes = Vec::new();
        for message in messages {
            self.on_message(message, &mut changes, now);
        }
        let max = self.config.max_buffered;
        match &mut self.phase {
            Phase::Connected(live) => {
                live.watchdog = now.saturating_add(live.ping_every + self.config.ping_grace);
                let apply = live.catch_up.push(changes, max, &mut self.effects);
                if !apply.is_empty() {
                    self.effects.push(RealtimeEffect::Apply(apply));
                }
            }
            Phase::Handshake { early, .. } => early.extend(changes),
            _ => {}
        }
    }

    fn on_message(&mut self, message: ServerMessage, changes: &mut Vec<SyncChange>, now: Millis) {
        let socket = self.socket().unwrap_or_default();
        match message {
            ServerMessage::Ping => self.effects.push(RealtimeEffect::Send {
                socket,
                text: frames::pong(),
            }),
            ServerMessage::Change { change, offset } => {
                match &mut self.phase {
                    Phase::Connected(live) => {
                        // A numbered change must be the next one, and seqs only grow: a
                        // gap or a step back means the stream is not complete.
                        let gap = offset != 0 && offset != live.offset + 1;
                        if gap || change.seq <= live.last_seq {
                            live.catch_up.request(&mut self.effects);
                        }
                        if offset != 0 {
                            live.offset = offset;
                        }
                        live.last_seq = live.last_seq.max(change.seq);
                    }
                    Phase::Handshake { early_offset, .. } => *early_offset = offset,
                    _ => {}
                }
                changes.push(change);
            }
            ServerMessage::Ephemeral(event) => self.effects.push(RealtimeEffect::Event(event)),
            ServerMessage::Connected {
                id,
                ttl,
                ping,
                info,
            } => {
                self.on_connected(id, ttl, ping, info.seq, changes, now);
            }
            ServerMessage::Refreshed { id, ttl } => self.on_refreshed(id, ttl, now),
            ServerMessage::Error { id, error } => self.on_error(id, error, now),
        }
    }

    fn on_connected(
        &mut self,
        id: u32,
        ttl: u32,
        ping: u32,
        seq: u64,
        changes: &mut Vec<SyncChange>,
        now: Millis,
    ) {
        let Phase::Handshake {
            socket,
            command,
            token,
            early,
            early_offset,
            ..
        } = &mut self.phase
        else {
            return;
        };
        if *command != id {
            return;
        }
        let ping_every =
            std::time::Duration::from_secs(u64::from(if ping == 0 { 25 } else { ping }));
        let mut catch_up = CatchUp::connected(self.sync_running, &mut self.effects);
        let mut held = std::mem::take(early);
        held.append(changes);
        let _ = catch_up.push(held, self.config.max_buffered, &mut self.effects);
        let live = Live {
            socket: *socket,
            ping_every,
            watchdog: now.saturating_add(ping_every + self.config.ping_grace),
            stable_at: Some(now.saturating_add(self.config.stable_after)),
            renewal: Renewal::new(std::mem::take(token), ttl, now, self.config.refresh_margin),
            last_seq: seq,
            offset: *early_offset,
            catch_up,
        };
        self.refused_token = None;
        self.phase = Phase::Connected(Box::new(live));
        self.publish();
    }

    fn on_error(&mut self, id: u32, error: chat_protocol::realtime::ReplyError, now: Millis) {
        match &mut self.phase {
            Phase::Handshake { command, token, .. } if *command == id => {
                let token = std::mem::take(token);
                self.drop_socket();
                if error.code == error_codes::TOKEN_EXPIRED {
                    self.reject_token(token, false);
                    self.connect_now(now);
                } else {
                    self.retry_later(now, false);
                }
            }
            Phase::Connected(_) => self.on_refresh_error(id, &error, now),
            _ => {}
        }
    }

    /// When [`RealtimeMachine::poll`] must run next without any input.
    pub fn next_wakeup(&self) -> Option<Millis> {
        let phase = match &self.phase {
            Phase::Backoff { until, .. } => Some(*until),
            Phase::Opening { deadline, .. } | Phase::Handshake { deadline, .. } => Some(*deadline),
            Phase::Connected(live) => [
                Some(live.watchdog),
                live.stable_at,
                live.renewal.next_wakeup(),
                live.catch_up.next_wakeup(),
            ]
            .into_iter()
            .flatten()
            .min(),
            _ => None,
        };
        let background = self
            .background_at
            .filter(|_| matches!(self.phase, Phase::Connected(_)))
            .map(|at| at.saturating_add(self.config.background_grace));
        phase.into_iter().chain(background).min()
    }

    /// Runs due timers and returns every effect produced since the last call.
    pub fn poll(&mut self, now: Millis) -> Vec<RealtimeEffect> {
        self.settle_stability(now);
        if let Some(at) = self.background_at
            && matches!(self.phase, Phase::Connected(_))
            && now >= at.saturating_add(self.config.background_grace)
        {
            self.drop_socket();
            self.phase = Phase::Idle(DisconnectReason::Background);
            self.publish();
        }
        match &mut self.phase {
            Phase::Backoff { until, .. } if now >= *until => self.connect_now(now),
            Phase::Opening { deadline, .. } | Phase::Handshake { deadline, .. }
                if now >= *deadline =>
            {
                self.drop_socket();
                self.retry_later(now, false);
            }
            Phase::Connected(live) if now >= live.watchdog => {
                // No ping, no frame: the socket is dead even if the OS has not noticed.
                let stable = live.stable_at.is_none();
                self.drop_socket();
                self.retry_later(now, stable);
            }
            Phase::Connected(live) => {
                live.catch_up.poll(now, &mut self.effects);
                if live.renewal.due(now) {
                    self.effects.push(RealtimeEffect::RenewToken);
                }
            }
            _ => {}
        }
        std::mem::take(&mut self.effects)
    }

    /// The socket the machine is using (opening, authenticating or connected).
    pub fn current_socket(&self) -> Option<u64> {
        self.socket()
    }

    pub(super) fn socket(&self) -> Option<u64> {
        match &self.phase {
            Phase::Opening { socket, .. } | Phase::Handshake { socket, .. } => Some(*socket),
            Phase::Connected(live) => Some(live.socket),
            _ => None,
        }
    }

    /// Closes the current socket, if any (the machine forgets it at once).
    pub(super) fn drop_socket(&mut self) {
        if let Some(socket) = self.socket() {
            self.effects.push(RealtimeEffect::Close { socket });
            self.phase = Phase::Idle(DisconnectReason::Stopped);
        }
    }

    pub(super) fn reject_token(&mut self, token: String, never_again: bool) {
        if self.token.as_deref() == Some(token.as_str()) {
            self.token = None;
        }
        if never_again {
            self.refused_token = Some(token.clone());
        }
        self.effects.push(RealtimeEffect::TokenRejected { token });
    }

    pub(super) fn publish(&mut self) {
        let state = self.state();
        if state != self.published {
            self.published = state.clone();
            self.effects.push(RealtimeEffect::State(state));
        }
    }
}
