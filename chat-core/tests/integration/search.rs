//! The merged search against the real chat-server: local hits (the cache's FTS5 index)
//! first, then the server's pages for history the cache does not hold, each message once;
//! offline, the local hits alone — an offline-sent message among them — and a page that
//! says the server was not reached.

use std::collections::HashSet;

use chat_core::client::{ChatClient, NewMessage, SearchHit, SearchQuery, ServerPart};
use chat_core::live::MessageState;
use chat_protocol::AppCredentials;
use chat_test::{TestServer, cid};
use uuid::Uuid;

use crate::support::client::*;

async fn setup(needles: usize) -> (TestServer, AppCredentials) {
    let t = TestServer::start_unthrottled().await;
    let app = t.app_with_users(&["alice", "carol"]).await;
    let carol = t.user(&app, "carol");
    carol
        .create_channel("team:general", &["alice", "carol"])
        .await;
    for i in 0..needles {
        carol
            .send_text("team:general", &format!("needle number {i}"), None)
            .await;
    }
    (t, app)
}

/// Every page of a search, in order.
async fn all_pages(client: &ChatClient, query: &SearchQuery) -> Vec<Vec<SearchHit>> {
    let mut pages = Vec::new();
    let mut cursor = None;
    for _ in 0..50 {
        let page = client.search(query.clone(), cursor).await.unwrap();
        assert!(
            matches!(page.server, ServerPart::Answered | ServerPart::Exhausted),
            "{:?}",
            page.server
        );
        pages.push(page.hits);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return pages,
        }
    }
    panic!("a search that never ends");
}

#[tokio::test]
async fn server_pages_add_the_history_the_cache_lacks_each_message_once() {
    // The bootstrap caches the newest 50 of a channel: 10 more are on the server only.
    let (t, app) = setup(60).await;
    let net = FaultyTransport::new(&t.server.base_url());
    let alice = client(&t, &app, "alice", None, net.clone()).await;
    alice.sync().await.unwrap();
    let mut query = SearchQuery::new("needle");
    query.limit = 20;
    let pages = all_pages(&alice, &query).await;
    let hits: Vec<&SearchHit> = pages.iter().flatten().collect();
    let ids: Vec<Uuid> = hits.iter().map(|h| h.message.id).collect();
    let unique: HashSet<Uuid> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "a message listed twice");
    assert_eq!(unique.len(), 60);
    let local = hits.iter().filter(|h| h.local).count();
    assert_eq!((local, hits.len() - local), (50, 10));
    // The first page answers the local hits first.
    assert!(pages[0].iter().take(20).all(|h| h.local));
    // Highlights come from both sides, as UTF-16 ranges of "needle".
    for h in &hits {
        assert_eq!(h.highlights.len(), 1, "{h:?}");
        assert_eq!((h.highlights[0].start, h.highlights[0].end), (0, 6));
    }
    // Old history reached only through the server: not local.
    let oldest = hits
        .iter()
        .find(|h| h.message.text == "needle number 0")
        .unwrap();
    assert!(!oldest.local);
}

#[tokio::test]
async fn offline_the_local_index_answers_and_finds_an_offline_sent_message() {
    let (t, app) = setup(3).await;
    let net = FaultyTransport::new(&t.server.base_url());
    let alice = client(&t, &app, "alice", None, net.clone()).await;
    alice.sync().await.unwrap();
    net.set_offline(true);
    let general = cid("team:general");
    let sent = alice
        .send_message(&general, NewMessage::text("offline pancakes tonight"))
        .await
        .unwrap();
    // As the user types: the last word is a prefix.
    let page = alice
        .search(SearchQuery::new("pancak"), None)
        .await
        .unwrap();
    assert!(
        matches!(page.server, ServerPart::NotReached { .. }),
        "{:?}",
        page.server
    );
    assert_eq!(page.hits.len(), 1);
    let hit = &page.hits[0];
    assert_eq!(hit.message.id, sent);
    assert!(hit.local && hit.pending);
    assert_eq!((hit.highlights[0].start, hit.highlights[0].end), (8, 16));
    // The instant local answer says the same.
    let local = alice
        .search_local(SearchQuery::new("pancakes"))
        .await
        .unwrap();
    assert_eq!(local.len(), 1);
    // The cursor keeps the server's position: the next page asks it again.
    let next = page.next.expect("the server part remains");
    net.set_offline(false);
    let again = alice
        .search(SearchQuery::new("pancak"), Some(next))
        .await
        .unwrap();
    assert_eq!(again.server, ServerPart::Answered);
    // Once delivered, the message is on the server too, and still listed once.
    let mut window = alice.messages(&general, 20).await.unwrap();
    until_window(&mut window, "the offline message sent", |items| {
        items
            .iter()
            .any(|m| m.message.id == sent && m.state == MessageState::Sent)
    })
    .await;
    let page = alice
        .search(SearchQuery::new("pancakes"), None)
        .await
        .unwrap();
    assert_eq!(page.server, ServerPart::Answered);
    let ids: Vec<Uuid> = page.hits.iter().map(|h| h.message.id).collect();
    assert_eq!(ids, [sent]);
    assert!(page.hits[0].local && !page.hits[0].pending);
}
