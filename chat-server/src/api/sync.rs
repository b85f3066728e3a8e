//! `/v1/sync` and `/v1/unread`.

use axum::Json;
use axum::extract::State;
use chat_protocol::limits::{DEFAULT_SYNC_PAGE, MAX_SYNC_PAGE};
use chat_protocol::{ErrorBody, ErrorCode, SyncQuery, SyncResponse, UnreadResponse};

use super::error::{ApiError, ApiQuery, ApiResult};
use super::state::{AppState, Caller};
use super::validate;
use crate::store::SyncPosition;

/// The caller's changes after the cursor (no cursor = bootstrap). See docs/protocol.md.
#[utoipa::path(get, path = "/v1/sync", tag = "sync", params(SyncQuery),
    responses((status = 200, body = SyncResponse), (status = 400, body = ErrorBody),
              (status = 410, body = ErrorBody, description = "cursor expired: reset")),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SyncQuery>,
) -> ApiResult<Json<SyncResponse>> {
    validate::limit("limit", q.limit, 1, MAX_SYNC_PAGE)?;
    let user = caller.user()?;
    let from = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(
            SyncPosition::decode(c)
                .ok_or_else(|| ApiError::new(ErrorCode::InvalidCursor, "malformed sync cursor"))?,
        ),
    };
    let limit = q.limit.unwrap_or(DEFAULT_SYNC_PAGE);
    let page = state
        .store()
        .sync(&caller.app.id, user, from, limit)
        .await?;
    crate::telemetry::sync_page();
    Ok(Json(page))
}

/// The caller's unread counts, per channel and in total.
#[utoipa::path(get, path = "/v1/unread", tag = "read state",
    responses((status = 200, body = UnreadResponse)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn unread(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<UnreadResponse>> {
    let user = caller.user()?;
    Ok(Json(state.store().unread(&caller.app.id, user).await?))
}
