//! `serve`'s limit options: the connection limits ([`LimitArgs`], see the "Connections and
//! transport" section of docs/protocol.md) and the server-wide per-user request rates
//! ([`RateArgs`], docs/protocol.md "Rate limits"), and how they become a
//! [`chat_server::ServerConfig`]. A rate of 0 switches its limit off, as for
//! `--connect-rate-per-ip`.

use chat_server::ServerConfig;
use chat_server::config::RateLimit;
use chat_server::transport::TransportConfig;

/// A rate or burst option that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RateOptionError {
    /// A rate that is negative or not a number.
    #[error("--{flag} {value}: a rate is a number of requests per second, 0 (no limit) or more")]
    BadRate {
        /// The flag's name.
        flag: &'static str,
        /// The value given.
        value: f64,
    },
    /// A burst of 0 with a limit on.
    #[error("--{flag} 0: a burst is at least 1 (turn the limit off with a rate of 0)")]
    ZeroBurst {
        /// The flag's name.
        flag: &'static str,
    },
}

/// Connection limits of `serve`. Behind a reverse proxy every client has the proxy's
/// address: set the per-address limits to 0 there.
#[derive(clap::Args)]
pub struct LimitArgs {
    /// Most open TCP connections, WebSockets included (lowered to what the file
    /// descriptor limit allows).
    #[arg(long, env = "ONYXCHAT_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,
    /// Most open TCP connections from one address (0: no cap).
    #[arg(long, env = "ONYXCHAT_MAX_CONNECTIONS_PER_IP", default_value_t = 256)]
    pub max_connections_per_ip: usize,
    /// Most open WebSockets.
    #[arg(long, env = "ONYXCHAT_MAX_WEBSOCKETS", default_value_t = 8_000)]
    pub max_websockets: usize,
    /// Most open WebSockets of one user.
    #[arg(long, env = "ONYXCHAT_MAX_WEBSOCKETS_PER_USER", default_value_t = 32)]
    pub max_websockets_per_user: usize,
    /// WebSocket connects per second from one address, with bursts of 5 times as many
    /// (0: no limit). On PostgreSQL the count is shared by every node of the database.
    #[arg(long, env = "ONYXCHAT_CONNECT_RATE_PER_IP", default_value_t = 20.0)]
    pub connect_rate_per_ip: f64,
    /// Seconds a client may take to send a request head (also the keep-alive idle
    /// timeout).
    #[arg(long, env = "ONYXCHAT_HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,
}

impl LimitArgs {
    /// Sets the transport's limits.
    pub fn apply(&self, t: &mut TransportConfig) -> Result<(), RateOptionError> {
        let rate = check_rate("connect-rate-per-ip", self.connect_rate_per_ip)?;
        t.max_connections = self.max_connections;
        t.max_connections_per_ip = self.max_connections_per_ip;
        t.max_websockets = self.max_websockets;
        t.max_websockets_per_user = self.max_websockets_per_user;
        t.connect_rate_per_ip = (rate > 0.0).then(|| RateLimit {
            per_second: rate,
            burst: (rate * 5.0).ceil().min(f64::from(u32::MAX)) as u32,
        });
        t.header_read_timeout =
            std::time::Duration::from_secs(self.header_read_timeout_secs.max(1));
        Ok(())
    }
}

/// The server-wide per-user request rates: every user token's writes and reads, unless
/// its app sets limits of its own (`app limits`, `PUT /v1/app/settings`).
#[derive(clap::Args)]
pub struct RateArgs {
    /// Writes (requests other than GET/HEAD, each message of a batch send) per second per
    /// user (0: no limit).
    #[arg(long, env = "ONYXCHAT_WRITE_RATE_PER_USER", default_value_t = RateLimit::WRITES.per_second)]
    pub write_rate_per_user: f64,
    /// Writes one user may make at once (the write bucket's size).
    #[arg(long, env = "ONYXCHAT_WRITE_BURST_PER_USER", default_value_t = RateLimit::WRITES.burst)]
    pub write_burst_per_user: u32,
    /// Reads (GET/HEAD, sync included) per second per user (0: no limit).
    #[arg(long, env = "ONYXCHAT_READ_RATE_PER_USER", default_value_t = RateLimit::READS.per_second)]
    pub read_rate_per_user: f64,
    /// Reads one user may make at once (the read bucket's size).
    #[arg(long, env = "ONYXCHAT_READ_BURST_PER_USER", default_value_t = RateLimit::READS.burst)]
    pub read_burst_per_user: u32,
}

impl RateArgs {
    /// Sets the server's default write and read limits.
    pub fn apply(&self, config: &mut ServerConfig) -> Result<(), RateOptionError> {
        config.rate_limit = limit(
            ("write-rate-per-user", self.write_rate_per_user),
            ("write-burst-per-user", self.write_burst_per_user),
        )?;
        config.read_rate_limit = limit(
            ("read-rate-per-user", self.read_rate_per_user),
            ("read-burst-per-user", self.read_burst_per_user),
        )?;
        Ok(())
    }
}

fn check_rate(flag: &'static str, value: f64) -> Result<f64, RateOptionError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(RateOptionError::BadRate { flag, value })
    }
}

/// A rate and a burst: [`RateLimit::UNLIMITED`] for a rate of 0.
fn limit(
    (rate_flag, rate): (&'static str, f64),
    (burst_flag, burst): (&'static str, u32),
) -> Result<RateLimit, RateOptionError> {
    let per_second = check_rate(rate_flag, rate)?;
    if per_second == 0.0 {
        return Ok(RateLimit::UNLIMITED);
    }
    if burst == 0 {
        return Err(RateOptionError::ZeroBurst { flag: burst_flag });
    }
    Ok(RateLimit { per_second, burst })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_off_and_bad_values_are_named() {
        let off = limit(("r", 0.0), ("b", 0)).unwrap();
        assert_eq!(off, RateLimit::UNLIMITED);
        let on = limit(("r", 0.5), ("b", 3)).unwrap();
        assert_eq!(
            on,
            RateLimit {
                per_second: 0.5,
                burst: 3
            }
        );
        assert_eq!(
            limit(("r", 2.0), ("b", 0)),
            Err(RateOptionError::ZeroBurst { flag: "b" })
        );
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let e = limit(("r", bad), ("b", 1)).unwrap_err();
            assert!(
                matches!(e, RateOptionError::BadRate { flag: "r", .. }),
                "{e}"
            );
        }
    }
}
