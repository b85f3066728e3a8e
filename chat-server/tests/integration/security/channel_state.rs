//! A member's own channel settings (`PATCH /v1/channels/{type}/{id}/member`) against
//! hostile callers. The rules this module owns (docs/protocol.md, "Hide, mute, archive"):
//!
//! - Only a current member changes their own settings: an outsider gets the `404` of a
//!   missing channel, a former member `403 not_a_member`, another app's user `404`.
//! - A server-side call needs `X-Onyx-User` and acts as that member only.
//! - Bodies: at least one known boolean field; anything else is `400 validation_failed`;
//!   a body over the global limit is `413`.
//! - The settings never leak: other members see neither the change (sync, channel reads)
//!   nor the `member` rows carrying it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use chat_test::TestServer;

const CH: &str = "/v1/channels/team/quiet";
const MEMBER: &str = "/v1/channels/team/quiet/member";

fn settings(body: &Value) -> (bool, bool, bool) {
    let s = &body["state"];
    (
        s["hidden"].as_bool().expect("hidden"),
        s["muted"].as_bool().expect("muted"),
        s["archived"].as_bool().expect("archived"),
    )
}

#[tokio::test]
async fn only_a_member_changes_their_own_settings() {
    let server = TestServer::start().await;
    let app = server.app("chanstate").await;
    server.users(&app, &["alice", "bob", "mallory"]).await;
    let (alice, bob, mallory) = (
        server.user(&app, "alice"),
        server.user(&app, "bob"),
        server.user(&app, "mallory"),
    );
    alice.channel("team", "quiet", &["bob"]).await;
    // An outsider: the answer of a missing channel, for an existing and a missing one.
    let (s, body) = mallory.patch(MEMBER, json!({"muted": true})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    let (s2, _) = mallory
        .patch("/v1/channels/team/nope/member", json!({"muted": true}))
        .await;
    assert_eq!(s2, StatusCode::NOT_FOUND);
    // Another app's user with the same user id and path.
    let other = server.app("chanstate-other").await;
    server.users(&other, &["alice"]).await;
    let (s, _) = server
        .user(&other, "alice")
        .patch(MEMBER, json!({"muted": true}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The server key needs a user, and then acts as that member only.
    let admin = server.admin(&app);
    let (s, body) = admin.patch(MEMBER, json!({"muted": true})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let (s, body) = admin
        .on_behalf_of("mallory")
        .patch(MEMBER, json!({"muted": true}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    let (s, body) = admin
        .on_behalf_of("bob")
        .patch(MEMBER, json!({"archived": true}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(settings(&body), (false, false, true));
    // A former member: 403 not_a_member (their queued change fails for good).
    let (s, _) = bob.delete(&format!("{CH}/members/bob")).await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = bob.patch(MEMBER, json!({"muted": true})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "not_a_member");
}

#[tokio::test]
async fn bad_bodies_are_refused() {
    let server = TestServer::start().await;
    let app = server.app("chanstate").await;
    server.users(&app, &["alice"]).await;
    let alice = server.user(&app, "alice");
    alice.channel("team", "quiet", &[]).await;
    for bad in [
        json!({}),
        json!({"muted": "yes"}),
        json!({"muted": 1}),
        json!({"pinned": true}),
        json!({"muted": null, "hidden": null}),
        json!([true]),
    ] {
        let (s, body) = alice.patch(MEMBER, bad.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad} -> {body}");
        assert_eq!(body["code"], "validation_failed", "{bad} -> {body}");
    }
    let (s, _) = alice
        .patch(MEMBER, json!({"muted": true, "pad": "y".repeat(70_000)}))
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    // Nothing above changed anything.
    let (_, state) = alice.get(CH).await;
    assert_eq!(state["own_state"]["rev"], 0, "{state}");
}

#[tokio::test]
async fn settings_never_leak_to_other_members() {
    let server = TestServer::start().await;
    let app = server.app("chanstate").await;
    server.users(&app, &["alice", "bob"]).await;
    let (alice, bob) = (server.user(&app, "alice"), server.user(&app, "bob"));
    alice.channel("team", "quiet", &["bob"]).await;
    let (_, boot) = bob.get("/v1/sync").await;
    let cursor = boot["cursor"].as_str().expect("cursor").to_owned();
    let (s, body) = alice
        .patch(
            MEMBER,
            json!({"muted": true, "hidden": true, "archived": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(settings(&body), (true, true, true));
    let (s, diff) = bob
        .get(&format!("/v1/sync?cursor={}", cursor.replace(':', "%3A")))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        diff["changes"],
        json!([]),
        "bob learns nothing of alice's settings"
    );
    let (_, seen) = bob.get(CH).await;
    assert_eq!(seen["own_state"]["user_id"], "bob");
    assert_eq!(seen["own_state"]["muted"], false);
    let text = seen.to_string();
    assert!(!text.contains("\"muted\":true"), "{text}");
    // Alice's own read shows them.
    let (_, mine) = alice.get(CH).await;
    assert_eq!(mine["own_state"]["muted"], true);
}

#[tokio::test]
async fn only_owners_admins_and_the_backend_delete_a_channel() {
    let server = TestServer::start().await;
    let app = server.app("chanstate").await;
    server
        .users(&app, &["alice", "bob", "carol", "dave", "mallory"])
        .await;
    let alice = server.user(&app, "alice");
    alice
        .channel("team", "quiet", &["bob", "carol", "dave"])
        .await;
    let admin = server.admin(&app);
    let (s, body) = admin
        .post(
            &format!("{CH}/members"),
            json!({"members": [{"user_id": "carol", "role": "moderator"},
                               {"user_id": "dave", "role": "admin"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // Another app's user with the same ids and path, an outsider, a member, a moderator.
    let other = server.app("chanstate-other").await;
    server.users(&other, &["alice"]).await;
    let (s, _) = server.user(&other, "alice").delete(CH).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = server.user(&app, "mallory").delete(CH).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for (who, status) in [
        ("bob", StatusCode::FORBIDDEN),
        ("carol", StatusCode::FORBIDDEN),
    ] {
        let (s, body) = server.user(&app, who).delete(CH).await;
        assert_eq!(s, status, "{who}: {body}");
    }
    // Malformed addresses.
    let (s, _) = alice.delete("/v1/channels/team/bad%20id").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // An admin may; the answer carries the caller's own tombstone.
    let (s, body) = server.user(&app, "dave").delete(CH).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["removed"]["user_id"], "dave");
    assert_eq!(body["removed"]["deleted"], true);
    // Then it is gone for everyone: reads 404, a former member's writes fail for good.
    let (s, _) = alice.get(CH).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, body) = alice
        .post(
            &format!("{CH}/messages"),
            json!({"id": uuid::Uuid::now_v7(), "text": "late"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    let (s, _) = admin.delete(CH).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The id is never handed out again.
    let (s, body) = alice
        .post("/v1/channels", json!({"type": "team", "id": "quiet"}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
}
