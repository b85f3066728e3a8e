//! An app's own rate limits (`rate_limits` in `PUT /v1/app/settings`, docs/protocol.md
//! "Rate limits"): only the app's server-side credentials set them, for that app only;
//! values out of bounds, of the wrong type, oversized or with unknown keys are refused
//! whole (nothing stored); the limits set apply to that app's users, and other apps keep
//! the server's defaults.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use chat_test::TestServer;
use chat_test::fixtures::new_id;

fn code(b: &Value) -> &str {
    b["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn app_limits_are_server_side_bounded_and_per_app() {
    let t = TestServer::start().await;
    let (a, b) = (t.app("a").await, t.app("b").await);
    t.users(&a, &["alice", "bob"]).await;
    t.users(&b, &["alice", "bob"]).await;
    let admin = t.admin(&a);
    let put = |api: chat_test::Api, body: Value| async move {
        api.request(Method::PUT, "/v1/app/settings", Some(body))
            .await
    };
    let slow = json!({"rate_limits": {"writes": {"per_second": 0.01, "burst": 3}}});
    // a user token cannot set them (nor read them)
    let (s, body) = put(t.user(&a, "alice"), slow.clone()).await;
    assert_eq!((s, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, body) = t.user(&a, "alice").get("/v1/app/settings").await;
    assert_eq!((s, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    // another app's key with this app's secret opens nothing
    let mixed = t.admin(&b).with_auth(&{
        use base64::Engine as _;
        let pair = format!("{}:{}", b.api_key, a.api_secret);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    });
    let (s, _) = put(mixed, slow.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // out of bounds, wrong types, oversized numbers, unknown keys: refused, nothing stored
    for bad in [
        json!({"writes": {"per_second": 0, "burst": 3}}),
        json!({"writes": {"per_second": -1, "burst": 3}}),
        json!({"writes": {"per_second": 0.001, "burst": 3}}),
        json!({"writes": {"per_second": 10_000.5, "burst": 3}}),
        json!({"writes": {"per_second": 1e300, "burst": 3}}),
        json!({"reads": {"per_second": 1, "burst": 0}}),
        json!({"reads": {"per_second": 1, "burst": 100_001}}),
        json!({"reads": {"per_second": 1, "burst": 4_294_967_296_u64}}),
        json!({"reads": {"per_second": 1, "burst": -1}}),
        json!({"reads": {"per_second": 1, "burst": 1.5}}),
        json!({"reads": {"per_second": "fast", "burst": 3}}),
        json!({"reads": {"per_second": 1}}),
        json!({"reads": {"per_second": 1, "burst": 3, "window": 60}}),
        json!({"write": {"per_second": 1, "burst": 3}}),
        json!("unlimited"),
    ] {
        let (s, body) = put(admin.clone(), json!({ "rate_limits": bad })).await;
        assert_eq!(
            (s, code(&body)),
            (StatusCode::BAD_REQUEST, "validation_failed"),
            "{bad}: {body}"
        );
    }
    let (_, settings) = admin.get("/v1/app/settings").await;
    assert_eq!(settings, json!({"cors_origins": []}), "nothing stored");
    // the app's own limit, kept as given, applies to its users only
    let (s, saved) = put(admin.clone(), slow.clone()).await;
    assert_eq!(
        (s, &saved),
        (
            StatusCode::OK,
            &json!({"cors_origins": [], "rate_limits": slow["rate_limits"]})
        )
    );
    assert_eq!(
        t.admin(&b).get("/v1/app/settings").await.1,
        json!({"cors_origins": []})
    );
    let alice = t.user(&a, "alice");
    alice.channel("messaging", "ab", &["bob"]).await;
    for i in 0..2 {
        alice.send("messaging:ab", &format!("{i}")).await;
    }
    let (s, body) = alice
        .post(
            "/v1/channels/messaging/ab/messages",
            json!({"id": new_id(), "text": "over"}),
        )
        .await;
    assert_eq!(
        (s, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(body["retry_after_secs"].as_u64().unwrap() > 10, "{body}");
    // reads keep the server's default; app b's users keep every default
    let (s, _) = alice.get("/v1/channels/messaging/ab/messages").await;
    assert_eq!(s, StatusCode::OK);
    let alice_b = t.user(&b, "alice");
    alice_b.channel("messaging", "ab", &["bob"]).await;
    for i in 0..5 {
        alice_b.send("messaging:ab", &format!("{i}")).await;
    }
    // clearing them gives the defaults back at once (on the node that took the PUT)
    let (s, _) = put(admin.clone(), json!({"cors_origins": []})).await;
    assert_eq!(s, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(150)).await; // refills at 20/s
    alice.send("messaging:ab", "default again").await;
}
