//! Full-text search: every backend finds the same messages — whole words, ignoring case
//! and accents, in the caller's current channels only, live messages only, newest first,
//! paged by its cursor — and marks the same ranges.

use chat_protocol::{SearchResponse, TextRange, UpdateMessageRequest};
use chat_server::store::search::{SearchQuery, decode_cursor};
use chat_server::store::{Actor, Store, StoreError};

use super::{Factory, app_with_users, channel, msg, open};

fn query(words: &[&str], limit: u32) -> SearchQuery {
    SearchQuery {
        words: words.iter().map(|w| (*w).to_owned()).collect(),
        cid: None,
        before: None,
        limit,
    }
}

fn texts(r: &SearchResponse) -> Vec<&str> {
    r.results.iter().map(|h| h.message.text.as_str()).collect()
}

async fn find(s: &dyn Store, app: &str, user: &str, words: &[&str]) -> Vec<String> {
    let r = s.search(app, user, query(words, 50)).await.unwrap();
    texts(&r).into_iter().map(str::to_owned).collect()
}

pub async fn search_finds_the_callers_live_messages_newest_first(factory: Factory) {
    let (store, _rec, _g) = open(factory).await;
    let s = store.as_ref();
    let app = app_with_users(s, "search", &["ann", "bob", "cat"]).await;
    let other = app_with_users(s, "search-other", &["ann"]).await;
    let a = &app.app_id;
    let shared = channel(s, a, "ann", "shared", &["bob"]).await;
    let private = channel(s, a, "cat", "private", &["ann"]).await;
    let foreign = channel(s, &other.app_id, "ann", "shared", &[]).await;
    s.send_message(a, "ann", &shared, msg("Lunch at the Café?"), false)
        .await
        .unwrap();
    let (edited, _) = s
        .send_message(a, "bob", &shared, msg("lunch is late"), false)
        .await
        .unwrap();
    let (deleted, _) = s
        .send_message(a, "bob", &shared, msg("lunch deleted"), false)
        .await
        .unwrap();
    s.send_message(a, "cat", &private, msg("secret lunch"), false)
        .await
        .unwrap();
    s.send_message(
        &other.app_id,
        "ann",
        &foreign,
        msg("lunch elsewhere"),
        false,
    )
    .await
    .unwrap();

    // Newest first; accents and case ignored; whole words only.
    assert_eq!(
        find(s, a, "bob", &["LUNCH"]).await,
        ["lunch deleted", "lunch is late", "Lunch at the Café?"]
    );
    assert_eq!(find(s, a, "bob", &["cafe"]).await, ["Lunch at the Café?"]);
    assert!(find(s, a, "bob", &["lun"]).await.is_empty());
    // Every word must match.
    assert_eq!(
        find(s, a, "bob", &["lunch", "late"]).await,
        ["lunch is late"]
    );
    // Highlights: UTF-16 ranges of the matched words in the text as sent.
    let r = s
        .search(a, "bob", query(&["cafe", "lunch"], 5))
        .await
        .unwrap();
    let hit = r
        .results
        .iter()
        .find(|h| h.message.text.contains("Café"))
        .unwrap();
    assert_eq!(
        hit.highlights,
        [
            TextRange { start: 0, end: 5 },
            TextRange { start: 13, end: 17 }
        ]
    );

    // Edits and deletions follow.
    let edit = UpdateMessageRequest {
        text: Some("dinner is late".into()),
        ..Default::default()
    };
    s.update_message(a, &Actor::user("bob"), edited.id, edit)
        .await
        .unwrap();
    s.delete_message(a, &Actor::user("bob"), deleted.id)
        .await
        .unwrap();
    assert_eq!(find(s, a, "bob", &["lunch"]).await, ["Lunch at the Café?"]);
    assert_eq!(find(s, a, "bob", &["dinner"]).await, ["dinner is late"]);

    // Only the caller's channels of the caller's app: ann sees both of hers, bob one.
    assert_eq!(
        find(s, a, "ann", &["lunch"]).await,
        ["secret lunch", "Lunch at the Café?"]
    );
    assert_eq!(
        find(s, &other.app_id, "ann", &["lunch"]).await,
        ["lunch elsewhere"]
    );
    // A member who leaves finds nothing there any more.
    s.remove_member(a, &Actor::user("ann"), &private, "ann")
        .await
        .unwrap();
    assert_eq!(find(s, a, "ann", &["lunch"]).await, ["Lunch at the Café?"]);
    assert!(find(s, a, "nobody", &["lunch"]).await.is_empty());

    // One channel: members only; others answer as if it did not exist.
    let mut only = query(&["secret"], 10);
    only.cid = Some(private.clone());
    assert_eq!(
        texts(&s.search(a, "cat", only.clone()).await.unwrap()),
        ["secret lunch"]
    );
    match s.search(a, "bob", only.clone()).await {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("an outsider's channel search must be NotFound: {other:?}"),
    }
    match s.search(a, "ann", only).await {
        Err(StoreError::NotAMember(_)) => {}
        other => panic!("a former member's channel search must be NotAMember: {other:?}"),
    }
}

pub async fn search_pages_with_its_cursor(factory: Factory) {
    let (store, _rec, _g) = open(factory).await;
    let s = store.as_ref();
    let app = app_with_users(s, "search-pages", &["ann", "bob"]).await;
    let a = &app.app_id;
    let one = channel(s, a, "ann", "one", &["bob"]).await;
    let two = channel(s, a, "ann", "two", &["bob"]).await;
    for i in 0..7 {
        let cid = if i % 2 == 0 { &one } else { &two };
        s.send_message(a, "ann", cid, msg(&format!("note {i}")), false)
            .await
            .unwrap();
    }
    let mut q = query(&["note"], 3);
    let mut seen = Vec::new();
    loop {
        let page = s.search(a, "bob", q.clone()).await.unwrap();
        assert!(page.results.len() <= 3);
        seen.extend(texts(&page).into_iter().map(str::to_owned));
        match page.next_cursor {
            Some(c) => q.before = Some(decode_cursor(&c).expect("a cursor the server issued")),
            None => break,
        }
    }
    let expected: Vec<String> = (0..7).rev().map(|i| format!("note {i}")).collect();
    assert_eq!(seen, expected);
}
