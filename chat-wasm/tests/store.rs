//! chat-core's store on wasm32: the same SQLite cache, compiled to wasm through
//! sqlite-wasm-rs, run by `wasm-bindgen-test-runner` under Node (`cargo xtask test`). A
//! sync page lands together with its cursor; a file database reopens with its data and
//! outbox (the rollback journal replaces WAL on wasm); a batch with an invalid change
//! writes nothing.

#![cfg(target_arch = "wasm32")]

use chat_core::cache::Cache;
use chat_core::cache::test_support::{bob_cache, channel, cid, dump, member, message, page, state};
use chat_protocol::{Change, SyncChange};
use wasm_bindgen_test::wasm_bindgen_test;

fn texts(cache: &Cache, c: &str) -> Vec<String> {
    cache
        .messages_window(&cid(c), 50, None)
        .unwrap()
        .into_iter()
        .map(|m| m.message.text)
        .collect()
}

#[wasm_bindgen_test]
fn a_sync_page_lands_with_its_cursor() {
    let mut cache = bob_cache();
    let messages: Vec<_> = (1..=3)
        .map(|n| message("team:a", n, "alice", n as i64 * 10, n as u64 + 1))
        .collect();
    let first = page(
        vec![state(
            channel("team:a", 1, Some(30)),
            vec![member("team:a", "bob", 1, false)],
            messages.clone(),
            false,
        )],
        vec![],
        "c1",
    );
    cache.apply_sync_page(&first).unwrap();
    assert_eq!(cache.cursor().unwrap().as_deref(), Some("c1"));
    assert_eq!(texts(&cache, "team:a"), ["m1 r2", "m2 r3", "m3 r4"]);

    let mut edited = messages[1].clone();
    edited.text = "edited".into();
    edited.rev = 9;
    cache
        .apply_sync_page(&page(vec![], vec![Change::Message(edited)], "c2"))
        .unwrap();
    assert_eq!(cache.cursor().unwrap().as_deref(), Some("c2"));
    assert_eq!(texts(&cache, "team:a"), ["m1 r2", "edited", "m3 r4"]);
    let list = cache.channel_list(10).unwrap();
    assert_eq!(list.len(), 1);
}

#[wasm_bindgen_test]
fn a_file_database_reopens_with_its_data_and_outbox() {
    let path = "/onyxchat/reopen.sqlite3";
    {
        let mut cache = Cache::open(path).unwrap();
        cache.set_user("bob").unwrap();
        cache
            .apply_sync_page(&page(
                vec![state(
                    channel("team:b", 1, Some(10)),
                    vec![member("team:b", "bob", 1, false)],
                    vec![message("team:b", 7, "alice", 10, 2)],
                    false,
                )],
                vec![],
                "kept",
            ))
            .unwrap();
        cache
            .outbox_insert("op-1", &cid("team:b"), r#"{"queued":true}"#)
            .unwrap();
    }
    let cache = Cache::open(path).unwrap();
    assert_eq!(cache.cursor().unwrap().as_deref(), Some("kept"));
    assert_eq!(texts(&cache, "team:b"), ["m7 r2"]);
    let outbox = cache.outbox_load().unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].op_id, "op-1");
}

#[wasm_bindgen_test]
fn a_batch_with_an_invalid_change_writes_nothing() {
    let mut cache = bob_cache();
    cache
        .apply_sync_page(&page(
            vec![state(channel("team:c", 1, None), vec![], vec![], false)],
            vec![],
            "c1",
        ))
        .unwrap();
    let before = dump(&cache);
    let good = message("team:c", 1, "alice", 10, 2);
    let mut bad = message("team:c", 2, "alice", 20, 3);
    bad.rev = u64::MAX; // beyond what the cache can store
    let batch: Vec<SyncChange> = [good, bad]
        .into_iter()
        .map(|m| SyncChange {
            seq: m.rev,
            change: Change::Message(m),
        })
        .collect();
    assert!(cache.apply_changes(&batch).is_err());
    assert_eq!(dump(&cache), before);
}
