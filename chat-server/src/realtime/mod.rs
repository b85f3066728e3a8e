//! Realtime delivery: the fan-out [`Broadcaster`] trait with its in-process implementation
//! and its broker-backed one for several nodes ([`nats`], with its sans-I/O rules in
//! [`cluster`] and its subjects in [`subjects`]), the Centrifuge-protocol session of one socket ([`session`]), the WebSocket
//! admission limits ([`limits`]) and debounced presence ([`presence`]). The HTTP route that
//! upgrades a request and hands the socket to a session is the API's
//! ([`crate::api::websocket`]).

pub mod cluster;
mod hub;
pub mod limits;
pub mod nats;
pub mod presence;
pub mod session;
pub mod subjects;

pub use hub::{Broadcaster, HubEvent, InProcessHub, Subscription};
pub use nats::NatsHub;
