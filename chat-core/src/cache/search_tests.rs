//! Unit tests of the local full-text search: the index follows every write path.

use chat_protocol::{Change, TextRange, Timestamp};

use super::super::test_support::*;
use super::super::{Cache, LocalState};
use super::fts_query;

fn said(c: &str, n: u128, text: &str, rev: u64) -> chat_protocol::Message {
    let mut m = message(c, n, "alice", n as i64, rev);
    m.text = text.into();
    m
}

fn found(cache: &Cache, q: &str) -> Vec<String> {
    cache
        .search(q, None, 50, 0)
        .unwrap()
        .into_iter()
        .map(|h| h.cached.message.text)
        .collect()
}

fn synced(messages: Vec<chat_protocol::Message>) -> Cache {
    let mut cache = bob_cache();
    let s = state(
        channel("team:a", 1, Some(1)),
        vec![member("team:a", "bob", 1, false)],
        messages,
        false,
    );
    cache.apply_sync_page(&page(vec![s], vec![], "c1")).unwrap();
    cache
}

#[test]
fn synced_messages_are_found_ranked_with_highlights() {
    let cache = synced(vec![
        said("team:a", 1, "Lunch at the Café today?", 1),
        said("team:a", 2, "café café café", 2),
        said("team:a", 3, "nothing to see", 3),
    ]);
    // Case and accents are ignored; the denser match ranks first.
    assert_eq!(
        found(&cache, "cafe "),
        ["café café café", "Lunch at the Café today?"]
    );
    let hits = cache.search("lunch caf", None, 10, 0).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(
        hits[0].highlights,
        [
            TextRange { start: 0, end: 5 },
            TextRange { start: 13, end: 17 }
        ]
    );
    // Paging: the second page starts after the first.
    let second = cache.search("cafe", None, 1, 1).unwrap();
    assert_eq!(second[0].cached.message.text, "Lunch at the Café today?");
    assert!(found(&cache, "absent").is_empty());
    assert!(found(&cache, "  ").is_empty());
}

#[test]
fn edits_and_deletions_follow() {
    let m = said("team:a", 1, "old words", 1);
    let mut cache = synced(vec![m.clone()]);
    assert_eq!(found(&cache, "old"), ["old words"]);
    let mut edited = m.clone();
    edited.text = "new words".into();
    edited.rev = 2;
    let p = page(vec![], vec![Change::Message(edited.clone())], "c2");
    cache.apply_sync_page(&p).unwrap();
    assert!(found(&cache, "old").is_empty());
    assert_eq!(found(&cache, "words"), ["new words"]);
    let mut deleted = edited;
    deleted.rev = 3;
    deleted.deleted_at = Some(Timestamp::from_millis(1_800_000_000_000).unwrap());
    let p = page(vec![], vec![Change::Message(deleted)], "c3");
    cache.apply_sync_page(&p).unwrap();
    assert!(found(&cache, "words").is_empty());
}

#[test]
fn local_echoes_are_found_and_leave_with_their_channel_only_when_sent() {
    let mut cache = synced(vec![said("team:a", 1, "synced hello", 1)]);
    let mut echo = message("team:a", 9, "bob", 5, 0);
    echo.text = "offline hello".into();
    cache.insert_local_message(&echo, "op9", "{}").unwrap();
    let hits = cache.search("hello", None, 10, 0).unwrap();
    let echo_hit = hits
        .iter()
        .find(|h| h.cached.message.id == echo.id)
        .expect("the offline-sent message is found");
    assert_eq!(echo_hit.cached.local_state, Some(LocalState::Pending));
    // The server copy replaces the echo: found once, confirmed.
    let mut sent = echo.clone();
    sent.rev = 4;
    cache.apply_message_result(&sent).unwrap();
    let hits = cache.search("offline", None, 10, 0).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].cached.local_state, None);
    // A cancelled echo is not found any more.
    let mut other = message("team:a", 10, "bob", 6, 0);
    other.text = "cancelled draft".into();
    cache.insert_local_message(&other, "op10", "{}").unwrap();
    assert_eq!(found(&cache, "draft"), ["cancelled draft"]);
    cache.remove_local_message(&other.id, Some("op10")).unwrap();
    assert!(found(&cache, "draft").is_empty());
    // Leaving the channel drops its synced messages from the results.
    let p = page(
        vec![],
        vec![Change::Member(member("team:a", "bob", 7, true))],
        "c9",
    );
    cache.apply_sync_page(&p).unwrap();
    assert!(found(&cache, "hello").is_empty());
}

#[test]
fn a_channel_filter_and_dedup_by_id() {
    let mut cache = synced(vec![said("team:a", 1, "apple pie", 1)]);
    let s = state(
        channel("team:b", 1, Some(2)),
        vec![member("team:b", "bob", 1, false)],
        vec![said("team:b", 2, "apple tart", 2)],
        false,
    );
    cache.apply_sync_page(&page(vec![s], vec![], "c2")).unwrap();
    assert_eq!(found(&cache, "apple").len(), 2);
    let only_b = cache.search("apple", Some(&cid("team:b")), 10, 0).unwrap();
    assert_eq!(only_b.len(), 1);
    assert_eq!(only_b[0].cached.message.text, "apple tart");
    let matches = cache
        .search_matches("apple", &[id(1), id(2), id(3)])
        .unwrap();
    assert_eq!(matches, [id(1), id(2)].into_iter().collect());
    assert!(cache.search_matches("pie", &[id(2)]).unwrap().is_empty());
}

#[test]
fn search_text_is_never_query_syntax() {
    assert_eq!(
        fts_query("a\"b NEAR( x*"),
        Some("\"a\"\"b\" \"NEAR(\" \"x*\"*".into())
    );
    assert_eq!(fts_query("done "), Some("\"done\"".into()));
    assert_eq!(fts_query("-- ..."), None);
    let cache = synced(vec![said("team:a", 1, "use AND or NOT here", 1)]);
    for q in ["AND", "NOT here", "\"", "x OR", "col:term", "(", "^a"] {
        cache.search(q, None, 10, 0).unwrap();
    }
    assert_eq!(found(&cache, "and "), ["use AND or NOT here"]);
}

/// The FTS index finds the matches; each is then read by rowid (or id), never by a scan
/// of `messages`. Across channels the page is ranked inside FTS5 (index `32:M1`: its rank
/// sorter) before any row is read.
#[test]
fn the_search_is_index_backed() {
    let cache = bob_cache();
    for sql in [super::SEARCH, super::SEARCH_CHANNEL] {
        let search = plan(&cache, sql);
        assert!(
            search.contains("SCAN messages_fts VIRTUAL TABLE INDEX "),
            "{search}"
        );
        assert!(search.contains(":M1"), "{search}");
        assert!(
            search.contains("SEARCH m USING INTEGER PRIMARY KEY (rowid=?)"),
            "{search}"
        );
        assert!(!search.split(" | ").any(|d| d == "SCAN m"), "{search}");
    }
    assert!(plan(&cache, super::SEARCH).contains("INDEX 32:M1"));
    let matching = plan(&cache, super::MATCHING_IDS);
    assert!(
        matching.contains("sqlite_autoindex_messages_1 (id=?)"),
        "{matching}"
    );
    assert!(!matching.split(" | ").any(|d| d == "SCAN m"), "{matching}");
}

/// Several changes of one row in one transaction reach the index as their net effect: the
/// queue keeps what the index held before the transaction.
#[test]
fn changes_within_one_page_index_their_net_effect() {
    let mut cache = synced(vec![said("team:a", 1, "first draft", 1)]);
    let mut edited = said("team:a", 1, "second draft", 2);
    let mut again = said("team:a", 1, "third version", 3);
    let born = said("team:a", 2, "ephemeral note", 4);
    let mut gone = born.clone();
    gone.rev = 5;
    gone.deleted_at = Some(Timestamp::from_millis(1_800_000_000_000).unwrap());
    edited.edited_at = edited.deleted_at;
    again.edited_at = again.deleted_at;
    let p = page(
        vec![],
        vec![
            Change::Message(edited),
            Change::Message(again),
            Change::Message(born),
            Change::Message(gone),
        ],
        "c2",
    );
    cache.apply_sync_page(&p).unwrap();
    let queued = |cache: &Cache| -> i64 {
        cache
            .conn
            .query_row("SELECT count(*) FROM fts_queue", [], |r| r.get(0))
            .unwrap()
    };
    // Queued by the write, indexed by the flush (a search flushes first).
    assert_eq!(queued(&cache), 2);
    cache.flush_search_index().unwrap();
    assert_eq!(queued(&cache), 0);
    assert!(found(&cache, "draft").is_empty());
    assert_eq!(found(&cache, "version"), ["third version"]);
    assert!(found(&cache, "ephemeral").is_empty());
}
