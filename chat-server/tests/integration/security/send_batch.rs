//! Batch sends under hostile callers (docs/protocol.md, "Security model", "Batch sends").
//! The rules this module owns:
//!
//! - A batch grants nothing a single send does not: each message gets the answer a single
//!   send of it would (another app's channel and outsiders `404`, a former member `403`,
//!   a user token naming another author `400`), in its own result.
//! - Whole-request limits: 1..=100 messages (`400`), a body of at most 1 MiB (`413`); the
//!   bigger body is for this route only.
//! - Every message costs one write of the user's rate limit: what the bucket cannot pay for
//!   answers `429` with `retry_after_secs` and is not stored.

use reqwest::StatusCode;
use serde_json::{Value, json};

use chat_protocol::AppCredentials;
use chat_test::{Api, TestServer, new_id};

const BATCH: &str = "/v1/channels/team/dev/messages/batch";

fn texts(texts: &[&str]) -> Value {
    let messages: Vec<Value> = texts
        .iter()
        .map(|t| json!({"id": new_id(), "text": t}))
        .collect();
    json!({ "messages": messages })
}

/// Each result's status.
fn statuses(body: &Value) -> Vec<u64> {
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {body}"))
        .iter()
        .map(|r| r["status"].as_u64().expect("status"))
        .collect()
}

fn codes(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["error"]["code"].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn setup(
    adjust: impl FnOnce(&mut chat_server::config::ServerConfig),
) -> (TestServer, AppCredentials, Api) {
    let t = TestServer::start_with(adjust).await;
    let app = t.app("batch").await;
    t.users(&app, &["alice", "bob", "mallory"]).await;
    let alice = t.user(&app, "alice");
    alice.channel("team", "dev", &["bob"]).await;
    (t, app, alice)
}

async fn count(api: &Api) -> usize {
    let (s, page) = api.get("/v1/channels/team/dev/messages").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    page["messages"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_batch_answers_each_message_as_a_single_send_would() {
    let (t, app, alice) = setup(|_| {}).await;
    // Another app's alice addresses the same channel id: it does not exist there.
    let other = t.app("batch-b").await;
    t.users(&other, &["alice"]).await;
    let (s, body) = t
        .user(&other, "alice")
        .post(BATCH, texts(&["x", "y"]))
        .await;
    assert_eq!(
        (s, statuses(&body)),
        (StatusCode::OK, vec![404, 404]),
        "{body}"
    );
    let (_, body) = t
        .admin(&other)
        .post(
            BATCH,
            json!({"messages": [{"id": new_id(), "text": "hi", "user_id": "alice"}]}),
        )
        .await;
    assert_eq!(statuses(&body), [404], "nor for its backend");
    // Someone who never was a member: the channel does not exist for them.
    let (_, body) = t.user(&app, "mallory").post(BATCH, texts(&["in?"])).await;
    assert_eq!(statuses(&body), [404]);
    // A former member: a queued send fails for good.
    let bob = t.user(&app, "bob");
    bob.send("team:dev", "while a member").await;
    let (s, _) = bob.delete("/v1/channels/team/dev/members/bob").await;
    assert_eq!(s, StatusCode::OK);
    let (_, body) = bob.post(BATCH, texts(&["after leaving"])).await;
    assert_eq!(
        (statuses(&body), codes(&body)),
        (vec![403], vec!["not_a_member".to_owned()])
    );
    // A user token naming another author, a message over a limit, an empty one: each is
    // refused alone, the others go through.
    let mixed = json!({"messages": [
        {"id": new_id(), "text": "mine"},
        {"id": new_id(), "text": "as bob", "user_id": "bob"},
        {"id": new_id(), "text": "x".repeat(5_001)},
        {"id": new_id(), "text": " "},
        {"id": new_id(), "text": "also mine", "mentioned_users": ["mallory"]},
        {"id": new_id(), "text": "the last"},
    ]});
    let (_, body) = alice.post(BATCH, mixed).await;
    assert_eq!(statuses(&body), [201, 400, 400, 400, 400, 201], "{body}");
    assert_eq!(count(&alice).await, 3, "bob's message and alice's two");
    // A server-side caller sends as any member, per message.
    let (_, body) = t
        .admin(&app)
        .post(
            BATCH,
            json!({"messages": [{"id": new_id(), "text": "from the backend", "user_id": "alice"}]}),
        )
        .await;
    assert_eq!(statuses(&body), [201]);
    // Without credentials nothing happens.
    let (s, _) = alice
        .with_auth("Bearer nope")
        .post(BATCH, texts(&["x"]))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(count(&alice).await, 4);
}

#[tokio::test]
async fn a_batch_is_bounded_in_count_and_bytes() {
    let (_t, _app, alice) =
        setup(|c| c.rate_limit = chat_server::config::RateLimit::UNLIMITED).await;
    for (body, why) in [
        (json!({"messages": []}), "empty"),
        (texts(&["m"; 101]), "101 messages"),
        (
            json!({"messages": [{"id": "not-a-uuid", "text": "x"}]}),
            "a malformed id",
        ),
        (json!({"messages": "none"}), "not a list"),
        (json!({}), "no list"),
    ] {
        let (s, answer) = alice.post(BATCH, body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{why}: {answer}");
    }
    let (s, body) = alice.post(BATCH, texts(&["m"; 100])).await;
    assert_eq!((s, statuses(&body).len()), (StatusCode::OK, 100));
    // 60 messages of 4,000 characters: ~240 KB, over the single-request limit but not the
    // batch's; the single send of the same body size is refused.
    let big = "é".repeat(4_000);
    let (s, body) = alice.post(BATCH, texts(&[big.as_str(); 60])).await;
    assert_eq!(s, StatusCode::OK);
    assert!(statuses(&body).iter().all(|s| *s == 201));
    let (s, _) = alice
        .post(
            "/v1/channels/team/dev/messages",
            json!({"id": new_id(), "text": "x", "attachments": [{"pad": "y".repeat(70_000)}]}),
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "other routes keep 64 KiB");
    // Over 1 MiB: 130 × ~9 KB would also be over the count; 100 × 11 KB is over the bytes.
    let huge: Vec<Value> = (0..100)
        .map(|_| json!({"id": new_id(), "text": "z", "attachments": [{"pad": "y".repeat(11_000)}]}))
        .collect();
    let (s, answer) = alice.post(BATCH, json!({ "messages": huge })).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
}

#[tokio::test]
async fn every_message_of_a_batch_costs_one_write() {
    let (_t, _app, alice) = setup(|c| {
        c.rate_limit = chat_server::config::RateLimit {
            per_second: 0.2,
            burst: 4,
        };
    })
    .await;
    // The channel's creation took one token; three remain for five messages.
    let (s, body) = alice.post(BATCH, texts(&["1", "2", "3", "4", "5"])).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(statuses(&body), [201, 201, 201, 429, 429], "{body}");
    let retry = &body["results"][3]["error"]["retry_after_secs"];
    assert!((1..=5).contains(&retry.as_u64().unwrap()), "{retry}");
    assert_eq!(count(&alice).await, 3, "nothing refused was stored");
    // An empty bucket refuses the request itself, like any write.
    let (s, _) = alice.post(BATCH, texts(&["6"])).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}
