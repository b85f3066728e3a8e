//! WebSocket admission: how many sockets may be open, how many per user, how fast an
//! address may open them and a user may connect, and how many connects may do their
//! storage work at once.
//!
//! - Before the upgrade: an address over its connect rate gets `429 rate_limited`, and a
//!   server holding [`TransportConfig::max_websockets`] gets `503 overloaded` (JSON, with
//!   `Retry-After`); Centrifuge clients retry such failed handshakes with backoff.
//! - The connect rate of an address is counted by the node's [`RateLimits`] under
//!   [`Bucket::Connects`]: on PostgreSQL in the database, so every node of the database
//!   counts one rate per address (an address spreading its connects over N nodes gets one
//!   rate, not N), with the same fallback to the node's own bucket when the database does
//!   not answer ([`crate::ratelimit`]); on SQLite in the node's memory. The per-user
//!   connect rate, the caps and the connect turns stay per node.
//! - After `connect` authenticates the user: a user over the connect rate is closed with
//!   `3013` (too many requests, reconnect with backoff), a user holding
//!   [`TransportConfig::max_websockets_per_user`] sockets with `3504` (connection limit,
//!   do not reconnect).
//! - At most [`CONCURRENT_CONNECTS`] connects (token check, subscription, presence) run at
//!   once, so a connect burst queues instead of filling the blocking thread pool.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use chat_protocol::ErrorCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};

use crate::api::error::ApiError;
use crate::config::RateLimit;
use crate::ratelimit::{Bucket, CONNECTS_APP, RateLimiter, RateLimits};
use crate::transport::TransportConfig;

/// Connects doing their storage work at the same time.
pub const CONCURRENT_CONNECTS: usize = 16;

type UserKey = (String, String);

/// Why a user's connect is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserRefusal {
    /// Too many connects in a short time.
    RateLimited,
    /// The user holds the maximum of sockets.
    TooManySockets,
}

/// The WebSocket caps and rates.
pub struct WsLimits {
    sockets: Arc<Semaphore>,
    max_per_user: usize,
    per_user: Arc<Mutex<HashMap<UserKey, usize>>>,
    ip_rate: Option<RateLimit>,
    user_rate: RateLimiter,
    connects: Semaphore,
}

/// A socket's place under the global cap.
#[derive(Debug)]
pub struct SocketPermit {
    _permit: OwnedSemaphorePermit,
}

/// A connected user's place under the per-user cap; released when dropped.
#[derive(Debug)]
pub struct UserSlot {
    key: UserKey,
    per_user: Arc<Mutex<HashMap<UserKey, usize>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The counters stay consistent even if a holder panicked.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl WsLimits {
    /// Limits from the configuration.
    pub fn new(config: &TransportConfig) -> Self {
        Self {
            sockets: Arc::new(Semaphore::new(config.max_websockets)),
            max_per_user: config.max_websockets_per_user,
            per_user: Arc::default(),
            ip_rate: config.connect_rate_per_ip,
            user_rate: RateLimiter::new(config.connect_rate_per_user),
            connects: Semaphore::new(CONCURRENT_CONNECTS),
        }
    }

    /// A place for a new socket from `ip` (unknown for embedders that serve the router
    /// themselves), its connect counted in `rates`, or the error response.
    pub async fn admit_socket(
        &self,
        ip: Option<IpAddr>,
        rates: &RateLimits,
    ) -> Result<SocketPermit, ApiError> {
        if let (Some(limit), Some(ip)) = (self.ip_rate, ip)
            && let Err(wait) = rates
                .check(Bucket::Connects, limit, CONNECTS_APP, &ip.to_string())
                .await
        {
            let mut err = ApiError::new(
                ErrorCode::RateLimited,
                "too many WebSocket connects from your address; slow down",
            );
            err.0.retry_after_secs = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
            return Err(err);
        }
        let permit = self.sockets.clone().try_acquire_owned().map_err(|_| {
            let mut err = ApiError::new(
                ErrorCode::Overloaded,
                "the server is at its WebSocket limit; retry later",
            );
            err.0.retry_after_secs = Some(1);
            err
        })?;
        Ok(SocketPermit { _permit: permit })
    }

    /// A place for a connection of `user` of `app`, or why not.
    pub fn admit_user(&self, app: &str, user: &str) -> Result<UserSlot, UserRefusal> {
        if self.user_rate.check(app, user).is_err() {
            return Err(UserRefusal::RateLimited);
        }
        let key = (app.to_owned(), user.to_owned());
        let mut per_user = lock(&self.per_user);
        let n = per_user.entry(key.clone()).or_insert(0);
        if *n >= self.max_per_user {
            return Err(UserRefusal::TooManySockets);
        }
        *n += 1;
        Ok(UserSlot {
            key,
            per_user: self.per_user.clone(),
        })
    }

    /// Waits for a turn to do a connect's storage work.
    pub async fn connect_turn(&self) -> SemaphorePermit<'_> {
        // The semaphore is never closed.
        self.connects
            .acquire()
            .await
            .unwrap_or_else(|_| unreachable!("the connect semaphore is never closed"))
    }
}

impl Drop for UserSlot {
    fn drop(&mut self) {
        let mut per_user = lock(&self.per_user);
        if let Some(n) = per_user.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                per_user.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn caps_sockets_users_and_rates() {
        let config = TransportConfig {
            max_websockets: 3,
            max_websockets_per_user: 2,
            connect_rate_per_ip: Some(RateLimit {
                per_second: 1e-9,
                burst: 4,
            }),
            connect_rate_per_user: RateLimit {
                per_second: 1e-9,
                burst: 3,
            },
            ..TransportConfig::default()
        };
        let limits = WsLimits::new(&config);
        let rates = RateLimits::new(RateLimit::WRITES, RateLimit::READS, None);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let mut sockets = Vec::new();
        for _ in 0..3 {
            sockets.push(limits.admit_socket(Some(ip), &rates).await.unwrap());
        }
        let full = limits.admit_socket(None, &rates).await.unwrap_err();
        assert_eq!(full.0.code, ErrorCode::Overloaded);
        drop(sockets);
        assert!(limits.admit_socket(Some(ip), &rates).await.is_ok());
        let limited = limits.admit_socket(Some(ip), &rates).await.unwrap_err();
        assert_eq!(limited.0.code, ErrorCode::RateLimited);
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(limits.admit_socket(Some(other), &rates).await.is_ok());

        let a = limits.admit_user("app", "u").unwrap();
        let _b = limits.admit_user("app", "u").unwrap();
        assert_eq!(
            limits.admit_user("app", "u").unwrap_err(),
            UserRefusal::TooManySockets
        );
        drop(a);
        assert_eq!(
            limits.admit_user("app", "u").unwrap_err(),
            UserRefusal::RateLimited
        );
        assert!(limits.admit_user("app", "v").is_ok());
    }
}
