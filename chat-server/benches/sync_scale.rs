//! `/v1/sync` cost against app size: how long one user's sync takes as the rest of the app
//! grows (messages in other channels) and as the user's own channel count grows.
//!
//! Seeds one SQLite database per app size straight through SQL (fast bulk inserts in one
//! transaction), reuses it across runs (`target/sync_scale/v<schema>-<messages>/`), then
//! times through the real [`SqliteStore`]:
//!
//! - `nothing new`: a sync from the current head;
//! - `one change`: one new message in one of the user's channels, then a sync;
//! - `catch-up 1000`: 1,000 new messages spread over the user's channels, then a sync
//!   followed page by page (500 changes a page, the API default) until settled;
//! - `channel list`: the first screen of `POST /v1/channels/query` (20 channels by last
//!   message, 25 messages each, with unread counts);
//! - `unread`: `GET /v1/unread` (every channel's counts from its read marker).
//!
//! Run (release only, bounded: each measurement stops repeating after 2 s):
//!
//! ```text
//! cargo bench -p chat-server --bench sync_scale
//! SYNC_SCALE_MESSAGES=10000,100000 SYNC_SCALE_CHANNELS=10,100 cargo bench -p chat-server --bench sync_scale
//! ```
//!
//! Prints one markdown table row per (app size, channels per user): median milliseconds.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_protocol::{ChannelConfig, Cid, QueryChannelsRequest, SendMessageRequest};
use chat_server::realtime::InProcessHub;
use chat_server::store::sqlite::{SqliteStore, schema};
use chat_server::store::{Actor, Store, SyncPosition, SyncSettings};
use rusqlite::{Connection, params};
use uuid::Uuid;

/// Channels per measured user; each measured user `u<k>` is in `k` channels.
const USERS: [u32; 4] = [10, 100, 1000, 2000];
/// Messages per channel outside the measured users' channels.
const PER_OTHER_CHANNEL: u64 = 100;
/// Members per channel outside the measured users' channels.
const OTHER_MEMBERS: u64 = 5;
/// Users who populate the rest of the app.
const OTHER_USERS: u64 = 1000;
/// Messages pre-seeded in each of the measured users' channels.
const PER_OWN_CHANNEL: u64 = 3;
/// Stop repeating a measurement after this much time.
const BUDGET: Duration = Duration::from_secs(2);
const REPS: usize = 5;

fn list(var: &str, default: &str) -> Vec<u64> {
    std::env::var(var)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument (e.g. a filter) is ignored.
    let sizes = list("SYNC_SCALE_MESSAGES", "10000,100000,1000000");
    let channels = list("SYNC_SCALE_CHANNELS", "10,100,1000,2000");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "| messages in app | channels of the user | nothing new (ms) | one change (ms) | catch-up 1000 (ms) | channel list (ms) | unread (ms) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for size in sizes {
        let dir = target_dir().join(format!("v{}-{size}", schema::SCHEMA_VERSION));
        let (store, app, epoch) = rt.block_on(open_seeded(&dir, size));
        for &k in &channels {
            if !USERS.contains(&(k as u32)) {
                eprintln!("skipping {k}: measured users have {USERS:?} channels");
                continue;
            }
            let row = rt.block_on(measure(&store, &app, &epoch, k as u32));
            let (list, unread) = rt.block_on(measure_reads(&store, &app, k as u32));
            println!(
                "| {size} | {k} | {:.2} | {:.2} | {:.1} | {list:.2} | {unread:.2} |",
                row.0, row.1, row.2
            );
        }
    }
}

fn target_dir() -> PathBuf {
    let base = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    base.join("sync_scale")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Opens the store for `dir`, seeding it first if it has no app yet.
async fn open_seeded(dir: &Path, size: u64) -> (SqliteStore, String, String) {
    let store = SqliteStore::open(dir, Arc::new(InProcessHub::new()), SyncSettings::default())
        .expect("open store");
    let conn = Connection::open(dir.join("chat.db")).expect("open db");
    let existing: Option<(String, String)> = conn
        .query_row("SELECT id, epoch FROM apps WHERE name = 'bench'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .ok();
    if let Some((app, epoch)) = existing {
        return (store, app, epoch);
    }
    let app = store.create_app("bench").await.expect("app").app_id;
    let started = Instant::now();
    seed(conn, &app, size).expect("seed");
    eprintln!(
        "seeded {size} messages in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let epoch = Connection::open(dir.join("chat.db"))
        .and_then(|c| c.query_row("SELECT epoch FROM apps WHERE id = ?1", [&app], |r| r.get(0)))
        .expect("epoch");
    (store, app, epoch)
}

/// Bulk-inserts the app: `size` messages in channels of other users, plus the measured
/// users `u<k>` with `k` two-member channels each (shared with `peer`).
fn seed(mut conn: Connection, app: &str, size: u64) -> rusqlite::Result<()> {
    conn.pragma_update(None, "synchronous", "OFF")?;
    let tx = conn.transaction()?;
    let config = serde_json::to_string(&ChannelConfig::default()).expect("config");
    let mut seq: i64 = 0;
    let mut pk_time: i64 = 1_700_000_000_000;
    {
        let mut user = tx.prepare(
            "INSERT INTO users (app_id, id, custom, created_at, updated_at) VALUES (?1, ?2, '{}', 0, 0)",
        )?;
        let mut channel = tx.prepare(
            "INSERT INTO channels (app_id, cid, type, id, config, created_by, created_at, \
             updated_at, last_message_at, sort_at, last_created_at, member_count, rev) \
             VALUES (?1, ?2, 'messaging', ?3, ?4, ?5, 0, 0, ?6, ?6, ?6, ?7, ?8)",
        )?;
        let mut member = tx.prepare(
            "INSERT INTO members (app_id, cid, user_id, role, created_at, updated_at, joined_rev, rev) \
             VALUES (?1, ?2, ?3, ?4, 0, 0, ?5, ?5)",
        )?;
        let mut message = tx.prepare(
            "INSERT INTO messages (app_id, id, cid, user_id, text, attachments, mentioned_users, \
             reaction_counts, created_at, updated_at, rev) \
             VALUES (?1, ?2, ?3, ?4, 'hello from the rest of the app', '[]', '[]', '{}', ?5, ?5, ?6)",
        )?;
        let mut next = || {
            seq += 1;
            seq
        };
        for id in ["peer".to_owned()]
            .into_iter()
            .chain(USERS.iter().map(|k| format!("u{k}")))
            .chain((0..OTHER_USERS).map(|i| format!("o{i}")))
        {
            user.execute(params![app, id])?;
        }
        let mut channel_with = |cid: &str, members: &[String], messages: u64| {
            let id = cid.split_once(':').map_or(cid, |(_, id)| id);
            pk_time += 1;
            channel.execute(params![
                app,
                cid,
                id,
                config,
                members[0],
                pk_time,
                members.len() as i64,
                next()
            ])?;
            for (i, m) in members.iter().enumerate() {
                let role = if i == 0 { "owner" } else { "member" };
                member.execute(params![app, cid, m, role, next()])?;
            }
            for i in 0..messages {
                pk_time += 1;
                let author = &members[(i as usize) % members.len()];
                message.execute(params![
                    app,
                    Uuid::now_v7().to_string(),
                    cid,
                    author,
                    pk_time,
                    next()
                ])?;
            }
            Ok::<_, rusqlite::Error>(())
        };
        for k in USERS {
            for i in 0..k {
                let cid = format!("messaging:u{k}-c{i}");
                channel_with(&cid, &[format!("u{k}"), "peer".into()], PER_OWN_CHANNEL)?;
            }
        }
        for c in 0..size.div_ceil(PER_OTHER_CHANNEL) {
            let members: Vec<String> = (0..OTHER_MEMBERS)
                .map(|t| format!("o{}", (c * OTHER_MEMBERS + t) % OTHER_USERS))
                .collect();
            channel_with(&format!("messaging:o-c{c}"), &members, PER_OTHER_CHANNEL)?;
        }
    }
    tx.execute("UPDATE apps SET seq = ?2 WHERE id = ?1", params![app, seq])?;
    tx.commit()?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    Ok(())
}

async fn head(store: &SqliteStore, app: &str) -> u64 {
    // A bootstrap cursor of a user with no channels is the current head.
    let page = store.sync(app, "o0-none", None, 1).await.expect("head");
    SyncPosition::decode(&page.cursor).expect("cursor").seq
}

/// Syncs from `from` until settled; returns the number of changes.
async fn sync_all(store: &SqliteStore, app: &str, user: &str, from: SyncPosition) -> usize {
    let mut pos = from;
    let mut n = 0;
    loop {
        let page = store.sync(app, user, Some(pos), 500).await.expect("sync");
        n += page.changes.len() + page.limited.len();
        pos = SyncPosition::decode(&page.cursor).expect("cursor");
        if !page.has_more {
            return n;
        }
    }
}

async fn send(store: &SqliteStore, app: &str, cid: &Cid) {
    let req = SendMessageRequest {
        id: Uuid::now_v7(),
        text: "new".into(),
        attachments: Vec::new(),
        parent_id: None,
        quoted_message_id: None,
        mentioned_users: Vec::new(),
        user_id: None,
    };
    store
        .send_message(app, "peer", cid, req, false)
        .await
        .expect("send");
}

/// (nothing new, one change, catch-up 1000) in milliseconds for user `u<k>`.
async fn measure(store: &SqliteStore, app: &str, epoch: &str, k: u32) -> (f64, f64, f64) {
    let user = format!("u{k}");
    let cid = |i: u32| -> Cid { format!("messaging:u{k}-c{i}").parse().expect("cid") };
    let mut nothing = Vec::new();
    let started = Instant::now();
    while nothing.len() < REPS && (nothing.is_empty() || started.elapsed() < BUDGET) {
        let from = SyncPosition::at(epoch, head(store, app).await);
        let t = Instant::now();
        let n = sync_all(store, app, &user, from).await;
        nothing.push(ms(t.elapsed()));
        assert_eq!(n, 0, "nothing new");
    }
    let mut one = Vec::new();
    let started = Instant::now();
    while one.len() < REPS && (one.is_empty() || started.elapsed() < BUDGET) {
        let from = SyncPosition::at(epoch, head(store, app).await);
        send(store, app, &cid(one.len() as u32 % k)).await;
        let t = Instant::now();
        let n = sync_all(store, app, &user, from).await;
        one.push(ms(t.elapsed()));
        assert!(n >= 1, "the new message arrives");
    }
    let from = SyncPosition::at(epoch, head(store, app).await);
    for i in 0..1000 {
        send(store, app, &cid(i % k)).await;
    }
    let t = Instant::now();
    let n = sync_all(store, app, &user, from).await;
    let catch_up = ms(t.elapsed());
    assert!(n >= 1000, "the missed messages arrive");
    (median(nothing), median(one), catch_up)
}

/// Median (channel list, unread) in milliseconds for user `u<k>`.
async fn measure_reads(store: &SqliteStore, app: &str, k: u32) -> (f64, f64) {
    let user = format!("u{k}");
    let actor = Actor::user(&user);
    let mut list = Vec::new();
    let started = Instant::now();
    while list.len() < REPS && (list.is_empty() || started.elapsed() < BUDGET) {
        let req = QueryChannelsRequest {
            limit: Some(20),
            message_limit: Some(25),
            ..QueryChannelsRequest::default()
        };
        let t = Instant::now();
        let (page, _) = store.query_channels(app, &actor, req).await.expect("query");
        list.push(ms(t.elapsed()));
        assert_eq!(page.len(), 20.min(k as usize), "a full first screen");
    }
    let mut unread = Vec::new();
    let started = Instant::now();
    while unread.len() < REPS && (unread.is_empty() || started.elapsed() < BUDGET) {
        let t = Instant::now();
        let counts = store.unread(app, &user).await.expect("unread");
        unread.push(ms(t.elapsed()));
        assert_eq!(
            counts.channels.len(),
            k as usize,
            "every channel has unread messages"
        );
    }
    (median(list), median(unread))
}
