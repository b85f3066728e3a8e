//! Realtime: the WebSocket connection to chat-server's `/connection/websocket` (the
//! Centrifuge v2 JSON subset of docs/protocol.md) turned into live state.
//!
//! - [`frames`]: decoding server frames and encoding commands (pure functions).
//! - [`RealtimeMachine`]: the connection state machine, sans-I/O (connect, catch-up,
//!   reconnect policy, watchdog, token renewal, network and foreground signals).
//! - [`typing`]: typing indicators (own typing throttled, others' typing expiring) and
//!   presence, sans-I/O.
//! - [`socket`]: the small platform seam — a [`Connector`] opens a socket and hands back
//!   two channels; natively it is tokio-tungstenite, in the browser a web `WebSocket`.
//!
//! The client's driver task owns the socket and feeds the machine; durable changes go
//! through the cache's one change-application path (the same as `/v1/sync` pages).

pub mod frames;
mod machine;
#[cfg(test)]
mod machine_tests;
pub mod socket;
mod state;
pub mod typing;

pub use machine::RealtimeMachine;
pub use socket::{Connector, SocketEvent, SocketHandle};
pub use state::{ConnectionState, DisconnectReason, RealtimeConfig, RealtimeEffect};
pub use typing::{Presence, TypingConfig, TypingSignal, TypingThrottle, TypingTracker, TypingUser};
