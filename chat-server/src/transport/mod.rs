//! Connections and transport: what keeps a hostile client from exhausting the server at
//! the TCP and HTTP level. The rules (all numbers are [`TransportConfig`] defaults, tunable
//! with `serve` flags):
//!
//! - **HTTP/1.1 only**, served by hyper with a timer. A client must send a complete request
//!   head within [`TransportConfig::header_read_timeout`] (10 s) of the moment the server
//!   waits for one, on a new connection and between keep-alive requests alike; otherwise
//!   the connection is closed. So idle and half-sent connections cannot pile up.
//! - **Connection caps.** At most [`TransportConfig::max_connections`] (10 000) open TCP
//!   connections, WebSockets included, and [`TransportConfig::max_connections_per_ip`]
//!   (256) per peer address. The cap is clamped below the process's file descriptor limit
//!   (`serve` raises the soft `RLIMIT_NOFILE` to the hard limit first), so `accept` never
//!   runs out of descriptors.
//! - **Shedding.** A connection over a cap is answered at once, `503 overloaded` (server
//!   full) or `429 rate_limited` (address full), JSON with `Retry-After` and
//!   `connection: close`, then closed: it never hangs.
//! - **Heads.** A request head larger than [`MAX_HEAD_BYTES`] or with more than 100 headers
//!   gets `431 headers_too_large`, a URI longer than [`MAX_URI_BYTES`] `414 uri_too_long`,
//!   a malformed head `400`; all with JSON bodies like every other error.
//! - **Unread bodies.** A response to a request whose body the handler did not read to its
//!   end carries `connection: close`, because the connection cannot be reused.
//!
//! WebSocket-level limits (per-user caps, connect rates, buffers) live in
//! [`crate::realtime`].

mod caps;
mod config;
mod fd_limit;
mod head_errors;
mod listener;
mod request;
mod shed;

pub use caps::{ConnPermit, ConnectionCaps, Refusal};
pub use config::TransportConfig;
pub use fd_limit::{FD_RESERVE, fd_budget, fd_limit, raise_fd_limit};
pub use head_errors::JsonHeadErrors;
pub use listener::{effective_max_connections, serve};
pub use request::Peer;

/// Largest request head (request line and headers) in bytes.
pub const MAX_HEAD_BYTES: usize = 32 * 1024;
/// Longest request URI (path and query) in bytes.
pub const MAX_URI_BYTES: usize = 8 * 1024;
