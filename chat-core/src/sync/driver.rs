//! The [`SyncDriver`] state machine and its vocabulary. See the [module docs](super).

use std::time::Duration;

use chat_protocol::{ErrorAction, ErrorBody, ErrorCode, SyncResponse};

use crate::backoff::{BackoffConfig, SplitMix64};
use crate::clock::Millis;

/// Driver settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncConfig {
    /// Changes per page, sent as `limit` (the server accepts 1 to 1 000).
    pub limit: u32,
    /// Retry timing for transient failures.
    pub backoff: BackoffConfig,
}

impl Default for SyncConfig {
    /// 500 changes per page, [`BackoffConfig::default`].
    fn default() -> Self {
        Self {
            limit: 500,
            backoff: BackoffConfig::default(),
        }
    }
}

/// What happened to a [`SyncEffect::Fetch`], as reported by the client.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncOutcome {
    /// A `200` answer, decoded.
    Ok(SyncResponse),
    /// A non-2xx answer.
    Http {
        /// The HTTP status.
        status: u16,
        /// The parsed error body, if it was one.
        body: Option<ErrorBody>,
        /// The `Retry-After` header, if present.
        retry_after: Option<Duration>,
    },
    /// No usable HTTP answer: connection failed, timed out, or the body did not decode.
    Network(String),
}

/// Something the client must do, returned by [`SyncDriver::poll`].
#[derive(Debug, Clone, PartialEq)]
pub enum SyncEffect {
    /// `GET` this path (relative to the server's base URL, with the user's token); report
    /// the result with [`SyncDriver::on_response`].
    Fetch {
        /// e.g. `/v1/sync?limit=500&cursor=v1%3AXk3m9QzA%3A59`.
        path: String,
    },
    /// Apply this page with `Cache::apply_sync_page`; report [`SyncDriver::on_applied`] or
    /// [`SyncDriver::on_apply_failed`].
    Apply {
        /// The page, as the server sent it.
        page: SyncResponse,
    },
    /// Drop the synced data with `Cache::reset_synced_data` (the outbox stays); report
    /// [`SyncDriver::on_reset_done`] or [`SyncDriver::on_apply_failed`].
    Reset,
    /// The token was refused: get a fresh one, then call [`SyncDriver::on_token_refreshed`].
    NeedToken,
    /// A sync completed: fetch `GET /v1/unread` and store it with
    /// `Cache::replace_unread_counts` (best effort; nothing to report).
    RefreshUnread,
    /// A sync completed; everything up to `cursor` is applied.
    Done {
        /// The settled cursor (the cache holds the same one).
        cursor: String,
    },
    /// The sync stopped on an error a retry cannot fix (e.g. `403`); the cursor is kept
    /// and the next [`SyncDriver::start`] tries again.
    Failed {
        /// The HTTP status.
        status: u16,
        /// The error body, if any.
        body: Option<ErrorBody>,
    },
    /// Nothing is running and nothing is pending: wait for the next `start`.
    Idle,
}

/// Where a sync is.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// Not syncing.
    Idle,
    /// A fetch is due (emitted by the next `poll`).
    FetchDue,
    /// A fetch is out; waiting for `on_response`.
    Fetching,
    /// A page arrived; `Apply` is due.
    ApplyDue(SyncResponse),
    /// `Apply` was handed out; waiting for `on_applied` of a page with this cursor.
    Applying { cursor: String, has_more: bool },
    /// `Reset` is due.
    ResetDue,
    /// `Reset` was handed out; waiting for `on_reset_done`.
    Resetting,
    /// `NeedToken` is due.
    TokenDue,
    /// Waiting for `on_token_refreshed`.
    WaitingToken,
    /// Waiting for a retry until this time.
    Backoff(Millis),
    /// The sync completed with this cursor; `RefreshUnread` and `Done` are due.
    Completed(String),
    /// The sync failed permanently; `Failed` is due.
    FailedDue {
        status: u16,
        body: Option<ErrorBody>,
    },
}

/// The sync state machine. See the [module documentation](super).
#[derive(Debug, Clone)]
pub struct SyncDriver {
    config: SyncConfig,
    rng: SplitMix64,
    phase: Phase,
    /// The cursor of the last applied page (or the one given to `start`).
    cursor: Option<String>,
    /// Consecutive failures, for the backoff.
    failures: u32,
    /// A `start` arrived while running: sync again after this one.
    again: bool,
    /// The reason of the last failure, for logs.
    last_error: Option<String>,
}

impl SyncDriver {
    /// An idle driver; `seed` fixes its retry jitter.
    pub fn new(config: SyncConfig, seed: u64) -> Self {
        Self {
            config,
            rng: SplitMix64::new(seed),
            phase: Phase::Idle,
            cursor: None,
            failures: 0,
            again: false,
            last_error: None,
        }
    }

    /// Begins a sync from `cursor` (the cache's stored cursor; `None` or empty bootstraps).
    /// Call it after the outbox has been flushed. While a sync runs, this only asks for one
    /// more sync after it (coalesced) and `cursor` is ignored: the running sync's applied
    /// cursor is newer.
    pub fn start(&mut self, cursor: Option<String>, _now: Millis) {
        if self.is_running() {
            self.again = true;
            return;
        }
        self.cursor = cursor.filter(|c| !c.is_empty());
        self.failures = 0;
        self.again = false;
        self.phase = Phase::FetchDue;
    }

    /// Whether a sync is under way (including waiting for a retry or a token).
    pub fn is_running(&self) -> bool {
        !matches!(self.phase, Phase::Idle)
    }

    /// The cursor of the last applied page: never ahead of what the cache holds.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// The last failure (network error, HTTP status, apply error), for logs.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// When [`poll`](Self::poll) has something to do without a new input: the end of a
    /// backoff wait, or `Millis(0)` (at once) when an effect is already due. `None` while
    /// waiting for an input, or idle.
    pub fn next_wakeup(&self) -> Option<Millis> {
        match self.phase {
            Phase::Backoff(at) => Some(at),
            Phase::FetchDue
            | Phase::ApplyDue(_)
            | Phase::ResetDue
            | Phase::TokenDue
            | Phase::Completed(_)
            | Phase::FailedDue { .. } => Some(Millis(0)),
            _ => None,
        }
    }

    /// Whether the sync is waiting to retry after a failure (its [`SyncDriver::last_error`]
    /// says why).
    pub fn is_backing_off(&self) -> bool {
        matches!(self.phase, Phase::Backoff(_))
    }

    /// The effects due at `now`. Empty while waiting for an input or a retry time;
    /// `[Idle]` when no sync runs.
    pub fn poll(&mut self, now: Millis) -> Vec<SyncEffect> {
        let mut out = Vec::new();
        loop {
            match std::mem::replace(&mut self.phase, Phase::Idle) {
                Phase::Idle => {
                    if out.is_empty() {
                        out.push(SyncEffect::Idle);
                    }
                    return out;
                }
                Phase::Backoff(at) if now < at => {
                    self.phase = Phase::Backoff(at);
                    return out;
                }
                Phase::Backoff(_) | Phase::FetchDue => {
                    out.push(SyncEffect::Fetch {
                        path: sync_path(self.cursor.as_deref(), self.config.limit),
                    });
                    self.phase = Phase::Fetching;
                    return out;
                }
                Phase::ApplyDue(page) => {
                    self.phase = Phase::Applying {
                        cursor: page.cursor.clone(),
                        has_more: page.has_more,
                    };
                    out.push(SyncEffect::Apply { page });
                    return out;
                }
                Phase::ResetDue => {
                    self.phase = Phase::Resetting;
                    out.push(SyncEffect::Reset);
                    return out;
                }
                Phase::TokenDue => {
                    self.phase = Phase::WaitingToken;
                    out.push(SyncEffect::NeedToken);
                    return out;
                }
                Phase::Completed(cursor) => {
                    out.push(SyncEffect::RefreshUnread);
                    out.push(SyncEffect::Done { cursor });
                    if std::mem::take(&mut self.again) {
                        self.failures = 0;
                        self.phase = Phase::FetchDue;
                    } else {
                        return out;
                    }
                }
                Phase::FailedDue { status, body } => {
                    out.push(SyncEffect::Failed { status, body });
                    if std::mem::take(&mut self.again) {
                        self.failures = 0;
                        self.phase = Phase::FetchDue;
                    } else {
                        return out;
                    }
                }
                waiting @ (Phase::Fetching
                | Phase::Applying { .. }
                | Phase::Resetting
                | Phase::WaitingToken) => {
                    self.phase = waiting;
                    return out;
                }
            }
        }
    }

    /// The answer to the outstanding [`SyncEffect::Fetch`]. Ignored if none is outstanding.
    pub fn on_response(&mut self, outcome: SyncOutcome, now: Millis) {
        if self.phase != Phase::Fetching {
            return;
        }
        match outcome {
            SyncOutcome::Ok(page) => self.phase = Phase::ApplyDue(page),
            SyncOutcome::Network(error) => self.retry(error, None, now),
            SyncOutcome::Http {
                status,
                body,
                retry_after,
            } => {
                let code = body.as_ref().map(|b| b.code);
                let error = format!(
                    "HTTP {status}{}",
                    body.as_ref()
                        .map(|b| format!(": {}", b.message))
                        .unwrap_or_default()
                );
                let retry_after = retry_after.or_else(|| {
                    body.as_ref()
                        .and_then(|b| b.retry_after_secs)
                        .map(Duration::from_secs)
                });
                let reset = status == 410
                    || code == Some(ErrorCode::CursorExpired)
                    || body.as_ref().and_then(|b| b.action) == Some(ErrorAction::Reset)
                    || (status == 400 && code == Some(ErrorCode::InvalidCursor));
                if reset && self.cursor.is_some() {
                    self.last_error = Some(error);
                    self.phase = Phase::ResetDue;
                } else if status == 401 {
                    self.last_error = Some(error);
                    self.phase = Phase::TokenDue;
                } else if reset || status == 408 || status == 429 || status >= 500 {
                    self.retry(error, retry_after, now);
                } else {
                    self.last_error = Some(error);
                    self.phase = Phase::FailedDue { status, body };
                }
            }
        }
    }

    /// The page of the outstanding [`SyncEffect::Apply`] is stored (with its cursor): the
    /// cursor advances, then the next page is fetched or the sync completes.
    pub fn on_applied(&mut self, _now: Millis) {
        let Phase::Applying { cursor, has_more } = &self.phase else {
            return;
        };
        let (cursor, has_more) = (cursor.clone(), *has_more);
        self.failures = 0;
        self.last_error = None;
        self.phase = if has_more {
            Phase::FetchDue
        } else {
            Phase::Completed(cursor.clone())
        };
        self.cursor = Some(cursor);
    }

    /// The outstanding [`SyncEffect::Apply`] or [`SyncEffect::Reset`] failed: nothing was
    /// stored, the cursor stays, and the driver retries after a backoff delay (fetching the
    /// page again from the applied cursor).
    pub fn on_apply_failed(&mut self, error: impl Into<String>, now: Millis) {
        if matches!(self.phase, Phase::Applying { .. } | Phase::Resetting) {
            self.retry(error.into(), None, now);
        }
    }

    /// The outstanding [`SyncEffect::Reset`] is done: the driver bootstraps.
    pub fn on_reset_done(&mut self, _now: Millis) {
        if self.phase == Phase::Resetting {
            self.cursor = None;
            self.phase = Phase::FetchDue;
        }
    }

    /// A fresh token is available after [`SyncEffect::NeedToken`]: the page is fetched again.
    pub fn on_token_refreshed(&mut self, _now: Millis) {
        if matches!(self.phase, Phase::TokenDue | Phase::WaitingToken) {
            self.phase = Phase::FetchDue;
        }
    }

    /// Connectivity came back: a backoff wait ends now.
    pub fn on_connectivity_restored(&mut self, _now: Millis) {
        if matches!(self.phase, Phase::Backoff(_)) {
            self.phase = Phase::FetchDue;
        }
    }

    fn retry(&mut self, error: String, at_least: Option<Duration>, now: Millis) {
        self.failures = self.failures.saturating_add(1);
        let delay = self.config.backoff.delay(self.failures, &mut self.rng);
        let delay = at_least.map_or(delay, |min| delay.max(min));
        self.last_error = Some(error);
        self.phase = Phase::Backoff(now.saturating_add(delay));
    }
}

/// The path of one `/v1/sync` request: `limit`, then the percent-encoded `cursor` unless
/// bootstrapping (`None` or empty).
pub fn sync_path(cursor: Option<&str>, limit: u32) -> String {
    match cursor.filter(|c| !c.is_empty()) {
        None => format!("/v1/sync?limit={limit}"),
        Some(c) => format!("/v1/sync?limit={limit}&cursor={}", percent_encode(c)),
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
