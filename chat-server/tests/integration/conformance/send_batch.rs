//! Batch sends: every backend applies a batch in order, one message at a time exactly as a
//! single send would, and a refused message leaves no trace (nothing stored, nothing
//! published) while the others go through.

use chat_protocol::realtime::RealtimeEvent;
use chat_protocol::{Change, ListMessagesQuery, SendMessageRequest};
use chat_server::store::{Actor, StoreError};
use uuid::Uuid;

use super::{Factory, app_with_users, channel, msg, open};

/// In order, idempotent per message, refusals isolated, publications only for what was
/// stored and in the batch's order.
pub async fn batch_send_applies_in_order_and_refuses_per_message(factory: Factory) {
    let (store, rec, _g) = open(factory).await;
    let app = app_with_users(store.as_ref(), "a", &["u0", "u1", "u2"]).await;
    let cid = channel(store.as_ref(), &app.app_id, "u0", "c", &["u1"]).await;
    let taken = msg("u1's");
    store
        .send_message(&app.app_id, "u1", &cid, taken.clone(), false)
        .await
        .unwrap();
    let before = rec.seqs().len();
    let first = msg("first");
    let reply = SendMessageRequest {
        parent_id: Some(first.id),
        ..msg("a reply to the first, in the same batch")
    };
    let orphan = SendMessageRequest {
        parent_id: Some(Uuid::now_v7()),
        ..msg("a reply to nothing")
    };
    let items = vec![
        ("u0".to_owned(), first.clone()),
        ("u0".to_owned(), orphan),
        ("u0".to_owned(), reply.clone()),
        ("u0".to_owned(), taken.clone()),
        ("u0".to_owned(), first.clone()),
        ("u2".to_owned(), msg("not a member")),
        ("u0".to_owned(), msg("last")),
    ];
    let results = store
        .send_messages(&app.app_id, &cid, items, false)
        .await
        .unwrap();
    assert_eq!(results.len(), 7);
    let created: Vec<Option<bool>> = results
        .iter()
        .map(|r| r.as_ref().ok().map(|(_, c)| *c))
        .collect();
    assert_eq!(
        created,
        [
            Some(true),
            None,
            Some(true),
            None,
            Some(false),
            None,
            Some(true)
        ]
    );
    assert!(matches!(results[1], Err(StoreError::Invalid(_))));
    assert!(matches!(results[3], Err(StoreError::Conflict(_))));
    assert!(matches!(
        results[5],
        Err(StoreError::NotFound(_) | StoreError::NotAMember(_))
    ));
    let sent = |i: usize| results[i].as_ref().unwrap().0.clone();
    // A repeated id is a replay: the stored message as it is now (the reply counted).
    assert_eq!(
        (sent(4).id, sent(4).created_at),
        (first.id, sent(0).created_at)
    );
    assert_eq!(sent(4).reply_count, 1);
    assert_eq!(sent(2).parent_id, Some(first.id));
    assert!(sent(0).created_at < sent(2).created_at && sent(2).created_at < sent(6).created_at);
    // Stored: u1's message, the first, the last (top level) and the reply (in its thread).
    let page = store
        .list_messages(
            &app.app_id,
            &Actor::user("u1"),
            &cid,
            ListMessagesQuery::default(),
        )
        .await
        .unwrap();
    let texts: Vec<&str> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["u1's", "first", "last"]);
    assert_eq!(page.messages[1].reply_count, 1);
    // Published: only the stored messages' changes, in the batch's order and in seq
    // order; the refused messages' rolled-back writes publish nothing.
    let published: Vec<(u64, Option<Uuid>)> = rec.log.lock().unwrap()[before..]
        .iter()
        .filter_map(|(_, data)| match serde_json::from_str(data).ok()? {
            RealtimeEvent::Change(c) => Some((
                c.seq,
                match c.change {
                    Change::Message(m) => Some(m.id),
                    _ => None,
                },
            )),
            RealtimeEvent::Ephemeral(_) => None,
        })
        .collect();
    let seqs: Vec<u64> = published.iter().map(|(s, _)| *s).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let messages: Vec<Uuid> = published.iter().filter_map(|(_, m)| *m).collect();
    // first; the reply, then its root's new reply_count; last
    assert_eq!(messages, [first.id, reply.id, first.id, sent(6).id]);
    assert_eq!(
        published.len(),
        6,
        "each top-level send also updates its channel"
    );
}
