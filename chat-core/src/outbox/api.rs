//! The engine's side of the HTTP boundary, as plain data: the request an operation turns
//! into ([`ApiRequest`]) and what the driver observed when it executed it ([`ApiOutcome`]).
//! Keeping both I/O-free is what lets the engine run unchanged under tests, tokio or wasm.

use std::time::Duration;

use chat_protocol::{
    AddMembersRequest, Cid, ErrorBody, MarkReadRequest, ReactionRequest, SendMessageRequest,
    SendMessagesRequest,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::op::OutboxOp;
use crate::net::HttpMethod;

/// An HTTP method used by outbox requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// `POST`.
    Post,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl From<Method> for HttpMethod {
    fn from(m: Method) -> Self {
        match m {
            Method::Post => Self::Post,
            Method::Patch => Self::Patch,
            Method::Delete => Self::Delete,
        }
    }
}

impl Method {
    /// The method name as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

/// A REST call to make, relative to the server's base URL. The driver adds authentication
/// and `Content-Type: application/json` when there is a body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiRequest {
    /// The method.
    pub method: Method,
    /// The path, e.g. `/v1/messages/0190…/reactions`. Every segment is already URL-safe:
    /// ids are validated (channel ids, reaction types) or UUIDs.
    pub path: String,
    /// The JSON body, if the call takes one.
    pub body: Option<Value>,
}

/// What happened to an [`ApiRequest`], as reported by the driver.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiOutcome {
    /// A 2xx answer. `body` is the parsed JSON body (`Value::Null` when empty).
    Ok {
        /// The HTTP status.
        status: u16,
        /// The parsed body.
        body: Value,
    },
    /// A non-2xx answer.
    HttpError {
        /// The HTTP status.
        status: u16,
        /// The parsed error body, if it was one.
        body: Option<ErrorBody>,
        /// The `Retry-After` header, if present.
        retry_after: Option<Duration>,
    },
    /// No HTTP answer: connection failed, timed out, or the reply was lost. The request may
    /// or may not have been applied by the server.
    Network(String),
}

fn channel_path(cid: &Cid, tail: &str) -> String {
    format!("/v1/channels/{}/{}/{tail}", cid.kind().as_str(), cid.id())
}

fn json<T: Serialize>(value: &T) -> Option<Value> {
    // The protocol types only have string map keys, so serializing them cannot fail.
    Some(serde_json::to_value(value).expect("protocol types always serialize to JSON"))
}

/// The batch send of `messages` (consecutive sends of `cid`, oldest first).
pub(super) fn batch_request(cid: &Cid, messages: Vec<SendMessageRequest>) -> ApiRequest {
    ApiRequest {
        method: Method::Post,
        path: channel_path(cid, "messages/batch"),
        body: json(&SendMessagesRequest { messages }),
    }
}

/// The bytes a send adds to a batch body (its JSON and a separating comma).
pub(super) fn batch_bytes(request: &SendMessageRequest) -> usize {
    serde_json::to_vec(request).map_or(usize::MAX, |v| v.len() + 1)
}

impl OutboxOp {
    /// The REST call that performs this operation. Retries send the identical request:
    /// message ids and reaction/read semantics make every one of them idempotent.
    pub fn to_request(&self) -> ApiRequest {
        let (method, path, body) = match self {
            Self::SendMessage { cid, request } => {
                (Method::Post, channel_path(cid, "messages"), json(request))
            }
            Self::EditMessage { id, request, .. } => {
                (Method::Patch, format!("/v1/messages/{id}"), json(request))
            }
            Self::DeleteMessage { id, .. } => (Method::Delete, format!("/v1/messages/{id}"), None),
            Self::AddReaction {
                message_id, kind, ..
            } => (
                Method::Post,
                format!("/v1/messages/{message_id}/reactions"),
                json(&ReactionRequest { kind: kind.clone() }),
            ),
            Self::RemoveReaction {
                message_id, kind, ..
            } => (
                Method::Delete,
                format!("/v1/messages/{message_id}/reactions/{kind}"),
                None,
            ),
            Self::StarMessage { message_id, .. } => (
                Method::Post,
                format!("/v1/messages/{message_id}/star"),
                None,
            ),
            Self::UnstarMessage { message_id, .. } => (
                Method::Delete,
                format!("/v1/messages/{message_id}/star"),
                None,
            ),
            Self::MarkRead { cid, message_id } => (
                Method::Post,
                channel_path(cid, "read"),
                json(&MarkReadRequest {
                    message_id: *message_id,
                }),
            ),
            Self::CreateChannel { request } => {
                (Method::Post, "/v1/channels".to_owned(), json(request))
            }
            Self::UpdateChannel { cid, request } => (
                Method::Patch,
                format!("/v1/channels/{}/{}", cid.kind().as_str(), cid.id()),
                json(request),
            ),
            Self::AddMembers { cid, members } => (
                Method::Post,
                channel_path(cid, "members"),
                json(&AddMembersRequest {
                    members: members.clone(),
                }),
            ),
            Self::SetMemberState { cid, request } => {
                (Method::Patch, channel_path(cid, "member"), json(request))
            }
            Self::DeleteChannel { cid } => (
                Method::Delete,
                format!("/v1/channels/{}/{}", cid.kind().as_str(), cid.id()),
                None,
            ),
            Self::RemoveMember { cid, user_id } => (
                Method::Delete,
                channel_path(cid, &format!("members/{user_id}")),
                None,
            ),
        };
        ApiRequest { method, path, body }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::*;
    use super::*;

    #[test]
    fn operations_become_the_documented_requests() {
        let c = "team:general";
        let m = v7(5);
        let cases = [
            (
                send_op(c, 5, "hi"),
                Method::Post,
                "/v1/channels/team/general/messages".to_owned(),
            ),
            (
                edit_op(c, 5, "yo"),
                Method::Patch,
                format!("/v1/messages/{m}"),
            ),
            (delete_op(c, 5), Method::Delete, format!("/v1/messages/{m}")),
            (
                reaction(true, c, 5, "+1"),
                Method::Post,
                format!("/v1/messages/{m}/reactions"),
            ),
            (
                reaction(false, c, 5, "+1"),
                Method::Delete,
                format!("/v1/messages/{m}/reactions/+1"),
            ),
            (
                star(true, c, 5),
                Method::Post,
                format!("/v1/messages/{m}/star"),
            ),
            (
                star(false, c, 5),
                Method::Delete,
                format!("/v1/messages/{m}/star"),
            ),
            (
                mark_read(c, Some(5)),
                Method::Post,
                "/v1/channels/team/general/read".to_owned(),
            ),
            (
                update_channel(c, "Renamed"),
                Method::Patch,
                "/v1/channels/team/general".to_owned(),
            ),
            (
                add_members(c, &["bob"]),
                Method::Post,
                "/v1/channels/team/general/members".to_owned(),
            ),
            (
                remove_member(c, "bob"),
                Method::Delete,
                "/v1/channels/team/general/members/bob".to_owned(),
            ),
        ];
        for (op, method, path) in cases {
            let request = op.to_request();
            assert_eq!((request.method, request.path), (method, path), "{op:?}");
        }
        assert_eq!(
            send_op(c, 5, "hi").to_request().body.unwrap()["id"],
            json!(m)
        );
        assert_eq!(
            reaction(true, c, 5, "+1").to_request().body,
            Some(json!({"type": "+1"}))
        );
        assert_eq!(
            mark_read(c, None).to_request().body,
            Some(json!({"message_id": null}))
        );
        assert_eq!(delete_op(c, 5).to_request().body, None);
        assert_eq!(
            update_channel(c, "Renamed").to_request().body,
            Some(json!({"name": "Renamed", "image": null, "config": null}))
        );
        assert_eq!(
            add_members(c, &["bob"]).to_request().body,
            Some(json!({"members": [{"user_id": "bob", "role": null}]}))
        );
        assert_eq!(remove_member(c, "bob").to_request().body, None);
    }
}
