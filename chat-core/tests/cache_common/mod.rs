//! Harness for the cache integration tests: a real chat-server started in-process on an
//! ephemeral port with a temporary data directory, a small JSON client acting as a user or
//! as the app's backend, and a sync driver that feeds `/v1/sync` pages into a [`Cache`].
#![allow(dead_code)]

pub mod replica;
pub mod workload;

use std::time::Duration;

use base64::Engine;
use chat_core::cache::Cache;
use chat_protocol::{AppCredentials, SyncResponse};
use chat_protocol::{Cid, Message, Timestamp};
use chat_server::auth::mint_user_token;
use chat_server::{RunningServer, ServerConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use uuid::Uuid;

/// A running server with its data directory.
pub struct TestServer {
    pub server: RunningServer,
    pub dir: TempDir,
    pub http: reqwest::Client,
}

impl TestServer {
    /// Starts with adjusted settings.
    pub async fn start_with(adjust: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = ServerConfig::new(dir.path());
        config.addr = "127.0.0.1:0".parse().expect("addr");
        adjust(&mut config);
        let server = chat_server::start(config).await.expect("server starts");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        Self { server, dir, http }
    }

    /// Creates a fresh app with these users.
    pub async fn app(&self, users: &[&str]) -> AppCredentials {
        let app = self.server.store.create_app("app").await.expect("app");
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", app.api_key, app.api_secret));
        let admin = Api {
            base: self.server.base_url(),
            http: self.http.clone(),
            auth: format!("Basic {basic}"),
        };
        let users: Vec<Value> = users.iter().map(|id| json!({"id": id})).collect();
        let (status, body) = admin.post("/v1/users", json!({ "users": users })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        app
    }

    /// Compacts the app's change log up to the newest change `api`'s user can see, so every
    /// older cursor answers `410 reset`.
    pub async fn compact_to_head(&self, app: &AppCredentials, api: &Api) {
        let (_, latest) = api.sync_page(None, 500).await;
        let head: u64 = latest["cursor"]
            .as_str()
            .and_then(|c| c.split(':').nth(2))
            .and_then(|n| n.parse().ok())
            .expect("a v1 cursor");
        self.server
            .store
            .compact(&app.app_id, head)
            .await
            .expect("compact");
    }

    /// A client acting as `user` (with a fresh 1-hour token).
    pub fn user(&self, app: &AppCredentials, user: &str) -> Api {
        let token = mint_user_token(&app.app_id, &app.api_secret, user, 3600);
        Api {
            base: self.server.base_url(),
            http: self.http.clone(),
            auth: format!("Bearer {token}"),
        }
    }
}

/// A JSON HTTP client with fixed credentials.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    pub auth: String,
}

impl Api {
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("authorization", &self.auth);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("non-JSON body for {path}: {text}"))
        };
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.request(Method::DELETE, path, None).await
    }

    /// A GET that must succeed, decoded.
    pub async fn fetch<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let (status, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        serde_json::from_value(body).expect("decodes")
    }

    /// Creates a channel and asserts success.
    pub async fn channel(&self, cid: &str, members: &[&str]) {
        let (kind, id) = cid.split_once(':').expect("cid");
        let (status, body) = self
            .post(
                "/v1/channels",
                json!({"type": kind, "id": id, "members": members}),
            )
            .await;
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status} {body}"
        );
    }

    /// Sends a message (`parent` makes it a reply) with a fresh UUIDv7 and returns it.
    pub async fn send(&self, cid: &str, text: &str, parent: Option<&str>) -> Value {
        self.send_with_id(cid, &new_id(), text, parent).await
    }

    /// Sends a message with the given id (a retry of a queued send).
    pub async fn send_with_id(
        &self,
        cid: &str,
        id: &str,
        text: &str,
        parent: Option<&str>,
    ) -> Value {
        self.send_full(cid, id, text, parent, &[]).await
    }

    /// Sends a message with every field the tests vary.
    pub async fn send_full(
        &self,
        cid: &str,
        id: &str,
        text: &str,
        parent: Option<&str>,
        mentions: &[&str],
    ) -> Value {
        let path = format!("/v1/channels/{}/messages", cid.replace(':', "/"));
        let body =
            json!({"id": id, "text": text, "parent_id": parent, "mentioned_users": mentions});
        let (status, body) = self.post(&path, body).await;
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status} {body}"
        );
        body["message"].clone()
    }

    /// One `/v1/sync` page after `cursor`.
    pub async fn sync_page(&self, cursor: Option<&str>, limit: u32) -> (StatusCode, Value) {
        let path = match cursor {
            Some(c) => format!("/v1/sync?cursor={}&limit={limit}", urlencode(c)),
            None => format!("/v1/sync?limit={limit}"),
        };
        self.get(&path).await
    }
}

/// Pulls `/v1/sync` from the cache's cursor to the end, applying every page; returns the
/// pages.
pub async fn sync(cache: &mut Cache, api: &Api, limit: u32) -> Vec<SyncResponse> {
    let mut pages = Vec::new();
    loop {
        let (status, body) = api
            .sync_page(cache.cursor().unwrap().as_deref(), limit)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page: SyncResponse = serde_json::from_value(body).expect("sync page decodes");
        cache.apply_sync_page(&page).expect("page applies");
        let more = page.has_more;
        pages.push(page);
        if !more {
            return pages;
        }
    }
}

/// A fresh client-generated message id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every row of every cache table, read through a second connection.
pub fn dump(path: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).expect("open");
    let mut out = Vec::new();
    for table in [
        "sync_state",
        "channels",
        "members",
        "reads",
        "messages",
        "reactions",
        "flags",
        "outbox",
    ] {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2, 3"))
            .expect("select");
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let cols: Vec<String> = (0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect();
                Ok(format!("{table}: {}", cols.join(" | ")))
            })
            .expect("query");
        out.extend(rows.map(Result::unwrap));
    }
    out
}

/// A file cache in `dir` owned by `user`, and its path.
pub fn cache_for(dir: &tempfile::TempDir, user: &str) -> (Cache, std::path::PathBuf) {
    let path = dir.path().join(format!("{user}.db"));
    let mut cache = Cache::open(&path).unwrap();
    cache.set_user(user).unwrap();
    (cache, path)
}

/// Parses a cid.
pub fn cid(s: &str) -> Cid {
    s.parse().unwrap()
}

/// A local echo as the SDK builds it before sending.
pub fn local_message(id: Uuid, cid: &str, user: &str, text: &str) -> Message {
    Message {
        id,
        cid: cid.parse().unwrap(),
        user_id: user.into(),
        text: text.into(),
        attachments: vec![],
        parent_id: None,
        quoted_message_id: None,
        mentioned_users: vec![],
        reaction_counts: Default::default(),
        reply_count: 0,
        created_at: Timestamp::now(),
        updated_at: Timestamp::now(),
        edited_at: None,
        deleted_at: None,
        rev: 0,
    }
}
