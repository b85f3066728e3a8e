//! Rate limits shared by every node of one PostgreSQL database (`chat_server::ratelimit`,
//! docs/protocol.md "Rate limits"), against the cluster named by
//! `ONYXCHAT_TEST_DATABASE_URL` and the broker named by `ONYXCHAT_TEST_NATS_URL` (the
//! several-nodes deployment, `serve --nats-url`):
//!
//! - **The statement is the algorithm**: the PostgreSQL take, given the time, decides
//!   exactly what `Gcra::take` decides, step for step, on a sequence of takes that covers
//!   absent, stale and ahead keys, batches and limit changes.
//! - **Exact under concurrency**: many takes of one key at once, from two nodes' pools,
//!   grant exactly the burst.
//! - **One limit across nodes**: a user whose requests alternate between two nodes gets
//!   `429` + `Retry-After` once the shared burst of the app's own limits (set through one
//!   node, applied by both) is spent (with per-node buckets they would get twice as many),
//!   writes and reads alike, and a batch send is paid from the same shared bucket.
//! - **Pruning** deletes stale keys only.
//! - **WebSocket connects of one address** (`serve --connect-rate-per-ip`) are counted once
//!   for the nodes of a database: upgrades alternating between two nodes are refused
//!   (`429` + `Retry-After`) once the shared burst is spent, where per-node buckets would
//!   let twice as many through; another address keeps a bucket of its own.

use std::sync::Arc;

use chat_protocol::AppCredentials;
use chat_server::config::RateLimit;
use chat_server::ratelimit::{Bucket, Gcra, SharedLimiter};
use chat_server::realtime::InProcessHub;
use chat_server::store::SyncSettings;
use chat_server::store::postgres::{PgLimiter, PgStore};
use chat_test::TestServer;
use chat_test::fixtures::new_id;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::postgres::{fresh_database, fresh_schema};

async fn limiter(config: &tokio_postgres::Config) -> PgLimiter {
    PgStore::open(
        config.clone(),
        4,
        Arc::new(InProcessHub::new()),
        SyncSettings::default(),
    )
    .await
    .unwrap()
    .limiter()
}

#[tokio::test]
async fn the_statement_decides_as_the_algorithm() {
    let pg = limiter(&fresh_schema().await).await;
    let t0: i64 = 1_700_000_000_000_000;
    let small = Gcra::new(RateLimit {
        per_second: 2.0,
        burst: 3,
    });
    let big = Gcra::new(RateLimit {
        per_second: 3.0,
        burst: 10,
    });
    // (µs after t0, limit, wanted)
    let steps = [
        (0, small, 1),
        (0, small, 1),
        (0, small, 5),
        (0, small, 1),
        (499_999, small, 1),
        (500_000, small, 1),
        (600_000, small, 0),
        (10_000_000, small, 7), // stale: a full bucket again
        (10_000_000, big, 20),  // a larger limit on the same key
        (10_100_000, small, 1), // lowered again: owes at most its own burst
        (10_600_000, small, 1),
        (20_000_000, big, 2),
        (20_000_001, big, 9),
    ];
    let mut tat = None;
    for (i, (at, gcra, wanted)) in steps.into_iter().enumerate() {
        let now = t0 + at;
        let expected = gcra.take(tat, now, wanted);
        let got = pg
            .take_at("app", Bucket::Writes, "u", gcra, wanted, Some(now))
            .await
            .unwrap();
        assert_eq!(got, expected, "step {i}");
        tat = Some(got.tat_us);
    }
    // keys are (app, bucket, user): each of these starts full
    for (app, bucket, user) in [
        ("app", Bucket::Reads, "u"),
        ("app", Bucket::Writes, "v"),
        ("other", Bucket::Writes, "u"),
    ] {
        let got = pg
            .take_at(app, bucket, user, small, 3, Some(t0))
            .await
            .unwrap();
        assert_eq!(got.granted, 3, "{app} {bucket:?} {user}");
    }
}

#[tokio::test]
async fn concurrent_takes_from_two_nodes_grant_exactly_the_burst() {
    let config = fresh_schema().await;
    let (one, two) = (limiter(&config).await, limiter(&config).await);
    let gcra = Gcra::new(RateLimit {
        per_second: 0.01,
        burst: 10,
    });
    let takes = (0..40).map(|i| {
        let pg = if i % 2 == 0 { one.clone() } else { two.clone() };
        tokio::spawn(async move { pg.take("app", Bucket::Writes, "u", gcra, 1).await })
    });
    let mut granted = 0;
    for take in takes {
        granted += take.await.unwrap().unwrap().granted;
    }
    assert_eq!(granted, 10);
}

#[tokio::test]
async fn pruning_deletes_stale_keys_only() {
    let pg = limiter(&fresh_schema().await).await;
    let gcra = Gcra::new(RateLimit {
        per_second: 1.0,
        burst: 5,
    });
    // stale: taken an hour ago (its arrival time long past); live: taken now
    let hour_ago = chrono_now_us() - 3_600_000_000;
    for user in ["a", "b", "c"] {
        pg.take_at("app", Bucket::Reads, user, gcra, 1, Some(hour_ago))
            .await
            .unwrap();
    }
    pg.take("app", Bucket::Reads, "live", gcra, 5)
        .await
        .unwrap();
    assert_eq!(pg.prune(2).await.unwrap(), 2, "bounded per run");
    assert_eq!(pg.prune(100).await.unwrap(), 1);
    assert_eq!(pg.prune(100).await.unwrap(), 0);
    // the live key kept its state: its burst is spent
    let again = pg
        .take("app", Bucket::Reads, "live", gcra, 1)
        .await
        .unwrap();
    assert_eq!(again.granted, 0);
}

fn chrono_now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

const BURST: u32 = 6;

/// A node of `database` behind the broker (the server's default limits).
async fn node(database: &str) -> TestServer {
    TestServer::start_node(database, &chat_test::nodes::nats_url(), |_| {}).await
}

async fn two_nodes() -> (TestServer, TestServer, AppCredentials) {
    let database = fresh_database().await;
    let one = node(&database).await;
    let two = node(&database).await;
    let app = one.app("limits").await;
    one.users(&app, &["alice", "bob"]).await;
    // the app's own slow limits, set through node 1 (node 2 has not cached any yet)
    let slow = json!({"per_second": 0.01, "burst": BURST});
    let (s, body) = one
        .admin(&app)
        .request(
            reqwest::Method::PUT,
            "/v1/app/settings",
            Some(json!({"rate_limits": {"writes": slow, "reads": slow}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    (one, two, app)
}

/// Sends `method path` as `user` of `app` to `node`: the status, `Retry-After` and body.
async fn call(
    node: &TestServer,
    app: &AppCredentials,
    user: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Option<u64>, Value) {
    let api = node.user(app, user);
    let mut req = node
        .http
        .request(method, format!("{}{path}", api.base))
        .header("authorization", &api.auth);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, retry, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_user_alternating_between_nodes_gets_one_burst() {
    let (one, two, app) = two_nodes().await;
    let nodes = [&one, &two];
    // writes: the channel, then sends, alternating nodes; the burst is spent after BURST
    let (s, _, _) = call(
        &one,
        &app,
        "alice",
        reqwest::Method::POST,
        "/v1/channels",
        Some(json!({"type": "messaging", "id": "ab", "members": ["bob"]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let send = |i: usize| {
        let node = nodes[i % 2];
        let app = app.clone();
        async move {
            call(
                node,
                &app,
                "alice",
                reqwest::Method::POST,
                "/v1/channels/messaging/ab/messages",
                Some(json!({"id": new_id(), "text": format!("{i}")})),
            )
            .await
        }
    };
    for i in 1..BURST as usize {
        let (s, _, body) = send(i).await;
        assert_eq!(s, StatusCode::CREATED, "write {i}: {body}");
    }
    for i in 0..2 {
        let (s, retry, body) = send(i).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "on node {}", i + 1);
        let retry = retry.expect("Retry-After");
        assert!((1..=100).contains(&retry), "{retry}");
        assert_eq!(body["code"], "rate_limited");
        assert_eq!(body["retry_after_secs"], retry);
    }
    // a batch send is paid from the same shared bucket: every message refused
    let (s, _, body) = call(
        &two,
        &app,
        "bob",
        reqwest::Method::POST,
        "/v1/channels/messaging/ab/messages/batch",
        Some(json!({"messages": (0..BURST + 2)
            .map(|i| json!({"id": new_id(), "text": format!("b{i}")}))
            .collect::<Vec<_>>()})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let statuses: Vec<_> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        BURST as usize
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 2);
    let (s, _, _) = call(
        &one,
        &app,
        "bob",
        reqwest::Method::POST,
        "/v1/channels/messaging/ab/messages",
        Some(json!({"id": new_id(), "text": "over"})),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "bob's batch spent his burst on node 2"
    );
    // reads: a bucket of their own, shared as well
    for i in 0..BURST as usize {
        let (s, _, _) = call(
            nodes[i % 2],
            &app,
            "alice",
            reqwest::Method::GET,
            "/v1/channels/messaging/ab/messages",
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "read {i}");
    }
    for node in nodes {
        let (s, retry, _) = call(
            node,
            &app,
            "alice",
            reqwest::Method::GET,
            "/v1/unread",
            None,
        )
        .await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        assert!(retry.is_some());
    }
    // server-side calls are not limited
    let (s, _) = one
        .admin(&app)
        .get("/v1/channels/messaging/ab/messages")
        .await;
    assert_eq!(s, StatusCode::OK);
}

/// Opens a WebSocket on `node`: `Ok` once upgraded (closed again at once), else the
/// refusal's status, `Retry-After` and body.
async fn upgrade(node: &TestServer) -> Result<(), (u16, Option<u64>, Value)> {
    use tokio_tungstenite::tungstenite;
    let opened = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        tokio_tungstenite::connect_async(node.server.websocket_url()),
    )
    .await
    .expect("handshake in time");
    match opened {
        Ok((mut ws, _)) => {
            let _ = ws.close(None).await;
            Ok(())
        }
        Err(tungstenite::Error::Http(response)) => {
            let retry = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse().ok());
            let body = response.body().clone().unwrap_or_default();
            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
            Err((response.status().as_u16(), retry, body))
        }
        Err(e) => panic!("handshake failed: {e}"),
    }
}

#[tokio::test]
async fn an_address_s_websocket_connects_are_counted_once_across_nodes() {
    const CONNECTS: u32 = 4;
    let database = fresh_database().await;
    let slow = |c: &mut chat_server::ServerConfig| {
        c.transport.connect_rate_per_ip = Some(RateLimit {
            per_second: 0.01,
            burst: CONNECTS,
        });
    };
    let nats = chat_test::nodes::nats_url();
    let one = TestServer::start_node(&database, &nats, slow).await;
    let two = TestServer::start_node(&database, &nats, slow).await;
    let nodes = [&one, &two];
    // 127.0.0.1's burst, spent half on each node
    for i in 0..CONNECTS as usize {
        let opened = upgrade(nodes[i % 2]).await;
        assert_eq!(opened, Ok(()), "connect {i} on node {}", i % 2 + 1);
    }
    // each node refuses the next: with a bucket per node, each would still have 2
    for (i, node) in nodes.into_iter().enumerate() {
        let Err((status, retry, body)) = upgrade(node).await else {
            panic!("node {} accepted a connect past the shared burst", i + 1);
        };
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["code"], "rate_limited", "{body}");
        let retry = retry.expect("Retry-After");
        assert!(retry >= 1 && body["retry_after_secs"] == retry, "{body}");
    }
    // the count is the database's: one row for the address, in the connects bucket
    let (client, connection) = tokio_postgres::connect(&database, tokio_postgres::NoTls)
        .await
        .unwrap();
    let task = tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT app_id, user_id FROM rate_limits WHERE bucket = $1",
            &[&Bucket::Connects.code()],
        )
        .await
        .unwrap();
    let keys: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(keys, [(String::new(), "127.0.0.1".to_owned())]);
    // another address has a bucket of its own (the database's state, as a node sees it)
    let limiter = limiter_of_database(&database).await;
    let gcra = Gcra::new(RateLimit {
        per_second: 0.01,
        burst: CONNECTS,
    });
    let other = limiter
        .take("", Bucket::Connects, "10.0.0.9", gcra, CONNECTS)
        .await
        .unwrap();
    assert_eq!(other.granted, CONNECTS);
    let spent = limiter
        .take("", Bucket::Connects, "127.0.0.1", gcra, 1)
        .await
        .unwrap();
    assert_eq!(spent.granted, 0);
    drop(client);
    let _ = task.await;
    one.server.stop().await.unwrap();
    two.server.stop().await.unwrap();
}

/// The shared limiter of a database (as a node's store holds it).
async fn limiter_of_database(database: &str) -> PgLimiter {
    PgStore::connect(
        database,
        2,
        Arc::new(InProcessHub::new()),
        SyncSettings::default(),
    )
    .await
    .unwrap()
    .limiter()
}
