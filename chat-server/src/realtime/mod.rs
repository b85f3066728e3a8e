//! Realtime delivery: the fan-out [`Broadcaster`] trait with its in-process implementation,
//! and the Centrifuge-protocol WebSocket endpoint (`/connection/websocket`).

mod hub;
pub mod websocket;

pub use hub::{Broadcaster, HubEvent, InProcessHub, Subscription};
