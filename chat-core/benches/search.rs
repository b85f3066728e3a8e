//! Criterion benchmark of the local full-text search (docs/BENCHMARKS.md §12), next to a
//! floor measured in the same run:
//!
//! - `search_100k`: [`Cache::search`] (first page of 20, bm25 order, highlights, decoded
//!   messages) on a file cache holding 100,000 messages in 200 channels, for a mix of
//!   queries (a rare word, a common word, two words, an as-you-type prefix), versus the
//!   same FTS5 query (same tokenizer, `highlight()`, `ORDER BY rank LIMIT 20`) on a plain
//!   FTS5 table of the same 100,000 texts. Criterion reports the mean of the mix; the
//!   p50/p99 of single queries over the mix are printed by a timed pass before it.
//!
//! Run with `cargo bench -p chat-core --bench search`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use chat_core::cache::Cache;
use chat_core::cache::search::fts_query;
use chat_protocol::{
    Channel, ChannelConfig, ChannelState, ChannelType, ChannelUnread, Cid, Member, MemberRole,
    Message, SyncResponse, Timestamp,
};
use criterion::{Criterion, criterion_group, criterion_main};
use rusqlite::{Connection, params};

const ME: &str = "bob";
const T0: i64 = 1_700_000_000_000;
const CHANNELS: usize = 200;
const PER_CHANNEL: usize = 500;
const PAGE: u32 = 20;

/// A deterministic vocabulary: word `i` is drawn with probability ∝ 1/(i+1) (Zipf-like),
/// so a few words are in most messages and most words are rare.
fn word(i: usize) -> String {
    const SYL: [&str; 16] = [
        "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "be", "da", "fi", "go", "hu", "je", "pa",
        "zo",
    ];
    let (a, b, c) = (i % 16, (i / 16) % 16, (i / 256) % 16);
    format!("{}{}{}", SYL[a], SYL[b], SYL[c])
}

const VOCAB: usize = 4_096;

/// Text of message `n`: 8–30 words from the vocabulary (a linear congruential generator
/// seeded by `n`, the word index skewed towards the common words).
fn text(n: u64) -> String {
    let mut x = n
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let len = 8 + (n % 23) as usize;
    let mut words = Vec::with_capacity(len);
    for _ in 0..len {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u = ((x >> 33) as f64) / ((1u64 << 31) as f64); // 0..1
        let i = ((VOCAB as f64).powf(u) - 1.0) as usize; // ~1/(i+1)
        words.push(word(i.min(VOCAB - 1)));
    }
    words.join(" ")
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(T0 + ms).expect("time")
}

fn state(c: &Cid, first: u64, rev: u64) -> ChannelState {
    let messages: Vec<Message> = (0..PER_CHANNEL as u64)
        .map(|i| {
            let n = first + i;
            Message {
                id: uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n as u128),
                cid: c.clone(),
                user_id: "alice".into(),
                text: text(n),
                attachments: vec![],
                parent_id: None,
                quoted_message_id: None,
                mentioned_users: vec![],
                reaction_counts: BTreeMap::new(),
                reply_count: 0,
                created_at: ts(n as i64),
                updated_at: ts(n as i64),
                edited_at: None,
                deleted_at: None,
                rev,
            }
        })
        .collect();
    let channel = Channel {
        kind: c.kind(),
        id: c.id().to_owned(),
        cid: c.clone(),
        name: None,
        image: None,
        config: ChannelConfig::default(),
        created_by: "alice".into(),
        created_at: ts(0),
        updated_at: ts(0),
        last_message_at: messages.last().map(|m| m.created_at),
        member_count: 2,
        distinct: false,
        rev,
    };
    let members = [ME, "alice"]
        .into_iter()
        .map(|u| Member {
            cid: c.clone(),
            user_id: u.into(),
            role: MemberRole::Member,
            created_at: ts(0),
            updated_at: ts(0),
            deleted: false,
            rev,
        })
        .collect();
    ChannelState {
        unread: ChannelUnread {
            cid: c.clone(),
            unread_count: 0,
            unread_mentions: 0,
            counted_through: None,
        },
        channel,
        members,
        reads: vec![],
        messages,
        has_more: false,
        own_reactions: vec![],
        starred: vec![],
        own_state: None,
    }
}

/// Fills `path` with 200 channels × 500 messages through `apply_sync_page`.
fn fill_cache(path: &Path) {
    let mut cache = Cache::open(path).expect("open");
    cache.set_user(ME).expect("user");
    let mut batch = Vec::new();
    for ch in 0..CHANNELS {
        let c = Cid::new(ChannelType::Team, &format!("s-{ch:03}")).expect("cid");
        batch.push(state(&c, (ch * PER_CHANNEL) as u64 + 1, ch as u64 + 1));
        if batch.len() == 25 {
            let page = SyncResponse {
                changes: vec![],
                limited: std::mem::take(&mut batch),
                limited_seq: None,
                cursor: format!("v1:0:{ch}"),
                has_more: true,
            };
            cache.apply_sync_page(&page).expect("fill");
        }
    }
}

/// The floor: a plain FTS5 table of the same texts, same tokenizer.
fn fill_floor(path: &Path) {
    let mut conn = Connection::open(path).expect("open floor");
    conn.execute_batch(
        "CREATE VIRTUAL TABLE f USING fts5(text, tokenize = 'unicode61 remove_diacritics 2')",
    )
    .expect("floor table");
    let tx = conn.transaction().expect("begin");
    {
        let mut insert = tx
            .prepare("INSERT INTO f (rowid, text) VALUES (?1, ?2)")
            .expect("prepare");
        for n in 1..=(CHANNELS * PER_CHANNEL) as u64 {
            insert.execute(params![n as i64, text(n)]).expect("insert");
        }
    }
    tx.commit().expect("commit");
}

/// The query mix: rare words, common words, two words, prefixes (as typed).
fn queries() -> Vec<String> {
    let mut q = Vec::new();
    for i in 0..10 {
        q.push(format!("{} ", word(2_000 + i * 97))); // rare
        q.push(format!("{} ", word(i))); // common
        q.push(format!("{} {} ", word(i), word(200 + i * 13))); // two words
        q.push(word(40 + i)[..4].to_owned()); // a prefix while typing
    }
    q
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn search(c: &mut Criterion) {
    let dir = tempfile::Builder::new()
        .prefix("chat-core-bench-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("dir");
    let cache_path = dir.path().join("cache.db");
    let floor_path = dir.path().join("floor.db");
    fill_cache(&cache_path);
    fill_floor(&floor_path);
    let cache = Cache::open(&cache_path).expect("open");
    let floor = Connection::open(&floor_path).expect("open floor");
    let floor_sql = "SELECT rowid, highlight(f, 0, char(1), char(2)) FROM f WHERE f MATCH ?1 \
                     ORDER BY rank LIMIT ?2";
    let run_floor = |q: &str| -> usize {
        let fts = fts_query(q).expect("a query");
        floor
            .prepare_cached(floor_sql)
            .expect("prepare")
            .query_map(params![fts, PAGE], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .expect("query")
            .count()
    };
    let qs = queries();
    // Sanity: every query finds something in both, and the same number of rows.
    for q in &qs {
        let hits = cache.search(q, None, PAGE, 0).expect("search").len();
        assert!(hits > 0, "{q:?} finds nothing");
        assert_eq!(hits, run_floor(q), "{q:?}");
    }

    // p50/p99 of single queries: 20 passes over the mix, each query timed alone.
    let timed = |name: &str, f: &dyn Fn(&str) -> usize| {
        let mut times = Vec::new();
        for _ in 0..20 {
            for q in &qs {
                let start = Instant::now();
                black_box(f(q));
                times.push(start.elapsed());
            }
        }
        times.sort();
        println!(
            "search_100k/{name}: {} queries, p50 {:?}, p99 {:?}, max {:?}",
            times.len(),
            percentile(&times, 0.50),
            percentile(&times, 0.99),
            times[times.len() - 1]
        );
    };
    timed("cache_search", &|q| {
        cache.search(q, None, PAGE, 0).expect("search").len()
    });
    timed("floor_fts5", &run_floor);

    let mut group = c.benchmark_group("search_100k");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));
    group.bench_function("cache_search_mix", |b| {
        b.iter(|| {
            for q in &qs {
                black_box(cache.search(q, None, PAGE, 0).expect("search"));
            }
        });
    });
    group.bench_function("floor_fts5_mix", |b| {
        b.iter(|| {
            for q in &qs {
                black_box(run_floor(q));
            }
        });
    });
    group.finish();
}

criterion_group!(benches, search);
criterion_main!(benches);
