//! Quote-reply previews end to end against the real chat-server: a quote of a message
//! older than the cache holds is fetched once and then follows the quoted message's edit
//! and delete; a quote-reply sent offline shows its preview at once, and the preview
//! follows a local edit of the quoted message before the server has it.

use chat_core::client::NewMessage;
use chat_core::live::{MessageItem, QuotedPreview};
use chat_protocol::UpdateMessageRequest;
use chat_test::{cid, new_id};
use serde_json::json;
use uuid::Uuid;

use crate::support::client::*;

/// The preview's text and deleted flag, when the quoted message is known.
fn shown(item: &MessageItem) -> Option<(String, bool)> {
    match item.quoted.as_ref()? {
        QuotedPreview::Message { text, deleted, .. } => Some((text.clone(), *deleted)),
        _ => None,
    }
}

#[tokio::test]
async fn a_quote_older_than_the_cache_is_fetched_once_and_follows_edits_and_deletes() {
    let t = chat_test::TestServer::start_unthrottled().await;
    let app = t.app_with_users(&["alice", "carol"]).await;
    let carol = t.user(&app, "carol");
    carol
        .create_channel("team:general", &["alice", "carol"])
        .await;
    let original = carol.send_text("team:general", "the original", None).await;
    let original: Uuid = original["id"].as_str().unwrap().parse().unwrap();
    // More changes than the limited threshold (200): a new device gets the newest 50.
    for batch in 0..3 {
        let messages: Vec<_> = (0..100)
            .map(|i| json!({"id": new_id(), "text": format!("filler {batch}.{i}")}))
            .collect();
        let (status, body) = carol
            .post(
                "/v1/channels/team/general/messages/batch",
                json!({ "messages": messages }),
            )
            .await;
        assert!(status.is_success(), "{status} {body}");
    }
    let (status, body) = carol
        .post(
            "/v1/channels/team/general/messages",
            json!({"id": new_id(), "text": "about that", "quoted_message_id": original}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");

    let net = FaultyTransport::new(&t.server.base_url());
    let alice = client(&t, &app, "alice", None, net.clone()).await;
    alice.sync().await.unwrap();
    let c = cid("team:general");
    let mut window = alice.messages(&c, 20).await.unwrap();
    until_window(&mut window, "the quoted message fetched", |items| {
        items.last().and_then(shown) == Some(("the original".into(), false))
    })
    .await;
    let fetch = format!("Get /v1/messages/{original}");
    assert_eq!(net.count(&fetch), 1, "{:?}", net.log.lock().unwrap());

    // The quoted message (outside the cache's window) is edited, then deleted: the
    // preview follows through sync, without another fetch.
    let path = format!("/v1/messages/{original}");
    let (status, _) = carol
        .patch(&path, json!({"text": "the original, edited"}))
        .await;
    assert!(status.is_success());
    alice.sync().await.unwrap();
    until_window(&mut window, "the edit in the preview", |items| {
        items.last().and_then(shown) == Some(("the original, edited".into(), false))
    })
    .await;
    let (status, _) = carol.delete(&path).await;
    assert!(status.is_success());
    alice.sync().await.unwrap();
    until_window(&mut window, "the delete in the preview", |items| {
        items.last().and_then(shown) == Some((String::new(), true))
    })
    .await;
    assert_eq!(net.count(&fetch), 1, "fetched once");

    // A restarted list finds the copy in the cache: still no second fetch.
    drop(window);
    let mut again = alice.messages(&c, 20).await.unwrap();
    again.next().await.unwrap();
    assert_eq!(
        again.items().last().and_then(shown),
        Some((String::new(), true))
    );
    assert_eq!(net.count(&fetch), 1, "the copy is kept");
    alice.shutdown().await;
}

#[tokio::test]
async fn an_offline_quote_reply_shows_its_preview_at_once_and_follows_a_local_edit() {
    let t = chat_test::TestServer::start_unthrottled().await;
    let app = t.app_with_users(&["alice", "carol"]).await;
    t.user(&app, "carol")
        .create_channel("team:general", &["alice", "carol"])
        .await;
    let net = FaultyTransport::new(&t.server.base_url());
    let alice = client(&t, &app, "alice", None, net.clone()).await;
    let c = cid("team:general");
    let mine = alice
        .send_message(&c, NewMessage::text("my first take"))
        .await
        .unwrap();
    flushed(&alice).await;
    alice.sync().await.unwrap();

    net.set_offline(true);
    let mut window = alice.messages(&c, 20).await.unwrap();
    window.next().await.unwrap();
    alice
        .send_message(&c, NewMessage::text("correcting myself").quoting(mine))
        .await
        .unwrap();
    window.drain();
    assert_eq!(
        window.items().last().and_then(shown),
        Some(("my first take".into(), false)),
        "shown at once, offline"
    );
    let edit = UpdateMessageRequest {
        text: Some("my second take".into()),
        attachments: None,
        mentioned_users: None,
    };
    alice.edit_message(mine, edit).await.unwrap();
    window.drain();
    assert_eq!(
        window.items().last().and_then(shown),
        Some(("my second take".into(), false)),
        "the queued edit shows in the preview"
    );
    assert_eq!(net.count("Get /v1/messages/"), 0, "nothing fetched");

    net.set_offline(false);
    alice.network_available().await.unwrap();
    flushed(&alice).await;
    alice.sync().await.unwrap();
    until_window(&mut window, "delivered with its preview", |items| {
        items.last().is_some_and(|i| i.state.is_settled())
            && items.last().and_then(shown) == Some(("my second take".into(), false))
    })
    .await;
    alice.shutdown().await;
}
