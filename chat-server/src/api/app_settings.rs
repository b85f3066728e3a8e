//! `/v1/app/settings`: the calling app's settings (its allowed CORS origins). Server-side
//! credentials only: a user token cannot read or change them.

use axum::Json;
use axum::extract::State;
use chat_protocol::{AppSettings, ErrorBody};

use super::cors::normalize_origins;
use super::error::{ApiError, ApiJson, ApiResult};
use super::state::{AppState, Caller};
use crate::store::StoreError;

fn require_server(caller: &Caller) -> ApiResult<()> {
    if caller.actor.server {
        Ok(())
    } else {
        Err(
            StoreError::Forbidden("app settings need server-side credentials (Basic)".into())
                .into(),
        )
    }
}

/// The app's settings.
#[utoipa::path(get, path = "/v1/app/settings", tag = "app",
    responses((status = 200, body = AppSettings), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("server_key" = [])))]
pub async fn get_settings(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<AppSettings>> {
    require_server(&caller)?;
    Ok(Json(state.store().app_settings(&caller.app.id).await?))
}

/// Replace the app's settings. Origins are `scheme://host[:port]` (http or https, no path,
/// no wildcards); `*` (any origin) only on a server running in dev mode. They are stored
/// normalized (lowercase, default port dropped, duplicates removed) and apply at once.
#[utoipa::path(put, path = "/v1/app/settings", tag = "app", request_body = AppSettings,
    responses((status = 200, body = AppSettings), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("server_key" = [])))]
pub async fn put_settings(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<AppSettings>,
) -> ApiResult<Json<AppSettings>> {
    require_server(&caller)?;
    let cors_origins = normalize_origins(&req.cors_origins, state.is_dev())
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let saved = state
        .store()
        .set_app_settings(&caller.app.id, AppSettings { cors_origins })
        .await?;
    state.cors().invalidate();
    Ok(Json(saved))
}
