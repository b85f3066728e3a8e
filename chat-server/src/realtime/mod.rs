//! Realtime delivery: the fan-out [`Broadcaster`] trait with its in-process implementation,
//! the Centrifuge-protocol session of one socket ([`session`]), the WebSocket admission
//! limits ([`limits`]) and debounced presence ([`presence`]). The HTTP route that upgrades
//! a request and hands the socket to a session is the API's
//! ([`crate::api::websocket`]).

mod hub;
pub mod limits;
pub mod presence;
pub mod session;

pub use hub::{Broadcaster, HubEvent, InProcessHub, Subscription};
