//! `serve --config FILE`: `serve`'s options from a TOML file, named like the flags with `_`
//! for `-`. A flag or an environment variable wins over the file; unknown keys and
//! ill-typed values are refused, naming the key.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

use super::serve::ServeArgs;

/// `serve`'s options from a `--config` file.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ServeFile {
    addr: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    database_pool_size: Option<usize>,
    nats_url: Option<String>,
    nats_subject_prefix: Option<String>,
    static_dir: Option<PathBuf>,
    metrics_addr: Option<SocketAddr>,
    max_connections: Option<usize>,
    max_connections_per_ip: Option<usize>,
    max_websockets: Option<usize>,
    max_websockets_per_user: Option<usize>,
    connect_rate_per_ip: Option<f64>,
    header_read_timeout_secs: Option<u64>,
    write_rate_per_user: Option<f64>,
    write_burst_per_user: Option<u32>,
    read_rate_per_user: Option<f64>,
    read_burst_per_user: Option<u32>,
}

/// Fills the options of `args` that neither a flag nor the environment set (`matches` are
/// `serve`'s) from its `--config` file, if any.
pub fn apply(args: &mut ServeArgs, matches: &clap::ArgMatches) -> anyhow::Result<()> {
    let Some(path) = &args.config else {
        return Ok(());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("--config {}", path.display()))?;
    let file: ServeFile =
        toml::from_str(&text).with_context(|| format!("--config {}", path.display()))?;
    // Only what the command line and the environment left at its default.
    let unset = |id: &str| {
        matches!(
            matches.value_source(id),
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
        addr => args.addr,
        data_dir => args.store.data_dir,
        database_url => args.store.database_url,
        database_pool_size => args.database_pool_size,
        nats_url => args.nats_url,
        nats_subject_prefix => args.nats_subject_prefix,
        static_dir => args.static_dir,
        metrics_addr => args.metrics_addr,
        max_connections => args.limits.max_connections,
        max_connections_per_ip => args.limits.max_connections_per_ip,
        max_websockets => args.limits.max_websockets,
        max_websockets_per_user => args.limits.max_websockets_per_user,
        connect_rate_per_ip => args.limits.connect_rate_per_ip,
        header_read_timeout_secs => args.limits.header_read_timeout_secs,
        write_rate_per_user => args.rates.write_rate_per_user,
        write_burst_per_user => args.rates.write_burst_per_user,
        read_rate_per_user => args.rates.read_rate_per_user,
        read_burst_per_user => args.rates.read_burst_per_user,
    );
    Ok(())
}
