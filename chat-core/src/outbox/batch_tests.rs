//! Batch sends: what joins a batch, and each item answered as if sent alone.

use chat_protocol::limits::MAX_SEND_BATCH_BYTES;
use chat_protocol::{ErrorBody, ErrorCode, SendMessageRequest};
use serde_json::{Value, json};

use super::test_support::*;
use super::{ApiOutcome, Effect, ItemState, OpId, Outbox, OutboxConfig, OutboxOp};
use crate::clock::Millis;

const T0: Millis = Millis(1_000);

/// The batches among `effects`: their ids and the messages' ids in the request body.
fn batches(effects: &[Effect]) -> Vec<Vec<OpId>> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::SendBatch { op_ids, request } => {
                let body = request.body.as_ref().expect("a body");
                let ids: Vec<String> = body["messages"]
                    .as_array()
                    .expect("messages")
                    .iter()
                    .map(|m| m["id"].as_str().unwrap().to_owned())
                    .collect();
                let expected: Vec<String> = op_ids.iter().map(|id| id.to_string()).collect();
                assert_eq!(ids, expected, "the body holds the items in order");
                assert!(
                    request.path.ends_with("/messages/batch"),
                    "{}",
                    request.path
                );
                Some(op_ids.clone())
            }
            _ => None,
        })
        .collect()
}

fn ids(range: std::ops::RangeInclusive<u64>) -> Vec<OpId> {
    range.map(op_id).collect()
}

/// A processed batch answering each item with `statuses` (201 with its message, or an
/// error; 429s wait `retry` seconds).
fn answer(ob: &Outbox, items: &[OpId], statuses: &[u16]) -> ApiOutcome {
    let results: Vec<Value> = items
        .iter()
        .zip(statuses)
        .map(|(id, status)| match status {
            200 | 201 => {
                let Some(OutboxOp::SendMessage { request, cid }) = ob.get_op(*id) else {
                    panic!("a send");
                };
                json!({"id": id.0, "status": status, "message": message(&cid.to_string(), &request)})
            }
            429 => json!({"id": id.0, "status": 429, "error": {
                "code": "rate_limited", "message": "slow down", "retry_after_secs": 3}}),
            _ => json!({"id": id.0, "status": status,
                "error": ErrorBody::new(ErrorCode::ValidationFailed, "no")}),
        })
        .collect();
    ApiOutcome::Ok {
        status: 200,
        body: json!({ "results": results }),
    }
}

fn message(cid: &str, request: &SendMessageRequest) -> Value {
    json!({"id": request.id, "cid": cid, "user_id": "me", "text": request.text,
        "attachments": [], "parent_id": null, "quoted_message_id": null, "mentioned_users": [],
        "reaction_counts": {}, "reply_count": 0, "created_at": "2024-07-15T09:00:00.000Z",
        "updated_at": "2024-07-15T09:00:00.000Z", "edited_at": null, "deleted_at": null, "rev": 1})
}

fn completed(effects: &[Effect]) -> Vec<OpId> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Completed { op_id, body, .. } => {
                assert!(body["message"]["id"].is_string(), "the item's own message");
                Some(*op_id)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_channels_run_of_sends_goes_as_one_request_and_anything_else_ends_it() {
    let mut ob = outbox();
    for n in 1..=3 {
        send(&mut ob, "messaging:a", n);
    }
    // An edit of a message the server already has: an item of its own.
    ob.enqueue(op_id(4), edit_op("messaging:a", 99, "edited"))
        .unwrap();
    send(&mut ob, "messaging:a", 5);
    let mut reply = send_op("messaging:a", 6, "a reply to 5, still queued");
    if let OutboxOp::SendMessage { request, .. } = &mut reply {
        request.parent_id = Some(v7(5));
    }
    ob.enqueue(op_id(6), reply).unwrap();
    send(&mut ob, "messaging:b", 11);
    let effects = ob.poll(T0);
    // `a`: 1–3, and the edit ends the batch.
    assert_eq!(batches(&effects), [ids(1..=3)]);
    assert_eq!(sent(&effects), [op_id(11)], "a lone send goes alone");
    assert_eq!(ob.in_flight(), 4);
    assert_eq!(ob.requests_in_flight(), 2);
    assert!(sent(&ob.poll(T0)).is_empty() && batches(&ob.poll(T0)).is_empty());
    let done = answer(&ob, &ids(1..=3), &[201, 201, 201]);
    ob.on_batch_result(&ids(1..=3), done, T0).unwrap();
    let effects = ob.poll(T0);
    assert_eq!(completed(&effects), ids(1..=3));
    // Next the edit, alone; then 5, which its reply does not join: the reply waits for
    // its parent as it would alone.
    assert_eq!(sent(&effects), [op_id(4)]);
    let edited = ApiOutcome::Ok {
        status: 200,
        body: json!({}),
    };
    ob.on_result(op_id(4), edited, T0).unwrap();
    let effects = ob.poll(T0);
    assert_eq!(sent(&effects), [op_id(5)]);
    assert!(batches(&effects).is_empty());
}

#[test]
fn a_batch_holds_at_most_max_batch_messages_and_one_mebibyte() {
    let mut ob = Outbox::new(
        OutboxConfig {
            max_batch: 4,
            ..OutboxConfig::default()
        },
        1,
    );
    for n in 1..=10 {
        send(&mut ob, "messaging:a", n);
    }
    assert_eq!(batches(&ob.poll(T0)), [ids(1..=4)]);
    // Big messages: 5,000 four-byte characters each, so about 50 fit in 1 MiB.
    let mut ob = outbox();
    let big = "😀".repeat(5_000);
    for n in 1..=100 {
        ob.enqueue(op_id(n), send_op("messaging:a", n, &big))
            .unwrap();
    }
    let effects = ob.poll(T0);
    let Some(Effect::SendBatch { op_ids, request }) = effects.last() else {
        panic!("a batch: {effects:?}");
    };
    let bytes = serde_json::to_vec(request.body.as_ref().unwrap())
        .unwrap()
        .len();
    assert!(bytes <= MAX_SEND_BATCH_BYTES, "{bytes}");
    assert!(
        bytes + 20_100 > MAX_SEND_BATCH_BYTES,
        "as full as it can be: {bytes}"
    );
    assert!((40..60).contains(&op_ids.len()), "{}", op_ids.len());
}

#[test]
fn each_message_of_a_batch_is_answered_as_if_sent_alone() {
    let mut ob = outbox();
    for n in 1..=5 {
        send(&mut ob, "messaging:a", n);
    }
    assert_eq!(batches(&ob.poll(T0)), [ids(1..=5)]);
    // 1 created, 2 refused for good, 3 a replay, 4–5 over the rate limit.
    let outcome = answer(&ob, &ids(1..=5), &[201, 400, 200, 429, 429]);
    ob.on_batch_result(&ids(1..=5), outcome, T0).unwrap();
    let effects = ob.poll(T0);
    assert_eq!(completed(&effects), [op_id(1), op_id(3)]);
    assert!(matches!(ob.state(op_id(2)), Some(ItemState::Failed(f)) if f.status == 400));
    assert!(matches!(
        ob.state(op_id(4)),
        Some(ItemState::WaitingRetry { attempt: 1, .. })
    ));
    assert!(sent(&effects).is_empty() && batches(&effects).is_empty());
    // The tail waits for its Retry-After, then goes again as one batch; the failed item
    // does not hold the channel.
    assert!(batches(&ob.poll(Millis(T0.0 + 2_000))).is_empty());
    let later = Millis(T0.0 + 3_000 + 61_000);
    assert_eq!(batches(&ob.poll(later)), [ids(4..=5)]);
}

#[test]
fn an_answer_for_the_whole_request_is_every_messages_answer() {
    let mut ob = outbox();
    for n in 1..=3 {
        send(&mut ob, "messaging:a", n);
    }
    ob.poll(T0);
    ob.on_batch_result(&ids(1..=3), net(), T0).unwrap();
    for id in ids(1..=3) {
        assert!(matches!(
            ob.state(id),
            Some(ItemState::WaitingRetry { attempt: 1, .. })
        ));
        assert!(
            ob.persisted(id).unwrap().maybe_applied,
            "it may have reached the server"
        );
    }
    ob.on_connectivity_restored();
    let effects = ob.poll(T0);
    assert_eq!(batches(&effects), [ids(1..=3)], "retried together");
    // A 2xx that does not answer exactly these messages: applied or not, retry them all
    // (idempotent ids make the replay safe).
    let wrong = ApiOutcome::Ok {
        status: 200,
        body: json!({"results": []}),
    };
    ob.on_batch_result(&ids(1..=3), wrong, T0).unwrap();
    assert!(matches!(
        ob.state(op_id(3)),
        Some(ItemState::WaitingRetry { attempt: 2, .. })
    ));
    // 401: paused, then all of them again with the new token.
    ob.on_connectivity_restored();
    ob.poll(T0);
    ob.on_batch_result(&ids(1..=3), http(ErrorCode::TokenExpired), T0)
        .unwrap();
    let effects = ob.poll(T0);
    assert_eq!(
        effects
            .iter()
            .filter(|e| matches!(e, Effect::RefreshToken { .. }))
            .count(),
        1
    );
    ob.on_token_refreshed();
    assert_eq!(batches(&ob.poll(T0)), [ids(1..=3)]);
    // Only ids in flight are accepted, all or nothing.
    assert!(
        ob.on_batch_result(&[op_id(1), op_id(9)], net(), T0)
            .is_err()
    );
    assert_eq!(ob.in_flight(), 3);
}

#[test]
fn a_server_without_the_batch_route_gets_single_sends() {
    let mut ob = outbox();
    for n in 1..=3 {
        send(&mut ob, "messaging:a", n);
    }
    ob.poll(T0);
    let missing = ApiOutcome::HttpError {
        status: 404,
        body: Some(ErrorBody::new(ErrorCode::NotFound, "no such route")),
        retry_after: None,
    };
    ob.on_batch_result(&ids(1..=3), missing, T0).unwrap();
    for id in ids(1..=3) {
        assert_eq!(
            ob.state(id),
            Some(ItemState::Pending),
            "not failed, not counted"
        );
        assert_eq!(ob.persisted(id).unwrap().attempts, 0);
    }
    let effects = ob.poll(T0);
    assert_eq!(sent(&effects), [op_id(1)]);
    assert!(batches(&effects).is_empty());
}

#[test]
fn a_batch_too_big_for_the_server_is_halved_and_no_message_fails_for_it() {
    let mut ob = outbox();
    for n in 1..=8 {
        send(&mut ob, "messaging:a", n);
    }
    ob.poll(T0);
    ob.on_batch_result(&ids(1..=8), http(ErrorCode::PayloadTooLarge), T0)
        .unwrap();
    for id in ids(1..=8) {
        assert_eq!(ob.state(id), Some(ItemState::Pending));
    }
    assert_eq!(batches(&ob.poll(T0)), [ids(1..=4)]);
    ob.on_batch_result(&ids(1..=4), http(ErrorCode::PayloadTooLarge), T0)
        .unwrap();
    assert_eq!(batches(&ob.poll(T0)), [ids(1..=2)]);
    ob.on_batch_result(&ids(1..=2), http(ErrorCode::PayloadTooLarge), T0)
        .unwrap();
    let effects = ob.poll(T0);
    assert_eq!(
        (sent(&effects), batches(&effects)),
        (vec![op_id(1)], vec![])
    );
    // Alone, a 413 is the message's own failure.
    ob.on_result(op_id(1), http(ErrorCode::PayloadTooLarge), T0)
        .unwrap();
    assert!(matches!(ob.state(op_id(1)), Some(ItemState::Failed(f)) if f.status == 413));
}

#[test]
fn goes_at_once_predicts_exactly_what_the_next_poll_sends() {
    let mut ob = Outbox::new(
        OutboxConfig {
            max_in_flight: 2,
            ..OutboxConfig::default()
        },
        3,
    );
    let op = |c: &str, n: u64| send_op(c, n, "x");
    assert!(ob.goes_at_once(&cid("messaging:a"), &op("messaging:a", 1), T0));
    send(&mut ob, "messaging:a", 1);
    // Queued behind its channel's item: no.
    assert!(!ob.goes_at_once(&cid("messaging:a"), &op("messaging:a", 2), T0));
    // Another channel: yes while a slot is left after `a`'s due head.
    assert!(ob.goes_at_once(&cid("messaging:b"), &op("messaging:b", 3), T0));
    send(&mut ob, "messaging:b", 3);
    assert!(
        !ob.goes_at_once(&cid("messaging:c"), &op("messaging:c", 4), T0),
        "two due heads take both slots"
    );
    let effects = ob.poll(T0);
    assert_eq!(sent(&effects), [op_id(1), op_id(3)]);
    // In flight: its channel is busy, and no slot is free.
    assert!(!ob.goes_at_once(&cid("messaging:a"), &op("messaging:a", 5), T0));
    ob.on_result(
        op_id(3),
        ApiOutcome::Ok {
            status: 201,
            body: Value::Null,
        },
        T0,
    )
    .unwrap();
    ob.poll(T0);
    assert!(ob.goes_at_once(&cid("messaging:c"), &op("messaging:c", 4), T0));
    // A reply to a message still queued waits for it.
    send(&mut ob, "messaging:d", 6);
    let mut reply = op("messaging:e", 7);
    if let OutboxOp::SendMessage { request, .. } = &mut reply {
        request.quoted_message_id = Some(v7(6));
    }
    assert!(!ob.goes_at_once(&cid("messaging:e"), &reply, T0));
    // Paused for a token: nothing goes.
    ob.on_result(op_id(1), http(ErrorCode::TokenExpired), T0)
        .unwrap();
    ob.poll(T0);
    assert!(!ob.goes_at_once(&cid("messaging:f"), &op("messaging:f", 8), T0));
}
