//! Realtime delivery latency on loopback: `send_message` on alice's client → chat-server
//! (HTTP, commit, fan-out) → the WebSocket → bob's client (the pushed change applied to
//! its cache) → bob's live message window receives the insert. Reported as p50 / p99 / max
//! over 1,000 messages sent one after another, next to two floors measured in the same run:
//! the pipeline floor (`realtime/floor.rs`: alice's insert + commit, a POST whose handler
//! commits and pushes the row to a raw WebSocket, bob's insert + commit — the minimum any
//! durable chat does) and the round trip of one text frame to a raw tokio-tungstenite echo
//! server. The real path is measured twice: from an idle sender (the next message once
//! alice's previous send completed, as the floor waits for its reply) and back to back (the
//! next message as soon as bob has the previous one, while alice still records its
//! completion). The three alternate in rounds of 100, so a shared machine's load falls on
//! all alike.
//!
//! Percentiles need every sample, so this is a plain harness (`harness = false`), not
//! criterion. Run with `cargo bench -p chat-core --bench realtime`; docs/BENCHMARKS.md
//! records the results.

use std::time::{Duration, Instant};

use chat_core::client::{ChatClient, ConnectionState, MessageWindow, NewMessage, static_token};
use chat_protocol::Cid;
use chat_server::auth::mint_user_token;
use chat_test::{TestServer, cid};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[path = "realtime/floor.rs"]
mod floor;

const SAMPLES: usize = 1_000;
const WARMUP: usize = 50;
/// The floor and both real-path modes alternate in this many rounds of `SAMPLES / ROUNDS`.
const ROUNDS: usize = 10;

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

/// The real path: two file-backed clients with realtime on and the real chat-server.
struct Delivery {
    _t: TestServer,
    _dirs: tempfile::TempDir,
    alice: ChatClient,
    bob: ChatClient,
    window: MessageWindow,
    cid: Cid,
    next: usize,
}

impl Delivery {
    async fn start(dirs: tempfile::TempDir) -> Self {
        let t = TestServer::start_with(|c| {
            c.rate_limit.per_second = 1_000_000.0;
            c.rate_limit.burst = 1_000_000;
        })
        .await;
        let app = t.app_with_users(&["alice", "bob"]).await;
        t.user(&app, "alice")
            .create_channel("team:bench", &["alice", "bob"])
            .await;
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
        Self {
            _t: t,
            _dirs: dirs,
            alice,
            bob,
            window,
            cid: c,
            next: 0,
        }
    }

    /// One message from alice's `send_message` call until bob's window holds it. With
    /// `settle`, first waits until alice's previous send completed (her outbox is empty),
    /// as the floor waits for its reply: each message starts from an idle sender.
    async fn deliver(&mut self, settle: bool) -> Duration {
        while settle && self.alice.status().await.expect("status").outbox_len > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        self.next += 1;
        let start = Instant::now();
        let id = self
            .alice
            .send_message(
                &self.cid,
                NewMessage::text(format!("latency probe {}", self.next)),
            )
            .await
            .expect("send");
        while !self.window.items().iter().any(|m| m.message.id == id) {
            tokio::time::timeout(Duration::from_secs(10), self.window.next())
                .await
                .expect("delivered within 10 s")
                .expect("window open");
        }
        start.elapsed()
    }

    async fn shutdown(self) {
        self.alice.shutdown().await;
        self.bob.shutdown().await;
    }
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
        let echo = echo_floor().await;
        let dirs = tempfile::Builder::new()
            .prefix("chat-core-bench-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("temp dir");
        let floor_dir = dirs.path().join("floor");
        std::fs::create_dir_all(&floor_dir).expect("floor dir");
        let mut floor = floor::Pipeline::start(&floor_dir).await;
        let mut real = Delivery::start(dirs).await;
        for _ in 0..WARMUP {
            floor.deliver().await;
            real.deliver(true).await;
        }
        // Alternating rounds: the machine is shared, so all see the same load.
        let (mut floor_samples, mut settled, mut back_to_back) =
            (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            for _ in 0..SAMPLES / ROUNDS {
                floor_samples.push(floor.deliver().await);
            }
            for _ in 0..SAMPLES / ROUNDS {
                settled.push(real.deliver(true).await);
            }
            for _ in 0..SAMPLES / ROUNDS {
                back_to_back.push(real.deliver(false).await);
            }
        }
        real.shutdown().await;
        let rows = [
            ("raw WebSocket echo round trip", echo),
            ("floor: pipeline (3 commits, 2 fsyncs)", floor_samples),
            ("delivery to bob's window, idle sender", settled),
            ("delivery to bob's window, back to back", back_to_back),
        ];
        for (name, samples) in rows {
            println!("{name:<40} {}", percentiles(samples));
        }
    });
}
