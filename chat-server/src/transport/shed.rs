//! Shedding load: a connection over a cap gets an immediate JSON error with
//! `connection: close` instead of waiting, then its socket is closed.
//!
//! Answering costs a task and a file descriptor for a moment, so at most [`SHED_SLOTS`]
//! refusals are in flight; beyond that a refused socket is closed at once (the client sees
//! the connection reset, which is still not a hang).

use std::sync::Arc;
use std::time::Duration;

use chat_protocol::{ErrorBody, ErrorCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use super::caps::Refusal;

/// Refusals answered at the same time.
pub const SHED_SLOTS: usize = 64;
/// Longest time spent writing a refusal.
const WRITE_TIME: Duration = Duration::from_secs(2);
/// Longest time spent reading what the client still sends before closing (closing with
/// unread input would reset the connection and could destroy the answer in flight).
const LINGER_TIME: Duration = Duration::from_secs(1);
/// Most bytes read while lingering.
const LINGER_BYTES: usize = 64 * 1024;

/// Seconds a refused client is asked to wait (`Retry-After`).
const RETRY_AFTER_SECS: u64 = 1;

/// The complete HTTP response for a refusal.
pub fn response(refusal: Refusal) -> Vec<u8> {
    let (status, code, message) = match refusal {
        Refusal::Full => (
            "503 Service Unavailable",
            ErrorCode::Overloaded,
            "the server is at its connection limit; retry later",
        ),
        Refusal::PeerFull => (
            "429 Too Many Requests",
            ErrorCode::RateLimited,
            "too many connections from your address; close some or retry later",
        ),
    };
    let body = ErrorBody {
        retry_after_secs: Some(RETRY_AFTER_SECS),
        ..ErrorBody::new(code, message)
    };
    // An ErrorBody always serializes.
    let json = serde_json::to_string(&body).unwrap_or_default();
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         retry-after: {RETRY_AFTER_SECS}\r\nconnection: close\r\n\r\n{json}",
        json.len()
    )
    .into_bytes()
}

/// Answers `stream` with the refusal and closes it, in the background.
pub fn refuse(stream: TcpStream, refusal: Refusal, slots: &Arc<Semaphore>) {
    let Ok(slot) = slots.clone().try_acquire_owned() else {
        tracing::debug!("refusal slots taken: closing a refused connection at once");
        return;
    };
    tokio::spawn(async move {
        let _slot = slot;
        let mut stream = stream;
        let bytes = response(refusal);
        let written = tokio::time::timeout(WRITE_TIME, async {
            stream.write_all(&bytes).await?;
            stream.shutdown().await
        })
        .await;
        if !matches!(written, Ok(Ok(()))) {
            return;
        }
        let _ = tokio::time::timeout(LINGER_TIME, async {
            let mut buf = [0u8; 4096];
            let mut read = 0;
            while read < LINGER_BYTES {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => read += n,
                }
            }
        })
        .await;
    });
}
