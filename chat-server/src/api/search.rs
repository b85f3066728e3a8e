//! `GET /v1/search`: full-text search over the caller's channels. Input rules (each
//! refused with `400 validation_failed`): `q` at most
//! [`SEARCH_QUERY_MAX_BYTES`] bytes and [`SEARCH_QUERY_MAX_WORDS`] words, with at least one
//! word that can match; `limit` 1..=100 (default 20); `cursor` as issued. A `cid` the
//! caller may not read answers `404` like a missing channel.

use axum::Json;
use axum::extract::State;
use chat_protocol::{
    ErrorBody, SEARCH_QUERY_MAX_BYTES, SEARCH_QUERY_MAX_WORDS, SearchParams, SearchResponse,
    search_words,
};

use super::error::{ApiError, ApiQuery, ApiResult};
use super::state::{AppState, Caller};
use super::validate;
use crate::store::search::{SearchQuery, decode_cursor};

/// Default page size.
const DEFAULT_LIMIT: u32 = 20;
/// Largest page size.
const MAX_LIMIT: u32 = 100;

/// Messages of the caller's channels matching `q`, newest first.
#[utoipa::path(get, path = "/v1/search", tag = "messages", params(SearchParams),
    responses((status = 200, body = SearchResponse), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("user_token" = []), ("server_key" = [])))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> ApiResult<Json<SearchResponse>> {
    validate::limit("limit", p.limit, 1, MAX_LIMIT)?;
    let query = parse(&p)?;
    let cid = p.cid.clone();
    let found = state
        .store()
        .search(&caller.app.id, caller.user()?, query)
        .await
        .map_err(|e| {
            super::messages::as_missing(e, || {
                format!("channel {}", cid.map(|c| c.to_string()).unwrap_or_default())
            })
        })?;
    Ok(Json(found))
}

/// Validates the parameters into a store query.
fn parse(p: &SearchParams) -> ApiResult<SearchQuery> {
    if p.q.len() > SEARCH_QUERY_MAX_BYTES {
        return Err(ApiError::invalid(format!(
            "q is longer than {SEARCH_QUERY_MAX_BYTES} bytes"
        )));
    }
    let (words, _) = search_words(&p.q);
    if words.is_empty() {
        return Err(ApiError::invalid("q has no word to search for"));
    }
    if words.len() > SEARCH_QUERY_MAX_WORDS {
        return Err(ApiError::invalid(format!(
            "q has more than {SEARCH_QUERY_MAX_WORDS} words"
        )));
    }
    let before = match &p.cursor {
        None => None,
        Some(c) => Some(decode_cursor(c).ok_or_else(|| ApiError::invalid("invalid cursor"))?),
    };
    Ok(SearchQuery {
        words: words.into_iter().map(str::to_owned).collect(),
        cid: p.cid.clone(),
        before,
        limit: p.limit.unwrap_or(DEFAULT_LIMIT),
    })
}
