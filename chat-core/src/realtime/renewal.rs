//! Token renewal on a live connection. A connection's token expires `ttl` seconds after
//! connect; before that (`ttl` minus min(`refresh_margin`, `ttl` / 2)) the machine asks
//! the engine for a fresh token ([`RealtimeEffect::RenewToken`]) and sends it with
//! `refresh` as soon as the engine holds a token other than the connection's. The
//! connection's token changes only when the server acknowledges the refresh. A provider
//! that fails or hands back the same token, or a temporary server error, is retried
//! later; a refused token is reported and replaced.

use std::time::Duration;

use chat_protocol::realtime::ReplyError;

use super::frames;
use super::machine::{Phase, RealtimeMachine};
use super::state::RealtimeEffect;
use crate::clock::Millis;

/// Wait before asking again after the provider failed (or gave the same token).
const RETRY_PROVIDER: Duration = Duration::from_secs(10);
/// Wait before sending again after a temporary server error.
const RETRY_SERVER: Duration = Duration::from_secs(5);

/// A live connection's token and its renewal.
#[derive(Debug)]
pub(super) struct Renewal {
    /// The token the server holds for this connection.
    token: String,
    margin: Duration,
    renew_at: Option<Millis>,
    /// Waiting for the engine's fresh token.
    renewing: bool,
    /// The `refresh` command in flight and its token.
    pending: Option<(u32, String)>,
}

impl Renewal {
    /// A connection authenticated with `token`, which expires in `ttl` seconds (0: never).
    pub(super) fn new(token: String, ttl: u32, now: Millis, margin: Duration) -> Self {
        Self {
            token,
            margin,
            renew_at: renew_at(now, ttl, margin),
            renewing: false,
            pending: None,
        }
    }

    /// The token the server holds for this connection.
    pub(super) fn token(&self) -> String {
        self.token.clone()
    }

    pub(super) fn next_wakeup(&self) -> Option<Millis> {
        self.renew_at.filter(|_| !self.renewing)
    }

    /// Whether renewal starts now (then the engine is asked for a fresh token).
    pub(super) fn due(&mut self, now: Millis) -> bool {
        let due = !self.renewing && self.renew_at.is_some_and(|at| now >= at);
        if due {
            self.renewing = true;
            self.renew_at = None;
        }
        due
    }
}

/// When to renew a token that expires in `ttl` seconds (`None` if it does not expire).
fn renew_at(now: Millis, ttl: u32, margin: Duration) -> Option<Millis> {
    (ttl > 0).then(|| {
        let lifetime = Duration::from_secs(u64::from(ttl));
        now.saturating_add(lifetime - margin.min(lifetime / 2))
    })
}

impl RealtimeMachine {
    /// Sends the engine's token with `refresh` if a renewal waits for one and it differs
    /// from the connection's.
    pub(super) fn offer_refresh(&mut self) {
        let Phase::Connected(live) = &mut self.phase else {
            return;
        };
        let r = &mut live.renewal;
        let Some(token) = self.token.clone() else {
            return;
        };
        if !r.renewing || r.pending.is_some() || token == r.token {
            return;
        }
        r.renewing = false;
        self.next_command += 1;
        let id = self.next_command;
        r.pending = Some((id, token.clone()));
        self.effects.push(RealtimeEffect::Send {
            socket: live.socket,
            text: frames::refresh(id, &token),
        });
    }

    /// The engine could not get a fresh token (the provider failed, or handed back the
    /// token the connection already has): try again later.
    pub fn renew_failed(&mut self, now: Millis) {
        if let Phase::Connected(live) = &mut self.phase
            && live.renewal.renewing
        {
            live.renewal.renewing = false;
            live.renewal.renew_at = Some(now.saturating_add(RETRY_PROVIDER));
        }
    }

    pub(super) fn on_refreshed(&mut self, id: u32, ttl: u32, now: Millis) {
        if let Phase::Connected(live) = &mut self.phase {
            let r = &mut live.renewal;
            if let Some((pending, token)) = r.pending.take() {
                if pending == id {
                    r.token = token;
                    r.renew_at = renew_at(now, ttl, r.margin);
                } else {
                    r.pending = Some((pending, token));
                }
            }
        }
    }

    pub(super) fn on_refresh_error(&mut self, id: u32, error: &ReplyError, now: Millis) {
        let Phase::Connected(live) = &mut self.phase else {
            return;
        };
        let r = &mut live.renewal;
        let Some((pending, token)) = r.pending.take() else {
            return;
        };
        if pending != id {
            r.pending = Some((pending, token));
            return;
        }
        if error.temporary {
            // Sent again at the next renewal (the engine still holds it).
            r.renew_at = Some(now.saturating_add(RETRY_SERVER));
        } else {
            // Refused: get another one (the server closes the connection when the old
            // token runs out, if none is accepted before).
            r.renewing = true;
            self.reject_token(token, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_is_due_before_expiry_and_not_twice() {
        let mut r = Renewal::new("t".into(), 120, Millis(0), Duration::from_secs(60));
        assert_eq!(r.next_wakeup(), Some(Millis(60_000)));
        assert!(!r.due(Millis(59_999)));
        assert!(r.due(Millis(60_000)));
        assert!(!r.due(Millis(60_001)), "once");
        assert_eq!(r.next_wakeup(), None);
        // Short tokens renew at half their lifetime.
        let r = Renewal::new("t".into(), 10, Millis(0), Duration::from_secs(60));
        assert_eq!(r.next_wakeup(), Some(Millis(5_000)));
        assert_eq!(
            Renewal::new("t".into(), 0, Millis(0), Duration::ZERO).next_wakeup(),
            None
        );
    }
}
