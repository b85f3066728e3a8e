//! Shape validation of request inputs, before anything reaches the store: lengths, id
//! syntax, page sizes. The rules themselves are `chat_protocol::limits` and
//! `chat_protocol::ids` (the SDKs apply the same ones before sending); this module only
//! turns their errors into `400 validation_failed`. Data-dependent checks (existence,
//! membership) are the store's.

use chat_protocol::ids::{validate_channel_id, validate_user_id};
use chat_protocol::limits;
use chat_protocol::{ChannelType, Cid, UserInput};
use serde_json::Value;

use super::error::{ApiError, ApiResult};

/// Parses `{type}/{id}` path segments into a cid.
pub fn cid(kind: &str, id: &str) -> ApiResult<Cid> {
    let kind: ChannelType = kind
        .parse()
        .map_err(|_| ApiError::invalid(format!("unknown channel type {kind:?}")))?;
    validate_channel_id(id)?;
    Ok(Cid::new(kind, id)?)
}

/// Checks an optional name or URL field.
pub fn short_text(field: &'static str, value: Option<&String>) -> ApiResult<()> {
    Ok(limits::check_name(field, value.map(String::as_str))?)
}

/// Checks a batch size (1..=100).
pub fn batch<T>(field: &'static str, items: &[T]) -> ApiResult<()> {
    Ok(limits::check_batch(field, items)?)
}

/// Checks a user profile.
pub fn user(u: &UserInput) -> ApiResult<()> {
    validate_user_id(&u.id)?;
    short_text("name", u.name.as_ref())?;
    short_text("image", u.image.as_ref())
}

/// Checks a page size against its range.
pub fn limit(field: &'static str, value: Option<u32>, min: u32, max: u32) -> ApiResult<()> {
    Ok(limits::check_page(field, value, min, max)?)
}

/// Checks message text.
pub fn text(text: &str) -> ApiResult<()> {
    Ok(limits::check_text(text)?)
}

/// Checks attachments: at most 30 JSON objects.
pub fn attachments(items: &[Value]) -> ApiResult<()> {
    Ok(limits::check_attachments(items)?)
}

/// Checks mentioned user ids: at most 100 valid user ids.
pub fn mentions(ids: &[String]) -> ApiResult<()> {
    Ok(limits::check_mentions(ids)?)
}

/// Checks a new channel's initial members: at most 100 valid user ids.
pub fn members(ids: &[String]) -> ApiResult<()> {
    Ok(limits::check_members(ids)?)
}

/// Checks a reaction type.
pub fn reaction_type(kind: &str) -> ApiResult<()> {
    Ok(limits::check_reaction_type(kind)?)
}
