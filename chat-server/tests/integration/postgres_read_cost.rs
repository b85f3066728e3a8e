//! Cost of reads on PostgreSQL: every hot query of the PostgreSQL backend is an index range
//! keyed by the user's own data on a big, skewed database. Rules owned here
//! (docs/protocol.md, "Security model", "Cost of reads"):
//!
//! - Every query of `chat_server::store::postgres::cost::hot_queries` reaches each table
//!   through its pinned index, with the key bound past `app_id`, and never scans a table.
//! - PostgreSQL plans from statistics, so the pins hold on a dataset where the wrong plans
//!   look cheap (2,000 apps, one of them huge: tens of thousands of messages and
//!   memberships, a channel with everyone; a user with three channels next to one in every
//!   channel), both with the data loaded but no statistics yet and after `ANALYZE`.
//! - An empty database is not checked: with empty tables every index ties, but an empty
//!   table has no cost to bound, and plans cached then are re-planned once autovacuum's
//!   `ANALYZE` of the grown tables invalidates them (see the `cost` module).
//!
//! Runs against the test cluster in `ONYXCHAT_TEST_DATABASE_URL`, in a schema of its own.

use std::sync::Arc;

use chat_server::realtime::InProcessHub;
use chat_server::store::SyncSettings;
use chat_server::store::postgres::{self, PgStore, cost};

/// The skewed dataset, loaded in bulk (triggers off: `channels.last_rev` is set directly).
const DATASET: &str = r#"
ALTER TABLE members DISABLE TRIGGER USER;
ALTER TABLE messages DISABLE TRIGGER USER;
ALTER TABLE reactions DISABLE TRIGGER USER;
ALTER TABLE reads DISABLE TRIGGER USER;
ALTER TABLE user_messages DISABLE TRIGGER USER;
INSERT INTO apps (id, name, api_key, api_secret, epoch, seq, created_at)
  SELECT 'app' || a, 'app' || a, 'key' || a, 'secret', 'epoch', 1000000, 0
  FROM generate_series(0, 1999) AS a;
INSERT INTO users (app_id, id, created_at, updated_at)
  SELECT 'app0', 'u' || u, 0, 0 FROM generate_series(0, 9999) AS u;
INSERT INTO channels (app_id, cid, type, id, config, created_by, created_at, updated_at,
    sort_at, rev, last_rev)
  SELECT 'app' || a, 'messaging:c' || c, 'messaging', 'c' || c, '{}', 'u0', 0, 0, c, c, 1000000
  FROM generate_series(0, 9) AS a,
    generate_series(0, 1999) AS c WHERE a = 0 OR c < 10;
-- app0: c0 holds everyone, every other channel five members, u1 (the user under test)
-- three channels, u2 every channel; 1000 tombstones. Small apps: three members a channel.
INSERT INTO members (app_id, cid, user_id, role, created_at, updated_at, deleted, joined_rev,
    joined_pk, rev)
  SELECT 'app0', 'messaging:c0', 'u' || u, 'member', u, u, u % 10 = 9, u, 0, u
  FROM generate_series(0, 9999) AS u;
INSERT INTO members (app_id, cid, user_id, role, created_at, updated_at, deleted, joined_rev,
    joined_pk, rev)
  SELECT 'app0', 'messaging:c' || c, 'u' || (10 + (c * 5 + k) % 9990), 'member', 0, 0, FALSE,
    c, 0, c
  FROM generate_series(1, 1999) AS c, generate_series(0, 4) AS k;
INSERT INTO members (app_id, cid, user_id, role, created_at, updated_at, deleted, joined_rev,
    joined_pk, rev)
  SELECT 'app0', 'messaging:c' || c, u, 'member', 0, 0, FALSE, c, 0, c
  FROM generate_series(1, 1999) AS c, (VALUES ('u1'), ('u2')) AS v(u) WHERE u = 'u2' OR c <= 3;
INSERT INTO members (app_id, cid, user_id, role, created_at, updated_at, deleted, joined_rev,
    joined_pk, rev)
  SELECT 'app' || a, 'messaging:c' || c, 'u' || k, 'member', 0, 0, FALSE, c, 0, c
  FROM generate_series(1, 9) AS a, generate_series(0, 9) AS c, generate_series(0, 2) AS k;
-- app0: 40 000 messages in c0 (every 20th a reply, every 50th deleted), five in every other
-- channel; 100 in each small app.
INSERT INTO messages (pk, app_id, id, cid, user_id, text, attachments, parent_pk, parent_id,
    mentioned_users, reaction_counts, created_at, updated_at, deleted_at, rev)
  OVERRIDING SYSTEM VALUE
  SELECT i, 'app0', md5('m' || i)::UUID, 'messaging:c0', 'u' || (i % 10000), 'hi', '[]',
    CASE WHEN i % 20 = 0 THEN i - 1 END, CASE WHEN i % 20 = 0 THEN md5('m' || (i - 1))::UUID END,
    '[]', '{}', i, i, CASE WHEN i % 50 = 0 THEN i END, i
  FROM generate_series(1, 40000) AS i;
INSERT INTO messages (pk, app_id, id, cid, user_id, text, attachments, mentioned_users,
    reaction_counts, created_at, updated_at, rev)
  OVERRIDING SYSTEM VALUE
  SELECT 40000 + c * 5 + k, 'app0', md5('m' || (40000 + c * 5 + k))::UUID, 'messaging:c' || c,
    'u2', 'hi', '[]', '[]', '{}', k, k, 40000 + c * 5 + k
  FROM generate_series(1, 1999) AS c, generate_series(0, 4) AS k;
INSERT INTO messages (pk, app_id, id, cid, user_id, text, attachments, mentioned_users,
    reaction_counts, created_at, updated_at, rev)
  OVERRIDING SYSTEM VALUE
  SELECT 60000 + a * 100 + i, 'app' || a, md5('m' || (60000 + a * 100 + i))::UUID,
    'messaging:c' || (i % 10), 'u0', 'hi', '[]', '[]', '{}', i, i, i
  FROM generate_series(1, 9) AS a, generate_series(1, 100) AS i;
SELECT setval(pg_get_serial_sequence('messages', 'pk'), 70000);
-- 20 000 reactions in c0, a few by u1; a read marker per membership of app0; mentions
-- and stars of c0 (flags rows) for many users, u1 included.
INSERT INTO reactions (app_id, message_pk, message_id, cid, user_id, type, created_at,
    deleted, rev)
  SELECT m.app_id, m.pk, m.id, m.cid, 'u' || (m.pk % 1000), 'like', 0, m.pk % 7 = 0, m.rev
  FROM messages AS m WHERE m.app_id = 'app0' AND m.cid = 'messaging:c0' AND m.rev <= 20000;
INSERT INTO reads (app_id, cid, user_id, last_read_pk, last_read_at, rev)
  SELECT app_id, cid, user_id, 0, 0, rev FROM members WHERE app_id = 'app0';
INSERT INTO user_messages (app_id, user_id, message_pk, cid, flags, flags_rev)
  SELECT m.app_id, 'u' || (m.pk % 1000), m.pk, m.cid, CASE WHEN m.pk % 3 = 0 THEN 4 ELSE 2 END,
    CASE WHEN m.pk % 3 = 0 THEN m.rev ELSE 0 END
  FROM messages AS m WHERE m.app_id = 'app0' AND m.cid = 'messaging:c0' AND m.rev <= 20000;
ALTER TABLE members ENABLE TRIGGER USER;
ALTER TABLE messages ENABLE TRIGGER USER;
ALTER TABLE reactions ENABLE TRIGGER USER;
ALTER TABLE reads ENABLE TRIGGER USER;
ALTER TABLE user_messages ENABLE TRIGGER USER;
"#;

/// A fresh schema migrated by a `PgStore`, and a plain client on it, with its config.
async fn fresh() -> (tokio_postgres::Client, tokio_postgres::Config) {
    let config = crate::postgres::fresh_schema().await;
    let store = PgStore::open(
        config.clone(),
        1,
        Arc::new(InProcessHub::new()),
        SyncSettings::default(),
    )
    .await
    .expect("store opens and migrates");
    drop(store);
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connects");
    tokio::spawn(connection);
    (client, config)
}

/// The violations on `client`, as one message.
async fn broken(client: &tokio_postgres::Client) -> String {
    cost::violations(client).await.join("\n\n")
}

#[tokio::test]
async fn hot_query_plans_hold_on_a_big_skewed_app_before_and_after_analyze() {
    let (client, _) = fresh().await;
    // Autovacuum stays out: the first check sees the data without any statistics.
    client
        .batch_execute(
            "ALTER TABLE channels SET (autovacuum_enabled = false); \
             ALTER TABLE members SET (autovacuum_enabled = false); \
             ALTER TABLE messages SET (autovacuum_enabled = false); \
             ALTER TABLE reactions SET (autovacuum_enabled = false); \
             ALTER TABLE reads SET (autovacuum_enabled = false); \
             ALTER TABLE user_messages SET (autovacuum_enabled = false);",
        )
        .await
        .expect("autovacuum off");
    client.batch_execute(DATASET).await.expect("dataset loads");
    let members: i64 = client
        .query_one("SELECT COUNT(*) FROM members WHERE app_id = 'app0'", &[])
        .await
        .expect("count")
        .get(0);
    assert!(members > 20_000, "{members} memberships");
    let before = broken(&client).await;
    client
        .batch_execute(
            "ANALYZE apps, users, channels, members, messages, reactions, reads, user_messages",
        )
        .await
        .expect("analyze");
    // The adversary is real: a query the registry does not pin walks the whole app.
    let unpinned = cost::HotQuery {
        name: "members by role",
        sql: "SELECT cid FROM members WHERE app_id = $1 AND role = $2".into(),
        expect: vec![cost::Reach {
            alias: "members",
            indexes: &["members_current"],
        }],
    };
    let plan = cost::explain(&client, &unpinned.sql).await.expect("plan");
    let keys = cost::index_keys(&client).await.expect("index keys");
    assert!(
        !cost::check(&unpinned, &plan, &keys).is_empty(),
        "an unbounded query should walk the app: {}",
        cost::render(&plan[0]["Plan"], 0)
    );
    let after = broken(&client).await;
    assert!(
        before.is_empty() && after.is_empty(),
        "without statistics ({} broken):\n{before}\n\nafter ANALYZE ({} broken):\n{after}",
        before.matches("\n\n").count() + usize::from(!before.is_empty()),
        after.matches("\n\n").count() + usize::from(!after.is_empty()),
    );
}

/// An app created and filled after the last `ANALYZE` (a tenant being onboarded) is
/// absent from the statistics, so any value of it looks like it matches nothing. Planned
/// for those values (a custom plan), the co-member lookup of every WebSocket connect
/// walked the app's memberships once for each of them. The store's connections plan
/// generically ([`postgres::session_config`]), so the pinned plan is the one that runs.
#[tokio::test]
async fn an_app_the_statistics_do_not_know_yet_gets_the_pinned_plans() {
    let (client, config) = fresh().await;
    client
        .batch_execute("ALTER TABLE members SET (autovacuum_enabled = false)")
        .await
        .expect("autovacuum off");
    client.batch_execute(DATASET).await.expect("dataset loads");
    client
        .batch_execute("ANALYZE apps, users, channels, members")
        .await
        .expect("analyze");
    // Onboarded after the statistics: one channel of 1,000 members.
    client
        .batch_execute(
            "INSERT INTO apps (id, name, api_key, api_secret, epoch, seq, created_at) \
               VALUES ('fresh', 'fresh', 'key-fresh', 'secret', 'epoch', 0, 0); \
             INSERT INTO channels (app_id, cid, type, id, config, created_by, created_at, \
                 updated_at, sort_at, rev, last_rev) \
               VALUES ('fresh', 'messaging:all', 'messaging', 'all', '{}', 'u0', 0, 0, 0, 1, 1); \
             INSERT INTO members (app_id, cid, user_id, role, created_at, updated_at, \
                 deleted, joined_rev, joined_pk, rev) \
               SELECT 'fresh', 'messaging:all', 'u' || u, 'member', 0, 0, FALSE, u, 0, u \
               FROM generate_series(0, 999) AS u;",
        )
        .await
        .expect("the new app loads");

    // A connection as the store opens them (the schema's search path included).
    let config = postgres::session_config(config);
    let (store_like, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connects");
    tokio::spawn(connection);
    let hot = cost::hot_queries()
        .into_iter()
        .find(|q| q.name == "connect/disconnect: co-members")
        .expect("the co-member query is registered");
    store_like
        .batch_execute(&format!("PREPARE co_members(TEXT, TEXT) AS {}", hot.sql))
        .await
        .expect("prepares");
    let keys = cost::index_keys(&store_like).await.expect("index keys");
    let text = store_like
        .simple_query("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE co_members('fresh', 'u5')")
        .await
        .expect("explains")
        .into_iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .expect("a plan");
    let plan: serde_json::Value = serde_json::from_str(&text).expect("JSON plan");
    let root = &plan[0]["Plan"];
    assert_eq!(root["Actual Rows"], 999, "{}", cost::render(root, 0));
    let broken = cost::check(&hot, &plan, &keys);
    let buffers = root["Shared Hit Blocks"].as_u64().unwrap_or(0)
        + root["Shared Read Blocks"].as_u64().unwrap_or(0);
    assert!(
        broken.is_empty() && buffers < 200,
        "{buffers} buffers for 999 co-members; {broken:?}{}",
        cost::render(root, 0)
    );
}
