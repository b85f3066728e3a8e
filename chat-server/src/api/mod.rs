//! The HTTP API: REST under `/v1`, the OpenAPI document, and the WebSocket route
//! ([`websocket`]: upgrade and admission; the protocol spoken on the socket is
//! [`crate::realtime::session`]'s). Handlers are thin: validate shape, authorize the caller,
//! call the store, map errors.

mod app_settings;
mod channels;
pub mod cors;
pub mod error;
mod membership;
mod messages;
mod openapi;
pub mod ops;
mod search;
mod send_batch;
pub mod state;
pub mod static_files;
mod sync;
mod users;
mod validate;
pub mod websocket;

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{any, delete, get, patch, post};
use axum::{Json, Router};
use chat_protocol::ErrorCode;
use chat_protocol::limits::{MAX_BODY_BYTES, MAX_SEND_BATCH_BYTES};

pub use error::ApiError;
pub use openapi::ApiDoc;
pub use state::AppState;

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "method not allowed on this route",
    )
}

/// Dev mode's demo session (`--dev` only): what the demo app signs in with.
async fn dev_session(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    state
        .dev_session()
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "not in dev mode"))
}

/// The complete router.
pub fn router(state: AppState) -> Router {
    let ch = "/v1/channels/{type}/{id}";
    let msg = "/v1/messages/{message_id}";
    let routes = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ops::readyz))
        .route("/v1/openapi.json", get(openapi::openapi_json))
        .route("/v1/users", post(users::upsert_users))
        .route("/v1/users/{user_id}", get(users::get_user))
        .route("/v1/channels", post(channels::create_channel))
        .route("/v1/channels/query", post(channels::query_channels))
        .route(
            ch,
            get(channels::get_channel)
                .patch(channels::update_channel)
                .delete(membership::delete_channel),
        )
        .route(&format!("{ch}/members"), post(channels::add_members))
        .route(
            &format!("{ch}/member"),
            patch(membership::update_member_state),
        )
        .route(
            &format!("{ch}/members/{{user_id}}"),
            delete(channels::remove_member),
        )
        .route(
            &format!("{ch}/messages"),
            post(messages::send_message).get(messages::list_messages),
        )
        .route(
            &format!("{ch}/messages/batch"),
            // A backlog of sends is bigger than one request; every other body keeps the
            // global limit (this inner layer overrides it for this route only).
            post(send_batch::send_messages).layer(DefaultBodyLimit::max(MAX_SEND_BATCH_BYTES)),
        )
        .route(&format!("{ch}/read"), post(channels::mark_read))
        .route(&format!("{ch}/typing"), post(channels::typing))
        .route(
            msg,
            get(messages::get_message)
                .patch(messages::update_message)
                .delete(messages::delete_message),
        )
        .route(&format!("{msg}/replies"), get(messages::list_replies))
        .route(
            &format!("{msg}/reactions"),
            post(messages::add_reaction).get(messages::list_reactions),
        )
        .route(
            &format!("{msg}/reactions/{{type}}"),
            delete(messages::remove_reaction),
        )
        .route(
            &format!("{msg}/star"),
            post(messages::star).delete(messages::unstar),
        )
        .route("/v1/starred", get(messages::starred))
        .route("/v1/search", get(search::search))
        .route("/v1/sync", get(sync::sync))
        .route("/v1/unread", get(sync::unread))
        .route("/connection/websocket", get(websocket::handler))
        .route("/v1/dev/session", get(dev_session))
        .route(
            "/v1/app/settings",
            get(app_settings::get_settings).put(app_settings::put_settings),
        );
    // A web app (the demo) at `/`, with its index.html for client-side routes; the API's
    // unknown paths stay JSON errors.
    let routes = match &state.config().static_dir {
        Some(dir) => routes
            .route("/v1/{*rest}", any(not_found))
            .fallback_service(static_files::service(dir)),
        None => routes.fallback(not_found),
    };
    routes
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(ops::observe))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cors::layer,
        ))
        .with_state(state)
}
