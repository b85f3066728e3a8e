//! The `chat-load` command: spawns (or attaches to) a chat-server — or several nodes of one
//! on PostgreSQL and NATS — holds one WebSocket per user, ramps message rates and prints
//! the report (markdown, or JSON with `--json`).
//!
//! ```text
//! cargo build --release -p chat-server -p chat-load
//! target/release/chat-load --users 1000 --channels 10 --rates 100,500,1000
//! target/release/chat-load --users 1000 --channels 10 --rates 100,500,1000 \
//!     --nodes 2 --database-url postgres://… --nats-url nats://…
//! ```

use std::path::PathBuf;

use anyhow::{Context, bail};
use chat_load::process::{SpawnedServer, Target, default_server_bin, raise_fd_limit};
use chat_load::{Config, report};
use chat_protocol::AppCredentials;
use clap::Parser;

/// Load generator for chat-server: connections held, fan-out latency, highest sustained rate.
#[derive(Parser)]
#[command(name = "chat-load", version, about, after_help = EXAMPLES)]
struct Args {
    /// The chat-server binary to spawn (default: next to this binary, else
    /// target/release/chat-server; build it with `cargo build --release -p chat-server`).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Run the spawned server on this PostgreSQL database instead of a fresh SQLite data
    /// directory (the run's app gets a name of its own, so a database serves many runs).
    #[arg(long, env = "DATABASE_URL", conflicts_with = "server_url")]
    database_url: Option<String>,
    /// Spawn this many nodes (`serve --database-url … --nats-url …`, each on a port of
    /// its own) on the `--database-url` database, sharing realtime through the
    /// `--nats-url` broker. The sockets and the sends are spread over the nodes so that
    /// each channel's members and messages sit on different nodes; the report gives each
    /// node's RSS per socket and CPU, and the pushes that crossed nodes.
    #[arg(long, default_value_t = 1, conflicts_with = "server_url")]
    nodes: usize,
    /// The NATS broker the spawned nodes share (e.g. nats://127.0.0.1:4222); needed by
    /// `--nodes` above 1, needs `--database-url`.
    #[arg(long, env = "NATS_URL")]
    nats_url: Option<String>,
    /// Attach to a running server instead (e.g. http://127.0.0.1:8787); needs the app's
    /// credentials. Repeat it to attach to several nodes serving one app (one PostgreSQL
    /// database, one NATS broker): sockets and sends are spread over them as with
    /// `--nodes`. Start each with `--max-connections-per-ip 0 --connect-rate-per-ip 0` and
    /// room for the sockets (`--max-websockets`, `--max-connections`).
    #[arg(long, requires_all = ["app_id", "api_key", "api_secret"])]
    server_url: Vec<String>,
    /// The attached server's pid, to read its RSS and CPU; with several `--server-url`,
    /// one per server in the same order.
    #[arg(long, requires = "server_url")]
    server_pid: Vec<u32>,
    /// App id of the attached server's app.
    #[arg(long)]
    app_id: Option<String>,
    /// API key of that app.
    #[arg(long)]
    api_key: Option<String>,
    /// API secret of that app.
    #[arg(long, env = "ONYX_API_SECRET")]
    api_secret: Option<String>,
    /// Users, one WebSocket each.
    #[arg(long, default_value_t = 1_000)]
    users: usize,
    /// Channels; users are spread evenly over them.
    #[arg(long, default_value_t = 10)]
    channels: usize,
    /// Send rates in messages per second, one step each.
    #[arg(long, value_delimiter = ',', default_value = "100,500,1000")]
    rates: Vec<f64>,
    /// Seconds per step.
    #[arg(long, default_value_t = 10.0)]
    step_secs: f64,
    /// Seconds of warm-up at the first rate (0: none).
    #[arg(long, default_value_t = 3.0)]
    warmup_secs: f64,
    /// Connects in flight at once.
    #[arg(long, default_value_t = 200)]
    connect_in_flight: usize,
    /// Send requests in flight at once.
    #[arg(long, default_value_t = 256)]
    send_in_flight: usize,
    /// HTTP clients (connection pools) for the sends.
    #[arg(long, default_value_t = 8)]
    http_clients: usize,
    /// Longest wait for a step's deliveries after its sends (seconds).
    #[arg(long, default_value_t = 10.0)]
    drain_secs: f64,
    /// A step is sustained when its p99 stays under this many ms (and all is delivered).
    #[arg(long, default_value_t = 100.0)]
    p99_limit_ms: f64,
    /// Floor round trips.
    #[arg(long, default_value_t = 10_000)]
    floor_round_trips: usize,
    /// Run every rate, even after a step that was not sustained.
    #[arg(long)]
    keep_going: bool,
    /// Measure latency from each message's scheduled send instant, not its request's
    /// start (counts the wait for a request slot when the sender falls behind).
    #[arg(long)]
    from_schedule: bool,
    /// Print the report as JSON instead of markdown.
    #[arg(long)]
    json: bool,
}

/// The end of `--help`: the ways to run it, and how several nodes share the load.
const EXAMPLES: &str = "\
Examples:
  chat-load --users 1000 --channels 10 --rates 100,500,1000      one node, SQLite
  chat-load ... --database-url postgres://…                      one node, PostgreSQL
  chat-load ... --nodes 2 --database-url postgres://… --nats-url nats://…
                                                                 two nodes over NATS
  chat-load ... --server-url http://a:8787 --server-url http://b:8787 \\
      --server-pid 101 --server-pid 102 --app-id … --api-key … --api-secret …
                                                                 two running nodes

With several nodes, the k-th member of each channel holds its socket on node k % N and
each channel's messages are sent through the nodes in turn, so most pushes cross nodes;
the report counts those exactly (Cross-node delivered / expected) and gives each node's
sockets, RSS per socket and CPU per step, with their totals.";

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Before the runtime and the server start: the child inherits the raised limit.
    let fds = raise_fd_limit()?;
    if let Some(soft) = fds
        && soft < (args.users as u64) + 256
    {
        eprintln!(
            "warning: RLIMIT_NOFILE is {soft}, too low for {} sockets",
            args.users
        );
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let cfg = Config {
        users: args.users,
        channels: args.channels,
        rates: args.rates.clone(),
        step_secs: args.step_secs,
        warmup_secs: args.warmup_secs,
        connect_in_flight: args.connect_in_flight,
        send_in_flight: args.send_in_flight,
        http_clients: args.http_clients,
        drain_secs: args.drain_secs,
        p99_limit_ms: args.p99_limit_ms,
        floor_round_trips: args.floor_round_trips,
        keep_going: args.keep_going,
        from_schedule: args.from_schedule,
        ..Config::default()
    };
    // Held until the run ends: dropping a spawned server kills it.
    let _spawned: Vec<SpawnedServer>;
    let targets = if args.server_url.is_empty() {
        _spawned = spawn(&args).await?;
        _spawned.iter().map(|s| s.target.clone()).collect()
    } else {
        attached(&args)?
    };
    let urls: Vec<&str> = targets.iter().map(|t| t.base_url.as_str()).collect();
    eprintln!(
        "{} users over {} channels at {}; rates {:?} msg/s",
        cfg.users,
        cfg.channels,
        urls.join(", "),
        cfg.rates
    );
    let report = chat_load::run(&targets, &cfg).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", report::markdown(&report));
    }
    Ok(())
}

/// Spawns the server: one node on SQLite or `--database-url`, or `--nodes` nodes on
/// `--database-url` and `--nats-url`.
async fn spawn(args: &Args) -> anyhow::Result<Vec<SpawnedServer>> {
    let (nodes, database, nats) = (
        args.nodes,
        args.database_url.as_deref(),
        args.nats_url.as_deref(),
    );
    match (nodes, database, nats) {
        (0, ..) => bail!("--nodes must be at least 1"),
        (_, None, Some(_)) => {
            bail!("--nats-url needs --database-url: nodes share one PostgreSQL database")
        }
        (2.., _, None) => bail!(
            "--nodes {nodes} needs --database-url and --nats-url (env DATABASE_URL, NATS_URL)"
        ),
        _ => {}
    }
    let bin = args.server_bin.clone().unwrap_or_else(default_server_bin);
    eprintln!(
        "spawning {nodes} node{} of {}",
        if nodes == 1 { "" } else { "s" },
        bin.display()
    );
    Ok(match (database, nats) {
        (Some(database), Some(nats)) => {
            SpawnedServer::spawn_nodes(&bin, args.users, database, nats, nodes).await?
        }
        (database, _) => vec![SpawnedServer::spawn(&bin, args.users, database).await?],
    })
}

/// The running servers of `--server-url`, with their `--server-pid`s if given.
fn attached(args: &Args) -> anyhow::Result<Vec<Target>> {
    if !args.server_pid.is_empty() && args.server_pid.len() != args.server_url.len() {
        bail!(
            "{} --server-pid for {} --server-url: give one per server, in the same order, or none",
            args.server_pid.len(),
            args.server_url.len()
        );
    }
    let app = AppCredentials {
        app_id: args.app_id.clone().context("--app-id")?,
        api_key: args.api_key.clone().context("--api-key")?,
        api_secret: args.api_secret.clone().context("--api-secret")?,
    };
    Ok(args
        .server_url
        .iter()
        .enumerate()
        .map(|(n, url)| Target {
            base_url: url.trim_end_matches('/').to_owned(),
            app: app.clone(),
            pid: args.server_pid.get(n).copied(),
        })
        .collect())
}
