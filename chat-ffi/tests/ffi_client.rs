//! The exported API driven from Rust exactly as a host would drive it (the objects,
//! records, listeners and errors uniffi exposes), against the real chat-server: two
//! clients chat live, listeners receive a `Reset` then diffs, a closed subscription stops
//! delivering, and bad input comes back as the matching typed error.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_ffi::{
    ChatError, ClientConfig, ConnectionListener, ConnectionState, FfiClient, FfiTokenProvider,
    MessageDiff, MessageItem, MessageListListener, MessageState, NewMessage, TokenFetchError,
};
use chat_server::auth::mint_user_token;
use chat_test::TestServer;

struct Tokens(String);

impl FfiTokenProvider for Tokens {
    fn fetch_token(&self) -> Result<String, TokenFetchError> {
        Ok(self.0.clone())
    }
}

/// A listener that applies the diffs it receives, as a host list adapter would.
#[derive(Default)]
struct Collect {
    items: Mutex<Vec<MessageItem>>,
    batches: Mutex<usize>,
}

impl MessageListListener for Collect {
    fn on_diffs(&self, diffs: Vec<MessageDiff>) {
        let mut items = self.items.lock().unwrap();
        for d in diffs {
            match d {
                MessageDiff::Reset { items: all } => *items = all,
                MessageDiff::Insert { index, item } => items.insert(index as usize, item),
                MessageDiff::Update { index, item } => items[index as usize] = item,
                MessageDiff::Remove { index } => {
                    items.remove(index as usize);
                }
            }
        }
        *self.batches.lock().unwrap() += 1;
    }
}

#[derive(Default)]
struct States(Mutex<Vec<ConnectionState>>);

impl ConnectionListener for States {
    fn on_state(&self, state: ConnectionState) {
        self.0.lock().unwrap().push(state);
    }
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn open(t: &TestServer, app: &chat_protocol::AppCredentials, user: &str) -> Arc<FfiClient> {
    let token = mint_user_token(&app.app_id, &app.api_secret, user, 3600);
    FfiClient::open(
        ClientConfig {
            server_url: t.server.base_url(),
            app_id: app.app_id.clone(),
            user_id: user.into(),
            data_dir: None,
        },
        Arc::new(Tokens(token)),
    )
    .await
    .expect("client opens")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_chat_live_through_the_exported_api() {
    let t = TestServer::start_with(|c| {
        c.rate_limit.per_second = 10_000.0;
        c.rate_limit.burst = 10_000;
    })
    .await;
    let app = t.app_with_users(&["alice", "bob"]).await;
    t.user(&app, "alice")
        .create_channel("team:general", &["alice", "bob"])
        .await;
    let alice = open(&t, &app, "alice").await;
    let bob = open(&t, &app, "bob").await;
    let states = Arc::new(States::default());
    let _connection = bob.watch_connection(states.clone());
    eventually("bob connected", || {
        states.0.lock().unwrap().last() == Some(&ConnectionState::Connected)
    })
    .await;
    alice.sync().await.unwrap();
    bob.sync().await.unwrap();

    let bobs = Arc::new(Collect::default());
    let subscription = bob
        .watch_messages("team:general".into(), 20, bobs.clone())
        .await
        .unwrap();
    let alices = Arc::new(Collect::default());
    let _alices_sub = alice
        .watch_messages("team:general".into(), 20, alices.clone())
        .await
        .unwrap();
    let id = alice
        .send_message(
            "team:general".into(),
            NewMessage {
                text: "hello from a host".into(),
                parent_id: None,
                quoted_message_id: None,
                mentioned_users: vec!["bob".into()],
                attachments: vec![r#"{"type":"image","url":"https://x/y.png"}"#.into()],
            },
        )
        .await
        .unwrap();
    // Alice's own list shows it at once, then sent; bob's gets it live.
    eventually("alice's echo confirmed", || {
        alices
            .items
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.message.id == id && m.state == MessageState::Sent)
    })
    .await;
    eventually("bob receives it", || {
        bobs.items.lock().unwrap().iter().any(|m| {
            m.message.id == id
                && m.message.attachments.len() == 1
                && m.message.mentioned_users == ["bob"]
        })
    })
    .await;
    alice.add_reaction(id.clone(), "like".into()).await.unwrap();
    eventually("bob sees the reaction", || {
        bobs.items
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.message.reaction_counts.get("like") == Some(&1))
    })
    .await;

    // A closed subscription delivers nothing more.
    subscription.cancel();
    assert!(!subscription.is_active());
    let before = *bobs.batches.lock().unwrap();
    alice
        .edit_message(id.clone(), "edited".into())
        .await
        .unwrap();
    eventually("alice sees her edit", || {
        alices
            .items
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.message.text == "edited")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(*bobs.batches.lock().unwrap(), before);

    // Typed errors.
    match alice.send_message("no colon".into(), text("x")).await {
        Err(ChatError::InvalidInput { reason }) => assert!(reason.contains("channel id")),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    let unknown = "0190b6e0-8a4e-7c3a-9f1e-2b3c4d5e6f70".to_owned();
    match alice.edit_message(unknown.clone(), "x".into()).await {
        Err(ChatError::MessageNotFound { id }) => assert_eq!(id, unknown),
        other => panic!("expected MessageNotFound, got {other:?}"),
    }
    match alice.discard(unknown).await {
        Err(ChatError::UnknownOperation { .. }) => {}
        other => panic!("expected UnknownOperation, got {other:?}"),
    }
    alice.shutdown().await;
    match alice.sync().await {
        Err(ChatError::Closed) => {}
        other => panic!("expected Closed, got {other:?}"),
    }
    bob.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_stars_and_unstars_and_its_starred_list_follows() {
    let t = TestServer::start().await;
    let app = t.app_with_users(&["alice", "bob"]).await;
    t.user(&app, "alice")
        .create_channel("team:general", &["alice", "bob"])
        .await;
    let sent = t
        .user(&app, "bob")
        .send("team:general", "worth keeping")
        .await;
    let id = sent["id"].as_str().unwrap().to_owned();
    let alice = open(&t, &app, "alice").await;
    alice.sync().await.unwrap();
    let window = Arc::new(Collect::default());
    let _window = alice
        .watch_messages("team:general".into(), 20, window.clone())
        .await
        .unwrap();
    let starred = Arc::new(Collect::default());
    let list = alice.watch_starred(10, starred.clone()).await.unwrap();
    eventually("the empty starred list", || {
        *starred.batches.lock().unwrap() > 0
    })
    .await;

    alice.star_message(id.clone()).await.unwrap();
    eventually("starred in the window and listed", || {
        window.items.lock().unwrap().iter().any(|m| m.starred)
            && starred
                .items
                .lock()
                .unwrap()
                .iter()
                .map(|m| &m.message.id)
                .eq([&id])
    })
    .await;
    assert!(!list.load_more().await.unwrap(), "nothing older is starred");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while alice.status().await.unwrap().outbox_len > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the star never left"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, server) = t.user(&app, "alice").get("/v1/starred").await;
    assert_eq!(server["messages"][0]["id"].as_str(), Some(&*id));
    alice.unstar_message(id.clone()).await.unwrap();
    eventually("unstarred and unlisted", || {
        window.items.lock().unwrap().iter().all(|m| !m.starred)
            && starred.items.lock().unwrap().is_empty()
    })
    .await;
    match alice.star_message("not-an-id".into()).await {
        Err(ChatError::InvalidInput { .. }) => {}
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    list.cancel();
    assert!(!list.is_active());
    alice.shutdown().await;
}

fn text(text: &str) -> NewMessage {
    NewMessage {
        text: text.into(),
        parent_id: None,
        quoted_message_id: None,
        mentioned_users: vec![],
        attachments: vec![],
    }
}
