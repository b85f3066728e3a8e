//! Criterion benchmarks of the chat-core SQLite cache, each next to a floor measured in
//! the same run (docs/BENCHMARKS.md explains the method and records the results):
//!
//! - `sync_ingest_10k`: [`Cache::apply_sync_page`] applying `/v1/sync` pages that carry
//!   10,000 new messages to a file-backed cache that already knows the channels, versus
//!   raw batched rusqlite inserts of the same 10,000 JSON rows (one transaction per 1,000
//!   rows, same WAL / `synchronous = FULL` settings). A third, diagnostic entry inserts the
//!   same rows into the cache's own `messages` table, to split the gap into schema cost
//!   and apply-logic cost. The cache entry brings the full-text index up to date after
//!   each page, as the engine does; `diag_apply_index_deferred` leaves that to after the
//!   measurement, and `cache_apply_sync_page_without_fts` drops the index's triggers: the
//!   cost of keeping the search index in step (docs/BENCHMARKS.md §12).
//! - `cold_start_100k`: [`Cache::open`] + the first channel-list page + the first
//!   channel's newest 50 messages on a cache holding 100,000 messages in 200 channels,
//!   versus opening a raw connection and selecting 50 rows by primary-key range from a
//!   plain 100,000-row table.
//!
//! Run with `cargo bench -p chat-core --bench cache`. Database files live under Cargo's
//! `CARGO_TARGET_TMPDIR` (on the same disk as `target/`), so every commit really syncs.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chat_core::cache::Cache;
use chat_protocol::{
    Change, Channel, ChannelConfig, ChannelState, ChannelType, ChannelUnread, Cid, Member,
    MemberRole, Message, ReadState, SyncChange, SyncResponse, Timestamp,
};
use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};
use rusqlite::{Connection, params};
use tempfile::TempDir;
use uuid::Uuid;

/// The cache owner.
const ME: &str = "bob";
/// Other members, authors of most messages.
const OTHERS: [&str; 3] = ["alice", "carol", "dave"];
/// Base of every timestamp (ms since the epoch, 2023-11-14).
const T0: i64 = 1_700_000_000_000;

// ---------------------------------------------------------------------------------------
// Wire fixtures
// ---------------------------------------------------------------------------------------

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(T0 + ms).expect("valid timestamp")
}

fn cid(name: &str) -> Cid {
    Cid::new(ChannelType::Team, name).expect("valid cid")
}

/// A UUIDv7-shaped id derived from `n` (stable, unique per `n`).
fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000u128 | n)
}

fn channel(cid: &Cid, rev: u64, last_message_at: Option<i64>) -> Channel {
    Channel {
        kind: cid.kind(),
        id: cid.id().to_owned(),
        cid: cid.clone(),
        name: Some(format!("Project {}", cid.id())),
        image: Some(format!("https://cdn.example.com/channels/{}.png", cid.id())),
        config: ChannelConfig::default(),
        created_by: OTHERS[0].into(),
        created_at: ts(0),
        updated_at: ts(0),
        last_message_at: last_message_at.map(ts),
        member_count: 1 + OTHERS.len() as u32,
        distinct: false,
        rev,
    }
}

fn members(cid: &Cid, rev: u64) -> Vec<Member> {
    std::iter::once(ME)
        .chain(OTHERS)
        .map(|user| Member {
            cid: cid.clone(),
            user_id: user.into(),
            role: MemberRole::Member,
            created_at: ts(0),
            updated_at: ts(0),
            deleted: false,
            rev,
        })
        .collect()
}

/// Message `n` of the data set: realistic text length (60–200 characters), mostly written
/// by other members, every 10th by the owner (from another device), every 25th mentioning
/// the owner.
fn message(cid: &Cid, n: u128, created: i64, rev: u64) -> Message {
    const WORDS: &str = "Sounds good, I pushed the fix to the release branch and the build is \
        green again; can someone double-check the migration notes before we ship it tomorrow \
        morning after the standup?";
    let len = 60 + (n as usize * 37) % 140;
    let author = if n.is_multiple_of(10) {
        ME
    } else {
        OTHERS[n as usize % OTHERS.len()]
    };
    let mention = n.is_multiple_of(25);
    let mut text = format!("#{n} ");
    text.push_str(&WORDS[..len.min(WORDS.len())]);
    if mention {
        text.push_str(" @bob");
    }
    Message {
        id: id(n),
        cid: cid.clone(),
        user_id: author.into(),
        text,
        attachments: vec![],
        parent_id: None,
        quoted_message_id: None,
        mentioned_users: if mention { vec![ME.into()] } else { vec![] },
        reaction_counts: BTreeMap::new(),
        reply_count: 0,
        created_at: ts(created),
        updated_at: ts(created),
        edited_at: None,
        deleted_at: None,
        rev,
    }
}

/// A limited channel state: the channel, 4 members, both read markers on the newest
/// message, the given window.
fn limited(cid: &Cid, rev: u64, messages: Vec<Message>, has_more: bool) -> ChannelState {
    let last = messages.last().map(|m| (m.id, m.created_at));
    let reads = [ME, OTHERS[0]]
        .into_iter()
        .map(|user| ReadState {
            cid: cid.clone(),
            user_id: user.into(),
            last_read_message_id: last.map(|(id, _)| id),
            last_read_at: last.map_or(ts(0), |(_, at)| at),
            rev,
        })
        .collect();
    ChannelState {
        channel: channel(cid, rev, last.map(|(_, at)| at.millis() - T0)),
        members: members(cid, rev),
        reads,
        messages,
        has_more,
        own_reactions: vec![],
        starred: vec![],
        own_state: None,
        unread: ChannelUnread {
            cid: cid.clone(),
            unread_count: 0,
            unread_mentions: 0,
            counted_through: None,
        },
    }
}

fn sync_page(limited: Vec<ChannelState>, changes: Vec<Change>, cursor: String) -> SyncResponse {
    SyncResponse {
        changes: changes
            .into_iter()
            .map(|change| SyncChange {
                seq: change.rev(),
                change,
            })
            .collect(),
        limited,
        limited_seq: None,
        cursor,
        has_more: true,
    }
}

/// A new directory for database files, on the disk that holds `target/`.
fn bench_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("chat-core-bench-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir")
}

/// The floor's connection settings: the same journal mode and durability as the cache
/// (chat-core/src/cache/schema.rs).
fn floor_connection(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("open floor db");
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .expect("wal");
    assert_eq!(mode, "wal");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("synchronous");
    conn
}

// ---------------------------------------------------------------------------------------
// Sync ingest of 10,000 messages
// ---------------------------------------------------------------------------------------

/// Channels the new messages are spread over. The server sends a channel with more than
/// 200 message changes since the cursor as a limited state instead of changes
/// (docs/protocol.md, "Incremental sync"), so 10,000 message changes need at least 50.
const INGEST_CHANNELS: usize = 50;
const INGEST_MESSAGES: usize = 10_000;
/// The server's largest sync page.
const PAGE_SIZE: usize = 1_000;
/// Window of each channel in the prior (bootstrap) state.
const PRIOR_WINDOW: usize = 50;

struct IngestData {
    /// Bootstrap pages: every channel limited with its newest 50 messages.
    prior: Vec<SyncResponse>,
    /// The measured pages: 10,000 `message` changes then each channel's final `channel`
    /// change (`last_message_at`), in seq order, 1,000 changes per page.
    pages: Vec<SyncResponse>,
    /// The same 10,000 messages as pre-encoded rows (for the floor and the diagnostic).
    rows: Vec<Row>,
}

/// A message pre-encoded: id, cid, author, `created_at`, `rev`, JSON (the wire JSON, or
/// the cache's compact `data`), and the text when the cache stores it apart.
struct Row {
    id: String,
    user_id: String,
    created_at: i64,
    rev: i64,
    json: String,
    text: Option<String>,
    /// The channel key the cache stores the message under (0 in the wire rows).
    ck: i64,
}

fn ingest_data() -> IngestData {
    let cids: Vec<Cid> = (0..INGEST_CHANNELS)
        .map(|c| cid(&format!("ingest-{c:03}")))
        .collect();
    let mut seq = 0u64;
    let mut n = 0u128;
    let mut created = 0i64;

    // Prior state, as a bootstrap would leave it (25 limited channels per page).
    let mut states = Vec::new();
    for c in &cids {
        let window = (0..PRIOR_WINDOW)
            .map(|_| {
                seq += 1;
                n += 1;
                created += 7;
                message(c, n, created, seq)
            })
            .collect();
        states.push(limited(c, seq, window, true));
    }
    let mut prior: Vec<SyncResponse> = Vec::new();
    while !states.is_empty() {
        let rest = states.split_off(states.len().min(25));
        prior.push(sync_page(states, vec![], format!("v1:0:{seq}")));
        states = rest;
    }

    // The new messages, round-robin over the channels; a channel's `channel` row appears
    // once, in its latest state, right after its last message (a row's rev is the seq of
    // its last change).
    let mut changes = Vec::new();
    let mut rows = Vec::new();
    for k in 0..INGEST_MESSAGES {
        let c = &cids[k % INGEST_CHANNELS];
        seq += 1;
        n += 1;
        created += 7;
        let m = message(c, n, created, seq);
        rows.push(Row {
            id: m.id.to_string(),
            user_id: m.user_id.clone(),
            created_at: m.created_at.millis(),
            rev: m.rev as i64,
            json: serde_json::to_string(&m).expect("json"),
            text: None,
            ck: 0,
        });
        changes.push(Change::Message(m));
        if k >= INGEST_MESSAGES - INGEST_CHANNELS {
            seq += 1;
            changes.push(Change::Channel(channel(c, seq, Some(created))));
        }
    }
    let mut pages = Vec::new();
    let mut changes = changes.into_iter().peekable();
    while changes.peek().is_some() {
        let chunk: Vec<Change> = changes.by_ref().take(PAGE_SIZE).collect();
        let last = chunk.last().map_or(0, Change::rev);
        pages.push(sync_page(vec![], chunk, format!("v1:0:{last}")));
    }
    if let Some(last) = pages.last_mut() {
        last.has_more = false;
    }
    IngestData { prior, pages, rows }
}

/// A fresh file cache owned by [`ME`] holding the prior state (not measured), closed and
/// reopened — as after an app restart, and exactly like the diagnostic's file: closing
/// checkpoints the prior state out of the WAL, so neither measurement pays for
/// checkpointing the other's setup.
fn prepared_cache(data: &IngestData) -> (TempDir, Cache) {
    let dir = bench_dir();
    let path = dir.path().join("cache.db");
    let mut cache = Cache::open(&path).expect("open cache");
    cache.set_user(ME).expect("set user");
    for page in &data.prior {
        cache.apply_sync_page(page).expect("prior state");
    }
    drop(cache);
    let cache = Cache::open(&path).expect("reopen cache");
    (dir, cache)
}

/// A fresh floor database with an empty minimal table (not measured).
fn prepared_floor() -> (TempDir, Connection) {
    let dir = bench_dir();
    let conn = floor_connection(&dir.path().join("floor.db"));
    conn.execute_batch("CREATE TABLE rows (id TEXT PRIMARY KEY, data TEXT NOT NULL)")
        .expect("floor table");
    (dir, conn)
}

/// The floor's database with a `text` column added to its minimal table, for rows stored
/// as the cache stores them (not measured).
fn prepared_floor_with_text() -> (TempDir, Connection) {
    let (dir, conn) = prepared_floor();
    conn.execute_batch("ALTER TABLE rows ADD COLUMN text TEXT")
        .expect("text column");
    (dir, conn)
}

/// The rows a cache at `path` stored for `rows`' messages (its `data` is the cache's own
/// compact encoding, not the wire JSON, and the text is in a column of its own), in the
/// same order.
fn stored_rows(path: &Path, rows: &[Row]) -> Vec<Row> {
    let conn = Connection::open(path).expect("open cache file");
    let mut select = conn
        .prepare("SELECT data, text, ck FROM messages WHERE id = ?1")
        .expect("prepare");
    rows.iter()
        .map(|row| {
            let (json, text, ck) = select
                .query_row([&row.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .expect("stored message");
            (row, json, text, ck)
        })
        .map(|(row, json, text, ck)| Row {
            json,
            text,
            ck,
            id: row.id.clone(),
            user_id: row.user_id.clone(),
            created_at: row.created_at,
            rev: row.rev,
        })
        .collect()
}

/// Inserts `rows` into the floor's minimal table with one prepared statement, one
/// transaction per page (with their `text` when the rows have one apart).
fn insert_minimal(conn: &mut Connection, rows: &[Row]) {
    for chunk in rows.chunks(PAGE_SIZE) {
        let tx = conn.transaction().expect("begin");
        {
            let (mut plain, mut with_text) = (None, None);
            for row in chunk {
                match &row.text {
                    None => plain
                        .get_or_insert_with(|| {
                            tx.prepare_cached("INSERT INTO rows (id, data) VALUES (?1, ?2)")
                                .expect("prepare")
                        })
                        .execute(params![row.id, row.json]),
                    Some(text) => with_text
                        .get_or_insert_with(|| {
                            tx.prepare_cached(
                                "INSERT INTO rows (id, data, text) VALUES (?1, ?2, ?3)",
                            )
                            .expect("prepare")
                        })
                        .execute(params![row.id, row.json, text]),
                }
                .expect("insert");
            }
        }
        tx.commit().expect("commit");
    }
}

fn sync_ingest(c: &mut Criterion) {
    let data = ingest_data();

    // Sanity: the measured pages really store 10,000 new messages. The rows the cache
    // wrote for them are what the diagnostic inserts.
    let stored = {
        let (dir, mut cache) = prepared_cache(&data);
        for page in &data.pages {
            cache.apply_sync_page(page).expect("apply");
        }
        let newest = cache
            .messages_window(&cid("ingest-000"), 1_000, None)
            .expect("window");
        assert_eq!(
            newest.len(),
            PRIOR_WINDOW + INGEST_MESSAGES / INGEST_CHANNELS
        );
        drop(cache);
        stored_rows(&dir.path().join("cache.db"), &data.rows)
    };

    let mut group = c.benchmark_group("sync_ingest_10k");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(15));

    // As the engine runs it: each page, then the search index brought up to date (the
    // engine's step-end `flush_search_index`).
    group.bench_function("cache_apply_sync_page", |b| {
        b.iter_batched(
            || prepared_cache(&data),
            |(dir, mut cache)| {
                for page in &data.pages {
                    cache.apply_sync_page(black_box(page)).expect("apply");
                    cache.flush_search_index().expect("index");
                }
                (dir, cache) // dropped outside the measurement
            },
            BatchSize::PerIteration,
        );
    });

    // Diagnostic: the pages alone (what stands between a received page and its messages
    // shown); the index's work queued, done after each step.
    group.bench_function("diag_apply_index_deferred", |b| {
        b.iter_batched(
            || prepared_cache(&data),
            |(dir, mut cache)| {
                for page in &data.pages {
                    cache.apply_sync_page(black_box(page)).expect("apply");
                }
                (dir, cache)
            },
            BatchSize::PerIteration,
        );
    });

    // The same apply with the full-text index's triggers dropped (schema version 7):
    // what keeping `messages_fts` in step costs a sync (docs/BENCHMARKS.md §12).
    group.bench_function("cache_apply_sync_page_without_fts", |b| {
        b.iter_batched(
            || {
                let (dir, cache) = prepared_cache(&data);
                drop(cache);
                let path = dir.path().join("cache.db");
                Connection::open(&path)
                    .expect("open")
                    .execute_batch(
                        "DROP TRIGGER messages_fts_insert; DROP TRIGGER messages_fts_update; \
                         DROP TRIGGER messages_fts_delete;",
                    )
                    .expect("drop the index's triggers");
                let cache = Cache::open(&path).expect("reopen cache");
                (dir, cache)
            },
            |(dir, mut cache)| {
                for page in &data.pages {
                    cache.apply_sync_page(black_box(page)).expect("apply");
                }
                (dir, cache)
            },
            BatchSize::PerIteration,
        );
    });

    group.bench_function("floor_raw_inserts", |b| {
        b.iter_batched(
            prepared_floor,
            |(dir, mut conn)| {
                insert_minimal(&mut conn, &data.rows);
                (dir, conn)
            },
            BatchSize::PerIteration,
        );
    });

    // Diagnostic (not a floor): the floor's minimal table and statement, but with the rows
    // the cache stores (its compact `data` and the text apart) instead of the wire JSON: how
    // much of the cache's lead over a naive store comes from storing less.
    group.bench_function("diag_raw_inserts_stored_rows", |b| {
        b.iter_batched(
            prepared_floor_with_text,
            |(dir, mut conn)| {
                insert_minimal(&mut conn, &stored);
                (dir, conn)
            },
            BatchSize::PerIteration,
        );
    });

    // Diagnostic (not a floor): the same pre-encoded rows inserted with one plain prepared
    // INSERT into the cache's own `messages` table (its primary key and indexes), on a
    // cache holding the same prior state. The gap between this and the floor is the cost
    // of the schema; the gap between this and `cache_apply_sync_page` is the apply logic.
    group.bench_function("diag_raw_inserts_cache_schema", |b| {
        b.iter_batched(
            || {
                let (dir, cache) = prepared_cache(&data);
                drop(cache);
                let conn = floor_connection(&dir.path().join("cache.db"));
                (dir, conn)
            },
            |(dir, mut conn)| {
                for chunk in stored.chunks(PAGE_SIZE) {
                    let tx = conn.transaction().expect("begin");
                    {
                        let mut insert = tx
                            .prepare_cached(
                                "INSERT INTO messages (id, ck, parent_id, user_id, created_at, \
                                   order_key, rev, deleted_at, local_state, local_error, data, \
                                   text) \
                                 VALUES (?1, ?2, NULL, ?3, ?4, ?4, ?5, NULL, NULL, NULL, ?6, ?7)",
                            )
                            .expect("prepare");
                        for row in chunk {
                            insert
                                .execute(params![
                                    row.id,
                                    row.ck,
                                    row.user_id,
                                    row.created_at,
                                    row.rev,
                                    row.json,
                                    row.text
                                ])
                                .expect("insert");
                        }
                    }
                    tx.commit().expect("commit");
                }
                (dir, conn)
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------
// Cold start with 100,000 cached messages in 200 channels
// ---------------------------------------------------------------------------------------

const COLD_CHANNELS: usize = 200;
const COLD_MESSAGES_PER_CHANNEL: usize = 500;
const LIST_PAGE: u32 = 30;
const WINDOW: u32 = 50;

/// Fills `path` with 200 channels × 500 messages through `apply_sync_page` (8 pages of 25
/// limited channels holding their whole history), then closes it.
fn fill_cold_cache(path: &Path) -> Cid {
    let mut cache = Cache::open(path).expect("open cache");
    cache.set_user(ME).expect("set user");
    let mut seq = 0u64;
    let mut n = 0u128;
    let mut page = Vec::new();
    for ch in 0..COLD_CHANNELS {
        let c = cid(&format!("cold-{ch:03}"));
        // Interleaved times, so the list order is not the cid order.
        let offset = ((ch * 7919) % COLD_CHANNELS) as i64;
        let window: Vec<Message> = (0..COLD_MESSAGES_PER_CHANNEL)
            .map(|i| {
                seq += 1;
                n += 1;
                message(&c, n, i as i64 * 1_000 + offset, seq)
            })
            .collect();
        page.push(limited(&c, seq, window, false));
        if page.len() == 25 {
            let full = std::mem::take(&mut page);
            cache
                .apply_sync_page(&sync_page(full, vec![], format!("v1:0:{seq}")))
                .expect("fill");
        }
    }
    let first = cache.channel_list(1).expect("list")[0].channel.cid.clone();
    drop(cache);
    first
}

/// Fills `path` with a plain table of 100,000 rows carrying the same message JSON.
fn fill_cold_floor(path: &Path) {
    let mut conn = floor_connection(path);
    conn.execute_batch("CREATE TABLE rows (id INTEGER PRIMARY KEY, data TEXT NOT NULL)")
        .expect("floor table");
    let c = cid("cold-floor");
    let tx = conn.transaction().expect("begin");
    {
        let mut insert = tx
            .prepare("INSERT INTO rows (id, data) VALUES (?1, ?2)")
            .expect("prepare");
        for i in 0..COLD_CHANNELS * COLD_MESSAGES_PER_CHANNEL {
            let m = message(&c, i as u128 + 1, i as i64, i as u64 + 1);
            insert
                .execute(params![i as i64, serde_json::to_string(&m).expect("json")])
                .expect("insert");
        }
    }
    tx.commit().expect("commit");
}

fn cold_start(c: &mut Criterion) {
    let dir = bench_dir();
    let cache_path: PathBuf = dir.path().join("cache.db");
    let floor_path: PathBuf = dir.path().join("floor.db");
    let first = fill_cold_cache(&cache_path);
    fill_cold_floor(&floor_path);

    // Sanity: the measured routine sees the whole data set.
    {
        let cache = Cache::open(&cache_path).expect("open");
        assert_eq!(
            cache.channel_list(1_000).expect("list").len(),
            COLD_CHANNELS
        );
        let window = cache.messages_window(&first, WINDOW, None).expect("window");
        assert_eq!(window.len(), WINDOW as usize);
    }

    let mut group = c.benchmark_group("cold_start_100k");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));

    // Each iteration opens a new connection (an empty SQLite page cache; the OS page cache
    // stays warm) and closes it outside the measurement.
    group.bench_function("cache_open_list_window", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let cache = Cache::open(&cache_path).expect("open");
                let list = cache.channel_list(LIST_PAGE).expect("list");
                let window = cache
                    .messages_window(&list[0].channel.cid, WINDOW, None)
                    .expect("window");
                black_box((&list, &window));
                total += start.elapsed();
                drop((window, list, cache));
            }
            total
        });
    });

    group.bench_function("floor_open_select_50", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let start_row = (i as i64 * 997) % 99_950;
                let start = Instant::now();
                let conn = Connection::open(&floor_path).expect("open");
                let rows: Vec<(i64, String)> = conn
                    .prepare("SELECT id, data FROM rows WHERE id >= ?1 AND id < ?2 ORDER BY id")
                    .expect("prepare")
                    .query_map(params![start_row, start_row + 50], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .expect("query")
                    .collect::<Result<_, _>>()
                    .expect("rows");
                black_box(&rows);
                total += start.elapsed();
                assert_eq!(rows.len(), 50);
                drop((rows, conn));
            }
            total
        });
    });
    group.finish();
}

criterion_group!(benches, sync_ingest, cold_start);
criterion_main!(benches);
