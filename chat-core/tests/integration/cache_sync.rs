//! The cache against the real chat-server: a replica fed by `/v1/sync` pages (bootstrap,
//! incremental pages of 2 changes, limited channels with small windows) equals the
//! server's REST views; a failing page changes nothing; re-applying a page is a no-op;
//! a `410` reset keeps unsent work; a local echo becomes the server copy without a
//! duplicate; unusable files are refused and rebuilt without losing their bytes.

use std::collections::BTreeMap;

use crate::support::cache::{cache_for, dump, sync};
use crate::support::replica::{Depth, assert_replica, confirmed};
use chat_core::cache::{Cache, CacheError, LocalState, schema};
use chat_protocol::{Change, Message, MessagesResponse, SyncChange, SyncResponse};
use chat_test::workload::{Rng, random_write};
use chat_test::{Api, TestServer, cid, local_message};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn a_replica_fed_by_small_sync_pages_equals_the_server() {
    let t = TestServer::start_with(|c| c.sync.bootstrap_channels = 1).await;
    let app = t.app_with_users(&["alice", "bob", "carol"]).await;
    let apis: BTreeMap<&str, Api> = ["alice", "bob", "carol"]
        .into_iter()
        .map(|u| (u, t.user(&app, u)))
        .collect();
    let (alice, bob) = (&apis["alice"], &apis["bob"]);
    alice.create_channel("team:dev", &["bob", "carol"]).await;
    alice.create_channel("team:ops", &["bob"]).await;
    alice.create_channel("messaging:ac", &["carol"]).await;
    for i in 0..3 {
        alice
            .send_text("team:dev", &format!("before bootstrap {i}"), None)
            .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut cache, path) = cache_for(&dir, "bob");
    assert!(
        sync(&mut cache, bob, 2).await.len() >= 2,
        "bootstrap is paged"
    );
    let mut depth = BTreeMap::new();
    assert_replica(&cache, bob, "bob", &depth).await;

    let mut rng = Rng(7);
    let mut ids: BTreeMap<&str, Vec<(String, String, bool)>> = BTreeMap::new();
    let mut members: BTreeMap<&str, Vec<&str>> = BTreeMap::from([
        ("team:dev", vec!["alice", "bob", "carol"]),
        ("team:ops", vec!["alice", "bob"]),
        ("messaging:ac", vec!["alice", "carol"]),
    ]);
    let mut redelivered = Vec::new();
    for round in 0..8 {
        match round {
            1 => {
                alice
                    .patch("/v1/channels/team/dev", json!({"name": "Developers"}))
                    .await;
                alice
                    .post(
                        "/v1/channels/team/ops/members",
                        json!({"members": [{"user_id": "carol"}]}),
                    )
                    .await;
                members.get_mut("team:ops").unwrap().push("carol");
            }
            2 => {
                let (s, b) = alice.delete("/v1/channels/team/ops/members/bob").await;
                assert_eq!(s, StatusCode::OK, "{b}");
                members.get_mut("team:ops").unwrap().retain(|u| *u != "bob");
            }
            4 => {
                alice
                    .post(
                        "/v1/channels/team/ops/members",
                        json!({"members": [{"user_id": "bob"}]}),
                    )
                    .await;
                members.get_mut("team:ops").unwrap().push("bob");
                // re-joined: the channel comes back limited, without older replies
                depth.insert("team:ops".to_owned(), Depth::Window);
            }
            _ => {}
        }
        for i in 0..20 {
            let c = ["team:dev", "team:ops", "messaging:ac"][(round + i) % 3];
            let who = members[c].clone();
            random_write(&mut rng, &apis, &who, c, ids.entry(c).or_default(), round).await;
        }
        let pages = sync(&mut cache, bob, 2).await;
        if round >= 4 {
            // after the re-join: from here on every change is newer than any cached state
            redelivered.extend(pages.into_iter().flat_map(|p| p.changes));
        }
        assert_replica(&cache, bob, "bob", &depth).await;
        if round == 2 {
            assert!(
                cache.channel(&cid("team:ops")).unwrap().is_none(),
                "bob left ops"
            );
        }
    }
    // re-delivered changes, even out of order (realtime pushes overlapping the sync),
    // change nothing
    let before = dump(&path);
    assert!(redelivered.len() > 50, "{}", redelivered.len());
    redelivered.reverse();
    cache.apply_changes(&redelivered).unwrap();
    assert_eq!(dump(&path), before, "keep the higher rev");
    // nothing left to sync: one page, the same cursor, nothing changes
    let cursor = cache.cursor().unwrap();
    assert_eq!(sync(&mut cache, bob, 2).await.len(), 1);
    assert_eq!(cache.cursor().unwrap(), cursor);
    assert_eq!(dump(&path), before);
}

#[tokio::test]
async fn limited_channels_keep_only_their_window_and_scroll_back() {
    let t = TestServer::start_with(|c| {
        c.sync.limited_threshold = 4;
        c.sync.window = 3;
        c.sync.bootstrap_channels = 2;
    })
    .await;
    let app = t.app_with_users(&["alice", "bob"]).await;
    let (alice, bob) = (t.user(&app, "alice"), t.user(&app, "bob"));
    alice.create_channel("team:busy", &["bob"]).await;
    alice.create_channel("team:calm", &["bob"]).await;
    let mut busy = Vec::new();
    for i in 0..6 {
        busy.push(
            alice
                .send_text("team:busy", &format!("busy {i}"), None)
                .await,
        );
    }
    alice.send_text("team:calm", "calm 0", None).await;
    let dir = tempfile::tempdir().unwrap();
    let (mut cache, _) = cache_for(&dir, "bob");
    sync(&mut cache, &bob, 2).await;
    let depth = BTreeMap::from([("team:busy".to_owned(), Depth::Window)]);
    assert_replica(&cache, &bob, "bob", &depth).await;
    let w = cache.window(&cid("team:busy")).unwrap().unwrap();
    assert!(!w.reaches_start);
    assert_eq!(
        confirmed(cache.messages_window(&cid("team:busy"), 100, None).unwrap()).len(),
        3
    );
    assert!(
        cache
            .window(&cid("team:calm"))
            .unwrap()
            .unwrap()
            .reaches_start
    );

    // bob queues a message; busy then gets busy enough to come back limited
    let echo_id = Uuid::now_v7();
    let echo = local_message(echo_id, "team:busy", "bob", "queued");
    cache
        .insert_local_message(&echo, "op-1", "{\"send\":1}")
        .unwrap();
    for i in 6..12 {
        alice
            .send_text("team:busy", &format!("busy {i}"), None)
            .await;
    }
    alice.send_text("team:calm", "calm 1", None).await;
    sync(&mut cache, &bob, 2).await;
    assert_replica(&cache, &bob, "bob", &depth).await;
    let window = cache.messages_window(&cid("team:busy"), 100, None).unwrap();
    let texts: Vec<&str> = window.iter().map(|m| m.message.text.as_str()).collect();
    assert_eq!(
        texts,
        ["busy 9", "busy 10", "busy 11", "queued"],
        "the local echo survives"
    );
    assert_eq!(window[3].local_state, Some(LocalState::Pending));

    // a few changes (below the threshold): an edit of a message older than the window is
    // ignored, a reply to it is kept
    let old = busy[1]["id"].as_str().unwrap().to_owned();
    alice
        .patch(&format!("/v1/messages/{old}"), json!({"text": "old edit"}))
        .await;
    let reply = alice.send_text("team:busy", "late reply", Some(&old)).await;
    sync(&mut cache, &bob, 2).await;
    assert_replica(&cache, &bob, "bob", &depth).await;
    let old_id: Uuid = old.parse().unwrap();
    assert!(
        cache.message(&old_id).unwrap().is_none(),
        "no hole in the cached history"
    );
    let reply_id: Uuid = reply["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        cache.thread_replies(&old_id).unwrap()[0].message.id,
        reply_id
    );

    // scrolling back: older pages from the server extend the window to the start
    loop {
        let first = confirmed(cache.messages_window(&cid("team:busy"), 100, None).unwrap())[0].id;
        let page: MessagesResponse = bob
            .fetch(&format!(
                "/v1/channels/team/busy/messages?before={first}&limit=2"
            ))
            .await;
        assert!(cache.apply_history_page(&cid("team:busy"), &page).unwrap());
        if !page.has_more_before {
            break;
        }
    }
    assert!(
        cache
            .window(&cid("team:busy"))
            .unwrap()
            .unwrap()
            .reaches_start
    );
    assert_eq!(
        cache.message(&old_id).unwrap().unwrap().message.text,
        "old edit"
    );
    assert_replica(&cache, &bob, "bob", &depth).await;
}

/// Makes the cache file's next insert of a message containing `marker` fail, as a disk or
/// constraint failure would, through a second connection (no test hook in the cache).
fn inject_failure(path: &std::path::Path, marker: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(&format!(
        "CREATE TRIGGER inject BEFORE INSERT ON messages WHEN NEW.text LIKE '%{marker}%' \
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
    ))
    .unwrap();
}

fn remove_failure(path: &std::path::Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("DROP TRIGGER inject").unwrap();
}

/// Applies `page` with a failure injected at `marker` (nothing changes, the cursor stays),
/// then for real, then again (a no-op).
fn apply_after_a_failure(
    cache: &mut Cache,
    path: &std::path::Path,
    page: &SyncResponse,
    marker: &str,
) {
    let before = dump(path);
    let cursor = cache.cursor().unwrap();
    inject_failure(path, marker);
    let err = cache.apply_sync_page(page).unwrap_err();
    assert!(err.to_string().contains("injected failure"), "{err}");
    assert_eq!(dump(path), before, "nothing of the page was applied");
    assert_eq!(
        cache.cursor().unwrap(),
        cursor,
        "the cursor never passes unapplied data"
    );
    remove_failure(path);
    cache.apply_sync_page(page).unwrap();
    let applied = dump(path);
    assert_ne!(applied, before);
    assert_eq!(
        cache.cursor().unwrap().as_deref(),
        Some(page.cursor.as_str())
    );
    cache.apply_sync_page(page).unwrap();
    assert_eq!(
        dump(path),
        applied,
        "re-applying the same page changes nothing"
    );
}

#[tokio::test]
async fn a_failing_page_changes_nothing_and_a_repeated_page_is_a_no_op() {
    let t = TestServer::start_with(|_| {}).await;
    let app = t.app_with_users(&["alice", "bob"]).await;
    let (alice, bob) = (t.user(&app, "alice"), t.user(&app, "bob"));
    alice.create_channel("team:dev", &["bob"]).await;
    alice.send_text("team:dev", "hello", None).await;
    let dir = tempfile::tempdir().unwrap();
    let (mut cache, path) = cache_for(&dir, "bob");
    sync(&mut cache, &bob, 500).await;
    let m = alice.send_text("team:dev", "first", None).await;
    alice
        .post(
            &format!("/v1/messages/{}/reactions", m["id"].as_str().unwrap()),
            json!({"type": "like"}),
        )
        .await;
    alice.send_text("team:dev", "boom-change", None).await;
    alice.send_text("team:dev", "after", None).await;
    alice.create_channel("team:new", &["bob"]).await;
    alice.send_text("team:new", "boom-limited", None).await;

    // page 1: the newly joined channel, limited; the failure hits its window messages
    let (s, body) = bob.sync_page(cache.cursor().unwrap().as_deref(), 500).await;
    assert_eq!(s, StatusCode::OK);
    let limited: SyncResponse = serde_json::from_value(body).unwrap();
    assert_eq!(limited.limited.len(), 1);
    apply_after_a_failure(&mut cache, &path, &limited, "boom-limited");

    // page 2: the changes; a malformed change at its end fails the whole page
    let (s, body) = bob.sync_page(Some(&limited.cursor), 500).await;
    assert_eq!(s, StatusCode::OK);
    let page: SyncResponse = serde_json::from_value(body).unwrap();
    assert!(page.changes.len() >= 5, "{page:?}");
    let before = dump(&path);
    let mut bad = page.clone();
    let mut last = page
        .changes
        .iter()
        .find_map(|c| match &c.change {
            Change::Message(m) => Some(m.clone()),
            _ => None,
        })
        .unwrap();
    last.rev = u64::MAX;
    bad.changes.push(SyncChange {
        seq: u64::MAX,
        change: Change::Message(last),
    });
    assert!(matches!(
        cache.apply_sync_page(&bad),
        Err(CacheError::Invalid(_))
    ));
    assert_eq!(dump(&path), before);
    assert_eq!(
        cache.cursor().unwrap().as_deref(),
        Some(limited.cursor.as_str())
    );
    // ... and a storage failure in its middle (after "first" and its reaction) too
    apply_after_a_failure(&mut cache, &path, &page, "boom-change");
    assert!(!page.has_more);
    assert_replica(&cache, &bob, "bob", &BTreeMap::new()).await;
}

#[tokio::test]
async fn a_reset_keeps_queued_work_and_echoes_become_server_copies() {
    let t = TestServer::start_with(|_| {}).await;
    let app = t.app_with_users(&["alice", "bob"]).await;
    let (alice, bob) = (t.user(&app, "alice"), t.user(&app, "bob"));
    alice.create_channel("team:dev", &["bob"]).await;
    let m = alice.send_text("team:dev", "hello", None).await;
    let dir = tempfile::tempdir().unwrap();
    let (mut cache, _) = cache_for(&dir, "bob");
    sync(&mut cache, &bob, 500).await;

    // two messages queued offline
    let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
    cache
        .insert_local_message(
            &local_message(first, "team:dev", "bob", "one"),
            "op-1",
            "{\"n\":1}",
        )
        .unwrap();
    cache
        .insert_local_message(
            &local_message(second, "team:dev", "bob", "two"),
            "op-2",
            "{\"n\":2}",
        )
        .unwrap();
    cache
        .outbox_insert("op-3", &cid("team:dev"), "{\"read\":true}")
        .unwrap();

    // the server's history is compacted past bob's cursor: 410, reset, bootstrap
    alice
        .post(
            &format!("/v1/messages/{}/reactions", m["id"].as_str().unwrap()),
            json!({"type": "x"}),
        )
        .await;
    alice
        .delete(&format!(
            "/v1/messages/{}/reactions/x",
            m["id"].as_str().unwrap()
        ))
        .await;
    t.compact_to_head(&app, &bob).await;
    let (s, body) = bob.sync_page(cache.cursor().unwrap().as_deref(), 500).await;
    assert_eq!(
        (s, body["action"].as_str()),
        (StatusCode::GONE, Some("reset"))
    );
    cache.reset_synced_data().unwrap();
    assert_eq!(cache.cursor().unwrap(), None);
    assert!(cache.channel_list(10).unwrap().is_empty());
    sync(&mut cache, &bob, 500).await;
    assert_replica(&cache, &bob, "bob", &BTreeMap::new()).await;
    let ops: Vec<String> = cache
        .outbox_load()
        .unwrap()
        .into_iter()
        .map(|o| o.op_id)
        .collect();
    assert_eq!(
        ops,
        ["op-1", "op-2", "op-3"],
        "the outbox survives the reset"
    );
    let texts = |c: &Cache| -> Vec<(String, Option<LocalState>)> {
        c.messages_window(&cid("team:dev"), 50, None)
            .unwrap()
            .into_iter()
            .map(|m| (m.message.text, m.local_state))
            .collect()
    };
    assert_eq!(
        texts(&cache),
        [
            ("hello".into(), None),
            ("one".into(), Some(LocalState::Pending)),
            ("two".into(), Some(LocalState::Pending))
        ]
    );

    // "one" is sent but the reply is lost: the sync brings the server copy
    bob.send_with_id("team:dev", &first.to_string(), "one", None)
        .await;
    cache.outbox_remove("op-1").unwrap();
    sync(&mut cache, &bob, 500).await;
    assert_eq!(
        texts(&cache),
        [
            ("hello".into(), None),
            ("one".into(), None),
            ("two".into(), Some(LocalState::Pending))
        ]
    );
    // "two" is sent and its reply applied; the sync then re-delivers it: still one row
    let reply = bob
        .send_with_id("team:dev", &second.to_string(), "two", None)
        .await;
    let reply: Message = serde_json::from_value(reply).unwrap();
    assert!(cache.apply_message_result(&reply).unwrap());
    cache.outbox_remove("op-2").unwrap();
    sync(&mut cache, &bob, 500).await;
    assert_eq!(
        texts(&cache),
        [
            ("hello".into(), None),
            ("one".into(), None),
            ("two".into(), None)
        ]
    );
    assert_replica(&cache, &bob, "bob", &BTreeMap::new()).await;
}

#[test]
fn unusable_files_are_refused_then_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    // a database from a newer SDK
    let newer = dir.path().join("newer.db");
    {
        let mut cache = Cache::open(&newer).unwrap();
        cache.set_user("bob").unwrap();
        cache.outbox_insert("op", &cid("team:a"), "{}").unwrap();
    }
    let conn = rusqlite::Connection::open(&newer).unwrap();
    conn.pragma_update(None, "user_version", schema::SCHEMA_VERSION + 5)
        .unwrap();
    drop(conn);
    let bytes = std::fs::read(&newer).unwrap();
    match Cache::open(&newer) {
        Err(CacheError::TooNew { found, supported }) => {
            assert_eq!(
                (found, supported),
                (schema::SCHEMA_VERSION + 5, schema::SCHEMA_VERSION)
            );
        }
        other => panic!("expected TooNew, got {other:?}"),
    }
    assert_eq!(
        std::fs::read(&newer).unwrap(),
        bytes,
        "a refused file is not touched"
    );
    let (cache, rebuilt) = Cache::open_or_rebuild(&newer).unwrap();
    let rebuilt = rebuilt.unwrap();
    assert!(matches!(rebuilt.reason, CacheError::TooNew { .. }));
    assert_eq!(rebuilt.moved_to, dir.path().join("newer.db.newer-1"));
    assert_eq!(std::fs::read(&rebuilt.moved_to).unwrap(), bytes);
    assert!(cache.outbox_load().unwrap().is_empty());
    assert_eq!(cache.user(), None);

    // garbage bytes
    let garbage = dir.path().join("garbage.db");
    std::fs::write(
        &garbage,
        b"this is not a database, just some bytes".repeat(200),
    )
    .unwrap();
    assert!(matches!(Cache::open(&garbage), Err(CacheError::Corrupt(_))));
    for n in 1..=2 {
        std::fs::write(&garbage, b"garbage again".repeat(500)).unwrap();
        let (_, rebuilt) = Cache::open_or_rebuild(&garbage).unwrap();
        assert_eq!(
            rebuilt.unwrap().moved_to,
            dir.path().join(format!("garbage.db.corrupt-{n}"))
        );
    }

    // a database damaged after its header: detected when used, then rebuilt
    let damaged = dir.path().join("damaged.db");
    {
        let mut cache = Cache::open(&damaged).unwrap();
        cache.set_user("bob").unwrap();
        for i in 0..200 {
            cache
                .outbox_insert(
                    &format!("op{i}"),
                    &cid("team:a"),
                    &format!("{{\"pad\":\"{}\"}}", "x".repeat(500)),
                )
                .unwrap();
        }
    }
    let mut bytes = std::fs::read(&damaged).unwrap();
    let len = bytes.len();
    bytes[4096..len].fill(0xA5);
    std::fs::write(&damaged, &bytes).unwrap();
    let err = match Cache::open(&damaged) {
        Err(e) => e,
        Ok(cache) => cache.outbox_load().unwrap_err(),
    };
    assert!(matches!(err, CacheError::Corrupt(_)), "{err:?}");
    let (cache, rebuilt) = Cache::rebuild(&damaged, err).unwrap();
    assert_eq!(rebuilt.moved_to, dir.path().join("damaged.db.corrupt-1"));
    assert_eq!(std::fs::read(&rebuilt.moved_to).unwrap(), bytes);
    assert!(cache.outbox_load().unwrap().is_empty());
}
