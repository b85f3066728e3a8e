//! The engine's token state: when to ask the token provider, what a `401` or a refused
//! token does, and when authentication stops (until the app calls `refresh_token`).

use super::{Engine, Io};
use crate::client::token::TokenError;
use crate::clock::Millis;

/// The token state.
#[derive(Debug, Default)]
pub(super) struct Auth {
    pub(super) token: Option<String>,
    pub(super) fetching: bool,
    /// The provider refused (or a refreshed token was refused again): wait for the app.
    pub(super) stopped: bool,
    pub(super) failures: u32,
    pub(super) retry_at: Option<Millis>,
    /// Tokens rejected (`401`) since the last request that succeeded.
    pub(super) rejections: u32,
    /// The token the current sync request was sent with.
    pub(super) sync_token: Option<String>,
    /// Fetching a fresh token while the current one still works (realtime renewal).
    pub(super) renewing: bool,
}

/// Tokens rejected in a row (with no successful request in between) after which the
/// client stops asking the provider until the app calls `refresh_token`: a provider that
/// keeps returning a bad token must not make the client hammer the server.
const MAX_REJECTIONS: u32 = 3;

impl Engine {
    /// The app asks for a new token (after a refusal, or proactively).
    pub(crate) fn refresh_token(&mut self) {
        self.rt.forget_refused_token();
        self.auth.stopped = false;
        self.auth.rejections = 0;
        self.auth.token = None;
        self.auth.failures = 0;
        self.auth.retry_at = None;
    }

    pub(super) fn want_token(&mut self, now: Millis) {
        let due = self.auth.retry_at.is_none_or(|at| at <= now);
        if !self.auth.fetching && !self.auth.stopped && due {
            self.auth.fetching = true;
            self.auth.retry_at = None;
            self.io.push(Io::FetchToken);
        }
    }

    /// The server rejected the current token: drop it (the next pump asks for another),
    /// or stop after too many rejections in a row.
    pub(super) fn token_refused(&mut self) {
        self.auth.token = None;
        self.auth.rejections = self.auth.rejections.saturating_add(1);
        if self.auth.rejections >= MAX_REJECTIONS {
            self.auth.stopped = true;
        }
    }

    /// The token provider answered.
    pub(crate) fn on_token(&mut self, result: Result<String, TokenError>, now: Millis) {
        self.auth.fetching = false;
        if std::mem::take(&mut self.auth.renewing) {
            let fresh = result
                .as_ref()
                .is_ok_and(|t| self.auth.token.as_deref() != Some(t.as_str()));
            self.rt.renewal_answered(fresh, now);
        }
        match result {
            Ok(token) => {
                self.auth.token = Some(token);
                self.auth.failures = 0;
                // Only a token the outbox asked for counts as a refresh (a first token
                // being refused is not a "refreshed token refused again").
                if self.outbox.is_auth_paused() {
                    self.outbox.on_token_refreshed();
                }
                self.sync.on_token_refreshed(now);
            }
            Err(TokenError::Unavailable(_)) => {
                self.auth.failures = self.auth.failures.saturating_add(1);
                let delay = self.auth_backoff.delay(self.auth.failures, &mut self.rng);
                self.auth.retry_at = Some(now.saturating_add(delay));
            }
            Err(TokenError::Refused(_)) => self.auth.stopped = true,
        }
    }

    /// Asks the provider for a fresh token while keeping the current one in use.
    pub(crate) fn renew_token(&mut self) {
        if !self.auth.fetching && !self.auth.stopped {
            self.auth.fetching = true;
            self.auth.renewing = true;
            self.io.push(Io::FetchToken);
        }
    }
}

impl Engine {
    /// The current token, if any.
    pub(crate) fn token(&self) -> Option<&str> {
        self.auth.token.as_deref()
    }

    /// Whether authentication is stopped until the app calls `refresh_token`.
    pub(crate) fn auth_stopped(&self) -> bool {
        self.auth.stopped
    }

    /// A caller-side request was answered `401` with `token`: fetch a new one.
    pub(crate) fn token_rejected(&mut self, token: &str) {
        if self.auth.token.as_deref() == Some(token) {
            self.token_refused();
        }
    }
}
