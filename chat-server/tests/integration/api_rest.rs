//! REST integration tests against a real chat-server (in-process, ephemeral port, temp
//! SQLite data dir): every endpoint, permissions, validation and error bodies.

use chat_test::{TestServer, new_id};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn code(body: &Value) -> &str {
    body["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

#[tokio::test]
async fn users_upsert_get_and_permissions() {
    let t = TestServer::start().await;
    let app = t.app("a").await;
    let admin = t.admin(&app);
    let (s, b) = admin
        .post(
            "/v1/users",
            json!({"users": [{"id": "alice", "name": "Alice", "custom": {"tier": 2}}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["users"][0]["custom"]["tier"], 2);
    let alice = t.user(&app, "alice");
    let (s, b) = alice.get("/v1/users/alice").await;
    assert_eq!(
        (s, b["user"]["name"].as_str()),
        (StatusCode::OK, Some("Alice"))
    );
    // a user may update itself, not others
    let (s, _) = alice
        .post(
            "/v1/users",
            json!({"users": [{"id": "alice", "name": "Al"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = alice
        .post("/v1/users", json!({"users": [{"id": "bob"}]}))
        .await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, b) = alice.get("/v1/users/nobody").await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, b) = admin
        .post("/v1/users", json!({"users": [{"id": "bad id"}]}))
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "validation_failed")
    );
    let (s, b) = admin.post("/v1/users", json!({"users": []})).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "validation_failed")
    );
}

#[tokio::test]
async fn authentication_errors() {
    let t = TestServer::start().await;
    let app = t.app("a").await;
    let alice = t.user(&app, "alice");
    for auth in [
        "",
        "Bearer nonsense",
        "Bearer a.b.c",
        "Basic Zm9vOmJhcg==",
        "Token x",
    ] {
        let (s, b) = alice.with_auth(auth).get("/v1/unread").await;
        assert_eq!(
            (s, code(&b)),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{auth}"
        );
    }
    let expired = chat_test::expired_token(&app, "alice");
    let (s, b) = alice
        .with_auth(&format!("Bearer {expired}"))
        .get("/v1/unread")
        .await;
    assert_eq!((s, code(&b)), (StatusCode::UNAUTHORIZED, "token_expired"));
    // an `aud` claim added by a customer's JWT library is ignored
    let with_aud = {
        let now = chrono::Utc::now().timestamp();
        let claims =
            json!({"sub": "alice", "app": app.app_id, "iat": now, "exp": now + 60, "aud": "chat"});
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(app.api_secret.as_bytes()),
        )
        .unwrap()
    };
    let (s, _) = alice
        .with_auth(&format!("Bearer {with_aud}"))
        .get("/v1/unread")
        .await;
    assert_eq!(s, StatusCode::OK);
    // wrong secret for a real app
    let forged = chat_server::auth::mint_user_token(&app.app_id, "not-the-secret", "alice", 60);
    let (s, _) = alice
        .with_auth(&format!("Bearer {forged}"))
        .get("/v1/unread")
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // unknown routes and methods are JSON errors too
    let (s, b) = alice.get("/v1/nope").await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, b) = alice.get("/connection/websocket").await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "validation_failed"),
        "plain GET on the socket"
    );
    let (s, b) = alice.request(reqwest::Method::PUT, "/v1/sync", None).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
}

#[tokio::test]
async fn channels_create_get_update_and_roles() {
    let t = TestServer::start().await;
    let app = t.app("a").await;
    t.users(&app, &["alice", "bob", "carol", "dave"]).await;
    let (alice, bob, carol) = (
        t.user(&app, "alice"),
        t.user(&app, "bob"),
        t.user(&app, "carol"),
    );
    let (s, b) = alice
        .post(
            "/v1/channels",
            json!({"type": "team", "id": "ops", "name": "Ops", "members": ["bob"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["channel"]["cid"], "team:ops");
    assert_eq!(b["channel"]["member_count"], 2);
    let roles: Vec<(String, String)> = b["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user_id"].as_str().unwrap().into(),
                m["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("alice".into(), "owner".into()),
            ("bob".into(), "member".into())
        ]
    );
    // An explicit id is an idempotent create: the creator's replay gets 200, anyone else
    // (a member too) a conflict (docs/protocol.md "Channels"; tests/security/conversations.rs).
    let (s, _) = alice
        .post(
            "/v1/channels",
            json!({"type": "team", "id": "ops", "members": ["bob"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = bob
        .post("/v1/channels", json!({"type": "team", "id": "ops"}))
        .await;
    assert_eq!((s, code(&b)), (StatusCode::CONFLICT, "conflict"));
    let (s, b) = carol
        .post("/v1/channels", json!({"type": "team", "id": "ops"}))
        .await;
    assert_eq!((s, code(&b)), (StatusCode::CONFLICT, "conflict"));
    let (s, b) = alice
        .post(
            "/v1/channels",
            json!({"type": "team", "id": "x", "members": ["ghost"]}),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "validation_failed")
    );
    let (s, b) = alice
        .post("/v1/channels", json!({"type": "group", "id": "x"}))
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "validation_failed"),
        "{b}"
    );
    // server-generated id
    let (s, b) = alice
        .post(
            "/v1/channels",
            json!({"type": "messaging", "members": ["bob"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(b["channel"]["id"].as_str().unwrap().len() >= 16);
    // reads: members only; to an outsider an existing channel looks missing
    let (s, b) = carol.get("/v1/channels/team/ops").await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, b) = carol.get("/v1/channels/team/missing").await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "not_found"));
    // update: owner/admin only
    let (s, b) = bob
        .patch("/v1/channels/team/ops", json!({"name": "Bob's"}))
        .await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, b) = alice
        .patch(
            "/v1/channels/team/ops",
            json!({"name": "Operations", "config": {"reactions": false}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["channel"]["name"], "Operations");
    assert_eq!(b["channel"]["config"]["reactions"], false);
    assert_eq!(b["channel"]["config"]["replies"], true);
    let (s, b) = alice
        .patch(
            "/v1/channels/team/ops",
            json!({"config": {"reactons": true}}),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "validation_failed"),
        "typo rejected"
    );
    // members: a plain member cannot add; moderators add members but not admins
    let (s, _) = bob
        .post(
            "/v1/channels/team/ops/members",
            json!({"members": [{"user_id": "carol"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, b) = alice
        .post(
            "/v1/channels/team/ops/members",
            json!({"members": [{"user_id": "bob", "role": "moderator"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _) = bob
        .post(
            "/v1/channels/team/ops/members",
            json!({"members": [{"user_id": "carol", "role": "admin"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, b) = bob
        .post(
            "/v1/channels/team/ops/members",
            json!({"members": [{"user_id": "carol"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["members"].as_array().unwrap().len(), 3);
    let (s, _) = alice
        .post(
            "/v1/channels/team/ops/members",
            json!({"members": [{"user_id": "dave", "role": "owner"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // role changes: only admins and up, and only below their own rank
    let (s, _) = alice
        .post(
            "/v1/channels/team/ops/members",
            json!({"members": [{"user_id": "dave", "role": "admin"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let dave = t.user(&app, "dave");
    for (who, target) in [(&bob, "dave"), (&dave, "dave"), (&bob, "bob")] {
        let (s, _) = who
            .post(
                "/v1/channels/team/ops/members",
                json!({"members": [{"user_id": target, "role": "member"}]}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{target}");
    }
    let (s, _) = dave
        .post(
            "/v1/channels/team/ops/members",
            json!({"members": [{"user_id": "bob", "role": "member"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "an admin demotes a moderator");
    alice.delete("/v1/channels/team/ops/members/dave").await;
    alice
        .post(
            "/v1/channels/team/ops/members",
            json!({"members": [{"user_id": "bob", "role": "moderator"}]}),
        )
        .await;
    // removal: a moderator cannot remove the owner; anyone can leave
    let (s, _) = bob.delete("/v1/channels/team/ops/members/alice").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, b) = carol.delete("/v1/channels/team/ops/members/carol").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["members"].as_array().unwrap().len(), 2);
    let (s, _) = carol.get("/v1/channels/team/ops").await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "after leaving, the channel is gone for carol"
    );
    let (s, _) = carol.delete("/v1/channels/team/ops/members/carol").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // outsiders cannot probe membership: member or not, the answer is the same
    for target in ["bob", "nobody"] {
        let (s, b) = carol
            .delete(&format!("/v1/channels/team/ops/members/{target}"))
            .await;
        assert_eq!(
            (s, code(&b)),
            (StatusCode::FORBIDDEN, "not_a_member"),
            "{target}"
        );
    }
    let (_, b) = alice.get("/v1/channels/team/ops").await;
    assert_eq!(b["channel"]["member_count"], 2);
}

#[tokio::test]
async fn query_channels_filters_sorts_and_pages() {
    let t = TestServer::start().await;
    let app = t.app("a").await;
    t.users(&app, &["alice", "bob", "carol"]).await;
    let (alice, bob) = (t.user(&app, "alice"), t.user(&app, "bob"));
    for i in 0..7 {
        let members: &[&str] = if i % 2 == 0 { &["bob"] } else { &["carol"] };
        alice
            .channel(
                if i < 5 { "team" } else { "messaging" },
                &format!("c{i}"),
                members,
            )
            .await;
    }
    // activity order: c3 newest, then c1, then by creation time
    alice.send("team:c1", "x").await;
    alice.send("team:c3", "y").await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut q = json!({"limit": 3, "message_limit": 1});
        if let Some(c) = &cursor {
            q["cursor"] = json!(c);
        }
        let (s, b) = alice.post("/v1/channels/query", q).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        for c in b["channels"].as_array().unwrap() {
            seen.push(c["channel"]["cid"].as_str().unwrap().to_owned());
            assert!(c["messages"].as_array().unwrap().len() <= 1);
        }
        match b["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7, "{seen:?}");
    assert_eq!(&seen[..2], ["team:c3", "team:c1"]);
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 7, "no duplicates across pages");
    let ids = |b: &Value| -> Vec<String> {
        b["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["channel"]["cid"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, b) = alice
        .post(
            "/v1/channels/query",
            json!({"filter": {"type": "messaging"}}),
        )
        .await;
    assert_eq!(ids(&b), ["messaging:c6", "messaging:c5"]);
    let (_, b) = alice
        .post(
            "/v1/channels/query",
            json!({"filter": {"members": ["alice", "carol"]}}),
        )
        .await;
    assert_eq!(ids(&b).len(), 3);
    let (_, b) = alice
        .post(
            "/v1/channels/query",
            json!({"filter": {"cids": ["team:c0", "team:c1", "team:nope"]}}),
        )
        .await;
    assert_eq!(ids(&b), ["team:c1", "team:c0"]);
    // bob only sees his own channels, even when asking for others
    let (_, b) = bob
        .post(
            "/v1/channels/query",
            json!({"filter": {"cids": ["team:c1", "team:c2"]}}),
        )
        .await;
    assert_eq!(ids(&b), ["team:c2"]);
    let (s, _) = alice
        .post("/v1/channels/query", json!({"limit": 101}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = alice
        .post("/v1/channels/query", json!({"cursor": "garbage"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // the backend sees every channel
    let (_, b) = t
        .admin(&app)
        .post("/v1/channels/query", json!({"limit": 100}))
        .await;
    assert_eq!(ids(&b).len(), 7);
}

#[tokio::test]
async fn idempotent_send_and_id_conflicts() {
    let t = TestServer::start().await;
    let app = t.app("a").await;
    t.users(&app, &["alice", "bob"]).await;
    let (alice, bob) = (t.user(&app, "alice"), t.user(&app, "bob"));
    alice.channel("messaging", "ab", &["bob"]).await;
    alice.channel("messaging", "other", &["bob"]).await;
    let id = new_id();
    let body = json!({"id": id, "text": "hello"});
    let (s1, first) = alice
        .post("/v1/channels/messaging/ab/messages", body.clone())
        .await;
    assert_eq!(s1, StatusCode::CREATED, "{first}");
    assert_eq!(first["message"]["id"], id.as_str());
    // a retry after a lost reply: same id, same author → the stored message, 200
    let (s2, second) = alice
        .post(
            "/v1/channels/messaging/ab/messages",
            json!({"id": id, "text": "changed"}),
        )
        .await;
    assert_eq!(s2, StatusCode::OK);
    assert_eq!(second, first);
    // the same id from someone else, or in another channel, is a conflict
    let (s, b) = bob
        .post("/v1/channels/messaging/ab/messages", body.clone())
        .await;
    assert_eq!((s, code(&b)), (StatusCode::CONFLICT, "conflict"));
    let (s, _) = alice
        .post("/v1/channels/messaging/other/messages", body)
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, list) = bob.get("/v1/channels/messaging/ab/messages").await;
    assert_eq!(list["messages"].as_array().unwrap().len(), 1);
    // a removed author retrying an old id learns nothing of the channel any more
    alice.delete("/v1/channels/messaging/ab/members/bob").await;
    let bobs = json!({"id": new_id(), "text": "x"});
    let (s, b) = bob.post("/v1/channels/messaging/ab/messages", bobs).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "not_a_member"));
    let (s, b) = bob
        .post(
            "/v1/channels/messaging/ab/messages",
            json!({"id": id, "text": "x"}),
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "not_a_member"));
    alice
        .post(
            "/v1/channels/messaging/ab/members",
            json!({"members": [{"user_id": "bob"}]}),
        )
        .await;
    // ids must be UUIDv7
    let v4 = "4f9d2c1e-8b7a-4c3d-9e2f-1a2b3c4d5e6f";
    let (s, b) = alice
        .post(
            "/v1/channels/messaging/ab/messages",
            json!({"id": v4, "text": "x"}),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "validation_failed")
    );
    // the backend sends as a user
    let admin = t.admin(&app);
    let (s, b) = admin
        .post(
            "/v1/channels/messaging/ab/messages",
            json!({"id": new_id(), "text": "sys", "user_id": "bob"}),
        )
        .await;
    assert_eq!(
        (s, b["message"]["user_id"].as_str()),
        (StatusCode::CREATED, Some("bob"))
    );
}

#[tokio::test]
async fn bad_input_is_rejected_and_nothing_is_stored() {
    let t = TestServer::start().await;
    let app = t.app("a").await;
    t.users(&app, &["alice", "bob", "carol"]).await;
    let alice = t.user(&app, "alice");
    alice.channel("messaging", "ab", &["bob"]).await;
    let path = "/v1/channels/messaging/ab/messages";
    let url = format!("{}{path}", alice.base);
    let raw = |body: String, ctype: &'static str| {
        t.http
            .post(&url)
            .header("authorization", &alice.auth)
            .header("content-type", ctype)
            .body(body)
    };
    let cases: Vec<(reqwest::RequestBuilder, StatusCode, &str)> = vec![
        (
            raw("{\"id\": ".into(), "application/json"),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            raw("[1,2]".into(), "application/json"),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        ),
        (
            raw(
                format!("{{\"id\":\"{}\",\"text\":\"x\"}}", new_id()),
                "text/plain",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            raw(
                format!(
                    "{{\"id\":\"{}\",\"text\":\"{}\"}}",
                    new_id(),
                    "x".repeat(70_000)
                ),
                "application/json",
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            raw(
                format!(
                    "{{\"id\":\"{}\",\"text\":\"{}\"}}",
                    new_id(),
                    "é".repeat(5_001)
                ),
                "application/json",
            ),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        ),
        (
            raw(
                format!("{{\"id\":\"{}\",\"text\":\"   \"}}", new_id()),
                "application/json",
            ),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        ),
        (
            raw(
                format!(
                    "{{\"id\":\"{}\",\"text\":\"x\",\"attachments\":[1]}}",
                    new_id()
                ),
                "application/json",
            ),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        ),
        (
            raw(
                format!(
                    "{{\"id\":\"{}\",\"text\":\"x\",\"mentioned_users\":[\"carol\"]}}",
                    new_id()
                ),
                "application/json",
            ),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        ),
        (
            raw(
                format!(
                    "{{\"id\":\"{}\",\"text\":\"x\",\"parent_id\":\"{}\"}}",
                    new_id(),
                    new_id()
                ),
                "application/json",
            ),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        ),
    ];
    for (req, status, expected) in cases {
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), status);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(code(&body), expected, "{body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // exactly at the limit is fine
    alice.send("messaging:ab", &"é".repeat(5_000)).await;
    let (_, list) = alice.get(path).await;
    assert_eq!(
        list["messages"].as_array().unwrap().len(),
        1,
        "only the valid message was stored"
    );
    let (_, sync) = alice.get("/v1/sync").await;
    assert_eq!(sync["limited"][0]["messages"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn members_only_and_tenant_isolation() {
    let t = TestServer::start().await;
    let (a, b) = (t.app("a").await, t.app("b").await);
    t.users(&a, &["alice", "bob", "eve"]).await;
    t.users(&b, &["alice", "bob"]).await;
    let alice_a = t.user(&a, "alice");
    alice_a.channel("team", "secret", &["bob"]).await;
    let msg = alice_a.send("team:secret", "for app A only").await;
    let mid = msg["id"].as_str().unwrap().to_owned();
    // a non-member of the same app reads nothing, and cannot tell it from nothing
    let eve = t.user(&a, "eve");
    for path in [
        "/v1/channels/team/secret".to_owned(),
        "/v1/channels/team/secret/messages".to_owned(),
        format!("/v1/messages/{mid}"),
        format!("/v1/messages/{mid}/reactions"),
    ] {
        let (s, body) = eve.get(&path).await;
        assert_eq!(
            (s, code(&body)),
            (StatusCode::NOT_FOUND, "not_found"),
            "{path}"
        );
    }
    // writes by someone who never was a member: the channel does not exist for them
    let (s, _) = eve
        .post(
            "/v1/channels/team/secret/messages",
            json!({"id": new_id(), "text": "hi"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = eve
        .post(
            &format!("/v1/messages/{mid}/reactions"),
            json!({"type": "like"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = eve.post("/v1/channels/team/secret/read", json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = eve
        .post("/v1/channels/team/secret/typing", json!({"typing": true}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, sync) = eve.get("/v1/sync").await;
    assert_eq!(sync["limited"].as_array().unwrap().len(), 0);
    // the same user id in another app sees nothing of app A
    let alice_b = t.user(&b, "alice");
    for path in [
        "/v1/channels/team/secret".to_owned(),
        format!("/v1/messages/{mid}"),
    ] {
        let (s, _) = alice_b.get(&path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    let (_, q) = alice_b.post("/v1/channels/query", json!({})).await;
    assert_eq!(q["channels"].as_array().unwrap().len(), 0);
    let (_, sync) = alice_b.get("/v1/sync").await;
    assert!(sync["limited"].as_array().unwrap().is_empty());
    // app B can reuse the cid and even the message id, independently
    alice_b.channel("team", "secret", &["bob"]).await;
    let (s, _) = alice_b
        .post(
            "/v1/channels/team/secret/messages",
            json!({"id": mid, "text": "B"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, list) = alice_a.get("/v1/channels/team/secret/messages").await;
    assert_eq!(list["messages"][0]["text"], "for app A only");
    // app B's backend cannot reach app A, and A's secret does not open B
    let (s, _) = t.admin(&b).get(&format!("/v1/messages/{mid}")).await;
    assert_eq!(s, StatusCode::OK, "B's own message with that id");
    let (_, m) = t.admin(&b).get(&format!("/v1/messages/{mid}")).await;
    assert_eq!(m["message"]["text"], "B");
    let mixed = chat_server::auth::mint_user_token(&b.app_id, &a.api_secret, "alice", 60);
    let (s, _) = alice_b
        .with_auth(&format!("Bearer {mixed}"))
        .get("/v1/unread")
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let t = TestServer::start_with(|c| {
        c.rate_limit = chat_server::config::RateLimit {
            per_second: 0.2,
            burst: 3,
        };
    })
    .await;
    let app = t.app("a").await;
    t.users(&app, &["alice", "bob"]).await;
    let alice = t.user(&app, "alice");
    alice.channel("messaging", "ab", &["bob"]).await; // 1st write
    alice.send("messaging:ab", "1").await;
    alice.send("messaging:ab", "2").await;
    let resp = t
        .http
        .post(format!("{}/v1/channels/messaging/ab/messages", alice.base))
        .header("authorization", &alice.auth)
        .json(&json!({"id": new_id(), "text": "3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=5).contains(&retry), "{retry}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "rate_limited");
    assert_eq!(body["retry_after_secs"], retry);
    // reads have their own bucket, and other users have their own budget
    let (s, list) = alice.get("/v1/channels/messaging/ab/messages").await;
    assert_eq!(
        (s, list["messages"].as_array().unwrap().len()),
        (StatusCode::OK, 2)
    );
    t.user(&app, "bob").send("messaging:ab", "bob's").await;
}

#[tokio::test]
async fn reads_have_a_bucket_of_their_own() {
    let t = TestServer::start_with(|c| {
        c.read_rate_limit = chat_server::config::RateLimit {
            per_second: 0.2,
            burst: 3,
        };
    })
    .await;
    let app = t.app("a").await;
    t.users(&app, &["alice", "bob"]).await;
    let alice = t.user(&app, "alice");
    alice.channel("messaging", "ab", &["bob"]).await;
    for _ in 0..3 {
        let (s, b) = alice.get("/v1/sync").await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let (s, b) = alice.get("/v1/channels/messaging/ab/messages").await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(
        b["retry_after_secs"].as_u64().is_some_and(|r| r >= 1),
        "{b}"
    );
    // writes still pass, other users read, and server-side reads are never limited
    alice.send("messaging:ab", "still sending").await;
    let (s, _) = t.user(&app, "bob").get("/v1/sync").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = t.admin(&app).get("/v1/channels/messaging/ab").await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn openapi_document_is_served() {
    let t = TestServer::start().await;
    let (s, doc) = t.user(&t.app("a").await, "x").get("/v1/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/v1/sync",
        "/v1/channels/{type}/{id}/messages",
        "/v1/messages/{message_id}/reactions",
    ] {
        assert!(paths.contains_key(p), "{p}");
    }
    assert!(doc["components"]["schemas"]["SyncResponse"].is_object());
    // app settings with their rate limits
    let schemas = &doc["components"]["schemas"];
    for name in ["AppSettings", "AppRateLimits", "RateLimitSetting"] {
        assert!(schemas[name].is_object(), "{name}");
    }
    assert!(schemas["AppSettings"]["properties"]["rate_limits"].is_object());
}
