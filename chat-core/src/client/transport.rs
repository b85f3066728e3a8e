//! The HTTP boundary of the client: a small [`Transport`] trait (one request in, one reply
//! or a network error out) so each platform brings its own HTTP stack — reqwest natively
//! ([`ReqwestTransport`]), `fetch` in the browser build — and tests can wrap the real one
//! to lose replies or cut the network. The engine turns replies into the outbox's and the
//! sync driver's outcome types; nothing here knows about chat semantics.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chat_protocol::ErrorBody;
use serde_json::Value;

use crate::outbox::{ApiOutcome, Method};
use crate::sync::SyncOutcome;

/// A boxed, sendable future (what [`Transport`] and [`TokenProvider`](super::TokenProvider)
/// return).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// An HTTP method the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl From<Method> for HttpMethod {
    fn from(m: Method) -> Self {
        match m {
            Method::Post => Self::Post,
            Method::Patch => Self::Patch,
            Method::Delete => Self::Delete,
        }
    }
}

/// One request to the chat server.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// The method.
    pub method: HttpMethod,
    /// Path and query, relative to the server's base URL (e.g. `/v1/sync?limit=500`).
    pub path: String,
    /// JSON body, if any.
    pub body: Option<Value>,
    /// The user's JWT, sent as `Authorization: Bearer`.
    pub token: String,
}

/// An HTTP answer (any status).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// The raw body.
    pub body: Vec<u8>,
    /// The `Retry-After` header in seconds, if present.
    pub retry_after: Option<Duration>,
}

/// No HTTP answer arrived (connection refused, reset, timed out, reply lost). The server
/// may or may not have applied the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("network error: {0}")]
pub struct NetworkError(pub String);

/// Executes requests against the chat server.
pub trait Transport: Send + Sync + 'static {
    /// Sends `request` and resolves with the server's reply, whatever its status.
    fn execute(&self, request: HttpRequest) -> BoxFuture<Result<HttpReply, NetworkError>>;
}

impl HttpReply {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The error body of a non-2xx reply, if it is one.
    pub fn error_body(&self) -> Option<ErrorBody> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The reply as the outbox engine's outcome.
    pub fn into_api_outcome(self) -> ApiOutcome {
        if self.is_success() {
            let body = if self.body.is_empty() {
                Value::Null
            } else {
                match serde_json::from_slice(&self.body) {
                    Ok(v) => v,
                    // A 2xx with a broken body: the request was applied, the answer is
                    // unusable. Sync brings the result; the item is done.
                    Err(_) => Value::Null,
                }
            };
            ApiOutcome::Ok {
                status: self.status,
                body,
            }
        } else {
            ApiOutcome::HttpError {
                status: self.status,
                body: self.error_body(),
                retry_after: self.retry_after,
            }
        }
    }

    /// The reply as the sync driver's outcome (a 200 whose body does not decode counts as
    /// a network failure: retried, nothing applied).
    pub fn into_sync_outcome(self) -> SyncOutcome {
        if self.is_success() {
            match serde_json::from_slice(&self.body) {
                Ok(page) => SyncOutcome::Ok(page),
                Err(e) => SyncOutcome::Network(format!("undecodable sync page: {e}")),
            }
        } else {
            SyncOutcome::Http {
                status: self.status,
                body: self.error_body(),
                retry_after: self.retry_after,
            }
        }
    }
}

/// The HTTP transport: reqwest over a shared connection pool natively, `fetch` in the
/// browser.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    base: String,
    http: reqwest::Client,
}

impl ReqwestTransport {
    /// A transport for the server at `base_url` (e.g. `http://127.0.0.1:8787`), with a
    /// 30 s request timeout.
    pub fn new(base_url: &str) -> Result<Self, NetworkError> {
        #[cfg(not(target_arch = "wasm32"))]
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| NetworkError(e.to_string()))?;
        // fetch has no timeouts of its own: `execute` bounds each request instead.
        #[cfg(target_arch = "wasm32")]
        let http = reqwest::Client::new();
        Ok(Self::with_client(base_url, http))
    }

    /// A transport using an existing reqwest client.
    pub fn with_client(base_url: &str, http: reqwest::Client) -> Self {
        Self {
            base: base_url.trim_end_matches('/').to_owned(),
            http,
        }
    }
}

impl Transport for ReqwestTransport {
    fn execute(&self, request: HttpRequest) -> BoxFuture<Result<HttpReply, NetworkError>> {
        let method = match request.method {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Patch => reqwest::Method::PATCH,
            HttpMethod::Delete => reqwest::Method::DELETE,
        };
        let mut builder = self
            .http
            .request(method, format!("{}{}", self.base, request.path))
            .bearer_auth(&request.token);
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        let call = async move {
            let response = builder
                .send()
                .await
                .map_err(|e| NetworkError(e.to_string()))?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = response
                .bytes()
                .await
                .map_err(|e| NetworkError(format!("reply lost: {e}")))?
                .to_vec();
            Ok(HttpReply {
                status,
                body,
                retry_after,
            })
        };
        #[cfg(not(target_arch = "wasm32"))]
        return Box::pin(call);
        // The browser is single-threaded: fetch's future never leaves its thread.
        #[cfg(target_arch = "wasm32")]
        return Box::pin(send_wrapper::SendWrapper::new(async move {
            crate::rt::timeout(REQUEST_TIMEOUT, call)
                .await
                .unwrap_or_else(|| Err(NetworkError("the request timed out".into())))
        }));
    }
}

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
