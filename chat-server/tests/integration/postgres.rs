//! What only the PostgreSQL backend has to prove, against the test cluster named by
//! `ONYXCHAT_TEST_DATABASE_URL` (`cargo xtask test` starts a throwaway one; `cargo xtask
//! postgres` starts one for running tests by hand):
//!
//! - **Commit order under concurrent writers** (docs/protocol.md, "PostgreSQL"): several
//!   nodes (stores with pools of their own) write one app at once while a trigger delays
//!   every message insert by a random few milliseconds between taking its `seq` and
//!   committing, and readers follow their sync cursors all along; every reader ends with
//!   every message exactly once.
//! - **Idempotent sends across nodes**: two nodes receiving the same message id at the same
//!   moment store it once.
//! - **The binary on PostgreSQL**: `app create`, `token` and `serve --dev` with
//!   `--database-url` / `DATABASE_URL`; a second serving node on the same database refuses
//!   to start.
//!
//! The helpers give each test a database or schema of its own in the shared cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_protocol::Change;
use chat_server::realtime::InProcessHub;
use chat_server::store::postgres::PgStore;
use chat_server::store::{Store, SyncPosition, SyncSettings};
use uuid::Uuid;

use chat_test::free_port;
use chat_test::nodes::database_cluster_url;
pub use chat_test::nodes::fresh_database;

use crate::conformance::{app_with_users, channel, msg};

/// Runs `sql` on the cluster's maintenance database.
async fn admin(sql: &str) {
    let url = database_cluster_url();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
    let task = tokio::spawn(connection);
    client.batch_execute(sql).await.unwrap();
    drop(client);
    let _ = task.await;
}

/// A fresh schema in the test cluster: the connection config with it as `search_path`.
pub async fn fresh_schema() -> tokio_postgres::Config {
    let schema = format!("t_{}", Uuid::now_v7().simple());
    admin(&format!("CREATE SCHEMA {schema}")).await;
    let mut config: tokio_postgres::Config = database_cluster_url().parse().unwrap();
    config.options(format!("-c search_path={schema}"));
    config
}

async fn node(config: &tokio_postgres::Config, settings: SyncSettings) -> Arc<dyn Store> {
    Arc::new(
        PgStore::open(config.clone(), 4, Arc::new(InProcessHub::new()), settings)
            .await
            .unwrap(),
    )
}

/// Message ids of `Change::Message` items a reader has seen, with how often.
type Seen = BTreeMap<Uuid, u32>;

/// Follows `user`'s cursor until `stop` is set and one more page came back empty.
async fn follow(
    store: Arc<dyn Store>,
    app: String,
    user: String,
    mut cursor: String,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Seen {
    let mut seen = Seen::new();
    loop {
        let done = stop.load(std::sync::atomic::Ordering::SeqCst);
        let from = SyncPosition::decode(&cursor).unwrap();
        let page = store.sync(&app, &user, Some(from), 100).await.unwrap();
        assert!(
            page.limited.is_empty(),
            "the threshold keeps pages as changes"
        );
        for c in &page.changes {
            if let Change::Message(m) = &c.change {
                *seen.entry(m.id).or_default() += 1;
            }
        }
        let empty = page.changes.is_empty() && !page.has_more;
        cursor = page.cursor;
        if done && empty {
            return seen;
        }
        if empty {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// Three nodes write one app concurrently, each message insert delayed by a random 0–4 ms
/// inside its transaction; four readers follow their cursors throughout. Every reader ends
/// with every message exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_several_nodes_never_make_a_reader_skip_a_change() {
    let config = fresh_schema().await;
    let settings = SyncSettings {
        limited_threshold: 100_000,
        ..SyncSettings::default()
    };
    let nodes = [
        node(&config, settings).await,
        node(&config, settings).await,
        node(&config, settings).await,
    ];
    // Commits now take a random while after their seq is taken.
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
    let conn_task = tokio::spawn(connection);
    client
        .batch_execute(
            "CREATE FUNCTION test_delay() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN PERFORM pg_sleep(random() * 0.004); RETURN NULL; END $$; \
             CREATE TRIGGER test_delay AFTER INSERT ON messages \
               FOR EACH ROW EXECUTE FUNCTION test_delay();",
        )
        .await
        .unwrap();
    drop(client);
    let _ = conn_task.await;

    let users: Vec<String> = (0..6).map(|i| format!("u{i}")).collect();
    let user_refs: Vec<&str> = users.iter().map(String::as_str).collect();
    let app = app_with_users(nodes[0].as_ref(), "busy", &user_refs).await;
    let cids = [
        channel(nodes[0].as_ref(), &app.app_id, "u0", "a", &user_refs[1..]).await,
        channel(nodes[1].as_ref(), &app.app_id, "u0", "b", &user_refs[1..]).await,
    ];

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for (i, user) in users.iter().take(4).enumerate() {
        let store = nodes[i % nodes.len()].clone();
        let boot = store.sync(&app.app_id, user, None, 100).await.unwrap();
        assert!(!boot.has_more);
        readers.push(tokio::spawn(follow(
            store,
            app.app_id.clone(),
            user.clone(),
            boot.cursor,
            stop.clone(),
        )));
    }

    let mut writers = Vec::new();
    for w in 0..6 {
        let store = nodes[w % nodes.len()].clone();
        let (app, cid, user) = (app.app_id.clone(), cids[w % 2].clone(), users[w].clone());
        writers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..25 {
                let req = msg(&format!("{w}-{i}"));
                ids.push(req.id);
                store
                    .send_message(&app, &user, &cid, req, false)
                    .await
                    .unwrap();
            }
            ids
        }));
    }
    let mut sent = BTreeSet::new();
    for w in writers {
        sent.extend(w.await.unwrap());
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for (i, r) in readers.into_iter().enumerate() {
        let seen = r.await.unwrap();
        let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            twice.is_empty(),
            "reader u{i} saw messages twice: {twice:?}"
        );
        let seen: BTreeSet<Uuid> = seen.into_keys().collect();
        let missed: Vec<_> = sent.difference(&seen).collect();
        assert!(
            missed.is_empty(),
            "reader u{i} missed {} of {} messages",
            missed.len(),
            sent.len()
        );
        assert_eq!(seen, sent, "reader u{i} saw messages nobody sent");
    }
}

/// Two nodes receive the same message ids at the same moment: each is stored once, both
/// answer with the same message, and exactly one of them reports it new.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_message_id_on_two_nodes_at_once_is_stored_once() {
    let config = fresh_schema().await;
    let a = node(&config, SyncSettings::default()).await;
    let b = node(&config, SyncSettings::default()).await;
    let app = app_with_users(a.as_ref(), "twice", &["u0", "u1"]).await;
    let cid = channel(a.as_ref(), &app.app_id, "u0", "c", &["u1"]).await;
    for i in 0..40 {
        let req = msg(&format!("m{i}"));
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let send = |store: Arc<dyn Store>| {
            let (app, cid, req, barrier) = (
                app.app_id.clone(),
                cid.clone(),
                req.clone(),
                barrier.clone(),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .send_message(&app, "u0", &cid, req, false)
                    .await
                    .unwrap()
            })
        };
        let (one, two) = (send(a.clone()), send(b.clone()));
        let ((m1, new1), (m2, new2)) = (one.await.unwrap(), two.await.unwrap());
        assert_eq!(m1, m2, "both nodes answer with the stored message");
        assert!(
            new1 ^ new2,
            "exactly one node stored it (got {new1}, {new2})"
        );
    }
    let page = a
        .list_messages(
            &app.app_id,
            &chat_server::store::Actor::user("u1"),
            &cid,
            chat_protocol::ListMessagesQuery {
                limit: Some(100),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 40);
}

const BIN: &str = env!("CARGO_BIN_EXE_chat-server");

/// Reads `serve --dev`'s stdout until it printed the four demo tokens.
fn dev_tokens(child: &mut std::process::Child) -> Vec<(String, String)> {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut tokens = Vec::new();
    while tokens.len() < 4 {
        let line = lines.next().expect("serve --dev output").unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() == 2 && words[1].starts_with("eyJ") {
            tokens.push((words[0].to_owned(), words[1].to_owned()));
        }
    }
    tokens
}

fn stop(child: &mut std::process::Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("server did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `app create`, `token` and `serve` on PostgreSQL; one serving node per database.
#[test]
fn the_binary_runs_on_postgres_and_one_node_serves_a_database() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(fresh_database());
    let run = |args: &[&str]| Command::new(BIN).args(args).output().unwrap();
    let out = run(&["app", "create", "--name", "shop", "--database-url", &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let creds: chat_protocol::AppCredentials = serde_json::from_slice(&out.stdout).unwrap();
    let dup = run(&["app", "create", "--name", "shop", "--database-url", &url]);
    assert!(
        !dup.status.success(),
        "app names are unique in the database"
    );
    let out = run(&[
        "token",
        "--app",
        &creds.app_id,
        "--user",
        "alice",
        "--database-url",
        &url,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    chat_server::auth::verify_user_token(&token, &creds.app_id, &creds.api_secret).unwrap();

    // serve --dev, the database named in the environment
    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = Command::new(BIN)
        .args(["serve", "--dev", "--addr", &addr])
        .env("DATABASE_URL", &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let tokens = dev_tokens(&mut server);
    let second = Command::new(BIN)
        .args(["serve", "--addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--database-url", &url])
        .output()
        .unwrap();
    assert!(!second.status.success(), "a second node must refuse");
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("already serving"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let body: serde_json::Value = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("http://{addr}/v1/sync"))
            .bearer_auth(&tokens[1].1)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let cids: Vec<&str> = body["limited"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["channel"]["cid"].as_str().unwrap())
        .collect();
    assert_eq!(cids.len(), 2, "{body}");
    assert!(cids.contains(&"team:general"), "{body}");
    stop(&mut server);

    // the lock went with the node: the next one starts, on the same demo app
    let mut again = Command::new(BIN)
        .args([
            "serve",
            "--dev",
            "--addr",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .args(["--database-url", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let again_tokens = dev_tokens(&mut again);
    stop(&mut again);
    assert_eq!(
        chat_server::auth::unverified_app(&again_tokens[0].1).unwrap(),
        chat_server::auth::unverified_app(&tokens[0].1).unwrap()
    );
}
