//! Several nodes on one PostgreSQL database, sharing realtime events through NATS
//! (`serve --nats-url`, `chat_server::realtime::NatsHub`), against the broker named by
//! `ONYXCHAT_TEST_NATS_URL` and the cluster named by `ONYXCHAT_TEST_DATABASE_URL`
//! (`cargo xtask test` starts both; `cargo xtask nats` and `cargo xtask postgres` start
//! them for running tests by hand):
//!
//! - **Fan-out**: a client of bob on node 2 receives, in order and exactly once, every
//!   change alice makes through node 1's REST API (send, edit, reaction, read), and
//!   alice's typing.
//! - **Presence across nodes**: alice on node 1 sees bob come online and go offline on
//!   node 2.
//! - **A node that dies**: when node 2 stops beating (no goodbye), alice sees bob go
//!   offline within the bound of `chat_server::realtime::cluster` (7 s).
//! - `--nats-url` without `--database-url` is refused.
//! - **Deployments sharing a broker** (`--nats-subject-prefix`): two deployments with
//!   prefixes of their own — one extending the other — and the same app, users and channel
//!   (one database copied from the other, as a staging copy of production would be) never
//!   hear each other: a change, typing and presence on deployment A reach A's other node
//!   and nothing of them reaches B, and a node of A dying makes A's node cut its clients
//!   off but not B's.
//!
//! Each test has a database of its own; the broker is shared (apps have random ids).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_protocol::AppCredentials;
use chat_server::realtime::{NatsHub, cluster};
use chat_server::store::SyncSettings;
use chat_server::store::postgres::PgStore;
use chat_server::{ServerConfig, server};
use chat_test::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::realtime::{Ws, connect_user, seq_of};
use chat_test::nodes::{KillableNode, database_cluster_url, fresh_database, nats_url};

fn config(database: &str, nats: &str, dir: &std::path::Path) -> ServerConfig {
    let mut config = ServerConfig::new(dir);
    config.addr = "127.0.0.1:0".parse().unwrap();
    config.database_url = Some(database.to_owned());
    config.nats_url = Some(nats.to_owned());
    config.database_pool_size = 4;
    config
}

/// A node serving `database` through the broker, as `serve --nats-url` starts it.
async fn node(database: &str) -> TestServer {
    TestServer::start_node(database, &nats_url(), |_| {}).await
}

/// A node started by hand, with its hub (to make it fall silent).
async fn node_with_hub(database: &str) -> (TestServer, NatsHub) {
    let hub = NatsHub::connect(&nats_url(), cluster::Subjects::default())
        .await
        .expect("broker");
    let store = PgStore::connect(database, 4, Arc::new(hub.clone()), SyncSettings::default())
        .await
        .expect("database");
    let dir = tempfile::tempdir().unwrap();
    let config = config(database, &nats_url(), dir.path());
    let server = server::start_with(config, Arc::new(store), Arc::new(hub.clone()))
        .await
        .expect("node starts");
    let http = reqwest::Client::new();
    (TestServer { server, dir, http }, hub)
}

/// Two nodes of one fresh database, an app with alice, bob and carol, and a channel of
/// alice and bob.
async fn two_nodes() -> (TestServer, TestServer, AppCredentials) {
    let database = fresh_database().await;
    let one = node(&database).await;
    let two = node(&database).await;
    let app = one.app("nats").await;
    one.users(&app, &["alice", "bob", "carol"]).await;
    one.user(&app, "alice")
        .channel("team", "general", &["bob"])
        .await;
    (one, two, app)
}

/// Reads `ws`'s publications (skipping other events) until one about `who`'s presence.
async fn next_presence(ws: &mut Ws, me: &str, who: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let item = ws.try_next(left).await;
        let v = match item {
            None => panic!("no presence of {who} within {within:?}"),
            Some(Err(end)) => panic!("socket ended: {end:?}"),
            Some(Ok(v)) => v,
        };
        let data = &v["push"]["pub"]["data"];
        if v.get("push").is_some() {
            assert_eq!(v["push"]["channel"], json!(format!("chat:user:{me}")));
        }
        if data["kind"] == json!("presence") && data["data"]["user_id"] == json!(who) {
            return data["data"]["online"].as_bool().unwrap();
        }
    }
}

/// Bob's next publication other than a presence event. Alice's presence reaches bob
/// whenever node 2 hears node 1's heartbeat (every 2 s), so it may come between any two
/// changes: it is ephemeral (no offset) and never part of the order checked here.
async fn next_not_presence(ws: &mut Ws) -> (Value, u64) {
    loop {
        let (data, offset) = ws.next_publication("bob").await;
        if data["kind"] != json!("presence") {
            return (data, offset);
        }
    }
}

/// Nothing but pings and presence events for `wait`.
async fn quiet_but_presence(ws: &mut Ws, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok((data, _)) = tokio::time::timeout_at(deadline, ws.next_publication("bob")).await {
        assert_eq!(
            data["kind"],
            json!("presence"),
            "expected silence, got {data}"
        );
    }
}

#[tokio::test]
async fn changes_typing_and_presence_cross_nodes() {
    let (one, two, app) = two_nodes().await;
    let (alice, bob) = (one.user(&app, "alice"), two.user(&app, "bob"));
    let (mut alice_ws, _) = connect_user(&one, &app, "alice").await;
    let (mut bob_ws, result) = connect_user(&two, &app, "bob").await;
    let connect_seq = result["data"]["seq"].as_u64().unwrap();
    let epoch = result["data"]["epoch"].as_str().unwrap().to_owned();
    assert!(
        next_presence(&mut alice_ws, "alice", "bob", Duration::from_secs(20)).await,
        "bob online, seen from the other node"
    );

    // Changes made through node 1: a send, an edit, a reaction, a read marker, a send.
    let m1 = alice.send("team:general", "one").await;
    let id = m1["id"].as_str().unwrap();
    let (s, b) = alice
        .patch(
            &format!("/v1/messages/{id}"),
            json!({"text": "one, edited"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = alice
        .post(
            &format!("/v1/messages/{id}/reactions"),
            json!({"type": "like"}),
        )
        .await;
    assert!(s.is_success(), "{b}");
    let (s, b) = alice
        .post("/v1/channels/team/general/read", json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    alice.send("team:general", "two").await;
    let (s, b) = alice
        .post("/v1/channels/team/general/typing", json!({"typing": true}))
        .await;
    assert!(s.is_success(), "{b}");

    // What bob's sync (through node 2) says happened since his connect.
    let cursor = format!("v1:{epoch}:{connect_seq}");
    let (pages, _) = bob.sync_all(Some(&cursor), 1000).await;
    let mut expected: BTreeMap<u64, Value> = BTreeMap::new();
    for page in &pages {
        for c in page["changes"].as_array().unwrap() {
            expected.insert(seq_of(c), c.clone());
        }
    }
    let kinds: std::collections::BTreeSet<&str> = expected
        .values()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["channel", "message", "reaction", "read"]
    );
    let last = *expected.keys().next_back().unwrap();

    // Node 2 pushed them in order, once each (offsets 1, 2, 3…), then the typing event.
    let mut pushed: BTreeMap<u64, Value> = BTreeMap::new();
    let mut prev = connect_seq;
    let mut offsets = Vec::new();
    while prev < last {
        let (data, offset) = next_not_presence(&mut bob_ws).await;
        let seq = seq_of(&data);
        assert!(seq > prev, "seq {seq} after {prev}: {data}");
        offsets.push(offset);
        pushed.insert(seq, data);
        prev = seq;
    }
    assert_eq!(offsets, (1..=offsets.len() as u64).collect::<Vec<_>>());
    // message, edit, reaction (+ the message's counts), read, message
    assert!(pushed.len() >= 5, "{pushed:?}");
    for (seq, change) in &expected {
        assert_eq!(pushed.get(seq), Some(change), "seq {seq} pushed as synced");
    }
    let typing = next_not_presence(&mut bob_ws).await.0;
    assert_eq!(
        typing,
        json!({"kind": "typing", "data": {"cid": "team:general", "user_id": "alice", "typing": true}})
    );
    quiet_but_presence(&mut bob_ws, Duration::from_millis(300)).await;

    // bob leaves node 2: alice hears it after the presence grace.
    bob_ws.close_and_wait().await;
    assert!(!next_presence(&mut alice_ws, "alice", "bob", Duration::from_secs(20)).await);
    // ...and comes back on node 2.
    let (bob_ws, _) = connect_user(&two, &app, "bob").await;
    assert!(next_presence(&mut alice_ws, "alice", "bob", Duration::from_secs(20)).await);
    bob_ws.close().await;
    alice_ws.close().await;
    one.server.stop().await.unwrap();
    two.server.stop().await.unwrap();
}

#[tokio::test]
async fn a_silent_node_s_users_go_offline_within_the_bound() {
    let database = fresh_database().await;
    let one = node(&database).await;
    let (two, hub) = node_with_hub(&database).await;
    let app = one.app("nats").await;
    one.users(&app, &["alice", "bob"]).await;
    one.user(&app, "alice")
        .channel("team", "general", &["bob"])
        .await;
    let (mut alice_ws, _) = connect_user(&one, &app, "alice").await;
    let (_bob_ws, _) = connect_user(&two, &app, "bob").await;
    assert!(next_presence(&mut alice_ws, "alice", "bob", Duration::from_secs(20)).await);

    // Node 2 dies as far as the cluster can tell: no more heartbeats, no goodbye (bob's
    // socket even stays open on it).
    let died = Instant::now();
    hub.halt();
    let bound = cluster::NODE_TTL + cluster::EXPIRY_TICK;
    // The bound itself is the presence table's rule, checked with time as an input in
    // `cluster`'s unit tests; here only that it happens, with room for a busy machine.
    let online = next_presence(
        &mut alice_ws,
        "alice",
        "bob",
        bound + Duration::from_secs(30),
    )
    .await;
    let took = died.elapsed();
    assert!(!online, "offline after {took:?} (bound {bound:?})");
    // not before the node could have been heard from (a heartbeat is 2 s)
    assert!(took >= cluster::NODE_TTL - cluster::HEARTBEAT, "{took:?}");
    alice_ws.close().await;
    one.server.stop().await.unwrap();
    two.server.stop().await.unwrap();
}

#[tokio::test]
async fn nats_without_postgres_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path());
    config.addr = "127.0.0.1:0".parse().unwrap();
    config.nats_url = Some("nats://127.0.0.1:1".into());
    let Err(e) = chat_server::start(config).await else {
        panic!("a SQLite node with a broker started");
    };
    assert!(e.to_string().contains("--database-url"), "{e}");
}

#[tokio::test]
async fn ready_while_the_broker_answers() {
    let database = fresh_database().await;
    let one = node(&database).await;
    let response = one
        .http
        .get(format!("{}/readyz", one.server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    one.server.stop().await.unwrap();
}

/// The text of bob's next pushed message (other changes and presence skipped).
async fn next_message_text(ws: &mut Ws) -> String {
    loop {
        let (data, _) = next_not_presence(ws).await;
        if data["kind"] == json!("message") {
            return data["data"]["text"].as_str().unwrap().to_owned();
        }
    }
}

/// A node that dies after serving an app makes the other nodes close their connections of
/// that app (a change it committed but never handed to the broker would be missed
/// otherwise: `cluster`'s module docs); a node that stops cleanly says so, and nobody
/// resyncs for it.
#[tokio::test]
async fn a_dead_node_s_apps_resync_and_a_clean_stop_makes_nobody_resync() {
    let database = fresh_database().await;
    let one = node(&database).await;
    let (two, hub) = node_with_hub(&database).await;
    let three = node(&database).await;
    let app = one.app("nats").await;
    one.users(&app, &["alice", "bob"]).await;
    one.user(&app, "alice")
        .channel("team", "general", &["bob"])
        .await;
    let (mut bob_ws, _) = connect_user(&one, &app, "bob").await;

    // Node 3 serves the app, then stops cleanly.
    three
        .user(&app, "alice")
        .send("team:general", "via 3")
        .await;
    assert_eq!(next_message_text(&mut bob_ws).await, "via 3");
    three.server.stop().await.unwrap();
    // Past its expiry bound, bob's socket is still the same one.
    tokio::time::sleep(cluster::NODE_TTL + cluster::EXPIRY_TICK + Duration::from_secs(2)).await;
    one.user(&app, "alice").send("team:general", "via 1").await;
    assert_eq!(next_message_text(&mut bob_ws).await, "via 1");

    // Node 2 serves the app, then dies: bob's connection to node 1 is closed so his client
    // resyncs.
    two.user(&app, "alice").send("team:general", "via 2").await;
    assert_eq!(next_message_text(&mut bob_ws).await, "via 2");
    hub.halt();
    let (code, reason) = bob_ws
        .expect_close_within(cluster::NODE_TTL + cluster::EXPIRY_TICK + Duration::from_secs(30))
        .await;
    assert_eq!(
        (code, reason.as_str()),
        (chat_protocol::realtime::disconnect_codes::SLOW, "slow")
    );
    one.server.stop().await.unwrap();
    two.server.stop().await.unwrap();
}

/// A copy of `database` (`CREATE DATABASE … TEMPLATE`, once its last connections are gone):
/// the same apps with the same ids and credentials.
async fn copy_of(database: &str) -> String {
    let (base, name) = database.rsplit_once('/').unwrap();
    let copy = format!("{name}_copy");
    let (client, connection) =
        tokio_postgres::connect(&database_cluster_url(), tokio_postgres::NoTls)
            .await
            .unwrap();
    let task = tokio::spawn(connection);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match client
            .batch_execute(&format!("CREATE DATABASE {copy} TEMPLATE {name}"))
            .await
        {
            Ok(()) => break,
            // the closed store's connections may take a moment to go
            Err(e) if Instant::now() < deadline => {
                eprintln!("copying {name}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("copying {name}: {e}"),
        }
    }
    drop(client);
    let _ = task.await;
    format!("{base}/{copy}")
}

/// Reads `ws` (bob's) until the message `text`, failing on anything but pings and the
/// channel's own changes (a send moves its `last_message_at`): no presence, typing or
/// other message.
async fn only_then(ws: &mut Ws, text: &str) {
    loop {
        let (data, _) = ws.next_publication("bob").await;
        if data["kind"] == json!("channel") {
            continue;
        }
        assert_eq!(
            data["kind"],
            json!("message"),
            "bob heard something else: {data}"
        );
        assert_eq!(
            data["data"]["text"],
            json!(text),
            "bob heard another message: {data}"
        );
        return;
    }
}

#[tokio::test]
async fn deployments_with_their_own_prefixes_never_hear_each_other() {
    // One app, copied: deployment B's database is a copy of A's, so the app, its
    // credentials and (once created on each) its users and channel are the same on both.
    let a_database = fresh_database().await;
    let store = PgStore::connect(
        &a_database,
        1,
        Arc::new(chat_server::realtime::InProcessHub::new()),
        SyncSettings::default(),
    )
    .await
    .unwrap();
    let app = chat_server::store::Store::create_app(&store, "shared")
        .await
        .unwrap();
    drop(store);
    let b_database = copy_of(&a_database).await;
    // B's prefix extends A's: neither subscription may match the other's subjects.
    let a_prefix = format!("t{}", uuid::Uuid::now_v7().simple());
    let b_prefix = format!("{a_prefix}.staging");
    let prefix = |p: &str| {
        let p = p.to_owned();
        move |c: &mut ServerConfig| c.nats_subject_prefix = p
    };
    let a1 = TestServer::start_node(&a_database, &nats_url(), prefix(&a_prefix)).await;
    let mut a2 = KillableNode::start(&a_database, &nats_url(), prefix(&a_prefix)).await;
    let b1 = TestServer::start_node(&b_database, &nats_url(), prefix(&b_prefix)).await;
    for node in [&a1, &b1] {
        node.users(&app, &["alice", "bob"]).await;
        node.user(&app, "alice")
            .channel("team", "general", &["bob"])
            .await;
    }
    let (mut bob_a, _) = connect_user(&a1, &app, "bob").await;
    let (mut bob_b, _) = connect_user(&b1, &app, "bob").await;

    // On A: alice connects to node 2, types and sends there; bob on node 1 hears all.
    let (alice_ws, _) = connect_user(&a2, &app, "alice").await;
    assert!(next_presence(&mut bob_a, "bob", "alice", Duration::from_secs(20)).await);
    let alice = a2.user(&app, "alice");
    let (s, b) = alice
        .post("/v1/channels/team/general/typing", json!({"typing": true}))
        .await;
    assert!(s.is_success(), "{b}");
    alice.send("team:general", "on A").await;
    assert_eq!(next_message_text(&mut bob_a).await, "on A");
    // Nothing of it reached B: bob there hears only B's own message, sent after.
    tokio::time::sleep(Duration::from_millis(500)).await;
    b1.user(&app, "alice").send("team:general", "on B").await;
    only_then(&mut bob_b, "on B").await;

    // A's node 2 dies (it served the app): A's node 1 cuts its clients of the app off
    // so they resync; B never heard of that node, so bob there stays connected.
    a2.kill();
    drop(alice_ws);
    let (code, _) = bob_a
        .expect_close_within(cluster::NODE_TTL + cluster::EXPIRY_TICK + Duration::from_secs(30))
        .await;
    assert_eq!(code, chat_protocol::realtime::disconnect_codes::SLOW);
    tokio::time::sleep(cluster::EXPIRY_TICK * 2).await;
    b1.user(&app, "alice")
        .send("team:general", "still on B")
        .await;
    only_then(&mut bob_b, "still on B").await;
    bob_b.close().await;
    a1.server.stop().await.unwrap();
    b1.server.stop().await.unwrap();
}

#[tokio::test]
async fn a_bad_subject_prefix_is_refused_at_start() {
    let database = fresh_database().await;
    for bad in ["", "a b", "a.*", "a.>", "a..b", ".a"] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(&database, &nats_url(), dir.path());
        config.nats_subject_prefix = bad.to_owned();
        let Err(e) = chat_server::start(config).await else {
            panic!("a node started with the subject prefix {bad:?}");
        };
        assert!(
            e.to_string().contains("--nats-subject-prefix"),
            "{bad:?}: {e}"
        );
    }
}
