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
fn unread_counts_use_the_partial_indexes() {
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
    for (sql, index) in [
        (schema::UNREAD_IN_CHANNEL, "user_messages_unread"),
        (
            schema::UNREAD_MENTIONS_IN_CHANNEL,
            "user_messages_unread_mentions",
        ),
        (schema::UNREAD_BY_CHANNEL, "user_messages_unread"),
        (
            schema::UNREAD_MENTIONS_BY_CHANNEL,
            "user_messages_unread_mentions",
        ),
    ] {
        let p = plan(&bind(sql));
        let uses = p.contains(&format!("USING INDEX {index} "))
            || p.contains(&format!("USING COVERING INDEX {index} "))
            || p.ends_with(&format!("INDEX {index}"));
        assert!(uses, "{sql}: {p}");
        assert!(
            !p.contains("SCAN user_messages") && !p.contains(" messages"),
            "{sql}: {p}"
        );
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
