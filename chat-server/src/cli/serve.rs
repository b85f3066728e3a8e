//! `chat-server serve`: its options ([`ServeArgs`]; the limits are in [`super::options`],
//! the `--config` file in [`super::config_file`]), and running a node until SIGTERM or
//! Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use chat_server::ServerConfig;
use chat_server::api::static_files::check_static_dir;
use chat_server::realtime::cluster::DEFAULT_SUBJECT_PREFIX;

use super::dev::{check_dev_addr, dev_setup};
use super::options::{LimitArgs, RateArgs};
use super::store::StoreArgs;

/// The options of `serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Listen address.
    #[arg(long, env = "ONYXCHAT_ADDR", default_value = "127.0.0.1:8787")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Connections to the PostgreSQL database this node keeps at most, per pool (one
    /// pool for writes, one for reads and rate limits).
    #[arg(long, env = "ONYXCHAT_DATABASE_POOL_SIZE", default_value_t = chat_server::store::postgres::DEFAULT_POOL_SIZE)]
    pub database_pool_size: usize,
    /// A NATS broker (`nats://host:4222`) through which several nodes serving one
    /// PostgreSQL database share their realtime events and presence. Without it this
    /// node must be the only one serving its database. Needs `--database-url`.
    #[arg(long, env = "NATS_URL")]
    pub nats_url: Option<String>,
    /// The first tokens of every NATS subject of this deployment (events go to
    /// `<prefix>.ev.<app>`, presence to `<prefix>.presence.all`). Deployments sharing one
    /// broker need prefixes of their own; every node of one deployment needs the same.
    /// Dot-separated tokens without spaces, `*` or `>`.
    #[arg(long, env = "NATS_SUBJECT_PREFIX", default_value = DEFAULT_SUBJECT_PREFIX)]
    pub nats_subject_prefix: String,
    /// Ensure a `demo` app with demo users and channels; print credentials and tokens,
    /// and serve them to the demo app at `GET /v1/dev/session`.
    #[arg(long)]
    pub dev: bool,
    /// Serve the web app in this directory at `/` (e.g. the demo app's build). It must
    /// not contain the data directory; hidden paths (`/.x`) are never served.
    #[arg(long, env = "ONYXCHAT_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// Allow `--dev` on an address other than loopback. Dev mode hands out every demo
    /// user's token without authentication: never use this on a reachable network.
    #[arg(long, requires = "dev")]
    pub dev_allow_remote: bool,
    /// Serve Prometheus metrics at `GET /metrics` on this address (a listener of its
    /// own; keep it off the public network). Off when not given.
    #[arg(long, env = "ONYXCHAT_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// A TOML file of `serve` options, named like the flags with `_` for `-`
    /// (`max_websockets = 20000`). A flag or environment variable wins over the file.
    #[arg(long, env = "ONYXCHAT_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub rates: RateArgs,
}

/// Serves until SIGTERM or Ctrl-C, then stops cleanly.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let ServeArgs {
        addr,
        store,
        database_pool_size,
        nats_url,
        nats_subject_prefix,
        dev,
        static_dir,
        dev_allow_remote,
        metrics_addr,
        config: _,
        limits,
        rates,
    } = args;
    if dev {
        check_dev_addr(addr, dev_allow_remote)?;
    }
    match chat_server::transport::raise_fd_limit() {
        Ok(soft) => tracing::debug!(?soft, "file descriptor limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the file descriptor limit"),
    }
    let data_dir = store.data_dir;
    let mut config = ServerConfig::new(&data_dir);
    config.database_url = store.database_url;
    config.database_pool_size = database_pool_size;
    config.nats_url = nats_url;
    config.nats_subject_prefix = nats_subject_prefix;
    config.addr = addr;
    config.metrics_addr = metrics_addr;
    limits.apply(&mut config.transport)?;
    rates.apply(&mut config)?;
    if let Some(dir) = &static_dir {
        if !dir.join("index.html").is_file() {
            bail!("--static-dir {}: no index.html there", dir.display());
        }
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        check_static_dir(dir, &data_dir)?;
    }
    config.static_dir = static_dir;
    let server = chat_server::start(config)
        .await
        .context("starting the server")?;
    let config = server.state.config();
    if config.nats_url.is_some() {
        tracing::info!(
            addr = %server.addr,
            subject_prefix = config.nats_subject_prefix,
            "chat-server listening (PostgreSQL, NATS)"
        );
    } else if config.database_url.is_some() {
        tracing::info!(addr = %server.addr, "chat-server listening (PostgreSQL)");
    } else {
        tracing::info!(addr = %server.addr, data_dir = %data_dir.display(), "chat-server listening");
    }
    if let Some(at) = server.metrics_addr {
        tracing::info!(addr = %at, "metrics at /metrics");
    }
    if dev {
        let session = dev_setup(server.store.as_ref(), &server.base_url()).await?;
        server.state.set_dev_session(session);
        server.state.cors().invalidate();
        if server.state.config().static_dir.is_some() {
            println!("  web app:    {}/", server.base_url());
        }
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.stop().await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
