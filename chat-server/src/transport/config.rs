//! The connection limits and timeouts an operator can tune (`ServerConfig::transport`).

use std::time::Duration;

use crate::config::RateLimit;

/// Timeouts and caps of connections, HTTP heads and WebSockets. The defaults suit one
/// node serving clients directly; behind a reverse proxy every client has the proxy's
/// address, so switch the per-address limits off there (`0` / `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct TransportConfig {
    /// How long a client may take to send a request head, counted from the moment the
    /// server waits for one: on a new connection, and between requests of a keep-alive
    /// connection (so it is also the keep-alive idle timeout).
    pub header_read_timeout: Duration,
    /// Open TCP connections (WebSockets included). Clamped at start to what the process's
    /// file descriptor limit allows (see [`crate::transport::fd_budget`]).
    pub max_connections: usize,
    /// Open TCP connections from one peer address (`0`: no per-address cap).
    pub max_connections_per_ip: usize,
    /// Open WebSockets, authenticated or not.
    pub max_websockets: usize,
    /// Open (connected) WebSockets of one user.
    pub max_websockets_per_user: usize,
    /// WebSocket upgrades per peer address, before authentication (`None`: unlimited).
    pub connect_rate_per_ip: Option<RateLimit>,
    /// WebSocket `connect`s per user.
    pub connect_rate_per_user: RateLimit,
    /// How long a user whose last connection closed may take to come back before peers
    /// are told the user went offline.
    pub presence_grace: Duration,
    /// Longest a single WebSocket frame write may block before the client counts as too
    /// slow (close `3008`).
    pub ws_write_timeout: Duration,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            max_connections_per_ip: 256,
            max_websockets: 8_000,
            max_websockets_per_user: 32,
            connect_rate_per_ip: Some(RateLimit {
                per_second: 20.0,
                burst: 100,
            }),
            connect_rate_per_user: RateLimit {
                per_second: 1.0,
                burst: 32,
            },
            presence_grace: Duration::from_secs(2),
            ws_write_timeout: Duration::from_secs(10),
        }
    }
}
