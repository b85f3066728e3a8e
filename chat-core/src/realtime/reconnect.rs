//! Losing and regaining the connection: what each way of closing means (reconnect now,
//! later with backoff, with a new token, or not until the app acts), when a connection
//! counts as stable, and whether a new attempt can start at all (network, foreground,
//! token).

use chat_protocol::realtime::disconnect_codes as dc;

use super::machine::{Phase, RealtimeMachine};
use super::state::{DisconnectReason, RealtimeEffect};
use crate::clock::Millis;

impl RealtimeMachine {
    /// The socket `socket` closed (`code` is the close frame's code; `None` when the
    /// connection failed or dropped without one).
    pub fn closed(&mut self, socket: u64, code: Option<u16>, reason: &str, now: Millis) {
        if self.socket() != Some(socket) {
            return;
        }
        self.settle_stability(now);
        let (stable, token) = match &self.phase {
            Phase::Connected(live) => (live.stable_at.is_none(), Some(live.renewal.token())),
            Phase::Handshake { token, .. } => (false, Some(token.clone())),
            _ => (false, None),
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
            _ => self.retry_later(now, stable),
        }
    }

    /// A connection that has stayed up for `stable_after` resets the attempt counter.
    pub(super) fn settle_stability(&mut self, now: Millis) {
        if let Phase::Connected(live) = &mut self.phase
            && live.stable_at.is_some_and(|at| now >= at)
        {
            live.stable_at = None;
            self.attempt = 0;
        }
    }

    /// Connects now if everything allows it, or settles in the state that explains why
    /// not.
    pub(super) fn connect_now(&mut self, now: Millis) {
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
    /// failure since a stable connection, otherwise after a full-jitter backoff.
    pub(super) fn retry_later(&mut self, now: Millis, immediate: bool) {
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
}
