//! Server configuration (from the CLI, or built directly by tests and embedders).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::store::SyncSettings;
use crate::transport::TransportConfig;

/// A per-user token bucket: `per_second` sustained, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second per user.
    pub per_second: f64,
    /// Burst size.
    pub burst: u32,
}

impl RateLimit {
    /// The default write limit: 20 per second, bursts of 100.
    pub const WRITES: Self = Self {
        per_second: 20.0,
        burst: 100,
    };
    /// The default read limit: 100 per second, bursts of 1,000 (a cold start pages
    /// through sync and several channels' history at once).
    pub const READS: Self = Self {
        per_second: 100.0,
        burst: 1_000,
    };
    /// No limit (tests and benchmarks that drive one user hard).
    pub const UNLIMITED: Self = Self {
        per_second: 1e12,
        burst: u32::MAX,
    };
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::WRITES
    }
}

/// Everything `chat-server serve` can be told.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Listen address (`127.0.0.1:0` picks a free port).
    pub addr: SocketAddr,
    /// Data directory holding `chat.db` (the embedded SQLite store; unused with
    /// [`ServerConfig::database_url`]).
    pub data_dir: PathBuf,
    /// A PostgreSQL database (`postgres://…`) to use instead of the embedded SQLite store.
    pub database_url: Option<String>,
    /// Connections to the PostgreSQL database this node keeps at most, per pool (writes;
    /// reads and rate limits).
    pub database_pool_size: usize,
    /// A NATS broker (`nats://…`) through which several nodes serving one PostgreSQL
    /// database share realtime events and presence ([`crate::realtime::NatsHub`]); `None`:
    /// this node serves its database alone. Requires [`ServerConfig::database_url`].
    pub nats_url: Option<String>,
    /// The first tokens of every NATS subject this deployment uses (default `onyxchat`):
    /// deployments sharing one broker need prefixes of their own, so they never see each
    /// other's events or presence ([`crate::realtime::cluster::Subjects`] states the
    /// rules and the checks; a bad prefix is refused at start).
    pub nats_subject_prefix: String,
    /// Interval of server pings on WebSocket connections.
    pub ping_interval: Duration,
    /// How long a client may take to answer a ping.
    pub pong_timeout: Duration,
    /// How long after token expiry a connection may stay without a refresh.
    pub expiry_grace: Duration,
    /// How long a new WebSocket may take to send `connect`.
    pub connect_timeout: Duration,
    /// Write rate limit per user (requests other than `GET`).
    pub rate_limit: RateLimit,
    /// Read rate limit per user (`GET` requests), a bucket of its own.
    pub read_rate_limit: RateLimit,
    /// Sync tunables.
    pub sync: SyncSettings,
    /// A web app to serve at `/` (e.g. the demo app's build): files as they are, and its
    /// `index.html` for every other path outside `/v1`, `/connection` and `/healthz`.
    pub static_dir: Option<PathBuf>,
    /// Connection limits and timeouts (see [`crate::transport`]).
    pub transport: TransportConfig,
    /// Where to serve Prometheus metrics (`GET /metrics`), on a listener of its own (never
    /// the public port); `None`: no metrics listener.
    pub metrics_addr: Option<SocketAddr>,
}

impl ServerConfig {
    /// Defaults for a data directory: listen on 127.0.0.1:8787, 25 s pings.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8787)),
            data_dir: data_dir.into(),
            database_url: None,
            database_pool_size: crate::store::postgres::DEFAULT_POOL_SIZE,
            nats_url: None,
            nats_subject_prefix: crate::realtime::cluster::DEFAULT_SUBJECT_PREFIX.to_owned(),
            ping_interval: Duration::from_secs(25),
            pong_timeout: Duration::from_secs(8),
            expiry_grace: Duration::from_secs(25),
            connect_timeout: Duration::from_secs(10),
            rate_limit: RateLimit::WRITES,
            read_rate_limit: RateLimit::READS,
            sync: SyncSettings::default(),
            static_dir: None,
            transport: TransportConfig::default(),
            metrics_addr: None,
        }
    }
}
