//! A seeded simulation of the client engine against the real chat-server.
//!
//! Three users (alice, bob, dave) each run a [`ChatClient`] with its own data directory,
//! over [`net::SimTransport`]: the real HTTP transport with seeded faults (requests that
//! fail before reaching the server, replies lost after the server applied the request,
//! delays). All three are members of two channels. A seeded scenario of 150 steps then
//! has a random client send messages (some as thread replies, some mentioning others),
//! edit (text and mentions) and delete its own messages, add and remove reactions on the
//! messages its live windows and thread views show, star and unstar messages its windows
//! show, mark channels read, change the channels (rename them, add or remove erin, promote
//! or demote dave: alice is an admin, bob a moderator, dave a member, so the server refuses
//! some of these), sync, go offline and back online, and restart (shut down and open again
//! on the same data directory).
//! Sync pages are small (7 changes) so paging is exercised, and retries are fast.
//!
//! At the end the network heals; every outbox drains (failed items are discarded and
//! counted), every client syncs, and each client's cache file is compared with the
//! server's REST views (`support::replica::assert_replica`), and its starred list with
//! the server's `GET /v1/starred`. The server must hold
//! every message an app sent and did not delete exactly once, with its last edited text,
//! and nothing else.
//!
//! Reproducing: the default run covers a fixed list of seeds; `SIM_SEED=n cargo test -p
//! chat-core --test integration engine_sim::` runs seed `n` only, and `SIM_TRACE=1` prints every step
//! and request. A seed fixes the operations (which client does what, in which order),
//! the fault injected into each client's n-th request and the restarts; thread timing
//! (which requests happen to be made when, what a sync has delivered by the time a step
//! looks at the cache) can still vary between runs, so a failure may need a few runs.

mod checks;
mod net;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::support::client::{fast_backoff, fast_outbox};
use crate::support::replica::{Depth, assert_replica};
use chat_core::backoff::SplitMix64;
use chat_core::cache::Cache;
use chat_core::client::{ChatClient, NewMessage, static_token};
use chat_core::live::{MessageItem, MessageState};
use chat_core::outbox::{ItemState, OutboxOp};
use chat_core::sync::SyncConfig;
use chat_protocol::{AppCredentials, Cid, Message, MessagesResponse, UpdateMessageRequest};
use chat_server::auth::mint_user_token;
use chat_test::TestServer;
use net::SimTransport;
use uuid::Uuid;

const USERS: [&str; 3] = ["alice", "bob", "dave"];
const CHANNELS: [&str; 2] = ["team:general", "team:random"];
const REACTIONS: [&str; 3] = ["like", "love", "wow"];
const STEPS: usize = 150;
const DEFAULT_SEEDS: [u64; 3] = [1, 20_250_611, 0xC0FFEE];
/// The server sends a channel limited (a window, not every change) after more message
/// changes than this since the cursor.
const LIMITED_THRESHOLD: u64 = 200;

/// A message one of the apps sent (`send_message` returned its id).
#[derive(Debug)]
struct Sent {
    id: Uuid,
    cid: Cid,
    client: usize,
    parent: Option<Uuid>,
    /// The text the server must hold: the original, or the last edit.
    text: String,
    deleted: bool,
    /// Discarded as failed at the end: its send, an edit, or its delete.
    send_discarded: bool,
    edit_discarded: bool,
    delete_discarded: bool,
}

/// One simulated app.
struct Peer {
    user: &'static str,
    dir: tempfile::TempDir,
    net: Arc<SimTransport>,
    client: Option<ChatClient>,
    path: PathBuf,
    generation: u64,
}

impl Peer {
    fn client(&self) -> &ChatClient {
        self.client.as_ref().expect("client running")
    }
}

struct Sim {
    seed: u64,
    rng: SplitMix64,
    trace: bool,
    t: TestServer,
    app: AppCredentials,
    peers: Vec<Peer>,
    channels: Vec<Cid>,
    sent: Vec<Sent>,
    by_id: BTreeMap<Uuid, usize>,
    next_text: u64,
    /// Operations per channel that may change a message (an upper bound on the message
    /// changes the server logs), to tell whether a sync may have sent a channel limited.
    message_ops: BTreeMap<Cid, u64>,
    stats: BTreeMap<&'static str, u64>,
    step: usize,
}

/// Mixes the scenario seed with small numbers (client index, generation).
fn mix(seed: u64, a: u64, b: u64) -> u64 {
    SplitMix64::new(
        seed ^ a.wrapping_mul(0xA24B_AED4_963E_E407) ^ b.wrapping_mul(0x9FB2_1C65_1E98_DF25),
    )
    .next_u64()
}

impl Sim {
    async fn new(seed: u64) -> Self {
        let trace = std::env::var("SIM_TRACE").is_ok_and(|v| !v.is_empty() && v != "0");
        let t = TestServer::start_unthrottled().await;
        let mut all: Vec<&str> = USERS.to_vec();
        all.push("carol");
        let mut users = all.clone();
        users.push("erin");
        let app = t.app_with_users(&users).await;
        let carol = t.user(&app, "carol");
        for c in CHANNELS {
            carol.create_channel(c, &all).await;
            let (kind, id) = c.split_once(':').expect("cid");
            let (status, body) = carol
                .post(
                    &format!("/v1/channels/{kind}/{id}/members"),
                    serde_json::json!({"members": [
                        {"user_id": "alice", "role": "admin"},
                        {"user_id": "bob", "role": "moderator"},
                    ]}),
                )
                .await;
            assert!(status.is_success(), "{status} {body}");
        }
        let base = t.server.base_url();
        let mut sim = Self {
            seed,
            rng: SplitMix64::new(seed),
            trace,
            t,
            app,
            peers: Vec::new(),
            channels: CHANNELS.iter().map(|c| c.parse().unwrap()).collect(),
            sent: Vec::new(),
            by_id: BTreeMap::new(),
            next_text: 0,
            message_ops: BTreeMap::new(),
            stats: BTreeMap::new(),
            step: 0,
        };
        for (i, user) in USERS.iter().enumerate() {
            let net = SimTransport::new(&base, seed, i as u64, trace);
            // Bootstrap without faults, before any message exists, so every cache holds
            // the channels' whole history (and every reaction row) from the start.
            net.set_faults(false);
            sim.peers.push(Peer {
                user,
                dir: tempfile::tempdir().expect("tempdir"),
                net,
                client: None,
                path: PathBuf::new(),
                generation: 0,
            });
            sim.start(i).await;
            let client = sim.peers[i].client().clone();
            tokio::time::timeout(Duration::from_secs(30), client.sync())
                .await
                .expect("first sync in time")
                .expect("first sync");
        }
        for p in &sim.peers {
            p.net.set_faults(true);
        }
        sim
    }

    fn trace(&self, what: std::fmt::Arguments<'_>) {
        if self.trace {
            println!("[seed {} step {:>3}] {what}", self.seed, self.step);
        }
    }

    fn count(&mut self, what: &'static str) {
        *self.stats.entry(what).or_default() += 1;
    }

    /// Starts (or restarts) client `i` on its data directory.
    async fn start(&mut self, i: usize) {
        let p = &mut self.peers[i];
        let token = mint_user_token(&self.app.app_id, &self.app.api_secret, p.user, 3600);
        let builder = ChatClient::builder(&self.t.server.base_url(), &self.app.app_id, p.user)
            .token_provider(static_token(token))
            .transport(p.net.clone())
            .outbox_config(fast_outbox())
            .sync_config(SyncConfig {
                limit: 7,
                backoff: fast_backoff(),
            })
            .seed(mix(self.seed, i as u64 + 1, p.generation))
            .data_dir(p.dir.path());
        p.path = builder.cache_path().expect("a data dir");
        p.client = Some(builder.build().await.expect("client starts"));
    }

    /// The messages client `i` shows in `cid` (its newest 200 top-level ones).
    async fn shown(&self, i: usize, cid: &Cid) -> Vec<MessageItem> {
        let mut window = self.peers[i]
            .client()
            .messages(cid, 200)
            .await
            .expect("window opens");
        tokio::time::timeout(Duration::from_secs(10), window.next())
            .await
            .expect("the window's first batch in time")
            .expect("client open");
        window.items().to_vec()
    }

    fn fresh_text(&mut self, i: usize, what: &str) -> String {
        self.next_text += 1;
        format!(
            "{what} #{} by {} (seed {})",
            self.next_text, USERS[i], self.seed
        )
    }

    async fn run(&mut self) {
        for step in 0..STEPS {
            self.step = step;
            // A fixed number of draws per step: the sequence of clients and actions is
            // the same whatever the caches held when earlier steps looked.
            let i = self.rng.below(USERS.len() as u64) as usize;
            let action = self.rng.below(100);
            let r: [u64; 4] = std::array::from_fn(|_| self.rng.next_u64());
            match action {
                0..30 => self.send(i, r).await,
                30..40 => self.edit(i, r).await,
                40..46 => self.delete(i, r).await,
                46..58 => self.react(i, r, true).await,
                58..64 => self.react(i, r, false).await,
                64..70 => self.mark_read(i, r).await,
                70..80 => self.sync(i).await,
                80..88 => self.toggle_offline(i).await,
                88..93 => self.restart(i).await,
                93..96 => self.change_channel(i, r).await,
                96..99 => self.toggle_star(i, r).await,
                _ => {
                    let ms = r[0] % 40;
                    self.trace(format_args!("pause {ms} ms"));
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
            }
            // A short, seeded breath between steps: sometimes replies land before the
            // next step, sometimes work piles up in the outbox.
            let ms = self.rng.below(8);
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }

    async fn send(&mut self, i: usize, r: [u64; 4]) {
        let cid = self.channels[(r[0] % 2) as usize].clone();
        let mut parent = None;
        if r[1].is_multiple_of(4) {
            let roots: Vec<MessageItem> = self
                .shown(i, &cid)
                .await
                .into_iter()
                .filter(|m| {
                    m.message.deleted_at.is_none()
                        && m.message.parent_id.is_none()
                        && !matches!(m.state, MessageState::Failed { .. })
                })
                .collect();
            if !roots.is_empty() {
                parent = Some(roots[(r[2] % roots.len() as u64) as usize].message.id);
            }
        }
        let text = self.fresh_text(i, if parent.is_some() { "reply" } else { "message" });
        let mut draft = NewMessage::text(text.clone());
        if let Some(p) = parent {
            draft = draft.in_thread(p);
        }
        if r[3].is_multiple_of(5) {
            let other = USERS[(i + 1 + (r[3] / 5 % 2) as usize) % USERS.len()];
            draft = draft.mentioning(vec![other.to_owned()]);
        }
        let id = self.peers[i]
            .client()
            .send_message(&cid, draft)
            .await
            .unwrap_or_else(|e| panic!("send_message refused locally: {e}"));
        self.trace(format_args!(
            "{} sends {id} to {cid} (parent {parent:?}): {text}",
            USERS[i]
        ));
        self.count(if parent.is_some() {
            "send reply"
        } else {
            "send"
        });
        *self.message_ops.entry(cid.clone()).or_default() += if parent.is_some() { 2 } else { 1 };
        self.by_id.insert(id, self.sent.len());
        self.sent.push(Sent {
            id,
            cid,
            client: i,
            parent,
            text,
            deleted: false,
            send_discarded: false,
            edit_discarded: false,
            delete_discarded: false,
        });
    }

    /// One of client `i`'s own messages it has not deleted.
    fn own(&self, i: usize, r: u64) -> Option<usize> {
        let own: Vec<usize> = (0..self.sent.len())
            .filter(|&k| self.sent[k].client == i && !self.sent[k].deleted)
            .collect();
        (!own.is_empty()).then(|| own[(r % own.len() as u64) as usize])
    }

    async fn edit(&mut self, i: usize, r: [u64; 4]) {
        let Some(k) = self.own(i, r[0]) else {
            return;
        };
        let text = self.fresh_text(i, "edit");
        let mentioned_users = match r[1] % 4 {
            0 => Some(vec![]),
            1 => Some(vec![
                USERS[(i + 1 + (r[1] / 4 % 2) as usize) % 3].to_owned(),
            ]),
            _ => None,
        };
        let id = self.sent[k].id;
        self.peers[i]
            .client()
            .edit_message(
                id,
                UpdateMessageRequest {
                    text: Some(text.clone()),
                    attachments: None,
                    mentioned_users,
                },
            )
            .await
            .unwrap_or_else(|e| panic!("edit of own message {id} refused locally: {e}"));
        self.trace(format_args!("{} edits {id}: {text}", USERS[i]));
        self.count("edit");
        *self
            .message_ops
            .entry(self.sent[k].cid.clone())
            .or_default() += 1;
        self.sent[k].text = text;
    }

    async fn delete(&mut self, i: usize, r: [u64; 4]) {
        let Some(k) = self.own(i, r[0]) else {
            return;
        };
        let id = self.sent[k].id;
        self.peers[i]
            .client()
            .delete_message(id)
            .await
            .unwrap_or_else(|e| panic!("delete of own message {id} refused locally: {e}"));
        self.trace(format_args!("{} deletes {id}", USERS[i]));
        self.count("delete");
        *self
            .message_ops
            .entry(self.sent[k].cid.clone())
            .or_default() += 1;
        self.sent[k].deleted = true;
    }

    /// The replies client `i` shows in the thread of `root` (opening a thread also
    /// fetches its newest replies in the background).
    async fn thread(&self, i: usize, root: Uuid) -> Vec<MessageItem> {
        let mut list = self.peers[i]
            .client()
            .thread(root)
            .await
            .expect("thread opens");
        tokio::time::timeout(Duration::from_secs(10), list.next())
            .await
            .expect("the thread's first batch in time")
            .expect("client open");
        list.items().to_vec()
    }

    async fn react(&mut self, i: usize, r: [u64; 4], add: bool) {
        let cid = self.channels[(r[0] % 2) as usize].clone();
        let mut shown = self.shown(i, &cid).await;
        // Sometimes in a thread: react to its replies instead.
        let roots: Vec<Uuid> = shown
            .iter()
            .filter(|m| m.message.reply_count > 0)
            .map(|m| m.message.id)
            .collect();
        if r[3].is_multiple_of(3) && !roots.is_empty() {
            let root = roots[(r[3] / 3 % roots.len() as u64) as usize];
            shown = self.thread(i, root).await;
            self.count("thread opened");
        }
        let targets: Vec<(Uuid, String)> = if add {
            shown
                .iter()
                .filter(|m| m.message.deleted_at.is_none())
                .map(|m| (m.message.id, REACTIONS[(r[2] % 3) as usize].to_owned()))
                .collect()
        } else {
            shown
                .iter()
                .flat_map(|m| m.own_reactions.iter().map(|k| (m.message.id, k.clone())))
                .collect()
        };
        if targets.is_empty() {
            return;
        }
        let (id, kind) = targets[(r[1] % targets.len() as u64) as usize].clone();
        let client = self.peers[i].client();
        let result = if add {
            client.add_reaction(id, &kind).await
        } else {
            client.remove_reaction(id, &kind).await
        };
        let verb = if add { "adds" } else { "removes" };
        self.trace(format_args!(
            "{} {verb} {kind} on {id}: {result:?}",
            USERS[i]
        ));
        match result {
            Ok(_) => {
                self.count(if add {
                    "add reaction"
                } else {
                    "remove reaction"
                });
                *self.message_ops.entry(cid).or_default() += 1;
            }
            // The message was shown a moment ago; a sync may have changed it since.
            Err(_) => self.count("reaction refused locally"),
        }
    }

    /// Renames a channel, adds or removes erin (as this client's member list shows her), or
    /// promotes or demotes dave. Whether the server allows it depends on the client's role;
    /// a refused change fails in the outbox and is discarded at the end.
    async fn change_channel(&mut self, i: usize, r: [u64; 4]) {
        let cid = self.channels[(r[0] % 2) as usize].clone();
        let client = self.peers[i].client().clone();
        let result = match r[1] % 3 {
            0 => {
                let name = self.fresh_text(i, "name");
                let update = chat_protocol::UpdateChannelRequest {
                    name: Some(name),
                    ..Default::default()
                };
                client.update_channel(&cid, update).await
            }
            1 => {
                let mut list = client.members(&cid).await.expect("member list opens");
                list.drain();
                if list.items().iter().any(|m| m.user_id == "erin") {
                    client.remove_member(&cid, "erin").await
                } else {
                    client.add_members(&cid, &["erin"]).await
                }
            }
            _ => {
                let role = if r[2].is_multiple_of(2) {
                    chat_protocol::MemberRole::Moderator
                } else {
                    chat_protocol::MemberRole::Member
                };
                client.set_member_role(&cid, "dave", role).await
            }
        };
        self.trace(format_args!(
            "{} changes {cid} ({}): {result:?}",
            USERS[i],
            r[1] % 3
        ));
        result.unwrap_or_else(|e| panic!("a channel change refused locally: {e}"));
        self.count(match r[1] % 3 {
            0 => "rename",
            1 => "erin in or out",
            _ => "dave's role",
        });
        // An upper bound on the channel's changes, like messages' (see `message_ops`).
        *self.message_ops.entry(cid).or_default() += 1;
    }

    /// Stars a message the client's window shows, or unstars it if it shows starred
    /// (every other time one that shows starred, if any does).
    async fn toggle_star(&mut self, i: usize, r: [u64; 4]) {
        let cid = self.channels[(r[0] % 2) as usize].clone();
        let mut shown = self.shown(i, &cid).await;
        if r[2].is_multiple_of(2) && shown.iter().any(|m| m.starred) {
            shown.retain(|m| m.starred);
        }
        if shown.is_empty() {
            return;
        }
        let m = &shown[(r[1] % shown.len() as u64) as usize];
        let (id, star) = (m.message.id, !m.starred);
        let client = self.peers[i].client();
        let result = if star {
            client.star_message(id).await
        } else {
            client.unstar_message(id).await
        };
        let verb = if star { "stars" } else { "unstars" };
        self.trace(format_args!("{} {verb} {id}: {result:?}", USERS[i]));
        match result {
            Ok(_) => self.count(if star { "star" } else { "unstar" }),
            Err(_) => self.count("star refused locally"),
        }
    }

    async fn mark_read(&mut self, i: usize, r: [u64; 4]) {
        let cid = self.channels[(r[0] % 2) as usize].clone();
        self.peers[i]
            .client()
            .mark_read(&cid)
            .await
            .unwrap_or_else(|e| panic!("mark_read refused locally: {e}"));
        self.trace(format_args!("{} marks {cid} read", USERS[i]));
        self.count("mark read");
    }

    async fn sync(&mut self, i: usize) {
        // Offline a sync cannot finish; online it retries injected failures, so it gets
        // a bounded wait either way.
        let wait = if self.peers[i].net.is_offline() {
            Duration::from_millis(30)
        } else {
            Duration::from_secs(2)
        };
        let result = tokio::time::timeout(wait, self.peers[i].client().sync()).await;
        self.trace(format_args!("{} syncs: {result:?}", USERS[i]));
        self.count(match result {
            Ok(Ok(())) => "sync done",
            Ok(Err(_)) => "sync failed",
            Err(_) => "sync still running",
        });
    }

    async fn toggle_offline(&mut self, i: usize) {
        let net = &self.peers[i].net;
        let offline = !net.is_offline();
        net.set_offline(offline);
        if !offline {
            self.peers[i]
                .client()
                .network_available()
                .await
                .expect("client open");
        }
        self.trace(format_args!(
            "{} goes {}",
            USERS[i],
            if offline { "offline" } else { "online" }
        ));
        self.count(if offline { "offline" } else { "online" });
    }

    async fn restart(&mut self, i: usize) {
        let client = self.peers[i].client.take().expect("running");
        client.shutdown().await;
        drop(client);
        self.peers[i].net.next_generation();
        self.peers[i].generation += 1;
        self.start(i).await;
        self.trace(format_args!("{} restarts", USERS[i]));
        self.count("restart");
    }
}

/// Runs one scenario; panics (with the seed in the message) if it fails.
async fn run_seed(seed: u64) -> BTreeMap<&'static str, u64> {
    let started = Instant::now();
    let mut sim = Sim::new(seed).await;
    sim.run().await;
    sim.drain().await;
    sim.settle().await;
    for p in &mut sim.peers {
        let client = p.client.take().expect("running");
        client.shutdown().await;
    }
    sim.check_server().await;
    sim.check_replicas().await;
    let mut stats = std::mem::take(&mut sim.stats);
    for p in &sim.peers {
        let s = &p.net.stats;
        for (what, n) in [
            ("requests", &s.requests),
            ("injected failure", &s.failed),
            ("injected lost reply", &s.lost),
            ("request while offline", &s.offline),
            ("request of a stopped client", &s.dropped),
        ] {
            *stats.entry(what).or_default() += n.load(Ordering::Relaxed);
        }
        if let Some(log) = &p.net.log {
            for line in log.lock().unwrap().iter() {
                println!("[seed {seed}] {} {line}", p.user);
            }
        }
    }
    println!(
        "seed {seed}: {} messages sent, {:.1} s, {stats:?}",
        sim.sent.len(),
        started.elapsed().as_secs_f64()
    );
    stats
}

/// Runs `seed` on its own runtime and thread; returns the panic message if it failed.
fn run_isolated(seed: u64) -> Result<BTreeMap<&'static str, u64>, String> {
    std::thread::Builder::new()
        .name(format!("engine_sim seed {seed}"))
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(120), run_seed(seed))
                    .await
                    .unwrap_or_else(|_| panic!("seed {seed} hung: not finished in 120 s"))
            })
        })
        .expect("thread")
        .join()
        .map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "non-string panic".to_owned())
        })
}

#[test]
fn seeded_clients_with_faults_and_restarts_converge_to_the_server() {
    let seeds: Vec<u64> = match std::env::var("SIM_SEED") {
        Ok(s) => vec![s.trim().parse().expect("SIM_SEED must be a number")],
        Err(_) => DEFAULT_SEEDS.to_vec(),
    };
    let mut failures = Vec::new();
    let mut totals: BTreeMap<&'static str, u64> = BTreeMap::new();
    for &seed in &seeds {
        match run_isolated(seed) {
            Ok(stats) => {
                for (k, v) in stats {
                    *totals.entry(k).or_default() += v;
                }
            }
            Err(message) => failures.push((seed, message)),
        }
    }
    if let Some((seed, message)) = failures.first() {
        let all: Vec<u64> = failures.iter().map(|(s, _)| *s).collect();
        panic!(
            "engine simulation failed for seeds {all:?}; first, seed {seed}: {message}\n\
             reproduce with: SIM_SEED={seed} cargo test -p chat-core --test integration engine_sim::"
        );
    }
    if seeds.len() == 1 {
        return;
    }
    // The default seeds must exercise every hazard the scenario claims to.
    for what in [
        "injected failure",
        "injected lost reply",
        "request while offline",
        "restart",
        "send reply",
        "edit",
        "delete",
        "add reaction",
        "remove reaction",
        "mark read",
        "star",
        "unstar",
        "sync done",
        "thread opened",
    ] {
        assert!(
            totals.get(what).copied().unwrap_or(0) > 0,
            "seeds {seeds:?} never exercised {what:?}: {totals:?}"
        );
    }
}
