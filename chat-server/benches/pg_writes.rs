//! Sends per second on the PostgreSQL store, and what the per-app serialization of writes
//! costs (docs/protocol.md, "PostgreSQL"): every write of an app holds the app's row lock
//! from its first statement to its commit, so one app's sends run one at a time whatever
//! the number of writers and nodes, while different apps' sends run side by side.
//!
//! Each scenario runs `WRITERS` concurrent writer tasks for `SENDS` sends each, 10-member
//! channels, on a fresh schema:
//! - `one app, 1 writer`: the latency of one send, back to back;
//! - `one app, 8 writers, 1 node` and `… 2 nodes` (two stores with pools of their own):
//!   the serialized case;
//! - `8 apps, 8 writers`: one writer per app, nothing shared but the database.
//!
//! The floor, in the same run and with the same concurrency: 8 clients each committing
//! single-row transactions (`BEGIN; INSERT` the message's wire JSON `; COMMIT`) into a
//! two-column table, one round trip per statement as the store makes.
//!
//! Run against a cluster with production durability (`fsync` and `synchronous_commit`
//! on): `cargo xtask postgres --durable` prints its URL, then
//! `ONYXCHAT_TEST_DATABASE_URL=… cargo bench -p chat-server --bench pg_writes`.

use std::sync::Arc;
use std::time::Instant;

use chat_protocol::{ChannelType, Cid, CreateChannelRequest, SendMessageRequest, UserInput};
use chat_server::realtime::InProcessHub;
use chat_server::store::postgres::PgStore;
use chat_server::store::{NewChannel, Store, SyncSettings};
use uuid::Uuid;

const WRITERS: usize = 8;
const SENDS: usize = 150;
const MEMBERS: usize = 10;
const TEXT: &str = "Lunch at 12:30? The usual place, I booked a table for four people.";

fn cluster() -> tokio_postgres::Config {
    std::env::var("ONYXCHAT_TEST_DATABASE_URL")
        .expect("ONYXCHAT_TEST_DATABASE_URL (see `cargo xtask postgres --durable`)")
        .parse()
        .expect("database url")
}

async fn admin(sql: &str) {
    let (client, connection) = cluster()
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect");
    let task = tokio::spawn(connection);
    client.batch_execute(sql).await.expect("admin statement");
    drop(client);
    let _ = task.await;
}

async fn fresh_schema() -> tokio_postgres::Config {
    let schema = format!("bench_{}", Uuid::now_v7().simple());
    admin(&format!("CREATE SCHEMA {schema}")).await;
    let mut config = cluster();
    config.options(format!("-c search_path={schema}"));
    config
}

async fn node(config: &tokio_postgres::Config) -> Arc<dyn Store> {
    Arc::new(
        PgStore::open(
            config.clone(),
            WRITERS,
            Arc::new(InProcessHub::new()),
            SyncSettings::default(),
        )
        .await
        .expect("store"),
    )
}

/// An app with `MEMBERS` users and one channel of all of them.
async fn app(store: &dyn Store, name: &str) -> (String, Cid) {
    let app = store.create_app(name).await.expect("app").app_id;
    let users: Vec<UserInput> = (0..MEMBERS)
        .map(|i| UserInput {
            id: format!("u{i}"),
            name: None,
            image: None,
            custom: Default::default(),
        })
        .collect();
    store.upsert_users(&app, users).await.expect("users");
    let cid: Cid = "team:bench".parse().expect("cid");
    let req = CreateChannelRequest {
        id: Some("bench".into()),
        members: (1..MEMBERS).map(|i| format!("u{i}")).collect(),
        ..CreateChannelRequest::new(ChannelType::Team)
    };
    store
        .create_channel(
            &app,
            "u0",
            NewChannel {
                cid: cid.clone(),
                req,
            },
        )
        .await
        .expect("channel");
    (app, cid)
}

fn send(n: usize) -> SendMessageRequest {
    SendMessageRequest {
        id: Uuid::now_v7(),
        text: format!("{TEXT} #{n}"),
        attachments: vec![],
        parent_id: None,
        quoted_message_id: None,
        mentioned_users: vec![],
        user_id: None,
    }
}

/// Runs `writers` tasks of `SENDS` sends; writer `w` uses `targets[w % len]`. Sends/s.
async fn run(writers: usize, targets: Vec<(Arc<dyn Store>, String, Cid)>) -> f64 {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (store, app, cid) = targets[w % targets.len()].clone();
        tasks.push(tokio::spawn(async move {
            let author = format!("u{}", w % MEMBERS);
            for n in 0..SENDS {
                store
                    .send_message(&app, &author, &cid, send(n), false)
                    .await
                    .expect("send");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    (writers * SENDS) as f64 / started.elapsed().as_secs_f64()
}

async fn floor() -> f64 {
    let config = fresh_schema().await;
    let mut clients = Vec::new();
    for _ in 0..WRITERS {
        let (client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        clients.push(client);
    }
    clients[0]
        .batch_execute("CREATE TABLE rows (id TEXT PRIMARY KEY, data TEXT NOT NULL)")
        .await
        .expect("table");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in clients {
        tasks.push(tokio::spawn(async move {
            let insert = client
                .prepare("INSERT INTO rows (id, data) VALUES ($1, $2)")
                .await
                .expect("prepare");
            for n in 0..SENDS {
                let id = Uuid::now_v7().to_string();
                let data = serde_json::json!({
                    "id": id, "cid": "team:floor", "user_id": "u0",
                    "text": format!("{TEXT} #{n}"), "attachments": [], "mentioned_users": [],
                    "reaction_counts": {}, "reply_count": 0,
                    "created_at": "2026-12-07T07:00:00.000Z",
                    "updated_at": "2026-12-07T07:00:00.000Z", "rev": n + 1,
                })
                .to_string();
                client.batch_execute("BEGIN").await.expect("begin");
                client
                    .execute(&insert, &[&id, &data])
                    .await
                    .expect("insert");
                client.batch_execute("COMMIT").await.expect("commit");
            }
        }));
    }
    for t in tasks {
        t.await.expect("floor writer");
    }
    (WRITERS * SENDS) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let floor = floor().await;
        println!("| scenario | sends/s | × floor's rate |");
        println!("|---|---:|---:|");
        println!("| floor: 8 clients, one-row transactions | {floor:.0} | 1.00 |");
        let row = |name: &str, rate: f64| println!("| {name} | {rate:.0} | {:.2} |", rate / floor);

        let config = fresh_schema().await;
        let a = node(&config).await;
        let (app1, cid1) = app(a.as_ref(), "one").await;
        row(
            "one app, 1 writer",
            run(1, vec![(a.clone(), app1.clone(), cid1.clone())]).await,
        );
        row(
            "one app, 8 writers, 1 node",
            run(WRITERS, vec![(a.clone(), app1.clone(), cid1.clone())]).await,
        );
        let b = node(&config).await;
        row(
            "one app, 8 writers, 2 nodes",
            run(
                WRITERS,
                vec![
                    (a.clone(), app1.clone(), cid1.clone()),
                    (b.clone(), app1.clone(), cid1.clone()),
                ],
            )
            .await,
        );
        let mut apps = Vec::new();
        for i in 0..WRITERS {
            let (app, cid) = app(a.as_ref(), &format!("app{i}")).await;
            apps.push((a.clone(), app, cid));
        }
        row("8 apps, 8 writers, 1 node", run(WRITERS, apps).await);
    });
}
