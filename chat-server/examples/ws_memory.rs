//! Memory per idle authenticated WebSocket of a `chat-server serve` process.
//!
//! Starts the given server binary on a temporary data directory, opens `--connections`
//! WebSockets (20 per user) that each complete `connect`, and compares the server's
//! resident memory (`VmRSS` in `/proc/<pid>/status`) before and after. Linux only. Build
//! the server in release first; the client itself needs no optimizations:
//!
//! ```text
//! cargo build --release -p chat-server
//! cargo run -p chat-server --example ws_memory -- --server target/release/chat-server --connections 2000
//! ```

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use chat_server::auth::mint_user_token;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

/// Sockets per user (under the default per-user cap and connect burst).
const PER_USER: usize = 20;

struct Args {
    server: PathBuf,
    connections: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut server = PathBuf::from("target/release/chat-server");
    let mut connections = 2000;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--server" => server = value.into(),
            "--connections" => connections = value.parse()?,
            _ => bail!("unknown flag {flag}"),
        }
    }
    if connections == 0 || connections > 20_000 {
        bail!("--connections must be between 1 and 20000");
    }
    Ok(Args {
        server,
        connections,
    })
}

/// A field of `/proc/<pid>/status` in its unit (kB for memory).
fn proc_status(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .with_context(|| format!("no {field} for process {pid}"))
}

/// Kills the server when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn healthy(addr: &str) -> bool {
    let Ok(Ok(mut s)) =
        tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr)).await
    else {
        return false;
    };
    let req = b"GET /healthz HTTP/1.1\r\nhost: b\r\nconnection: close\r\n\r\n";
    let mut out = Vec::new();
    s.write_all(req).await.is_ok()
        && tokio::time::timeout(Duration::from_secs(1), s.read_to_end(&mut out))
            .await
            .is_ok_and(|r| r.is_ok())
        && out.starts_with(b"HTTP/1.1 200")
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a socket and completes `connect` with `token`.
async fn connect(url: &str, token: &str) -> anyhow::Result<Socket> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    let cmd = serde_json::json!({"id": 1, "connect": {"token": token}}).to_string();
    ws.send(Message::text(cmd)).await?;
    let reply = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .context("no connect reply")?
        .context("socket ended")??;
    let text = reply.into_text()?;
    if !text.contains(r#""connect""#) {
        bail!("connect failed: {text}");
    }
    Ok(ws)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    chat_server::transport::raise_fd_limit()?;
    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().to_str().context("temp path")?;
    let created = Command::new(&args.server)
        .args(["app", "create", "--name", "bench", "--data-dir", data_dir])
        .output()
        .with_context(|| format!("running {}", args.server.display()))?;
    if !created.status.success() {
        bail!("app create: {}", String::from_utf8_lossy(&created.stderr));
    }
    let creds: serde_json::Value = serde_json::from_slice(&created.stdout)?;
    let app = creds["app_id"].as_str().context("app_id")?.to_owned();
    let secret = creds["api_secret"]
        .as_str()
        .context("api_secret")?
        .to_owned();

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(&args.server)
        .args(["serve", "--addr", &addr, "--data-dir", data_dir])
        // One client address opens every socket: lift the per-address limits.
        .args([
            "--max-connections-per-ip",
            "0",
            "--connect-rate-per-ip",
            "0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let _server = Server(child);
    let mut tries = 0;
    while !healthy(&addr).await {
        tries += 1;
        if tries > 100 {
            bail!("the server did not come up");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let url = format!("ws://{addr}/connection/websocket");
    let token = |i: usize| mint_user_token(&app, &secret, &format!("u{}", i / PER_USER), 3600);
    // Warm up (caches, database readers), then measure from there.
    drop(connect(&url, &token(0)).await?);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = proc_status(pid, "VmRSS:")?;
    let mut sockets = Vec::with_capacity(args.connections);
    for i in 0..args.connections {
        sockets.push(connect(&url, &token(i)).await?);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = proc_status(pid, "VmRSS:")?;
    let threads = proc_status(pid, "Threads:")?;
    let per = (after.saturating_sub(before)) as f64 / args.connections as f64;
    println!(
        "{} idle authenticated WebSockets: server RSS {before} kB -> {after} kB, \
         {per:.1} kB per connection, {threads} threads",
        args.connections
    );
    drop(sockets);
    Ok(())
}
