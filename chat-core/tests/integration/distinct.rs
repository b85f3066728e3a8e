//! Conversations from the SDK against the real chat-server: a distinct conversation opened
//! offline has the cid the server derives, its create and first message are delivered once
//! after reconnecting, and the other member opening it gets the same cid; an explicit-id
//! create whose id someone else took fails as an outbox item (409), not into their channel.

use std::time::Duration;

use crate::support::client::*;
use chat_core::client::{ChatClient, NewMessage};
use chat_core::outbox::ItemState;
use chat_protocol::{ChannelType, Cid, CreateChannelRequest, MessagesResponse};
use chat_test::TestServer;

async fn setup(users: &[&str]) -> (TestServer, chat_protocol::AppCredentials) {
    let t = TestServer::start_unthrottled().await;
    let app = t.app_with_users(users).await;
    (t, app)
}

/// Waits (at most 20 s) until the client's outbox satisfies `pred`.
async fn until_outbox(
    client: &ChatClient,
    what: &str,
    pred: impl Fn(&[chat_core::client::OutboxItem]) -> bool,
) -> Vec<chat_core::client::OutboxItem> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let items = client.outbox().await.unwrap();
        if pred(&items) {
            return items;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {items:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_offline_distinct_conversation_is_created_once_with_one_cid_for_both_members() {
    let (t, app) = setup(&["alice", "bob"]).await;
    let net = FaultyTransport::new(&t.server.base_url());
    net.set_offline(true);
    let alice = client(&t, &app, "alice", None, net.clone()).await;
    let members = vec!["bob".to_owned()];
    let cid = alice
        .open_distinct_channel(ChannelType::Messaging, members, Some("Bob".into()))
        .await
        .unwrap();
    assert_eq!(
        cid,
        Cid::distinct(ChannelType::Messaging, "bob", &["alice"])
    );
    assert!(cid.id().starts_with("!members-"));
    let id = alice
        .send_message(&cid, NewMessage::text("hi bob"))
        .await
        .unwrap();
    // Opening it again (any order, self included) is the same conversation.
    let again = alice
        .open_distinct_channel(
            ChannelType::Messaging,
            vec!["alice".into(), "bob".into()],
            None,
        )
        .await
        .unwrap();
    assert_eq!(again, cid);
    // A distinct request naming another id is refused before it is queued.
    let mut forged = CreateChannelRequest::distinct(ChannelType::Messaging, vec!["bob".into()]);
    forged.id = Some("alice-bob".into());
    assert!(alice.create_channel(forged).await.is_err());

    // Back online, with the first create's reply lost: the retry opens the same channel.
    net.lose_replies
        .store(1, std::sync::atomic::Ordering::SeqCst);
    net.set_offline(false);
    alice.network_available().await.unwrap();
    flushed(&alice).await;

    let bob = client(
        &t,
        &app,
        "bob",
        None,
        FaultyTransport::new(&t.server.base_url()),
    )
    .await;
    let bob_cid = bob
        .open_distinct_channel(ChannelType::Messaging, vec!["alice".into()], None)
        .await
        .unwrap();
    assert_eq!(bob_cid, cid, "both members derive the same cid");
    flushed(&bob).await;
    bob.sync().await.unwrap();
    let mut window = bob.messages(&cid, 20).await.unwrap();
    until_window(&mut window, "alice's message", |items| {
        items.len() == 1 && items[0].message.id == id
    })
    .await;

    let path = format!("/v1/channels/messaging/{}/messages", cid.id());
    let server = t.user(&app, "bob").fetch::<MessagesResponse>(&path).await;
    let ids: Vec<_> = server.messages.iter().map(|m| m.id).collect();
    assert_eq!(ids, [id], "delivered exactly once");
    let (_, state) = t
        .user(&app, "bob")
        .get(&format!("/v1/channels/messaging/{}", cid.id()))
        .await;
    assert_eq!(state["channel"]["distinct"], true);
    assert_eq!(state["channel"]["member_count"], 2);
    alice.shutdown().await;
    bob.shutdown().await;
}

#[tokio::test]
async fn a_create_of_an_id_someone_else_took_fails_as_an_outbox_item() {
    let (t, app) = setup(&["alice", "bob", "mallory"]).await;
    t.user(&app, "mallory")
        .create_channel("messaging:alice-bob", &["alice", "bob"])
        .await;
    let alice = client(
        &t,
        &app,
        "alice",
        None,
        FaultyTransport::new(&t.server.base_url()),
    )
    .await;
    let request = CreateChannelRequest {
        id: Some("alice-bob".into()),
        members: vec!["bob".into()],
        ..CreateChannelRequest::new(ChannelType::Messaging)
    };
    let cid = alice.create_channel(request).await.unwrap();
    let items = until_outbox(&alice, "the create to fail", |items| {
        items
            .iter()
            .any(|i| matches!(i.state, ItemState::Failed(_)))
    })
    .await;
    match &items[0].state {
        ItemState::Failed(failure) => {
            assert_eq!(failure.status, 409, "{failure:?}");
            assert!(failure.reason.contains("already exists"), "{failure:?}");
        }
        other => panic!("expected a failed create, got {other:?}"),
    }
    assert_eq!(cid.to_string(), "messaging:alice-bob");
    alice.shutdown().await;
}
