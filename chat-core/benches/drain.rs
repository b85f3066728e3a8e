//! Outbox drain after a long offline period: N messages are queued while the client has
//! no token (nothing can leave), then the token arrives and the clock runs until the
//! outbox is empty — every message stored on the real chat-server (in-process, loopback)
//! and its server copy recorded in the client's cache. Measured for 100, 1,000 and 10,000
//! messages in one channel and spread over ten, next to two floors measured in the same
//! run, both from a plain reqwest client with the outbox's own limits (one request at a
//! time per channel, at most four channels at once) and nothing recorded locally: the same
//! number of raw single `POST .../messages`, and the same messages as raw batch sends
//! (`POST .../messages/batch`, 100 per request, what the SDK sends).
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

/// `n` raw messages spread round-robin over `channels`, sent `batch` per request (`1`:
/// single sends, else batch sends), one request at a time per channel and at most
/// [`IN_FLIGHT`] channels at once.
async fn floor(t: &TestServer, token: &str, n: usize, channels: usize, batch: usize) -> Duration {
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
            // Each channel's messages in order, `batch` at a time, channels taking turns.
            let mut per_channel: Vec<Vec<usize>> = vec![Vec::new(); channels];
            for k in mine {
                per_channel[k % channels].push(k);
            }
            let mut requests: Vec<(usize, Vec<usize>)> = Vec::new();
            for (c, ks) in per_channel.into_iter().enumerate() {
                for (i, chunk) in ks.chunks(batch).enumerate() {
                    requests.push((i * channels + c, chunk.to_vec()));
                }
            }
            requests.sort_by_key(|r| r.0);
            for (_, ks) in requests {
                let c = channel(ks[0] % channels).replace(':', "/");
                let one = |k: usize| json!({"id": new_id(), "text": format!("floor {k}")});
                let (path, body) = if batch == 1 {
                    (format!("{base}/v1/channels/{c}/messages"), one(ks[0]))
                } else {
                    let messages: Vec<_> = ks.iter().map(|k| one(*k)).collect();
                    (
                        format!("{base}/v1/channels/{c}/messages/batch"),
                        json!({ "messages": messages }),
                    )
                };
                let reply = http
                    .post(path)
                    .bearer_auth(&token)
                    .json(&body)
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
        "{:>7} {:>8} {:>10} {:>7} | {:>10} {:>7} {:>6} | {:>10} {:>7} {:>6}",
        "queued",
        "channels",
        "sdk",
        "msg/s",
        "singles",
        "msg/s",
        "ratio",
        "batches",
        "msg/s",
        "ratio"
    );
    for channels in CHANNELS {
        for n in SIZES {
            let sdk = drain(&t, &app, &token, n, channels).await;
            let single = floor(&t, &token, n, channels, 1).await;
            let batched = floor(&t, &token, n, channels, 100).await;
            let ratio = |floor: Duration| sdk.as_secs_f64() / floor.as_secs_f64();
            println!(
                "{n:>7} {channels:>8} {:>10.1?} {:>7.0} | {:>10.1?} {:>7.0} {:>5.2}x | {:>10.1?} {:>7.0} {:>5.2}x",
                sdk,
                rate(n, sdk),
                single,
                rate(n, single),
                ratio(single),
                batched,
                rate(n, batched),
                ratio(batched),
            );
        }
    }
}
