//! The outbox as the app watches it and as the network comes and goes, end to end against
//! the real chat-server: `ChatClient::live_outbox` shows items appear, change state and
//! leave without being polled; while the app reports the network unreachable no write
//! reaches the transport, and delivery follows reachability at once (not a backoff later).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::support::client::*;
use chat_core::backoff::BackoffConfig;
use chat_core::client::{ChatClient, NewMessage, OutboxItem};
use chat_core::outbox::{ItemState, OutboxConfig};
use chat_protocol::{AppCredentials, MessagesResponse};
use chat_test::{TestServer, cid};

/// A server with alice and carol in `team:general` (and `team:private`, carol's alone),
/// and alice's client with `outbox` settings, synced.
async fn start(
    outbox: OutboxConfig,
) -> (TestServer, AppCredentials, Arc<FaultyTransport>, ChatClient) {
    let t = TestServer::start().await;
    let app = t.app_with_users(&["alice", "carol"]).await;
    let carol = t.user(&app, "carol");
    carol
        .create_channel("team:general", &["alice", "carol"])
        .await;
    carol.create_channel("team:private", &["carol"]).await;
    let net = FaultyTransport::new(&t.server.base_url());
    let alice = client_with(&t, &app, "alice", None, net.clone(), outbox).await;
    alice.sync().await.unwrap();
    (t, app, net, alice)
}

/// The texts of `team:general` on the server, oldest first.
async fn server_texts(t: &TestServer, app: &AppCredentials) -> Vec<String> {
    let page: MessagesResponse = t
        .user(app, "carol")
        .fetch("/v1/channels/team/general/messages?limit=50")
        .await;
    page.messages.into_iter().map(|m| m.text).collect()
}

fn states(items: &[OutboxItem]) -> Vec<&ItemState> {
    items.iter().map(|i| &i.state).collect()
}

#[tokio::test]
async fn the_live_outbox_shows_items_appear_change_state_and_leave() {
    let (t, app, net, alice) = start(fast_outbox()).await;
    let mut outbox = alice.live_outbox().await.unwrap();
    assert!(outbox.current().is_empty());

    // A send over a network that drops writes: queued, then waiting to retry.
    net.fail_writes.store(true, Ordering::SeqCst);
    let general = cid("team:general");
    let id = alice
        .send_message(&general, NewMessage::text("hello"))
        .await
        .unwrap();
    // The call's change is in the value when the call returns.
    assert_eq!(outbox.current().len(), 1, "queued: shown at once");
    assert_eq!(outbox.current()[0].op_id.0, id);
    until_value(&mut outbox, "a retry wait", |items| {
        matches!(states(items)[..], [ItemState::WaitingRetry { .. }])
    })
    .await;

    // The network heals: delivered, and the item leaves.
    net.fail_writes.store(false, Ordering::SeqCst);
    alice.network_available().await.unwrap();
    until_value(&mut outbox, "the send to leave", Vec::is_empty).await;
    assert_eq!(server_texts(&t, &app).await, ["hello"]);

    // A send the server refuses (not a member): failed, then discarded by the app.
    let refused = alice
        .send_message(&cid("team:private"), NewMessage::text("nope"))
        .await
        .unwrap();
    until_value(&mut outbox, "the refusal", |items| {
        matches!(states(items)[..], [ItemState::Failed(_)])
    })
    .await;
    alice
        .discard(chat_core::outbox::OpId(refused))
        .await
        .unwrap();
    assert!(
        outbox.current().is_empty(),
        "discarded: gone when the call returns"
    );
    alice.shutdown().await;
}

#[tokio::test]
async fn while_unreachable_nothing_is_sent_and_delivery_follows_reachability_at_once() {
    // Retries an hour apart: only reachability can make the outbox send in this test.
    let hour = Duration::from_secs(3_600);
    let (t, app, net, alice) = start(OutboxConfig {
        backoff: BackoffConfig {
            base: hour,
            cap: hour,
        },
        ..fast_outbox()
    })
    .await;
    let mut outbox = alice.live_outbox().await.unwrap();
    let general = cid("team:general");

    // A first attempt fails on the network: its retry is an hour away.
    net.fail_writes.store(true, Ordering::SeqCst);
    alice
        .send_message(&general, NewMessage::text("one"))
        .await
        .unwrap();
    until_value(&mut outbox, "a retry wait", |items| {
        matches!(
            states(items)[..],
            [ItemState::WaitingRetry { attempt: 1, .. }]
        )
    })
    .await;

    // Unreachable: the transport would pass now, but nothing is written.
    alice.set_network_reachable(false).await.unwrap();
    net.fail_writes.store(false, Ordering::SeqCst);
    let writes = net.count("Post");
    alice
        .send_message(&general, NewMessage::text("two"))
        .await
        .unwrap();
    // A fence: the driver starts requests in the order the engine asks for them, so once
    // this sync's request was made, any send the steps above asked for was made too.
    alice.sync().await.unwrap();
    assert_eq!(
        net.count("Post"),
        writes,
        "no write while unreachable: {:#?}",
        net.log.lock().unwrap()
    );
    let held = outbox.current();
    assert_eq!(
        states(&held),
        [&ItemState::Pending, &ItemState::Pending],
        "held, not waiting on a timer"
    );
    assert!(server_texts(&t, &app).await.is_empty());

    // Reachable: both go at once (an hour before the first's retry was due).
    alice.set_network_reachable(true).await.unwrap();
    until_value(&mut outbox, "both sends to leave", Vec::is_empty).await;
    assert_eq!(server_texts(&t, &app).await, ["one", "two"]);
    alice.shutdown().await;
}
