//! Test harness: a real chat-server started in-process on an ephemeral port with a
//! temporary data directory, plus a small JSON HTTP client acting as a user or as the
//! app's backend.
#![allow(dead_code)]

use std::time::Duration;

use base64::Engine;
use chat_protocol::AppCredentials;
use chat_server::auth::mint_user_token;
use chat_server::{RunningServer, ServerConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

/// A running server with its data directory.
pub struct TestServer {
    pub server: RunningServer,
    pub dir: TempDir,
    pub http: reqwest::Client,
}

impl TestServer {
    /// Starts with default settings.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
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

    /// Creates a fresh app.
    pub async fn app(&self, name: &str) -> AppCredentials {
        self.server
            .store
            .create_app(name)
            .await
            .expect("create app")
    }

    /// A client acting as `user` of `app` (with a fresh 1-hour token).
    pub fn user(&self, app: &AppCredentials, user: &str) -> Api {
        let token = mint_user_token(&app.app_id, &app.api_secret, user, 3600);
        Api {
            base: self.server.base_url(),
            http: self.http.clone(),
            auth: format!("Bearer {token}"),
            extra: None,
        }
    }

    /// A client acting as the app's backend (api key + secret).
    pub fn admin(&self, app: &AppCredentials) -> Api {
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", app.api_key, app.api_secret));
        Api {
            base: self.server.base_url(),
            http: self.http.clone(),
            auth: format!("Basic {basic}"),
            extra: None,
        }
    }

    /// Creates users through the admin API.
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
}

/// A JSON HTTP client with fixed credentials.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    pub auth: String,
    /// An extra header (name, value) sent with every request.
    pub extra: Option<(String, String)>,
}

impl Api {
    /// The same client with another Authorization header value.
    pub fn with_auth(&self, auth: &str) -> Self {
        Self {
            auth: auth.to_owned(),
            ..self.clone()
        }
    }

    /// The same client acting on behalf of a user (server-side callers).
    pub fn on_behalf_of(&self, user: &str) -> Self {
        Self {
            extra: Some(("x-onyx-user".into(), user.into())),
            ..self.clone()
        }
    }

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
        if let Some((k, v)) = &self.extra {
            req = req.header(k, v);
        }
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

    /// Creates a channel and asserts success.
    pub async fn channel(&self, kind: &str, id: &str, members: &[&str]) -> Value {
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
        body
    }

    /// Sends a text message with a fresh UUIDv7 and returns it.
    pub async fn send(&self, cid: &str, text: &str) -> Value {
        let (kind, id) = cid.split_once(':').expect("cid");
        let (status, body) = self
            .post(
                &format!("/v1/channels/{kind}/{id}/messages"),
                json!({"id": new_id(), "text": text}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["message"].clone()
    }

    /// Pulls `/v1/sync` to the end from `cursor`, returning every page.
    pub async fn sync_all(&self, cursor: Option<&str>, limit: u32) -> (Vec<Value>, String) {
        let mut pages = Vec::new();
        let mut cursor = cursor.map(str::to_owned);
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/sync?cursor={}&limit={limit}", urlencode(c)),
                None => format!("/v1/sync?limit={limit}"),
            };
            let (status, body) = self.get(&path).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let more = body["has_more"].as_bool().expect("has_more");
            cursor = Some(body["cursor"].as_str().expect("cursor").to_owned());
            pages.push(body);
            if !more {
                return (pages, cursor.unwrap_or_default());
            }
        }
    }
}

/// A token of `user` valid for `ttl` seconds.
pub fn token(app: &AppCredentials, user: &str, ttl: u64) -> String {
    mint_user_token(&app.app_id, &app.api_secret, user, ttl)
}

/// A token of `user` that expired a minute ago (beyond the verifier's leeway).
pub fn expired_token(app: &AppCredentials, user: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = chat_protocol::token::UserClaims {
        sub: user.to_owned(),
        app: app.app_id.clone(),
        iat: now - 120,
        exp: now - 60,
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(app.api_secret.as_bytes()),
    )
    .expect("encode")
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
