//! Realtime end to end: two `ChatClient`s with live WebSocket connections to the real
//! chat-server. What one user does reaches the other's live queries without any sync
//! call; typing, presence and read receipts propagate (and typing expires); a
//! short-lived token is renewed on the open connection; the
//! connection state follows the network and foreground signals; a refused token ends in
//! the auth-failed state without a reconnect loop.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::client::*;
use chat_core::backoff::BackoffConfig;
use chat_core::client::{
    ChatClient, ClientBuilder, ConnectionState, DisconnectReason, NewMessage, RealtimeConfig,
    TypingConfig, TypingUser, static_token,
};
use chat_core::sync::SyncConfig;
use chat_protocol::{AppCredentials, UpdateMessageRequest};
use chat_server::auth::mint_user_token;
use chat_test::{TestServer, cid};

/// Fast reconnects and a short background grace for tests.
pub(crate) fn fast_realtime() -> RealtimeConfig {
    RealtimeConfig {
        reconnect: BackoffConfig {
            base: Duration::from_millis(50),
            cap: Duration::from_millis(400),
        },
        connect_timeout: Duration::from_secs(5),
        // With the server's 1 s pings: a socket is declared dead after 3 s of silence,
        // well above scheduling hiccups of a busy test machine.
        ping_grace: Duration::from_secs(2),
        background_grace: Duration::from_millis(200),
        ..RealtimeConfig::default()
    }
}

async fn setup(users: &[&str]) -> (TestServer, AppCredentials) {
    let t = TestServer::start_with(|c| {
        c.rate_limit.per_second = 10_000.0;
        c.rate_limit.burst = 10_000;
        c.ping_interval = Duration::from_secs(1);
    })
    .await;
    let app = t.app_with_users(users).await;
    t.user(&app, users[0])
        .create_channel("team:general", users)
        .await;
    (t, app)
}

/// What every client here starts from: fast retries and reconnects, a fixed seed.
fn builder(app: &AppCredentials, url: &str, user: &str) -> ClientBuilder {
    ChatClient::builder(url, &app.app_id, user)
        .outbox_config(fast_outbox())
        .sync_config(SyncConfig {
            limit: 100,
            backoff: fast_backoff(),
        })
        .realtime_config(fast_realtime())
        .seed(11)
}

/// A realtime client for `user` talking to `url`.
async fn live_client(app: &AppCredentials, url: &str, user: &str, token: String) -> ChatClient {
    builder(app, url, user)
        .token_provider(static_token(token))
        .build()
        .await
        .expect("client starts")
}

fn token(app: &AppCredentials, user: &str) -> String {
    mint_user_token(&app.app_id, &app.api_secret, user, 3600)
}

/// Waits (at most 20 s) until the connection state satisfies `pred`.
pub(crate) async fn state_until(
    client: &ChatClient,
    what: &str,
    pred: impl Fn(&ConnectionState) -> bool,
) {
    let mut rx = client.connection_state();
    let result = tokio::time::timeout(Duration::from_secs(20), rx.wait_for(|s| pred(s)))
        .await
        .map(|r| r.is_some());
    match result {
        Ok(true) => {}
        Ok(false) => panic!("client closed while waiting for {what}"),
        Err(_) => panic!(
            "timed out waiting for {what}; state {:?}",
            client.connection_state().current()
        ),
    }
}

pub(crate) async fn connected(client: &ChatClient) {
    state_until(client, "connected", |s| *s == ConnectionState::Connected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_user_does_reaches_the_others_live_queries_without_a_sync() {
    let (t, app) = setup(&["alice", "bob"]).await;
    let url = t.server.base_url();
    let alice = live_client(&app, &url, "alice", token(&app, "alice")).await;
    let bob = live_client(&app, &url, "bob", token(&app, "bob")).await;
    connected(&alice).await;
    connected(&bob).await;
    // Both have caught up; from here on only pushes bring news.
    alice.sync().await.unwrap();
    bob.sync().await.unwrap();
    let c = cid("team:general");
    let mut bobs_window = bob.messages(&c, 20).await.unwrap();
    let mut bobs_channels = bob.channel_list(10).await.unwrap();
    bobs_window.next().await.unwrap();
    bobs_channels.next().await.unwrap();

    let id = alice
        .send_message(&c, NewMessage::text("hello bob"))
        .await
        .unwrap();
    until_window(&mut bobs_window, "alice's message", |items| {
        items.iter().any(|m| m.message.id == id)
    })
    .await;
    until(&mut bobs_channels, "unread badge", |items| {
        items.first().is_some_and(|c| c.unread_count == 1)
    })
    .await;

    alice
        .edit_message(
            id,
            UpdateMessageRequest {
                text: Some("hello bob, edited".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    until_window(&mut bobs_window, "the edit", |items| {
        items.iter().any(|m| m.message.text == "hello bob, edited")
    })
    .await;

    alice.add_reaction(id, "like").await.unwrap();
    until_window(&mut bobs_window, "the reaction", |items| {
        items
            .iter()
            .any(|m| m.message.reaction_counts.get("like") == Some(&1))
    })
    .await;

    // Bob answers; alice sees it live too.
    let reply = bob
        .send_message(&c, NewMessage::text("hi alice"))
        .await
        .unwrap();
    let mut alices_window = alice.messages(&c, 20).await.unwrap();
    until_window(&mut alices_window, "bob's answer", |items| {
        items.iter().any(|m| m.message.id == reply)
    })
    .await;

    alice.delete_message(id).await.unwrap();
    until_window(&mut bobs_window, "the deletion", |items| {
        items
            .iter()
            .any(|m| m.message.id == id && m.message.deleted_at.is_some())
    })
    .await;
    assert!(
        bob.status().await.unwrap().last_error.is_none(),
        "{:?}",
        bob.status().await
    );
    alice.shutdown().await;
    bob.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_follows_network_and_foreground_signals() {
    let (t, app) = setup(&["alice", "bob"]).await;
    let url = t.server.base_url();
    let bob = live_client(&app, &url, "bob", token(&app, "bob")).await;
    connected(&bob).await;
    bob.sync().await.unwrap();
    let c = cid("team:general");
    let mut window = bob.messages(&c, 20).await.unwrap();
    window.next().await.unwrap();
    let alice = t.user(&app, "alice");

    bob.set_network_reachable(false).await.unwrap();
    state_until(&bob, "waiting for network", |s| {
        *s == ConnectionState::WaitingForNetwork
    })
    .await;
    let missed = alice
        .send_text("team:general", "while bob was offline", None)
        .await;
    bob.set_network_reachable(true).await.unwrap();
    connected(&bob).await;
    until_window(&mut window, "the message missed while offline", |items| {
        items
            .iter()
            .any(|m| m.message.id.to_string() == missed["id"].as_str().unwrap())
    })
    .await;

    bob.set_foreground(false).await.unwrap();
    state_until(&bob, "disconnected in the background", |s| {
        *s == ConnectionState::Disconnected {
            reason: DisconnectReason::Background,
        }
    })
    .await;
    let missed = alice
        .send_text("team:general", "while bob was away", None)
        .await;
    bob.set_foreground(true).await.unwrap();
    connected(&bob).await;
    until_window(
        &mut window,
        "the message missed in the background",
        |items| {
            items
                .iter()
                .any(|m| m.message.id.to_string() == missed["id"].as_str().unwrap())
        },
    )
    .await;
    assert_eq!(window.items().len(), 2);
    bob.shutdown().await;
    assert_eq!(
        bob.connection_state().current(),
        ConnectionState::Disconnected {
            reason: DisconnectReason::Stopped
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_ends_in_auth_failed_without_a_reconnect_loop() {
    let (t, app) = setup(&["alice", "bob"]).await;
    let bad = mint_user_token(&app.app_id, "not-the-secret", "bob", 3600);
    let bob = live_client(&app, &t.server.base_url(), "bob", bad).await;
    state_until(&bob, "auth failed", |s| {
        matches!(s, ConnectionState::AuthFailed { .. })
    })
    .await;
    // It stays there: no reconnect attempts (not even one that fails again).
    let mut states = bob.connection_state();
    let changed = tokio::time::timeout(Duration::from_secs(1), states.changed()).await;
    assert!(changed.is_err(), "state moved to {:?}", states.current());
    bob.shutdown().await;
}

/// A realtime client with its own typing timings.
async fn typing_client(
    app: &AppCredentials,
    url: &str,
    user: &str,
    typing: TypingConfig,
) -> ChatClient {
    builder(app, url, user)
        .token_provider(static_token(token(app, user)))
        .typing_config(typing)
        .build()
        .await
        .expect("client starts")
}

/// Waits (at most 20 s) until the typing list satisfies `pred`.
pub(crate) async fn typing_until(
    watch: &mut chat_core::client::TypingWatch,
    what: &str,
    pred: impl Fn(&[TypingUser]) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if pred(&watch.current()) {
            return;
        }
        match tokio::time::timeout_at(deadline, watch.next()).await {
            Ok(Some(_)) => {}
            Ok(None) => panic!("client closed while waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}: {:?}", watch.current()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_presence_and_read_receipts_propagate_and_typing_expires() {
    let (t, app) = setup(&["alice", "bob"]).await;
    let url = t.server.base_url();
    // Bob's list keeps an entry for a minute: only a stop event removes it sooner.
    // Alice stops by herself after 300 ms idle and expires others' entries after 400 ms.
    let bob = typing_client(
        &app,
        &url,
        "bob",
        TypingConfig {
            throttle: Duration::from_millis(100),
            idle: Duration::from_secs(60),
            expire: Duration::from_secs(60),
        },
    )
    .await;
    connected(&bob).await;
    bob.sync().await.unwrap();
    let mut presence = bob.presence();
    let alice = typing_client(
        &app,
        &url,
        "alice",
        TypingConfig {
            throttle: Duration::from_millis(100),
            idle: Duration::from_millis(300),
            expire: Duration::from_millis(400),
        },
    )
    .await;
    connected(&alice).await;
    alice.sync().await.unwrap();
    tokio::time::timeout(
        Duration::from_secs(20),
        presence.wait_for(|p| p.is_online("alice") == Some(true)),
    )
    .await
    .expect("alice online")
    .unwrap();

    let c = cid("team:general");
    let mut typing = bob.typing(&c);
    let alice_typing = |users: &[TypingUser]| {
        users
            == [TypingUser {
                user_id: "alice".into(),
                parent_id: None,
            }]
    };
    // Started, then stopped explicitly.
    alice.start_typing(&c, None).await.unwrap();
    typing_until(&mut typing, "alice typing", alice_typing).await;
    alice.stop_typing(&c, None).await.unwrap();
    typing_until(&mut typing, "alice stopped", <[TypingUser]>::is_empty).await;
    // Started, then idle: alice's client sends the stop by itself (idle 300 ms).
    alice.start_typing(&c, None).await.unwrap();
    typing_until(&mut typing, "alice typing again", alice_typing).await;
    typing_until(&mut typing, "alice idle", <[TypingUser]>::is_empty).await;

    // Bob's typing reaches alice (never his own list), and expires there without a stop
    // (bob's idle stop is a minute away; alice expires entries after 400 ms).
    let mut alices_typing = alice.typing(&c);
    bob.start_typing(&c, None).await.unwrap();
    typing_until(&mut alices_typing, "bob typing", |u| u.len() == 1).await;
    assert!(typing.current().is_empty(), "{:?}", typing.current());
    typing_until(
        &mut alices_typing,
        "bob's typing expired",
        <[TypingUser]>::is_empty,
    )
    .await;

    // Read receipts: alice reads bob's message; bob's receipts show it live.
    let mut receipts = bob.read_receipts(&c).await.unwrap();
    receipts.next().await.unwrap();
    let id = bob
        .send_message(&c, NewMessage::text("did you read this?"))
        .await
        .unwrap();
    let mut alices_window = alice.messages(&c, 20).await.unwrap();
    until_window(&mut alices_window, "bob's message", |items| {
        items.iter().any(|m| m.message.id == id)
    })
    .await;
    alice.mark_read(&c).await.unwrap();
    until(&mut receipts, "alice's receipt", |items| {
        items
            .iter()
            .any(|r| r.user_id == "alice" && r.last_read_message_id == Some(id))
    })
    .await;
    assert!(receipts.items().iter().all(|r| r.user_id != "bob"));

    // Presence: alice leaves.
    alice.shutdown().await;
    tokio::time::timeout(
        Duration::from_secs(20),
        presence.wait_for(|p| p.is_online("alice") == Some(false)),
    )
    .await
    .expect("alice offline")
    .unwrap();
    bob.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_lived_token_is_renewed_without_dropping_the_connection() {
    let t = TestServer::start_with(|c| {
        c.rate_limit.per_second = 10_000.0;
        c.rate_limit.burst = 10_000;
        c.ping_interval = Duration::from_secs(1);
        // Without a refresh the server closes the connection 1 s after the token expires.
        c.expiry_grace = Duration::from_secs(1);
    })
    .await;
    let app = t.app_with_users(&["alice", "bob"]).await;
    t.user(&app, "alice")
        .create_channel("team:general", &["alice", "bob"])
        .await;
    let fetches = Arc::new(AtomicUsize::new(0));
    let provider = {
        let (app, fetches) = (app.clone(), fetches.clone());
        move || {
            fetches.fetch_add(1, Ordering::SeqCst);
            let token = mint_user_token(&app.app_id, &app.api_secret, "bob", 3);
            async move { Ok(token) }
        }
    };
    let bob = builder(&app, &t.server.base_url(), "bob")
        .token_provider(provider)
        .realtime_config(RealtimeConfig {
            refresh_margin: Duration::from_millis(1_500),
            ..fast_realtime()
        })
        .build()
        .await
        .unwrap();
    connected(&bob).await;
    let mut states = bob.connection_state();
    // 7 s: past two expiries of 3-second tokens.
    let changed = tokio::time::timeout(Duration::from_secs(7), states.changed()).await;
    assert!(
        changed.is_err(),
        "the connection must stay up, but went {:?}",
        states.current()
    );
    assert!(
        fetches.load(Ordering::SeqCst) >= 3,
        "renewed tokens were fetched"
    );
    // And it still delivers.
    bob.sync().await.unwrap();
    let c = cid("team:general");
    let mut window = bob.messages(&c, 20).await.unwrap();
    window.next().await.unwrap();
    let sent = t
        .user(&app, "alice")
        .send_text("team:general", "still live", None)
        .await;
    until_window(&mut window, "a message after the renewals", |items| {
        items
            .iter()
            .any(|m| m.message.id.to_string() == sent["id"].as_str().unwrap())
    })
    .await;
    bob.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_knows_who_is_online_as_soon_as_it_connects() {
    let (t, app) = setup(&["alice", "bob"]).await;
    let url = t.server.base_url();
    let bob = live_client(&app, &url, "bob", token(&app, "bob")).await;
    connected(&bob).await;
    // Alice connects after bob: no event will tell her about him, the snapshot does.
    let alice = live_client(&app, &url, "alice", token(&app, "alice")).await;
    alice.sync().await.unwrap();
    let mut presence = alice.presence();
    tokio::time::timeout(
        Duration::from_secs(20),
        presence.wait_for(|p| p.is_online("bob") == Some(true)),
    )
    .await
    .expect("bob online from the snapshot")
    .unwrap();
    // The member list shows it too (and alice herself, connected).
    let mut members = alice.members(&cid("team:general")).await.unwrap();
    crate::support::client::until(&mut members, "both online", |items| {
        items.len() == 2 && items.iter().all(|m| m.online)
    })
    .await;
    alice.shutdown().await;
    bob.shutdown().await;
}
