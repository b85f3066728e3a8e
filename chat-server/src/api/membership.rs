//! The caller's own membership of a channel, and the channel's end:
//! `PATCH /v1/channels/{type}/{id}/member` changes the caller's private settings (hidden,
//! muted, archived): current members only (outsiders get the refusal of any channel
//! write), at least one field, synced to the caller alone (docs/protocol.md, "Hide, mute,
//! archive"). `DELETE /v1/channels/{type}/{id}` deletes the channel for everyone: owners,
//! admins and server-side callers (docs/protocol.md, "Deleting a channel").

use axum::Json;
use axum::extract::State;
use chat_protocol::{
    DeleteChannelResponse, ErrorBody, MemberStateResponse, UpdateMemberStateRequest,
};

use super::error::{ApiError, ApiJson, ApiPath, ApiResult};
use super::state::{AppState, Caller};
use super::validate;

/// Change the caller's own settings for a channel: hide it (until the next new message),
/// mute it (no unread badge, no push) or archive it. Absent fields stay; setting the
/// current values changes nothing. Needs a user (a user token, or the server key with
/// `X-Onyx-User`).
#[utoipa::path(patch, path = "/v1/channels/{type}/{id}/member", tag = "channels",
    params(("type" = String, Path), ("id" = String, Path)),
    request_body = UpdateMemberStateRequest,
    responses((status = 200, body = MemberStateResponse), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn update_member_state(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((kind, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<Json<MemberStateResponse>> {
    let cid = validate::cid(&kind, &id)?;
    // An object only: serde would also read a struct from an array (`[true]`).
    if !body.is_object() {
        return Err(ApiError::invalid("the body must be a JSON object"));
    }
    let req: UpdateMemberStateRequest =
        serde_json::from_value(body).map_err(|e| ApiError::invalid(e.to_string()))?;
    if req == UpdateMemberStateRequest::default() {
        return Err(ApiError::invalid(
            "nothing to change: give at least one of hidden, muted, archived",
        ));
    }
    let user = caller.user()?;
    let saved = state
        .store()
        .set_member_state(&caller.app.id, user, &cid, req)
        .await?;
    Ok(Json(MemberStateResponse { state: saved }))
}

/// Delete a channel (owners and admins, or server-side callers; not members of a distinct
/// channel). Every member receives their own membership tombstone, by sync and realtime;
/// the channel then answers like a missing one and its id is never reused.
#[utoipa::path(delete, path = "/v1/channels/{type}/{id}", tag = "channels",
    params(("type" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = DeleteChannelResponse), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn delete_channel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((kind, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<DeleteChannelResponse>> {
    let cid = validate::cid(&kind, &id)?;
    let (channel, removed) = state
        .store()
        .delete_channel(&caller.app.id, &caller.actor, &cid)
        .await?;
    Ok(Json(DeleteChannelResponse { channel, removed }))
}
