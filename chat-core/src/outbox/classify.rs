//! Error classification: turns an [`ApiOutcome`] for an [`OutboxOp`] into what the engine
//! does next — complete, retry (network, 5xx, 408, 429), pause for a new token (401) or
//! park the item as permanently failed (other 4xx). It is a pure function so that every
//! status/code combination is pinned by a table-driven test.
//!
//! Classification follows docs/protocol.md "Errors": by `code` first where the code is
//! decisive (auth, rate limiting), otherwise by HTTP status, so codes added by newer
//! servers (parsed as `unknown`) still classify correctly.

use std::time::Duration;

use chat_protocol::{ErrorBody, ErrorCode};
use serde::{Deserialize, Serialize};

use super::api::ApiOutcome;
use super::op::OutboxOp;

/// Why an item failed permanently. Shown to the app; the item stays parked until the app
/// calls `retry` or `discard`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Human-readable reason (the server's `message` when it sent one).
    pub reason: String,
    /// The server's error code, if the answer carried an error body.
    pub code: Option<ErrorCode>,
    /// The HTTP status.
    pub status: u16,
}

/// Why a request is worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryKind {
    /// No answer: connection failure, timeout, lost reply.
    Network,
    /// A 5xx answer.
    ServerError,
    /// 408 Request Timeout.
    Timeout,
    /// 429 Too Many Requests.
    RateLimited,
}

impl RetryKind {
    /// Whether the server may have applied the request despite the failure. Only a 429 is
    /// known to be rejected before any work; a lost reply or a 5xx may hide a success.
    pub fn maybe_applied(self) -> bool {
        !matches!(self, Self::RateLimited)
    }
}

/// What the engine does with an outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    /// 2xx: done (for a send, 200 is the idempotent replay of an earlier success).
    Success,
    /// 404 where the desired end state already holds: removing a reaction that does not
    /// exist, deleting a message that is gone. Counts as completed.
    AlreadyDone,
    /// Transient: retry after backoff (at least `retry_after` when the server asked).
    Retry {
        /// Why.
        kind: RetryKind,
        /// The server's minimum wait (`Retry-After` or `retry_after_secs`, the larger).
        retry_after: Option<Duration>,
    },
    /// 401 (`unauthorized`/`token_expired`): pause the whole outbox until a fresh token.
    Auth,
    /// Any other answer: retrying it unchanged cannot succeed.
    Permanent(Failure),
}

/// Classifies `outcome` of the request made for `op`.
pub fn classify(op: &OutboxOp, outcome: &ApiOutcome) -> Class {
    match outcome {
        ApiOutcome::Ok { status, .. } => classify_http(op, *status, None, None),
        ApiOutcome::HttpError {
            status,
            body,
            retry_after,
        } => classify_http(op, *status, body.as_ref(), *retry_after),
        ApiOutcome::Network(_) => Class::Retry {
            kind: RetryKind::Network,
            retry_after: None,
        },
    }
}

fn classify_http(
    op: &OutboxOp,
    status: u16,
    body: Option<&ErrorBody>,
    retry_after: Option<Duration>,
) -> Class {
    let code = body.map(|b| b.code);
    if (200..300).contains(&status) {
        return Class::Success;
    }
    if status == 401
        || matches!(
            code,
            Some(ErrorCode::Unauthorized | ErrorCode::TokenExpired)
        )
    {
        return Class::Auth;
    }
    let body_wait = body
        .and_then(|b| b.retry_after_secs)
        .map(Duration::from_secs);
    let retry_after = retry_after.max(body_wait);
    let retry = |kind| Class::Retry { kind, retry_after };
    if status == 429 || code == Some(ErrorCode::RateLimited) {
        return retry(RetryKind::RateLimited);
    }
    if status == 408 {
        return retry(RetryKind::Timeout);
    }
    if status >= 500 {
        return retry(RetryKind::ServerError);
    }
    if status == 404
        && matches!(
            op,
            OutboxOp::RemoveReaction { .. }
                | OutboxOp::DeleteMessage { .. }
                | OutboxOp::RemoveMember { .. }
                | OutboxOp::DeleteChannel { .. }
        )
    {
        return Class::AlreadyDone;
    }
    Class::Permanent(Failure {
        reason: describe(op, status, body),
        code,
        status,
    })
}

fn describe(op: &OutboxOp, status: u16, body: Option<&ErrorBody>) -> String {
    if let (OutboxOp::SendMessage { request, .. }, 409) = (op, status) {
        return format!(
            "message id {} is already used by a different message (409 conflict); \
             the send cannot succeed under this id",
            request.id
        );
    }
    match body {
        Some(body) => format!("{} (HTTP {status})", body.message),
        None => format!("the server answered HTTP {status}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::*;
    use super::*;

    #[test]
    fn auth_codes_pause_even_with_odd_status() {
        let odd = ApiOutcome::HttpError {
            status: 403,
            body: Some(ErrorBody::new(ErrorCode::TokenExpired, "m")),
            retry_after: None,
        };
        assert_eq!(classify(&send_op("messaging:a", 1, "x"), &odd), Class::Auth);
    }

    #[test]
    fn retry_after_takes_the_larger_hint() {
        let mut body = ErrorBody::new(ErrorCode::RateLimited, "slow down");
        body.retry_after_secs = Some(3);
        let outcome = ApiOutcome::HttpError {
            status: 429,
            body: Some(body),
            retry_after: Some(Duration::from_secs(1)),
        };
        assert_eq!(
            classify(&send_op("messaging:a", 1, "x"), &outcome),
            Class::Retry {
                kind: RetryKind::RateLimited,
                retry_after: Some(Duration::from_secs(3))
            }
        );
    }

    #[test]
    fn every_kind_of_outcome_is_classified() {
        let send = send_op("messaging:a", 1, "x");
        let delete = delete_op("messaging:a", 1);
        let unreact = reaction(false, "messaging:a", 1, "like");
        let react = reaction(true, "messaging:a", 1, "like");
        let permanent = |c: &Class| matches!(c, Class::Permanent(_));
        let retry =
            |k: RetryKind| move |c: &Class| matches!(c, Class::Retry { kind, .. } if *kind == k);
        for status in [200, 201, 204] {
            let outcome = ApiOutcome::Ok {
                status,
                body: json!(null),
            };
            assert_eq!(
                classify(&send, &outcome),
                Class::Success,
                "{status} (200 = replay)"
            );
        }
        assert!(retry(RetryKind::Network)(&classify(&send, &net())));
        for code in [ErrorCode::Unauthorized, ErrorCode::TokenExpired] {
            assert_eq!(classify(&send, &http(code)), Class::Auth);
        }
        assert!(retry(RetryKind::RateLimited)(&classify(
            &send,
            &http(ErrorCode::RateLimited)
        )));
        assert!(retry(RetryKind::ServerError)(&classify(
            &send,
            &http(ErrorCode::Internal)
        )));
        assert!(retry(RetryKind::ServerError)(&classify(
            &send,
            &http(ErrorCode::Unknown)
        )));
        for status in [502, 503, 504] {
            let outcome = ApiOutcome::HttpError {
                status,
                body: None,
                retry_after: None,
            };
            assert!(retry(RetryKind::ServerError)(&classify(&send, &outcome)));
        }
        let timeout = ApiOutcome::HttpError {
            status: 408,
            body: None,
            retry_after: None,
        };
        assert!(retry(RetryKind::Timeout)(&classify(&send, &timeout)));
        for code in [
            ErrorCode::InvalidJson,
            ErrorCode::ValidationFailed,
            ErrorCode::Forbidden,
            ErrorCode::NotAMember,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::Conflict,
            ErrorCode::CursorExpired,
            ErrorCode::PayloadTooLarge,
            ErrorCode::UnsupportedMediaType,
        ] {
            for op in [&send, &react] {
                let class = classify(op, &http(code));
                assert!(permanent(&class), "{code:?} on {op:?}: {class:?}");
                let Class::Permanent(f) = class else {
                    unreachable!()
                };
                assert_eq!((f.code, f.status), (Some(code), code.http_status()));
            }
        }
        let Class::Permanent(conflict) = classify(&send, &http(ErrorCode::Conflict)) else {
            panic!()
        };
        assert!(
            conflict.reason.contains("already used"),
            "{}",
            conflict.reason
        );
        // Removals whose goal already holds.
        assert_eq!(
            classify(&unreact, &http(ErrorCode::NotFound)),
            Class::AlreadyDone
        );
        assert_eq!(
            classify(&delete, &http(ErrorCode::NotFound)),
            Class::AlreadyDone
        );
        // A star or unstar of a message the user cannot see (404) or may not touch (403)
        // is refused, not retried; both are idempotent, so a 5xx or lost reply retries.
        for op in [star(true, "messaging:a", 1), star(false, "messaging:a", 1)] {
            for code in [
                ErrorCode::NotFound,
                ErrorCode::Forbidden,
                ErrorCode::NotAMember,
            ] {
                assert!(permanent(&classify(&op, &http(code))), "{code:?} on {op:?}");
            }
            assert!(retry(RetryKind::ServerError)(&classify(
                &op,
                &http(ErrorCode::Internal)
            )));
            assert!(retry(RetryKind::Network)(&classify(&op, &net())));
        }
        // Unknown 4xx without a body: permanent, classified by status.
        let teapot = ApiOutcome::HttpError {
            status: 418,
            body: None,
            retry_after: None,
        };
        assert!(permanent(&classify(&send, &teapot)));
    }
}
