//! Criterion benchmark of the client's local echo, next to a floor measured in the same
//! run (docs/BENCHMARKS.md explains the method and records the results):
//!
//! - `local_echo`: [`ChatClient::send_message`] until the message window's listener
//!   receives the echo's diff — the durable write of the echo and its outbox row (one
//!   transaction, WAL, `synchronous = FULL`), the outbox enqueue, the live query re-run,
//!   the diff and the delivery across the driver task — versus ONE raw rusqlite insert +
//!   commit of a row of the same size with the same settings.
//!
//! The client runs offline (its token provider never answers, so nothing goes to the
//! network) on a file cache holding one channel with 200 messages; its window shows the
//! newest 50. After each measured send the message is discarded (not timed), so every
//! iteration sees the same outbox and window.
//!
//! Run with `cargo bench -p chat-core --bench client`.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use chat_core::cache::Cache;
use chat_core::client::{ChatClient, ClientBuilder, NewMessage, TokenError};
use chat_core::outbox::OpId;
use chat_protocol::{
    Channel, ChannelConfig, ChannelState, ChannelType, ChannelUnread, Cid, Member, MemberRole,
    Message, SyncResponse, Timestamp,
};
use criterion::{Criterion, criterion_group, criterion_main};
use rusqlite::{Connection, params};
use tempfile::TempDir;
use uuid::Uuid;

const TEXT: &str = "Lunch at 12:30? The usual place, I booked a table for four.";

fn bench_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("chat-core-bench-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir")
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_700_000_000_000 + ms).expect("timestamp")
}

/// A cache holding one channel (`team:lunch`) with 200 messages, bound to `bob`.
fn fill(path: &Path, cid: &Cid) {
    let mut cache = Cache::open(path).expect("cache");
    cache.set_user("bob").expect("user");
    let messages: Vec<Message> = (0..200)
        .map(|n| Message {
            id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000u128 | n),
            cid: cid.clone(),
            user_id: "alice".into(),
            text: format!("{TEXT} #{n}"),
            attachments: vec![],
            parent_id: None,
            quoted_message_id: None,
            mentioned_users: vec![],
            reaction_counts: Default::default(),
            reply_count: 0,
            created_at: ts(n as i64 * 1000),
            updated_at: ts(n as i64 * 1000),
            edited_at: None,
            deleted_at: None,
            rev: n as u64 + 10,
        })
        .collect();
    let channel = Channel {
        cid: cid.clone(),
        kind: cid.kind(),
        id: cid.id().to_owned(),
        name: Some("Lunch".into()),
        image: None,
        config: ChannelConfig::default(),
        created_by: "alice".into(),
        created_at: ts(0),
        updated_at: ts(0),
        last_message_at: Some(ts(199_000)),
        member_count: 2,
        distinct: false,
        rev: 1,
    };
    let members = ["alice", "bob"]
        .iter()
        .map(|u| Member {
            cid: cid.clone(),
            user_id: (*u).into(),
            role: MemberRole::Member,
            created_at: ts(0),
            updated_at: ts(0),
            deleted: false,
            rev: 2,
        })
        .collect();
    let page = SyncResponse {
        changes: vec![],
        limited: vec![ChannelState {
            channel,
            members,
            reads: vec![],
            messages,
            has_more: false,
            own_reactions: vec![],
            starred: vec![],
            own_state: None,
            unread: ChannelUnread {
                cid: cid.clone(),
                unread_count: 0,
                unread_mentions: 0,
                counted_through: None,
            },
        }],
        limited_seq: None,
        cursor: "v1:bench:1".into(),
        has_more: false,
    };
    cache.apply_sync_page(&page).expect("fill");
}

/// A local echo as `send_message` builds it.
fn echo_message(cid: &Cid, id: Uuid) -> Message {
    let now = Timestamp::now();
    Message {
        id,
        cid: cid.clone(),
        user_id: "bob".into(),
        text: TEXT.into(),
        attachments: vec![],
        parent_id: None,
        quoted_message_id: None,
        mentioned_users: vec![],
        reaction_counts: Default::default(),
        reply_count: 0,
        created_at: now,
        updated_at: now,
        edited_at: None,
        deleted_at: None,
        rev: 0,
    }
}

fn local_echo(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = bench_dir();
    let cid: Cid = Cid::new(ChannelType::Team, "lunch").expect("cid");
    let builder = offline_builder(dir.path());
    fill(&builder.cache_path().expect("path"), &cid);
    let (client, mut window) = rt.block_on(async {
        let client = builder.build().await.expect("client");
        let mut window = client.messages(&cid, 50).await.expect("window");
        window.next().await.expect("reset");
        (client, window)
    });

    let floor_dir = bench_dir();
    let floor = Connection::open(floor_dir.path().join("floor.db")).expect("floor");
    let mode: String = floor
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .expect("wal");
    assert_eq!(mode, "wal");
    floor
        .pragma_update(None, "synchronous", "FULL")
        .expect("full");
    floor
        .execute_batch("CREATE TABLE rows (id TEXT PRIMARY KEY, data TEXT NOT NULL)")
        .expect("table");
    let row_json = format!(
        "{{\"text\":\"{TEXT}\",\"padding\":\"{}\"}}",
        "x".repeat(300)
    );

    let mut group = c.benchmark_group("local_echo");
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("send_message_to_listener", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let id = client
                        .send_message(&cid, NewMessage::text(TEXT))
                        .await
                        .expect("send");
                    let batch = window.next().await.expect("diff");
                    total += start.elapsed();
                    black_box(batch);
                    client.discard(OpId(id)).await.expect("discard");
                    window.next().await.expect("removal");
                }
                total
            })
        });
    });
    group.bench_function("floor_raw_insert_commit", |b| {
        b.iter(|| {
            floor
                .execute(
                    "INSERT INTO rows (id, data) VALUES (?1, ?2)",
                    params![Uuid::now_v7().to_string(), row_json],
                )
                .expect("insert");
        });
    });
    // Diagnostic (not a floor): the durable write alone — `Cache::insert_local_message`
    // (echo + outbox row in one transaction) on a copy of the same cache, without the
    // driver task, the outbox engine or live queries. It splits the gap to the floor into
    // storage cost and engine cost.
    let diag_dir = bench_dir();
    let diag_path = diag_dir.path().join("diag.sqlite3");
    fill(&diag_path, &cid);
    let mut diag = Cache::open(&diag_path).expect("diag cache");
    group.bench_function("diag_insert_local_message", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let id = Uuid::now_v7();
                let echo = echo_message(&cid, id);
                let payload = format!("{{\"op_id\":\"{id}\",\"text\":\"{TEXT}\"}}");
                let start = Instant::now();
                diag.insert_local_message(&echo, &id.to_string(), &payload)
                    .expect("insert");
                total += start.elapsed();
                diag.remove_local_message(&id, Some(&id.to_string()))
                    .expect("remove");
            }
            total
        });
    });
    group.finish();
    rt.block_on(client.shutdown());
    drop(client);
}

/// An offline client for `bob`: its token provider never answers, so nothing is sent.
fn offline_builder(dir: &Path) -> ClientBuilder {
    ChatClient::builder("http://127.0.0.1:9", "bench", "bob")
        .data_dir(dir)
        .token_provider(std::future::pending::<Result<String, TokenError>>)
}

criterion_group!(benches, local_echo);
criterion_main!(benches);
