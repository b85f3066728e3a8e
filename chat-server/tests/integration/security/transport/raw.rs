//! A raw HTTP/1.1 client over one TCP connection, from a chosen loopback address: enough
//! to send partial heads, oversized heads and keep-alive sequences that ordinary clients
//! will not send.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, timeout_at};

/// Longest wait for anything the server should do.
pub const WAIT: Duration = Duration::from_secs(30);

/// A parsed response.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawResponse {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the response says the connection closes after it.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    /// The body as JSON (panics with the response when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {self:?}"))
    }

    /// Asserts a JSON error `{code, message}` with this status and code.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        let body = self.json();
        assert_eq!(body["code"], code, "{self:?}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{self:?}"
        );
    }
}

/// One client TCP connection.
pub struct RawConn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawConn {
    /// Connects to `server` from the loopback address `127.0.0.<host>`.
    pub async fn open_from(server: SocketAddr, host: u8) -> Self {
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, host], 0)))
            .expect("bind a loopback source address");
        let stream = tokio::time::timeout(WAIT, socket.connect(server))
            .await
            .expect("connect in time")
            .expect("connect");
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Connects to `server` from 127.0.0.1.
    pub async fn open(server: SocketAddr) -> Self {
        Self::open_from(server, 1).await
    }

    /// Writes bytes as they are. A failed write is not an error here: a server may answer
    /// and close before reading everything (an oversized head); the response tells.
    pub async fn send(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes).await;
    }

    /// Reads more bytes; `false` on EOF or error.
    async fn fill(&mut self, deadline: Instant) -> bool {
        let mut chunk = [0u8; 8192];
        match timeout_at(deadline, self.stream.read(&mut chunk)).await {
            Err(_) => panic!("nothing from the server within {WAIT:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => false,
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// The next response, or `None` when the connection ends before one.
    pub async fn response(&mut self) -> Option<RawResponse> {
        let deadline = Instant::now() + WAIT;
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if !self.fill(deadline).await {
                assert!(self.buf.is_empty(), "truncated response: {:?}", self.buf);
                return None;
            }
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec()).expect("UTF-8 head");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().expect("status line");
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (n, v) = l.split_once(':').expect("header line");
                (n.trim().to_ascii_lowercase(), v.trim().to_owned())
            })
            .collect();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map_or(0, |(_, v)| v.parse().expect("content-length"));
        while self.buf.len() < head_end + len {
            assert!(self.fill(deadline).await, "truncated body");
        }
        let body = String::from_utf8(self.buf[head_end..head_end + len].to_vec()).expect("UTF-8");
        self.buf.drain(..head_end + len);
        Some(RawResponse {
            status,
            headers,
            body,
        })
    }

    /// Sends `request` and reads its response (panics when the connection ends instead).
    pub async fn request(&mut self, request: &str) -> RawResponse {
        self.send(request.as_bytes()).await;
        self.response()
            .await
            .unwrap_or_else(|| panic!("connection closed instead of answering {request:?}"))
    }

    /// Waits (at most [`WAIT`]) until the server closes the connection, discarding
    /// whatever arrives first.
    pub async fn expect_eof(&mut self) {
        let deadline = Instant::now() + WAIT;
        while self.fill(deadline).await {}
    }
}

/// A `GET /healthz` that asks to close the connection afterwards.
pub const HEALTHZ: &str = "GET /healthz HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n";
