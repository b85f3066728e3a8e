//! The `chat-server` command: `serve`, `app create`, `app cors`, `compact` and `token`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use chat_protocol::{ChannelType, Cid, CreateChannelRequest, UserInput};
use chat_server::ServerConfig;
use chat_server::api::cors::{self, normalize_origin, normalize_origins};
use chat_server::api::static_files::check_static_dir;
use chat_server::auth::{MAX_TOKEN_LIFETIME_SECS, mint_user_token};
use chat_server::realtime::InProcessHub;
use chat_server::store::postgres::PgStore;
use chat_server::store::sqlite::SqliteStore;
use chat_server::store::{NewChannel, Store, SyncSettings};
use clap::{Parser, Subcommand};

/// OnyxChat reference chat server.
#[derive(Parser)]
#[command(name = "chat-server", version, about)]
struct Cli {
    /// Log format on stderr: `text` for people, `json` (one object a line, with the
    /// request id of each request's lines) for log pipelines. Levels: `RUST_LOG`.
    #[arg(long, global = true, env = "ONYXCHAT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve REST, /v1/sync and the realtime WebSocket. Every option can also be set in
    /// the environment (`ONYXCHAT_ADDR`, `ONYXCHAT_DATA_DIR`, `ONYXCHAT_MAX_WEBSOCKETS`, …,
    /// `ONYXCHAT_METRICS_ADDR`; see `--help`) or in a `--config` file: a flag wins over the
    /// environment, which wins over the file.
    Serve {
        /// Listen address.
        #[arg(long, env = "ONYXCHAT_ADDR", default_value = "127.0.0.1:8787")]
        addr: SocketAddr,
        #[command(flatten)]
        store: StoreArgs,
        /// Connections to the PostgreSQL database this node keeps at most, per pool (one
        /// pool for writes, one for reads and rate limits).
        #[arg(long, env = "ONYXCHAT_DATABASE_POOL_SIZE", default_value_t = chat_server::store::postgres::DEFAULT_POOL_SIZE)]
        database_pool_size: usize,
        /// A NATS broker (`nats://host:4222`) through which several nodes serving one
        /// PostgreSQL database share their realtime events and presence. Without it this
        /// node must be the only one serving its database. Needs `--database-url`.
        #[arg(long, env = "NATS_URL")]
        nats_url: Option<String>,
        /// Ensure a `demo` app with demo users and channels; print credentials and tokens,
        /// and serve them to the demo app at `GET /v1/dev/session`.
        #[arg(long)]
        dev: bool,
        /// Serve the web app in this directory at `/` (e.g. the demo app's build). It must
        /// not contain the data directory; hidden paths (`/.x`) are never served.
        #[arg(long, env = "ONYXCHAT_STATIC_DIR")]
        static_dir: Option<PathBuf>,
        /// Allow `--dev` on an address other than loopback. Dev mode hands out every demo
        /// user's token without authentication: never use this on a reachable network.
        #[arg(long, requires = "dev")]
        dev_allow_remote: bool,
        /// Serve Prometheus metrics at `GET /metrics` on this address (a listener of its
        /// own; keep it off the public network). Off when not given.
        #[arg(long, env = "ONYXCHAT_METRICS_ADDR")]
        metrics_addr: Option<SocketAddr>,
        /// A TOML file of `serve` options, named like the flags with `_` for `-`
        /// (`max_websockets = 20000`). A flag or environment variable wins over the file.
        #[arg(long, env = "ONYXCHAT_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Manage apps.
    App {
        #[command(subcommand)]
        command: AppCommand,
    },
    /// Purge removal tombstones (members, reactions) of an app older than a sync position.
    /// Sync cursors older than that position then get `410 cursor_expired` (clients reset).
    Compact {
        /// App id.
        #[arg(long)]
        app: String,
        /// Purge tombstones with `rev` below this seq (see the `seq` of a sync cursor).
        #[arg(long)]
        before_seq: u64,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print a user token (JWT) for a user of an app.
    Token {
        /// App id.
        #[arg(long)]
        app: String,
        /// User id.
        #[arg(long)]
        user: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 86_400)]
        ttl_secs: u64,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Where the data lives: a PostgreSQL database if one is named, else the embedded SQLite
/// store in the data directory.
#[derive(clap::Args)]
struct StoreArgs {
    /// Data directory of the embedded SQLite store (holds chat.db); unused with
    /// `--database-url`.
    #[arg(long, env = "ONYXCHAT_DATA_DIR", default_value = "./.onyxchat")]
    data_dir: PathBuf,
    /// A PostgreSQL database to use instead of the data directory:
    /// `postgres://user:password@host:5432/dbname` (or a `key=value` connection string).
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
}

impl StoreArgs {
    /// Opens the store these arguments name (admin commands: no serving lock).
    async fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        let hub = Arc::new(InProcessHub::new());
        Ok(match &self.database_url {
            Some(url) => Arc::new(
                PgStore::connect(url, 2, hub, SyncSettings::default())
                    .await
                    .context("opening the PostgreSQL database")?,
            ),
            None => Arc::new(
                SqliteStore::open(&self.data_dir, hub, SyncSettings::default()).with_context(
                    || format!("opening the data directory {}", self.data_dir.display()),
                )?,
            ),
        })
    }
}

/// Connection limits of `serve` (see the "Connections and transport" section of
/// docs/protocol.md). Behind a reverse proxy every client has the proxy's address: set the
/// per-address limits to 0 there.
#[derive(clap::Args)]
struct LimitArgs {
    /// Most open TCP connections, WebSockets included (lowered to what the file
    /// descriptor limit allows).
    #[arg(long, env = "ONYXCHAT_MAX_CONNECTIONS", default_value_t = 10_000)]
    max_connections: usize,
    /// Most open TCP connections from one address (0: no cap).
    #[arg(long, env = "ONYXCHAT_MAX_CONNECTIONS_PER_IP", default_value_t = 256)]
    max_connections_per_ip: usize,
    /// Most open WebSockets.
    #[arg(long, env = "ONYXCHAT_MAX_WEBSOCKETS", default_value_t = 8_000)]
    max_websockets: usize,
    /// Most open WebSockets of one user.
    #[arg(long, env = "ONYXCHAT_MAX_WEBSOCKETS_PER_USER", default_value_t = 32)]
    max_websockets_per_user: usize,
    /// WebSocket connects per second from one address, with bursts of 5 times as many
    /// (0: no limit).
    #[arg(long, env = "ONYXCHAT_CONNECT_RATE_PER_IP", default_value_t = 20.0)]
    connect_rate_per_ip: f64,
    /// Seconds a client may take to send a request head (also the keep-alive idle
    /// timeout).
    #[arg(long, env = "ONYXCHAT_HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    header_read_timeout_secs: u64,
}

/// `serve`'s options from a `--config` file: the flags' names with `_` for `-`. Unknown
/// keys and ill-typed values are refused, naming the key.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ServeFile {
    addr: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    database_pool_size: Option<usize>,
    nats_url: Option<String>,
    static_dir: Option<PathBuf>,
    metrics_addr: Option<SocketAddr>,
    max_connections: Option<usize>,
    max_connections_per_ip: Option<usize>,
    max_websockets: Option<usize>,
    max_websockets_per_user: Option<usize>,
    connect_rate_per_ip: Option<f64>,
    header_read_timeout_secs: Option<u64>,
}

/// Fills `serve`'s options that neither a flag nor the environment set from its
/// `--config` file, if any.
fn apply_config_file(command: &mut Command, matches: &clap::ArgMatches) -> anyhow::Result<()> {
    let Command::Serve {
        addr,
        store,
        database_pool_size,
        nats_url,
        static_dir,
        metrics_addr,
        config: Some(path),
        limits,
        ..
    } = command
    else {
        return Ok(());
    };
    let Some(sub) = matches.subcommand_matches("serve") else {
        return Ok(());
    };
    let text =
        std::fs::read_to_string(&*path).with_context(|| format!("--config {}", path.display()))?;
    let file: ServeFile =
        toml::from_str(&text).with_context(|| format!("--config {}", path.display()))?;
    // Only what the command line and the environment left at its default.
    let unset = |id: &str| {
        matches!(
            sub.value_source(id),
            None | Some(clap::parser::ValueSource::DefaultValue)
        )
    };
    macro_rules! fill {
        ($($field:ident => $target:expr),* $(,)?) => {$(
            if let Some(value) = file.$field {
                if unset(stringify!($field)) {
                    $target = value.into();
                }
            }
        )*};
    }
    fill!(
        addr => *addr,
        data_dir => store.data_dir,
        database_url => store.database_url,
        database_pool_size => *database_pool_size,
        nats_url => *nats_url,
        static_dir => *static_dir,
        metrics_addr => *metrics_addr,
        max_connections => limits.max_connections,
        max_connections_per_ip => limits.max_connections_per_ip,
        max_websockets => limits.max_websockets,
        max_websockets_per_user => limits.max_websockets_per_user,
        connect_rate_per_ip => limits.connect_rate_per_ip,
        header_read_timeout_secs => limits.header_read_timeout_secs,
    );
    Ok(())
}

impl LimitArgs {
    fn apply(&self, t: &mut chat_server::transport::TransportConfig) {
        t.max_connections = self.max_connections;
        t.max_connections_per_ip = self.max_connections_per_ip;
        t.max_websockets = self.max_websockets;
        t.max_websockets_per_user = self.max_websockets_per_user;
        t.connect_rate_per_ip =
            (self.connect_rate_per_ip > 0.0).then(|| chat_server::config::RateLimit {
                per_second: self.connect_rate_per_ip,
                burst: (self.connect_rate_per_ip * 5.0).ceil() as u32,
            });
        t.header_read_timeout =
            std::time::Duration::from_secs(self.header_read_timeout_secs.max(1));
    }
}

#[derive(Subcommand)]
enum AppCommand {
    /// Create an app; prints {"app_id","api_key","api_secret"} as JSON.
    Create {
        /// Unique app name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show or change the web origins allowed to use an app from a browser (CORS and the
    /// WebSocket); prints the app's settings as JSON. A running server applies changes
    /// within 5 seconds.
    Cors {
        /// App id.
        #[arg(long)]
        app: String,
        /// Allow an origin (`scheme://host[:port]`); repeatable.
        #[arg(long, value_name = "ORIGIN")]
        allow: Vec<String>,
        /// Stop allowing an origin; repeatable.
        #[arg(long, value_name = "ORIGIN")]
        remove: Vec<String>,
        /// Remove every allowed origin first.
        #[arg(long)]
        clear: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `app cors`: applies `--clear`, `--remove` and `--allow`, in that order. `*` is refused:
/// it is honoured only by a dev-mode server, which allows it for the demo app by itself.
async fn app_cors(
    store: &dyn Store,
    app: &str,
    allow: &[String],
    remove: &[String],
    clear: bool,
) -> anyhow::Result<chat_protocol::AppSettings> {
    let mut settings = store.app_settings(app).await?;
    if clear {
        settings.cors_origins.clear();
    }
    let remove = remove
        .iter()
        .map(|o| normalize_origin(o, true))
        .collect::<Result<Vec<_>, _>>()?;
    settings.cors_origins.retain(|o| !remove.contains(o));
    for origin in allow {
        if origin.trim() == cors::ANY_ORIGIN {
            bail!(
                "--allow '*': any origin is for dev mode only (`serve --dev` allows it for the \
                 demo app); list the origins of your web app"
            );
        }
        settings.cors_origins.push(origin.clone());
    }
    let cors_origins = normalize_origins(&settings.cors_origins, true)?;
    Ok(store
        .set_app_settings(
            app,
            chat_protocol::AppSettings {
                cors_origins,
                ..settings
            },
        )
        .await?)
}

/// Whether dev mode may listen on `addr`: loopback only, unless forced.
fn check_dev_addr(addr: SocketAddr, allow_remote: bool) -> anyhow::Result<()> {
    if !addr.ip().is_loopback() && !allow_remote {
        bail!(
            "--dev serves every demo user's token without authentication, so it listens only \
             on loopback (127.0.0.1 or ::1), not {addr}; pass --dev-allow-remote to force it"
        );
    }
    Ok(())
}

const DEMO_USERS: &[(&str, &str)] = &[
    ("alice", "Alice Liddell"),
    ("bob", "Bob Marley"),
    ("carol", "Carol Danvers"),
    ("dave", "Dave Bowman"),
];

/// Ensures the demo app, users and channels; prints credentials and tokens.
async fn dev_setup(store: &dyn Store, base: &str) -> anyhow::Result<serde_json::Value> {
    let app = match store.app_by_name("demo").await? {
        Some(app) => app,
        None => {
            store.create_app("demo").await?;
            store
                .app_by_name("demo")
                .await?
                .context("demo app vanished")?
        }
    };
    let users = DEMO_USERS
        .iter()
        .map(|(id, name)| UserInput {
            id: (*id).to_owned(),
            name: Some((*name).to_owned()),
            image: None,
            custom: Default::default(),
        })
        .collect();
    store.upsert_users(&app.id, users).await?;
    // The demo may be served from any origin (a dev server, another port): `*` is honoured
    // only while the server runs in dev mode.
    let mut settings = store.app_settings(&app.id).await?;
    if !settings.cors_origins.iter().any(|o| o == cors::ANY_ORIGIN) {
        settings.cors_origins.push(cors::ANY_ORIGIN.to_owned());
        store.set_app_settings(&app.id, settings).await?;
    }
    let everyone: Vec<String> = DEMO_USERS.iter().map(|(id, _)| (*id).to_owned()).collect();
    // `team:general` has everyone; Alice & Bob's conversation is a distinct channel, its
    // cid derived from the pair (`messaging:!members-…`), as the SDKs' open-distinct call
    // computes it.
    let general = CreateChannelRequest {
        id: Some("general".to_owned()),
        name: Some("General".to_owned()),
        members: everyone,
        ..CreateChannelRequest::new(ChannelType::Team)
    };
    let alice_bob = CreateChannelRequest {
        name: Some("Alice & Bob".to_owned()),
        ..CreateChannelRequest::distinct(ChannelType::Messaging, vec!["bob".to_owned()])
    };
    for req in [general, alice_bob] {
        let cid = match &req.id {
            Some(id) => Cid::new(req.kind, id)?,
            None => Cid::distinct(req.kind, "alice", &req.members),
        };
        store
            .create_channel(&app.id, "alice", NewChannel { cid, req })
            .await?;
    }
    println!("OnyxChat dev mode: server at {base}");
    println!("  app_id:     {}", app.id);
    println!("  api_key:    {}", app.api_key);
    println!("  api_secret: {}", app.api_secret);
    println!("  user tokens (valid 30 days):");
    let mut session_users = Vec::new();
    for (id, name) in DEMO_USERS {
        let token = mint_user_token(&app.id, &app.api_secret, id, 30 * 86_400);
        println!("    {id:<6} {token}");
        session_users.push(serde_json::json!({ "id": id, "name": name, "token": token }));
    }
    Ok(serde_json::json!({ "app_id": app.id, "users": session_users }))
}

/// Whether the server serves a web app.
fn config_has_app(server: &chat_server::RunningServer) -> bool {
    server.state.config().static_dir.is_some()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let mut cli =
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    apply_config_file(&mut cli.command, &matches)?;
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    match cli.command {
        Command::Serve {
            addr,
            store,
            database_pool_size,
            nats_url,
            dev,
            static_dir,
            dev_allow_remote,
            metrics_addr,
            config: _,
            limits,
        } => {
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
            config.addr = addr;
            config.metrics_addr = metrics_addr;
            limits.apply(&mut config.transport);
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
            if server.state.config().nats_url.is_some() {
                tracing::info!(addr = %server.addr, "chat-server listening (PostgreSQL, NATS)");
            } else if server.state.config().database_url.is_some() {
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
                if config_has_app(&server) {
                    println!("  web app:    {}/", server.base_url());
                }
            }
            shutdown_signal().await;
            tracing::info!("shutting down");
            server.stop().await?;
        }
        Command::App {
            command: AppCommand::Create { name, store },
        } => {
            if name.trim().is_empty() {
                bail!("--name must not be empty");
            }
            let store = store.open().await?;
            let creds = store.create_app(&name).await?;
            println!("{}", serde_json::to_string(&creds)?);
        }
        Command::App {
            command:
                AppCommand::Cors {
                    app,
                    allow,
                    remove,
                    clear,
                    store,
                },
        } => {
            let store = store.open().await?;
            store
                .app_by_id(&app)
                .await?
                .with_context(|| format!("no app {app}"))?;
            let settings = app_cors(store.as_ref(), &app, &allow, &remove, clear).await?;
            println!("{}", serde_json::to_string(&settings)?);
        }
        Command::Compact {
            app,
            before_seq,
            store,
        } => {
            let store = store.open().await?;
            store
                .app_by_id(&app)
                .await?
                .with_context(|| format!("no app {app}"))?;
            if i64::try_from(before_seq).is_err() {
                bail!("--before-seq is out of range");
            }
            store.compact(&app, before_seq).await?;
            eprintln!("compacted {app}: cursors before seq {before_seq} now reset");
        }
        Command::Token {
            app,
            user,
            ttl_secs,
            store,
        } => {
            chat_protocol::ids::validate_user_id(&user)?;
            if !i64::try_from(ttl_secs).is_ok_and(|t| t <= MAX_TOKEN_LIFETIME_SECS) {
                bail!(
                    "--ttl-secs {ttl_secs}: the server refuses tokens living longer than \
                     {MAX_TOKEN_LIFETIME_SECS} seconds (30 days)"
                );
            }
            let store = store.open().await?;
            let record = store
                .app_by_id(&app)
                .await?
                .with_context(|| format!("no app {app}"))?;
            store.ensure_user(&record.id, &user).await?;
            println!(
                "{}",
                mint_user_token(&record.id, &record.api_secret, &user, ttl_secs)
            );
        }
    }
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
