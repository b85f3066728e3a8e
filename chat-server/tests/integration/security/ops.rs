//! Operations endpoints under hostile clients: metrics stay off the API port, no request
//! can grow the metrics' series, and a request id cannot carry anything into responses or
//! log lines.

use chat_test::TestServer;

use crate::ops::{scrape, value};

/// Metrics describe the whole deployment: the API port does not serve them.
#[tokio::test]
async fn metrics_are_not_served_on_the_api_port() {
    let t = TestServer::start_with(|c| c.metrics_addr = Some("127.0.0.1:0".parse().unwrap())).await;
    let http = reqwest::Client::new();
    let res = http
        .get(format!("{}/metrics", t.server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(!res.text().await.unwrap().contains("onyxchat_"));
    // Without `metrics_addr` there is no metrics listener at all.
    let plain = TestServer::start().await;
    assert!(plain.server.metrics_addr.is_none());
}

/// Series cannot be created by clients: random paths count as `route="unmatched"`, made-up
/// methods as `method="other"`, so 300 distinct probes add no label value of their own.
#[tokio::test]
async fn probes_of_random_paths_and_methods_add_no_series() {
    let t = TestServer::start_with(|c| c.metrics_addr = Some("127.0.0.1:0".parse().unwrap())).await;
    let at = t.server.metrics_addr.unwrap();
    let http = reqwest::Client::new();
    let base = t.server.base_url();
    // Warm up every label combination the probes below can produce.
    http.get(format!("{base}/v1/warm-up")).send().await.unwrap();
    let brew = |m: &str| reqwest::Method::from_bytes(m.as_bytes()).unwrap();
    http.request(brew("BREW"), format!("{base}/v1/sync"))
        .send()
        .await
        .unwrap();
    http.request(brew("BREW"), format!("{base}/v1/warm-up"))
        .send()
        .await
        .unwrap();
    let before = scrape(&http, at).await;
    for i in 0..100 {
        http.get(format!("{base}/v1/probe-{i}-x"))
            .send()
            .await
            .unwrap();
        http.request(brew(&format!("M{i}X")), format!("{base}/v1/sync"))
            .send()
            .await
            .unwrap();
        http.request(brew(&format!("M{i}Y")), format!("{base}/v1/probe-{i}-y"))
            .send()
            .await
            .unwrap();
    }
    let after = scrape(&http, at).await;
    // (Other tests share the process's recorder, so series are checked by their labels:
    // every method is a known one or `other`, every route a template or `unmatched`.)
    let labels = |name: &str| -> std::collections::BTreeSet<String> {
        after
            .lines()
            .filter(|l| l.starts_with("onyxchat_http_"))
            .filter_map(|l| {
                let at = l.find(&format!("{name}=\""))? + name.len() + 2;
                Some(l[at..].split('"').next()?.to_owned())
            })
            .collect()
    };
    let methods = labels("method");
    let known = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "other",
    ];
    assert!(
        methods.iter().all(|m| known.contains(&m.as_str())),
        "{methods:?}"
    );
    let routes = labels("route");
    assert!(
        routes
            .iter()
            .all(|r| r == "unmatched" || (r.starts_with('/') && !r.contains("probe"))),
        "{routes:?}"
    );
    assert!(
        !after.contains("probe-") && !after.contains("M1X"),
        "{after}"
    );
    let grew = |labels: &[(&str, &str)]| {
        value(&after, "onyxchat_http_requests_total", labels)
            - value(&before, "onyxchat_http_requests_total", labels)
    };
    assert!(grew(&[("route", "unmatched")]) >= 200.0);
    assert!(grew(&[("method", "other")]) >= 200.0);
}

/// A caller's `x-request-id` reaches responses and log lines only if it is 1–64 characters
/// of `[A-Za-z0-9._-]`; anything else (too long, spaces, quotes, braces) is replaced by a
/// fresh UUIDv7. Errors carry an id too.
#[tokio::test]
async fn a_request_id_is_kept_only_when_it_is_sane() {
    let t = TestServer::start().await;
    let http = reqwest::Client::new();
    let url = format!("{}/healthz", t.server.base_url());
    let id_of =
        |res: &reqwest::Response| res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let res = http
        .get(&url)
        .header("x-request-id", "lb-7f3a.42_x")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&res), "lb-7f3a.42_x");
    for bad in [
        None,
        Some("a".repeat(65)),
        Some("a b".to_owned()),
        Some("x\"}{".to_owned()),
    ] {
        let mut req = http.get(&url);
        if let Some(bad) = &bad {
            req = req.header("x-request-id", bad.as_str());
        }
        let id = id_of(&req.send().await.unwrap());
        let parsed = uuid::Uuid::parse_str(&id).unwrap_or_else(|_| panic!("{bad:?} gave {id}"));
        assert_eq!(parsed.get_version_num(), 7);
    }
    let res = http
        .get(format!("{}/v1/sync", t.server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(uuid::Uuid::parse_str(&id_of(&res)).is_ok());
}

/// `/readyz` tells a load balancer "ready" or why not, and nothing else.
#[tokio::test]
async fn readyz_says_only_whether_the_node_takes_traffic() {
    let t = TestServer::start().await;
    let res = reqwest::get(format!("{}/readyz", t.server.base_url()))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "ready"}));
}
