//! [`Api`]: a JSON REST client with fixed credentials, as a user or as the app's backend.
//!
//! Rules: every request carries the client's `authorization` header (and its extra header,
//! if any); an answer is returned as its status and its JSON body (`null` when empty), and
//! a body that is not JSON panics. The plain verbs (`get`, `post`, ...) assert nothing, so
//! tests can check refusals; the named helpers (`channel`, `send`, `fetch`, ...) assert
//! success and panic with the server's answer otherwise.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fixtures::{new_id, urlencode};

/// A JSON HTTP client with fixed credentials.
#[derive(Clone)]
pub struct Api {
    /// The server's base URL (`http://127.0.0.1:port`).
    pub base: String,
    /// The HTTP client (shared with the [`crate::TestServer`] that made this one).
    pub http: reqwest::Client,
    /// The `authorization` header's value (`Bearer …` or `Basic …`).
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

    /// One request with an optional JSON body; the status and the JSON answer.
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

    /// `GET path`.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.request(Method::GET, path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::POST, path, Some(body)).await
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::PATCH, path, Some(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.request(Method::DELETE, path, None).await
    }

    /// A GET that must succeed, decoded.
    pub async fn fetch<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let (status, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        serde_json::from_value(body).expect("decodes")
    }

    /// Creates (or gets) channel `kind:id` with these members, asserts success and returns
    /// the answer.
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

    /// [`Api::channel`] named by its cid (`type:id`).
    pub async fn create_channel(&self, cid: &str, members: &[&str]) -> Value {
        let (kind, id) = cid.split_once(':').expect("cid");
        self.channel(kind, id, members).await
    }

    /// Sends a text message with a fresh UUIDv7, asserts `201 Created` and returns the
    /// message.
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

    /// Sends a message (`parent` makes it a reply) with a fresh UUIDv7, asserts success
    /// (`201` or `200`) and returns it.
    pub async fn send_text(&self, cid: &str, text: &str, parent: Option<&str>) -> Value {
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

    /// Sends a message with every field the tests vary, asserts success (`201` or `200`)
    /// and returns it.
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

    /// One `/v1/sync` page after `cursor` (unchecked).
    pub async fn sync_page(&self, cursor: Option<&str>, limit: u32) -> (StatusCode, Value) {
        let path = match cursor {
            Some(c) => format!("/v1/sync?cursor={}&limit={limit}", urlencode(c)),
            None => format!("/v1/sync?limit={limit}"),
        };
        self.get(&path).await
    }

    /// Pulls `/v1/sync` to the end from `cursor`, asserting every page succeeds; every page
    /// and the last cursor.
    pub async fn sync_all(&self, cursor: Option<&str>, limit: u32) -> (Vec<Value>, String) {
        let mut pages = Vec::new();
        let mut cursor = cursor.map(str::to_owned);
        loop {
            let (status, body) = self.sync_page(cursor.as_deref(), limit).await;
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
