//! Helpers shared by the outbox unit tests: compact constructors for ops, ids and
//! outcomes, so each test reads as the scenario it checks.

use chat_protocol::{Cid, ErrorBody, ErrorCode, SendMessageRequest, UpdateMessageRequest};
use uuid::Uuid;

use super::{ApiOutcome, Effect, OpId, Outbox, OutboxConfig, OutboxOp};
use crate::clock::Millis;

/// A time to run scenarios at.
pub(super) const T0: Millis = Millis(1_000);

/// Parses a cid.
pub(crate) fn cid(s: &str) -> Cid {
    s.parse().unwrap()
}

/// A deterministic UUIDv7 (`n` becomes its timestamp).
pub(crate) fn v7(n: u64) -> Uuid {
    uuid::Builder::from_unix_timestamp_millis(n, &[7; 10]).into_uuid()
}

/// The op id `v7(n)`.
pub(crate) fn op_id(n: u64) -> OpId {
    OpId(v7(n))
}

/// A send of message `v7(n)`.
pub(crate) fn send_op(c: &str, n: u64, text: &str) -> OutboxOp {
    OutboxOp::SendMessage {
        cid: cid(c),
        request: SendMessageRequest {
            id: v7(n),
            text: text.into(),
            attachments: vec![],
            parent_id: None,
            quoted_message_id: None,
            mentioned_users: vec![],
            user_id: None,
        },
    }
}

/// A text edit of message `v7(n)`.
pub(crate) fn edit_op(c: &str, n: u64, text: &str) -> OutboxOp {
    OutboxOp::EditMessage {
        cid: cid(c),
        id: v7(n),
        request: UpdateMessageRequest {
            text: Some(text.into()),
            ..Default::default()
        },
    }
}

/// A delete of message `v7(n)`.
pub(crate) fn delete_op(c: &str, n: u64) -> OutboxOp {
    OutboxOp::DeleteMessage {
        cid: cid(c),
        id: v7(n),
    }
}

/// Adds (`add`) or removes a reaction on message `v7(n)`.
pub(crate) fn reaction(add: bool, c: &str, n: u64, kind: &str) -> OutboxOp {
    OutboxOp::reaction(add, cid(c), v7(n), kind.to_owned())
}

/// Stars (`starred`) or unstars message `v7(n)`.
pub(crate) fn star(starred: bool, c: &str, n: u64) -> OutboxOp {
    OutboxOp::star(starred, cid(c), v7(n))
}

/// Marks channel `c` read up to `v7(n)` (or the newest message).
pub(crate) fn mark_read(c: &str, n: Option<u64>) -> OutboxOp {
    OutboxOp::MarkRead {
        cid: cid(c),
        message_id: n.map(v7),
    }
}

/// Renames channel `c`.
pub(crate) fn update_channel(c: &str, name: &str) -> OutboxOp {
    OutboxOp::UpdateChannel {
        cid: cid(c),
        request: chat_protocol::UpdateChannelRequest {
            name: Some(name.to_owned()),
            ..Default::default()
        },
    }
}

/// Adds `users` to channel `c` with the default role.
pub(crate) fn add_members(c: &str, users: &[&str]) -> OutboxOp {
    OutboxOp::AddMembers {
        cid: cid(c),
        members: users
            .iter()
            .map(|u| chat_protocol::MemberInput {
                user_id: (*u).to_owned(),
                role: None,
            })
            .collect(),
    }
}

/// Removes `user` from channel `c`.
pub(crate) fn remove_member(c: &str, user: &str) -> OutboxOp {
    OutboxOp::RemoveMember {
        cid: cid(c),
        user_id: user.to_owned(),
    }
}

/// An outbox with the default config.
pub(crate) fn outbox() -> Outbox {
    Outbox::new(OutboxConfig::default(), 42)
}

/// Enqueues a send whose op id is its message id.
pub(crate) fn send(ob: &mut Outbox, c: &str, n: u64) -> OpId {
    ob.enqueue(op_id(n), send_op(c, n, &format!("m{n}")))
        .unwrap();
    op_id(n)
}

/// The ids of the `Send` effects, in order.
pub(crate) fn sent(effects: &[Effect]) -> Vec<OpId> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { op_id, .. } => Some(*op_id),
            _ => None,
        })
        .collect()
}

/// An error answer with `code`'s status and body.
pub(crate) fn http(code: ErrorCode) -> ApiOutcome {
    ApiOutcome::HttpError {
        status: code.http_status(),
        body: Some(ErrorBody::new(code, format!("{code:?}"))),
        retry_after: None,
    }
}

/// A lost connection.
pub(crate) fn net() -> ApiOutcome {
    ApiOutcome::Network("connection reset".into())
}
