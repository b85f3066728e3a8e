//! Cost of reads: a user's reads cost what the user's own data costs, never the size of the
//! app. Rules owned here (docs/protocol.md, "Security model", "Cost of reads"):
//!
//! - Every hot query (sync, recipients of every write, co-members on connect, unread,
//!   message pages, channel queries, …) is an index range keyed by the user's own data:
//!   its `EXPLAIN QUERY PLAN` names the expected index with the full key and has no `SCAN`
//!   of a table (`chat_server::store::sqlite::cost::hot_queries` lists them).
//! - Those plans do not depend on statistics: they hold with no `sqlite_stat1`, and with
//!   statistics skewed to make every pinned index look worst and every other one best.
//! - An incremental sync costs the same number of SQLite VM steps however much the rest of
//!   the app holds (counted with `cost::sync_on`, the store's real sync).
//! - Skipping untouched channels never loses a change: `channels.last_rev` is backfilled
//!   for databases written before it existed.

use std::path::Path;

use chat_protocol::{Cid, SendMessageRequest};
use chat_server::config::RateLimit;
use chat_server::realtime::InProcessHub;
use chat_server::store::sqlite::{SqliteStore, cost};
use chat_server::store::{SyncPosition, SyncSettings};
use rusqlite::{Connection, params};
use uuid::Uuid;

use chat_test::TestServer;

/// A fresh, migrated database in `dir`, opened as a plain connection.
fn fresh_db(dir: &Path) -> Connection {
    SqliteStore::open(
        dir,
        std::sync::Arc::new(InProcessHub::new()),
        SyncSettings::default(),
    )
    .expect("store opens");
    Connection::open(dir.join("chat.db")).expect("db opens")
}

/// Index names the hot queries' expected plans pin.
fn pinned_indexes() -> Vec<String> {
    let mut out: Vec<String> = cost::hot_queries()
        .iter()
        .flat_map(|q| q.expect.clone())
        .filter_map(|line| {
            let (_, rest) = line.split_once("INDEX ")?;
            let name = rest.split_whitespace().next()?;
            (name != "*").then(|| name.to_owned())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Replaces the statistics with `stat(index, columns)` for every index, then reopens.
fn with_stats(dir: &Path, stat: impl Fn(&str, usize) -> String) -> Connection {
    let conn = Connection::open(dir.join("chat.db")).expect("db opens");
    conn.execute_batch("ANALYZE; DELETE FROM sqlite_stat1;")
        .expect("analyze");
    let indexes: Vec<(String, String)> = conn
        .prepare("SELECT tbl_name, name FROM sqlite_schema WHERE type = 'index'")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()
        })
        .expect("indexes");
    for (table, index) in indexes {
        let columns: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM pragma_index_info(?1)",
                [&index],
                |r| r.get(0),
            )
            .expect("index info");
        conn.execute(
            "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?1, ?2, ?3)",
            params![table, index, stat(&index, columns as usize)],
        )
        .expect("stat row");
    }
    drop(conn);
    // Statistics are read when a connection loads the schema.
    Connection::open(dir.join("chat.db")).expect("db reopens")
}

/// `rows` rows, `per_key` rows per distinct value of every index prefix.
fn stat(rows: u64, per_key: u64, columns: usize) -> String {
    std::iter::once(rows.to_string())
        .chain(std::iter::repeat_n(per_key.to_string(), columns))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn hot_query_plans_are_index_ranges_of_the_users_own_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = fresh_db(dir.path());
    let broken = cost::violations(&conn);
    assert!(broken.is_empty(), "{}", broken.join("\n\n"));
}

#[test]
fn hot_query_plans_hold_under_hostile_statistics() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(fresh_db(dir.path()));
    let pinned = pinned_indexes();
    assert!(pinned.iter().any(|i| i == "members_current"), "{pinned:?}");
    // Every pinned index looks useless (a million rows per key), every other one perfect.
    let conn = with_stats(dir.path(), |index, columns| {
        if pinned.iter().any(|p| p == index) {
            stat(1_000_000, 1_000_000, columns)
        } else {
            stat(1_000_000, 1, columns)
        }
    });
    // The adversary is real: without the pin, the planner takes the bait.
    let unpinned = cost::explain(
        &conn,
        "SELECT user_id FROM members WHERE app_id = ?1 AND cid = ?2 AND deleted = 0 \
         ORDER BY user_id",
    )
    .expect("plan");
    assert!(
        !unpinned.iter().any(|l| l.contains("members_current")),
        "skewed statistics should steer an unpinned query away: {unpinned:?}"
    );
    let broken = cost::violations(&conn);
    assert!(broken.is_empty(), "{}", broken.join("\n\n"));
    // Uniform statistics (every index equally selective) change nothing either.
    let conn = with_stats(dir.path(), |_, columns| stat(1_000_000, 10, columns));
    let broken = cost::violations(&conn);
    assert!(broken.is_empty(), "{}", broken.join("\n\n"));
}

fn message(text: &str) -> SendMessageRequest {
    SendMessageRequest {
        id: Uuid::now_v7(),
        text: text.into(),
        attachments: Vec::new(),
        parent_id: None,
        quoted_message_id: None,
        mentioned_users: Vec::new(),
        user_id: None,
    }
}

/// VM steps of alice's sync with nothing new, and after one new message from bob.
async fn alice_sync_steps(server: &TestServer, app: &str, epoch: &str, cid: &Cid) -> (u64, u64) {
    let mut conn = Connection::open(server.dir.path().join("chat.db")).expect("db");
    let head = |conn: &mut Connection| {
        let (page, _) = cost::sync_on(conn, app, "nobody", None, 1).expect("head");
        SyncPosition::decode(&page.cursor).expect("cursor").seq
    };
    let from = SyncPosition::at(epoch, head(&mut conn));
    let (page, idle) =
        cost::sync_on(&mut conn, app, "alice", Some(from.clone()), 500).expect("sync");
    assert!(page.changes.is_empty() && page.limited.is_empty() && !page.has_more);
    server
        .server
        .store
        .send_message(app, "bob", cid, message("one change"), false)
        .await
        .expect("send");
    let (page, one) = cost::sync_on(&mut conn, app, "alice", Some(from), 500).expect("sync");
    assert!(
        page.changes.iter().any(|c| matches!(
            &c.change,
            chat_protocol::Change::Message(m) if m.text == "one change"
        )),
        "{page:?}"
    );
    (idle, one)
}

#[tokio::test]
async fn incremental_sync_costs_the_same_however_big_the_rest_of_the_app() {
    let server = TestServer::start_with(|c| {
        c.rate_limit = RateLimit {
            per_second: 1e6,
            burst: 1_000_000,
        };
    })
    .await;
    let app = server.app("read-cost").await;
    let others: Vec<String> = (0..12).map(|i| format!("user{i}")).collect();
    let mut ids = vec!["alice", "bob"];
    ids.extend(others.iter().map(String::as_str));
    server.users(&app, &ids).await;
    let alice = server.user(&app, "alice");
    for i in 0..3 {
        alice
            .channel("messaging", &format!("alice-{i}"), &["bob"])
            .await;
    }
    let store = &server.server.store;
    let cid: Cid = "messaging:alice-0".parse().expect("cid");
    store
        .send_message(&app.app_id, "bob", &cid, message("hello"), false)
        .await
        .expect("send");
    let epoch: String = Connection::open(server.dir.path().join("chat.db"))
        .and_then(|c| {
            c.query_row("SELECT epoch FROM apps WHERE id = ?1", [&app.app_id], |r| {
                r.get(0)
            })
        })
        .expect("epoch");
    let small = alice_sync_steps(&server, &app.app_id, &epoch, &cid).await;

    // The rest of the app grows: channels alice is not in, with messages, reactions and
    // read markers.
    for c in 0..6 {
        let owner = &others[c * 2];
        let peer = &others[c * 2 + 1];
        let api = server.user(&app, owner);
        let id = format!("others-{c}");
        api.channel("messaging", &id, &[peer.as_str()]).await;
        let other: Cid = format!("messaging:{id}").parse().expect("cid");
        for m in 0..50 {
            let author = if m % 2 == 0 { owner } else { peer };
            let (sent, _) = store
                .send_message(&app.app_id, author, &other, message("elsewhere"), false)
                .await
                .expect("send");
            if m % 5 == 0 {
                store
                    .add_reaction(&app.app_id, peer, sent.id, "like")
                    .await
                    .expect("react");
            }
        }
        store
            .mark_read(&app.app_id, peer, &other, None)
            .await
            .expect("read");
    }
    let big = alice_sync_steps(&server, &app.app_id, &epoch, &cid).await;
    // Index seeks are one VM step whatever the depth: the counts stay (nearly) equal.
    // Before the fix each grew with every row of the app, once per channel of alice.
    assert!(
        big.0 <= small.0 + small.0 / 4,
        "a sync with nothing new grew with the app: {} -> {} VM steps",
        small.0,
        big.0
    );
    assert!(
        big.1 <= small.1 + small.1 / 4,
        "a sync of one change grew with the app: {} -> {} VM steps",
        small.1,
        big.1
    );
}

/// Turns a current database back into schema 1 (before `channels.last_rev` and the later
/// migrations, which are undone too so the reopen replays them all).
fn downgrade_to_schema_1(db: &Path) {
    let conn = Connection::open(db).expect("db");
    let triggers: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND name LIKE '%last_rev%'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("triggers");
    assert_eq!(triggers.len(), 11, "{triggers:?}");
    for t in triggers {
        conn.execute_batch(&format!("DROP TRIGGER {t}"))
            .expect("drop trigger");
    }
    conn.execute_batch(
        "DROP INDEX members_current; DROP INDEX messages_replies; \
         ALTER TABLE channels DROP COLUMN last_rev; \
         ALTER TABLE channels DROP COLUMN is_distinct; \
         ALTER TABLE channels DROP COLUMN initial_members; \
         ALTER TABLE apps DROP COLUMN cors_origins; \
         ALTER TABLE apps DROP COLUMN rate_limits; \
         DROP INDEX messages_unread; DROP INDEX user_messages_unread_mentions; \
         ALTER TABLE members DROP COLUMN joined_pk; \
         DROP INDEX members_hidden; \
         ALTER TABLE members DROP COLUMN hidden; ALTER TABLE members DROP COLUMN muted; \
         ALTER TABLE members DROP COLUMN archived; ALTER TABLE members DROP COLUMN state_rev; \
         ALTER TABLE channels DROP COLUMN deleted_at; \
         DROP TRIGGER messages_fts_insert; DROP TRIGGER messages_fts_update; \
         DROP TRIGGER messages_fts_delete; DROP TABLE messages_fts; \
         PRAGMA user_version = 1;",
    )
    .expect("downgrade");
    conn.execute_batch(crate::store_conformance::SCHEMA_4_UNREAD_INDEXES)
        .expect("old unread indexes");
}

#[tokio::test]
async fn databases_from_before_last_rev_are_backfilled_so_no_change_is_skipped() {
    let server = TestServer::start().await;
    let app = server.app("read-cost-migration").await;
    server.users(&app, &["alice", "bob"]).await;
    server
        .user(&app, "alice")
        .channel("messaging", "upgrade", &["bob"])
        .await;
    let store = &server.server.store;
    let a = &app.app_id;
    let cid: Cid = "messaging:upgrade".parse().expect("cid");
    let db = server.dir.path().join("chat.db");
    let (sent, _) = store
        .send_message(a, "bob", &cid, message("before the upgrade"), false)
        .await
        .expect("send");
    // The cursor is past the channel row's last rev: only the changes below (none of
    // which touches the channel row) make the channel worth reading.
    let mut conn = Connection::open(&db).expect("db");
    let (page, _) = cost::sync_on(&mut conn, a, "nobody", None, 1).expect("head");
    let from = SyncPosition::decode(&page.cursor).expect("cursor");
    drop(conn);
    store
        .add_reaction(a, "bob", sent.id, "like")
        .await
        .expect("react");
    store.mark_read(a, "bob", &cid, None).await.expect("read");
    store
        .set_starred(a, "alice", sent.id, true)
        .await
        .expect("star");

    downgrade_to_schema_1(&db);
    // Reopening migrates again: the backfill must cover every kind of row.
    let upgraded = SqliteStore::open(
        server.dir.path(),
        std::sync::Arc::new(InProcessHub::new()),
        SyncSettings::default(),
    )
    .expect("store reopens");
    let page = chat_server::store::Store::sync(&upgraded, a, "alice", Some(from), 500)
        .await
        .expect("sync");
    let kinds: Vec<&str> = page
        .changes
        .iter()
        .map(|c| match &c.change {
            chat_protocol::Change::Channel(_) => "channel",
            chat_protocol::Change::Member(_) => "member",
            chat_protocol::Change::Message(_) => "message",
            chat_protocol::Change::Reaction(_) => "reaction",
            chat_protocol::Change::Read(_) => "read",
            chat_protocol::Change::Flags(_) => "flags",
            chat_protocol::Change::MemberState(_) => "member_state",
        })
        .collect();
    for kind in ["message", "reaction", "read", "flags"] {
        assert!(
            kinds.contains(&kind),
            "no {kind} change after the upgrade: {kinds:?}"
        );
    }
}
