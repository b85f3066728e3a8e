//! `/v1/users`: upsert and get user profiles.

use axum::Json;
use axum::extract::State;
use chat_protocol::{ErrorBody, UpsertUsersRequest, UserResponse, UsersResponse};

use super::error::{ApiError, ApiJson, ApiPath, ApiResult};
use super::state::{AppState, Caller};
use super::validate;
use crate::store::StoreError;

/// Create or replace users. Server-side callers may upsert anyone; a user only itself.
#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = UpsertUsersRequest,
    responses((status = 200, body = UsersResponse), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn upsert_users(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<UpsertUsersRequest>,
) -> ApiResult<Json<UsersResponse>> {
    validate::batch("users", &req.users)?;
    for u in &req.users {
        validate::user(u)?;
        if !caller.actor.server && caller.actor.user_id.as_deref() != Some(u.id.as_str()) {
            return Err(
                StoreError::Forbidden("users can only update their own profile".into()).into(),
            );
        }
    }
    let users = state
        .store()
        .upsert_users(&caller.app.id, req.users)
        .await?;
    Ok(Json(UsersResponse { users }))
}

/// Get one user.
#[utoipa::path(get, path = "/v1/users/{user_id}", tag = "users",
    params(("user_id" = String, Path, description = "User id")),
    responses((status = 200, body = UserResponse), (status = 404, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(user_id): ApiPath<String>,
) -> ApiResult<Json<UserResponse>> {
    let mut users = state
        .store()
        .get_users(&caller.app.id, vec![user_id.clone()])
        .await?;
    let user = users
        .pop()
        .ok_or_else(|| ApiError::from(StoreError::NotFound(format!("user {user_id}"))))?;
    Ok(Json(UserResponse { user }))
}
