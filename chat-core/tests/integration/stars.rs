//! Stars end to end against the real chat-server: a star queued offline shows at once,
//! survives a restart, is delivered once and reaches the user's other device through
//! sync; star-then-unstar offline sends nothing; a refused star reverts and is not
//! retried; the starred list holds stars of messages older than the cached window and
//! grows page by page.

use std::sync::Arc;

use chat_core::client::{ChatClient, NewMessage};
use chat_core::live::{LiveList, MessageItem};
use chat_protocol::{AppCredentials, StarredResponse};
use chat_test::{TestServer, cid};
use uuid::Uuid;

use crate::support::client::*;

async fn setup() -> (TestServer, AppCredentials) {
    let t = TestServer::start_unthrottled().await;
    let app = t.app_with_users(&["alice", "carol"]).await;
    t.user(&app, "carol")
        .create_channel("team:general", &["alice", "carol"])
        .await;
    (t, app)
}

/// The server with carol's one message `m1`, and alice's synced in-memory client.
async fn one_message() -> (
    TestServer,
    AppCredentials,
    Uuid,
    Arc<FaultyTransport>,
    ChatClient,
) {
    let (t, app) = setup().await;
    let m1 = carol_sends(&t, &app, 1).await[0];
    let net = FaultyTransport::new(&t.server.base_url());
    let alice = client(&t, &app, "alice", None, net.clone()).await;
    alice.sync().await.unwrap();
    (t, app, m1, net, alice)
}

/// What the server lists as alice's stars, newest first.
async fn server_stars(t: &TestServer, app: &AppCredentials) -> Vec<Uuid> {
    let page: StarredResponse = t.user(app, "alice").fetch("/v1/starred?limit=200").await;
    page.messages.iter().map(|m| m.id).collect()
}

fn ids(items: &[MessageItem]) -> Vec<Uuid> {
    items.iter().map(|m| m.message.id).collect()
}

async fn starred_list(client: &ChatClient, page: u32) -> LiveList<MessageItem> {
    let mut list = client.starred(page).await.unwrap().into_list();
    list.next().await.unwrap();
    list
}

#[tokio::test]
async fn a_star_queued_offline_survives_a_restart_lands_once_and_reaches_another_device() {
    let (t, app) = setup().await;
    let m1 = carol_sends(&t, &app, 1).await[0];
    let dir = tempfile::tempdir().unwrap();
    let net = FaultyTransport::new(&t.server.base_url());
    let c = cid("team:general");
    {
        let alice = client(&t, &app, "alice", Some(dir.path()), net.clone()).await;
        alice.sync().await.unwrap();
        net.set_offline(true);
        let mut window = alice.messages(&c, 20).await.unwrap();
        window.next().await.unwrap();
        assert!(!window.items()[0].starred);
        alice.star_message(m1).await.unwrap();
        window.drain();
        assert!(window.items()[0].starred, "starred at once, offline");
        let list = starred_list(&alice, 10).await;
        assert_eq!(ids(list.items()), [m1], "listed at once, offline");
        alice.shutdown().await;
    }
    assert!(server_stars(&t, &app).await.is_empty());

    // Restarted, still offline: the queued star is shown from the restored outbox.
    let alice = client(&t, &app, "alice", Some(dir.path()), net.clone()).await;
    let mut window = alice.messages(&c, 20).await.unwrap();
    window.next().await.unwrap();
    assert!(
        window.items()[0].starred,
        "the queued star survives a restart"
    );
    net.set_offline(false);
    alice.network_available().await.unwrap();
    flushed(&alice).await;
    assert_eq!(server_stars(&t, &app).await, [m1]);
    let star = format!("Post /v1/messages/{m1}/star");
    assert_eq!(net.count(&star), 1, "{:?}", net.log.lock().unwrap());
    assert!(window.items()[0].starred, "still starred once confirmed");

    // Alice's other device learns it through sync.
    let other_net = FaultyTransport::new(&t.server.base_url());
    let phone = client(&t, &app, "alice", None, other_net).await;
    phone.sync().await.unwrap();
    let mut phone_window = phone.messages(&c, 20).await.unwrap();
    until_window(&mut phone_window, "starred on the phone", |items| {
        items.len() == 1 && items[0].starred
    })
    .await;
    let mut phone_list = starred_list(&phone, 10).await;
    until(&mut phone_list, "listed on the phone", |items| {
        ids(items) == [m1]
    })
    .await;

    // Unstarred on the first device: gone there at once, on the server, then on the phone.
    alice.unstar_message(m1).await.unwrap();
    window.drain();
    assert!(!window.items()[0].starred, "unstarred at once");
    flushed(&alice).await;
    assert!(server_stars(&t, &app).await.is_empty());
    phone.sync().await.unwrap();
    until(&mut phone_list, "unlisted on the phone", |items| {
        items.is_empty()
    })
    .await;
    until_window(&mut phone_window, "unstarred on the phone", |items| {
        !items[0].starred
    })
    .await;
    alice.shutdown().await;
    phone.shutdown().await;
}

#[tokio::test]
async fn star_then_unstar_offline_sends_nothing() {
    let (t, app, m1, net, alice) = one_message().await;
    net.set_offline(true);
    // Offline, the channel's queue waits behind a send that could not leave: the star
    // waits too, and the unstar cancels it.
    let before = alice
        .send_message(&cid("team:general"), NewMessage::text("before"))
        .await
        .unwrap();
    alice.star_message(m1).await.unwrap();
    alice.unstar_message(m1).await.unwrap();
    let left: Vec<_> = alice
        .outbox()
        .await
        .unwrap()
        .iter()
        .map(|i| i.op_id.0)
        .collect();
    assert_eq!(left, [before], "only the send is left to go");
    net.set_offline(false);
    alice.network_available().await.unwrap();
    flushed(&alice).await;
    assert_eq!(net.count(&format!("Post /v1/messages/{m1}/star")), 0);
    assert_eq!(
        net.count(&format!("offline Post /v1/messages/{m1}/star")),
        0
    );
    assert_eq!(net.count(&format!("Delete /v1/messages/{m1}/star")), 0);
    assert!(server_stars(&t, &app).await.is_empty());
    alice.shutdown().await;
}

#[tokio::test]
async fn a_refused_star_reverts_and_is_not_retried() {
    let (t, app, m1, net, alice) = one_message().await;
    // Carol removes alice behind her cache's back (no realtime here: the cache keeps the
    // message until a sync): the server no longer shows her m1.
    let (status, body) = t
        .user(&app, "carol")
        .delete("/v1/channels/team/general/members/alice")
        .await;
    assert!(status.is_success(), "{body}");
    let mut list = starred_list(&alice, 10).await;
    alice.star_message(m1).await.unwrap();
    list.drain();
    assert_eq!(ids(list.items()), [m1], "shown at once");
    until(&mut list, "the refused star reverted", |items| {
        items.is_empty()
    })
    .await;
    flushed(&alice).await;
    assert_eq!(
        net.count(&format!("Post /v1/messages/{m1}/star")),
        1,
        "not retried"
    );
    alice.shutdown().await;
}

#[tokio::test]
async fn stars_older_than_the_window_are_listed_and_paged() {
    let (t, app) = setup().await;
    let sent = carol_sends(&t, &app, 60).await;
    let api = t.user(&app, "alice");
    // Alice starred the three oldest (outside any 50-message window) and the newest.
    for id in [sent[0], sent[1], sent[2], sent[59]] {
        let (status, body) = api
            .post(&format!("/v1/messages/{id}/star"), serde_json::json!({}))
            .await;
        assert!(status.is_success(), "{body}");
    }
    let net = FaultyTransport::new(&t.server.base_url());
    let alice = client(&t, &app, "alice", None, net.clone()).await;
    alice.sync().await.unwrap();
    let c = cid("team:general");
    let mut window = alice.messages(&c, 100).await.unwrap();
    window.next().await.unwrap();
    let held = ids(window.items());
    assert!(
        !held.contains(&sent[0]),
        "the oldest messages are outside the window"
    );
    assert!(window.items().last().unwrap().starred);

    let starred = alice.starred(2).await.unwrap();
    let control = starred.control();
    let mut list = starred.into_list();
    until(&mut list, "the newest starred page", |items| {
        ids(items) == [sent[59], sent[2]]
    })
    .await;
    assert!(list.items().iter().all(|m| m.starred));
    assert!(
        !control.load_more().await.unwrap(),
        "the rest fit in one more page"
    );
    until(&mut list, "every star", |items| {
        ids(items) == [sent[59], sent[2], sent[1], sent[0]]
    })
    .await;
    // The copies never joined the channel's window.
    let mut fresh = alice.messages(&c, 100).await.unwrap();
    fresh.next().await.unwrap();
    assert_eq!(ids(fresh.items()), held);

    // Starred elsewhere (another device, over REST): the list learns it with the next sync,
    // though the cache holds no copy of the message.
    let (status, body) = api
        .post(
            &format!("/v1/messages/{}/star", sent[3]),
            serde_json::json!({}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    alice.sync().await.unwrap();
    until(
        &mut list,
        "the star made elsewhere (the list shows 4)",
        |items| ids(items) == [sent[59], sent[3], sent[2], sent[1]],
    )
    .await;

    // Unstarring an old one from the list: gone at once, and on the server.
    alice.unstar_message(sent[1]).await.unwrap();
    list.drain();
    assert_eq!(ids(list.items()), [sent[59], sent[3], sent[2], sent[0]]);
    flushed(&alice).await;
    assert_eq!(
        server_stars(&t, &app).await,
        [sent[59], sent[3], sent[2], sent[0]]
    );
    alice.shutdown().await;
}
