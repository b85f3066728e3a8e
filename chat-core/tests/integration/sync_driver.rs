//! The sans-I/O [`SyncDriver`] driving a real file [`Cache`] against the real chat-server:
//! paged bootstrap and incremental syncs (limit 2) converge to the server's REST views, and
//! a compaction past the cursor makes the driver reset and bootstrap without losing the
//! outbox.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::cache::cache_for;
use crate::support::replica::{assert_replica, confirmed};
use chat_core::cache::Cache;
use chat_core::clock::Millis;
use chat_core::sync::{SyncConfig, SyncDriver, SyncEffect, SyncOutcome};
use chat_protocol::{ErrorBody, MessagesResponse, SyncResponse, UnreadResponse};
use chat_test::{Api, TestServer, cid};

/// Performs the driver's effects until it is idle; returns every effect seen (pages
/// reduced to their cursors).
async fn run(
    driver: &mut SyncDriver,
    cache: &mut Cache,
    api: &Api,
    now: &mut Millis,
) -> Vec<String> {
    let mut log = Vec::new();
    loop {
        let effects = driver.poll(*now);
        if effects.is_empty() {
            // waiting for a retry: advance the virtual clock
            let at = driver.next_wakeup().expect("waiting for a retry");
            *now = (*now).max(at);
            continue;
        }
        for effect in effects {
            match effect {
                SyncEffect::Fetch { path } => {
                    log.push(format!("fetch {path}"));
                    let (status, body) = api.get(&path).await;
                    let outcome = if status.is_success() {
                        let page: SyncResponse = serde_json::from_value(body).expect("page");
                        SyncOutcome::Ok(page)
                    } else {
                        SyncOutcome::Http {
                            status: status.as_u16(),
                            body: serde_json::from_value::<ErrorBody>(body).ok(),
                            retry_after: None,
                        }
                    };
                    driver.on_response(outcome, *now);
                }
                SyncEffect::Apply { page } => {
                    log.push(format!("apply {}", page.cursor));
                    match cache.apply_sync_page(&page) {
                        Ok(()) => driver.on_applied(*now),
                        Err(e) => driver.on_apply_failed(e.to_string(), *now),
                    }
                    assert_eq!(cache.cursor().unwrap().as_deref(), driver.cursor());
                }
                SyncEffect::Reset => {
                    log.push("reset".into());
                    match cache.reset_synced_data() {
                        Ok(()) => driver.on_reset_done(*now),
                        Err(e) => driver.on_apply_failed(e.to_string(), *now),
                    }
                }
                SyncEffect::NeedToken => panic!("the test token does not expire"),
                SyncEffect::RefreshUnread => {
                    log.push("unread".into());
                    let unread: UnreadResponse = api.fetch("/v1/unread").await;
                    cache.replace_unread_counts(&unread).unwrap();
                }
                SyncEffect::Done { cursor } => {
                    log.push(format!("done {cursor}"));
                    assert_eq!(cache.cursor().unwrap(), Some(cursor));
                }
                SyncEffect::Failed { status, body } => panic!("sync failed: {status} {body:?}"),
                SyncEffect::Idle => return log,
            }
        }
        *now = now.saturating_add(Duration::from_millis(1));
    }
}

/// The cache's confirmed messages of `c` equal the server's REST list.
async fn assert_messages(cache: &Cache, api: &Api, c: &str) {
    let rest: MessagesResponse = api
        .fetch(&format!(
            "/v1/channels/{}/messages?limit=100",
            c.replace(':', "/")
        ))
        .await;
    let cached = confirmed(cache.messages_window(&cid(c), 100, None).unwrap());
    assert_eq!(cached, rest.messages, "{c}");
}

#[tokio::test]
async fn the_driver_syncs_pages_into_the_cache_and_survives_a_reset() {
    let t = TestServer::start_with(|c| c.sync.bootstrap_channels = 1).await;
    let app = t.app_with_users(&["alice", "bob"]).await;
    let (alice, bob) = (t.user(&app, "alice"), t.user(&app, "bob"));
    let channels = ["team:dev", "team:ops", "messaging:ab"];
    for c in channels {
        alice.create_channel(c, &["bob"]).await;
        for i in 0..3 {
            alice.send_text(c, &format!("{c} before {i}"), None).await;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut cache, _path) = cache_for(&dir, "bob");
    let mut driver = SyncDriver::new(
        SyncConfig {
            limit: 2,
            ..SyncConfig::default()
        },
        7,
    );
    let mut now = Millis(1);

    // bootstrap, paged one channel at a time
    driver.start(cache.cursor().unwrap(), now);
    let log = run(&mut driver, &mut cache, &bob, &mut now).await;
    assert_eq!(log[0], "fetch /v1/sync?limit=2", "{log:?}");
    assert!(
        log.iter().filter(|l| l.starts_with("apply")).count() >= 3,
        "{log:?}"
    );
    assert!(log.ends_with(&[
        "unread".into(),
        format!("done {}", driver.cursor().unwrap())
    ]));
    assert_replica(&cache, &bob, "bob", &BTreeMap::new()).await;

    // alice writes more: incremental pages of 2 changes
    for c in channels {
        for i in 0..3 {
            let m = alice.send_text(c, &format!("{c} after {i}"), None).await;
            alice
                .send_text(c, &format!("reply {i}"), m["id"].as_str())
                .await;
        }
    }
    driver.start(cache.cursor().unwrap(), now);
    driver.start(None, now); // coalesced: one more (empty) sync after this one
    let log = run(&mut driver, &mut cache, &bob, &mut now).await;
    let applies = log.iter().filter(|l| l.starts_with("apply")).count();
    assert!(
        applies >= 10,
        "18 writes, each row once in its latest state, 2 changes per page: {log:?}"
    );
    assert_eq!(
        log.iter().filter(|l| l.starts_with("done")).count(),
        2,
        "{log:?}"
    );
    assert!(!log.contains(&"reset".to_owned()));
    for c in channels {
        assert_messages(&cache, &bob, c).await;
    }
    assert_replica(&cache, &bob, "bob", &BTreeMap::new()).await;

    // queued offline work, then the server compacts its history past bob's cursor
    cache
        .outbox_insert("op-1", &cid("team:dev"), "{\"read\":true}")
        .unwrap();
    for c in channels {
        alice
            .send_text(c, &format!("{c} while offline"), None)
            .await;
    }
    t.compact_to_head(&app, &bob).await;

    driver.start(cache.cursor().unwrap(), now);
    let log = run(&mut driver, &mut cache, &bob, &mut now).await;
    assert!(
        log[0].starts_with("fetch /v1/sync?limit=2&cursor="),
        "{log:?}"
    );
    assert_eq!(log[1], "reset", "{log:?}");
    assert_eq!(
        log[2], "fetch /v1/sync?limit=2",
        "bootstrap after the reset: {log:?}"
    );
    assert!(log.last().unwrap().starts_with("done "), "{log:?}");
    for c in channels {
        assert_messages(&cache, &bob, c).await;
    }
    let ops: Vec<String> = cache
        .outbox_load()
        .unwrap()
        .into_iter()
        .map(|o| o.op_id)
        .collect();
    assert_eq!(ops, ["op-1"], "the outbox survives the reset");

    // nothing new: one fetch, the same cursor
    let cursor = cache.cursor().unwrap();
    driver.start(cursor.clone(), now);
    let log = run(&mut driver, &mut cache, &bob, &mut now).await;
    assert_eq!(
        log.iter().filter(|l| l.starts_with("fetch")).count(),
        1,
        "{log:?}"
    );
    assert_eq!(cache.cursor().unwrap(), cursor);
}
