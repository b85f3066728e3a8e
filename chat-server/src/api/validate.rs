//! Shape validation of request inputs, before anything reaches the store: lengths, id
//! syntax, page sizes. Data-dependent checks (existence, membership) are the store's.

use chat_protocol::ids::{validate_channel_id, validate_user_id};
use chat_protocol::limits::{
    MAX_ATTACHMENTS, MAX_BATCH, MAX_MENTIONS, MAX_NAME_LEN, MAX_TEXT_CHARS,
};
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
pub fn short_text(field: &str, value: Option<&String>) -> ApiResult<()> {
    match value {
        Some(v) if v.len() > MAX_NAME_LEN => Err(ApiError::invalid(format!(
            "{field} is longer than {MAX_NAME_LEN} bytes"
        ))),
        _ => Ok(()),
    }
}

/// Checks a batch size (1..=100).
pub fn batch<T>(field: &str, items: &[T]) -> ApiResult<()> {
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ApiError::invalid(format!(
            "{field} must hold 1..={MAX_BATCH} entries"
        )));
    }
    Ok(())
}

/// Checks a user profile.
pub fn user(u: &UserInput) -> ApiResult<()> {
    validate_user_id(&u.id)?;
    short_text("name", u.name.as_ref())?;
    short_text("image", u.image.as_ref())
}

/// Checks a page size against its maximum.
pub fn limit(field: &str, value: Option<u32>, min: u32, max: u32) -> ApiResult<()> {
    match value {
        Some(v) if v < min || v > max => Err(ApiError::invalid(format!(
            "{field} must be within {min}..={max}"
        ))),
        _ => Ok(()),
    }
}

/// Checks message text.
pub fn text(text: &str) -> ApiResult<()> {
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(ApiError::invalid(format!(
            "text is {chars} characters; the limit is {MAX_TEXT_CHARS}"
        )));
    }
    Ok(())
}

/// Checks attachments: at most 30 JSON objects.
pub fn attachments(items: &[Value]) -> ApiResult<()> {
    if items.len() > MAX_ATTACHMENTS {
        return Err(ApiError::invalid(format!(
            "at most {MAX_ATTACHMENTS} attachments"
        )));
    }
    if !items.iter().all(Value::is_object) {
        return Err(ApiError::invalid("every attachment must be a JSON object"));
    }
    Ok(())
}

/// Checks mentioned user ids.
pub fn mentions(ids: &[String]) -> ApiResult<()> {
    if ids.len() > MAX_MENTIONS {
        return Err(ApiError::invalid(format!(
            "at most {MAX_MENTIONS} mentioned users"
        )));
    }
    for id in ids {
        validate_user_id(id)?;
    }
    Ok(())
}
