//! `ChatClient` end to end against the real chat-server: local echo then confirmation,
//! offline sends delivered once after a restart, a lost reply retried into one message,
//! edits / deletes / reactions queued offline, reverts and failures, sync of other users'
//! changes, paging without gaps or duplicates, jumps, optimistic read state, a `410`
//! reset that keeps the outbox, and token refresh on `401`.

use std::sync::Arc;

use crate::support::client::*;
use chat_core::client::{ChatClient, ClientError, ErrorKind, NewMessage};
use chat_core::live::{ListDiff, MessageState};
use chat_protocol::{Message, MessagesResponse, UpdateMessageRequest};
use chat_test::{TestServer, cid};
use serde_json::json;

async fn server_messages(
    t: &TestServer,
    app: &chat_protocol::AppCredentials,
    c: &str,
) -> Vec<Message> {
    let api = t.user(app, "carol");
    let path = format!("/v1/channels/{}/messages?limit=200", c.replace(':', "/"));
    api.fetch::<MessagesResponse>(&path).await.messages
}

async fn setup(users: &[&str]) -> (TestServer, chat_protocol::AppCredentials) {
    let t = TestServer::start_unthrottled().await;
    let mut all = users.to_vec();
    all.push("carol");
    let app = t.app_with_users(&all).await;
    t.user(&app, "carol")
        .create_channel("team:general", &all)
        .await;
    (t, app)
}

/// A server with `users` (and carol) in `team:general`, and alice's client, synced.
struct Online {
    t: TestServer,
    app: chat_protocol::AppCredentials,
    net: Arc<FaultyTransport>,
    alice: ChatClient,
    c: chat_protocol::Cid,
}

async fn online(users: &[&str]) -> Online {
    let (t, app) = setup(users).await;
    let net = FaultyTransport::new(&t.server.base_url());
    let alice = client(&t, &app, "alice", None, net.clone()).await;
    alice.sync().await.unwrap();
    Online {
        t,
        app,
        net,
        alice,
        c: cid("team:general"),
    }
}

#[tokio::test]
async fn a_sent_message_shows_at_once_and_becomes_the_server_copy() {
    let Online {
        t,
        app,
        net: _net,
        alice,
        c,
    } = online(&["alice"]).await;
    let mut window = alice.messages(&c, 20).await.unwrap();
    let first = window.next().await.unwrap();
    assert!(matches!(&first[..], [ListDiff::Reset { items }] if items.is_empty()));

    let id = alice
        .send_message(&c, NewMessage::text("hello"))
        .await
        .unwrap();
    // Shown before any network answer: the first diff is the insert of the local echo.
    let batch = window.next().await.unwrap();
    match &batch[..] {
        [ListDiff::Insert { index: 0, item }] => {
            assert_eq!(item.message.id, id);
            assert_eq!(item.message.text, "hello");
            assert!(matches!(
                item.state,
                MessageState::Pending | MessageState::Sending
            ));
        }
        other => panic!("expected the echo insert, got {other:?}"),
    }
    until_window(&mut window, "sent", |items| {
        items.len() == 1 && items[0].state == MessageState::Sent && items[0].message.rev > 0
    })
    .await;
    let server = server_messages(&t, &app, "team:general").await;
    assert_eq!(server.len(), 1);
    assert_eq!(server[0].id, id);
    assert_eq!(
        window.items()[0].message,
        server[0],
        "the echo became the server copy"
    );
    alice.shutdown().await;
}

#[tokio::test]
async fn offline_sends_survive_a_restart_and_are_delivered_once_in_order() {
    let (t, app) = setup(&["alice"]).await;
    let dir = tempfile::tempdir().unwrap();
    let net = FaultyTransport::new(&t.server.base_url());
    net.set_offline(true);
    let c = cid("team:general");
    let mut ids = Vec::new();
    {
        let alice = client(&t, &app, "alice", Some(dir.path()), net.clone()).await;
        for i in 0..5 {
            ids.push(
                alice
                    .send_message(&c, NewMessage::text(format!("offline {i}")))
                    .await
                    .unwrap(),
            );
        }
        let mut window = alice.messages(&c, 20).await.unwrap();
        window.next().await.unwrap();
        assert_eq!(window.items().len(), 5, "echoes are shown offline");
        // Queued, not sent and not failed: the head may be mid-attempt against the dead
        // network (`Sending`) when the window is read, the others wait behind it.
        assert!(
            window
                .items()
                .iter()
                .all(|m| matches!(m.state, MessageState::Pending | MessageState::Sending)),
            "{:?}",
            window.items().iter().map(|m| &m.state).collect::<Vec<_>>()
        );
        alice.shutdown().await;
    }
    assert!(server_messages(&t, &app, "team:general").await.is_empty());

    // The app restarts online: the outbox is restored and delivered.
    net.set_offline(false);
    let alice = client(&t, &app, "alice", Some(dir.path()), net.clone()).await;
    let mut window = alice.messages(&c, 20).await.unwrap();
    until_window(&mut window, "all sent", |items| {
        items.len() == 5 && items.iter().all(|m| m.state == MessageState::Sent)
    })
    .await;
    let server = server_messages(&t, &app, "team:general").await;
    let got: Vec<_> = server.iter().map(|m| m.id).collect();
    assert_eq!(got, ids, "delivered exactly once, in order");
    let shown: Vec<_> = window.items().iter().map(|m| m.message.id).collect();
    assert_eq!(shown, ids);
    // The backlog left as one batch send, no single sends.
    let path = "Post /v1/channels/team/general/messages";
    assert_eq!(
        (net.count(&format!("{path}/batch")), net.count(path)),
        (1, 1),
        "{:?}",
        net.log.lock().unwrap()
    );
    alice.shutdown().await;
}

#[tokio::test]
async fn a_lost_reply_is_retried_with_the_same_id_into_one_message() {
    let (t, app) = setup(&["alice"]).await;
    let net = FaultyTransport::new(&t.server.base_url());
    let alice = client(&t, &app, "alice", None, net.clone()).await;
    alice.sync().await.unwrap();
    net.lose_replies
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let c = cid("team:general");
    let id = alice
        .send_message(&c, NewMessage::text("once"))
        .await
        .unwrap();
    flushed(&alice).await;
    assert_eq!(
        net.count("Post /v1/channels/team/general/messages"),
        2,
        "the first reply was lost, the retry was answered"
    );
    let server = server_messages(&t, &app, "team:general").await;
    assert_eq!(server.len(), 1, "one message on the server");
    assert_eq!(server[0].id, id);
    let window = alice.messages(&c, 20).await.unwrap();
    let mut window = window;
    window.next().await.unwrap();
    assert_eq!(window.items().len(), 1);
    assert_eq!(window.items()[0].state, MessageState::Sent);
    alice.shutdown().await;
}

#[tokio::test]
async fn edits_deletes_and_reactions_queued_offline_show_at_once_and_land() {
    let Online {
        t,
        app,
        net,
        alice,
        c,
    } = online(&["alice"]).await;
    let m1 = alice
        .send_message(&c, NewMessage::text("one"))
        .await
        .unwrap();
    let m2 = alice
        .send_message(&c, NewMessage::text("two"))
        .await
        .unwrap();
    flushed(&alice).await;
    let mut window = alice.messages(&c, 20).await.unwrap();
    window.next().await.unwrap();

    net.set_offline(true);
    alice
        .edit_message(
            m1,
            UpdateMessageRequest {
                text: Some("one, edited".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    alice.add_reaction(m1, "like").await.unwrap();
    alice.delete_message(m2).await.unwrap();
    let m3 = alice
        .send_message(&c, NewMessage::text("three"))
        .await
        .unwrap();
    alice
        .edit_message(
            m3,
            UpdateMessageRequest {
                text: Some("three, edited before sending".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    window.drain();
    let items = window.items();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].message.text, "one, edited");
    assert_eq!(items[0].state, MessageState::Editing);
    assert_eq!(items[0].own_reactions, ["like"]);
    assert_eq!(items[0].message.reaction_counts.get("like"), Some(&1));
    assert_eq!(items[1].state, MessageState::Deleting);
    assert!(items[1].message.deleted_at.is_some() && items[1].message.text.is_empty());
    assert_eq!(items[2].message.text, "three, edited before sending");
    assert_eq!(items[2].state, MessageState::Pending);
    let outbox = alice.outbox().await.unwrap();
    assert_eq!(
        outbox.len(),
        4,
        "the edit of m3 was merged into its send: {outbox:#?}"
    );

    net.set_offline(false);
    alice.network_available().await.unwrap();
    flushed(&alice).await;
    until_window(&mut window, "settled", |items| {
        items.iter().all(|m| m.state == MessageState::Sent)
    })
    .await;
    let server = server_messages(&t, &app, "team:general").await;
    assert_eq!(server.len(), 3);
    assert_eq!(server[0].text, "one, edited");
    assert_eq!(server[0].reaction_counts.get("like"), Some(&1));
    assert!(server[1].deleted_at.is_some());
    assert_eq!(server[2].text, "three, edited before sending");
    assert_eq!(
        server[2].edited_at, None,
        "merged, never edited on the server"
    );
    assert_eq!(net.count("Patch"), 1, "only m1 needed a PATCH");
    let shown: Vec<_> = window.items().iter().map(|m| m.message.clone()).collect();
    assert_eq!(shown, server, "the window equals the server");
    assert_eq!(window.items()[0].own_reactions, ["like"]);
    alice.shutdown().await;
}

#[tokio::test]
async fn a_refused_reaction_reverts_and_a_refused_send_fails_without_blocking_its_channel() {
    let (t, app) = setup(&["alice"]).await;
    let carol = t.user(&app, "carol");
    let (status, body) = carol
        .patch(
            "/v1/channels/team/general",
            json!({"config": {"reactions": false}}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let net = FaultyTransport::new(&t.server.base_url());
    let alice = client(&t, &app, "alice", None, net.clone()).await;
    alice.sync().await.unwrap();
    let c = cid("team:general");
    let m1 = alice
        .send_message(&c, NewMessage::text("one"))
        .await
        .unwrap();
    flushed(&alice).await;
    let mut window = alice.messages(&c, 20).await.unwrap();
    window.next().await.unwrap();

    alice.add_reaction(m1, "like").await.unwrap();
    window.drain();
    assert_eq!(window.items()[0].own_reactions, ["like"], "toggled at once");
    until_window(&mut window, "reaction reverted", |items| {
        items[0].own_reactions.is_empty() && items[0].message.reaction_counts.is_empty()
    })
    .await;
    flushed(&alice).await;

    // A reply to a message that does not exist is refused (permanent); the next message
    // of the same channel still goes through.
    let bad = alice
        .send_message(
            &c,
            NewMessage::text("orphan").in_thread(uuid::Uuid::now_v7()),
        )
        .await
        .unwrap();
    let good = alice
        .send_message(&c, NewMessage::text("fine"))
        .await
        .unwrap();
    let mut thread = alice.thread(m1).await.unwrap();
    thread.next().await.unwrap();
    until_window(&mut window, "good sent", |items| {
        items
            .iter()
            .any(|m| m.message.id == good && m.state == MessageState::Sent)
    })
    .await;
    let outbox = alice.outbox().await.unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].op_id.0, bad);
    assert!(matches!(
        outbox[0].state,
        chat_core::outbox::ItemState::Failed(_)
    ));
    // Discarding removes the failed message for good.
    alice.discard(outbox[0].op_id).await.unwrap();
    assert!(alice.outbox().await.unwrap().is_empty());
    // The finished id is unknown now: retry and discard both say so, with the id.
    let gone = outbox[0].op_id;
    for result in [alice.discard(gone).await, alice.retry(gone).await] {
        let e = result.unwrap_err();
        assert!(
            matches!(e, ClientError::UnknownOperation(op) if op == gone),
            "{e:?}"
        );
        assert_eq!(e.kind(), ErrorKind::UnknownOperation);
        assert_eq!(e.subject_id(), Some(gone.0));
    }
    alice.shutdown().await;
}

#[tokio::test]
async fn other_users_changes_arrive_with_sync_as_diffs() {
    let (t, app) = setup(&["alice", "bob"]).await;
    let net = FaultyTransport::new(&t.server.base_url());
    let alice = client(&t, &app, "alice", None, net.clone()).await;
    alice.sync().await.unwrap();
    let c = cid("team:general");
    let mut window = alice.messages(&c, 20).await.unwrap();
    let mut channels = alice.channel_list(10).await.unwrap();
    window.next().await.unwrap();
    channels.next().await.unwrap();
    assert_eq!(channels.items().len(), 1);

    let bob = t.user(&app, "bob");
    let sent = bob.send_text("team:general", "from bob", None).await;
    alice.sync().await.unwrap();
    until_window(&mut window, "bob's message", |items| items.len() == 1).await;
    until(&mut channels, "unread", |items| items[0].unread_count == 1).await;
    assert_eq!(
        channels.items()[0]
            .last_message
            .as_ref()
            .unwrap()
            .message
            .text,
        "from bob"
    );

    let id = sent["id"].as_str().unwrap();
    bob.patch(
        &format!("/v1/messages/{id}"),
        json!({"text": "edited by bob"}),
    )
    .await;
    alice.sync().await.unwrap();
    let batch = window.next().await.unwrap();
    assert!(
        matches!(&batch[..], [ListDiff::Update { index: 0, item }] if item.message.text == "edited by bob"),
        "{batch:?}"
    );

    // Reading is optimistic: zero at once, confirmed by the server.
    assert!(
        alice.mark_read(&c).await.unwrap().is_some(),
        "unread: queued"
    );
    channels.drain();
    assert_eq!(channels.items()[0].unread_count, 0);
    flushed(&alice).await;
    let unread: chat_protocol::UnreadResponse = t.user(&app, "alice").fetch("/v1/unread").await;
    assert_eq!(unread.total_unread_count, 0);
    // Nothing unread any more: marking read again (as opening the channel does) queues
    // nothing, so the outbox holds only what the user did.
    assert_eq!(alice.mark_read(&c).await.unwrap(), None);
    assert!(alice.outbox().await.unwrap().is_empty());
    alice.shutdown().await;
}

/// Carol sends `n` messages (`m0`, `m1`, …) to `team:general`; their ids, oldest first.
#[tokio::test]
async fn paging_back_through_history_has_no_gaps_or_duplicates_and_jumps_work() {
    let (t, app) = setup(&["alice"]).await;
    let expected = carol_sends(&t, &app, 230).await;
    let net = FaultyTransport::new(&t.server.base_url());
    let alice = client(&t, &app, "alice", None, net.clone()).await;
    alice.sync().await.unwrap();
    let c = cid("team:general");
    let mut window = alice.messages(&c, 40).await.unwrap();
    window.next().await.unwrap();
    assert!(window.items().len() <= 50);
    let mut more = true;
    let mut steps = 0;
    while more {
        more = window.load_older().await.unwrap();
        steps += 1;
        assert!(steps < 40);
    }
    window.drain();
    // The window slid (at most 8 pages kept) — the oldest messages, contiguous.
    let shown: Vec<_> = window.items().iter().map(|m| m.message.id).collect();
    assert!(shown.len() <= 320);
    assert_eq!(
        shown,
        expected[..shown.len()],
        "oldest messages, no gap, no duplicate"
    );

    // Jump to a message in the middle: centred on it.
    let target = expected[150];
    window.jump_to(target).await.unwrap();
    window.drain();
    let shown: Vec<_> = window.items().iter().map(|m| m.message.id).collect();
    let pos = shown
        .iter()
        .position(|id| *id == target)
        .expect("target shown");
    let start = expected.iter().position(|id| *id == shown[0]).unwrap();
    assert_eq!(shown, expected[start..start + shown.len()], "contiguous");
    assert!(
        pos >= 10 && shown.len() - pos > 10,
        "centred: {pos} of {}",
        shown.len()
    );

    // Back to the newest, following new messages again.
    while !window.load_newer().await.unwrap() {}
    window.drain();
    assert_eq!(
        window.items().last().unwrap().message.id,
        *expected.last().unwrap()
    );
    alice.shutdown().await;
}

#[tokio::test]
async fn every_step_back_through_a_sliding_window_shows_older_messages() {
    let (t, app) = setup(&["alice"]).await;
    let expected = carol_sends(&t, &app, 120).await;
    let net = FaultyTransport::new(&t.server.base_url());
    let alice = client(&t, &app, "alice", None, net.clone()).await;
    alice.sync().await.unwrap();
    let c = cid("team:general");
    // Pages of 5: the window slides past 40 messages, with fetches from the server
    // whenever the cache runs out.
    let mut window = alice.messages(&c, 5).await.unwrap();
    window.next().await.unwrap();
    let mut oldest = window.items()[0].message.id;
    loop {
        let more = window.load_older().await.unwrap();
        window.drain();
        let shown: Vec<_> = window.items().iter().map(|m| m.message.id).collect();
        assert!(shown.len() <= 40, "bounded: {}", shown.len());
        let start = expected.iter().position(|id| *id == shown[0]).unwrap();
        assert_eq!(shown, expected[start..start + shown.len()], "contiguous");
        if !more {
            assert_eq!(shown[0], expected[0], "the start of the channel is shown");
            break;
        }
        let before = expected.iter().position(|id| *id == oldest).unwrap();
        assert!(
            start < before,
            "each step shows older messages ({start} vs {before})"
        );
        oldest = shown[0];
    }
    alice.shutdown().await;
}

#[tokio::test]
async fn a_reset_keeps_unsent_messages_and_rebuilds_the_cache() {
    let (t, app) = setup(&["alice"]).await;
    let dir = tempfile::tempdir().unwrap();
    let net = FaultyTransport::new(&t.server.base_url());
    let c = cid("team:general");
    let carol = t.user(&app, "carol");
    carol.send_text("team:general", "before", None).await;
    let alice = client(&t, &app, "alice", Some(dir.path()), net.clone()).await;
    alice.sync().await.unwrap();
    net.set_offline(true);
    let queued = alice
        .send_message(&c, NewMessage::text("queued"))
        .await
        .unwrap();
    // The server compacts its change log past alice's cursor.
    let after = carol.send_text("team:general", "after", None).await;
    t.compact_to_head(&app, &carol).await;

    net.set_offline(false);
    alice.network_available().await.unwrap();
    flushed(&alice).await;
    alice.sync().await.unwrap();
    let mut window = alice.messages(&c, 20).await.unwrap();
    window.next().await.unwrap();
    let texts: Vec<_> = window
        .items()
        .iter()
        .map(|m| m.message.text.clone())
        .collect();
    assert_eq!(texts, ["before", "after", "queued"]);
    assert!(window.items().iter().all(|m| m.state == MessageState::Sent));
    assert_eq!(
        window.items()[1].message.id.to_string(),
        after["id"].as_str().unwrap()
    );
    let server = server_messages(&t, &app, "team:general").await;
    assert_eq!(server.iter().filter(|m| m.id == queued).count(), 1);
    alice.shutdown().await;
}

#[tokio::test]
async fn a_refused_token_is_refreshed_and_the_queue_resumes() {
    let (t, app) = setup(&["alice"]).await;
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // The first token is refused (401): the client asks for another and resumes.
    let (expired, fresh) = (
        "not-a-valid-token".to_owned(),
        chat_server::auth::mint_user_token(&app.app_id, &app.api_secret, "alice", 3600),
    );
    let counter = calls.clone();
    let alice = ChatClient::builder(&t.server.base_url(), &app.app_id, "alice")
        .token_provider(move || {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let token = if n == 0 {
                expired.clone()
            } else {
                fresh.clone()
            };
            async move { Ok(token) }
        })
        .outbox_config(fast_outbox())
        .build()
        .await
        .unwrap();
    let c = cid("team:general");
    alice
        .send_message(&c, NewMessage::text("hi"))
        .await
        .unwrap();
    flushed(&alice).await;
    assert_eq!(server_messages(&t, &app, "team:general").await.len(), 1);
    assert!(calls.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    alice.shutdown().await;
}

/// History pages and thread replies take the engine's one road to the network: a `401`
/// on either goes through the engine's token path — the provider is asked once, the
/// request goes again with the new token, and the page arrives.
#[tokio::test]
async fn history_and_thread_pages_recover_from_a_401_through_the_engine_token_path() {
    let (t, app) = setup(&["alice"]).await;
    carol_sends(&t, &app, 60).await;
    let carol = t.user(&app, "carol");
    let root: uuid::Uuid = carol.send_text("team:general", "root", None).await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let parent = root.to_string();
    for i in 0..3 {
        carol
            .send_text("team:general", &format!("reply {i}"), Some(&parent))
            .await;
    }
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let token = chat_server::auth::mint_user_token(&app.app_id, &app.api_secret, "alice", 3600);
    let counter = calls.clone();
    let net = FaultyTransport::new(&t.server.base_url());
    let alice = ChatClient::builder(&t.server.base_url(), &app.app_id, "alice")
        .token_provider(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let token = token.clone();
            async move { Ok(token) }
        })
        .transport(net.clone())
        .outbox_config(fast_outbox())
        .without_realtime()
        .build()
        .await
        .unwrap();
    alice.sync().await.unwrap();
    let asked = || calls.load(std::sync::atomic::Ordering::SeqCst);
    let start = asked();

    // The newest 50 top-level messages are cached: 40 more need a page from the server,
    // whose first attempt is refused.
    let c = cid("team:general");
    let mut window = alice.messages(&c, 40).await.unwrap();
    window.next().await.unwrap();
    net.refuse_reads
        .store(1, std::sync::atomic::Ordering::SeqCst);
    assert!(
        !window.load_older().await.unwrap(),
        "61 messages: the start is reached"
    );
    window.drain();
    assert_eq!(window.items().len(), 61, "the fetched page is shown");
    assert_eq!(asked() - start, 1, "one new token for the refused page");
    assert_eq!(
        net.count("Get /v1/channels/team/general/messages"),
        2,
        "the refused request, then the page"
    );

    // Thread replies are not part of the synced window: only the fetch brings them.
    net.refuse_reads
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let mut thread = alice.thread(root).await.unwrap();
    until(&mut thread, "the replies arrive", |items| items.len() == 3).await;
    assert_eq!(asked() - start, 2, "one new token for the refused replies");
    assert_eq!(net.count(&format!("Get /v1/messages/{root}/replies")), 2);
    alice.shutdown().await;
}

#[tokio::test]
async fn a_provider_returning_bad_tokens_stops_until_the_app_refreshes() {
    let (t, app) = setup(&["alice"]).await;
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let good = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let fresh = chat_server::auth::mint_user_token(&app.app_id, &app.api_secret, "alice", 3600);
    let (counter, ok) = (calls.clone(), good.clone());
    let net = FaultyTransport::new(&t.server.base_url());
    let alice = ChatClient::builder(&t.server.base_url(), &app.app_id, "alice")
        .token_provider(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let token = if ok.load(std::sync::atomic::Ordering::SeqCst) {
                fresh.clone()
            } else {
                "bad".to_owned()
            };
            async move { Ok(token) }
        })
        .transport(net.clone())
        .outbox_config(fast_outbox())
        .build()
        .await
        .unwrap();
    // Only the start-up sync needs the network: its 401s must not loop.
    let c = cid("team:general");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !alice.status().await.unwrap().auth_stopped {
        assert!(tokio::time::Instant::now() < deadline, "never stopped");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let asked = calls.load(std::sync::atomic::Ordering::SeqCst);
    let requests = net.log.lock().unwrap().len();
    assert!(asked <= 4, "asked the provider {asked} times");
    assert!(requests <= 8, "{requests} requests with bad tokens");
    assert!(
        matches!(alice.sync().await, Err(ClientError::Token(_))),
        "sync() fails while authentication is stopped"
    );
    // So does a query that needs the server (here: looking a message up), at once.
    let window = alice.messages(&c, 5).await.unwrap();
    let before = net.log.lock().unwrap().len();
    assert!(
        matches!(
            window.jump_to(uuid::Uuid::now_v7()).await,
            Err(ClientError::Token(_))
        ),
        "a lookup fails while authentication is stopped"
    );
    assert_eq!(net.log.lock().unwrap().len(), before, "and sends nothing");
    alice
        .send_message(&c, NewMessage::text("hi"))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(server_messages(&t, &app, "team:general").await.is_empty());

    good.store(true, std::sync::atomic::Ordering::SeqCst);
    alice.refresh_token().await.unwrap();
    flushed(&alice).await;
    assert_eq!(server_messages(&t, &app, "team:general").await.len(), 1);
    alice.shutdown().await;
}

/// The live lists are maintained incrementally (overlay-only refreshes, echoes appended
/// without a query); at every quiet point they must equal a freshly opened query.
async fn assert_live_equals_fresh(
    alice: &ChatClient,
    c: &chat_protocol::Cid,
    window: &mut chat_core::client::MessageWindow,
    channels: &mut chat_core::live::LiveList<chat_core::live::ChannelItem>,
    thread: &mut chat_core::live::LiveList<chat_core::live::MessageItem>,
    root: uuid::Uuid,
) {
    window.drain();
    channels.drain();
    thread.drain();
    let mut fresh_window = alice.messages(c, 3).await.unwrap();
    fresh_window.next().await.unwrap();
    let mut fresh_channels = alice.channel_list(10).await.unwrap();
    fresh_channels.next().await.unwrap();
    let mut fresh_thread = alice.thread(root).await.unwrap();
    fresh_thread.next().await.unwrap();
    assert_eq!(window.items(), fresh_window.items());
    assert_eq!(channels.items(), fresh_channels.items());
    assert_eq!(thread.items(), fresh_thread.items());
}

#[tokio::test]
async fn incremental_live_updates_equal_a_fresh_query() {
    let Online {
        t: _t,
        app: _app,
        net,
        alice,
        c,
    } = online(&["alice"]).await;
    let root = alice
        .send_message(&c, NewMessage::text("root"))
        .await
        .unwrap();
    flushed(&alice).await;
    let mut window = alice.messages(&c, 3).await.unwrap();
    let mut channels = alice.channel_list(10).await.unwrap();
    let mut thread = alice.thread(root).await.unwrap();
    window.next().await.unwrap();
    channels.next().await.unwrap();
    thread.next().await.unwrap();

    // Offline: only echoes are added (no query), the window of 3 keeps the newest 3.
    net.set_offline(true);
    for i in 0..5 {
        alice
            .send_message(&c, NewMessage::text(format!("offline {i}")))
            .await
            .unwrap();
    }
    alice
        .send_message(&c, NewMessage::text("reply").in_thread(root))
        .await
        .unwrap();
    // Let retries run (overlay-only refreshes).
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_live_equals_fresh(&alice, &c, &mut window, &mut channels, &mut thread, root).await;
    let texts: Vec<_> = window
        .items()
        .iter()
        .map(|m| m.message.text.clone())
        .collect();
    assert_eq!(texts, ["offline 2", "offline 3", "offline 4"]);
    assert_eq!(thread.items().len(), 1);
    assert_eq!(
        channels.items()[0]
            .last_message
            .as_ref()
            .unwrap()
            .message
            .text,
        "offline 4"
    );

    net.set_offline(false);
    alice.network_available().await.unwrap();
    flushed(&alice).await;
    alice.sync().await.unwrap();
    assert_live_equals_fresh(&alice, &c, &mut window, &mut channels, &mut thread, root).await;
    assert!(window.items().iter().all(|m| m.state == MessageState::Sent));
    alice.shutdown().await;
}

#[tokio::test]
async fn echoes_appended_without_a_query_equal_a_fresh_query() {
    // A client that never gets a token sends nothing: each send_message only appends its
    // echo (the fast path), and the lists must still equal fresh queries.
    let (t, app) = setup(&["alice"]).await;
    let dir = tempfile::tempdir().unwrap();
    let c = cid("team:general");
    let root = {
        let net = FaultyTransport::new(&t.server.base_url());
        let alice = client(&t, &app, "alice", Some(dir.path()), net).await;
        alice.sync().await.unwrap();
        let root = alice
            .send_message(&c, NewMessage::text("root"))
            .await
            .unwrap();
        flushed(&alice).await;
        alice.shutdown().await;
        root
    };
    let alice = ChatClient::builder(&t.server.base_url(), &app.app_id, "alice")
        .data_dir(dir.path())
        .token_provider(std::future::pending::<Result<String, chat_core::client::TokenError>>)
        .build()
        .await
        .unwrap();
    let mut window = alice.messages(&c, 3).await.unwrap();
    let mut channels = alice.channel_list(10).await.unwrap();
    let mut thread = alice.thread(root).await.unwrap();
    window.next().await.unwrap();
    channels.next().await.unwrap();
    thread.next().await.unwrap();
    for i in 0..4 {
        alice
            .send_message(&c, NewMessage::text(format!("queued {i}")))
            .await
            .unwrap();
        alice
            .send_message(&c, NewMessage::text(format!("reply {i}")).in_thread(root))
            .await
            .unwrap();
    }
    assert_live_equals_fresh(&alice, &c, &mut window, &mut channels, &mut thread, root).await;
    let texts: Vec<_> = window
        .items()
        .iter()
        .map(|m| m.message.text.clone())
        .collect();
    assert_eq!(texts, ["queued 1", "queued 2", "queued 3"]);
    assert_eq!(thread.items().len(), 4);
    alice.shutdown().await;
}

#[tokio::test]
async fn a_channel_waiting_to_retry_does_not_hold_back_sync_and_offline_sync_fails_fast() {
    let (t, app) = setup(&["alice", "bob"]).await;
    let net = FaultyTransport::new(&t.server.base_url());
    let alice = client(&t, &app, "alice", None, net.clone()).await;
    alice.sync().await.unwrap();
    let c = cid("team:general");
    // Alice's sends keep failing (they wait to retry, queued behind each other)...
    net.fail_writes
        .store(true, std::sync::atomic::Ordering::SeqCst);
    alice
        .send_message(&c, NewMessage::text("a1"))
        .await
        .unwrap();
    alice
        .send_message(&c, NewMessage::text("a2"))
        .await
        .unwrap();
    // ...while Bob's message must still arrive with a sync.
    t.user(&app, "bob")
        .send_text("team:general", "from bob", None)
        .await;
    tokio::time::timeout(std::time::Duration::from_secs(10), alice.sync())
        .await
        .expect("sync is not held back by a retrying channel")
        .unwrap();
    let mut window = alice.messages(&c, 20).await.unwrap();
    window.next().await.unwrap();
    let texts: Vec<_> = window
        .items()
        .iter()
        .map(|m| m.message.text.clone())
        .collect();
    assert_eq!(texts, ["from bob", "a1", "a2"]);

    // Offline, sync() reports the failure instead of waiting for the network.
    net.set_offline(true);
    let result = tokio::time::timeout(std::time::Duration::from_secs(10), alice.sync())
        .await
        .expect("sync() answers while offline");
    assert!(matches!(result, Err(ClientError::Network(_))), "{result:?}");
    net.set_offline(false);
    net.fail_writes
        .store(false, std::sync::atomic::Ordering::SeqCst);
    alice.network_available().await.unwrap();
    flushed(&alice).await;
    assert_eq!(server_messages(&t, &app, "team:general").await.len(), 3);
    alice.shutdown().await;
}

#[tokio::test]
async fn unreadable_or_invalid_outbox_rows_are_kept_aside_and_the_rest_is_sent() {
    let (t, app) = setup(&["alice"]).await;
    let dir = tempfile::tempdir().unwrap();
    let net = FaultyTransport::new(&t.server.base_url());
    let c = cid("team:general");
    // Queue one message offline, then shut down.
    {
        net.set_offline(true);
        let alice = client(&t, &app, "alice", Some(dir.path()), net.clone()).await;
        alice
            .send_message(&c, NewMessage::text("good"))
            .await
            .unwrap();
        alice.shutdown().await;
    }
    // A newer SDK (or a bug) left rows this build cannot use: one undecodable, one that
    // decodes but is invalid (a reaction type that cannot be a path segment).
    let path = ChatClient::builder(&t.server.base_url(), &app.app_id, "alice")
        .data_dir(dir.path())
        .cache_path()
        .unwrap();
    {
        let mut cache = chat_core::cache::Cache::open(&path).unwrap();
        cache
            .outbox_insert("future-op", &c, r#"{"op":"pin_message","op_id":"x"}"#)
            .unwrap();
        let bad = json!({
            "op_id": uuid::Uuid::now_v7(),
            "op": {"op": "add_reaction", "cid": "team:general",
                   "message_id": uuid::Uuid::now_v7(), "kind": "not a/valid type"},
        });
        cache.outbox_insert("bad-op", &c, &bad.to_string()).unwrap();
    }
    net.set_offline(false);
    let alice = client(&t, &app, "alice", Some(dir.path()), net.clone()).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while server_messages(&t, &app, "team:general").await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the good message was not sent"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let status = alice.status().await.unwrap();
    assert!(
        status
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("2 outbox rows"),
        "{status:?}"
    );
    alice.shutdown().await;
    // The rows are still there (never silently dropped).
    let cache = chat_core::cache::Cache::open(&path).unwrap();
    let ids: Vec<_> = cache
        .outbox_load()
        .unwrap()
        .into_iter()
        .map(|r| r.op_id)
        .collect();
    assert_eq!(ids, ["future-op", "bad-op"]);
}

/// Drafts: one per channel and per thread, kept across a restart, deleted by sending there
/// (with the message queued in the same write), never sent anywhere.
#[tokio::test]
async fn drafts_survive_a_restart_and_sending_deletes_them() {
    let t = chat_test::TestServer::start_unthrottled().await;
    let app = t.app_with_users(&["alice", "carol"]).await;
    t.user(&app, "carol")
        .create_channel("team:general", &["alice", "carol"])
        .await;
    let c = chat_test::cid("team:general");
    let dir = tempfile::tempdir().unwrap();
    let net = FaultyTransport::new(&t.server.base_url());
    let root = uuid::Uuid::now_v7();
    {
        let alice = client(&t, &app, "alice", Some(dir.path()), net.clone()).await;
        alice.set_draft(&c, None, "half a thought").await.unwrap();
        alice
            .set_draft(&c, Some(root), "a reply in the thread")
            .await
            .unwrap();
        let too_long = "x".repeat(5_001);
        assert!(alice.set_draft(&c, None, &too_long).await.is_err());
        alice.shutdown().await;
    }
    let alice = client(&t, &app, "alice", Some(dir.path()), net.clone()).await;
    let draft = alice.draft(&c, None).await.unwrap().expect("kept");
    assert_eq!(draft.text, "half a thought");
    assert_eq!(
        alice.draft(&c, Some(root)).await.unwrap().unwrap().text,
        "a reply in the thread"
    );
    alice
        .send_message(&c, chat_core::client::NewMessage::text("a whole thought"))
        .await
        .unwrap();
    assert_eq!(alice.draft(&c, None).await.unwrap(), None, "sent: gone");
    assert!(
        alice.draft(&c, Some(root)).await.unwrap().is_some(),
        "the thread's stays"
    );
    alice.set_draft(&c, Some(root), " ").await.unwrap();
    assert_eq!(
        alice.draft(&c, Some(root)).await.unwrap(),
        None,
        "blank: gone"
    );
    flushed(&alice).await;
    let log = net.log.lock().unwrap().clone();
    assert!(
        !log.iter().any(|r| r.contains("draft")),
        "drafts stay on the device: {log:?}"
    );
    alice.shutdown().await;
}
