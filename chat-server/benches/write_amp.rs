//! Bytes written per message sent, against the channel's member count (issue 16: "find
//! where the bytes go"). Each send stores the message and one `user_messages` row per
//! recipient (Zulip's flags table) with their indexes; SQLite's WAL logs every page a
//! commit touches, whole, and the checkpoint writes each page again into the database
//! file. So the bytes grow with the pages a send touches, not with the bytes it adds.
//!
//! For 1, 10 and 100 members: a fresh [`SqliteStore`] in a temp dir, one channel, a warm-up
//! of 200 messages, then 500 measured sends through [`Store::send_message`] with the
//! server's checkpointing as it runs in production (the background checkpointer: its
//! writes count too, it is the same process). Reported per message: the bytes the process
//! passed to `write(2)` (`wchar` of `/proc/self/io`: the WAL frames and the checkpoint's
//! page writes), and the time per send. The floor, measured in the same run: 500 messages'
//! wire JSON inserted into a two-column table (`id TEXT PRIMARY KEY, data TEXT`), one
//! commit each, the store's journal settings (WAL, `synchronous = NORMAL`).
//!
//! Run: `cargo bench -p chat-server --bench write_amp` (Linux: reads `/proc/self/io`).

use std::sync::Arc;
use std::time::Instant;

use chat_protocol::{ChannelType, CreateChannelRequest, SendMessageRequest, UserInput};
use chat_server::realtime::InProcessHub;
use chat_server::store::sqlite::SqliteStore;
use chat_server::store::{NewChannel, Store, SyncSettings};
use rusqlite::{Connection, params};
use uuid::Uuid;

const WARM_UP: usize = 200;
const MEASURED: usize = 500;
const TEXT: &str = "Lunch at 12:30? The usual place, I booked a table for four people.";

/// Bytes this process has passed to `write(2)` so far.
fn written() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").expect("/proc/self/io (Linux only)");
    io.lines()
        .find_map(|l| l.strip_prefix("wchar: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("wchar")
}

/// A fresh directory on the workspace's disk (`target/tmp`, not a tmpfs).
fn bench_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("write-amp-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir")
}

struct Row {
    members: usize,
    bytes_per_message: f64,
    micros_per_message: f64,
}

async fn measure_store(members: usize) -> Row {
    let dir = bench_dir();
    let store = SqliteStore::open(
        dir.path(),
        Arc::new(InProcessHub::new()),
        SyncSettings::default(),
    )
    .expect("store");
    let app = store.create_app("amp").await.expect("app").app_id;
    let users: Vec<String> = (0..members).map(|i| format!("u{i}")).collect();
    let inputs = users
        .iter()
        .map(|id| UserInput {
            id: id.clone(),
            name: None,
            image: None,
            custom: Default::default(),
        })
        .collect();
    store.upsert_users(&app, inputs).await.expect("users");
    let cid = format!("team:amp{members}").parse().expect("cid");
    let req = CreateChannelRequest {
        id: Some(format!("amp{members}")),
        members: users[1..].to_vec(),
        ..CreateChannelRequest::new(ChannelType::Team)
    };
    store
        .create_channel(
            &app,
            &users[0],
            NewChannel {
                cid: Clone::clone(&cid),
                req,
            },
        )
        .await
        .expect("channel");
    let send = |n: usize| SendMessageRequest {
        id: Uuid::now_v7(),
        text: format!("{TEXT} #{n}"),
        attachments: vec![],
        parent_id: None,
        quoted_message_id: None,
        mentioned_users: vec![],
        user_id: None,
    };
    for n in 0..WARM_UP {
        let author = &users[n % members];
        store
            .send_message(&app, author, &cid, send(n), false)
            .await
            .expect("send");
    }
    let before = written();
    let started = Instant::now();
    for n in 0..MEASURED {
        let author = &users[n % members];
        store
            .send_message(&app, author, &cid, send(n), false)
            .await
            .expect("send");
    }
    let elapsed = started.elapsed();
    drop(store); // closing checkpoints what is left: those writes are the sends' too
    let bytes = written() - before;
    Row {
        members,
        bytes_per_message: bytes as f64 / MEASURED as f64,
        micros_per_message: elapsed.as_secs_f64() * 1e6 / MEASURED as f64,
    }
}

fn measure_floor() -> Row {
    let dir = bench_dir();
    let conn = Connection::open(dir.path().join("floor.db")).expect("floor db");
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .expect("wal");
    assert_eq!(mode, "wal");
    conn.pragma_update(None, "synchronous", "NORMAL")
        .expect("synchronous");
    conn.execute_batch("CREATE TABLE rows (id TEXT PRIMARY KEY, data TEXT NOT NULL)")
        .expect("table");
    let row = |n: usize| {
        let id = Uuid::now_v7().to_string();
        let data = serde_json::json!({
            "id": id, "cid": "team:floor", "user_id": "u0", "text": format!("{TEXT} #{n}"),
            "attachments": [], "mentioned_users": [], "reaction_counts": {}, "reply_count": 0,
            "created_at": "2026-12-07T07:00:00.000Z", "updated_at": "2026-12-07T07:00:00.000Z",
            "rev": n + 1,
        })
        .to_string();
        (id, data)
    };
    let insert = |n: usize| {
        let (id, data) = row(n);
        conn.execute(
            "INSERT INTO rows (id, data) VALUES (?1, ?2)",
            params![id, data],
        )
        .expect("insert");
    };
    for n in 0..WARM_UP {
        insert(n);
    }
    let before = written();
    let started = Instant::now();
    for n in 0..MEASURED {
        insert(n);
    }
    let elapsed = started.elapsed();
    drop(conn);
    let bytes = written() - before;
    Row {
        members: 0,
        bytes_per_message: bytes as f64 / MEASURED as f64,
        micros_per_message: elapsed.as_secs_f64() * 1e6 / MEASURED as f64,
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let floor = measure_floor();
    println!("| members | bytes written per message | × floor | µs per send |");
    println!("|---:|---:|---:|---:|");
    println!(
        "| floor (one row, one commit) | {:.0} | 1.0 | {:.0} |",
        floor.bytes_per_message, floor.micros_per_message
    );
    for members in [1, 10, 100] {
        let row = rt.block_on(measure_store(members));
        println!(
            "| {} | {:.0} | {:.1} | {:.0} |",
            row.members,
            row.bytes_per_message,
            row.bytes_per_message / floor.bytes_per_message,
            row.micros_per_message
        );
    }
}
