//! HTTP: a small [`Transport`] trait (one request in, one reply or a network error out) so
//! each platform brings its own HTTP stack — reqwest natively ([`ReqwestTransport`]),
//! `fetch` in the browser build — and tests can wrap the real one to lose replies or cut
//! the network. Nothing here knows about chat semantics: the engine turns replies into
//! the outbox's and the sync driver's outcomes.

use std::time::Duration;

use chat_protocol::ErrorBody;
use serde_json::Value;

use super::{BoxFuture, NetworkError};

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
