//! Harness for the client tests: a [`ChatClient`] per user with a real token against the
//! real chat-server in-process (`chat_test::TestServer`), [`FaultyTransport`] (the real
//! reqwest transport with switches to cut the network or lose replies after the server
//! answered), fast retry settings and waits on live lists.
//!
//! Rules: faults are injected only in the transport (the server and the cache are real);
//! every wait is bounded (20 s) and panics with what it was waiting for.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_core::backoff::BackoffConfig;
use chat_core::client::MessageWindow;
use chat_core::client::{
    BoxFuture, ChatClient, HttpMethod, HttpReply, HttpRequest, NetworkError, ReqwestTransport,
    Transport, static_token,
};
use chat_core::live::{ListDiff, LiveList, LiveValue, MessageItem};
use chat_core::outbox::OutboxConfig;
use chat_core::sync::SyncConfig;
use chat_protocol::AppCredentials;
use chat_server::auth::mint_user_token;
use chat_test::TestServer;

/// The real transport with fault switches.
pub struct FaultyTransport {
    inner: ReqwestTransport,
    /// Every request fails with a network error, without reaching the server.
    pub offline: AtomicBool,
    /// The next N mutating requests reach the server, but their replies are lost.
    pub lose_replies: AtomicUsize,
    /// Mutating requests (POST, PATCH, DELETE) fail without reaching the server; reads
    /// (GET) pass.
    pub fail_writes: AtomicBool,
    /// The next N reads (GET) reach the server with a token it refuses (`401`), as if
    /// the client's token had just expired.
    pub refuse_reads: AtomicUsize,
    /// Every request made (method and path), in order.
    pub log: Mutex<Vec<String>>,
}

impl FaultyTransport {
    pub fn new(base: &str) -> Arc<Self> {
        Arc::new(Self {
            inner: ReqwestTransport::new(base).unwrap(),
            offline: AtomicBool::new(false),
            lose_replies: AtomicUsize::new(0),
            fail_writes: AtomicBool::new(false),
            refuse_reads: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
        })
    }

    pub fn set_offline(&self, offline: bool) {
        self.offline.store(offline, Ordering::SeqCst);
    }

    /// Logged requests whose line starts with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with(prefix))
            .count()
    }
}

impl Transport for FaultyTransport {
    fn execute(&self, mut request: HttpRequest) -> BoxFuture<Result<HttpReply, NetworkError>> {
        let line = format!("{:?} {}", request.method, request.path);
        if request.method == HttpMethod::Get
            && self
                .refuse_reads
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            request.token = "expired".into();
        }
        if self.offline.load(Ordering::SeqCst)
            || (self.fail_writes.load(Ordering::SeqCst) && request.method != HttpMethod::Get)
        {
            self.log.lock().unwrap().push(format!("offline {line}"));
            return Box::pin(async { Err(NetworkError("offline".into())) });
        }
        self.log.lock().unwrap().push(line);
        let lose = request.method != HttpMethod::Get
            && self
                .lose_replies
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
        let fut = self.inner.execute(request);
        Box::pin(async move {
            let reply = fut.await;
            if lose {
                return Err(NetworkError("reply lost".into()));
            }
            reply
        })
    }
}

/// Fast retries so tests do not wait for production backoff.
pub fn fast_outbox() -> OutboxConfig {
    OutboxConfig {
        max_in_flight: 4,
        backoff: fast_backoff(),
        ..OutboxConfig::default()
    }
}

pub fn fast_backoff() -> BackoffConfig {
    BackoffConfig {
        base: Duration::from_millis(20),
        cap: Duration::from_millis(200),
    }
}

/// A client for `user` with a fresh token, over `transport`, caching in `dir` (or in
/// memory).
pub async fn client(
    t: &TestServer,
    app: &AppCredentials,
    user: &str,
    dir: Option<&Path>,
    transport: Arc<dyn Transport>,
) -> ChatClient {
    client_with(t, app, user, dir, transport, fast_outbox()).await
}

/// [`client`] with its own outbox settings.
pub async fn client_with(
    t: &TestServer,
    app: &AppCredentials,
    user: &str,
    dir: Option<&Path>,
    transport: Arc<dyn Transport>,
    outbox: OutboxConfig,
) -> ChatClient {
    let token = mint_user_token(&app.app_id, &app.api_secret, user, 3600);
    let mut builder = ChatClient::builder(&t.server.base_url(), &app.app_id, user)
        .token_provider(static_token(token))
        .transport(transport)
        .outbox_config(outbox)
        .sync_config(SyncConfig {
            limit: 100,
            backoff: fast_backoff(),
        })
        .seed(7)
        // These tests drive the HTTP paths (outbox, sync) and cut the network through
        // the transport; realtime has its own tests (the `realtime` module).
        .without_realtime();
    if let Some(dir) = dir {
        builder = builder.data_dir(dir);
    }
    builder.build().await.expect("client starts")
}

/// Waits (at most 20 s) until the list satisfies `pred`; returns the batches received.
pub async fn until<T: Clone + std::fmt::Debug>(
    list: &mut LiveList<T>,
    what: &str,
    pred: impl Fn(&[T]) -> bool,
) -> Vec<Vec<ListDiff<T>>> {
    let mut batches = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if pred(list.items()) {
            return batches;
        }
        match tokio::time::timeout_at(deadline, list.next()).await {
            Ok(Some(batch)) => batches.push(batch),
            Ok(None) => panic!("client closed while waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}; list: {:#?}", list.items()),
        }
    }
}

/// [`until`] for a message window.
pub async fn until_window(
    window: &mut MessageWindow,
    what: &str,
    pred: impl Fn(&[MessageItem]) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if pred(window.items()) {
            return;
        }
        match tokio::time::timeout_at(deadline, window.next()).await {
            Ok(Some(_)) => {}
            Ok(None) => panic!("client closed while waiting for {what}"),
            Err(_) => panic!(
                "timed out waiting for {what}; window: {:#?}",
                window.items()
            ),
        }
    }
}

/// Waits (at most 20 s) until the live value satisfies `pred`; returns it.
pub async fn until_value<T: Clone + std::fmt::Debug>(
    value: &mut LiveValue<T>,
    what: &str,
    pred: impl FnMut(&T) -> bool,
) -> T {
    match tokio::time::timeout(Duration::from_secs(20), value.wait_for(pred)).await {
        Ok(Some(v)) => v,
        Ok(None) => panic!("client closed while waiting for {what}"),
        Err(_) => panic!(
            "timed out waiting for {what}; value: {:#?}",
            value.current()
        ),
    }
}

/// Waits until the client's outbox is empty.
pub async fn flushed(client: &ChatClient) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let status = client.status().await.unwrap();
        if status.outbox_len == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "outbox not flushed: {status:?} {:#?}",
            client.outbox().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Carol's messages `m0`..`m{n-1}` in `team:general` (sent over REST), oldest first.
pub async fn carol_sends(
    t: &TestServer,
    app: &chat_protocol::AppCredentials,
    n: usize,
) -> Vec<uuid::Uuid> {
    let carol = t.user(app, "carol");
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let m = carol
            .send_text("team:general", &format!("m{i}"), None)
            .await;
        ids.push(m["id"].as_str().unwrap().parse().unwrap());
    }
    ids
}
