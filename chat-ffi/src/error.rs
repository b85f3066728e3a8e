//! Typed errors across the FFI (fields are named `reason`, not `message`, which would
//! clash with `Throwable.message` in Kotlin): [`ChatError`] has one variant per chat-core
//! [`ErrorKind`], mapped from [`ClientError::kind`] in one exhaustive `match` (hosts can
//! branch on them, e.g. show "offline" for `Network`, sign out on `TokenRefused`), and
//! [`TokenFetchError`] is what the host's token provider reports.

use chat_core::cache::CacheError;
use chat_core::client::{ClientError, ErrorKind, TokenError};

/// Why a call failed.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ChatError {
    /// An argument is invalid (the message says which and why). Nothing was stored.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What is wrong.
        reason: String,
    },
    /// The operation was refused before being queued (e.g. an invalid reaction type).
    #[error("invalid operation: {reason}")]
    InvalidOperation {
        /// What is wrong.
        reason: String,
    },
    /// The message is not in the local cache (edit, delete, react and jump need it).
    #[error("message {id} is not cached")]
    MessageNotFound {
        /// The message id.
        id: String,
    },
    /// No outbox item with this id (already completed or discarded).
    #[error("no outbox item {op_id}")]
    UnknownOperation {
        /// The operation id.
        op_id: String,
    },
    /// A call that needs the server could not reach it.
    #[error("network error: {reason}")]
    Network {
        /// What went wrong.
        reason: String,
    },
    /// The server refused a call that needs it.
    #[error("server refused the request ({status}): {reason}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's error code (`validation_failed`, `not_found`, …), if any.
        code: Option<String>,
        /// The server's message.
        reason: String,
    },
    /// No token could be obtained for now; the client asks again later.
    #[error("token unavailable: {reason}")]
    TokenUnavailable {
        /// Why.
        reason: String,
    },
    /// Authentication stopped (the provider refused, or its tokens were rejected):
    /// call `refresh_token` once the user can sign in again.
    #[error("token refused: {reason}")]
    TokenRefused {
        /// Why.
        reason: String,
    },
    /// The local database is damaged or belongs to a newer SDK.
    #[error("local cache: {reason}")]
    Cache {
        /// What happened.
        reason: String,
    },
    /// The client was shut down.
    #[error("the client is shut down")]
    Closed,
}

impl From<ClientError> for ChatError {
    /// One case per [`ErrorKind`] (exhaustive: a new kind fails to compile here).
    fn from(e: ClientError) -> Self {
        let reason = e.reason();
        let id = e.subject_id().map(|id| id.to_string()).unwrap_or_default();
        match e.kind() {
            ErrorKind::InvalidInput => Self::InvalidInput { reason },
            ErrorKind::InvalidOperation => Self::InvalidOperation { reason },
            ErrorKind::MessageNotFound => Self::MessageNotFound { id },
            ErrorKind::UnknownOperation => Self::UnknownOperation { op_id: id },
            ErrorKind::Network => Self::Network { reason },
            ErrorKind::Server => {
                let (status, code) = e.server_status().unwrap_or_default();
                Self::Server {
                    status,
                    code: code.and_then(|c| wire_name(&c)),
                    reason,
                }
            }
            ErrorKind::TokenUnavailable => Self::TokenUnavailable { reason },
            ErrorKind::TokenRefused => Self::TokenRefused { reason },
            ErrorKind::Cache => Self::Cache { reason },
            ErrorKind::Closed => Self::Closed,
        }
    }
}

impl From<CacheError> for ChatError {
    fn from(e: CacheError) -> Self {
        Self::Cache {
            reason: e.to_string(),
        }
    }
}

/// The wire name of an error code (`"not_found"`).
fn wire_name(code: &chat_protocol::ErrorCode) -> Option<String> {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
}

/// What the host's token provider reports when it has no token.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum TokenFetchError {
    /// Temporarily unavailable (e.g. the app's backend is unreachable): asked again later.
    #[error("token temporarily unavailable: {reason}")]
    Unavailable {
        /// Why.
        reason: String,
    },
    /// The user is signed out or not allowed: the client stops asking until
    /// `refresh_token` is called.
    #[error("token refused: {reason}")]
    Refused {
        /// Why.
        reason: String,
    },
}

impl From<TokenFetchError> for TokenError {
    fn from(e: TokenFetchError) -> Self {
        match e {
            TokenFetchError::Unavailable { reason } => Self::Unavailable(reason),
            TokenFetchError::Refused { reason } => Self::Refused(reason),
        }
    }
}

/// uniffi needs every error of a foreign trait method to be constructible from an
/// unexpected host exception.
impl From<uniffi::UnexpectedUniFFICallbackError> for TokenFetchError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Unavailable { reason: e.reason }
    }
}
