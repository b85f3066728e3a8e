//! [`TestServer`]: the real chat-server in-process, one per test.
//!
//! Rules: every server listens on `127.0.0.1:0` (an ephemeral port, so tests run in
//! parallel) with its own temporary data directory, removed when the value drops; the
//! settings are chat-server's defaults unless the test adjusts them. Apps and users are
//! created as an app's backend would (the admin API), except the app itself, which only
//! the server's store can create.

use std::time::Duration;

use base64::Engine;
use chat_protocol::AppCredentials;
use chat_server::auth::mint_user_token;
use chat_server::{RunningServer, ServerConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::Api;

/// A running server with its data directory.
pub struct TestServer {
    /// The server (its address, store and shutdown).
    pub server: RunningServer,
    /// The data directory; deleted when the test server drops.
    pub dir: TempDir,
    /// One HTTP client (30 s timeout) shared by every [`Api`] of this server.
    pub http: reqwest::Client,
}

impl TestServer {
    /// Starts with default settings.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts with per-user request limits far above what a test sends (10,000 a second), so
    /// tests that drive an SDK's bursts (an outbox draining, a simulation) never meet a 429
    /// they did not ask for.
    pub async fn start_unthrottled() -> Self {
        Self::start_with(|c| {
            c.rate_limit.per_second = 10_000.0;
            c.rate_limit.burst = 10_000;
        })
        .await
    }

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

    /// Creates a fresh app named `name`.
    pub async fn app(&self, name: &str) -> AppCredentials {
        self.server
            .store
            .create_app(name)
            .await
            .expect("create app")
    }

    /// Creates a fresh app (named `app`) with these users (ids only, no names).
    pub async fn app_with_users(&self, users: &[&str]) -> AppCredentials {
        let app = self.app("app").await;
        let users: Vec<Value> = users.iter().map(|id| json!({"id": id})).collect();
        let (status, body) = self
            .admin(&app)
            .post("/v1/users", json!({ "users": users }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        app
    }

    /// Creates users through the admin API, each named after its id in capitals.
    pub async fn users(&self, app: &AppCredentials, ids: &[&str]) {
        let users: Vec<Value> = ids
            .iter()
            .map(|id| json!({"id": id, "name": id.to_uppercase()}))
            .collect();
        let (status, body) = self
            .admin(app)
            .post("/v1/users", json!({ "users": users }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// A client acting as `user` of `app` (with a fresh 1-hour token).
    pub fn user(&self, app: &AppCredentials, user: &str) -> Api {
        let token = mint_user_token(&app.app_id, &app.api_secret, user, 3600);
        self.client(format!("Bearer {token}"))
    }

    /// A client acting as the app's backend (api key + secret).
    pub fn admin(&self, app: &AppCredentials) -> Api {
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", app.api_key, app.api_secret));
        self.client(format!("Basic {basic}"))
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

    fn client(&self, auth: String) -> Api {
        Api {
            base: self.server.base_url(),
            http: self.http.clone(),
            auth,
            extra: None,
        }
    }
}
