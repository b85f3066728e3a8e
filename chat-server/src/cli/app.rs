//! `chat-server app …`: creating an app, and editing its settings from the command line —
//! its allowed web origins (`app cors`) and its own per-user rate limits (`app limits`).
//! Each edit prints the app's settings as one JSON line, like `GET /v1/app/settings`, and
//! a running server applies it within 5 seconds.

use std::str::FromStr;

use anyhow::bail;
use chat_protocol::{AppSettings, RateLimitSetting};
use chat_server::api::cors::{self, normalize_origin, normalize_origins};
use chat_server::store::Store;

use super::store::{StoreArgs, existing_app};

/// The `app` subcommands.
#[derive(clap::Subcommand)]
pub enum AppCommand {
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
    /// Show or change an app's own per-user rate limits; prints the app's settings as
    /// JSON. A limit the app does not set is the server's (`serve --write-rate-per-user`,
    /// `--read-rate-per-user`). RATE is requests per second per user (0.01 to 10000),
    /// BURST how many a user may make at once (1 to 100000; default 5 × RATE, rounded
    /// up). A running server applies changes within 5 seconds.
    Limits {
        /// App id.
        #[arg(long)]
        app: String,
        /// Set the app's write limit (requests other than GET/HEAD).
        #[arg(long, value_name = "RATE[/BURST]", conflicts_with = "clear_writes")]
        writes: Option<LimitSpec>,
        /// Set the app's read limit (GET/HEAD, sync included).
        #[arg(long, value_name = "RATE[/BURST]", conflicts_with = "clear_reads")]
        reads: Option<LimitSpec>,
        /// Drop the app's write limit: its users get the server's.
        #[arg(long)]
        clear_writes: bool,
        /// Drop the app's read limit: its users get the server's.
        #[arg(long)]
        clear_reads: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Runs an `app` subcommand.
pub async fn run(command: AppCommand) -> anyhow::Result<()> {
    match command {
        AppCommand::Create { name, store } => {
            if name.trim().is_empty() {
                bail!("--name must not be empty");
            }
            let store = store.open().await?;
            let creds = store.create_app(&name).await?;
            println!("{}", serde_json::to_string(&creds)?);
        }
        AppCommand::Cors {
            app,
            allow,
            remove,
            clear,
            store,
        } => {
            let store = store.open().await?;
            existing_app(store.as_ref(), &app).await?;
            let settings = app_cors(store.as_ref(), &app, &allow, &remove, clear).await?;
            println!("{}", serde_json::to_string(&settings)?);
        }
        AppCommand::Limits {
            app,
            writes,
            reads,
            clear_writes,
            clear_reads,
            store,
        } => {
            let store = store.open().await?;
            existing_app(store.as_ref(), &app).await?;
            let change = LimitsChange {
                writes: edit(writes, clear_writes),
                reads: edit(reads, clear_reads),
            };
            let settings = app_limits(store.as_ref(), &app, change).await?;
            println!("{}", serde_json::to_string(&settings)?);
        }
    }
    Ok(())
}

/// `app cors`: applies `--clear`, `--remove` and `--allow`, in that order. `*` is refused:
/// it is honoured only by a dev-mode server, which allows it for the demo app by itself.
async fn app_cors(
    store: &dyn Store,
    app: &str,
    allow: &[String],
    remove: &[String],
    clear: bool,
) -> anyhow::Result<AppSettings> {
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
            AppSettings {
                cors_origins,
                ..settings
            },
        )
        .await?)
}

/// What `app limits` does to one of the app's limits.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Edit {
    /// Leave it as it is.
    Keep,
    /// Drop it (the server's default applies).
    Clear,
    /// Set it.
    Set(RateLimitSetting),
}

fn edit(set: Option<LimitSpec>, clear: bool) -> Edit {
    match (set, clear) {
        (Some(spec), _) => Edit::Set(spec.0),
        (None, true) => Edit::Clear,
        (None, false) => Edit::Keep,
    }
}

/// The change `app limits` makes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LimitsChange {
    writes: Edit,
    reads: Edit,
}

/// `app limits`: applies the change to the app's limits (its origins unchanged); with no
/// change, only reads them.
async fn app_limits(
    store: &dyn Store,
    app: &str,
    change: LimitsChange,
) -> anyhow::Result<AppSettings> {
    let mut settings = store.app_settings(app).await?;
    if change.writes == Edit::Keep && change.reads == Edit::Keep {
        return Ok(settings);
    }
    for (edit, slot) in [
        (change.writes, &mut settings.rate_limits.writes),
        (change.reads, &mut settings.rate_limits.reads),
    ] {
        match edit {
            Edit::Keep => {}
            Edit::Clear => *slot = None,
            Edit::Set(limit) => *slot = Some(limit),
        }
    }
    Ok(store.set_app_settings(app, settings).await?)
}

/// A limit as `app limits` takes it: `RATE[/BURST]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitSpec(pub RateLimitSetting);

/// A `RATE[/BURST]` that does not parse or is out of bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitSpecError {
    /// RATE is not a number.
    #[error("{0:?} is not a rate (requests per second, such as 5 or 0.5)")]
    Rate(String),
    /// BURST is not a whole number.
    #[error("{0:?} is not a burst (a whole number of requests, such as 20)")]
    Burst(String),
    /// The values are out of the accepted bounds.
    #[error("{0}")]
    Bounds(String),
}

impl FromStr for LimitSpec {
    type Err = LimitSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (rate, burst) = match s.split_once('/') {
            Some((rate, burst)) => (rate.trim(), Some(burst.trim())),
            None => (s.trim(), None),
        };
        let per_second: f64 = rate
            .parse()
            .ok()
            .filter(|r: &f64| r.is_finite())
            .ok_or_else(|| LimitSpecError::Rate(rate.to_owned()))?;
        let burst = match burst {
            Some(b) => b.parse().map_err(|_| LimitSpecError::Burst(b.to_owned()))?,
            None => (per_second * 5.0).ceil().clamp(1.0, f64::from(u32::MAX)) as u32,
        };
        let limit = RateLimitSetting { per_second, burst };
        limit.validate().map_err(LimitSpecError::Bounds)?;
        Ok(Self(limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> Result<(f64, u32), LimitSpecError> {
        s.parse::<LimitSpec>().map(|l| (l.0.per_second, l.0.burst))
    }

    #[test]
    fn limit_specs_parse_with_a_default_burst_and_bounds() {
        assert_eq!(spec("5/20"), Ok((5.0, 20)));
        assert_eq!(spec("0.5"), Ok((0.5, 3)));
        assert_eq!(spec("0.01"), Ok((0.01, 1)));
        assert_eq!(spec("20"), Ok((20.0, 100)));
        assert!(matches!(spec("fast"), Err(LimitSpecError::Rate(_))));
        assert!(matches!(spec("inf"), Err(LimitSpecError::Rate(_))));
        assert!(matches!(spec("5/lots"), Err(LimitSpecError::Burst(_))));
        assert!(matches!(spec("5/-1"), Err(LimitSpecError::Burst(_))));
        for out in ["0", "0.001", "20000", "5/0", "5/100001"] {
            assert!(matches!(spec(out), Err(LimitSpecError::Bounds(_))), "{out}");
        }
    }
}
