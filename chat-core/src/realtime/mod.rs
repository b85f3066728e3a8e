//! Realtime: the WebSocket connection to chat-server's `/connection/websocket` (the
//! Centrifuge v2 JSON subset of docs/protocol.md) turned into live state.
//!
//! - [`frames`]: decoding server frames and encoding commands (pure functions).
//! - [`RealtimeMachine`]: the connection state machine, sans-I/O (connect, watchdog,
//!   network and foreground signals), with `reconnect.rs` (close codes, backoff,
//!   stability), `catch_up.rs` (when pushed changes may be applied: held during any sync
//!   and until the connection's catch-up sync) and `renewal.rs` (token renewal).
//! - [`typing`]: typing indicators (own typing throttled, others' typing expiring) and
//!   presence, sans-I/O.
//!
//! Nothing here does I/O: the socket itself is the `net` module's seam
//! ([`Connector`](crate::net::Connector)), owned by the engine's driver, which feeds
//! the machine; durable changes go through the cache's one change-application path (the
//! same as `/v1/sync` pages).

mod catch_up;
pub mod frames;
mod machine;
#[cfg(test)]
mod machine_tests;
mod reconnect;
mod renewal;
mod state;
pub mod typing;

pub use machine::RealtimeMachine;
pub use state::{ConnectionState, DisconnectReason, RealtimeConfig, RealtimeEffect};
pub use typing::{Presence, TypingConfig, TypingSignal, TypingThrottle, TypingTracker, TypingUser};
