//! Operations endpoints: `/healthz` (the process answers), `/readyz` (the store answers,
//! the broker connection is up when there is one, and the server is not draining: a load
//! balancer's routing signal), the layer every request
//! passes (its request id, its log span, its metrics), and the metrics listener's router
//! (`GET /metrics`, served only on `--metrics-addr`).
//!
//! Request ids: a caller's `x-request-id` is kept if it is 1–64 characters of
//! `[A-Za-z0-9._-]` (a load balancer's or the app's id, so one id follows a request across
//! systems); otherwise a new UUIDv7 is given. The id is echoed in the response's
//! `x-request-id` and carried by every log line written while the request is handled.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tracing::Instrument;

use super::AppState;
use crate::telemetry;

/// `GET /readyz`: `200 {"status":"ready"}`, or `503` with `draining` (shutdown began),
/// `broker_unavailable` (a node of several lost its NATS connection: its clients would miss
/// other nodes' events) or `store_unavailable`.
pub async fn readyz(State(state): State<AppState>) -> Response {
    if *state.shutdown().borrow() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "draining"})),
        )
            .into_response();
    }
    if let Err(e) = state.hub().ready() {
        tracing::warn!(error = %e, "readiness check failed");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "broker_unavailable"})),
        )
            .into_response();
    }
    match state.store().ready().await {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "store_unavailable"})),
            )
                .into_response()
        }
    }
}

/// The header that carries a request's id.
pub const REQUEST_ID: &str = "x-request-id";

/// The caller's request id if it is acceptable (see the module docs), else a new one.
fn request_id(request: &Request) -> String {
    request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

/// Every request: gives it its id (echoed in the response), handles it inside a log span
/// that carries the id, method and route, logs its end (`debug`; `warn` for a 5xx), and
/// records its route template, method, status and duration (requests that match no route
/// are `route="unmatched"`, so probes of random paths add no series).
pub async fn observe(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // A closed set: a made-up method adds no series.
    let method: &'static str = match request.method().as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    };
    let id = request_id(&request);
    let span = tracing::info_span!("request", id = %id, method, route = %route);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let took = started.elapsed();
    let status = response.status().as_u16();
    span.in_scope(|| {
        let ms = took.as_secs_f64() * 1e3;
        if status >= 500 {
            tracing::warn!(status, ms, "request failed");
        } else {
            tracing::debug!(status, ms, "request");
        }
    });
    telemetry::http_request(route, method, status, took);
    if let Ok(value) = header::HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The metrics listener's router: `GET /metrics` in the Prometheus text format.
pub fn metrics_router() -> Router {
    Router::new().route(
        "/metrics",
        get(|| async {
            (
                [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                telemetry::render(),
            )
        }),
    )
}
