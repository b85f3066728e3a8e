//! Shared server state and the `Caller` extractor (authentication + per-user rate limiting:
//! reads and writes have a bucket each, so reading hard never blocks a user's sends; the
//! counters are shared across nodes on PostgreSQL, see [`crate::ratelimit`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use chat_protocol::ErrorCode;
use chat_protocol::ids::validate_user_id;
use tokio::sync::watch;

use super::error::ApiError;
use crate::auth::{self, AuthError};
use crate::config::ServerConfig;
use crate::ratelimit::{Bucket, RateLimits};
use crate::realtime::Broadcaster;
use crate::realtime::limits::WsLimits;
use crate::realtime::presence::PresenceDebounce;
use crate::store::{Actor, AppRecord, Store};

/// Header with which a server-side caller acts on behalf of a user.
pub const ON_BEHALF_HEADER: &str = "x-onyx-user";

/// Known (app, user) pairs kept before the set is cleared.
const KNOWN_USERS_CAP: usize = 200_000;

/// State shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    hub: Arc<dyn Broadcaster>,
    config: ServerConfig,
    limits: RateLimits,
    /// Each app's own rate limits (cached).
    app_limits: super::app_settings::AppLimits,
    apps: RwLock<HashMap<String, Arc<AppRecord>>>,
    known_users: Mutex<HashSet<(String, String)>>,
    shutdown: watch::Receiver<bool>,
    /// Each open WebSocket holds a read guard; draining takes the write lock.
    connections: Arc<tokio::sync::RwLock<()>>,
    /// WebSocket caps and connect rates.
    ws_limits: WsLimits,
    /// Pending offline announcements.
    presence: PresenceDebounce,
    /// Dev mode's demo session (app id, demo users and their tokens), served to the demo
    /// app at `GET /v1/dev/session`; unset (404) outside `--dev`.
    dev_session: std::sync::OnceLock<serde_json::Value>,
    /// Every app's allowed CORS origins (cached).
    cors: super::cors::CorsOrigins,
}

impl AppState {
    /// Takes write tokens for `wanted` further writes of one request (the messages of a
    /// batch send after its first, which the request's own token paid for): how many may
    /// go, and when the rest may be retried. Server-side callers are not limited.
    pub async fn take_writes(
        &self,
        caller: &Caller,
        wanted: usize,
    ) -> (usize, Option<std::time::Duration>) {
        match (&caller.actor.user_id, caller.actor.server) {
            (Some(user), false) => {
                let limit = self.rate_limit(&caller.app.id, Bucket::Writes).await;
                self.inner
                    .limits
                    .take(Bucket::Writes, limit, &caller.app.id, user, wanted)
                    .await
            }
            _ => (wanted, None),
        }
    }

    /// The limit of `app`'s users' `bucket`: the app's own (its settings), else the
    /// server's default. Apps set no connect rate: [`Bucket::Connects`] is the server's
    /// per-address rate (unlimited when off).
    pub async fn rate_limit(&self, app: &str, bucket: Bucket) -> crate::config::RateLimit {
        let default = match bucket {
            Bucket::Writes => self.inner.config.rate_limit,
            Bucket::Reads => self.inner.config.read_rate_limit,
            Bucket::Connects => {
                return self
                    .inner
                    .config
                    .transport
                    .connect_rate_per_ip
                    .unwrap_or(crate::config::RateLimit::UNLIMITED);
            }
        };
        self.inner
            .app_limits
            .limit(self.store(), app, bucket, default)
            .await
    }

    /// Every app's own rate limits, cached.
    pub(crate) fn app_limits(&self) -> &super::app_settings::AppLimits {
        &self.inner.app_limits
    }

    /// The rate limits (shared across nodes when the store has shared counters).
    pub fn rate_limits(&self) -> &RateLimits {
        &self.inner.limits
    }

    /// Builds the state.
    pub fn new(
        store: Arc<dyn Store>,
        hub: Arc<dyn Broadcaster>,
        config: ServerConfig,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                limits: RateLimits::new(
                    config.rate_limit,
                    config.read_rate_limit,
                    store.shared_limiter(),
                ),
                app_limits: Default::default(),
                ws_limits: WsLimits::new(&config.transport),
                presence: PresenceDebounce::default(),
                store,
                hub,
                config,
                apps: RwLock::default(),
                known_users: Mutex::default(),
                shutdown,
                connections: Arc::default(),
                dev_session: std::sync::OnceLock::new(),
                cors: super::cors::CorsOrigins::default(),
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    /// The broadcaster.
    pub fn hub(&self) -> &dyn Broadcaster {
        self.inner.hub.as_ref()
    }

    /// Publishes dev mode's demo session (once; later calls are ignored).
    pub fn set_dev_session(&self, session: serde_json::Value) {
        let _ = self.inner.dev_session.set(session);
    }

    /// Dev mode's demo session, if this server runs in dev mode.
    pub fn dev_session(&self) -> Option<&serde_json::Value> {
        self.inner.dev_session.get()
    }

    /// Whether the server runs in dev mode (its demo session is published): the origin
    /// `*` then matches any origin.
    pub fn is_dev(&self) -> bool {
        self.inner.dev_session.get().is_some()
    }

    /// The cached allowed CORS origins of all apps.
    pub fn cors(&self) -> &super::cors::CorsOrigins {
        &self.inner.cors
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// A receiver that flips to `true` when the server shuts down.
    pub fn shutdown(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.clone()
    }

    /// Registers an open WebSocket connection until the guard is dropped.
    pub async fn track_connection(&self) -> tokio::sync::OwnedRwLockReadGuard<()> {
        self.inner.connections.clone().read_owned().await
    }

    /// WebSocket caps and connect rates.
    pub fn ws_limits(&self) -> &WsLimits {
        &self.inner.ws_limits
    }

    /// Pending offline announcements (see [`crate::realtime::presence`]).
    pub fn presence(&self) -> &PresenceDebounce {
        &self.inner.presence
    }

    /// Waits until every tracked connection has ended (call after signalling shutdown).
    pub async fn drain_connections(&self) {
        let _all = self.inner.connections.write().await;
    }

    /// The app, from the cache or the store.
    pub async fn app(&self, app_id: &str) -> Result<Arc<AppRecord>, ApiError> {
        if let Some(app) = self
            .inner
            .apps
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(app_id)
        {
            return Ok(app.clone());
        }
        let app = self
            .store()
            .app_by_id(app_id)
            .await?
            .ok_or_else(|| ApiError::from(AuthError::Invalid("unknown app".into())))?;
        let app = Arc::new(app);
        self.inner
            .apps
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(app_id.to_owned(), app.clone());
        Ok(app)
    }

    /// Verifies a user token: returns the app and the claims.
    pub async fn verify_token(
        &self,
        token: &str,
    ) -> Result<(Arc<AppRecord>, chat_protocol::token::UserClaims), ApiError> {
        let app_id = auth::unverified_app(token)?;
        let app = self.app(&app_id).await?;
        let claims = auth::verify_user_token(token, &app.id, &app.api_secret)?;
        self.ensure_user(&app.id, &claims.sub).await?;
        Ok((app, claims))
    }

    /// Creates the user row on a user's first authenticated request.
    pub async fn ensure_user(&self, app: &str, user: &str) -> Result<(), ApiError> {
        let key = (app.to_owned(), user.to_owned());
        if self
            .inner
            .known_users
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&key)
        {
            return Ok(());
        }
        self.store().ensure_user(app, user).await?;
        let mut known = self
            .inner
            .known_users
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if known.len() >= KNOWN_USERS_CAP {
            known.clear();
        }
        known.insert(key);
        Ok(())
    }
}

/// The authenticated caller of a REST request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The app.
    pub app: Arc<AppRecord>,
    /// Who acts.
    pub actor: Actor,
}

impl Caller {
    /// The acting user id, required by user-scoped calls.
    pub fn user(&self) -> Result<&str, ApiError> {
        self.actor.user_id.as_deref().ok_or_else(|| {
            ApiError::invalid(format!(
                "this call acts as a user: use a user token, or the {ON_BEHALF_HEADER} header"
            ))
        })
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(AuthError::Missing)?;
        let caller = if let Some(token) = value.strip_prefix("Bearer ") {
            let (app, claims) = state.verify_token(token.trim()).await?;
            Caller {
                app,
                actor: Actor::user(claims.sub),
            }
        } else {
            let (key, secret) = auth::parse_basic(value)?;
            let app = state
                .store()
                .app_by_key(&key)
                .await?
                .ok_or(AuthError::BadSecret)?;
            if !auth::secrets_equal(&app.api_secret, &secret) {
                return Err(AuthError::BadSecret.into());
            }
            let on_behalf = match parts.headers.get(ON_BEHALF_HEADER) {
                None => None,
                Some(v) => {
                    let user = v
                        .to_str()
                        .map_err(|_| ApiError::invalid("bad user header"))?;
                    validate_user_id(user)?;
                    state.ensure_user(&app.id, user).await?;
                    Some(user.to_owned())
                }
            };
            Caller {
                app: Arc::new(app),
                actor: Actor::server(on_behalf),
            }
        };
        let bucket = if matches!(parts.method, Method::GET | Method::HEAD) {
            Bucket::Reads
        } else {
            Bucket::Writes
        };
        if let (false, Some(user)) = (caller.actor.server, &caller.actor.user_id) {
            let limit = state.rate_limit(&caller.app.id, bucket).await;
            let checked = state
                .inner
                .limits
                .check(bucket, limit, &caller.app.id, user)
                .await;
            if let Err(wait) = checked {
                let mut err = ApiError::new(ErrorCode::RateLimited, "too many requests; slow down");
                err.0.retry_after_secs = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
                return Err(err);
            }
        }
        Ok(caller)
    }
}
