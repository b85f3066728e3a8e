//! Messages and reactions: send (idempotent), list, get, edit, delete, thread replies,
//! reactions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chat_protocol::ids::validate_message_id;
use chat_protocol::limits::MAX_MESSAGE_PAGE;
use chat_protocol::{
    ErrorBody, FlagsResponse, ListMessagesQuery, MessageResponse, MessagesResponse,
    ReactionRequest, ReactionResponse, ReactionsResponse, SendMessageRequest, StarredQuery,
    StarredResponse, UpdateMessageRequest,
};
use uuid::Uuid;

use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use super::state::{AppState, Caller};
use super::validate;
use crate::store::StoreError;

/// Reads by a caller who may not read the channel answer exactly as if the channel or
/// message did not exist (`404 not_found`, the same message), so outsiders cannot probe
/// which channels and message ids exist. `missing` is what a missing resource is called.
pub(super) fn as_missing(e: StoreError, missing: impl FnOnce() -> String) -> StoreError {
    match e {
        StoreError::NotAMember(_) => StoreError::NotFound(missing()),
        other => other,
    }
}

/// A former member's writes addressed by message id answer `403 not_a_member` (their
/// queued write fails for good, see docs/protocol.md "Errors"), but the message never
/// names the channel the caller may not read. Outsiders already get the missing
/// message's `404` from the store.
fn hide_channel(e: StoreError) -> StoreError {
    match e {
        StoreError::NotAMember(_) => StoreError::NotAMember("the message's channel".into()),
        other => other,
    }
}

/// Send a message. Re-sending the same id by the same author returns the stored message
/// with 200; a new message answers 201; an id used by someone else is a 409.
#[utoipa::path(post, path = "/v1/channels/{type}/{id}/messages", tag = "messages",
    params(("type" = String, Path), ("id" = String, Path)), request_body = SendMessageRequest,
    responses((status = 201, body = MessageResponse), (status = 200, body = MessageResponse),
              (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 429, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn send_message(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((kind, id)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<SendMessageRequest>,
) -> ApiResult<(StatusCode, Json<MessageResponse>)> {
    let cid = validate::cid(&kind, &id)?;
    let author = check_send(&caller, &req)?;
    let (message, created) = state
        .store()
        .send_message(&caller.app.id, &author, &cid, req, caller.actor.server)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(MessageResponse { message })))
}

/// Checks one message to send (id, limits, content) and returns its author: the caller,
/// or for a server-side caller the `user_id` it names.
pub(super) fn check_send(caller: &Caller, req: &SendMessageRequest) -> ApiResult<String> {
    validate_message_id(&req.id)?;
    validate::text(&req.text)?;
    validate::attachments(&req.attachments)?;
    validate::mentions(&req.mentioned_users)?;
    if req.text.trim().is_empty() && req.attachments.is_empty() {
        return Err(ApiError::invalid("a message needs text or attachments"));
    }
    let author = match (&req.user_id, caller.actor.server) {
        (Some(u), true) => u.clone(),
        (None, true) => caller.user()?.to_owned(),
        (Some(u), false) if Some(u.as_str()) != caller.actor.user_id.as_deref() => {
            return Err(ApiError::invalid("user_id is for server-side callers"));
        }
        _ => caller.user()?.to_owned(),
    };
    chat_protocol::ids::validate_user_id(&author)?;
    Ok(author)
}

fn check_list_query(q: &ListMessagesQuery) -> ApiResult<()> {
    validate::limit("limit", q.limit, 1, MAX_MESSAGE_PAGE)?;
    let anchors = [q.before, q.after, q.around]
        .iter()
        .filter(|a| a.is_some())
        .count();
    if anchors > 1 {
        return Err(ApiError::invalid(
            "use at most one of before, after, around",
        ));
    }
    Ok(())
}

/// A page of top-level messages, oldest first.
#[utoipa::path(get, path = "/v1/channels/{type}/{id}/messages", tag = "messages",
    params(("type" = String, Path), ("id" = String, Path), ListMessagesQuery),
    responses((status = 200, body = MessagesResponse), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn list_messages(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((kind, id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<ListMessagesQuery>,
) -> ApiResult<Json<MessagesResponse>> {
    let cid = validate::cid(&kind, &id)?;
    check_list_query(&q)?;
    Ok(Json(
        state
            .store()
            .list_messages(&caller.app.id, &caller.actor, &cid, q)
            .await
            .map_err(|e| as_missing(e, || format!("channel {cid}")))?,
    ))
}

/// A page of thread replies, oldest first.
#[utoipa::path(get, path = "/v1/messages/{message_id}/replies", tag = "messages",
    params(("message_id" = Uuid, Path), ListMessagesQuery),
    responses((status = 200, body = MessagesResponse), (status = 404, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn list_replies(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<ListMessagesQuery>,
) -> ApiResult<Json<MessagesResponse>> {
    check_list_query(&q)?;
    Ok(Json(
        state
            .store()
            .list_replies(&caller.app.id, &caller.actor, id, q)
            .await
            .map_err(|e| as_missing(e, || format!("message {id}")))?,
    ))
}

/// One message.
#[utoipa::path(get, path = "/v1/messages/{message_id}", tag = "messages",
    params(("message_id" = Uuid, Path)),
    responses((status = 200, body = MessageResponse), (status = 404, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn get_message(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<MessageResponse>> {
    let message = state
        .store()
        .get_message(&caller.app.id, &caller.actor, id)
        .await
        .map_err(|e| as_missing(e, || format!("message {id}")))?;
    Ok(Json(MessageResponse { message }))
}

/// Edit a message (author only); sets `edited_at`.
#[utoipa::path(patch, path = "/v1/messages/{message_id}", tag = "messages",
    params(("message_id" = Uuid, Path)), request_body = UpdateMessageRequest,
    responses((status = 200, body = MessageResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn update_message(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<UpdateMessageRequest>,
) -> ApiResult<Json<MessageResponse>> {
    if let Some(t) = &req.text {
        validate::text(t)?;
    }
    if let Some(a) = &req.attachments {
        validate::attachments(a)?;
    }
    if let Some(m) = &req.mentioned_users {
        validate::mentions(m)?;
    }
    let message = state
        .store()
        .update_message(&caller.app.id, &caller.actor, id, req)
        .await
        .map_err(hide_channel)?;
    Ok(Json(MessageResponse { message }))
}

/// Soft-delete a message (author, moderators and above). Idempotent.
#[utoipa::path(delete, path = "/v1/messages/{message_id}", tag = "messages",
    params(("message_id" = Uuid, Path)),
    responses((status = 200, body = MessageResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn delete_message(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<MessageResponse>> {
    let message = state
        .store()
        .delete_message(&caller.app.id, &caller.actor, id)
        .await
        .map_err(hide_channel)?;
    Ok(Json(MessageResponse { message }))
}

/// Add a reaction (one per user per type; idempotent).
#[utoipa::path(post, path = "/v1/messages/{message_id}/reactions", tag = "reactions",
    params(("message_id" = Uuid, Path)), request_body = ReactionRequest,
    responses((status = 200, body = ReactionResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn add_reaction(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<ReactionRequest>,
) -> ApiResult<Json<ReactionResponse>> {
    validate::reaction_type(&req.kind)?;
    let user = caller.user()?;
    Ok(Json(
        state
            .store()
            .add_reaction(&caller.app.id, user, id, &req.kind)
            .await
            .map_err(hide_channel)?,
    ))
}

/// Remove a reaction (idempotent once it existed).
#[utoipa::path(delete, path = "/v1/messages/{message_id}/reactions/{type}", tag = "reactions",
    params(("message_id" = Uuid, Path), ("type" = String, Path)),
    responses((status = 200, body = ReactionResponse), (status = 404, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn remove_reaction(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, kind)): ApiPath<(Uuid, String)>,
) -> ApiResult<Json<ReactionResponse>> {
    validate::reaction_type(&kind)?;
    let user = caller.user()?;
    Ok(Json(
        state
            .store()
            .remove_reaction(&caller.app.id, user, id, &kind)
            .await
            .map_err(hide_channel)?,
    ))
}

/// Current reactions on a message.
#[utoipa::path(get, path = "/v1/messages/{message_id}/reactions", tag = "reactions",
    params(("message_id" = Uuid, Path)),
    responses((status = 200, body = ReactionsResponse), (status = 404, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn list_reactions(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ReactionsResponse>> {
    let reactions = state
        .store()
        .list_reactions(&caller.app.id, &caller.actor, id)
        .await
        .map_err(|e| as_missing(e, || format!("message {id}")))?;
    Ok(Json(ReactionsResponse { reactions }))
}

/// Star (save) a message for the caller. Idempotent; syncs to the caller only.
#[utoipa::path(post, path = "/v1/messages/{message_id}/star", tag = "flags",
    params(("message_id" = Uuid, Path)),
    responses((status = 200, body = FlagsResponse), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn star(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<FlagsResponse>> {
    let flags = state
        .store()
        .set_starred(&caller.app.id, caller.user()?, id, true)
        .await
        .map_err(hide_channel)?;
    Ok(Json(FlagsResponse { flags }))
}

/// Unstar a message for the caller. Idempotent.
#[utoipa::path(delete, path = "/v1/messages/{message_id}/star", tag = "flags",
    params(("message_id" = Uuid, Path)),
    responses((status = 200, body = FlagsResponse), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn unstar(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<FlagsResponse>> {
    let flags = state
        .store()
        .set_starred(&caller.app.id, caller.user()?, id, false)
        .await
        .map_err(hide_channel)?;
    Ok(Json(FlagsResponse { flags }))
}

/// The caller's starred messages, most recently sent first.
#[utoipa::path(get, path = "/v1/starred", tag = "flags", params(StarredQuery),
    responses((status = 200, body = StarredResponse), (status = 400, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn starred(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<StarredQuery>,
) -> ApiResult<Json<StarredResponse>> {
    validate::limit("limit", q.limit, 1, MAX_MESSAGE_PAGE)?;
    Ok(Json(
        state
            .store()
            .starred(&caller.app.id, caller.user()?, q)
            .await?,
    ))
}
