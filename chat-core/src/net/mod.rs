//! The I/O seams, under everything else: the only place chat-core names an HTTP stack or
//! a WebSocket. Each seam is a small trait a platform implements and tests wrap —
//! [`Transport`] (one HTTP request in, one reply out) and [`Connector`] (opens a socket,
//! hands back two channels) — plus the few value types they carry. Nothing here knows
//! about chat semantics, and nothing here imports another chat-core module: the sans-I/O
//! machines above never see these types, and the engine's driver is their only user.
//!
//! - `http.rs`: [`Transport`], [`HttpRequest`]/[`HttpReply`], [`ReqwestTransport`]
//!   (reqwest natively, `fetch` in the browser).
//! - `socket.rs`: [`Connector`], [`SocketHandle`]/[`SocketEvent`], [`websocket_url`] and
//!   the native tokio-tungstenite connector; `socket_web.rs`: the browser's.

use std::future::Future;
use std::pin::Pin;

mod http;
mod socket;
#[cfg(target_arch = "wasm32")]
mod socket_web;

pub use http::{HttpMethod, HttpReply, HttpRequest, ReqwestTransport, Transport};
#[cfg(target_arch = "wasm32")]
pub use socket::BrowserConnector;
#[cfg(not(target_arch = "wasm32"))]
pub use socket::TungsteniteConnector;
pub use socket::{Connector, SocketEvent, SocketHandle, websocket_url};

/// A boxed, sendable future (what [`Transport`], [`Connector`] and the token provider
/// return).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// No answer arrived (connection refused, reset, timed out, reply lost). For a request,
/// the server may or may not have applied it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("network error: {0}")]
pub struct NetworkError(pub String);
