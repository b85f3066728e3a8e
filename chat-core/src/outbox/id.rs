//! [`OpId`]: the identity of an outbox item, its idempotency key.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The id of one outbox item. For a [`OutboxOp::SendMessage`](super::OutboxOp::SendMessage) it is the message id
/// (the client-generated UUIDv7, also the idempotency key); for every other operation the
/// caller generates a fresh UUIDv7. The engine never generates ids itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OpId(pub Uuid);

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Uuid> for OpId {
    fn from(value: Uuid) -> Self {
        Self(value)
    }
}
