//! The client's typed errors. Each says what went wrong in terms the app can act on;
//! lower layers' errors are carried, not flattened into strings, so bindings can map them
//! one-to-one.

use chat_protocol::ErrorCode;
use uuid::Uuid;

use super::token::TokenError;
use crate::cache::CacheError;
use crate::net::NetworkError;
use crate::outbox::{OpId, OutboxError};

/// Errors of [`ChatClient`](super::ChatClient) calls.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The local database failed (see [`CacheError`] for corrupt or too-new files).
    #[error("local cache: {0}")]
    Cache(#[from] CacheError),
    /// The operation was refused before being queued (e.g. an invalid reaction type or
    /// channel id).
    #[error("invalid operation: {0}")]
    Outbox(#[from] OutboxError),
    /// An argument is invalid (the message says which and why). Nothing was stored.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The message is not in the local cache (edit, delete, react and jump need it).
    #[error("message {0} is not cached")]
    MessageNotFound(Uuid),
    /// No outbox item with this id (already completed or discarded).
    #[error("no outbox item {0}")]
    UnknownOperation(OpId),
    /// A call that needs the server could not reach it.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// The server refused a call that needs it (history paging, sync).
    #[error("server refused the request ({status}): {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's error code, if any.
        code: Option<ErrorCode>,
        /// The server's message.
        message: String,
    },
    /// No token could be obtained.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The client was shut down.
    #[error("the client is shut down")]
    Closed,
}

/// `Result` with [`ClientError`].
pub type ClientResult<T> = Result<T, ClientError>;
