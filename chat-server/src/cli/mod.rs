//! The `chat-server` command line: the top-level parser ([`Cli`]), the subcommands
//! ([`Command`]), logging set-up, and the dispatch to each subcommand family's file:
//!
//! - [`serve`]: `serve` (its options in [`options`], its `--config` file in
//!   [`config_file`], dev mode in [`dev`]);
//! - [`app`]: `app create`, `app cors`, `app limits`;
//! - [`maintenance`]: `compact` and `token`;
//! - [`store`]: where the admin commands find the data (`--data-dir` / `--database-url`).

mod app;
mod config_file;
mod dev;
mod maintenance;
mod options;
mod serve;
mod store;

use clap::{Parser, Subcommand};

/// OnyxChat reference chat server.
#[derive(Parser)]
#[command(name = "chat-server", version, about)]
pub struct Cli {
    /// Log format on stderr: `text` for people, `json` (one object a line, with the
    /// request id of each request's lines) for log pipelines. Levels: `RUST_LOG`.
    #[arg(long, global = true, env = "ONYXCHAT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Serve REST, /v1/sync and the realtime WebSocket. Every option can also be set in
    /// the environment (`ONYXCHAT_ADDR`, `ONYXCHAT_DATA_DIR`, `ONYXCHAT_MAX_WEBSOCKETS`, …,
    /// `ONYXCHAT_METRICS_ADDR`; see `--help`) or in a `--config` file: a flag wins over the
    /// environment, which wins over the file.
    Serve(Box<serve::ServeArgs>),
    /// Manage apps.
    App {
        /// What to do.
        #[command(subcommand)]
        command: app::AppCommand,
    },
    /// Purge removal tombstones (members, reactions) of an app older than a sync position.
    /// Sync cursors older than that position then get `410 cursor_expired` (clients reset).
    Compact(maintenance::CompactArgs),
    /// Print a user token (JWT) for a user of an app.
    Token(maintenance::TokenArgs),
}

/// Parses the command line (and `serve`'s `--config` file), sets up logging and runs the
/// subcommand.
pub async fn run() -> anyhow::Result<()> {
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let mut cli =
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Command::Serve(args) = &mut cli.command
        && let Some(sub) = matches.subcommand_matches("serve")
    {
        config_file::apply(args, sub)?;
    }
    init_logs(cli.log_format);
    match cli.command {
        Command::Serve(args) => serve::run(*args).await,
        Command::App { command } => app::run(command).await,
        Command::Compact(args) => maintenance::compact(args).await,
        Command::Token(args) => maintenance::token(args).await,
    }
}

fn init_logs(format: LogFormat) {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}
