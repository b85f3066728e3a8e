//! The pipeline floor for the realtime bench: the minimum any durable chat must do to carry
//! one message from alice's device to bob's, built from the same parts as the real path and
//! nothing else — no outbox, no live query, no protocol beyond one JSON object.
//!
//! 1. alice: one SQLite insert + commit in her own file (the cache's pragmas: WAL,
//!    `synchronous = FULL`), so the message survives a crash before it leaves;
//! 2. a `POST` of the message as JSON with reqwest (the client's HTTP stack) to an axum
//!    handler, which inserts it with one commit in the server's file (the server store's
//!    pragmas: WAL, `synchronous = NORMAL`; on `spawn_blocking`, as the store does) and
//!    pushes the row to bob's raw tokio-tungstenite WebSocket (TCP_NODELAY, as the server);
//! 3. bob: on the frame, one insert + commit in his own file (`synchronous = FULL`), then
//!    one channel send to the waiting app (the window's diff in the real path).
//!
//! Measured from before alice's write to the app's receipt. Rules: every step the real path
//! must do durably is here once; nothing the real path does by design (the outbox's "in
//! flight" record, the sender's completion, live queries) is.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use axum::serve::ListenerExt;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use rusqlite::{Connection, params};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

type Push = SplitSink<WebSocketStream<TcpStream>, WsMessage>;

#[derive(Clone)]
struct Floor {
    db: Arc<Mutex<Connection>>,
    push: Arc<tokio::sync::Mutex<Push>>,
}

const TABLE: &str = "CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, cid TEXT NOT NULL,
    user_id TEXT NOT NULL, created_at INTEGER NOT NULL, data TEXT NOT NULL)";

/// A database file with the client cache's pragmas (`full`) or the server store's.
fn open(path: &Path, full: bool) -> Connection {
    let conn = Connection::open(path).expect("open");
    conn.busy_timeout(Duration::from_secs(5)).expect("busy");
    conn.pragma_update(None, "foreign_keys", "ON").expect("fk");
    let sync = if full { "FULL" } else { "NORMAL" };
    conn.pragma_update(None, "synchronous", sync).expect("sync");
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .expect("wal");
    assert!(mode.eq_ignore_ascii_case("wal"));
    conn.execute_batch(TABLE).expect("table");
    conn
}

/// One insert + commit of `message`.
fn insert(conn: &mut Connection, message: &Value) {
    let tx = conn.transaction().expect("begin");
    tx.prepare_cached(
        "INSERT INTO messages (id, cid, user_id, created_at, data) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .expect("prepare")
    .execute(params![
        message["id"].as_str(),
        message["cid"].as_str(),
        message["user_id"].as_str(),
        message["created_at"].as_i64(),
        message.to_string(),
    ])
    .expect("insert");
    tx.commit().expect("commit");
}

async fn handle(State(floor): State<Floor>, axum::Json(message): axum::Json<Value>) -> String {
    let db = floor.db.clone();
    let row = tokio::task::spawn_blocking(move || {
        insert(&mut db.lock().expect("server db"), &message);
        message.to_string()
    })
    .await
    .expect("store");
    floor
        .push
        .lock()
        .await
        .send(WsMessage::text(row.clone()))
        .await
        .expect("push");
    row
}

/// The floor pipeline, running: alice's file and HTTP client, the server, bob's socket.
pub struct Pipeline {
    alice_db: Connection,
    http: reqwest::Client,
    url: String,
    seen: mpsc::UnboundedReceiver<String>,
    next: i64,
}

impl Pipeline {
    /// Starts the server and connects bob; files under `dir`.
    pub async fn start(dir: &Path) -> Self {
        // Bob's socket first: the server's push side is that socket's sink.
        let ws_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind ws");
        let ws_addr = ws_listener.local_addr().expect("addr");
        let accept = tokio::spawn(async move {
            let (tcp, _) = ws_listener.accept().await.expect("accept");
            tcp.set_nodelay(true).expect("nodelay");
            tokio_tungstenite::accept_async(tcp)
                .await
                .expect("handshake")
        });
        let (bob_ws, _) = tokio_tungstenite::connect_async(format!("ws://{ws_addr}"))
            .await
            .expect("connect");
        let (push, _) = accept.await.expect("accepted").split();
        let floor = Floor {
            db: Arc::new(Mutex::new(open(&dir.join("server.db"), false))),
            push: Arc::new(tokio::sync::Mutex::new(push)),
        };
        let http_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
        let http_addr = http_listener.local_addr().expect("addr");
        let http_listener = http_listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let app = Router::new()
            .route("/messages", post(handle))
            .with_state(floor);
        tokio::spawn(async move { axum::serve(http_listener, app).await.expect("serve") });

        // Bob: commit each pushed row, then tell the app.
        let (seen_tx, seen) = mpsc::unbounded_channel::<String>();
        let mut bob_db = open(&dir.join("bob.db"), true);
        tokio::spawn(async move {
            let (_, mut frames) = bob_ws.split();
            while let Some(Ok(frame)) = frames.next().await {
                let Ok(text) = frame.to_text() else { continue };
                let message: Value = serde_json::from_str(text).expect("row");
                insert(&mut bob_db, &message);
                let id = message["id"].as_str().unwrap_or_default().to_owned();
                if seen_tx.send(id).is_err() {
                    break;
                }
            }
        });
        Self {
            alice_db: open(&dir.join("alice.db"), true),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http"),
            url: format!("http://{http_addr}/messages"),
            seen,
            next: 0,
        }
    }

    /// One message from alice's write to bob's app; waits for alice's reply before
    /// returning, so deliveries do not overlap.
    pub async fn deliver(&mut self) -> Duration {
        self.next += 1;
        let start = Instant::now();
        let id = uuid::Uuid::now_v7().to_string();
        let message = json!({
            "id": id, "cid": "team:bench", "user_id": "alice",
            "created_at": self.next, "text": format!("latency probe {}", self.next),
        });
        insert(&mut self.alice_db, &message);
        let sent = tokio::spawn(self.http.post(&self.url).json(&message).send());
        loop {
            let got = tokio::time::timeout(Duration::from_secs(10), self.seen.recv())
                .await
                .expect("delivered within 10 s")
                .expect("bob open");
            if got == id {
                break;
            }
        }
        let took = start.elapsed();
        let reply = sent.await.expect("post task").expect("post");
        assert!(reply.status().is_success());
        reply.bytes().await.expect("reply");
        took
    }
}
