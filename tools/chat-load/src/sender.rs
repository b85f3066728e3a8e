//! Messages at a fixed rate through REST: round-robin over the channels, each one sent by a
//! member of its channel with that member's user token, through a pool of HTTP clients
//! with a bounded number of requests in flight; with several nodes, each channel's messages
//! take the nodes in turn ([`Layout::send_node`]). Each text carries its step, send instant
//! and node (see [`crate::conns::message_text`]), and the sender counts exactly which pushes
//! it expects, and how many of them on another node than the one it sent through.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use tokio::sync::Semaphore;

use crate::conns::message_text;
use crate::setup::Layout;
use crate::stats::now_nanos;

/// What a step's sends did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SendStats {
    /// Messages sent (requests started).
    pub sent: usize,
    /// Answered 2xx.
    pub ok: usize,
    /// Answered 429.
    pub rate_limited: usize,
    /// Answered another non-2xx status.
    pub http_errors: usize,
    /// Failed without an answer (connection errors, timeouts).
    pub transport_errors: usize,
    /// Pushes these messages should cause: the members of each one's channel, the author
    /// included (the server pushes a message to every current member).
    pub expected_deliveries: usize,
    /// Of those, the pushes to sockets on another node than the one the message was sent
    /// through (0 with one node).
    pub cross_node_expected: usize,
    /// Messages sent through each node, in node order.
    pub sent_per_node: Vec<usize>,
    /// Time from the first send to the last one started (seconds).
    pub send_secs: f64,
    /// The first few errors.
    pub first_errors: Vec<String>,
}

enum Outcome {
    Ok,
    RateLimited,
    Http(String),
    Transport(String),
}

/// Sends load messages; remembers where the round-robin stands between steps.
pub struct Sender {
    clients: Vec<reqwest::Client>,
    base_urls: Vec<String>,
    /// `off_node[j][x]`: members of channel `j` whose socket is not on node `x`.
    off_node: Vec<Vec<usize>>,
    tokens: Arc<Vec<String>>,
    layout: Layout,
    in_flight: usize,
    from_schedule: bool,
    next_channel: usize,
    sent_in_channel: Vec<usize>,
}

impl Sender {
    /// A sender to the nodes at `base_urls` over `clients` HTTP clients (each with its own
    /// connection pool), at most `in_flight` requests at once; `tokens[i]` is user `i`'s
    /// token, and its socket is on node [`Layout::node_of`]. With
    /// `from_schedule`, a message carries its scheduled instant instead of the instant its
    /// request starts, so time spent waiting for a request slot counts in its latency (no
    /// coordinated omission when the sender falls behind).
    pub fn new(
        base_urls: &[String],
        tokens: Arc<Vec<String>>,
        layout: Layout,
        clients: usize,
        in_flight: usize,
        from_schedule: bool,
    ) -> anyhow::Result<Self> {
        let clients = (0..clients.max(1))
            .map(|_| {
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .tcp_nodelay(true)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        if base_urls.is_empty() {
            anyhow::bail!("no node to send to");
        }
        let nodes = base_urls.len();
        let off_node = (0..layout.channels)
            .map(|j| {
                (0..nodes)
                    .map(|x| {
                        layout
                            .members(j)
                            .filter(|&i| layout.node_of(i, nodes) != x)
                            .count()
                    })
                    .collect()
            })
            .collect();
        Ok(Self {
            clients,
            base_urls: base_urls
                .iter()
                .map(|u| u.trim_end_matches('/').to_owned())
                .collect(),
            off_node,
            tokens,
            layout,
            in_flight: in_flight.max(1),
            from_schedule,
            next_channel: 0,
            sent_in_channel: vec![0; layout.channels],
        })
    }

    /// Sends `rate × secs` messages tagged `step`, message `i` due at `i / rate` seconds
    /// after the start (an absolute schedule: a late send does not delay the next ones,
    /// unless every request slot is busy), and waits for every answer.
    pub async fn run_step(&mut self, step: usize, rate: f64, secs: f64) -> SendStats {
        let total = (rate * secs).round() as usize;
        let slots = Arc::new(Semaphore::new(self.in_flight));
        let start = tokio::time::Instant::now();
        let start_ns = now_nanos();
        let nodes = self.base_urls.len();
        let mut stats = SendStats {
            sent_per_node: vec![0; nodes],
            ..SendStats::default()
        };
        let mut handles = Vec::with_capacity(total);
        for i in 0..total {
            tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / rate)).await;
            let Ok(slot) = slots.clone().acquire_owned().await else {
                break;
            };
            let j = self.next_channel;
            self.next_channel = (j + 1) % self.layout.channels;
            let k = self.sent_in_channel[j];
            self.sent_in_channel[j] += 1;
            let node = self.layout.send_node(j, k, nodes);
            stats.expected_deliveries += self.layout.member_count(j);
            stats.cross_node_expected += self.off_node[j][node];
            stats.sent_per_node[node] += 1;
            let client = self.clients[i % self.clients.len()].clone();
            let url = format!(
                "{}/v1/channels/team/{}/messages",
                self.base_urls[node],
                Layout::channel_id(j)
            );
            let token = self.tokens[self.layout.sender(j, k)].clone();
            let due_ns = start_ns + (i as f64 * 1e9 / rate) as u64;
            let from_schedule = self.from_schedule;
            handles.push(tokio::spawn(async move {
                let sent_ns = if from_schedule { due_ns } else { now_nanos() };
                let body = json!({
                    "id": uuid::Uuid::now_v7(),
                    "text": message_text(step, sent_ns, node),
                });
                let answer = client.post(url).bearer_auth(token).json(&body).send().await;
                drop(slot);
                match answer {
                    Ok(r) if r.status().is_success() => Outcome::Ok,
                    Ok(r) if r.status().as_u16() == 429 => Outcome::RateLimited,
                    Ok(r) => {
                        let status = r.status();
                        Outcome::Http(format!("{status} {}", r.text().await.unwrap_or_default()))
                    }
                    Err(e) => Outcome::Transport(e.to_string()),
                }
            }));
        }
        stats.sent = handles.len();
        stats.send_secs = start.elapsed().as_secs_f64();
        for handle in handles {
            match handle.await {
                Ok(Outcome::Ok) => stats.ok += 1,
                Ok(Outcome::RateLimited) => stats.rate_limited += 1,
                Ok(Outcome::Http(e)) => {
                    stats.http_errors += 1;
                    note(&mut stats.first_errors, e);
                }
                Ok(Outcome::Transport(e)) => {
                    stats.transport_errors += 1;
                    note(&mut stats.first_errors, e);
                }
                Err(e) => {
                    stats.transport_errors += 1;
                    note(&mut stats.first_errors, e.to_string());
                }
            }
        }
        stats
    }
}

fn note(errors: &mut Vec<String>, e: String) {
    if errors.len() < 5 {
        errors.push(e);
    }
}
