//! The floor: a raw loopback WebSocket echo server (tokio-tungstenite, in this process) and
//! the client side the load uses (tokio-tungstenite's `connect_async`, text frames), timing
//! round trips of a frame about the size of a pushed message over one connection.

use std::time::Instant;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

use crate::stats::{Percentiles, summarize};

/// The floor's result.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FloorReport {
    /// Round trips timed.
    pub round_trips: usize,
    /// Bytes per frame.
    pub frame_bytes: usize,
    /// Round-trip percentiles.
    pub rtt: Percentiles,
}

/// Starts an echo server on a loopback port; returns its `ws://` URL.
async fn echo_server() -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = tcp.set_nodelay(true);
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                while let Some(Ok(frame)) = ws.next().await {
                    if frame.is_text() && ws.send(frame).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    Ok(format!("ws://{addr}"))
}

/// Times `round_trips` echoes of a `frame_bytes` text frame over one connection (after
/// 100 untimed warm-up round trips).
pub async fn measure(round_trips: usize, frame_bytes: usize) -> anyhow::Result<FloorReport> {
    let url = echo_server().await?;
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
    let frame = "x".repeat(frame_bytes);
    let mut samples = Vec::with_capacity(round_trips);
    for i in 0..round_trips + 100 {
        let start = Instant::now();
        ws.send(Message::text(frame.clone())).await?;
        let echo = ws.next().await.context("echo socket ended")??;
        let elapsed = start.elapsed();
        if echo.len() != frame_bytes {
            bail!("echo of {} bytes, sent {frame_bytes}", echo.len());
        }
        if i >= 100 {
            samples.push(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
        }
    }
    Ok(FloorReport {
        round_trips,
        frame_bytes,
        rtt: summarize(samples),
    })
}
