//! `/v1/app/settings`: the calling app's settings (its allowed CORS origins and its own
//! per-user rate limits). Server-side credentials only: a user token cannot read or change
//! them.
//!
//! Rules of the rate limits:
//! - Each of `writes` and `reads` is optional; one left out is the server's default.
//!   `per_second` is 0.01..=10,000 and `burst` 1..=100,000
//!   ([`RateLimitSetting::validate`]); unknown keys are refused.
//! - Each node caches every app's limits ([`AppLimits`]) and reloads them after
//!   [`REFRESH`]: a change applies at once on the node that took the `PUT`, within that
//!   time on the others (and for changes made with the CLI).

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use chat_protocol::{AppRateLimits, AppSettings, ErrorBody, RateLimitSetting};

use super::cors::normalize_origins;
use super::error::{ApiError, ApiJson, ApiResult};
use super::state::{AppState, Caller};
use crate::config::RateLimit;
use crate::ratelimit::Bucket;
use crate::store::{Store, StoreError};

/// How long a node uses an app's cached limits before reloading them.
pub const REFRESH: Duration = Duration::from_secs(5);
/// Apps whose limits a node caches before the cache is cleared.
const CACHED_APPS: usize = 10_000;

fn require_server(caller: &Caller) -> ApiResult<()> {
    if caller.actor.server {
        Ok(())
    } else {
        Err(
            StoreError::Forbidden("app settings need server-side credentials (Basic)".into())
                .into(),
        )
    }
}

/// The app's settings.
#[utoipa::path(get, path = "/v1/app/settings", tag = "app",
    responses((status = 200, body = AppSettings), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("server_key" = [])))]
pub async fn get_settings(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<AppSettings>> {
    require_server(&caller)?;
    Ok(Json(state.store().app_settings(&caller.app.id).await?))
}

/// Replace the app's settings. Origins are `scheme://host[:port]` (http or https, no path,
/// no wildcards); `*` (any origin) only on a server running in dev mode. They are stored
/// normalized (lowercase, default port dropped, duplicates removed) and apply at once.
#[utoipa::path(put, path = "/v1/app/settings", tag = "app", request_body = AppSettings,
    responses((status = 200, body = AppSettings), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("server_key" = [])))]
pub async fn put_settings(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<AppSettings>,
) -> ApiResult<Json<AppSettings>> {
    require_server(&caller)?;
    let cors_origins = normalize_origins(&req.cors_origins, state.is_dev())
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    validate_limits(&req.rate_limits).map_err(ApiError::invalid)?;
    let saved = state
        .store()
        .set_app_settings(
            &caller.app.id,
            AppSettings {
                cors_origins,
                rate_limits: req.rate_limits,
            },
        )
        .await?;
    state.cors().invalidate();
    state.app_limits().invalidate(&caller.app.id);
    Ok(Json(saved))
}

/// Checks an app's rate limits against their bounds; the message names the field.
pub fn validate_limits(limits: &AppRateLimits) -> Result<(), String> {
    for (name, limit) in [("writes", &limits.writes), ("reads", &limits.reads)] {
        if let Some(limit) = limit {
            limit
                .validate()
                .map_err(|e| format!("rate_limits.{name}: {e}"))?;
        }
    }
    Ok(())
}

/// Every app's own rate limits, cached on this node (see the module docs).
#[derive(Default)]
pub struct AppLimits {
    cache: RwLock<HashMap<String, (Instant, AppRateLimits)>>,
}

impl AppLimits {
    /// The limit of `app`'s users' `bucket`: the app's own, else `default`. When the store
    /// cannot be read, the last known limits (or the default) apply.
    pub async fn limit(
        &self,
        store: &dyn Store,
        app: &str,
        bucket: Bucket,
        default: RateLimit,
    ) -> RateLimit {
        let limits = self.load(store, app).await;
        let own = match bucket {
            Bucket::Writes => limits.writes,
            Bucket::Reads => limits.reads,
            // Connect rates are per address, not per app.
            Bucket::Connects => None,
        };
        own.map_or(default, |l: RateLimitSetting| RateLimit {
            per_second: l.per_second,
            burst: l.burst,
        })
    }

    async fn load(&self, store: &dyn Store, app: &str) -> AppRateLimits {
        let cached = self
            .cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(app)
            .copied();
        if let Some((at, limits)) = cached
            && at.elapsed() < REFRESH
        {
            return limits;
        }
        let limits = match store.app_settings(app).await {
            Ok(settings) => settings.rate_limits,
            Err(e) => {
                tracing::warn!(error = %e, app, "app rate limits not loaded");
                return cached.map(|(_, l)| l).unwrap_or_default();
            }
        };
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHED_APPS {
            cache.clear();
        }
        cache.insert(app.to_owned(), (Instant::now(), limits));
        limits
    }

    /// Forgets `app`'s cached limits (they were just changed on this node).
    pub fn invalidate(&self, app: &str) {
        self.cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(app);
    }
}
