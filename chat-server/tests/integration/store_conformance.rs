//! Runs the storage conformance suite against the embedded SQLite backend, plus checks
//! that only make sense for SQLite (query plans, schema versioning).

use std::sync::Arc;

use chat_server::realtime::{Broadcaster, InProcessHub};
use chat_server::store::sqlite::SqliteStore;
use chat_server::store::sqlite::schema::{self, SCHEMA_VERSION};
use chat_server::store::{Store, StoreError, SyncSettings};

use crate::{conformance, conformance_suite};

fn sqlite(
    hub: Arc<dyn Broadcaster>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = conformance::Opened> + Send>> {
    Box::pin(async move {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), hub, SyncSettings::default()).unwrap();
        (
            Arc::new(store) as Arc<dyn Store>,
            Box::new(dir) as Box<dyn std::any::Any + Send>,
        )
    })
}

conformance_suite!(sqlite);

#[test]
fn unread_counts_are_index_ranges_only() {
    let dir = tempfile::tempdir().unwrap();
    SqliteStore::open(
        dir.path(),
        Arc::new(InProcessHub::new()),
        SyncSettings::default(),
    )
    .unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("chat.db")).unwrap();
    let plan = |sql: &str| -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.join(" | ")
    };
    let bind = |sql: &str| {
        sql.replace("?1", "'a'")
            .replace("?2", "'u'")
            .replace("?3", "'c'")
    };
    for (sql, index, table) in [
        (schema::UNREAD_IN_CHANNEL, "messages_unread", "m"),
        (
            schema::UNREAD_MENTIONS_IN_CHANNEL,
            "user_messages_unread_mentions",
            "user_messages",
        ),
        (schema::UNREAD_BY_CHANNEL, "messages_unread", "m"),
        (
            schema::UNREAD_MENTIONS_BY_CHANNEL,
            "user_messages_unread_mentions",
            "user_messages",
        ),
    ] {
        let p = plan(&bind(sql));
        let uses = p.contains(&format!("SEARCH {table} USING INDEX {index} "))
            || p.contains(&format!("SEARCH {table} USING COVERING INDEX {index} "))
            || p.ends_with(&format!("INDEX {index}"));
        assert!(uses, "{sql}: {p}");
        // Index ranges only: no table scanned, no message row read for a count.
        assert!(!p.contains("SCAN "), "{sql}: {p}");
        if table == "m" {
            assert!(p.contains("COVERING INDEX messages_unread"), "{sql}: {p}");
        } else {
            assert!(!p.contains(" messages"), "{sql}: {p}");
        }
    }
}

#[test]
fn a_database_from_a_newer_server_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    SqliteStore::open(
        dir.path(),
        Arc::new(InProcessHub::new()),
        SyncSettings::default(),
    )
    .unwrap();
    {
        let conn = rusqlite::Connection::open(dir.path().join("chat.db")).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    match SqliteStore::open(
        dir.path(),
        Arc::new(InProcessHub::new()),
        SyncSettings::default(),
    ) {
        Err(StoreError::Backend(msg)) => assert!(msg.contains("newer"), "{msg}"),
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn reopening_keeps_data_and_does_not_remigrate() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(async {
        let s = SqliteStore::open(
            dir.path(),
            Arc::new(InProcessHub::new()),
            SyncSettings::default(),
        )
        .unwrap();
        s.create_app("persist").await.unwrap()
    });
    rt.block_on(async {
        let s = SqliteStore::open(
            dir.path(),
            Arc::new(InProcessHub::new()),
            SyncSettings::default(),
        )
        .unwrap();
        assert_eq!(
            s.app_by_name("persist").await.unwrap().unwrap().id,
            app.app_id
        );
    });
}

/// A fresh store in `dir` with an app named `name` holding `users`; the app's id.
async fn store_with_users(
    dir: &std::path::Path,
    name: &str,
    users: &[&str],
) -> (SqliteStore, String) {
    let s = SqliteStore::open(dir, Arc::new(InProcessHub::new()), SyncSettings::default()).unwrap();
    let app = s.create_app(name).await.unwrap().app_id;
    let inputs = users
        .iter()
        .map(|id| chat_protocol::UserInput {
            id: (*id).into(),
            name: None,
            image: None,
            custom: Default::default(),
        })
        .collect();
    s.upsert_users(&app, inputs).await.unwrap();
    (s, app)
}

/// Channels created before migration 3 have no recorded initial member set: a create replay
/// of such a channel is judged by its creator alone (and still never by anyone else).
#[tokio::test]
async fn legacy_channels_without_an_initial_member_set_replay_for_their_creator() {
    use chat_protocol::{ChannelType, Cid, CreateChannelRequest};
    use chat_server::store::NewChannel;
    let dir = tempfile::tempdir().unwrap();
    let (s, app) = store_with_users(dir.path(), "legacy", &["alice", "bob", "carol"]).await;
    let cid = Cid::new(ChannelType::Team, "old").unwrap();
    let create = |members: &[&str]| NewChannel {
        cid: cid.clone(),
        req: CreateChannelRequest {
            id: Some("old".into()),
            members: members.iter().map(|m| (*m).to_owned()).collect(),
            ..CreateChannelRequest::new(ChannelType::Team)
        },
    };
    s.create_channel(&app, "alice", create(&["bob"]))
        .await
        .unwrap();
    rusqlite::Connection::open(dir.path().join("chat.db"))
        .unwrap()
        .execute("UPDATE channels SET initial_members = NULL", [])
        .unwrap();
    let (_, created) = s
        .create_channel(&app, "alice", create(&["carol"]))
        .await
        .unwrap();
    assert!(!created, "the creator's replay opens the legacy channel");
    let other = s.create_channel(&app, "bob", create(&["alice"])).await;
    assert!(matches!(other, Err(StoreError::Conflict(_))), "{other:?}");
}

/// Commits never checkpoint the log themselves (a checkpoint inside a commit was most of
/// the delivery p99): a background thread copies it into the database file. One
/// transaction of ~2 MB stays far below the 1,000 pages at which SQLite's default would
/// checkpoint, so only the background checkpointer can grow `chat.db` to hold it.
#[tokio::test]
async fn the_log_is_checkpointed_in_the_background_not_by_commits() {
    use chat_protocol::{ChannelType, Cid, CreateChannelRequest, SendMessageRequest};
    use chat_server::store::NewChannel;
    let dir = tempfile::tempdir().unwrap();
    let (s, app) = store_with_users(dir.path(), "wal", &["alice"]).await;
    let cid = Cid::new(ChannelType::Team, "big").unwrap();
    let req = CreateChannelRequest {
        id: Some("big".into()),
        ..CreateChannelRequest::new(ChannelType::Team)
    };
    s.create_channel(
        &app,
        "alice",
        NewChannel {
            cid: cid.clone(),
            req,
        },
    )
    .await
    .unwrap();
    let db = dir.path().join("chat.db");
    let size = || std::fs::metadata(&db).unwrap().len();
    let before = size();
    let items: Vec<_> = (0..2_000)
        .map(|i| {
            let text = format!("{i:>5} {}", "x".repeat(700));
            let message = SendMessageRequest {
                id: uuid::Uuid::now_v7(),
                text,
                attachments: vec![],
                parent_id: None,
                quoted_message_id: None,
                mentioned_users: vec![],
                user_id: None,
            };
            ("alice".to_owned(), message)
        })
        .collect();
    let sent = s.send_messages(&app, &cid, items, false).await.unwrap();
    assert!(sent.iter().all(Result::is_ok));
    let grown = 1_500_000;
    for _ in 0..600 {
        if size() >= before + grown {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("chat.db stayed at {} bytes (from {before})", size());
}

/// The unread indexes of schemas 1–4 (a row per recipient), for tests that rebuild an
/// older database.
pub const SCHEMA_4_UNREAD_INDEXES: &str = "\
    CREATE INDEX user_messages_unread ON user_messages (app_id, user_id, cid, message_pk) \
      WHERE (flags & 1) = 0; \
    CREATE INDEX user_messages_unread_mentions ON user_messages (app_id, user_id, cid) \
      WHERE (flags & 3) = 2;";

/// Every user's counts in every channel of `app`: (user, cid, unread, mentions).
async fn all_counts(
    store: &SqliteStore,
    app: &str,
    users: &[&str],
) -> Vec<(String, String, u32, u32)> {
    let mut out = Vec::new();
    for user in users {
        for c in store.unread(app, user).await.unwrap().channels {
            out.push((
                user.to_string(),
                c.cid.to_string(),
                c.unread_count,
                c.unread_mentions,
            ));
        }
    }
    out
}

/// A schema-4 database (a `user_messages` row per recipient and message, flags read by the
/// marker) migrates to the sparse schema with the same unread counts for everyone, and
/// keeps only mention and star rows.
#[tokio::test]
async fn a_database_with_a_row_per_recipient_migrates_to_the_same_counts() {
    use chat_protocol::MemberInput;
    use chat_server::store::Actor;

    let dir = tempfile::tempdir().unwrap();
    let open = || {
        SqliteStore::open(
            dir.path(),
            Arc::new(InProcessHub::new()),
            SyncSettings::default(),
        )
        .unwrap()
    };
    let users = ["ann", "bob", "cat", "dan"];
    let store = open();
    let app = conformance::app_with_users(&store, "migrate", &users).await;
    let a = &app.app_id;
    let cid = conformance::channel(&store, a, "ann", "old", &["bob", "cat"]).await;
    let send = |author: &'static str, text: &str, mentions: &[&str]| {
        let req = conformance::unread::mentioning(text, mentions);
        let store = &store;
        let cid = cid.clone();
        async move {
            store
                .send_message(a, author, &cid, req, false)
                .await
                .unwrap()
                .0
        }
    };
    let first = send("ann", "one", &[]).await;
    let second = send("bob", "two @cat", &["cat"]).await;
    send("ann", "three", &[]).await;
    store
        .mark_read(a, "bob", &cid, Some(second.id))
        .await
        .unwrap();
    send("ann", "hey @bob @cat", &["bob", "cat"]).await;
    store.set_starred(a, "cat", first.id, true).await.unwrap();
    store
        .add_members(
            a,
            &Actor::user("ann"),
            &cid,
            vec![MemberInput {
                user_id: "dan".into(),
                role: None,
            }],
        )
        .await
        .unwrap();
    let late = send("cat", "for dan too", &["dan"]).await;
    store
        .delete_message(a, &Actor::user("cat"), late.id)
        .await
        .unwrap();
    send("ann", "last", &[]).await;
    let before = all_counts(&store, a, &users).await;
    assert_eq!(
        before,
        vec![
            ("ann".into(), cid.to_string(), 1, 0),
            ("bob".into(), cid.to_string(), 3, 1),
            ("cat".into(), cid.to_string(), 5, 2),
            ("dan".into(), cid.to_string(), 1, 0),
        ]
    );
    drop(store);

    // Back to schema 4 as its writer left it: a row per member for every message since
    // the member joined, read if its own, deleted or within its marker; mentioned as listed.
    let conn = rusqlite::Connection::open(dir.path().join("chat.db")).unwrap();
    conn.execute_batch(
        "INSERT INTO user_messages (app_id, user_id, message_pk, cid, flags) \
         SELECT mb.app_id, mb.user_id, m.pk, m.cid, \
           (CASE WHEN m.user_id = mb.user_id OR m.deleted_at IS NOT NULL \
              OR m.pk <= COALESCE(r.last_read_pk, 0) THEN 1 ELSE 0 END) | \
           (CASE WHEN mb.user_id IN (SELECT value FROM json_each(m.mentioned_users)) \
              THEN 2 ELSE 0 END) \
         FROM members AS mb JOIN messages AS m ON m.app_id = mb.app_id AND m.cid = mb.cid \
           AND m.pk > mb.joined_pk \
         LEFT JOIN reads AS r ON r.app_id = mb.app_id AND r.cid = mb.cid AND r.user_id = mb.user_id \
         WHERE mb.deleted = 0 \
         ON CONFLICT (app_id, user_id, message_pk) DO UPDATE SET \
           flags = (user_messages.flags & 4) | excluded.flags; \
         DROP INDEX messages_unread; DROP INDEX user_messages_unread_mentions; \
         ALTER TABLE members DROP COLUMN joined_pk; \
         ALTER TABLE apps DROP COLUMN rate_limits; \
         DROP TRIGGER members_state_last_rev; DROP INDEX members_hidden; \
         ALTER TABLE members DROP COLUMN hidden; ALTER TABLE members DROP COLUMN muted; \
         ALTER TABLE members DROP COLUMN archived; ALTER TABLE members DROP COLUMN state_rev; \
         ALTER TABLE channels DROP COLUMN deleted_at; \
         DROP TRIGGER messages_fts_insert; DROP TRIGGER messages_fts_update; \
         DROP TRIGGER messages_fts_delete; DROP TABLE messages_fts; \
         PRAGMA user_version = 4;",
    )
    .unwrap();
    conn.execute_batch(SCHEMA_4_UNREAD_INDEXES).unwrap();
    let dense: i64 = conn
        .query_row("SELECT COUNT(*) FROM user_messages", [], |r| r.get(0))
        .unwrap();
    assert!(dense > 15, "{dense} rows: not one per recipient");
    let personal: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM user_messages WHERE (flags & 6) != 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(conn);

    let store = open();
    assert_eq!(all_counts(&store, a, &users).await, before);
    let conn = rusqlite::Connection::open(dir.path().join("chat.db")).unwrap();
    let plain: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM user_messages WHERE (flags & 6) = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(plain, 0, "rows that only said read/unread are gone");
    let kept: i64 = conn
        .query_row("SELECT COUNT(*) FROM user_messages", [], |r| r.get(0))
        .unwrap();
    // cat's mention in "two", bob's and cat's in "hey", cat's star.
    assert_eq!((kept, personal), (4, 4));
    // Later sends count on top of the migrated state.
    drop(conn);
    let req = conformance::msg("after");
    store
        .send_message(a, "dan", &cid, req, false)
        .await
        .unwrap();
    let after = all_counts(&store, a, &users).await;
    let bumped: Vec<_> = before
        .iter()
        .map(|(u, c, n, m)| {
            (
                u.clone(),
                c.clone(),
                if u == "dan" { *n } else { n + 1 },
                *m,
            )
        })
        .collect();
    assert_eq!(after, bumped);
}

/// The suite on the PostgreSQL backend: each test gets a schema of its own in the test
/// cluster (see [`crate::postgres`]).
pub mod postgres {
    use std::sync::Arc;

    use chat_server::realtime::Broadcaster;
    use chat_server::store::postgres::PgStore;
    use chat_server::store::{Store, SyncSettings};

    use crate::{conformance, conformance_suite};

    fn postgres(
        hub: Arc<dyn Broadcaster>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = conformance::Opened> + Send>> {
        Box::pin(async move {
            let config = crate::postgres::fresh_schema().await;
            let store = PgStore::open(config, 8, hub, SyncSettings::default())
                .await
                .unwrap();
            (
                Arc::new(store) as Arc<dyn Store>,
                Box::new(()) as Box<dyn std::any::Any + Send>,
            )
        })
    }

    conformance_suite!(postgres);
}
