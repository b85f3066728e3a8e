//! The one error body every failing REST call returns: `{"code": ..., "message": ...}` with a
//! stable machine-readable code. SDKs classify failures (retry, re-auth, give up) by `code`
//! and the HTTP status, never by parsing `message`.

use serde::{Deserialize, Serialize};

/// Stable error codes. New codes may be added; existing ones never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ErrorCode {
    /// 400: the body is not syntactically valid JSON (a wrong shape is `validation_failed`).
    InvalidJson,
    /// 400: a field failed validation (length, charset, unknown user, ...).
    ValidationFailed,
    /// 400: the sync cursor is malformed.
    InvalidCursor,
    /// 401: missing or invalid credentials.
    Unauthorized,
    /// 401: the user token has expired; fetch a fresh one and retry.
    TokenExpired,
    /// 403: authenticated but not allowed (role too low, feature disabled).
    Forbidden,
    /// 403: the caller was a member of the channel and is not any more (someone who never
    /// was a member gets `NotFound`).
    NotAMember,
    /// 404: the resource (or route) does not exist, or the caller may not know it does.
    NotFound,
    /// 405: the route exists but not with this method.
    MethodNotAllowed,
    /// 409: the id is already taken by a different resource (e.g. a message id sent by another user).
    Conflict,
    /// 410: the sync cursor can no longer be served; see `action`.
    CursorExpired,
    /// 413: the body is larger than the server accepts.
    PayloadTooLarge,
    /// 415: the request must be `application/json`.
    UnsupportedMediaType,
    /// 414: the request URI (path and query) is longer than the server accepts.
    UriTooLong,
    /// 429: too many requests; retry after `retry_after_secs`.
    RateLimited,
    /// 431: the request head (request line and headers) is larger than the server accepts,
    /// or has too many headers.
    HeadersTooLarge,
    /// 500: a server fault. Safe to retry idempotent requests.
    Internal,
    /// 503: the server is at its connection limit; retry after `retry_after_secs`.
    Overloaded,
    /// A code this SDK does not know yet (sent by a newer server); classify by HTTP status.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The HTTP status this code is returned with.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidJson | Self::ValidationFailed | Self::InvalidCursor => 400,
            Self::Unauthorized | Self::TokenExpired => 401,
            Self::Forbidden | Self::NotAMember => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Conflict => 409,
            Self::CursorExpired => 410,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::UriTooLong => 414,
            Self::RateLimited => 429,
            Self::HeadersTooLarge => 431,
            Self::Internal | Self::Unknown => 500,
            Self::Overloaded => 503,
        }
    }
}

/// What the client must do to recover, when a plain retry will not help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ErrorAction {
    /// Drop the synced cache (keep unsent local changes) and bootstrap `/v1/sync` without a cursor.
    Reset,
}

/// The JSON body of every error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// Human-readable explanation (not stable; for logs and developers).
    pub message: String,
    /// Recovery action, for `cursor_expired`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<ErrorAction>,
    /// Seconds to wait before retrying, for `rate_limited` and `overloaded` (also in the
    /// `Retry-After` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

impl ErrorBody {
    /// An error body with just a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            action: None,
            retry_after_secs: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_codes_from_newer_servers_still_parse() {
        let body: ErrorBody =
            serde_json::from_str(r#"{"code":"quota_exceeded","message":"later"}"#).unwrap();
        assert_eq!(body.code, ErrorCode::Unknown);
        assert_eq!(body.code.http_status(), 500);
    }
}
