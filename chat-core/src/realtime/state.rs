//! What the realtime machine exposes: the connection state the app shows, the settings,
//! and the effects the driver performs.

use std::time::Duration;

use chat_protocol::SyncChange;
use chat_protocol::realtime::EphemeralEvent;

use crate::backoff::BackoffConfig;

/// The realtime connection as the app sees it. Serialized (for the web SDK) as
/// `{"type": "waiting_to_reconnect", "attempt": 2, "retry_in_ms": 1500}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConnectionState {
    /// Not connected, and not trying: see the reason.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
    },
    /// The app said the network is unreachable; the client connects when it is back.
    WaitingForNetwork,
    /// Opening the socket and authenticating (attempt 0 is the first try after a
    /// successful connection or a start).
    Connecting {
        /// Failed attempts since the last successful connection.
        attempt: u32,
    },
    /// Connected: changes and events arrive live.
    Connected,
    /// The last attempt failed; the next one starts after `retry_in` (backoff with jitter).
    WaitingToReconnect {
        /// Failed attempts since the last successful connection.
        attempt: u32,
        /// Time until the next attempt, from when this state was entered.
        #[serde(rename = "retry_in_ms", serialize_with = "as_millis")]
        retry_in: Duration,
    },
    /// The server refused the token and the token provider has no other: nothing is
    /// retried until the app calls `refresh_token`.
    AuthFailed {
        /// What was refused.
        reason: String,
    },
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Why the client is [`ConnectionState::Disconnected`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DisconnectReason {
    /// Realtime has not been started, or the client shut down.
    Stopped,
    /// The app is in the background (after the grace period).
    Background,
    /// The server closed with a "do not reconnect" code (a protocol violation the client
    /// cannot fix by retrying). The client reconnects when the app calls `reconnect`, the
    /// network comes back or the app returns to the foreground. (`3500`, a refused token,
    /// leads to a new token or to [`ConnectionState::AuthFailed`] instead.)
    Refused {
        /// The WebSocket close code (3501–3999).
        code: u16,
        /// The close reason.
        reason: String,
    },
}

/// Realtime settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealtimeConfig {
    /// Reconnect backoff: full jitter, growing from `base` to `cap`. The first retry
    /// after losing a stable connection is immediate.
    pub reconnect: BackoffConfig,
    /// A connection that stayed up this long is stable: the attempt counter resets (a
    /// server that accepts and then drops connections keeps getting backoff).
    pub stable_after: Duration,
    /// Longest wait for the socket to open and `connect` to be answered, together.
    pub connect_timeout: Duration,
    /// Added to the server's ping interval: with no frame for that long, the socket is
    /// considered dead and replaced.
    pub ping_grace: Duration,
    /// How long the connection stays open after the app goes to the background.
    pub background_grace: Duration,
    /// A token is renewed this long before it expires (at most half its lifetime).
    pub refresh_margin: Duration,
    /// Pushed changes held while a sync runs; past this, they are dropped and another
    /// sync (which brings them) follows.
    pub max_buffered: usize,
}

impl Default for RealtimeConfig {
    /// Backoff 1 s – 25 s, stable after 10 s, 10 s to connect, 10 s of ping grace (35 s
    /// with the server's 25 s pings), 15 s in the background, renew 60 s before expiry,
    /// 10,000 held changes.
    fn default() -> Self {
        Self {
            reconnect: BackoffConfig {
                base: Duration::from_secs(1),
                cap: Duration::from_secs(25),
            },
            stable_after: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            ping_grace: Duration::from_secs(10),
            background_grace: Duration::from_secs(15),
            refresh_margin: Duration::from_secs(60),
            max_buffered: 10_000,
        }
    }
}

/// What the driver must do for the realtime machine.
#[derive(Debug, Clone, PartialEq)]
pub enum RealtimeEffect {
    /// Open a new socket with this id; report `opened`, `frame` and `closed` with it.
    Open {
        /// The socket's id.
        socket: u64,
    },
    /// Send a text frame on the socket.
    Send {
        /// The socket's id.
        socket: u64,
        /// The frame.
        text: String,
    },
    /// Close the socket (the machine already considers it gone).
    Close {
        /// The socket's id.
        socket: u64,
    },
    /// There is no token: get one from the token provider.
    NeedToken,
    /// The server refused (or found expired) this token: drop it and get another.
    TokenRejected {
        /// The refused token.
        token: String,
    },
    /// The token expires soon: get a fresh one (the current one still works).
    RenewToken,
    /// Run a `/v1/sync` (after flushing the outbox); report its start and end with
    /// `sync_started` / `sync_finished`, as for every sync.
    CatchUp,
    /// Apply these changes to the cache (the same path as a sync page's changes).
    Apply(Vec<SyncChange>),
    /// A typing or presence event.
    Event(EphemeralEvent),
    /// The connection state changed.
    State(ConnectionState),
}
