//! chat-server: the OnyxChat reference backend. REST under `/v1`, the `/v1/sync` diff, and
//! a Centrifuge-protocol WebSocket at `/connection/websocket`, over a pluggable
//! [`store::Store`] (embedded SQLite by default).

pub mod api;
pub mod auth;
pub mod config;
pub mod ratelimit;
pub mod realtime;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod transport;

pub use config::ServerConfig;
pub use server::{RunningServer, start};
