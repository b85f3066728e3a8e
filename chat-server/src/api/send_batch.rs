//! `POST /v1/channels/{type}/{id}/messages/batch`: a backlog of sends to one channel in one
//! request (an SDK draining its outbox after a long offline period).
//!
//! Rules:
//! - Each message is exactly a single send (`POST …/messages`): the same checks, the same
//!   idempotency on its id, the same status in its result. A refused message does not stop
//!   the others; the request itself answers `200` with one result per message, in order.
//! - The messages are applied in order, in one transaction (one commit for the whole
//!   batch), and their changes are published after it in that order.
//! - Whole-request refusals: authentication, a malformed body, a bad channel id, an empty
//!   list or more than [`MAX_BATCH`] messages (`400`), a body over
//!   [`MAX_SEND_BATCH_BYTES`](chat_protocol::limits::MAX_SEND_BATCH_BYTES) (`413`).
//! - Rate limit: every message counts as one write of the user's bucket. The request's own
//!   token pays for the first; the ones the bucket cannot pay for get `429` results with
//!   `retry_after_secs` (always a tail of the list: the paid ones are the first).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chat_protocol::limits::{LimitError, MAX_BATCH};
use chat_protocol::{
    ErrorBody, ErrorCode, SendMessageRequest, SendMessagesRequest, SendMessagesResponse, SendResult,
};

use super::error::{ApiError, ApiJson, ApiPath, ApiResult};
use super::messages::check_send;
use super::state::{AppState, Caller};
use super::validate;

/// Send up to 100 messages to one channel in one request, applied in order; each is
/// idempotent on its id and has its own result (the status a single send would answer).
#[utoipa::path(post, path = "/v1/channels/{type}/{id}/messages/batch", tag = "messages",
    params(("type" = String, Path), ("id" = String, Path)), request_body = SendMessagesRequest,
    responses((status = 200, body = SendMessagesResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 429, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn send_messages(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((kind, id)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<SendMessagesRequest>,
) -> ApiResult<(StatusCode, Json<SendMessagesResponse>)> {
    let cid = validate::cid(&kind, &id)?;
    let count = req.messages.len();
    if count == 0 || count > MAX_BATCH {
        return Err(LimitError::BatchSize {
            field: "messages",
            count,
        }
        .into());
    }
    let (paid, wait) = state.take_writes(&caller, count - 1).await;
    let paid = paid + 1;
    // Each message's result; `None` for the ones the store decides.
    let mut results: Vec<Option<SendResult>> = Vec::with_capacity(count);
    let mut accepted: Vec<(String, SendMessageRequest)> = Vec::new();
    for (index, message) in req.messages.into_iter().enumerate() {
        if index >= paid {
            let mut body = ErrorBody::new(ErrorCode::RateLimited, "too many requests; slow down");
            body.retry_after_secs =
                Some(wait.map_or(1, |w| w.as_secs_f64().ceil().max(1.0) as u64));
            results.push(Some(refused(message.id, body)));
            continue;
        }
        match check_send(&caller, &message) {
            Ok(author) => {
                results.push(None);
                accepted.push((author, message));
            }
            Err(ApiError(body)) => results.push(Some(refused(message.id, body))),
        }
    }
    let ids: Vec<_> = accepted.iter().map(|(_, m)| m.id).collect();
    let stored = if accepted.is_empty() {
        Vec::new()
    } else {
        state
            .store()
            .send_messages(&caller.app.id, &cid, accepted, caller.actor.server)
            .await?
    };
    let mut stored = ids
        .into_iter()
        .zip(stored)
        .map(|(id, outcome)| match outcome {
            Ok((message, created)) => SendResult {
                id,
                status: if created { 201 } else { 200 },
                message: Some(message),
                error: None,
            },
            Err(e) => refused(id, ApiError::from(e).0),
        });
    let results = results
        .into_iter()
        .map(|decided| {
            decided.unwrap_or_else(|| {
                stored
                    .next()
                    .expect("one store result per accepted message")
            })
        })
        .collect();
    Ok((StatusCode::OK, Json(SendMessagesResponse { results })))
}

/// The result of a message refused with `error`.
fn refused(id: uuid::Uuid, error: ErrorBody) -> SendResult {
    SendResult {
        id,
        status: error.code.http_status(),
        message: None,
        error: Some(error),
    }
}
