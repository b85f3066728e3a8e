//! Operations endpoints: `/healthz` (the process answers), `/readyz` (the store answers and
//! the server is not draining: a load balancer's routing signal), the HTTP metrics layer,
//! and the metrics listener's router (`GET /metrics`, served only on `--metrics-addr`).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::AppState;
use crate::telemetry;

/// `GET /readyz`: `200 {"status":"ready"}`, or `503` with `draining` (shutdown began) or
/// `store_unavailable`.
pub async fn readyz(State(state): State<AppState>) -> Response {
    if *state.shutdown().borrow() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "draining"})),
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

/// Records every request's route template, method, status and duration (requests that
/// match no route are `route="unmatched"`, so probes of random paths add no series).
pub async fn record(request: Request, next: Next) -> Response {
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
    let started = Instant::now();
    let response = next.run(request).await;
    telemetry::http_request(
        &route,
        method,
        response.status().as_u16(),
        started.elapsed(),
    );
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
