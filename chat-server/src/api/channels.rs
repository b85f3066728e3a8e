//! `/v1/channels`: create (distinct get-or-create, idempotent create replays), get, update,
//! query, members, read, typing. The rules of who may create, open and join what are in
//! docs/protocol.md, "Who may do what" and "Security model".

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chat_protocol::limits::{MAX_CHANNEL_PAGE, MAX_MESSAGE_PAGE};
use chat_protocol::realtime::{EphemeralEvent, RealtimeEvent, TypingEvent};
use chat_protocol::{
    AddMembersRequest, ChannelResponse, ChannelState, Cid, CreateChannelRequest, ErrorBody,
    MarkReadRequest, MarkReadResponse, MembersResponse, QueryChannelsRequest,
    QueryChannelsResponse, TypingRequest, UpdateChannelRequest,
};
use serde::Deserialize;

use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use super::state::{AppState, Caller};
use super::validate;
use crate::realtime::HubEvent;
use crate::store::{NewChannel, StoreError};

/// `?message_limit=` of channel reads.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ChannelQuery {
    /// Newest messages to include, 0..=200 (default 25).
    pub message_limit: Option<u32>,
}

/// Create a channel (201). An existing distinct channel answers 200 with its state; an
/// existing explicit id answers 200 only to its creator replaying the same initial
/// members, 409 otherwise.
#[utoipa::path(post, path = "/v1/channels", tag = "channels", request_body = CreateChannelRequest,
    responses((status = 201, body = ChannelState), (status = 200, body = ChannelState),
              (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn create_channel(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateChannelRequest>,
) -> ApiResult<(StatusCode, Json<ChannelState>)> {
    let creator = if caller.actor.server {
        req.created_by
            .clone()
            .or(caller.actor.user_id.clone())
            .ok_or_else(|| ApiError::invalid("server-side channel creation needs created_by"))?
    } else {
        let me = caller.user()?.to_owned();
        if req.created_by.as_ref().is_some_and(|c| *c != me) {
            return Err(ApiError::invalid("created_by is for server-side callers"));
        }
        me
    };
    chat_protocol::ids::validate_user_id(&creator)?;
    validate::short_text("name", req.name.as_ref())?;
    validate::short_text("image", req.image.as_ref())?;
    validate::members(&req.members)?;
    let cid = new_cid(&creator, &req)?;
    let (channel, created) = state
        .store()
        .create_channel(&caller.app.id, &creator, NewChannel { cid, req })
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(channel)))
}

/// The cid a create request names: derived from the member set for a distinct channel
/// (a given id must equal it), else the given id (never a reserved `!` id) or a fresh one.
fn new_cid(creator: &str, req: &CreateChannelRequest) -> ApiResult<Cid> {
    use chat_protocol::ids::distinct_channel_id;
    if req.distinct {
        let derived = distinct_channel_id(creator, &req.members);
        if let Some(id) = &req.id
            && *id != derived
        {
            return Err(ApiError::invalid(format!(
                "the id of a distinct channel is derived from its members and creator: \
                 expected {derived:?}, got {id:?} (or omit id)"
            )));
        }
        return Ok(Cid::new(req.kind, &derived)?);
    }
    match &req.id {
        Some(id) if id.starts_with('!') => Err(ApiError::invalid(
            "channel ids starting with `!` are reserved for distinct channels (send \
             \"distinct\": true and the members instead)",
        )),
        Some(id) => Ok(Cid::new(req.kind, id)?),
        None => Ok(Cid::new(
            req.kind,
            &uuid::Uuid::now_v7().simple().to_string(),
        )?),
    }
}

/// A channel with members, reads, newest messages and the caller's unread counts.
#[utoipa::path(get, path = "/v1/channels/{type}/{id}", tag = "channels",
    params(("type" = String, Path), ("id" = String, Path), ChannelQuery),
    responses((status = 200, body = ChannelState), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn get_channel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((kind, id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<ChannelQuery>,
) -> ApiResult<Json<ChannelState>> {
    let cid = validate::cid(&kind, &id)?;
    validate::limit("message_limit", q.message_limit, 0, MAX_MESSAGE_PAGE)?;
    let limit = q.message_limit.unwrap_or(25);
    Ok(Json(
        state
            .store()
            .channel_state(&caller.app.id, &caller.actor, &cid, limit)
            .await
            .map_err(|e| super::messages::as_missing(e, || format!("channel {cid}")))?,
    ))
}

/// Change name, image or config (owners and admins).
#[utoipa::path(patch, path = "/v1/channels/{type}/{id}", tag = "channels",
    params(("type" = String, Path), ("id" = String, Path)), request_body = UpdateChannelRequest,
    responses((status = 200, body = ChannelResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn update_channel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((kind, id)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<UpdateChannelRequest>,
) -> ApiResult<Json<ChannelResponse>> {
    let cid = validate::cid(&kind, &id)?;
    validate::short_text("name", req.name.as_ref())?;
    validate::short_text("image", req.image.as_ref())?;
    let channel = state
        .store()
        .update_channel(&caller.app.id, &caller.actor, &cid, req)
        .await?;
    Ok(Json(ChannelResponse { channel }))
}

/// Query channels, newest activity first, with cursor paging.
#[utoipa::path(post, path = "/v1/channels/query", tag = "channels",
    request_body = QueryChannelsRequest,
    responses((status = 200, body = QueryChannelsResponse), (status = 400, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn query_channels(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<QueryChannelsRequest>,
) -> ApiResult<Json<QueryChannelsResponse>> {
    validate::limit("limit", req.limit, 1, MAX_CHANNEL_PAGE)?;
    validate::limit("message_limit", req.message_limit, 0, MAX_MESSAGE_PAGE)?;
    if let Some(users) = &req.filter.members {
        validate::mentions(users)?;
    }
    let (channels, next_cursor) = state
        .store()
        .query_channels(&caller.app.id, &caller.actor, req)
        .await?;
    Ok(Json(QueryChannelsResponse {
        channels,
        next_cursor,
    }))
}

/// Add members or change their roles (moderators and above).
#[utoipa::path(post, path = "/v1/channels/{type}/{id}/members", tag = "channels",
    params(("type" = String, Path), ("id" = String, Path)), request_body = AddMembersRequest,
    responses((status = 200, body = MembersResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn add_members(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((kind, id)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<AddMembersRequest>,
) -> ApiResult<Json<MembersResponse>> {
    let cid = validate::cid(&kind, &id)?;
    validate::batch("members", &req.members)?;
    for m in &req.members {
        chat_protocol::ids::validate_user_id(&m.user_id)?;
    }
    let members = state
        .store()
        .add_members(&caller.app.id, &caller.actor, &cid, req.members)
        .await?;
    Ok(Json(MembersResponse {
        members,
        removed: None,
    }))
}

/// Remove a member (moderators and above), or leave (any member removing itself).
#[utoipa::path(delete, path = "/v1/channels/{type}/{id}/members/{user_id}", tag = "channels",
    params(("type" = String, Path), ("id" = String, Path), ("user_id" = String, Path)),
    responses((status = 200, body = MembersResponse), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((kind, id, user_id)): ApiPath<(String, String, String)>,
) -> ApiResult<Json<MembersResponse>> {
    let cid = validate::cid(&kind, &id)?;
    let (members, removed) = state
        .store()
        .remove_member(&caller.app.id, &caller.actor, &cid, &user_id)
        .await?;
    Ok(Json(MembersResponse {
        members,
        removed: Some(removed),
    }))
}

/// Mark the channel read up to a message (default: the newest).
#[utoipa::path(post, path = "/v1/channels/{type}/{id}/read", tag = "read state",
    params(("type" = String, Path), ("id" = String, Path)), request_body = MarkReadRequest,
    responses((status = 200, body = MarkReadResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn mark_read(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((kind, id)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<MarkReadRequest>,
) -> ApiResult<Json<MarkReadResponse>> {
    let cid = validate::cid(&kind, &id)?;
    let user = caller.user()?;
    Ok(Json(
        state
            .store()
            .mark_read(&caller.app.id, user, &cid, req.message_id)
            .await?,
    ))
}

/// Typing started or stopped: relayed to the other members, never stored.
#[utoipa::path(post, path = "/v1/channels/{type}/{id}/typing", tag = "realtime",
    params(("type" = String, Path), ("id" = String, Path)), request_body = TypingRequest,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn typing(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((kind, id)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<TypingRequest>,
) -> ApiResult<StatusCode> {
    let cid = validate::cid(&kind, &id)?;
    let user = caller.user()?.to_owned();
    let channel = state
        .store()
        .channel_state(&caller.app.id, &caller.actor, &cid, 0)
        .await?;
    if !channel.members.iter().any(|m| m.user_id == user) {
        return Err(StoreError::NotAMember(cid.to_string()).into());
    }
    if !channel.channel.config.typing_events {
        return Err(StoreError::Forbidden(format!("typing events are disabled in {cid}")).into());
    }
    let others: Vec<String> = channel
        .members
        .into_iter()
        .map(|m| m.user_id)
        .filter(|u| *u != user)
        .collect();
    let event = RealtimeEvent::Ephemeral(EphemeralEvent::Typing(TypingEvent {
        cid,
        user_id: user,
        typing: req.typing,
        parent_id: req.parent_id,
    }));
    let data = serde_json::to_string(&event).map_err(|e| StoreError::Backend(e.to_string()))?;
    state
        .hub()
        .publish(&caller.app.id, &others, HubEvent::ephemeral(data));
    Ok(StatusCode::NO_CONTENT)
}
