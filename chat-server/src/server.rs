//! Starting and stopping a server: used by `chat-server serve`, by tests (in-process on an
//! ephemeral port) and by anything that embeds the server. Connections are accepted and
//! served by [`crate::transport`] (timeouts, caps, load shedding).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{self, AppState};
use crate::config::ServerConfig;
use crate::realtime::cluster::Subjects;
use crate::realtime::{Broadcaster, InProcessHub, NatsHub};
use crate::store::postgres::PgStore;
use crate::store::sqlite::SqliteStore;
use crate::store::{Store, StoreError};
use crate::transport;

/// A running server.
pub struct RunningServer {
    /// The bound address.
    pub addr: SocketAddr,
    /// The store (for tests and admin tasks).
    pub store: Arc<dyn Store>,
    shutdown: watch::Sender<bool>,
    /// The shared state (dev mode publishes its demo session through it).
    pub state: AppState,
    /// The bound metrics address, when [`ServerConfig::metrics_addr`] was set.
    pub metrics_addr: Option<SocketAddr>,
    metrics_task: Option<JoinHandle<std::io::Result<()>>>,
    task: JoinHandle<std::io::Result<()>>,
    /// Held while serving: one server per data directory (see [`lock_data_dir`]).
    _lock: Option<Box<dyn std::any::Any + Send + Sync>>,
}

/// How long [`RunningServer::stop`] waits for WebSockets to close.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);
/// How long a clean stop waits for its goodbye to other nodes to be sent.
const GOODBYE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

impl RunningServer {
    /// `http://addr`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://addr/connection/websocket`.
    pub fn websocket_url(&self) -> String {
        format!("ws://{}/connection/websocket", self.addr)
    }

    /// Closes WebSockets with the "shutdown" code, stops accepting, and waits for open
    /// requests and WebSockets to end (WebSockets at most 15 s).
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, self.state.drain_connections()).await;
        if let Some(task) = self.metrics_task {
            task.await.map_err(std::io::Error::other)??;
        }
        let served = self.task.await.map_err(std::io::Error::other)?;
        // Every request is answered, so every commit is handed to the hub: other nodes
        // may now hear that this one stops cleanly (and need not resync for it).
        if let Some(sent) = self.state.hub().goodbye() {
            let _ = tokio::time::timeout(GOODBYE_TIMEOUT, sent).await;
        }
        served
    }
}

/// Takes an exclusive lock on `<data_dir>/chat-server.lock`. Two servers writing one
/// database would each publish only their own commits, silently breaking the realtime
/// guarantee ("every change after the connect seq is pushed"), so the second one refuses
/// to start. Short-lived admin commands (`app create`, `token`, `compact`) do not lock.
fn lock_data_dir(dir: &std::path::Path) -> Result<std::fs::File, StoreError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| StoreError::Backend(format!("create {}: {e}", dir.display())))?;
    let path = dir.join("chat-server.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::Backend(format!("open {}: {e}", path.display())))?;
    file.try_lock().map_err(|_| {
        StoreError::Backend(format!(
            "another chat-server is already serving {} (lock {})",
            dir.display(),
            path.display()
        ))
    })?;
    Ok(file)
}

/// Opens the store — PostgreSQL at `config.database_url` if given, else SQLite in
/// `config.data_dir` — and serves on `config.addr`. Without a broker this server must be
/// the only one writing the database (see `lock_data_dir` and
/// [`PgStore::lock_single_node`]); with `config.nats_url` (PostgreSQL only) any number of
/// nodes serve one database, sharing their events through [`NatsHub`] on the subjects
/// of `config.nats_subject_prefix` (refused at once when it is no valid prefix).
pub async fn start(config: ServerConfig) -> Result<RunningServer, StoreError> {
    // Checked even without a broker: a bad setting is refused wherever it is given.
    let subjects = Subjects::new(&config.nats_subject_prefix)
        .map_err(|e| StoreError::Invalid(format!("--nats-subject-prefix: {e}")))?;
    let hub: Arc<dyn Broadcaster> = match (&config.nats_url, &config.database_url) {
        (Some(_), None) => {
            return Err(StoreError::Invalid(
                "--nats-url needs --database-url: several nodes share a PostgreSQL \
                 database, never a SQLite file"
                    .into(),
            ));
        }
        (Some(url), Some(_)) => Arc::new(
            NatsHub::connect(url, subjects)
                .await
                .map_err(|e| StoreError::Backend(e.to_string()))?,
        ),
        (None, _) => Arc::new(InProcessHub::new()),
    };
    let settings = config.sync;
    let hub_for_store = hub.clone();
    let (store, lock): (Arc<dyn Store>, Box<dyn std::any::Any + Send + Sync>) = match &config
        .database_url
    {
        Some(url) => {
            let store =
                PgStore::connect(url, config.database_pool_size, hub_for_store, settings).await?;
            // With a broker, nodes share their publications: any number may serve.
            let lock: Box<dyn std::any::Any + Send + Sync> = if config.nats_url.is_some() {
                Box::new(())
            } else {
                Box::new(store.lock_single_node().await?)
            };
            (Arc::new(store), lock)
        }
        None => {
            let lock = lock_data_dir(&config.data_dir)?;
            let dir = config.data_dir.clone();
            let store = tokio::task::spawn_blocking(move || {
                SqliteStore::open(&dir, hub_for_store, settings)
            })
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))??;
            (Arc::new(store), Box::new(lock))
        }
    };
    let mut server = start_with(config, store, hub).await?;
    server._lock = Some(lock);
    Ok(server)
}

/// Serves with a given store and broadcaster (the store must publish to `hub`).
pub async fn start_with(
    config: ServerConfig,
    store: Arc<dyn Store>,
    hub: Arc<dyn Broadcaster>,
) -> Result<RunningServer, StoreError> {
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|e| StoreError::Backend(format!("bind {}: {e}", config.addr)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    let (tx, rx) = watch::channel(false);
    let metrics = match config.metrics_addr {
        Some(at) => Some(serve_metrics(at, rx.clone()).await?),
        None => None,
    };
    let limits = config.transport.clone();
    let remote_presence = hub.remote_presence_changes();
    let state = AppState::new(store.clone(), hub, config, rx.clone());
    {
        let state = state.clone();
        let shutdown = rx.clone();
        tokio::spawn(async move { state.rate_limits().prune_until(shutdown).await });
    }
    if let Some(changes) = remote_presence {
        tokio::spawn(announce_remote_presence(state.clone(), changes));
    }
    let app = api::router(state.clone());
    let task = tokio::spawn(transport::serve(listener, app, limits, rx));
    Ok(RunningServer {
        addr,
        store,
        shutdown: tx,
        state,
        task,
        metrics_addr: metrics.as_ref().map(|(addr, _)| *addr),
        metrics_task: metrics.map(|(_, task)| task),
        _lock: None,
    })
}

/// Announces to this node's connections the presence changes other nodes report (see
/// [`Broadcaster::remote_presence_changes`]), until shutdown.
async fn announce_remote_presence(
    state: AppState,
    mut changes: tokio::sync::mpsc::UnboundedReceiver<(String, String)>,
) {
    let mut shutdown = state.shutdown();
    loop {
        let change = tokio::select! {
            change = changes.recv() => change,
            _ = shutdown.wait_for(|s| *s) => None,
        };
        let Some((app, user)) = change else { return };
        crate::realtime::presence::announce(&state, &app, &user).await;
    }
}

/// Installs the metrics recorder and serves `GET /metrics` on `at` until shutdown.
async fn serve_metrics(
    at: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(SocketAddr, JoinHandle<std::io::Result<()>>), StoreError> {
    crate::telemetry::install()
        .map_err(|e| StoreError::Backend(format!("metrics recorder: {e}")))?;
    let listener = TcpListener::bind(at)
        .await
        .map_err(|e| StoreError::Backend(format!("bind metrics {at}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    let task = tokio::spawn(async move {
        axum::serve(listener, api::ops::metrics_router())
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .await
    });
    Ok((addr, task))
}
