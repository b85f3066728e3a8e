//! Realtime delivery: the fan-out [`Broadcaster`] trait with its in-process implementation,
//! the Centrifuge-protocol WebSocket endpoint (`/connection/websocket`), its admission
//! limits ([`limits`]) and debounced presence ([`presence`]).

mod hub;
pub mod limits;
pub mod presence;
pub mod websocket;

pub use hub::{Broadcaster, HubEvent, InProcessHub, Subscription};
