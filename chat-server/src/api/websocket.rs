//! `GET /connection/websocket`: the route that turns an HTTP request into a realtime
//! session. What happens on the socket afterwards (the Centrifuge protocol, `connect`,
//! pings, publications, close codes) is [`crate::realtime::session`]'s.
//!
//! Rules this handler owns, all decided before the upgrade:
//!
//! - A request that is no WebSocket upgrade answers `400 validation_failed` (JSON).
//! - Admission first ([`crate::realtime::limits`]): an address over its connect rate (shared
//!   by the nodes of a PostgreSQL database) gets `429 rate_limited`, a server holding its WebSocket cap `503 overloaded`; nothing is
//!   upgraded then.
//! - The upgraded socket keeps its TCP connection's place under the connection caps and is
//!   tracked as an open connection until it ends, so stopping the server waits (a bounded
//!   time) for its session to close.
//! - The socket's buffers and frame limits are set here, from the session's bounds
//!   ([`READ_BUFFER`], [`MAX_FRAME`]).
//! - Authentication happens at `connect`, inside the protocol: the page's cross-origin
//!   `Origin` is captured here and handed to the session, which checks it against the
//!   app's origins ([`super::cors::websocket_allowed`]) once the token
//!   ([`AppState::verify_token`]) names the app.

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::response::{IntoResponse, Response};

use super::cors::cross_origin;
use super::error::ApiError;
use super::state::AppState;
use crate::realtime::session::{self, MAX_FRAME, READ_BUFFER};
use crate::transport::Peer;

/// Upgrades the request to a WebSocket speaking the Centrifuge JSON protocol.
pub async fn handler(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    peer: Option<Extension<Peer>>,
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    // A page of another origin: checked against the app's origins once `connect` names it.
    let origin = cross_origin(&headers);
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => {
            let message = format!("expected a WebSocket upgrade: {}", rejection.body_text());
            return ApiError::invalid(message).into_response();
        }
    };
    let socket_permit = match state
        .ws_limits()
        .admit_socket(peer.as_ref().map(|p| p.ip()), state.rate_limits())
        .await
    {
        Ok(permit) => permit,
        Err(e) => return e.into_response(),
    };
    // The upgraded socket keeps its TCP connection's place under the connection caps.
    let conn_permit = peer.map(|p| p.permit());
    let guard = state.track_connection().await;
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(READ_BUFFER)
        .max_frame_size(MAX_FRAME)
        .max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| async move {
            session::run(socket, state, origin).await;
            drop((guard, socket_permit, conn_permit));
        })
}
