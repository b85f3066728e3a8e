//! The N user WebSockets: connects bounded to a number in flight, each to the node its user
//! is assigned to, then one reader task per socket that answers the server's pings and
//! records the delivery latency of every pushed load message into the shared [`Recorder`]
//! (and whether it crossed nodes: sent through another node than the socket's); sockets
//! that end are counted as dropped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::stats::{Recorder, now_nanos};

/// A client WebSocket.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What every reader shares: the latencies and the sockets that ended.
#[derive(Default)]
pub struct Shared {
    /// Delivery latencies per step.
    pub recorder: Recorder,
    /// Sockets the server closed or that failed after connecting.
    pub dropped: AtomicUsize,
    /// The first few reasons sockets ended (close codes, errors).
    pub drop_reasons: Mutex<Vec<String>>,
}

impl Shared {
    fn dropped(&self, reason: String) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        let mut reasons = self.drop_reasons.lock().unwrap_or_else(|e| e.into_inner());
        if reasons.len() < 5 {
            reasons.push(reason);
        }
    }
}

/// Outcome of opening the sockets.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ConnectStats {
    /// Sockets that completed `connect`.
    pub opened: usize,
    /// Sockets that failed to open or to `connect`.
    pub errors: usize,
    /// Sockets opened on each node, in node order.
    pub per_node: Vec<usize>,
    /// Time to open all of them (seconds).
    pub secs: f64,
    /// The first few errors.
    pub first_errors: Vec<String>,
}

/// The open sockets' reader tasks; aborted on drop.
pub struct Held {
    readers: Vec<JoinHandle<()>>,
}

impl Held {
    /// Number of reader tasks (sockets opened).
    pub fn len(&self) -> usize {
        self.readers.len()
    }

    /// Whether no socket is held.
    pub fn is_empty(&self) -> bool {
        self.readers.is_empty()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        for r in &self.readers {
            r.abort();
        }
    }
}

/// Opens a socket and completes the Centrifuge `connect` with `token`.
pub async fn connect(url: &str, token: &str) -> anyhow::Result<Socket> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    let cmd = serde_json::json!({"id": 1, "connect": {"token": token, "name": "chat-load"}});
    ws.send(Message::text(cmd.to_string())).await?;
    let deadline = Duration::from_secs(30);
    loop {
        let frame = tokio::time::timeout(deadline, ws.next())
            .await
            .context("no connect reply within 30 s")?
            .context("socket ended before the connect reply")??;
        match frame {
            Message::Text(text) if text.as_str().contains(r#""connect""#) => return Ok(ws),
            Message::Text(text) => bail!("connect refused: {}", text.as_str()),
            Message::Close(close) => bail!("closed at connect: {close:?}"),
            _ => {}
        }
    }
}

/// Opens one socket per token, token `i` to node `node_of[i]` (an index into `urls`, the
/// nodes' WebSocket URLs), at most `in_flight` connects at a time, and starts each one's
/// reader.
pub async fn connect_all(
    urls: &[String],
    tokens: &[String],
    node_of: &[usize],
    in_flight: usize,
    shared: &Arc<Shared>,
) -> (Held, ConnectStats) {
    let started = Instant::now();
    let limit = Arc::new(Semaphore::new(in_flight.max(1)));
    let mut tasks = Vec::with_capacity(tokens.len());
    for (token, &node) in tokens.iter().zip(node_of) {
        let Ok(permit) = limit.clone().acquire_owned().await else {
            break;
        };
        let (url, token, shared) = (urls[node].clone(), token.clone(), shared.clone());
        tasks.push(tokio::spawn(async move {
            let ws = connect(&url, &token).await;
            drop(permit);
            ws.map(|ws| (node, tokio::spawn(read_loop(ws, shared, node))))
        }));
    }
    let mut stats = ConnectStats {
        per_node: vec![0; urls.len()],
        ..ConnectStats::default()
    };
    let mut readers = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok(Ok((node, reader))) => {
                stats.per_node[node] += 1;
                readers.push(reader);
            }
            Ok(Err(e)) => stats.error(e.to_string()),
            Err(e) => stats.error(e.to_string()),
        }
    }
    stats.opened = readers.len();
    stats.secs = started.elapsed().as_secs_f64();
    (Held { readers }, stats)
}

impl ConnectStats {
    fn error(&mut self, e: String) {
        self.errors += 1;
        if self.first_errors.len() < 5 {
            self.first_errors.push(e);
        }
    }
}

/// Reads pushes until the socket (on node `node`) ends: pongs each ping (`{}`), records
/// each load message.
async fn read_loop(mut ws: Socket, shared: Arc<Shared>, node: usize) {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                let now = now_nanos();
                let mut ping = false;
                for line in text.as_str().split('\n') {
                    if line == "{}" {
                        ping = true;
                    } else if let Some(push) = parse_push(line) {
                        let crossed = push.node.is_some_and(|n| n != node);
                        shared.recorder.record(
                            push.step,
                            now.saturating_sub(push.sent_ns),
                            crossed,
                        );
                    }
                }
                if ping && ws.send(Message::text("{}")).await.is_err() {
                    shared.dropped("pong failed".into());
                    return;
                }
            }
            Some(Ok(Message::Close(close))) => {
                shared.dropped(format!("closed: {close:?}"));
                return;
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                shared.dropped(format!("error: {e}"));
                return;
            }
            None => {
                shared.dropped("ended".into());
                return;
            }
        }
    }
}

#[derive(Deserialize)]
struct Frame {
    push: Push,
}
#[derive(Deserialize)]
struct Push {
    #[serde(rename = "pub")]
    publication: Publication,
}
#[derive(Deserialize)]
struct Publication {
    data: Event,
}
#[derive(Deserialize)]
struct Event {
    kind: String,
    data: Payload,
}
#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    text: Option<String>,
}

/// The message text the sender writes: `load s=<step> t=<ns since the shared base>
/// n=<node it is sent through>`.
pub fn message_text(step: usize, sent_ns: u64, node: usize) -> String {
    format!("load s={step} t={sent_ns} n={node}")
}

/// What a pushed load message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadPush {
    /// The step it was sent in.
    pub step: usize,
    /// Its send instant (ns on the shared clock).
    pub sent_ns: u64,
    /// The node it was sent through (`None` in a text without `n=`).
    pub node: Option<usize>,
}

/// The step, send instant and sending node of a pushed load message (`None` for anything
/// else: channel changes, presence, replies).
pub fn parse_push(line: &str) -> Option<LoadPush> {
    if !line.contains(r#""kind":"message""#) {
        return None;
    }
    let frame: Frame = serde_json::from_str(line).ok()?;
    let event = frame.push.publication.data;
    if event.kind != "message" {
        return None;
    }
    let text = event.data.text?;
    let (mut step, mut sent, mut node) = (None, None, None);
    for part in text.strip_prefix("load ")?.split(' ') {
        if let Some(s) = part.strip_prefix("s=") {
            step = s.parse().ok();
        } else if let Some(t) = part.strip_prefix("t=") {
            sent = t.parse().ok();
        } else if let Some(n) = part.strip_prefix("n=") {
            node = n.parse().ok();
        }
    }
    Some(LoadPush {
        step: step?,
        sent_ns: sent?,
        node,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_pushed_message_and_nothing_else() {
        let push = |text: &str| {
            format!(
                r#"{{"push":{{"channel":"chat:user:u1","pub":{{"data":{{"seq":9,"kind":"message","data":{{"id":"x","cid":"team:load-0","user_id":"u0","text":"{text}","rev":9}}}},"offset":2}}}}}}"#
            )
        };
        let sent = LoadPush {
            step: 3,
            sent_ns: 123_456_789,
            node: Some(1),
        };
        assert_eq!(
            parse_push(&push(&message_text(3, 123_456_789, 1))),
            Some(sent)
        );
        let no_node = parse_push(&push("load s=3 t=123456789"));
        assert_eq!(no_node.map(|p| p.node), Some(None));
        assert_eq!(parse_push(&push("hello")), None);
        let channel = r#"{"push":{"channel":"chat:user:u1","pub":{"data":{"seq":10,"kind":"channel","data":{"cid":"team:load-0"}}}}}"#;
        assert_eq!(parse_push(channel), None);
        assert_eq!(parse_push("{}"), None);
    }
}
