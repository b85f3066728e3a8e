//! `GET /v1/search` (docs/protocol.md "Security model", "Search"): a search reads only the
//! caller's current channels of the caller's app; a channel filter on a channel the caller
//! may not read answers like a missing channel; the text, page size and cursor are
//! bounded and validated.

use reqwest::StatusCode;
use serde_json::Value;

use chat_test::TestServer;

fn texts(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| h["message"]["text"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_search_reads_only_the_callers_channels_of_the_callers_app() {
    let t = TestServer::start().await;
    let app = t.app("search-a").await;
    let other = t.app("search-b").await;
    t.users(&app, &["alice", "bob", "eve"]).await;
    t.users(&other, &["alice", "eve"]).await;
    let alice = t.user(&app, "alice");
    alice.channel("team", "secret", &["bob"]).await;
    alice.send("team:secret", "the launch code").await;
    // The same user id and channel id in another app: a different tenant.
    let other_alice = t.user(&other, "alice");
    other_alice.channel("team", "secret", &["eve"]).await;
    other_alice.send("team:secret", "another launch").await;

    let (status, body) = t.user(&app, "bob").get("/v1/search?q=launch").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(texts(&body), ["the launch code"]);
    // A non-member finds nothing, in the same app or through the same ids elsewhere.
    let (status, body) = t.user(&app, "eve").get("/v1/search?q=launch").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(texts(&body).is_empty(), "{body}");
    let (_, body) = t.user(&other, "eve").get("/v1/search?q=code").await;
    assert!(texts(&body).is_empty(), "{body}");

    // A channel filter on a channel the caller may not read answers like a missing one.
    let eve = t.user(&app, "eve");
    let (existing, e_body) = eve.get("/v1/search?q=launch&cid=team:secret").await;
    let (missing, m_body) = eve.get("/v1/search?q=launch&cid=team:nothere").await;
    assert_eq!(
        (existing, missing),
        (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND)
    );
    assert_eq!(
        e_body.to_string().replace("secret", "X"),
        m_body.to_string().replace("nothere", "X")
    );
    // A member removed from the channel stops finding it.
    alice
        .request(
            reqwest::Method::DELETE,
            "/v1/channels/team/secret/members/bob",
            None,
        )
        .await;
    let (_, body) = t.user(&app, "bob").get("/v1/search?q=launch").await;
    assert!(texts(&body).is_empty(), "{body}");
}

#[tokio::test]
async fn search_input_is_bounded() {
    let t = TestServer::start().await;
    let app = t.app("search-limits").await;
    t.users(&app, &["alice"]).await;
    let alice = t.user(&app, "alice");
    alice.channel("team", "c", &[]).await;
    for i in 0..3 {
        alice.send("team:c", &format!("word {i}")).await;
    }
    let long = "a".repeat(chat_protocol::SEARCH_QUERY_MAX_BYTES + 1);
    let many = vec!["w"; chat_protocol::SEARCH_QUERY_MAX_WORDS + 1].join("+");
    for bad in [
        "/v1/search".to_owned(),
        "/v1/search?q=".to_owned(),
        "/v1/search?q=%20%2D%2D%20".to_owned(),
        format!("/v1/search?q={long}"),
        format!("/v1/search?q={many}"),
        "/v1/search?q=word&limit=0".to_owned(),
        "/v1/search?q=word&limit=101".to_owned(),
        "/v1/search?q=word&limit=-1".to_owned(),
        "/v1/search?q=word&cursor=v1:x:1".to_owned(),
        "/v1/search?q=word&cursor=s1.0".to_owned(),
        "/v1/search?q=word&cid=nonsense".to_owned(),
    ] {
        let (status, body) = alice.get(&bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    // FTS syntax in the text is searched as words, never run as a query.
    for q in [
        "word%20OR%20x",
        "%22word",
        "word*",
        "NEAR(word)",
        "text:word",
        "word%20-x",
    ] {
        let (status, body) = alice.get(&format!("/v1/search?q={q}")).await;
        assert_eq!(status, StatusCode::OK, "{q}: {body}");
    }
    // The limit bounds the page; the cursor continues it.
    let (_, first) = alice.get("/v1/search?q=word&limit=2").await;
    assert_eq!(texts(&first), ["word 2", "word 1"]);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let (_, second) = alice
        .get(&format!("/v1/search?q=word&limit=2&cursor={cursor}"))
        .await;
    assert_eq!(texts(&second), ["word 0"]);
    assert!(second.get("next_cursor").is_none(), "{second}");
}
