//! Unit tests of the coalescing rules (`coalesce.rs`) and of `enqueue`'s validation,
//! through the public API.

use chat_protocol::limits::{LimitError, MAX_TEXT_CHARS};
use chat_protocol::{ChannelType, CreateChannelRequest, UpdateMessageRequest};
use serde_json::json;

use super::test_support::*;
use super::*;

#[test]
fn enqueue_rejects_what_the_engine_cannot_key_or_path() {
    let mut ob = outbox();
    let mismatch = ob.enqueue(op_id(2), send_op("messaging:a", 1, "x"));
    assert!(matches!(mismatch, Err(OutboxError::SendIdMismatch { .. })));
    let create = CreateChannelRequest {
        kind: ChannelType::Team,
        id: None,
        name: None,
        image: None,
        members: vec![],
        config: None,
        created_by: None,
        distinct: false,
    };
    let bad_member = CreateChannelRequest {
        id: Some("crew".into()),
        members: vec!["bob".into(), "a/b".into()],
        ..create.clone()
    };
    let no_id = ob.enqueue(op_id(3), OutboxOp::CreateChannel { request: create });
    assert_eq!(no_id, Err(OutboxError::MissingChannelId));
    let refused = ob.enqueue(
        op_id(3),
        OutboxOp::CreateChannel {
            request: bad_member,
        },
    );
    assert!(matches!(
        refused,
        Err(OutboxError::Content(LimitError::InvalidMember {
            index: 1,
            ..
        }))
    ));
    let bad_kind = ob.enqueue(op_id(4), reaction(true, "messaging:a", 1, "a/b"));
    assert!(matches!(
        bad_kind,
        Err(OutboxError::Content(LimitError::ReactionType(_)))
    ));
    // Content limits are the protocol's (the server's own checks), for sends and edits.
    let mut long = send_op("messaging:a", 5, "x");
    if let OutboxOp::SendMessage { request, .. } = &mut long {
        request.text = "x".repeat(MAX_TEXT_CHARS + 1);
    }
    assert_eq!(
        ob.enqueue(op_id(5), long),
        Err(OutboxError::Content(LimitError::TextTooLong {
            chars: MAX_TEXT_CHARS + 1
        }))
    );
    let bad_edit = OutboxOp::EditMessage {
        cid: cid("messaging:a"),
        id: op_id(1).0,
        request: UpdateMessageRequest {
            attachments: Some(vec![json!("not an object")]),
            ..UpdateMessageRequest::default()
        },
    };
    assert_eq!(
        ob.enqueue(op_id(6), bad_edit),
        Err(OutboxError::Content(LimitError::AttachmentNotObject {
            index: 0
        }))
    );
    send(&mut ob, "messaging:a", 1);
    let dup = ob.enqueue(op_id(1), send_op("messaging:a", 1, "again"));
    assert_eq!(dup, Err(OutboxError::DuplicateOpId(op_id(1))));
    assert_eq!(ob.len(), 1);
}

#[test]
fn edit_of_a_pending_send_merges_into_it() {
    let mut ob = outbox();
    let s = send(&mut ob, "messaging:a", 1);
    let edit = OutboxOp::EditMessage {
        cid: cid("messaging:a"),
        id: v7(1),
        request: UpdateMessageRequest {
            text: Some("fixed".into()),
            attachments: Some(vec![json!({"type": "image"})]),
            mentioned_users: Some(vec!["bob".into()]),
        },
    };
    let r = ob.enqueue(op_id(100), edit).unwrap();
    assert!(!r.queued && r.merged_into == Some(s) && r.cancelled.is_empty());
    assert_eq!(ob.len(), 1);
    let effects = ob.poll(T0);
    let Some(Effect::Send { request, .. }) = effects.last() else {
        panic!()
    };
    let body = request.body.as_ref().unwrap();
    assert_eq!(body["text"], "fixed");
    assert_eq!(body["attachments"], json!([{"type": "image"}]));
    assert_eq!(body["mentioned_users"], json!(["bob"]));
}

#[test]
fn edit_or_delete_after_the_send_left_is_queued_behind_it() {
    let mut ob = outbox();
    let s = send(&mut ob, "messaging:a", 1);
    assert_eq!(sent(&ob.poll(T0)), vec![s]);
    let r = ob
        .enqueue(op_id(100), edit_op("messaging:a", 1, "v2"))
        .unwrap();
    assert!(r.queued && r.merged_into.is_none());
    // The reply is lost: the server may have the message, so nothing may fold into it.
    ob.on_result(s, net(), T0).unwrap();
    let r = ob
        .enqueue(op_id(101), edit_op("messaging:a", 1, "v3"))
        .unwrap();
    assert!(
        r.queued && r.merged_into.is_none(),
        "no merge into a maybe-applied send"
    );
    let del = delete_op("messaging:a", 1);
    let r = ob.enqueue(op_id(102), del).unwrap();
    assert!(r.queued, "the delete must follow the send");
    assert_eq!(
        r.cancelled,
        vec![op_id(100), op_id(101)],
        "the delete supersedes the edits"
    );
    ob.on_connectivity_restored();
    assert_eq!(sent(&ob.poll(T0)), vec![s], "the same send is resent first");
    ob.on_result(
        s,
        ApiOutcome::Ok {
            status: 200,
            body: json!({}),
        },
        T0,
    )
    .unwrap();
    let effects = ob.poll(T0);
    let Some(Effect::Send { op_id, request }) = effects.last() else {
        panic!()
    };
    assert_eq!((*op_id, request.method), (self::op_id(102), Method::Delete));
}

#[test]
fn delete_of_a_pending_send_cancels_it_and_its_followers() {
    let mut ob = outbox();
    let before = send(&mut ob, "messaging:a", 1);
    let s = send(&mut ob, "messaging:a", 2);
    ob.enqueue(op_id(200), reaction(true, "messaging:a", 2, "like"))
        .unwrap();
    ob.enqueue(op_id(201), reaction(true, "messaging:a", 2, "love"))
        .unwrap();
    let after = send(&mut ob, "messaging:a", 3);
    let del = delete_op("messaging:a", 2);
    let r = ob.enqueue(op_id(202), del).unwrap();
    assert!(!r.queued);
    assert_eq!(r.cancelled, vec![s, op_id(200), op_id(201)]);
    let ids: Vec<OpId> = ob.items().iter().map(|i| i.op_id).collect();
    assert_eq!(ids, vec![before, after]);
}

#[test]
fn delete_of_a_pending_send_that_a_reply_quotes_is_queued() {
    let mut ob = outbox();
    let root = send(&mut ob, "messaging:a", 1);
    let mut reply = send_op("messaging:a", 2, "re");
    if let OutboxOp::SendMessage { request, .. } = &mut reply {
        request.parent_id = Some(v7(1));
    }
    ob.enqueue(op_id(2), reply).unwrap();
    let del = delete_op("messaging:a", 1);
    let r = ob.enqueue(op_id(3), del).unwrap();
    assert!(
        r.queued && r.cancelled.is_empty(),
        "the reply needs its root to exist"
    );
    assert_eq!(sent(&ob.poll(T0)), vec![root]);
}

#[test]
fn opposite_reaction_changes_cancel_out_unless_one_may_be_applied() {
    let mut ob = outbox();
    let (add, remove) = (op_id(10), op_id(11));
    ob.enqueue(add, reaction(true, "messaging:a", 1, "like"))
        .unwrap();
    let r = ob
        .enqueue(remove, reaction(false, "messaging:a", 1, "like"))
        .unwrap();
    assert_eq!((r.queued, r.cancelled), (false, vec![add]));
    assert!(ob.is_empty());

    // Remove, then add back: both vanish too.
    ob.enqueue(op_id(12), reaction(false, "messaging:a", 1, "like"))
        .unwrap();
    let r = ob
        .enqueue(op_id(13), reaction(true, "messaging:a", 1, "like"))
        .unwrap();
    assert_eq!((r.queued, r.cancelled), (false, vec![op_id(12)]));

    // A different type or message is independent; a repeat folds into the queued one.
    ob.enqueue(op_id(14), reaction(true, "messaging:a", 1, "like"))
        .unwrap();
    assert!(
        ob.enqueue(op_id(15), reaction(true, "messaging:a", 1, "love"))
            .unwrap()
            .queued
    );
    let r = ob
        .enqueue(op_id(16), reaction(true, "messaging:a", 1, "like"))
        .unwrap();
    assert_eq!((r.queued, r.merged_into), (false, Some(op_id(14))));

    // Once the add is in flight, the removal must be queued after it.
    assert_eq!(sent(&ob.poll(T0)), vec![op_id(14)]);
    let r = ob
        .enqueue(op_id(17), reaction(false, "messaging:a", 1, "like"))
        .unwrap();
    assert!(r.queued && r.cancelled.is_empty());
    assert_eq!(ob.len(), 3);
}

#[test]
fn star_then_unstar_sends_nothing_unless_one_may_be_applied() {
    let c = "messaging:a";
    let mut ob = outbox();
    ob.enqueue(op_id(10), star(true, c, 1)).unwrap();
    let r = ob.enqueue(op_id(11), star(false, c, 1)).unwrap();
    assert_eq!((r.queued, r.cancelled), (false, vec![op_id(10)]));
    assert!(ob.is_empty(), "star then unstar offline sends nothing");

    // A repeat folds into the queued one; another message is independent; a reaction on
    // the same message is not a star.
    ob.enqueue(op_id(12), star(true, c, 1)).unwrap();
    let r = ob.enqueue(op_id(13), star(true, c, 1)).unwrap();
    assert_eq!((r.queued, r.merged_into), (false, Some(op_id(12))));
    assert!(ob.enqueue(op_id(14), star(true, c, 2)).unwrap().queued);
    assert!(
        ob.enqueue(op_id(15), reaction(false, c, 1, "like"))
            .unwrap()
            .queued
    );

    // Once the star is in flight, the unstar goes after it (the last state wins).
    assert_eq!(sent(&ob.poll(T0)), vec![op_id(12)]);
    let r = ob.enqueue(op_id(16), star(false, c, 1)).unwrap();
    assert!(r.queued && r.cancelled.is_empty());
    // ...and a star after that unstar cancels it: the in-flight star stands.
    let r = ob.enqueue(op_id(17), star(true, c, 1)).unwrap();
    assert_eq!((r.queued, r.cancelled), (false, vec![op_id(16)]));
}

#[test]
fn a_star_of_an_unsent_message_waits_for_it_and_goes_with_it() {
    let c = "messaging:a";
    let mut ob = outbox();
    let s = send(&mut ob, c, 1);
    ob.enqueue(op_id(20), star(true, c, 1)).unwrap();
    assert_eq!(
        sent(&ob.poll(T0)),
        vec![s],
        "the star waits for its message"
    );
    let mut ob = outbox();
    let s = send(&mut ob, c, 1);
    ob.enqueue(op_id(20), star(true, c, 1)).unwrap();
    let r = ob.enqueue(op_id(21), delete_op(c, 1)).unwrap();
    assert_eq!((r.queued, r.cancelled), (false, vec![s, op_id(20)]));
    assert!(ob.is_empty());
}

#[test]
fn mark_reads_collapse_to_the_newest_at_the_back() {
    let mut ob = outbox();
    let first = op_id(50);
    ob.enqueue(first, mark_read("messaging:a", None)).unwrap();
    let s = send(&mut ob, "messaging:a", 1);
    ob.enqueue(op_id(51), mark_read("messaging:b", None))
        .unwrap();
    let newest = mark_read("messaging:a", Some(1));
    let r = ob.enqueue(op_id(52), newest).unwrap();
    assert_eq!((r.queued, r.cancelled), (true, vec![first]));
    let ids: Vec<OpId> = ob.items().iter().map(|i| i.op_id).collect();
    assert_eq!(
        ids,
        vec![s, op_id(51), op_id(52)],
        "behind the message it marks"
    );
}
