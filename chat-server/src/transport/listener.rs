//! The accept loop: admits each connection under the caps (or sheds it), and serves it
//! with hyper's HTTP/1.1 server with timers on, until graceful shutdown.

use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use super::caps::ConnectionCaps;
use super::head_errors::JsonHeadErrors;
use super::request::{Peer, handle};
use super::{MAX_HEAD_BYTES, TransportConfig, fd_limit, shed};

/// Pause after an `accept` failure that is not about one connection (e.g. out of file
/// descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The connection cap in force: the configured one, clamped to the descriptor budget.
pub fn effective_max_connections(config: &TransportConfig) -> usize {
    let budget = fd_limit::fd_budget().unwrap_or(usize::MAX);
    if config.max_connections > budget {
        tracing::warn!(
            configured = config.max_connections,
            budget,
            "max connections lowered to what the file descriptor limit allows"
        );
    }
    config.max_connections.min(budget).max(1)
}

fn http1_builder(config: &TransportConfig) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_header_size(MAX_HEAD_BYTES);
    builder
}

/// Errors of `accept` that concern only the one connection being accepted.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves `router` on `listener` until `shutdown` turns `true`, then waits for the open
/// HTTP connections to finish their requests (upgraded WebSockets are not waited for).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: TransportConfig,
    shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let caps = ConnectionCaps::new(
        effective_max_connections(&config),
        config.max_connections_per_ip,
    );
    let shed_slots = Arc::new(Semaphore::new(shed::SHED_SLOTS));
    let builder = Arc::new(http1_builder(&config));
    // Each connection task holds a receiver; all dropped = all connections done.
    let (close_tx, close_rx) = watch::channel(());
    let mut stopping = shutdown.clone();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stopping.wait_for(|s| *s) => break,
        };
        let (stream, peer) = match accepted {
            Ok(ok) => ok,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                tracing::error!(error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let ip = peer.ip().to_canonical();
        match caps.admit(ip) {
            Ok(permit) => {
                let peer = Peer::new(ip, permit);
                let task = Connection {
                    stream,
                    peer,
                    router: router.clone(),
                    builder: builder.clone(),
                    shutdown: shutdown.clone(),
                    _done: close_rx.clone(),
                };
                tokio::spawn(task.run());
            }
            Err(refusal) => {
                tracing::debug!(%ip, ?refusal, "connection refused");
                shed::refuse(stream, refusal, &shed_slots);
            }
        }
    }
    drop(listener);
    drop(close_rx);
    close_tx.closed().await;
    Ok(())
}

/// One admitted connection.
struct Connection {
    stream: TcpStream,
    peer: Peer,
    router: Router,
    builder: Arc<http1::Builder>,
    shutdown: watch::Receiver<bool>,
    _done: watch::Receiver<()>,
}

impl Connection {
    async fn run(mut self) {
        // Small frames (pings, pushes) go out at once.
        let _ = self.stream.set_nodelay(true);
        let io = TokioIo::new(JsonHeadErrors::new(self.stream));
        let (router, peer) = (self.router, self.peer);
        let service = service_fn(move |req| handle(router.clone(), peer.clone(), req));
        let mut conn = pin!(self.builder.serve_connection(io, service).with_upgrades());
        let mut stopping = false;
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    break;
                }
                _ = self.shutdown.wait_for(|s| *s), if !stopping => {
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
