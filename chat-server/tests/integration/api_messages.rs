//! Message integration tests: cursor pagination edges, threads, edit and soft delete,
//! reactions, read state and unread counts — against a real chat-server.

use chat_test::{Api, TestServer, new_id};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn ids(page: &Value) -> Vec<String> {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

async fn setup() -> (TestServer, Api, Api, Api) {
    let t = TestServer::start().await;
    let app = t.app("a").await;
    t.users(&app, &["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (
        t.user(&app, "alice"),
        t.user(&app, "bob"),
        t.user(&app, "carol"),
    );
    alice.channel("team", "dev", &["bob", "carol"]).await;
    (t, alice, bob, carol)
}

#[tokio::test]
async fn pagination_has_no_gaps_and_no_duplicates() {
    let (_t, alice, bob, _) = setup().await;
    let mut sent = Vec::new();
    for i in 0..57 {
        let who = if i % 3 == 0 { &bob } else { &alice };
        let m = who.send("team:dev", &format!("m{i:02}")).await;
        sent.push((m["id"].as_str().unwrap().to_owned(), format!("m{i:02}")));
    }
    let texts: Vec<String> = sent.iter().map(|(_, t)| t.clone()).collect();
    let (_, all) = bob.get("/v1/channels/team/dev/messages?limit=200").await;
    let times: Vec<&str> = all["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["created_at"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] < w[1]),
        "created_at strictly increases: {times:?}"
    );
    let base = "/v1/channels/team/dev/messages";
    // newest page
    let (_, page) = bob.get(&format!("{base}?limit=10")).await;
    assert_eq!(ids(&page), texts[47..]);
    assert_eq!(
        (
            page["has_more_before"].as_bool(),
            page["has_more_after"].as_bool()
        ),
        (Some(true), Some(false))
    );
    // walk backwards to the start
    let mut collected = ids(&page);
    let mut oldest = page["messages"][0]["id"].as_str().unwrap().to_owned();
    loop {
        let (_, p) = bob.get(&format!("{base}?before={oldest}&limit=10")).await;
        let mut batch = ids(&p);
        assert!(p["has_more_after"].as_bool().unwrap());
        batch.extend(collected);
        collected = batch;
        if !p["has_more_before"].as_bool().unwrap() {
            break;
        }
        oldest = p["messages"][0]["id"].as_str().unwrap().to_owned();
    }
    assert_eq!(collected, texts);
    // walk forwards from the first message
    let mut forward = vec![texts[0].clone()];
    let mut newest = sent[0].0.clone();
    loop {
        let (_, p) = bob.get(&format!("{base}?after={newest}&limit=7")).await;
        forward.extend(ids(&p));
        if !p["has_more_after"].as_bool().unwrap() {
            break;
        }
        newest = p["messages"].as_array().unwrap().last().unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    assert_eq!(forward, texts);
    // around: the pivot is included, centred
    let (_, p) = bob
        .get(&format!("{base}?around={}&limit=5", sent[30].0))
        .await;
    assert_eq!(ids(&p), texts[28..33]);
    assert!(p["has_more_before"].as_bool().unwrap() && p["has_more_after"].as_bool().unwrap());
    let (_, p) = bob
        .get(&format!("{base}?around={}&limit=5", sent[0].0))
        .await;
    assert_eq!(ids(&p), texts[0..3]);
    assert!(!p["has_more_before"].as_bool().unwrap());
    let (_, p) = bob
        .get(&format!("{base}?around={}&limit=1", sent[56].0))
        .await;
    assert_eq!(ids(&p), texts[56..]);
    assert!(p["has_more_before"].as_bool().unwrap() && !p["has_more_after"].as_bool().unwrap());
    // edges: after the newest is empty; before the oldest is empty
    let (_, p) = bob.get(&format!("{base}?after={}", sent[56].0)).await;
    assert!(ids(&p).is_empty() && !p["has_more_after"].as_bool().unwrap());
    let (_, p) = bob.get(&format!("{base}?before={}", sent[0].0)).await;
    assert!(ids(&p).is_empty() && !p["has_more_before"].as_bool().unwrap());
    // bad queries
    for q in ["limit=0", "limit=201", "limit=abc", "before=nope"] {
        let (s, b) = bob.get(&format!("{base}?{q}")).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("validation_failed")),
            "{q}"
        );
    }
    let (s, _) = bob
        .get(&format!("{base}?before={}&after={}", sent[1].0, sent[2].0))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, b) = bob.get(&format!("{base}?before={}", new_id())).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (_, p) = bob.get(&format!("{base}?limit=200")).await;
    assert_eq!(ids(&p).len(), 57);
}

#[tokio::test]
async fn threads_and_quotes() {
    let (_t, alice, bob, _) = setup().await;
    let root = alice.send("team:dev", "root").await;
    let rid = root["id"].as_str().unwrap();
    for i in 0..3 {
        let (s, b) = bob
            .post(
                "/v1/channels/team/dev/messages",
                json!({"id": new_id(), "text": format!("r{i}"), "parent_id": rid}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        assert_eq!(b["message"]["parent_id"], rid);
    }
    let (_, m) = alice.get(&format!("/v1/messages/{rid}")).await;
    assert_eq!(m["message"]["reply_count"], 3);
    let (_, replies) = alice
        .get(&format!("/v1/messages/{rid}/replies?limit=2"))
        .await;
    assert_eq!(ids(&replies), ["r1", "r2"]);
    assert!(replies["has_more_before"].as_bool().unwrap());
    // replies stay out of the channel list
    let (_, list) = alice.get("/v1/channels/team/dev/messages").await;
    assert_eq!(ids(&list), ["root"]);
    // no nested threads; replies list only on roots
    let rep = replies["messages"][0]["id"].as_str().unwrap();
    let (s, _) = bob
        .post(
            "/v1/channels/team/dev/messages",
            json!({"id": new_id(), "text": "x", "parent_id": rep}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = alice.get(&format!("/v1/messages/{rep}/replies")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // quotes must be in the same channel
    let (s, b) = bob
        .post(
            "/v1/channels/team/dev/messages",
            json!({"id": new_id(), "text": "q", "quoted_message_id": rid}),
        )
        .await;
    assert_eq!(
        (s, &b["message"]["quoted_message_id"]),
        (StatusCode::CREATED, &json!(rid))
    );
    alice.channel("team", "other", &[]).await;
    let (s, _) = alice
        .post(
            "/v1/channels/team/other/messages",
            json!({"id": new_id(), "text": "q", "quoted_message_id": rid}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // replies can be switched off
    alice
        .patch(
            "/v1/channels/team/dev",
            json!({"config": {"replies": false}}),
        )
        .await;
    let (s, _) = bob
        .post(
            "/v1/channels/team/dev/messages",
            json!({"id": new_id(), "text": "x", "parent_id": rid}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn edit_and_soft_delete() {
    let (_t, alice, bob, carol) = setup().await;
    let m = alice.send("team:dev", "typo").await;
    let id = m["id"].as_str().unwrap();
    let (s, b) = bob
        .patch(&format!("/v1/messages/{id}"), json!({"text": "hijack"}))
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (s, b) = alice
        .patch(
            &format!("/v1/messages/{id}"),
            json!({"text": "fixed @bob", "mentioned_users": ["bob"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["message"]["text"], "fixed @bob");
    assert!(b["message"]["edited_at"].is_string());
    assert!(b["message"]["rev"].as_u64() > m["rev"].as_u64());
    let (_, u) = bob.get("/v1/unread").await;
    assert_eq!(u["total_unread_mentions"], 1, "the edit added a mention");
    alice
        .post(
            &format!("/v1/messages/{id}/reactions"),
            json!({"type": "like"}),
        )
        .await;
    // carol (member) cannot delete alice's message; alice can; deleting twice is a no-op
    let (s, _) = carol.delete(&format!("/v1/messages/{id}")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, d) = alice.delete(&format!("/v1/messages/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    let tomb = &d["message"];
    assert!(tomb["deleted_at"].is_string());
    assert_eq!(
        (
            tomb["text"].as_str(),
            tomb["attachments"].as_array().map(Vec::len)
        ),
        (Some(""), Some(0))
    );
    assert_eq!(tomb["reaction_counts"], json!({}));
    assert_eq!(tomb["mentioned_users"], json!([]));
    let (s, again) = alice.delete(&format!("/v1/messages/{id}")).await;
    assert_eq!((s, &again["message"]), (StatusCode::OK, tomb));
    // the tombstone stays in place in history and counts as read
    let (_, list) = bob.get("/v1/channels/team/dev/messages").await;
    assert_eq!(list["messages"][0]["id"], id);
    assert!(list["messages"][0]["deleted_at"].is_string());
    let (_, u) = bob.get("/v1/unread").await;
    assert_eq!(
        (
            u["total_unread_count"].as_u64(),
            u["total_unread_mentions"].as_u64()
        ),
        (Some(0), Some(0))
    );
    let (s, _) = alice
        .patch(&format!("/v1/messages/{id}"), json!({"text": "zombie"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = bob
        .post(
            &format!("/v1/messages/{id}/reactions"),
            json!({"type": "like"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // an edit may not empty a message; an old mention of a departed member does not block edits
    let m3 = alice.send("team:dev", "hi").await;
    let id3 = m3["id"].as_str().unwrap();
    let (s, _) = alice
        .patch(&format!("/v1/messages/{id3}"), json!({"text": "  "}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = alice
        .patch(
            &format!("/v1/messages/{id3}"),
            json!({"text": "hi @carol", "mentioned_users": ["carol"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    carol.delete("/v1/channels/team/dev/members/carol").await;
    let (s, b) = alice
        .patch(&format!("/v1/messages/{id3}"), json!({"text": "hi all"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    alice
        .post(
            "/v1/channels/team/dev/members",
            json!({"members": [{"user_id": "carol"}]}),
        )
        .await;
    // a moderator may delete others' messages
    let m2 = bob.send("team:dev", "spam").await;
    alice
        .post(
            "/v1/channels/team/dev/members",
            json!({"members": [{"user_id": "carol", "role": "moderator"}]}),
        )
        .await;
    let (s, _) = carol
        .delete(&format!("/v1/messages/{}", m2["id"].as_str().unwrap()))
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn reactions_are_unique_per_user_and_type() {
    let (_t, alice, bob, carol) = setup().await;
    let m = alice.send("team:dev", "react to me").await;
    let id = m["id"].as_str().unwrap();
    let path = format!("/v1/messages/{id}/reactions");
    let (s, first) = bob.post(&path, json!({"type": "like"})).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    let (_, again) = bob.post(&path, json!({"type": "like"})).await;
    assert_eq!(
        again["reaction"], first["reaction"],
        "adding twice changes nothing"
    );
    carol.post(&path, json!({"type": "like"})).await;
    let (_, r) = carol.post(&path, json!({"type": "+1"})).await;
    assert_eq!(r["message"]["reaction_counts"], json!({"+1": 1, "like": 2}));
    let (_, list) = alice.get(&path).await;
    assert_eq!(list["reactions"].as_array().unwrap().len(), 3);
    let (_, page) = bob.get("/v1/channels/team/dev/messages").await;
    let own: Vec<&str> = page["own_reactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(own, ["like"]);
    let (s, removed) = bob.delete(&format!("{path}/like")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(removed["reaction"]["deleted"], true);
    assert_eq!(
        removed["message"]["reaction_counts"],
        json!({"+1": 1, "like": 1})
    );
    let (s, _) = bob.delete(&format!("{path}/like")).await;
    assert_eq!(s, StatusCode::OK, "removing again is idempotent");
    let (s, _) = bob.delete(&format!("{path}/wow")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = bob.post(&path, json!({"type": "Not Valid"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // re-adding revives the row with a newer rev
    let (_, back) = bob.post(&path, json!({"type": "like"})).await;
    assert!(back["reaction"]["rev"].as_u64() > removed["reaction"]["rev"].as_u64());
    alice
        .patch(
            "/v1/channels/team/dev",
            json!({"config": {"reactions": false}}),
        )
        .await;
    let (s, _) = carol.post(&path, json!({"type": "wow"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn read_state_and_unread_counts() {
    let (_t, alice, bob, carol) = setup().await;
    alice.channel("messaging", "ab", &["bob"]).await;
    let mut dev = Vec::new();
    for i in 0..4 {
        let body = if i == 2 {
            json!({"id": new_id(), "text": "hey @bob", "mentioned_users": ["bob"]})
        } else {
            json!({"id": new_id(), "text": format!("d{i}")})
        };
        let (_, b) = alice.post("/v1/channels/team/dev/messages", body).await;
        dev.push(b["message"]["id"].as_str().unwrap().to_owned());
    }
    let dm = alice.send("messaging:ab", "dm").await;
    let own = bob.send("team:dev", "bob's own").await;
    let (_, u) = bob.get("/v1/unread").await;
    // Each channel's counts say how far they reach: its newest message, own ones too.
    let through: Vec<&Value> = u["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["counted_through"])
        .collect();
    assert_eq!(through, [&dm["created_at"], &own["created_at"]]);
    assert_eq!(
        (
            u["total_unread_count"].as_u64(),
            u["total_unread_mentions"].as_u64()
        ),
        (Some(5), Some(1))
    );
    let per: Vec<(String, u64)> = u["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["cid"].as_str().unwrap().into(),
                c["unread_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(per, [("messaging:ab".into(), 1), ("team:dev".into(), 4)]);
    let (_, a) = alice.get("/v1/unread").await;
    assert_eq!(a["total_unread_count"], 1, "own messages are born read");
    // mark read up to the 2nd message, then everything; never backwards
    let (s, r) = bob
        .post("/v1/channels/team/dev/read", json!({"message_id": dev[1]}))
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["read"]["last_read_message_id"], dev[1].as_str());
    assert_eq!(
        (
            r["unread"]["unread_count"].as_u64(),
            r["unread"]["unread_mentions"].as_u64()
        ),
        (Some(2), Some(1))
    );
    let (_, r) = bob.post("/v1/channels/team/dev/read", json!({})).await;
    assert_eq!(r["unread"]["unread_count"], 0);
    assert_eq!(r["unread"]["counted_through"], own["created_at"]);
    let newest_rev = r["read"]["rev"].as_u64();
    let (_, r) = bob
        .post("/v1/channels/team/dev/read", json!({"message_id": dev[0]}))
        .await;
    assert_eq!(
        (
            r["read"]["rev"].as_u64(),
            r["unread"]["unread_count"].as_u64()
        ),
        (newest_rev, Some(0))
    );
    let (_, u) = bob.get("/v1/unread").await;
    assert_eq!(u["total_unread_count"], 1);
    let (_, state) = bob.get("/v1/channels/team/dev").await;
    assert_eq!(state["unread"]["unread_count"], 0);
    assert!(
        state["reads"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["user_id"] == "bob")
    );
    // carol never was a member: to her the channel does not exist
    let (s, _) = carol
        .post("/v1/channels/messaging/ab/read", json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = bob
        .post(
            "/v1/channels/team/dev/read",
            json!({"message_id": new_id()}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // leaving a channel drops its unread
    bob.delete("/v1/channels/messaging/ab/members/bob").await;
    let (_, u) = bob.get("/v1/unread").await;
    assert_eq!(u["total_unread_count"], 0);
}

#[tokio::test]
async fn starring_is_private_idempotent_and_synced() {
    let (t, alice, bob, _) = setup().await;
    let (_, alice_cursor) = alice.sync_all(None, 500).await;
    let (_, bob_cursor) = bob.sync_all(None, 500).await;
    let m1 = alice.send("team:dev", "keep this").await;
    let m2 = alice.send("team:dev", "and this").await;
    let (id1, id2) = (m1["id"].as_str().unwrap(), m2["id"].as_str().unwrap());
    let (s, f) = bob
        .post(&format!("/v1/messages/{id1}/star"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{f}");
    assert_eq!(
        (
            f["flags"]["starred"].as_bool(),
            f["flags"]["user_id"].as_str()
        ),
        (Some(true), Some("bob"))
    );
    let (_, again) = bob
        .post(&format!("/v1/messages/{id1}/star"), json!({}))
        .await;
    assert_eq!(again, f, "starring twice changes nothing");
    bob.post(&format!("/v1/messages/{id2}/star"), json!({}))
        .await;
    let (_, list) = bob.get("/v1/starred").await;
    let texts: Vec<&str> = list["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["and this", "keep this"], "newest first");
    let (_, page) = bob.get(&format!("/v1/starred?limit=1&before={id2}")).await;
    assert_eq!(
        (
            page["messages"][0]["id"].as_str(),
            page["has_more"].as_bool()
        ),
        (Some(id1), Some(false))
    );
    let (_, msgs) = bob.get("/v1/channels/team/dev/messages").await;
    assert_eq!(msgs["starred"], json!([id1, id2]));
    let (_, mine) = alice.get("/v1/channels/team/dev/messages").await;
    assert_eq!(mine["starred"], json!([]), "stars are private");
    let (s, u) = bob.delete(&format!("/v1/messages/{id2}/star")).await;
    assert_eq!(
        (s, u["flags"]["starred"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    // the user's own flag changes sync to that user only
    let (pages, _) = bob.sync_all(Some(&bob_cursor), 500).await;
    let flags: Vec<&Value> = pages
        .iter()
        .flat_map(|p| p["changes"].as_array().unwrap())
        .filter(|c| c["kind"] == "flags")
        .collect();
    let states: Vec<(&str, bool)> = flags
        .iter()
        .map(|c| {
            (
                c["data"]["message_id"].as_str().unwrap(),
                c["data"]["starred"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(states, [(id1, true), (id2, false)]);
    let (pages, _) = alice.sync_all(Some(&alice_cursor), 500).await;
    assert!(
        pages
            .iter()
            .flat_map(|p| p["changes"].as_array().unwrap())
            .all(|c| c["kind"] != "flags")
    );
    // a bootstrap carries the stars of the window; a later member may star old messages
    let (boot, _) = bob.sync_all(None, 500).await;
    assert_eq!(boot[0]["limited"][0]["starred"], json!([id1]));
    let (s, _) = t
        .user(&t.app("x").await, "bob")
        .post(&format!("/v1/messages/{id1}/star"), json!({}))
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "another app's user cannot reach it"
    );
}
