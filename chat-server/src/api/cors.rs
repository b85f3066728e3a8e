//! CORS and WebSocket origin checks: which web pages may use the API from a browser.
//!
//! Each app lists its allowed origins (`scheme://host[:port]`) in its settings. The rules:
//! - A request without an `Origin` header, or whose `Origin` is the server's own (same
//!   host as the `Host` header), is not cross-origin: nothing is added.
//! - A preflight (`OPTIONS` with `Access-Control-Request-Method`) carries no credentials,
//!   so it is answered `204` with CORS headers when ANY app allows the origin, and
//!   `403 forbidden` without them otherwise.
//! - Any other cross-origin request runs as usual; its response carries
//!   `Access-Control-Allow-Origin` only when the app named by its credentials (a user
//!   token's `app` claim, or the Basic key) allows the origin. A request without usable
//!   credentials is treated like a preflight, so the SDK can still read its `401`.
//! - A WebSocket upgrade from another origin is refused at `connect`, once the token
//!   names the app, unless that app allows the origin (close code 3507).
//! - `*` (any origin) matches only while the server runs in dev mode.
//!
//! The origins are cached in memory and reloaded every [`REFRESH`], so changes made with
//! the CLI on a running server apply within that time; `PUT /v1/app/settings` applies at
//! once.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chat_protocol::ErrorCode;

use super::error::ApiError;
use super::state::AppState;
use crate::auth;
use crate::store::{Store, StoreError};

/// The wildcard origin: any origin, honoured only in dev mode.
pub const ANY_ORIGIN: &str = "*";
/// Most allowed origins per app.
pub const MAX_ORIGINS: usize = 100;
/// How long the cached origins are used before being reloaded from the store.
pub const REFRESH: Duration = Duration::from_secs(5);
/// How long browsers may cache a preflight answer (seconds).
const PREFLIGHT_MAX_AGE: &str = "600";
/// Methods a cross-origin page may use.
const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
/// Request headers a cross-origin page may send (what the web SDK sends).
const ALLOW_HEADERS: &str = "authorization, content-type";

/// Why an origin is not acceptable in an app's settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    /// Not `http://` or `https://`.
    #[error("origin {0:?}: expected scheme://host[:port] with scheme http or https")]
    Scheme(String),
    /// Has a path, query, fragment or user info.
    #[error("origin {0:?}: only scheme://host[:port] (no path, no trailing slash, no user info)")]
    NotBare(String),
    /// The host is empty or has characters a host cannot have.
    #[error("origin {0:?}: bad host")]
    Host(String),
    /// The port is not 1..=65535.
    #[error("origin {0:?}: bad port")]
    Port(String),
    /// A pattern such as `https://*.example.com`.
    #[error("origin {0:?}: wildcards are not supported (only exactly \"*\", in dev mode)")]
    Wildcard(String),
    /// `*` outside dev mode.
    #[error("origin \"*\" (any origin) is allowed only in dev mode")]
    AnyOutsideDev,
    /// More than [`MAX_ORIGINS`].
    #[error("at most {MAX_ORIGINS} origins per app")]
    TooMany,
}

/// Validates one allowed origin and returns it normalized as browsers send it: lowercase,
/// without the scheme's default port. `*` is accepted only when `dev` is set.
pub fn normalize_origin(input: &str, dev: bool) -> Result<String, OriginError> {
    let raw = input.trim();
    if raw == ANY_ORIGIN {
        return if dev {
            Ok(ANY_ORIGIN.to_owned())
        } else {
            Err(OriginError::AnyOutsideDev)
        };
    }
    let lower = raw.to_ascii_lowercase();
    if lower.contains('*') {
        return Err(OriginError::Wildcard(input.to_owned()));
    }
    let (scheme, rest) = lower
        .split_once("://")
        .filter(|(s, _)| *s == "http" || *s == "https")
        .ok_or_else(|| OriginError::Scheme(input.to_owned()))?;
    if rest.contains(['/', '?', '#', '@', '\\']) {
        return Err(OriginError::NotBare(input.to_owned()));
    }
    let (host, port) = split_host_port(rest).ok_or_else(|| OriginError::Host(input.to_owned()))?;
    let port = match port {
        None => None,
        Some(p) => {
            let n: u16 = p
                .parse()
                .ok()
                .filter(|n| *n > 0 && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| OriginError::Port(input.to_owned()))?;
            let default = if scheme == "https" { 443 } else { 80 };
            (n != default).then_some(n)
        }
    };
    Ok(match port {
        Some(p) => format!("{scheme}://{host}:{p}"),
        None => format!("{scheme}://{host}"),
    })
}

/// `host[:port]` with a DNS name, IPv4 or bracketed IPv6 host.
fn split_host_port(rest: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = if rest.starts_with('[') {
        let end = rest.find(']')?;
        let host = &rest[..=end];
        let inner = &host[1..host.len() - 1];
        if inner.is_empty()
            || !inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return None;
        }
        match &rest[end + 1..] {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':')?)),
        }
    } else {
        let (host, port) = match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        };
        let labels_ok = host.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
        if host.is_empty() || !labels_ok {
            return None;
        }
        (host, port)
    };
    Some((host, port))
}

/// Validates a whole list: each origin normalized, duplicates dropped, order kept.
pub fn normalize_origins(list: &[String], dev: bool) -> Result<Vec<String>, OriginError> {
    if list.len() > MAX_ORIGINS {
        return Err(OriginError::TooMany);
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for origin in list {
        let origin = normalize_origin(origin, dev)?;
        if !out.contains(&origin) {
            out.push(origin);
        }
    }
    Ok(out)
}

/// The `Origin` of a cross-origin request, normalized; `None` when the request has no
/// `Origin` or comes from the server's own origin (same host and port as `Host`).
/// An `Origin` that is no valid origin (such as `null`) is kept as sent: it matches nothing.
pub fn cross_origin(headers: &HeaderMap) -> Option<String> {
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?.trim();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let normalized = normalize_origin(origin, false).ok();
    let authority = origin.split_once("://").map(|(_, a)| a);
    if let (Some(host), Some(authority)) = (host, authority)
        && host.eq_ignore_ascii_case(authority)
    {
        return None;
    }
    Some(normalized.unwrap_or_else(|| origin.to_owned()))
}

/// A snapshot of every app's allowed origins.
#[derive(Debug, Default)]
struct Snapshot {
    loaded: Option<Instant>,
    by_app: HashMap<String, HashSet<String>>,
}

impl Snapshot {
    fn set_allows(set: &HashSet<String>, origin: &str, dev: bool) -> bool {
        set.contains(origin) || (dev && set.contains(ANY_ORIGIN))
    }

    fn allows(&self, app: &str, origin: &str, dev: bool) -> bool {
        self.by_app
            .get(app)
            .is_some_and(|set| Self::set_allows(set, origin, dev))
    }

    fn any_allows(&self, origin: &str, dev: bool) -> bool {
        self.by_app
            .values()
            .any(|set| Self::set_allows(set, origin, dev))
    }
}

/// The cached allowed origins of all apps (part of the server state).
#[derive(Debug, Default)]
pub struct CorsOrigins {
    snapshot: RwLock<Arc<Snapshot>>,
}

impl CorsOrigins {
    /// Forgets the cache: the next check reloads from the store.
    pub fn invalidate(&self) {
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Arc::default();
    }

    async fn current(&self, store: &dyn Store) -> Result<Arc<Snapshot>, StoreError> {
        let cached = self
            .snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if cached.loaded.is_some_and(|at| at.elapsed() < REFRESH) {
            return Ok(cached);
        }
        let mut by_app: HashMap<String, HashSet<String>> = HashMap::new();
        for (app, origin) in store.all_cors_origins().await? {
            by_app.entry(app).or_default().insert(origin);
        }
        let fresh = Arc::new(Snapshot {
            loaded: Some(Instant::now()),
            by_app,
        });
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = fresh.clone();
        Ok(fresh)
    }
}

/// Whether `origin` (from [`cross_origin`]) may open a WebSocket with a token of `app`.
pub async fn websocket_allowed(state: &AppState, app: &str, origin: &str) -> bool {
    match state.cors().current(state.store()).await {
        Ok(snapshot) => snapshot.allows(app, origin, state.is_dev()),
        Err(e) => {
            tracing::error!(error = %e, "loading CORS origins");
            false
        }
    }
}

/// The app named by a request's credentials, if they name one.
async fn credential_app(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if let Some(token) = value.strip_prefix("Bearer ") {
        // Unverified on purpose: it only decides whether the browser may read the answer,
        // and a forged claim gets nothing but the 401 the handler answers.
        return auth::unverified_app(token.trim()).ok();
    }
    let (key, _) = auth::parse_basic(value).ok()?;
    state.store().app_by_key(&key).await.ok()?.map(|a| a.id)
}

fn header_value(s: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(s).ok()
}

/// The CORS middleware (see the module documentation for the rules).
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(origin) = cross_origin(req.headers()) else {
        return next.run(req).await;
    };
    let dev = state.is_dev();
    let snapshot = match state.cors().current(state.store()).await {
        Ok(s) => s,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let vary = "origin, access-control-request-method, access-control-request-headers";
    if preflight {
        if !snapshot.any_allows(&origin, dev) {
            let mut response = ApiError::new(
                ErrorCode::Forbidden,
                format!("origin {origin} is not allowed"),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::VARY, HeaderValue::from_static(vary));
            return response;
        }
        let mut response = StatusCode::NO_CONTENT.into_response();
        let h = response.headers_mut();
        if let Some(v) = header_value(&origin) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(PREFLIGHT_MAX_AGE),
        );
        h.insert(header::VARY, HeaderValue::from_static(vary));
        return response;
    }
    let allowed = match credential_app(&state, req.headers()).await {
        Some(app) => snapshot.allows(&app, &origin, dev),
        None => snapshot.any_allows(&origin, dev),
    };
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("origin"));
    if allowed && let Some(v) = header_value(&origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("retry-after"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_validated_and_normalized() {
        let ok = |s: &str| normalize_origin(s, false).unwrap();
        assert_eq!(ok("https://App.Example.com"), "https://app.example.com");
        assert_eq!(ok("https://app.example.com:443"), "https://app.example.com");
        assert_eq!(ok("http://localhost:80"), "http://localhost");
        assert_eq!(ok("http://127.0.0.1:5173"), "http://127.0.0.1:5173");
        assert_eq!(ok("http://[::1]:8080"), "http://[::1]:8080");
        for bad in [
            "app.example.com",
            "ftp://x.com",
            "https://x.com/",
            "https://x.com/app",
            "https://x.com?a",
            "https://u@x.com",
            "https://*.x.com",
            "https://x.com:0",
            "https://x.com:99999",
            "https://x.com:",
            "https://",
            "https://-x.com",
            "https://x..com",
            "null",
            "*",
        ] {
            assert!(normalize_origin(bad, false).is_err(), "{bad}");
        }
        assert_eq!(normalize_origin("*", true).unwrap(), "*");
        assert_eq!(
            normalize_origins(&["http://a.com".into(), "HTTP://A.COM:80".into()], false).unwrap(),
            vec!["http://a.com".to_owned()]
        );
        let many: Vec<String> = (0..=MAX_ORIGINS)
            .map(|i| format!("http://h{i}.com"))
            .collect();
        assert_eq!(normalize_origins(&many, false), Err(OriginError::TooMany));
    }

    #[test]
    fn same_origin_requests_are_not_cross_origin() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8787"));
        assert_eq!(cross_origin(&h), None);
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8787"),
        );
        assert_eq!(cross_origin(&h), None);
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://localhost:8787"),
        );
        assert_eq!(cross_origin(&h).as_deref(), Some("http://localhost:8787"));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert_eq!(cross_origin(&h).as_deref(), Some("null"));
    }
}
