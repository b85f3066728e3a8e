//! The realtime connection state machine, sans-I/O: it consumes socket events (opened, a
//! frame, closed), the token, the network and foreground signals and clock ticks, and
//! answers with [`RealtimeEffect`]s. The driver owns the real socket; tests drive the
//! machine with an injected clock and scripted frames.
//!
//! Rules (docs/architecture.md, "Realtime"):
//! - Connect: open the socket, send `connect` with the current token, wait for the reply
//!   (all within `connect_timeout`). Every successful connect asks for a catch-up sync;
//!   durable changes that arrive meanwhile are held and applied after it, because a sync
//!   page that replaces a limited channel's window must not erase a newer pushed message.
//! - Reconnect with full-jitter exponential backoff; the first retry after losing a
//!   working connection is immediate, except after a server shutdown (every client would
//!   come back at once). The attempt counter resets on a successful connect.
//! - A dead socket is detected by a watchdog: no frame for the server's ping interval plus
//!   `ping_grace` replaces it.
//! - Token: `109` on connect or a `3005` close drop the token and connect again with a new
//!   one; `3500` does the same but never reuses the refused token (if the provider has no
//!   other, the state becomes auth-failed until the app gives one). A token is renewed
//!   and sent with `refresh` before it expires.
//! - Close codes 3501–3999: do not reconnect until the app acts (reconnect, network or
//!   foreground change).
//! - Network down: close and wait. Background: close after `background_grace`.
//! - A frame that does not decode is dropped whole (nothing of it is applied), the
//!   connection is kept (a newer server may send events this client does not know), and a
//!   catch-up sync recovers any durable change it may have carried.

use chat_protocol::SyncChange;
use chat_protocol::realtime::disconnect_codes as dc;
use chat_protocol::realtime::error_codes;

use super::frames::{self, FrameError, ServerMessage};
use super::state::{ConnectionState, DisconnectReason, RealtimeConfig, RealtimeEffect};
use crate::outbox::{Millis, SplitMix64};

/// See the [module documentation](self).
#[derive(Debug)]
pub struct RealtimeMachine {
    config: RealtimeConfig,
    rng: SplitMix64,
    phase: Phase,
    started: bool,
    network: bool,
    foreground: bool,
    /// When the app went to the background (the grace period runs from here).
    background_at: Option<Millis>,
    token: Option<String>,
    /// The last token the server refused with `3500`: never sent again.
    refused_token: Option<String>,
    auth_stopped: bool,
    /// Failed attempts since the last successful connect.
    attempt: u32,
    next_socket: u64,
    next_command: u32,
    effects: Vec<RealtimeEffect>,
    published: ConnectionState,
    /// Frames dropped because they did not decode (for status and logs).
    pub(crate) rejected_frames: u64,
    /// The last decode error.
    pub(crate) last_frame_error: Option<FrameError>,
}

#[derive(Debug)]
enum Phase {
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
        early: Vec<SyncChange>,
        /// The offset of the last change in `early`.
        early_offset: u64,
    },
    Connected(Box<Live>),
    AuthFailed(String),
}

#[derive(Debug)]
struct Live {
    socket: u64,
    token: String,
    ping_every: std::time::Duration,
    watchdog: Millis,
    /// When to renew the token (`None`: it does not expire).
    renew_at: Option<Millis>,
    /// Asked the engine for a fresh token; send `refresh` when it arrives.
    renewing: bool,
    /// The `refresh` command in flight.
    refresh_command: Option<u32>,
    last_seq: u64,
    /// The last publication offset seen (0: none yet).
    offset: u64,
    catching_up: bool,
    held: Vec<SyncChange>,
    /// Held changes were dropped (or a gap was seen during the catch-up): another
    /// catch-up must follow.
    overflowed: bool,
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

    /// Whether the connection is up and caught up (pushed changes are applied as they
    /// arrive).
    pub fn is_live(&self) -> bool {
        matches!(&self.phase, Phase::Connected(live) if !live.catching_up)
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

    /// The app asks to reconnect now (after a refusal, or to skip a backoff wait).
    pub fn reconnect(&mut self, now: Millis) {
        if self.started && !matches!(self.phase, Phase::Connected(_)) {
            self.attempt = 0;
            self.drop_socket();
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
            self.attempt = 0;
            if !matches!(self.phase, Phase::Connected(_)) {
                self.drop_socket();
                self.connect_now(now);
            }
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
            if self.started && !matches!(self.phase, Phase::Connected(_)) {
                self.attempt = 0;
                self.drop_socket();
                self.connect_now(now);
            }
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
        if auth_stopped && !matches!(self.phase, Phase::Connected(_) | Phase::AuthFailed(_)) {
            self.drop_socket();
            self.phase = Phase::AuthFailed("the token was refused".into());
            self.publish();
            return;
        }
        match &mut self.phase {
            Phase::WaitingToken if self.token.is_some() => self.connect_now(now),
            Phase::AuthFailed(_) if !auth_stopped && changed && self.token.is_some() => {
                self.attempt = 0;
                self.connect_now(now);
            }
            Phase::Connected(live) if changed && live.renewing => {
                if let Some(token) = self.token.clone().filter(|t| *t != live.token) {
                    live.renewing = false;
                    self.next_command += 1;
                    let id = self.next_command;
                    live.refresh_command = Some(id);
                    live.token = token.clone();
                    let socket = live.socket;
                    self.effects.push(RealtimeEffect::Send {
                        socket,
                        text: frames::refresh(id, &token),
                    });
                }
            }
            _ => {}
        }
    }

    /// The socket `socket` is open.
    pub fn opened(&mut self, socket: u64, now: Millis) {
        let Phase::Opening {
            socket: current, ..
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
        self.phase = Phase::Handshake {
            socket,
            command,
            token,
            deadline: now.saturating_add(self.config.connect_timeout),
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
                    if !live.catching_up {
                        live.catching_up = true;
                        self.effects.push(RealtimeEffect::CatchUp);
                    }
                }
                return;
            }
        };
        let mut changes = Vec::new();
        for message in messages {
            self.on_message(message, &mut changes, now);
        }
        if let Phase::Connected(live) = &mut self.phase {
            live.watchdog = now.saturating_add(live.ping_every + self.config.ping_grace);
            if live.catching_up {
                hold(live, changes, self.config.max_buffered);
            } else if !changes.is_empty() {
                self.effects.push(RealtimeEffect::Apply(changes));
            }
        } else if let Phase::Handshake { early, .. } = &mut self.phase {
            early.extend(changes);
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
                if let Phase::Connected(live) = &mut self.phase {
                    // A numbered change must be the next one, and seqs only grow: a gap
                    // or a step back means the stream is not complete.
                    let gap = offset != 0 && offset != live.offset + 1;
                    let back = change.seq <= live.last_seq;
                    if gap || back {
                        if live.catching_up {
                            live.overflowed = true; // another catch-up after this one
                        } else {
                            live.catching_up = true;
                            self.effects.push(RealtimeEffect::CatchUp);
                        }
                    }
                    if offset != 0 {
                        live.offset = offset;
                    }
                    live.last_seq = live.last_seq.max(change.seq);
                } else if let Phase::Handshake { early_offset, .. } = &mut self.phase {
                    *early_offset = offset;
                }
                changes.push(change);
            }
            ServerMessage::Ephemeral(event) => self.effects.push(RealtimeEffect::Event(event)),
            ServerMessage::Connected {
                id,
                ttl,
                ping,
                info,
            } => self.on_connected(id, ttl, ping, info.seq, changes, now),
            ServerMessage::Refreshed { id, ttl } => {
                if let Phase::Connected(live) = &mut self.phase
                    && live.refresh_command == Some(id)
                {
                    live.refresh_command = None;
                    live.renew_at = renew_at(now, ttl, self.config.refresh_margin);
                }
            }
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
        let mut held = std::mem::take(early);
        held.append(changes);
        let live = Live {
            socket: *socket,
            token: std::mem::take(token),
            ping_every,
            watchdog: now.saturating_add(ping_every + self.config.ping_grace),
            renew_at: renew_at(now, ttl, self.config.refresh_margin),
            renewing: false,
            refresh_command: None,
            last_seq: seq,
            offset: *early_offset,
            catching_up: true,
            held,
            overflowed: false,
        };
        self.attempt = 0;
        self.refused_token = None;
        self.phase = Phase::Connected(Box::new(live));
        self.effects.push(RealtimeEffect::CatchUp);
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
            Phase::Connected(live) if live.refresh_command == Some(id) => {
                live.refresh_command = None;
                if error.temporary {
                    live.renew_at = Some(now.saturating_add(std::time::Duration::from_secs(5)));
                } else {
                    // The fresh token was not accepted: ask for another one; the server
                    // closes the connection when the old one runs out.
                    let token = live.token.clone();
                    live.renewing = true;
                    self.effects.push(RealtimeEffect::TokenRejected { token });
                }
            }
            _ => {}
        }
    }

    /// The socket `socket` closed (`code` is the close frame's code; `None` when the
    /// connection failed or dropped without one).
    pub fn closed(&mut self, socket: u64, code: Option<u16>, reason: &str, now: Millis) {
        if self.socket() != Some(socket) {
            return;
        }
        let was_live = matches!(self.phase, Phase::Connected(_));
        let token = match &self.phase {
            Phase::Connected(live) => Some(live.token.clone()),
            Phase::Handshake { token, .. } => Some(token.clone()),
            _ => None,
        };
        self.phase = Phase::Idle(DisconnectReason::Stopped); // replaced below
        match code {
            Some(dc::EXPIRED) => {
                if let Some(token) = token {
                    self.reject_token(token, false);
                }
                self.connect_now(now);
            }
            Some(dc::INVALID_TOKEN) => {
                if let Some(token) = token {
                    self.reject_token(token, true);
                }
                self.connect_now(now);
            }
            Some(code @ 3501..=3999) => {
                self.phase = Phase::Idle(DisconnectReason::Refused {
                    code,
                    reason: reason.to_owned(),
                });
                self.publish();
            }
            Some(dc::SHUTDOWN) => self.retry_later(now, false),
            _ => self.retry_later(now, was_live),
        }
    }

    /// The catch-up sync asked for by [`RealtimeEffect::CatchUp`] finished (or failed for
    /// good): the held changes are applied now.
    pub fn caught_up(&mut self) {
        let Phase::Connected(live) = &mut self.phase else {
            return;
        };
        if !live.catching_up {
            return;
        }
        let held = std::mem::take(&mut live.held);
        if live.overflowed {
            // Some changes were dropped: the next sync brings them.
            live.overflowed = false;
            self.effects.push(RealtimeEffect::CatchUp);
            return;
        }
        live.catching_up = false;
        if !held.is_empty() {
            self.effects.push(RealtimeEffect::Apply(held));
        }
    }

    /// When [`RealtimeMachine::poll`] must run next without any input.
    pub fn next_wakeup(&self) -> Option<Millis> {
        let phase = match &self.phase {
            Phase::Backoff { until, .. } => Some(*until),
            Phase::Opening { deadline, .. } | Phase::Handshake { deadline, .. } => Some(*deadline),
            Phase::Connected(live) => Some(match live.renew_at {
                Some(at) if !live.renewing && live.refresh_command.is_none() => {
                    at.min(live.watchdog)
                }
                _ => live.watchdog,
            }),
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
                self.drop_socket();
                self.retry_later(now, true);
            }
            Phase::Connected(live)
                if live.renew_at.is_some_and(|at| now >= at)
                    && !live.renewing
                    && live.refresh_command.is_none() =>
            {
                live.renewing = true;
                live.renew_at = None;
                self.effects.push(RealtimeEffect::RenewToken);
            }
            _ => {}
        }
        std::mem::take(&mut self.effects)
    }

    /// The socket the machine is using (opening, authenticating or connected).
    pub fn current_socket(&self) -> Option<u64> {
        self.socket()
    }

    fn socket(&self) -> Option<u64> {
        match &self.phase {
            Phase::Opening { socket, .. } | Phase::Handshake { socket, .. } => Some(*socket),
            Phase::Connected(live) => Some(live.socket),
            _ => None,
        }
    }

    /// Closes the current socket, if any (the machine forgets it at once).
    fn drop_socket(&mut self) {
        if let Some(socket) = self.socket() {
            self.effects.push(RealtimeEffect::Close { socket });
            self.phase = Phase::Idle(DisconnectReason::Stopped);
        }
    }

    fn reject_token(&mut self, token: String, never_again: bool) {
        if self.token.as_deref() == Some(token.as_str()) {
            self.token = None;
        }
        if never_again {
            self.refused_token = Some(token.clone());
        }
        self.effects.push(RealtimeEffect::TokenRejected { token });
    }

    /// Connects now if everything allows it, or settles in the state that explains why
    /// not.
    fn connect_now(&mut self, now: Millis) {
        self.phase = if !self.started {
            Phase::Idle(DisconnectReason::Stopped)
        } else if !self.network {
            Phase::Offline
        } else if !self.foreground {
            Phase::Idle(DisconnectReason::Background)
        } else if self.auth_stopped {
            Phase::AuthFailed("the token was refused".into())
        } else {
            match self.token.as_deref() {
                Some(t) if self.refused_token.as_deref() != Some(t) => {
                    self.next_socket += 1;
                    let socket = self.next_socket;
                    self.effects.push(RealtimeEffect::Open { socket });
                    Phase::Opening {
                        socket,
                        deadline: now.saturating_add(self.config.connect_timeout),
                    }
                }
                Some(_) => Phase::AuthFailed("the token was refused".into()),
                None => {
                    self.effects.push(RealtimeEffect::NeedToken);
                    Phase::WaitingToken
                }
            }
        };
        self.publish();
    }

    /// Schedules the next attempt: immediately if `immediate` and this is the first
    /// failure since a working connection, otherwise after a full-jitter backoff.
    fn retry_later(&mut self, now: Millis, immediate: bool) {
        self.attempt = self.attempt.saturating_add(1);
        if immediate && self.attempt == 1 {
            self.connect_now(now);
            return;
        }
        let retry_in = self.config.reconnect.delay(self.attempt, &mut self.rng);
        self.phase = Phase::Backoff {
            until: now.saturating_add(retry_in),
            retry_in,
        };
        self.publish();
    }

    fn publish(&mut self) {
        let state = self.state();
        if state != self.published {
            self.published = state.clone();
            self.effects.push(RealtimeEffect::State(state));
        }
    }
}

/// Holds `changes` during a catch-up, dropping them all (and asking for another catch-up
/// at the end) past `max`.
fn hold(live: &mut Live, changes: Vec<SyncChange>, max: usize) {
    if live.overflowed {
        return;
    }
    if live.held.len() + changes.len() > max {
        live.held.clear();
        live.overflowed = true;
    } else {
        live.held.extend(changes);
    }
}

/// When to renew a token that expires in `ttl` seconds (`None` if it does not expire).
fn renew_at(now: Millis, ttl: u32, margin: std::time::Duration) -> Option<Millis> {
    (ttl > 0).then(|| {
        let lifetime = std::time::Duration::from_secs(u64::from(ttl));
        now.saturating_add(lifetime - margin.min(lifetime / 2))
    })
}
