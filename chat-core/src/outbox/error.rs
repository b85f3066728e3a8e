//! The outbox's typed errors: refusals of its synchronous calls (enqueue, retry,
//! discard, results). Each names the item and what was wrong; nothing is half-applied.

use chat_protocol::IdError;
use chat_protocol::limits::LimitError;
use uuid::Uuid;

use super::id::OpId;

/// Errors of the synchronous calls.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboxError {
    /// An item with this id is already queued.
    #[error("an outbox item with id {0} already exists")]
    DuplicateOpId(OpId),
    /// A send's op id must be its message id.
    #[error("a send's op id ({op_id}) must equal its message id ({message_id})")]
    SendIdMismatch {
        /// The op id given.
        op_id: OpId,
        /// The message id in the request.
        message_id: Uuid,
    },
    /// `CreateChannel` without `request.id`: offline creation needs a client-chosen id.
    #[error("creating a channel through the outbox needs a client-chosen channel id")]
    MissingChannelId,
    /// A channel id that would not form a valid path.
    #[error("invalid identifier: {0}")]
    InvalidId(IdError),
    /// A message's content or a reaction type breaks a protocol limit
    /// ([`chat_protocol::limits`], the same checks as the server's).
    #[error("{0}")]
    Content(LimitError),
    /// No item with this id.
    #[error("no outbox item with id {0}")]
    UnknownOp(OpId),
    /// The item is not in flight (e.g. a late or duplicate result).
    #[error("outbox item {0} is not in flight")]
    NotInFlight(OpId),
    /// The item is in flight; wait for its result first.
    #[error("outbox item {0} is in flight")]
    InFlight(OpId),
}
