//! The servers under load: `chat-server serve` processes this tool spawns (fresh app, temp
//! data directory, free port; killed when dropped) — one on SQLite or PostgreSQL, or
//! several nodes on one PostgreSQL database sharing realtime through a NATS broker — or
//! ones it attaches to ([`Target`]); their resident memory and CPU time; and this
//! process's file-descriptor limit.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use chat_protocol::AppCredentials;
use tempfile::TempDir;

/// A running server: where it answers, the app to load, and its pid when known (for RSS).
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL, e.g. `http://127.0.0.1:8787`.
    pub base_url: String,
    /// The app's credentials (the secret mints user tokens and authenticates setup).
    pub app: AppCredentials,
    /// The server's process id, to read its `VmRSS`; `None` when it is not a local process.
    pub pid: Option<u32>,
}

impl Target {
    /// The WebSocket URL (`ws://…/connection/websocket`).
    pub fn ws_url(&self) -> String {
        let rest = self
            .base_url
            .strip_prefix("http://")
            .map(|r| format!("ws://{r}"))
            .or_else(|| {
                self.base_url
                    .strip_prefix("https://")
                    .map(|r| format!("wss://{r}"))
            })
            .unwrap_or_else(|| self.base_url.clone());
        format!("{}/connection/websocket", rest.trim_end_matches('/'))
    }
}

/// Raises this process's soft `RLIMIT_NOFILE` to the hard limit (children inherit it);
/// returns the soft limit now.
pub fn raise_fd_limit() -> anyhow::Result<Option<u64>> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let now = getrlimit(Resource::Nofile);
        if let Some(hard) = now.maximum
            && now.current.is_some_and(|soft| soft < hard)
        {
            setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(hard),
                    maximum: Some(hard),
                },
            )?;
        }
        Ok(getrlimit(Resource::Nofile).current)
    }
    #[cfg(not(unix))]
    Ok(None)
}

/// `VmRSS` of process `pid` in kB (Linux `/proc/<pid>/status`).
pub fn vm_rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .with_context(|| format!("no VmRSS for process {pid}"))
}

/// A `chat-server serve` child process with its data directory; killed on drop.
pub struct SpawnedServer {
    child: Child,
    /// The temporary data directory (`chat.db`, `server.log`); removed on drop.
    pub dir: TempDir,
    /// Where it answers and the app created for the run.
    pub target: Target,
}

impl SpawnedServer {
    /// Creates an app with `bin app create` in a fresh data directory (or, given a
    /// `database_url`, in that PostgreSQL database, under a name of its own), then starts
    /// `bin serve` on a free loopback port with the per-address limits lifted (every
    /// socket comes from 127.0.0.1) and room for `connections` WebSockets, and waits
    /// until `/healthz` answers.
    pub async fn spawn(
        bin: &Path,
        connections: usize,
        database_url: Option<&str>,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let data_dir = dir.path().to_str().context("temp path is not UTF-8")?;
        let store: Vec<String> = match database_url {
            Some(url) => vec!["--database-url".into(), url.into()],
            None => vec!["--data-dir".into(), data_dir.into()],
        };
        let app = create_app(bin, &store)?;
        Self::serve(bin, dir, &store, app, connections).await
    }

    /// Creates an app with `bin app create` in the PostgreSQL database at `database_url`
    /// (under a name of its own), then starts `nodes` servers on it, one after the other,
    /// each `bin serve --database-url … --nats-url …` on a free loopback port of its own
    /// with a temporary directory of its own (its `server.log`), the limits of
    /// [`SpawnedServer::spawn`] and room for `connections` WebSockets each. A node answers
    /// `/healthz` only once it has subscribed to the broker, so each is waited for in turn;
    /// the nodes already started are killed if a later one fails.
    pub async fn spawn_nodes(
        bin: &Path,
        connections: usize,
        database_url: &str,
        nats_url: &str,
        nodes: usize,
    ) -> anyhow::Result<Vec<Self>> {
        let store: Vec<String> = vec![
            "--database-url".into(),
            database_url.into(),
            "--nats-url".into(),
            nats_url.into(),
        ];
        let app = create_app(bin, &store[..2])?;
        let mut started = Vec::with_capacity(nodes);
        for node in 0..nodes {
            let dir = tempfile::tempdir()?;
            let server = Self::serve(bin, dir, &store, app.clone(), connections)
                .await
                .with_context(|| format!("starting node {} of {nodes}", node + 1))?;
            started.push(server);
        }
        Ok(started)
    }

    /// Starts `bin serve` with the `store` arguments for `app`, logging to
    /// `dir/server.log`, and waits until it answers.
    async fn serve(
        bin: &Path,
        dir: TempDir,
        store: &[String],
        app: AppCredentials,
        connections: usize,
    ) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let addr = format!("127.0.0.1:{port}");
        let log = std::fs::File::create(dir.path().join("server.log"))?;
        let max_ws = (connections + 100).to_string();
        let max_conns = (connections + 2_000).to_string();
        let child = Command::new(bin)
            .args(["serve", "--addr", &addr])
            .args(store)
            .args([
                "--max-connections-per-ip",
                "0",
                "--connect-rate-per-ip",
                "0",
            ])
            .args(["--max-connections", &max_conns, "--max-websockets", &max_ws])
            .env_remove("DATABASE_URL")
            .env_remove("NATS_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let target = Target {
            base_url: format!("http://{addr}"),
            app,
            pid: Some(child.id()),
        };
        let server = Self { child, dir, target };
        server.wait_healthy().await?;
        Ok(server)
    }

    async fn wait_healthy(&self) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let url = format!("{}/healthz", self.target.base_url);
        for _ in 0..100 {
            if let Ok(r) = http.get(&url).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        bail!("the server did not answer /healthz within 10 s; its log:\n{log}")
    }
}

/// Runs `bin app create` with the `store` arguments under a fresh name; returns the app.
fn create_app(bin: &Path, store: &[String]) -> anyhow::Result<AppCredentials> {
    let name = format!("load-{}", uuid::Uuid::now_v7().simple());
    let created = Command::new(bin)
        .args(["app", "create", "--name", &name])
        .args(store)
        .env_remove("DATABASE_URL")
        .output()
        .with_context(|| format!("running {} (build it first)", bin.display()))?;
    if !created.status.success() {
        bail!("app create: {}", String::from_utf8_lossy(&created.stderr));
    }
    serde_json::from_slice(&created.stdout).context("app create's output")
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The default server binary: `chat-server` next to this executable (both built by the
/// same `cargo build --release`), else `$CARGO_TARGET_DIR/release/chat-server`, else the
/// workspace's `target/release/chat-server`.
pub fn default_server_bin() -> PathBuf {
    if let Some(sibling) = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("chat-server")))
        .filter(|p| p.is_file())
    {
        return sibling;
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir).join("release/chat-server");
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/chat-server")
}

/// CPU time (user + system, seconds) of process `pid`, or of this process for `None`,
/// from `/proc/<pid>/stat` (Linux reports it in USER_HZ, 100 per second).
pub fn cpu_secs(pid: Option<u32>) -> Option<f64> {
    let path = pid.map_or_else(
        || "/proc/self/stat".to_owned(),
        |p| format!("/proc/{p}/stat"),
    );
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}
