//! [`ClientBuilder`]: configuration of a [`ChatClient`] and its start — open (or rebuild)
//! the user's cache file, restore the outbox, spawn the driver task. Nothing here touches
//! the network, so a client starts instantly from its cache, online or not.

use std::path::PathBuf;
use std::sync::Arc;

use chat_protocol::ids::validate_user_id;
use tokio::sync::mpsc;

use super::error::{ClientError, ClientResult};
use super::token::{SharedTokenProvider, TokenProvider};
use super::{ChatClient, Inner};
use crate::cache::{Cache, Rebuilt};
use crate::engine::{Engine, driver};
use crate::net::{Connector, ReqwestTransport, Transport, websocket_url};
use crate::outbox::OutboxConfig;
use crate::realtime::{RealtimeConfig, TypingConfig};
use crate::sync::{SyncConfig, SyncDriver};

/// Builds a [`ChatClient`]; see [`ChatClient::builder`].
pub struct ClientBuilder {
    server_url: String,
    app_id: String,
    user_id: String,
    data_dir: Option<PathBuf>,
    tokens: Option<SharedTokenProvider>,
    transport: Option<Arc<dyn Transport>>,
    outbox: OutboxConfig,
    sync: SyncConfig,
    seed: Option<u64>,
    connector: Option<Arc<dyn Connector>>,
    realtime: Option<RealtimeConfig>,
    typing: TypingConfig,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("server_url", &self.server_url)
            .field("app_id", &self.app_id)
            .field("user_id", &self.user_id)
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

/// A file-name-safe form of an id.
fn file_part(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_string()
            } else {
                format!("%{:02X}", c as u32)
            }
        })
        .collect()
}

impl ClientBuilder {
    pub(crate) fn new(server_url: &str, app_id: &str, user_id: &str) -> Self {
        Self {
            server_url: server_url.to_owned(),
            app_id: app_id.to_owned(),
            user_id: user_id.to_owned(),
            data_dir: None,
            tokens: None,
            transport: None,
            outbox: OutboxConfig::default(),
            sync: SyncConfig::default(),
            seed: None,
            connector: None,
            realtime: Some(RealtimeConfig::default()),
            typing: TypingConfig::default(),
        }
    }

    /// Keeps the cache in `dir` (one file per app and user). Without it the cache lives
    /// in memory and nothing survives the client.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Where tokens come from (required).
    pub fn token_provider(mut self, provider: impl TokenProvider) -> Self {
        self.tokens = Some(Arc::new(provider));
        self
    }

    /// Replaces the HTTP transport (default: reqwest).
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Outbox settings (requests in flight, retry backoff).
    pub fn outbox_config(mut self, config: OutboxConfig) -> Self {
        self.outbox = config;
        self
    }

    /// Sync settings (page size, retry backoff).
    pub fn sync_config(mut self, config: SyncConfig) -> Self {
        self.sync = config;
        self
    }

    /// Replaces the WebSocket connector (default: tokio-tungstenite natively).
    pub fn connector(mut self, connector: Arc<dyn Connector>) -> Self {
        self.connector = Some(connector);
        self
    }

    /// Realtime settings (reconnect backoff, watchdog, background grace).
    pub fn realtime_config(mut self, config: RealtimeConfig) -> Self {
        self.realtime = Some(config);
        self
    }

    /// Typing timings (announcement throttle, idle stop, expiry of others' typing).
    pub fn typing_config(mut self, config: TypingConfig) -> Self {
        self.typing = config;
        self
    }

    /// Turns the realtime connection off (on by default). Without it, changes arrive
    /// only through sync (`ChatClient::sync`, start, `network_available`).
    pub fn without_realtime(mut self) -> Self {
        self.realtime = None;
        self
    }

    /// Seeds the retry jitter (tests reproduce runs with it; default: from the clock).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The cache file this builder uses, if it has a data directory.
    pub fn cache_path(&self) -> Option<PathBuf> {
        self.data_dir.as_ref().map(|dir| {
            dir.join(format!(
                "onyxchat-{}-{}.sqlite3",
                file_part(&self.app_id),
                file_part(&self.user_id)
            ))
        })
    }

    /// Opens the cache (moving an unusable file aside, see
    /// [`Cache::open_or_rebuild`]), restores the outbox and starts the engine on the
    /// current tokio runtime. Returns the client and, if the cache had to be rebuilt,
    /// what happened to the old file.
    pub async fn build_reporting(self) -> ClientResult<(ChatClient, Option<Rebuilt>)> {
        validate_user_id(&self.user_id)
            .map_err(|e| ClientError::InvalidInput(format!("user id: {e}")))?;
        let tokens = self
            .tokens
            .clone()
            .ok_or_else(|| ClientError::InvalidInput("a token provider is required".to_owned()))?;
        let transport = match self.transport.clone() {
            Some(t) => t,
            None => Arc::new(ReqwestTransport::new(&self.server_url)?),
        };
        let (mut cache, rebuilt) = match self.cache_path() {
            Some(path) => {
                // In the browser the VFS (chat-wasm's) has flat names: nothing to create.
                #[cfg(not(target_arch = "wasm32"))]
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|source| {
                        crate::cache::CacheError::Io {
                            path: dir.to_owned(),
                            source,
                        }
                    })?;
                }
                Cache::open_or_rebuild(&path)?
            }
            None => (Cache::open_in_memory()?, None),
        };
        cache.set_user(&self.user_id)?;
        let seed = self
            .seed
            // The low half of a UUIDv7 is random.
            .unwrap_or_else(|| uuid::Uuid::now_v7().as_u64_pair().1);
        let mut engine = Engine::new(cache, self.outbox, SyncDriver::new(self.sync, seed), seed)?;
        let realtime = match self.realtime {
            Some(config) => {
                engine.enable_realtime(config, self.typing, seed);
                let connector = match self.connector.clone() {
                    Some(c) => c,
                    None => default_connector()?,
                };
                Some((connector, websocket_url(&self.server_url)))
            }
            None => None,
        };
        let connection = engine.watch_connection();
        let typing = engine.watch_typing();
        let presence = engine.watch_presence();
        let (commands, rx) = mpsc::unbounded_channel();
        crate::rt::run_engine(driver::run(
            engine,
            rx,
            driver::Services {
                transport,
                tokens,
                realtime,
                spawner: crate::rt::Spawner::current(),
            },
        ));
        let client = ChatClient {
            inner: Arc::new(Inner {
                commands,
                user_id: self.user_id,
                connection,
                typing,
                presence,
            }),
        };
        Ok((client, rebuilt))
    }

    /// Like [`ClientBuilder::build_reporting`], without the rebuild report.
    pub async fn build(self) -> ClientResult<ChatClient> {
        Ok(self.build_reporting().await?.0)
    }
}

/// The platform's WebSocket connector.
#[cfg(not(target_arch = "wasm32"))]
fn default_connector() -> ClientResult<Arc<dyn Connector>> {
    Ok(Arc::new(crate::net::TungsteniteConnector))
}

/// The platform's WebSocket connector: the browser's `WebSocket`.
#[cfg(target_arch = "wasm32")]
fn default_connector() -> ClientResult<Arc<dyn Connector>> {
    Ok(Arc::new(crate::net::BrowserConnector))
}
