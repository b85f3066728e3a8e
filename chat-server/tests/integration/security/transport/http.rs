//! TCP and HTTP: connection caps and shedding, the header timeout, unread bodies, and JSON
//! bodies on the errors hyper answers itself.

use std::time::Duration;

use super::raw::{HEALTHZ, RawConn, WAIT};
use chat_server::config::RateLimit;
use chat_test::{TestServer, token};

/// A server with small connection caps and a header timeout long enough that idle test
/// connections stay open.
async fn capped() -> TestServer {
    TestServer::start_with(|c| {
        c.transport.max_connections = 8;
        c.transport.max_connections_per_ip = 4;
        c.transport.header_read_timeout = Duration::from_secs(120);
    })
    .await
}

#[tokio::test]
async fn idle_connections_over_the_caps_are_shed_and_healthz_keeps_answering() {
    let t = capped().await;
    let addr = t.server.addr;
    // An attacker at 127.0.0.1 holds its 4 connections without sending anything.
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(RawConn::open_from(addr, 1).await);
    }
    // Its next connection is refused at once, with a JSON error, not left hanging.
    let refused = RawConn::open_from(addr, 1).await.request(HEALTHZ).await;
    refused.assert_error(429, "rate_limited");
    assert!(refused.closes(), "{refused:?}");
    assert_eq!(refused.header("retry-after"), Some("1"), "{refused:?}");
    // Other clients are still served.
    let ok = RawConn::open_from(addr, 2).await.request(HEALTHZ).await;
    assert_eq!((ok.status, ok.body.as_str()), (200, "ok"), "{ok:?}");

    // A second address fills the server: everyone is shed with 503, not hung.
    let mut more_idle = Vec::new();
    for _ in 0..4 {
        more_idle.push(RawConn::open_from(addr, 3).await);
    }
    let full = RawConn::open_from(addr, 2).await.request(HEALTHZ).await;
    full.assert_error(503, "overloaded");
    assert!(full.closes(), "{full:?}");

    // Once the idle connections go, /healthz answers again.
    drop(more_idle);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let r = RawConn::open_from(addr, 2).await.request(HEALTHZ).await;
        if r.status == 200 {
            break;
        }
        r.assert_error(503, "overloaded");
        assert!(tokio::time::Instant::now() < deadline, "places never freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(idle);
}

#[tokio::test]
async fn a_request_head_must_arrive_within_the_header_timeout() {
    let t =
        TestServer::start_with(|c| c.transport.header_read_timeout = Duration::from_secs(1)).await;
    let addr = t.server.addr;
    // Half a head, then nothing.
    let mut partial = RawConn::open(addr).await;
    partial.send(b"GET /healthz HTTP/1.1\r\nhost: t\r\n").await;
    // No head at all.
    let mut silent = RawConn::open(addr).await;
    // A kept-alive connection that goes idle after a request.
    let mut kept = RawConn::open(addr).await;
    let r = kept
        .request("GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n")
        .await;
    assert_eq!(r.status, 200);
    assert!(!r.closes());
    partial.expect_eof().await;
    silent.expect_eof().await;
    kept.expect_eof().await;
}

/// Sends a request head announcing a 20-byte body but not the body, reads the response
/// (the server answers before reading the body), and checks the connection is either
/// explicitly closed or still usable for the next request.
async fn answer_before_body(t: &TestServer, head: &str, status: u16, code: &str) {
    let mut conn = RawConn::open(t.server.addr).await;
    let r = conn.request(head).await;
    r.assert_error(status, code);
    if r.closes() {
        conn.expect_eof().await;
        return;
    }
    conn.send(&[b' '; 20]).await;
    let next = conn
        .request("GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n")
        .await;
    assert_eq!(
        next.status, 200,
        "kept-alive connection unusable after {status}"
    );
}

#[tokio::test]
async fn a_connection_answered_before_its_body_was_read_says_it_closes() {
    let t = TestServer::start_with(|c| {
        c.rate_limit = RateLimit {
            per_second: 1e-6,
            burst: 1,
        }
    })
    .await;
    let app = t.app("keepalive").await;
    let bearer = format!("Bearer {}", token(&app, "alice", 3600));
    // 401: no credentials.
    let head = "POST /v1/channels HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n\
                content-length: 20\r\n\r\n";
    answer_before_body(&t, head, 401, "unauthorized").await;
    // 415: not JSON.
    let head = format!(
        "POST /v1/channels HTTP/1.1\r\nhost: t\r\nauthorization: {bearer}\r\n\
         content-type: text/plain\r\ncontent-length: 20\r\n\r\n"
    );
    answer_before_body(&t, &head, 415, "unsupported_media_type").await;
    // 429: the one write of the burst went to the 415 request above.
    let head = format!(
        "POST /v1/channels HTTP/1.1\r\nhost: t\r\nauthorization: {bearer}\r\n\
         content-type: application/json\r\ncontent-length: 20\r\n\r\n"
    );
    answer_before_body(&t, &head, 429, "rate_limited").await;
}

#[tokio::test]
async fn oversized_and_malformed_heads_get_json_errors() {
    let t = TestServer::start().await;
    let addr = t.server.addr;
    let cases = [
        (
            format!(
                "GET /healthz?q={} HTTP/1.1\r\nhost: t\r\n\r\n",
                "a".repeat(9_000)
            ),
            414,
            "uri_too_long",
        ),
        (
            format!(
                "GET /healthz?q={} HTTP/1.1\r\nhost: t\r\n\r\n",
                "a".repeat(70_000)
            ),
            431,
            "headers_too_large",
        ),
        (
            format!(
                "GET /healthz HTTP/1.1\r\nhost: t\r\nx-big: {}\r\n\r\n",
                "b".repeat(40_000)
            ),
            431,
            "headers_too_large",
        ),
        (
            format!(
                "GET /healthz HTTP/1.1\r\nhost: t\r\n{}\r\n",
                (0..150)
                    .map(|i| format!("x-h{i}: v\r\n"))
                    .collect::<String>()
            ),
            431,
            "headers_too_large",
        ),
        (
            "GET /healthz HTTP/1.1\r\nhost t\r\n\r\n".to_owned(),
            400,
            "validation_failed",
        ),
    ];
    for (request, status, code) in cases {
        let r = RawConn::open(addr).await.request(&request).await;
        r.assert_error(status, code);
    }
}
