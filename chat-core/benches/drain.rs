//! Outbox drain after a long offline period: N messages are queued while the client has
//! no token (nothing can leave), then the token arrives and the clock runs until the
//! outbox is empty — every message stored on the real chat-server (in-process, loopback)
//! and its server copy recorded in the client's cache. Measured for 100, 1,000 and 10,000
//! messages in one channel and spread over ten, next to a floor measured in the same run:
//! the same number of raw `POST .../messages` from a plain reqwest client, one request at
//! a time per channel and at most four channels at once (the outbox's own limits), with
//! nothing recorded locally.
//!
//! A single run per size is seconds long, so this is a plain harness (`harness = false`),
//! not criterion. Run with `cargo bench -p chat-core --bench drain`; docs/BENCHMARKS.md
//! records the results.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_core::client::{ChatClient, NewMessage, TokenError};
use chat_protocol::AppCredentials;
use chat_server::auth::mint_user_token;
use chat_test::{TestServer, cid, new_id};
use serde_json::json;
use tokio::sync::watch;

const SIZES: [usize; 3] = [100, 1_000, 10_000];
const CHANNELS: [usize; 2] = [1, 10];
/// The outbox's default: requests in flight at once, over all channels.
const IN_FLIGHT: usize = 4;

fn channel(i: usize) -> String {
    format!("team:drain-{i}")
}

/// `n` raw POSTs spread round-robin over `channels`, one at a time per channel and at
/// most [`IN_FLIGHT`] channels at once.
async fn floor(t: &TestServer, token: &str, n: usize, channels: usize) -> Duration {
    let http = reqwest::Client::new();
    let base = t.server.base_url();
    let start = Instant::now();
    let lanes = channels.min(IN_FLIGHT);
    let mut tasks = Vec::new();
    for lane in 0..lanes {
        let (http, base, token) = (http.clone(), base.clone(), token.to_owned());
        // Lane `lane` serves channels lane, lane + lanes, …, their messages in order.
        let mine: Vec<usize> = (0..n).filter(|k| (k % channels) % lanes == lane).collect();
        tasks.push(tokio::spawn(async move {
            for k in mine {
                let c = channel(k % channels).replace(':', "/");
                let reply = http
                    .post(format!("{base}/v1/channels/{c}/messages"))
                    .bearer_auth(&token)
                    .json(&json!({"id": new_id(), "text": format!("floor {k}")}))
                    .send()
                    .await
                    .expect("post");
                assert!(reply.status().is_success(), "{}", reply.status());
            }
        }));
    }
    for task in tasks {
        task.await.expect("lane");
    }
    start.elapsed()
}

/// Queues `n` messages offline on a fresh client, then times the drain.
async fn drain(
    t: &TestServer,
    app: &AppCredentials,
    token: &str,
    n: usize,
    channels: usize,
) -> Duration {
    let dir = tempfile::Builder::new()
        .prefix("chat-core-bench-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir");
    let (release, gate) = watch::channel(None::<String>);
    let gate = Arc::new(gate);
    let client = ChatClient::builder(&t.server.base_url(), &app.app_id, "alice")
        .data_dir(dir.path())
        .token_provider(move || {
            let mut gate = (*gate).clone();
            async move {
                let token = gate
                    .wait_for(Option::is_some)
                    .await
                    .map_err(|_| TokenError::Unavailable("the bench ended".into()))?;
                Ok::<_, TokenError>(token.clone().expect("released"))
            }
        })
        .without_realtime()
        .build()
        .await
        .expect("client");
    for k in 0..n {
        client
            .send_message(
                &cid(&channel(k % channels)),
                NewMessage::text(format!("queued {k}")),
            )
            .await
            .expect("queued");
    }
    assert_eq!(client.status().await.expect("status").outbox_len, n);
    let start = Instant::now();
    release.send(Some(token.to_owned())).expect("release");
    loop {
        if client.status().await.expect("status").outbox_len == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let took = start.elapsed();
    client.shutdown().await;
    took
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let t = TestServer::start_with(|c| {
        c.rate_limit = chat_server::config::RateLimit::UNLIMITED;
        c.read_rate_limit = chat_server::config::RateLimit::UNLIMITED;
    })
    .await;
    let app = t.app_with_users(&["alice"]).await;
    let api = t.user(&app, "alice");
    for i in 0..10 {
        api.create_channel(&channel(i), &["alice"]).await;
    }
    let token = mint_user_token(&app.app_id, &app.api_secret, "alice", 3600);
    println!("outbox drain on loopback (release build), one run per row");
    println!(
        "{:>7} {:>8} {:>12} {:>10} {:>12} {:>10} {:>7}",
        "queued", "channels", "sdk", "msg/s", "floor", "msg/s", "ratio"
    );
    for channels in CHANNELS {
        for n in SIZES {
            let sdk = drain(&t, &app, &token, n, channels).await;
            let raw = floor(&t, &token, n, channels).await;
            println!(
                "{n:>7} {channels:>8} {:>12.1?} {:>10.0} {:>12.1?} {:>10.0} {:>6.2}x",
                sdk,
                rate(n, sdk),
                raw,
                rate(n, raw),
                sdk.as_secs_f64() / raw.as_secs_f64()
            );
        }
    }
}
