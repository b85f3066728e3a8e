//! `/v1/sync` integration tests: bootstrap paging, incremental diffs in seq order,
//! tombstones, paging across `has_more`, limited channels, 410 resets, and a replica that
//! applies sync pages converging to the server's state.

use std::collections::BTreeMap;

use chat_test::{Api, TestServer, new_id, urlencode};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn changes(pages: &[Value]) -> Vec<Value> {
    pages
        .iter()
        .flat_map(|p| p["changes"].as_array().unwrap().clone())
        .collect()
}

fn kinds(changes: &[Value]) -> Vec<String> {
    changes
        .iter()
        .map(|c| c["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_seq_order(changes: &[Value]) {
    let seqs: Vec<u64> = changes.iter().map(|c| c["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "seqs strictly increase: {seqs:?}"
    );
    for c in changes {
        assert_eq!(c["seq"], c["data"]["rev"], "rev = seq: {c}");
    }
}

async fn three_users() -> (TestServer, Api, Api, Api, chat_protocol::AppCredentials) {
    let t = TestServer::start_with(|c| {
        c.sync.limited_threshold = 20;
        c.sync.window = 10;
        c.sync.bootstrap_channels = 2;
    })
    .await;
    let app = t.app("a").await;
    t.users(&app, &["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (
        t.user(&app, "alice"),
        t.user(&app, "bob"),
        t.user(&app, "carol"),
    );
    (t, alice, bob, carol, app)
}

#[tokio::test]
async fn bootstrap_pages_channels_as_limited() {
    let (_t, alice, bob, _, _) = three_users().await;
    for i in 0..5 {
        alice.channel("team", &format!("t{i}"), &["bob"]).await;
        for j in 0..(i * 4) {
            alice
                .send(&format!("team:t{i}"), &format!("t{i}-{j}"))
                .await;
        }
    }
    let (pages, cursor) = bob.sync_all(None, 500).await;
    assert_eq!(pages.len(), 3, "5 channels, 2 per bootstrap page");
    assert!(
        pages
            .iter()
            .all(|p| p["changes"].as_array().unwrap().is_empty())
    );
    let limited: Vec<&Value> = pages
        .iter()
        .flat_map(|p| p["limited"].as_array().unwrap())
        .collect();
    let cids: Vec<&str> = limited
        .iter()
        .map(|s| s["channel"]["cid"].as_str().unwrap())
        .collect();
    assert_eq!(
        cids,
        ["team:t0", "team:t1", "team:t2", "team:t3", "team:t4"]
    );
    let t4 = limited[4];
    assert_eq!(
        t4["messages"].as_array().unwrap().len(),
        10,
        "the newest window"
    );
    assert_eq!(t4["messages"][9]["text"], "t4-15");
    assert_eq!(t4["has_more"], true);
    assert_eq!(t4["unread"]["unread_count"], 16);
    assert_eq!(limited[1]["has_more"], false);
    assert!(
        cursor.starts_with("v1:") && cursor.split(':').count() == 3,
        "{cursor}"
    );
    // nothing new → an empty page with the same cursor
    let (pages, again) = bob.sync_all(Some(&cursor), 500).await;
    assert!(changes(&pages).is_empty() && pages[0]["limited"].as_array().unwrap().is_empty());
    assert_eq!(again, cursor);
}

#[tokio::test]
async fn incremental_changes_and_tombstones() {
    let (_t, alice, bob, carol, _) = three_users().await;
    alice.channel("team", "dev", &["bob", "carol"]).await;
    let keep = alice.send("team:dev", "keep").await;
    let (_, cursor) = bob.sync_all(None, 500).await;
    let m = carol.send("team:dev", "hello").await;
    let id = m["id"].as_str().unwrap();
    carol
        .patch(&format!("/v1/messages/{id}"), json!({"text": "hello!"}))
        .await;
    alice
        .post(
            &format!("/v1/messages/{id}/reactions"),
            json!({"type": "like"}),
        )
        .await;
    alice
        .delete(&format!("/v1/messages/{id}/reactions/like"))
        .await;
    carol.delete(&format!("/v1/messages/{id}")).await;
    bob.post("/v1/channels/team/dev/read", json!({})).await;
    alice.delete("/v1/channels/team/dev/members/carol").await;
    let (pages, cursor2) = bob.sync_all(Some(&cursor), 500).await;
    let all = changes(&pages);
    assert_seq_order(&all);
    // each row appears once, in its latest state
    let k = kinds(&all);
    assert_eq!(
        k,
        ["reaction", "message", "read", "member", "channel"],
        "{all:#?}"
    );
    let msg = &all[1]["data"];
    assert_eq!(
        (msg["id"].as_str(), msg["text"].as_str()),
        (Some(id), Some(""))
    );
    assert!(msg["deleted_at"].is_string(), "tombstone");
    assert_eq!(all[0]["data"]["deleted"], true, "reaction tombstone");
    assert_eq!(
        (
            all[3]["data"]["user_id"].as_str(),
            all[3]["data"]["deleted"].as_bool()
        ),
        (Some("carol"), Some(true))
    );
    assert_eq!(all[4]["data"]["member_count"], 2);
    assert!(cursor2 != cursor);
    // an old cursor still gets a correct diff: from the first cursor carol's removal shows
    // up for carol herself, and nothing after it
    let (pages, carol_cursor) = carol.sync_all(Some(&cursor), 500).await;
    let mine = changes(&pages);
    assert_seq_order(&mine);
    let last = mine.last().unwrap();
    assert_eq!(
        (last["kind"].as_str(), last["data"]["deleted"].as_bool()),
        (Some("member"), Some(true))
    );
    alice.send("team:dev", "after carol left").await;
    let (pages, _) = carol.sync_all(Some(&carol_cursor), 500).await;
    assert!(
        changes(&pages).is_empty(),
        "a removed member gets nothing more"
    );
    let _ = keep;
}

#[tokio::test]
async fn paging_across_has_more_matches_one_big_page() {
    let (_t, alice, bob, _, _) = three_users().await;
    alice.channel("team", "a", &["bob"]).await;
    alice.channel("team", "b", &["bob"]).await;
    let (_, cursor) = bob.sync_all(None, 500).await;
    for i in 0..15 {
        let cid = if i % 2 == 0 { "team:a" } else { "team:b" };
        let m = alice.send(cid, &format!("m{i}")).await;
        if i % 5 == 0 {
            bob.post(
                &format!("/v1/messages/{}/reactions", m["id"].as_str().unwrap()),
                json!({"type": "ok"}),
            )
            .await;
        }
    }
    let (big, end_big) = bob.sync_all(Some(&cursor), 1000).await;
    assert_eq!(big.len(), 1);
    let (small, end_small) = bob.sync_all(Some(&cursor), 4).await;
    assert_eq!(small.len(), 5, "20 changes in pages of 4");
    assert!(
        small[..small.len() - 1]
            .iter()
            .all(|p| p["has_more"] == true)
    );
    let (a, b) = (changes(&big), changes(&small));
    assert_seq_order(&b);
    assert_eq!(a, b, "same changes, no gap, no duplicate");
    assert_eq!(end_big, end_small);
    for (status, q) in [
        (StatusCode::BAD_REQUEST, "limit=0"),
        (StatusCode::BAD_REQUEST, "limit=1001"),
    ] {
        let (s, _) = bob.get(&format!("/v1/sync?{q}")).await;
        assert_eq!(s, status, "{q}");
    }
}

#[tokio::test]
async fn busy_and_joined_channels_come_back_limited() {
    let (_t, alice, bob, carol, _) = three_users().await;
    alice.channel("team", "busy", &["bob"]).await;
    alice.channel("team", "quiet", &["bob"]).await;
    alice.channel("team", "club", &["bob"]).await;
    for i in 0..12 {
        alice.send("team:club", &format!("history {i}")).await;
    }
    let (_, bob_cursor) = bob.sync_all(None, 500).await;
    let (_, carol_cursor) = carol.sync_all(None, 500).await;
    for i in 0..25 {
        alice.send("team:busy", &format!("b{i}")).await;
    }
    alice.send("team:quiet", "q").await;
    alice
        .post(
            "/v1/channels/team/club/members",
            json!({"members": [{"user_id": "carol"}]}),
        )
        .await;
    let (pages, _) = bob.sync_all(Some(&bob_cursor), 500).await;
    let limited: Vec<&str> = pages[0]["limited"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["channel"]["cid"].as_str().unwrap())
        .collect();
    assert_eq!(limited, ["team:busy"]);
    let busy = &pages[0]["limited"][0];
    assert_eq!(busy["messages"].as_array().unwrap().len(), 10);
    assert_eq!(busy["messages"][9]["text"], "b24");
    // The page names the seq its states are complete up to: everything in them is at or
    // below it (clients keep their own newer rows when replacing the channel).
    let snap = pages[0]["limited_seq"]
        .as_u64()
        .expect("a page with limited channels names their snapshot seq");
    let newest = busy["messages"]
        .as_array()
        .unwrap()
        .iter()
        .chain(busy["members"].as_array().unwrap())
        .map(|row| row["rev"].as_u64().unwrap())
        .max()
        .unwrap();
    assert!(newest <= snap, "{newest} > {snap}");
    assert!(
        pages.iter().skip(1).all(|p| p.get("limited_seq").is_none()),
        "pages without limited channels carry no limited_seq"
    );
    let streamed = changes(&pages);
    assert!(
        streamed.iter().all(|c| c["data"]["cid"] != "team:busy"),
        "busy channel not streamed"
    );
    assert!(streamed.iter().any(|c| c["data"]["text"] == "q"));
    // carol joined "club" after her cursor: she gets it limited, history included
    let (pages, _) = carol.sync_all(Some(&carol_cursor), 500).await;
    let club = &pages[0]["limited"][0];
    assert_eq!(club["channel"]["cid"], "team:club");
    assert_eq!(club["messages"].as_array().unwrap().len(), 10);
    assert_eq!(
        club["unread"]["unread_count"], 0,
        "history from before joining is not unread"
    );
}

#[tokio::test]
async fn cursor_errors_and_resets() {
    let (t, alice, bob, _, app) = three_users().await;
    alice.channel("team", "dev", &["bob"]).await;
    let m = alice.send("team:dev", "x").await;
    let (_, cursor) = bob.sync_all(None, 500).await;
    let epoch = cursor.split(':').nth(1).unwrap().to_owned();
    let get = |c: String| {
        let bob = bob.clone();
        async move { bob.get(&format!("/v1/sync?cursor={}", urlencode(&c))).await }
    };
    for bad in [
        "garbage",
        "v2:abc:1",
        "v1:abc:x",
        "v1::1",
        "v1:abc:1:not-a-cid",
    ] {
        let (s, b) = get(bad.to_owned()).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_cursor")),
            "{bad}"
        );
    }
    for gone in ["v1:otherepoch:1".to_owned(), format!("v1:{epoch}:999999")] {
        let (s, b) = get(gone.clone()).await;
        assert_eq!(s, StatusCode::GONE, "{gone}");
        assert_eq!(
            (b["code"].as_str(), b["action"].as_str()),
            (Some("cursor_expired"), Some("reset"))
        );
    }
    // compaction: tombstones before the horizon are purged and older cursors must reset
    alice
        .post(
            &format!("/v1/messages/{}/reactions", m["id"].as_str().unwrap()),
            json!({"type": "a"}),
        )
        .await;
    alice
        .delete(&format!(
            "/v1/messages/{}/reactions/a",
            m["id"].as_str().unwrap()
        ))
        .await;
    let (_, newer) = bob.sync_all(Some(&cursor), 500).await;
    let horizon: u64 = newer.split(':').nth(2).unwrap().parse().unwrap();
    t.server.store.compact(&app.app_id, horizon).await.unwrap();
    let (s, b) = get(cursor.clone()).await;
    assert_eq!((s, b["action"].as_str()), (StatusCode::GONE, Some("reset")));
    let (s, _) = get(newer.clone()).await;
    assert_eq!(s, StatusCode::OK, "a cursor at the horizon is still served");
    // a reset is a bootstrap: it works and returns the current state
    let (pages, _) = bob.sync_all(None, 500).await;
    assert_eq!(
        pages[0]["limited"][0]["messages"][0]["reaction_counts"],
        json!({})
    );
    // server-side callers must say for whom
    let (s, _) = t.admin(&app).get("/v1/sync").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, b) = t.admin(&app).on_behalf_of("bob").get("/v1/sync").await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

/// A minimal client replica: applies limited channels and changes by rev.
#[derive(Default)]
struct Replica {
    messages: BTreeMap<String, Value>,
    reactions: BTreeMap<(String, String, String), Value>,
}

impl Replica {
    fn keep_newer(map_rev: Option<&Value>, incoming: &Value) -> bool {
        map_rev.is_none_or(|old| old["rev"].as_u64() < incoming["rev"].as_u64())
    }

    fn apply(&mut self, page: &Value) {
        for state in page["limited"].as_array().unwrap() {
            let cid = state["channel"]["cid"].as_str().unwrap();
            self.messages.retain(|_, m| m["cid"] != cid);
            self.reactions.retain(|_, r| r["cid"] != cid);
            for m in state["messages"].as_array().unwrap() {
                self.messages
                    .insert(m["id"].as_str().unwrap().to_owned(), m.clone());
            }
        }
        for c in page["changes"].as_array().unwrap() {
            let d = &c["data"];
            match c["kind"].as_str().unwrap() {
                "message" => {
                    let id = d["id"].as_str().unwrap().to_owned();
                    if Self::keep_newer(self.messages.get(&id), d) {
                        self.messages.insert(id, d.clone());
                    }
                }
                "reaction" => {
                    let key = (
                        d["message_id"].as_str().unwrap().into(),
                        d["user_id"].as_str().unwrap().into(),
                        d["type"].as_str().unwrap().into(),
                    );
                    if Self::keep_newer(self.reactions.get(&key), d) {
                        self.reactions.insert(key, d.clone());
                    }
                }
                _ => {}
            }
        }
    }
}

#[tokio::test]
async fn a_replica_applying_sync_converges_to_the_server() {
    let (_t, alice, bob, carol, _) = three_users().await;
    alice.channel("team", "dev", &["bob", "carol"]).await;
    let mut replica = Replica::default();
    let (pages, mut cursor) = bob.sync_all(None, 500).await;
    pages.iter().for_each(|p| replica.apply(p));
    let mut ids = Vec::new();
    let users = [&alice, &bob, &carol];
    for round in 0..6u64 {
        for i in 0..8u64 {
            let who = users[((round * 7 + i * 3) % 3) as usize];
            let m = who.send("team:dev", &format!("r{round}m{i}")).await;
            ids.push((m["id"].as_str().unwrap().to_owned(), who.clone()));
            let (pick, author) = &ids[((round * 13 + i * 5) % ids.len() as u64) as usize];
            match (round + i) % 4 {
                0 => {
                    author
                        .patch(
                            &format!("/v1/messages/{pick}"),
                            json!({"text": format!("edit {round}")}),
                        )
                        .await;
                }
                1 => {
                    who.post(
                        &format!("/v1/messages/{pick}/reactions"),
                        json!({"type": "like"}),
                    )
                    .await;
                }
                2 => {
                    who.delete(&format!("/v1/messages/{pick}/reactions/like"))
                        .await;
                }
                _ if i % 3 == 0 => {
                    author.delete(&format!("/v1/messages/{pick}")).await;
                }
                _ => {}
            }
        }
        // sync with a small page size so pages cut through the middle of writes
        let (pages, next) = bob.sync_all(Some(&cursor), 3).await;
        pages.iter().for_each(|p| replica.apply(p));
        cursor = next;
    }
    let (_, server) = bob.get("/v1/channels/team/dev/messages?limit=200").await;
    let server_msgs: BTreeMap<String, Value> = server["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_str().unwrap().to_owned(), m.clone()))
        .collect();
    assert_eq!(server_msgs.len(), 48);
    assert_eq!(
        replica.messages, server_msgs,
        "the replica equals the server"
    );
    for (id, _) in &ids {
        let (_, r) = bob.get(&format!("/v1/messages/{id}/reactions")).await;
        let live: Vec<&Value> = replica
            .reactions
            .values()
            .filter(|x| x["message_id"] == id.as_str() && x["deleted"] == false)
            .collect();
        assert_eq!(
            r["reactions"].as_array().unwrap().len(),
            live.len(),
            "reactions of {id}"
        );
    }
    let _ = new_id();
}

fn limited_cids(pages: &[Value]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| p["limited"].as_array().unwrap().iter())
        .map(|s| s["channel"]["cid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn many_limited_channels_are_paged_and_sent_once() {
    let (_t, alice, bob, _, _) = three_users().await;
    alice.channel("team", "old", &["bob"]).await;
    let (_, cursor) = bob.sync_all(None, 500).await;
    for i in 0..5 {
        alice.channel("team", &format!("new{i}"), &["bob"]).await;
        alice.send(&format!("team:new{i}"), "hello").await;
    }
    alice.send("team:old", "streamed").await;
    for limit in [1, 1000] {
        let (pages, _) = bob.sync_all(Some(&cursor), limit).await;
        let sent = limited_cids(&pages);
        assert_eq!(
            sent,
            [
                "team:new0",
                "team:new1",
                "team:new2",
                "team:new3",
                "team:new4"
            ],
            "limit {limit}"
        );
        let per_page: Vec<usize> = pages
            .iter()
            .map(|p| p["limited"].as_array().unwrap().len())
            .collect();
        assert!(
            per_page.iter().all(|n| *n <= 2),
            "at most bootstrap_channels per page: {per_page:?}"
        );
        let streamed = changes(&pages);
        assert_seq_order(&streamed);
        assert!(
            streamed.iter().all(|c| c["data"]["cid"] == "team:old"),
            "limited channels are not streamed"
        );
        assert!(streamed.iter().any(|c| c["data"]["text"] == "streamed"));
    }
}

#[tokio::test]
async fn a_channel_joined_mid_sync_arrives_in_the_next_sync() {
    let (_t, alice, bob, _, _) = three_users().await;
    alice.channel("team", "a", &["bob"]).await;
    let (_, cursor) = bob.sync_all(None, 500).await;
    for i in 0..6 {
        alice.send("team:a", &format!("a{i}")).await;
    }
    // first page of a paged sync
    let (s, first) = bob
        .get(&format!("/v1/sync?cursor={}&limit=2", urlencode(&cursor)))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(first["has_more"], true);
    // bob joins a channel with history while his sync is under way
    alice.channel("team", "late", &[]).await;
    alice.send("team:late", "before bob").await;
    alice
        .post(
            "/v1/channels/team/late/members",
            json!({"members": [{"user_id": "bob"}]}),
        )
        .await;
    let (rest, settled) = bob.sync_all(first["cursor"].as_str(), 2).await;
    let (next, _) = bob.sync_all(Some(&settled), 2).await;
    let mut sent = limited_cids(&rest);
    sent.extend(limited_cids(&next));
    assert_eq!(sent, ["team:late"], "delivered whole, exactly once");
    let late = rest
        .iter()
        .chain(&next)
        .flat_map(|p| p["limited"].as_array().unwrap())
        .next()
        .unwrap();
    assert_eq!(late["messages"][0]["text"], "before bob");
    let mut all = changes(&[first]);
    all.extend(changes(&rest));
    let texts: Vec<&str> = all
        .iter()
        .filter_map(|c| c["data"]["text"].as_str())
        .collect();
    assert_eq!(texts, ["a0", "a1", "a2", "a3", "a4", "a5"]);
}

#[tokio::test]
async fn a_replica_converges_while_channels_are_joined_and_busy() {
    let t = TestServer::start_with(|c| {
        c.sync.limited_threshold = 4;
        c.sync.window = 200;
        c.sync.bootstrap_channels = 2;
    })
    .await;
    let app = t.app("a").await;
    t.users(&app, &["alice", "bob"]).await;
    let (alice, bob) = (t.user(&app, "alice"), t.user(&app, "bob"));
    alice.channel("team", "c0", &["bob"]).await;
    let mut replica = Replica::default();
    let (pages, mut cursor) = bob.sync_all(None, 500).await;
    pages.iter().for_each(|p| replica.apply(p));
    for round in 1..8 {
        // some rounds make a channel busy, others add bob to a channel with history
        let cid = format!("team:c{round}");
        alice.channel("team", &format!("c{round}"), &[]).await;
        for i in 0..(round % 3) * 3 {
            alice.send(&cid, &format!("{cid} pre {i}")).await;
        }
        // take one page, then let things happen mid-sync, then finish
        let (s, page) = bob
            .get(&format!("/v1/sync?cursor={}&limit=3", urlencode(&cursor)))
            .await;
        assert_eq!(s, StatusCode::OK);
        replica.apply(&page);
        alice
            .post(
                &format!("/v1/channels/team/c{round}/members"),
                json!({"members": [{"user_id": "bob"}]}),
            )
            .await;
        for i in 0..round {
            alice
                .send(
                    &format!("team:c{}", round - 1),
                    &format!("busy {round} {i}"),
                )
                .await;
        }
        let (pages, next) = bob.sync_all(page["cursor"].as_str(), 3).await;
        pages.iter().for_each(|p| replica.apply(p));
        cursor = next;
    }
    let (pages, _) = bob.sync_all(Some(&cursor), 3).await;
    pages.iter().for_each(|p| replica.apply(p));
    let mut server = BTreeMap::new();
    for round in 0..8 {
        let (_, list) = bob
            .get(&format!("/v1/channels/team/c{round}/messages?limit=200"))
            .await;
        for m in list["messages"].as_array().unwrap() {
            server.insert(m["id"].as_str().unwrap().to_owned(), m.clone());
        }
    }
    assert!(server.len() > 40);
    assert_eq!(replica.messages, server, "the replica equals the server");
}
