//! A throwaway NATS broker for the test suites: Debian's `nats-server` installed if
//! missing, started on a free loopback port (no other interface, no monitoring port, no
//! persistence) and stopped, with its log directory removed, when the [`Broker`] is
//! dropped.
//!
//! `cargo xtask test` hands the broker to the Rust tests as `ONYXCHAT_TEST_NATS_URL` (the
//! several-nodes suite of chat-server); `cargo xtask nats` starts one and keeps it until
//! Enter, for running tests by hand.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::tools::apt_install;

/// The environment variable the tests read the broker's URL from.
pub(crate) const URL_VAR: &str = "ONYXCHAT_TEST_NATS_URL";

/// How long the broker may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A running throwaway broker; stopped on drop.
pub(crate) struct Broker {
    child: Child,
    dir: PathBuf,
    /// `nats://127.0.0.1:PORT`.
    pub url: String,
}

/// The `nats-server` binary, installing Debian's package if there is none.
fn server_bin() -> anyhow::Result<PathBuf> {
    let find = || {
        ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
    };
    if let Some(bin) = find() {
        return Ok(bin);
    }
    apt_install(&["nats-server"])?;
    find().context("no nats-server in /usr/sbin or /usr/bin after installing nats-server")
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

impl Broker {
    /// Installs `nats-server` if needed and starts a broker.
    pub(crate) fn start() -> anyhow::Result<Self> {
        let bin = server_bin()?;
        let dir = std::env::temp_dir().join(format!("onyxchat-nats-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let port = free_port()?;
        let log = dir.join("nats.log");
        let child = Command::new(&bin)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-l"])
            .arg(&log)
            .current_dir(Path::new("/"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut broker = Self {
            child,
            dir,
            url: format!("nats://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = broker.child.try_wait()? {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                bail!("nats-server exited ({status}):\n{log}");
            }
            if started.elapsed() > START_TIMEOUT {
                bail!("nats-server did not accept connections within {START_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("xtask: NATS test broker at {}", broker.url);
        Ok(broker)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Err(e) = self.child.kill() {
            eprintln!("xtask: stopping the NATS test broker: {e}");
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `cargo xtask nats`: a broker for running tests by hand, until Enter.
pub(crate) fn serve() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    eprintln!("xtask: export {URL_VAR}={}", broker.url);
    eprintln!("xtask: press Enter (or close stdin) to stop it");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop(broker);
    Ok(())
}
