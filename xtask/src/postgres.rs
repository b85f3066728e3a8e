//! A throwaway PostgreSQL cluster for the test suites: Debian's PostgreSQL installed if
//! missing, `initdb` into a fresh temporary directory, the server started on a free
//! loopback port (no TCP on other interfaces, its socket in that directory) and stopped,
//! with the directory removed, when the [`Cluster`] is dropped.
//!
//! The test cluster trades durability for speed (`fsync`, `synchronous_commit` and
//! full-page writes off): it holds test data only. `cargo xtask postgres --durable` keeps
//! PostgreSQL's defaults, for benchmarks. PostgreSQL refuses to run as root, so as root the
//! tools run as the `postgres` user the Debian package creates.
//!
//! `cargo xtask test` hands the cluster to the Rust tests as `ONYXCHAT_TEST_DATABASE_URL`;
//! `cargo xtask postgres` starts one and keeps it until Enter, for running tests by hand.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::tools::apt_install;

/// The environment variable the tests read the cluster's URL from.
pub(crate) const URL_VAR: &str = "ONYXCHAT_TEST_DATABASE_URL";

/// A running throwaway cluster; stopped and deleted on drop.
pub(crate) struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    as_postgres: bool,
    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub url: String,
}

/// The newest installed server's `bin` directory, installing Debian's package if none.
fn server_bin() -> anyhow::Result<PathBuf> {
    let newest = || -> Option<PathBuf> {
        let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .filter_map(|e| {
                let version = e.file_name().to_str()?.parse::<u32>().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb").exists().then_some((version, bin))
            })
            .collect();
        found.sort();
        found.pop().map(|(_, bin)| bin)
    };
    if let Some(bin) = newest() {
        return Ok(bin);
    }
    apt_install(&["postgresql"])?;
    newest().context("no /usr/lib/postgresql/*/bin/initdb after installing postgresql")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

impl Cluster {
    /// Installs PostgreSQL if needed and starts a fresh cluster; `durable`: with
    /// production durability (for benchmarks) instead of the test settings.
    pub(crate) fn start(durable: bool) -> anyhow::Result<Self> {
        let bin = server_bin()?;
        let as_postgres = is_root();
        let dir = std::env::temp_dir().join(format!("onyxchat-pg-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir)?;
        let mut cluster = Self {
            bin,
            dir,
            as_postgres,
            url: String::new(),
        };
        if as_postgres {
            cluster.run(
                "chown",
                &["-R", "postgres:postgres", &cluster.dir_str()],
                false,
            )?;
        }
        let data = cluster.data_str();
        cluster.tool(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
            ],
        )?;
        let port = free_port()?;
        let speed = if durable {
            ""
        } else {
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        };
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=400{speed}",
            cluster.dir_str()
        );
        let log = cluster
            .dir
            .join("server.log")
            .to_string_lossy()
            .into_owned();
        cluster.tool(
            "pg_ctl",
            &[
                "-D", &data, "-o", &options, "-l", &log, "-w", "-t", "60", "start",
            ],
        )?;
        cluster.url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        eprintln!("xtask: PostgreSQL test cluster at {}", cluster.url);
        Ok(cluster)
    }

    fn dir_str(&self) -> String {
        self.dir.to_string_lossy().into_owned()
    }

    fn data_str(&self) -> String {
        self.dir.join("data").to_string_lossy().into_owned()
    }

    /// Runs one of the server's tools, as `postgres` when we are root.
    fn tool(&self, name: &str, args: &[&str]) -> anyhow::Result<()> {
        let program = self.bin.join(name).to_string_lossy().into_owned();
        if self.as_postgres {
            let mut full = vec!["-u", "postgres", "--", program.as_str()];
            full.extend(args);
            self.run("runuser", &full, true)
        } else {
            self.run(&program, args, true)
        }
    }

    fn run(&self, program: &str, args: &[&str], quiet: bool) -> anyhow::Result<()> {
        let out = Command::new(program)
            .args(args)
            .current_dir(Path::new("/"))
            .output()
            .with_context(|| format!("starting {program}"))?;
        if !out.status.success() {
            bail!(
                "`{program} {}` failed ({}):\n{}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        if !quiet {
            eprint!("{}", String::from_utf8_lossy(&out.stdout));
        }
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data_str();
        if let Err(e) = self.tool("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]) {
            eprintln!("xtask: stopping the PostgreSQL test cluster: {e:#}");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `cargo xtask postgres [--durable]`: a cluster for running tests (or, durable,
/// benchmarks) by hand, until Enter.
pub(crate) fn serve(args: &[String]) -> anyhow::Result<()> {
    let durable = args.iter().any(|a| a == "--durable");
    let cluster = Cluster::start(durable)?;
    eprintln!("xtask: export {URL_VAR}={}", cluster.url);
    eprintln!("xtask: press Enter (or close stdin) to stop it");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop(cluster);
    Ok(())
}
