//! Operations endpoints against a real server: `/readyz`, and Prometheus metrics served on
//! their own listener only, counting what actually happened (requests by route template,
//! sync pages, store transactions, open sockets, pushes) with bounded label values.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use chat_test::{TestServer, token};

/// The value of the series `name` whose labels include every `labels` pair (0 if absent).
pub fn value(metrics: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// `GET /metrics` on the metrics listener.
pub async fn scrape(http: &reqwest::Client, at: std::net::SocketAddr) -> String {
    let res = http
        .get(format!("http://{at}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    res.text().await.unwrap()
}

#[tokio::test]
async fn readyz_and_metrics_on_their_own_listener_count_what_happened() {
    let t = TestServer::start_with(|c| c.metrics_addr = Some("127.0.0.1:0".parse().unwrap())).await;
    let metrics_at = t.server.metrics_addr.expect("a metrics listener");
    assert_ne!(metrics_at, t.server.addr);
    let http = reqwest::Client::new();
    let base = t.server.base_url();

    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<Value>().await.unwrap(),
        json!({"status": "ready"})
    );

    let app = t.app_with_users(&["alice", "bob"]).await;
    let alice = t.user(&app, "alice");
    alice.create_channel("team:ops", &["alice", "bob"]).await;
    let before = scrape(&http, metrics_at).await;

    // bob online: his pushes are counted.
    let (mut ws, _) = tokio_tungstenite::connect_async(t.server.websocket_url())
        .await
        .unwrap();
    let token = token(&app, "bob", 3600);
    ws.send(WsMessage::text(
        json!({"id": 1, "connect": {"token": token}}).to_string(),
    ))
    .await
    .unwrap();
    let reply = ws.next().await.unwrap().unwrap().into_text().unwrap();
    assert!(reply.contains("\"connect\""), "{reply}");
    for i in 0..3 {
        alice.send("team:ops", &format!("m{i}")).await;
    }
    // Wait for bob's three pushes (a frame may carry several, `\n`-separated).
    let mut pushed = 0;
    while pushed < 3 {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("pushes in time")
            .unwrap()
            .unwrap()
            .into_text()
            .unwrap();
        pushed += frame.lines().filter(|l| l.contains("\"push\"")).count();
    }
    let (status, _) = t.user(&app, "bob").sync_page(None, 50).await;
    assert_eq!(status, 200);
    // A probe of random paths and a made-up method add no series of their own.
    http.get(format!("{base}/v1/no-such-route-7f3a"))
        .send()
        .await
        .unwrap();
    http.request(
        reqwest::Method::from_bytes(b"BREW").unwrap(),
        format!("{base}/v1/sync"),
    )
    .send()
    .await
    .unwrap();

    let after = scrape(&http, metrics_at).await;
    let grew = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    let send_route = [
        ("route", "/v1/channels/{type}/{id}/messages"),
        ("method", "POST"),
        ("status", "201"),
    ];
    assert!(
        grew("onyxchat_http_requests_total", &send_route) >= 3.0,
        "{after}"
    );
    assert!(
        grew(
            "onyxchat_http_request_duration_seconds_count",
            &[
                ("route", "/v1/channels/{type}/{id}/messages"),
                ("method", "POST")
            ]
        ) >= 3.0
    );
    assert!(after.contains("onyxchat_http_request_duration_seconds_bucket{"));
    assert!(grew("onyxchat_sync_pages_total", &[]) >= 1.0);
    assert!(grew("onyxchat_store_duration_seconds_count", &[("op", "write")]) >= 3.0);
    assert!(grew("onyxchat_pushes_total", &[("kind", "durable")]) >= 3.0);
    assert!(value(&after, "onyxchat_websocket_connections", &[]) >= 1.0);
    assert!(grew("onyxchat_http_requests_total", &[("route", "unmatched")]) >= 1.0);
    assert!(grew("onyxchat_http_requests_total", &[("method", "other")]) >= 1.0);
    assert!(
        !after.contains("no-such-route") && !after.contains("BREW"),
        "{after}"
    );

    drop(ws);
    t.server.stop().await.unwrap();
}
