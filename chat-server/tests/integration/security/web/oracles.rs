//! Outsiders learn nothing from error answers: an existing channel or message they may not
//! read answers exactly like a missing one, for reads and writes alike. Only someone who
//! was a member gets `403 not_a_member` for writes.

use reqwest::StatusCode;
use serde_json::{Value, json};

use chat_test::{TestServer, new_id};

/// The answer with the resource's own name replaced, so answers about different ids compare.
fn shape(status: StatusCode, body: &Value, id: &str, placeholder: &str) -> (StatusCode, String) {
    (status, body.to_string().replace(id, placeholder))
}

/// Every write an outsider might try: by message id `mid`, and to channel `team:<channel>`.
fn writes(mid: &str, channel: &str) -> Vec<(&'static str, String, Option<Value>)> {
    vec![
        (
            "POST",
            format!("/v1/messages/{mid}/reactions"),
            Some(json!({"type": "like"})),
        ),
        ("POST", format!("/v1/messages/{mid}/star"), None),
        ("DELETE", format!("/v1/messages/{mid}/star"), None),
        (
            "PATCH",
            format!("/v1/messages/{mid}"),
            Some(json!({"text": "x"})),
        ),
        ("DELETE", format!("/v1/messages/{mid}"), None),
        (
            "POST",
            format!("/v1/channels/team/{channel}/messages"),
            Some(json!({"id": new_id(), "text": "x"})),
        ),
        (
            "POST",
            format!("/v1/channels/team/{channel}/read"),
            Some(json!({})),
        ),
        (
            "POST",
            format!("/v1/channels/team/{channel}/typing"),
            Some(json!({"typing": true})),
        ),
        (
            "PATCH",
            format!("/v1/channels/team/{channel}"),
            Some(json!({"name": "x"})),
        ),
        (
            "POST",
            format!("/v1/channels/team/{channel}/members"),
            Some(json!({"members": [{"user_id": "eve"}]})),
        ),
        (
            "DELETE",
            format!("/v1/channels/team/{channel}/members/bob"),
            None,
        ),
    ]
}

#[tokio::test]
async fn an_outsider_cannot_tell_existing_channels_and_messages_from_missing_ones() {
    let t = TestServer::start().await;
    let app = t.app("a").await;
    t.users(&app, &["alice", "bob", "eve"]).await;
    let alice = t.user(&app, "alice");
    alice.channel("team", "secret", &["bob"]).await;
    let root = alice.send("team:secret", "root").await;
    let mid = root["id"].as_str().unwrap().to_owned();
    let missing_mid = new_id();
    let eve = t.user(&app, "eve");
    for (existing, missing, id, missing_id) in [
        (
            "/v1/channels/team/secret",
            "/v1/channels/team/nothere",
            "secret",
            "nothere",
        ),
        (
            "/v1/channels/team/secret/messages?limit=5",
            "/v1/channels/team/nothere/messages?limit=5",
            "secret",
            "nothere",
        ),
        (
            &*format!("/v1/messages/{mid}"),
            &*format!("/v1/messages/{missing_mid}"),
            &*mid,
            &*missing_mid,
        ),
        (
            &*format!("/v1/messages/{mid}/replies"),
            &*format!("/v1/messages/{missing_mid}/replies"),
            &*mid,
            &*missing_mid,
        ),
        (
            &*format!("/v1/messages/{mid}/reactions"),
            &*format!("/v1/messages/{missing_mid}/reactions"),
            &*mid,
            &*missing_mid,
        ),
    ] {
        let (s1, b1) = eve.get(existing).await;
        let (s2, b2) = eve.get(missing).await;
        assert_eq!(s1, StatusCode::NOT_FOUND, "{existing}: {b1}");
        assert_eq!(
            shape(s1, &b1, id, "ID"),
            shape(s2, &b2, missing_id, "ID"),
            "{existing} vs {missing}"
        );
    }
    // Writes answer the same: by message id, and to a channel by cid.
    let existing = writes(&mid, "secret");
    let missing = writes(&missing_mid, "nothere");
    for ((method, path, body), (_, missing_path, missing_body)) in existing.into_iter().zip(missing)
    {
        let (s1, b1) = eve.request(method.parse().unwrap(), &path, body).await;
        let (s2, b2) = eve
            .request(method.parse().unwrap(), &missing_path, missing_body)
            .await;
        assert_eq!(s1, StatusCode::NOT_FOUND, "{method} {path}: {b1}");
        let (id, missing_id) = if path.contains(&mid) {
            (&*mid, &*missing_mid)
        } else {
            ("secret", "nothere")
        };
        assert_eq!(
            shape(s1, &b1, id, "ID"),
            shape(s2, &b2, missing_id, "ID"),
            "{method} {path} vs {missing_path}"
        );
    }
}

/// A removed member knew the channel: their writes (queued while they were a member)
/// fail for good with `403 not_a_member`, and an answer by message id never names the
/// channel. Their reads answer `404` like everyone else's.
#[tokio::test]
async fn a_removed_members_writes_answer_not_a_member() {
    let t = TestServer::start().await;
    let app = t.app("a").await;
    t.users(&app, &["alice", "bob", "eve"]).await;
    let alice = t.user(&app, "alice");
    alice.channel("team", "secret", &["bob", "eve"]).await;
    let root = alice.send("team:secret", "root").await;
    let mid = root["id"].as_str().unwrap().to_owned();
    let (s, b) = alice.delete("/v1/channels/team/secret/members/eve").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let eve = t.user(&app, "eve");
    let (s, _) = eve.get("/v1/channels/team/secret").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for (method, path, body) in writes(&mid, "secret") {
        let (s, b) = eve.request(method.parse().unwrap(), &path, body).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("not_a_member")),
            "{method} {path}: {b}"
        );
        if path.contains(&mid) {
            assert!(!b.to_string().contains("secret"), "{method} {path}: {b}");
        }
    }
}

#[tokio::test]
async fn the_starred_anchor_must_be_one_of_the_callers_starred_messages() {
    let t = TestServer::start().await;
    let app = t.app("a").await;
    t.users(&app, &["alice", "bob", "eve"]).await;
    let alice = t.user(&app, "alice");
    alice.channel("team", "secret", &["bob"]).await;
    let hidden = alice.send("team:secret", "not for eve").await;
    let hidden = hidden["id"].as_str().unwrap().to_owned();
    let eve = t.user(&app, "eve");
    eve.channel("team", "eves", &[]).await;
    let mine = eve.send("team:eves", "mine").await;
    let mine = mine["id"].as_str().unwrap().to_owned();
    let unstarred = eve.send("team:eves", "not starred").await;
    let unstarred = unstarred["id"].as_str().unwrap().to_owned();
    let (s, b) = eve
        .post(&format!("/v1/messages/{mine}/star"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = eve.get(&format!("/v1/starred?before={mine}")).await;
    assert_eq!(
        (s, b["messages"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0)),
        "{b}"
    );
    let missing = new_id();
    let (s_missing, b_missing) = eve.get(&format!("/v1/starred?before={missing}")).await;
    assert_eq!(s_missing, StatusCode::NOT_FOUND);
    for anchor in [&hidden, &unstarred] {
        let (s, b) = eve.get(&format!("/v1/starred?before={anchor}")).await;
        assert_eq!(
            shape(s, &b, anchor, "ID"),
            shape(s_missing, &b_missing, &missing, "ID"),
            "{anchor}"
        );
    }
}

/// Stars are per app and per user: the same user id in another app cannot star, unstar or
/// list another app's messages, a star never shows in another user's list, and malformed
/// ids or page sizes are refused before any lookup.
#[tokio::test]
async fn stars_stay_within_their_app_and_user_and_bad_ids_are_refused() {
    let t = TestServer::start().await;
    let app = t.app("a").await;
    t.users(&app, &["alice", "bob"]).await;
    let alice = t.user(&app, "alice");
    alice.channel("team", "shared", &["bob"]).await;
    let m = alice.send("team:shared", "star me").await;
    let mid = m["id"].as_str().unwrap().to_owned();
    let (s, b) = alice
        .post(&format!("/v1/messages/{mid}/star"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // Another app with the same user ids: the message does not exist there.
    let other = t.app("b").await;
    t.users(&other, &["alice", "bob"]).await;
    let alice_b = t.user(&other, "alice");
    let missing = new_id();
    for method in ["POST", "DELETE"] {
        let path = format!("/v1/messages/{mid}/star");
        let (s1, b1) = alice_b.request(method.parse().unwrap(), &path, None).await;
        let missing_path = format!("/v1/messages/{missing}/star");
        let (s2, b2) = alice_b
            .request(method.parse().unwrap(), &missing_path, None)
            .await;
        assert_eq!(s1, StatusCode::NOT_FOUND, "{method} {path}: {b1}");
        assert_eq!(shape(s1, &b1, &mid, "ID"), shape(s2, &b2, &missing, "ID"));
    }
    let (s, b) = alice_b.get("/v1/starred").await;
    assert_eq!(
        (s, b["messages"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0)),
        "{b}"
    );
    let (s, _) = alice_b.get(&format!("/v1/starred?before={mid}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another app's star is no anchor");
    // Alice's star in app a is intact; bob (same channel) does not see it in his list.
    let (_, b) = alice.get("/v1/starred").await;
    assert_eq!(b["messages"][0]["id"], json!(mid));
    let bob = t.user(&app, "bob");
    let (s, b) = bob.get("/v1/starred").await;
    assert_eq!(
        (s, b["messages"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0)),
        "{b}"
    );
    let (s, _) = bob.get(&format!("/v1/starred?before={mid}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another user's star is no anchor");

    // Bad ids and page sizes: 400, for star, unstar and the list.
    for method in ["POST", "DELETE"] {
        for bad in ["not-a-uuid", "1", "%00"] {
            let path = format!("/v1/messages/{bad}/star");
            let (s, b) = alice.request(method.parse().unwrap(), &path, None).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{method} {path}: {b}");
        }
    }
    for query in ["before=not-a-uuid", "limit=0", "limit=201", "limit=x"] {
        let (s, b) = alice.get(&format!("/v1/starred?{query}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {b}");
    }
}
