//! User tokens' time claims: `nbf`, `iat` and the longest lifetime.

use reqwest::StatusCode;
use serde_json::{Value, json};

use chat_test::TestServer;

/// Signs arbitrary claims with the app's secret.
fn signed(app: &chat_protocol::AppCredentials, claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(app.api_secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn tokens_not_yet_valid_or_living_too_long_are_refused() {
    let t = TestServer::start().await;
    let app = t.app("a").await;
    let now = chrono::Utc::now().timestamp();
    let day = 86_400;
    let claims =
        |iat: i64, exp: i64| json!({"sub": "alice", "app": app.app_id, "iat": iat, "exp": exp});
    let with_nbf = |nbf: i64| {
        let mut c = claims(now, now + 600);
        c["nbf"] = json!(nbf);
        c
    };
    let refused = [
        ("nbf an hour ahead", with_nbf(now + 3600), "not yet valid"),
        (
            "iat an hour ahead",
            claims(now + 3600, now + 7200),
            "not yet valid",
        ),
        ("a year long", claims(now, now + 365 * day), "lifetime"),
        (
            "30 days and a minute",
            claims(now, now + 30 * day + 60),
            "lifetime",
        ),
        (
            "issued long ago, valid for years more",
            claims(now - day, now + 400 * day),
            "lifetime",
        ),
    ];
    for (what, claims, message) in refused {
        let (status, body) = t
            .user(&app, "x")
            .with_auth(&format!("Bearer {}", signed(&app, claims)))
            .get("/v1/sync")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert_eq!(body["code"], "unauthorized", "{what}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(message),
            "{what}: {body}"
        );
    }
    let accepted = [
        ("dev mode's 30-day token", claims(now, now + 30 * day)),
        ("nbf now", with_nbf(now)),
        ("a backend clock 20 s ahead", claims(now + 20, now + 620)),
    ];
    for (what, claims) in accepted {
        let (status, body) = t
            .user(&app, "x")
            .with_auth(&format!("Bearer {}", signed(&app, claims)))
            .get("/v1/sync")
            .await;
        assert_eq!(status, StatusCode::OK, "{what}: {body}");
    }
}
