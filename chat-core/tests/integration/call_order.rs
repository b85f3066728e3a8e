//! A call answers only after the live lists it changed were sent their diffs: when
//! `send_message` returns, the window's stream already holds the echo; when `sync`
//! returns, the synced messages are in the window. The engine runs on a thread of its
//! own, in parallel with the caller (here on a two-worker runtime), so this holds only
//! because the engine answers at the end of its step (`Engine::answer`), never because
//! the caller happened to run later.

use chat_test::{TestServer, cid};

use chat_core::client::NewMessage;

use crate::support::client::{FaultyTransport, client};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_returns_after_the_live_lists_it_changed_received_their_diffs() {
    let t = TestServer::start().await;
    let app = t.app_with_users(&["alice", "bob"]).await;
    let bob_api = t.user(&app, "bob");
    bob_api
        .create_channel("team:order", &["alice", "bob"])
        .await;
    let transport = FaultyTransport::new(&t.server.base_url());
    let alice = client(&t, &app, "alice", None, transport).await;
    alice.sync().await.expect("synced");
    let team = cid("team:order");
    let mut window = alice.messages(&team, 50).await.expect("window");

    for i in 0..60 {
        let id = alice
            .send_message(&team, NewMessage::text(format!("mine {i}")))
            .await
            .expect("sent");
        // No waiting: only what was delivered before the call returned.
        window.drain();
        assert!(
            window.items().iter().any(|m| m.id() == id),
            "send {i} returned before its echo reached the window"
        );
    }
    for round in 0..5 {
        let sent = bob_api.send("team:order", &format!("bob {round}")).await;
        let id = sent["id"].as_str().expect("id").to_owned();
        alice.sync().await.expect("synced");
        window.drain();
        assert!(
            window.items().iter().any(|m| m.id().to_string() == id),
            "sync {round} returned before bob's message reached the window"
        );
    }
    alice.shutdown().await;
}
