//! Realtime under faults: three realtime clients talk to the real chat-server through a
//! fault-injecting TCP proxy (`support/proxy.rs`) that cuts every connection,
//! cuts connections in the middle of a frame, stalls, delays and refuses them, and the
//! server itself is restarted mid-test. The clients send, edit and react at random
//! meanwhile.
//!
//! At the end — with no explicit sync call: only what realtime and its catch-up syncs
//! brought — every client's live windows show exactly the server's messages, every
//! message the app was told was queued is on the server exactly once, each sender's
//! messages keep their order, and every client's cache equals the server's state
//! (`support::replica`).
//!
//! Seeded: `CHAOS_SEED=n` replays one run's sequence of actions and faults (not their
//! exact timing, which depends on the machine); `CHAOS_RUNS=k` runs seeds 1..=k (default
//! 2). Each run is bounded (80 steps, about 10 s).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::support::client::{fast_outbox, flushed};
use crate::support::proxy::{FaultProxy, Mode};
use crate::support::replica::{Depth, assert_replica};
use chat_core::backoff::{BackoffConfig, SplitMix64};
use chat_core::cache::Cache;
use chat_core::client::{ChatClient, ConnectionState, MessageWindow, NewMessage, RealtimeConfig};
use chat_core::live::MessageState;
use chat_core::sync::SyncConfig;
use chat_protocol::{AppCredentials, Message, MessagesResponse, UpdateMessageRequest};
use chat_server::ServerConfig;
use chat_server::auth::mint_user_token;
use chat_test::{TestServer, cid};
use tempfile::TempDir;
use uuid::Uuid;

const USERS: [&str; 3] = ["alice", "bob", "carol"];
const CHANNELS: [&str; 2] = ["team:one", "team:two"];
const STEPS: u64 = 80;

fn adjust(c: &mut ServerConfig) {
    c.rate_limit.per_second = 10_000.0;
    c.rate_limit.burst = 10_000;
    c.ping_interval = Duration::from_secs(1);
}

fn realtime() -> RealtimeConfig {
    RealtimeConfig {
        reconnect: BackoffConfig {
            base: Duration::from_millis(50),
            cap: Duration::from_millis(500),
        },
        connect_timeout: Duration::from_secs(2),
        ping_grace: Duration::from_millis(800),
        ..RealtimeConfig::default()
    }
}

struct Peer {
    user: &'static str,
    _dir: TempDir,
    cache: std::path::PathBuf,
    client: ChatClient,
    windows: Vec<MessageWindow>,
}

async fn peer(app: &AppCredentials, url: &str, user: &'static str, seed: u64) -> Peer {
    let dir = tempfile::tempdir().expect("tempdir");
    let builder = ChatClient::builder(url, &app.app_id, user).data_dir(dir.path());
    let cache = builder.cache_path().expect("file cache");
    let client = builder
        .token_provider(chat_core::client::static_token(mint_user_token(
            &app.app_id,
            &app.api_secret,
            user,
            3600,
        )))
        .outbox_config(fast_outbox())
        .sync_config(SyncConfig {
            limit: 100,
            backoff: BackoffConfig {
                base: Duration::from_millis(50),
                cap: Duration::from_millis(500),
            },
        })
        .realtime_config(realtime())
        .seed(seed)
        .build()
        .await
        .expect("client starts");
    let mut windows = Vec::new();
    for c in CHANNELS {
        let mut window = client.messages(&cid(c), 200).await.expect("window");
        window.next().await.expect("reset");
        windows.push(window);
    }
    Peer {
        user,
        _dir: dir,
        cache,
        client,
        windows,
    }
}

/// Stops the server and starts it again on the same address and data directory.
async fn restart(t: TestServer) -> TestServer {
    let TestServer { server, dir, http } = t;
    let addr = server.addr;
    server.stop().await.expect("server stops");
    let mut config = ServerConfig::new(dir.path());
    config.addr = addr;
    adjust(&mut config);
    let server = chat_server::start(config).await.expect("server restarts");
    TestServer { server, dir, http }
}

async fn server_messages(t: &TestServer, app: &AppCredentials, c: &str) -> Vec<Message> {
    let path = format!("/v1/channels/{}/messages?limit=200", c.replace(':', "/"));
    let page: MessagesResponse = t.user(app, "carol").fetch(&path).await;
    page.messages
}

fn seeds() -> Vec<u64> {
    if let Some(seed) = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return vec![seed];
    }
    let runs = std::env::var("CHAOS_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2u64);
    (1..=runs).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_converge_through_cuts_stalls_delays_and_a_server_restart() {
    for seed in seeds() {
        eprintln!("chaos run with CHAOS_SEED={seed}");
        run(seed).await;
    }
}

async fn run(seed: u64) {
    let mut t = TestServer::start_with(adjust).await;
    let app = t.app_with_users(&USERS).await;
    for c in CHANNELS {
        t.user(&app, "carol").create_channel(c, &USERS).await;
    }
    let proxy = FaultProxy::start(t.server.addr).await.expect("proxy");
    let url = format!("http://{}", proxy.addr());
    let mut peers = Vec::new();
    for (i, user) in USERS.into_iter().enumerate() {
        peers.push(peer(&app, &url, user, seed * 10 + i as u64).await);
    }
    let mut rng = SplitMix64::new(seed);
    // What each client was told is queued: (channel, message id), per sender in order.
    let mut queued: Vec<(usize, usize, Uuid)> = Vec::new();
    let mut faults = BTreeMap::<&str, u32>::new();

    for step in 0..STEPS {
        if step == STEPS / 2 {
            t = restart(t).await;
            *faults.entry("server restart").or_default() += 1;
        }
        let p = rng.below(peers.len() as u64) as usize;
        let ch = rng.below(CHANNELS.len() as u64) as usize;
        let c = cid(CHANNELS[ch]);
        match rng.below(100) {
            0..=54 => {
                let text = format!("seed {seed} step {step} from {}", peers[p].user);
                let id = peers[p]
                    .client
                    .send_message(&c, NewMessage::text(text))
                    .await
                    .expect("queued");
                queued.push((p, ch, id));
            }
            55..=62 => {
                let own: Vec<Uuid> = queued
                    .iter()
                    .filter(|(q, _, _)| *q == p)
                    .map(|(_, _, id)| *id)
                    .collect();
                if !own.is_empty() {
                    let id = own[rng.below(own.len() as u64) as usize];
                    let update = UpdateMessageRequest {
                        text: Some(format!("edited at step {step}")),
                        ..Default::default()
                    };
                    peers[p]
                        .client
                        .edit_message(id, update)
                        .await
                        .expect("edit");
                }
            }
            63..=69 if !queued.is_empty() => {
                let (_, _, id) = queued[rng.below(queued.len() as u64) as usize];
                let _ = peers[p].client.add_reaction(id, "like").await;
            }
            70..=76 => {
                proxy.cut_all();
                *faults.entry("cut").or_default() += 1;
            }
            77..=81 => {
                proxy.cut_mid_frame();
                *faults.entry("cut mid-frame").or_default() += 1;
            }
            82..=86 => {
                proxy.set_mode(Mode::Stall);
                tokio::time::sleep(Duration::from_millis(200 + rng.below(1_600))).await;
                proxy.set_mode(Mode::Pass);
                *faults.entry("stall").or_default() += 1;
            }
            87..=90 => {
                proxy.set_mode(Mode::Delay(Duration::from_millis(40)));
                tokio::time::sleep(Duration::from_millis(300)).await;
                proxy.set_mode(Mode::Pass);
                *faults.entry("delay").or_default() += 1;
            }
            91..=93 => {
                proxy.set_mode(Mode::Refuse);
                proxy.cut_all();
                tokio::time::sleep(Duration::from_millis(300)).await;
                proxy.set_mode(Mode::Pass);
                *faults.entry("refuse").or_default() += 1;
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(rng.below(40))).await;
    }
    proxy.set_mode(Mode::Pass);
    eprintln!(
        "seed {seed}: {} messages queued, faults {faults:?}, {} proxied connections",
        queued.len(),
        proxy.total_connections()
    );

    // Everything queued is delivered...
    for p in &peers {
        flushed(&p.client).await;
    }
    // ...exactly once, in each sender's order.
    let mut truth: HashMap<&str, Vec<Message>> = HashMap::new();
    for (ch, c) in CHANNELS.iter().enumerate() {
        let messages = server_messages(&t, &app, c).await;
        let ids: Vec<Uuid> = messages.iter().map(|m| m.id).collect();
        let mut seen = ids.clone();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), ids.len(), "seed {seed}: duplicates in {c}");
        for (p, _) in peers.iter().enumerate() {
            let mine: Vec<Uuid> = queued
                .iter()
                .filter(|(q, k, _)| *q == p && *k == ch)
                .map(|(_, _, id)| *id)
                .collect();
            let on_server: Vec<Uuid> = ids.iter().copied().filter(|id| mine.contains(id)).collect();
            assert_eq!(
                on_server, mine,
                "seed {seed}: {c} lost or reordered messages of peer {p}"
            );
        }
        assert_eq!(
            ids.len(),
            queued.iter().filter(|(_, k, _)| *k == ch).count(),
            "seed {seed}: {c} holds exactly the queued messages"
        );
        truth.insert(c, messages);
    }

    // Every client's live windows converge on the server's messages — same ids, same
    // content, edits and reaction counts, all confirmed — with no sync call: only
    // realtime (pushes and reconnect catch-ups) brings them.
    for p in &mut peers {
        let state = p.client.connection_state().current();
        for (ch, c) in CHANNELS.iter().enumerate() {
            let expected = &truth[c];
            let window = &mut p.windows[ch];
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            loop {
                let items = window.items();
                let shown = items.len();
                if shown == expected.len()
                    && items.iter().zip(expected).all(|(a, b)| a.message == *b)
                    && items.iter().all(|m| m.state == MessageState::Sent)
                {
                    break;
                }
                match tokio::time::timeout_at(deadline, window.next()).await {
                    Ok(Some(_)) => {}
                    _ => panic!(
                        "seed {seed}: {}'s window of {c} did not converge (connection {state:?}): \
                         {} items vs {} on the server",
                        p.user,
                        shown,
                        expected.len()
                    ),
                }
            }
        }
    }

    // Every cache equals the server (edits, reactions, unread counts, members).
    for p in peers {
        let status = p.client.status().await.expect("status");
        // Back on its feet once the faults stopped (it may still be in a backoff wait
        // from the last ones).
        let mut rx = p.client.connection_state();
        let connected = tokio::time::timeout(
            Duration::from_secs(10),
            rx.wait_for(|s| *s == ConnectionState::Connected),
        )
        .await;
        assert!(
            matches!(connected, Ok(Some(_))),
            "seed {seed}: {} ended {:?}",
            p.user,
            p.client.connection_state().current()
        );
        // ...and caught up: its catch-up sync (after the last reconnect) has finished.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !p.client.status().await.expect("status").realtime_live {
            assert!(
                tokio::time::Instant::now() < deadline,
                "seed {seed}: {} never caught up",
                p.user
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        p.client.shutdown().await;
        let cache = Cache::open(&p.cache).expect("cache file");
        let depth: BTreeMap<String, Depth> = CHANNELS
            .iter()
            .map(|c| (c.to_string(), Depth::Full))
            .collect();
        let api = t.user(&app, p.user);
        assert_replica(&cache, &api, p.user, &depth).await;
        assert!(status.last_error.is_none(), "seed {seed}: {status:?}");
    }
}
