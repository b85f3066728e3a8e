//! Realtime delivery latency on loopback: `send_message` on alice's client → chat-server
//! (HTTP, commit, fan-out) → the WebSocket → bob's client (the pushed change applied to
//! its cache) → bob's live message window receives the insert. Reported as p50 / p99 / max
//! over 1,000 messages sent one after another, next to a floor measured in the same run:
//! the round trip of one text frame to a raw tokio-tungstenite echo server on loopback.
//!
//! Percentiles need every sample, so this is a plain harness (`harness = false`), not
//! criterion. Run with `cargo bench -p chat-core --bench realtime`; docs/BENCHMARKS.md
//! records the results.

use std::time::{Duration, Instant};

use chat_core::client::{ChatClient, ConnectionState, NewMessage, static_token};
use chat_server::auth::mint_user_token;
use chat_test::{TestServer, cid};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const SAMPLES: usize = 1_000;
const WARMUP: usize = 50;

fn percentiles(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    format!(
        "p50 {:>9.1?}  p99 {:>9.1?}  max {:>9.1?}  (n = {})",
        at(0.50),
        at(0.99),
        samples[samples.len() - 1],
        samples.len()
    )
}

/// Round trips of a ~300-byte text frame through a raw WebSocket echo server.
async fn echo_floor() -> Vec<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        tcp.set_nodelay(true).expect("nodelay");
        let mut ws = tokio_tungstenite::accept_async(tcp)
            .await
            .expect("handshake");
        while let Some(Ok(msg)) = ws.next().await {
            if msg.is_text() && ws.send(msg).await.is_err() {
                break;
            }
        }
    });
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}"))
        .await
        .expect("connect");
    let frame = "x".repeat(300);
    let mut samples = Vec::with_capacity(SAMPLES);
    for i in 0..WARMUP + SAMPLES {
        let start = Instant::now();
        ws.send(WsMessage::text(frame.clone())).await.expect("send");
        let _ = ws.next().await.expect("echo").expect("frame");
        if i >= WARMUP {
            samples.push(start.elapsed());
        }
    }
    samples
}

async fn delivery() -> Vec<Duration> {
    let t = TestServer::start_with(|c| {
        c.rate_limit.per_second = 1_000_000.0;
        c.rate_limit.burst = 1_000_000;
    })
    .await;
    let app = t.app_with_users(&["alice", "bob"]).await;
    t.user(&app, "alice")
        .create_channel("team:bench", &["alice", "bob"])
        .await;
    let dirs = tempfile::Builder::new()
        .prefix("chat-core-bench-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir");
    let client = |user: &str| {
        ChatClient::builder(&t.server.base_url(), &app.app_id, user)
            .data_dir(dirs.path().join(user))
            .token_provider(static_token(mint_user_token(
                &app.app_id,
                &app.api_secret,
                user,
                3600,
            )))
            .build()
    };
    let alice = client("alice").await.expect("alice");
    let bob = client("bob").await.expect("bob");
    for c in [&alice, &bob] {
        let mut state = c.connection_state();
        state
            .wait_for(|s| *s == ConnectionState::Connected)
            .await
            .expect("connected");
        c.sync().await.expect("synced");
    }
    let c = cid("team:bench");
    let mut window = bob.messages(&c, 50).await.expect("window");
    window.next().await.expect("reset");
    let mut samples = Vec::with_capacity(SAMPLES);
    for i in 0..WARMUP + SAMPLES {
        let start = Instant::now();
        let id = alice
            .send_message(&c, NewMessage::text(format!("latency probe {i}")))
            .await
            .expect("send");
        while !window.items().iter().any(|m| m.message.id == id) {
            tokio::time::timeout(Duration::from_secs(10), window.next())
                .await
                .expect("delivered within 10 s")
                .expect("window open");
        }
        if i >= WARMUP {
            samples.push(start.elapsed());
        }
    }
    alice.shutdown().await;
    bob.shutdown().await;
    samples
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it with no argument:
    // then only check that it works, quickly.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let floor = echo_floor().await;
        println!(
            "floor: raw WebSocket echo round trip   {}",
            percentiles(floor)
        );
        let delivery = delivery().await;
        println!(
            "realtime delivery alice → bob's window {}",
            percentiles(delivery)
        );
    });
}
