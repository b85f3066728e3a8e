//! Fan-out between nodes through a NATS broker (`serve --nats-url`): several nodes serve
//! one PostgreSQL database, each delivering every node's commits, typing and presence to
//! its own connections. The encoding, the presence table and the loss detection are
//! [`super::cluster`]'s (subjects and wire format are documented there).
//!
//! - **Publishing.** [`NatsHub::publish`] delivers to this node's connections at once (its
//!   [`InProcessHub`]) and queues the event for the broker on an unbounded channel. One
//!   publisher task sends the queue in order and numbers the events, so each origin's
//!   events reach other nodes in its call order (for durable changes: its commit order).
//!   A store commit never waits for the broker. Events of different origins can interleave
//!   out of `seq` order on a receiver (by the broker's delivery latency); clients keep the
//!   higher `rev` of a row, so their state converges all the same (docs/protocol.md,
//!   "Several nodes").
//! - **Receiving.** One subscription (`<prefix>.*.*`, [`Subjects::all`]) hands other
//!   nodes' events to the local hub (this node's own are skipped by its node id). The
//!   prefix (`serve --nats-subject-prefix`) keeps deployments that share a broker apart. A gap in an origin's numbering
//!   means lost events: every local subscription is cut off, so its client reconnects and
//!   catches up through `/v1/sync` (durable changes are in the database).
//! - **Broker outage.** Local delivery goes on. While the connection is down the publisher
//!   drops what it cannot send (still numbering it, so receivers see the gap when the node
//!   is back) and logs it; `async-nats` reconnects on its own; [`Broadcaster::ready`] is
//!   `Err` until it has, so `/readyz` answers `503`.
//! - **Presence.** This node publishes, for each user it last announced, its connection
//!   count (at each [`Broadcaster::announce_presence`], which the debounce of
//!   [`super::presence`] calls), and its whole table every heartbeat. A user is online
//!   when connected here or listed by a live node; a node that stops beating (dead or cut
//!   from the broker) is forgotten after the bound stated in [`super::cluster`] (7 s).
//!   Each node announces to its own connections: changes seen through the broker or by
//!   expiry come out of [`Broadcaster::remote_presence_changes`], and the server announces
//!   them like local ones. A node stopping cleanly sends no goodbye: its users stay online
//!   until expiry, which hides the reconnection of its clients to other nodes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_nats::connection::State;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::cluster::{
    self, Continuity, EXPIRY_TICK, EventHeader, HEARTBEAT, Origins, PresenceBody, PresenceMessage,
    PresenceTable, Subjects,
};
use super::{Broadcaster, HubEvent, InProcessHub, Subscription};

/// The broker could not be reached or subscribed to.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    /// Connecting failed.
    #[error("connecting to NATS at {url}: {source}")]
    Connect {
        /// The URL.
        url: String,
        /// Why.
        source: async_nats::ConnectError,
    },
    /// Subscribing failed.
    #[error("subscribing to the deployment's subjects: {0}")]
    Subscribe(#[from] async_nats::SubscribeError),
    /// The subscription could not be confirmed.
    #[error("confirming the subscription: {0}")]
    Flush(#[from] async_nats::client::FlushError),
}

/// What the publisher task sends, in queue order.
enum Outgoing {
    Event {
        app: String,
        to: Vec<String>,
        event: HubEvent,
    },
    Presence(PresenceBody),
    /// The last message of a clean stop: `done`, flushed, then the sender is told.
    Goodbye(tokio::sync::oneshot::Sender<()>),
}

struct Shared {
    node: String,
    subjects: Subjects,
    local: InProcessHub,
    client: async_nats::Client,
    out: mpsc::UnboundedSender<Outgoing>,
    /// Users this node last announced, with their connections here.
    announced: Mutex<HashMap<(String, String), u32>>,
    remote: Mutex<PresenceTable>,
    changes: mpsc::UnboundedSender<(String, String)>,
    changes_rx: Mutex<Option<mpsc::UnboundedReceiver<(String, String)>>>,
    connected: Arc<AtomicBool>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every critical section leaves its map consistent; a panic elsewhere is no reason to
    // stop serving.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Aborts the hub's tasks when the last [`NatsHub`] clone goes.
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// The broker-backed [`Broadcaster`] (see the module docs).
#[derive(Clone)]
pub struct NatsHub {
    shared: Arc<Shared>,
    tasks: Arc<Mutex<Tasks>>,
}

impl NatsHub {
    /// Connects to the broker at `url` and subscribes to the deployment's `subjects`;
    /// returns once the subscription is confirmed, so nothing another node publishes
    /// afterwards is missed.
    pub async fn connect(url: &str, subjects: Subjects) -> Result<Self, NatsError> {
        let node = uuid::Uuid::now_v7().simple().to_string();
        let connected = Arc::new(AtomicBool::new(true));
        let flag = connected.clone();
        let client = async_nats::ConnectOptions::new()
            .name(format!("chat-server {node}"))
            .max_reconnects(None)
            .event_callback(move |event| {
                let flag = flag.clone();
                async move {
                    match event {
                        async_nats::Event::Connected => {
                            flag.store(true, Ordering::SeqCst);
                            tracing::info!("NATS connection restored");
                        }
                        async_nats::Event::Disconnected => {
                            flag.store(false, Ordering::SeqCst);
                            tracing::warn!(
                                "NATS connection lost: other nodes' events are not \
                                 delivered here until it is back"
                            );
                        }
                        other => tracing::warn!(event = %other, "NATS"),
                    }
                }
            })
            .connect(url)
            .await
            .map_err(|source| NatsError::Connect {
                url: url.to_owned(),
                source,
            })?;
        let subscriber = client.subscribe(subjects.all().to_owned()).await?;
        client.flush().await?;
        let (out, queue) = mpsc::unbounded_channel();
        let (changes, changes_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            node,
            subjects,
            local: InProcessHub::new(),
            client,
            out,
            announced: Mutex::new(HashMap::new()),
            remote: Mutex::new(PresenceTable::default()),
            changes,
            changes_rx: Mutex::new(Some(changes_rx)),
            connected,
        });
        let tasks = vec![
            tokio::spawn(publisher(shared.clone(), queue)),
            tokio::spawn(receiver(shared.clone(), subscriber)),
            tokio::spawn(heartbeat(shared.clone())),
        ];
        tracing::info!(
            node = %shared.node,
            url,
            subjects = shared.subjects.all(),
            "fan-out between nodes through NATS"
        );
        Ok(Self {
            shared,
            tasks: Arc::new(Mutex::new(Tasks(tasks))),
        })
    }

    /// This node's id in the messages it sends.
    pub fn node_id(&self) -> &str {
        &self.shared.node
    }

    /// Stops sending and receiving at once, without a goodbye, as if the process had died
    /// (other nodes forget its users after the expiry bound). Local delivery goes on. For
    /// tests of node failure.
    pub fn halt(&self) {
        let tasks = std::mem::take(&mut lock(&self.tasks).0);
        for task in tasks {
            task.abort();
        }
    }
}

impl Broadcaster for NatsHub {
    fn publish(&self, app: &str, recipients: &[String], event: HubEvent) {
        self.shared.local.publish(app, recipients, event.clone());
        let _ = self.shared.out.send(Outgoing::Event {
            app: app.to_owned(),
            to: recipients.to_vec(),
            event,
        });
    }

    fn subscribe(&self, app: &str, user: &str) -> Subscription {
        self.shared.local.subscribe(app, user)
    }

    fn connections(&self, app: &str, user: &str) -> usize {
        let elsewhere = lock(&self.shared.remote).count(app, user) as usize;
        self.shared.local.connections(app, user) + elsewhere
    }

    fn online_among(&self, app: &str, users: &[String]) -> Vec<String> {
        // The local hub's announcements count users online on other nodes too.
        self.shared.local.online_among(app, users)
    }

    fn announce_presence(&self, app: &str, user: &str, peers: &[String]) {
        let shared = &self.shared;
        let elsewhere = lock(&shared.remote).count(app, user) > 0;
        // Under the table's lock, so this user's counts are queued in the order taken.
        let mut announced = lock(&shared.announced);
        let here = shared
            .local
            .announce_presence_with(app, user, peers, elsewhere);
        let here = u32::try_from(here).unwrap_or(u32::MAX);
        let key = (app.to_owned(), user.to_owned());
        let before = if here == 0 {
            announced.remove(&key)
        } else {
            announced.insert(key.clone(), here)
        };
        if before.unwrap_or(0) != here {
            let _ = shared
                .out
                .send(Outgoing::Presence(PresenceBody::Set((key.0, key.1, here))));
        }
    }

    fn ready(&self) -> Result<(), String> {
        let state = self.shared.client.connection_state();
        if state == State::Connected && self.shared.connected.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(format!("NATS connection {state:?}"))
        }
    }

    fn goodbye(&self) -> Option<tokio::sync::oneshot::Receiver<()>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.shared.out.send(Outgoing::Goodbye(tx)).ok()?;
        Some(rx)
    }

    fn remote_presence_changes(&self) -> Option<mpsc::UnboundedReceiver<(String, String)>> {
        lock(&self.shared.changes_rx).take()
    }
}

/// Sends the queue in order, numbering events; drops (and logs) what arrives while the
/// broker is unreachable.
async fn publisher(shared: Arc<Shared>, mut queue: mpsc::UnboundedReceiver<Outgoing>) {
    let mut n: u64 = 0;
    let mut dropped: u64 = 0;
    while let Some(item) = queue.recv().await {
        let (subject, payload) = match item {
            Outgoing::Event { app, to, event } => {
                n += 1;
                let header = EventHeader {
                    node: shared.node.clone(),
                    n,
                    app,
                    to,
                    durable: event.durable,
                    seq: event.seq,
                };
                let payload = cluster::encode_event(&header, &event.data);
                (shared.subjects.event(&header.app), payload)
            }
            Outgoing::Goodbye(done) => {
                let message = PresenceMessage {
                    node: shared.node.clone(),
                    n,
                    body: PresenceBody::Done(true),
                };
                if let Ok(payload) = serde_json::to_vec(&message) {
                    let _ = shared
                        .client
                        .publish(shared.subjects.presence().to_owned(), Bytes::from(payload))
                        .await;
                    let _ = shared.client.flush().await;
                }
                let _ = done.send(());
                continue;
            }
            Outgoing::Presence(body) => {
                let message = PresenceMessage {
                    node: shared.node.clone(),
                    n,
                    body,
                };
                let Ok(payload) = serde_json::to_vec(&message) else {
                    continue;
                };
                (shared.subjects.presence().to_owned(), payload)
            }
        };
        if shared.client.connection_state() != State::Connected {
            dropped += 1;
            if dropped.is_power_of_two() {
                tracing::warn!(
                    dropped,
                    "NATS unreachable: messages for other nodes dropped (their clients \
                     catch up through /v1/sync)"
                );
            }
            continue;
        }
        if let Err(e) = shared.client.publish(subject, Bytes::from(payload)).await {
            tracing::warn!(error = %e, "NATS publish failed (other nodes resync)");
        }
    }
}

/// Hands other nodes' messages to the local hub and the presence table.
async fn receiver(shared: Arc<Shared>, mut subscriber: async_nats::Subscriber) {
    let mut origins = Origins::default();
    while let Some(message) = subscriber.next().await {
        if message.subject.as_str() == shared.subjects.presence() {
            let presence: PresenceMessage = match serde_json::from_slice(&message.payload) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "undecodable presence message from NATS");
                    continue;
                }
            };
            if presence.node == shared.node {
                continue;
            }
            if origins.presence(&presence.node, presence.n) == Continuity::Gap {
                cut_off(&shared, &presence.node);
            }
            let changed = lock(&shared.remote).apply(presence, Instant::now());
            for key in changed {
                let _ = shared.changes.send(key);
            }
            continue;
        }
        if !shared.subjects.is_event(message.subject.as_str()) {
            // Another publisher's subject of the same shape: not this deployment's.
            tracing::debug!(subject = %message.subject, "NATS message on an unknown subject");
            continue;
        }
        let (header, data) = match cluster::decode_event(&message.payload) {
            Ok(decoded) => decoded,
            Err(e) => {
                tracing::warn!(error = %e, subject = %message.subject, "undecodable NATS event");
                continue;
            }
        };
        if header.node == shared.node {
            continue;
        }
        if origins.event(&header.node, header.n) == Continuity::Gap {
            cut_off(&shared, &header.node);
        }
        lock(&shared.remote).event_from(&header.node, &header.app, Instant::now());
        let event = HubEvent {
            data: data.into(),
            durable: header.durable,
            seq: header.seq,
        };
        shared.local.publish(&header.app, &header.to, event);
    }
    tracing::error!("the NATS subscription ended: other nodes' events are no longer delivered");
}

fn cut_off(shared: &Shared, origin: &str) {
    tracing::warn!(
        origin,
        "events of another node were lost on the way: every connection here is closed \
         so its client resyncs"
    );
    shared.local.cut_off_all();
}

/// Sends this node's table every [`HEARTBEAT`] and expires silent nodes every
/// [`EXPIRY_TICK`].
async fn heartbeat(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(EXPIRY_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_beat: Option<Instant> = None;
    loop {
        tick.tick().await;
        let now = Instant::now();
        if last_beat.is_none_or(|t| now.duration_since(t) + EXPIRY_TICK / 2 >= HEARTBEAT) {
            last_beat = Some(now);
            let announced = lock(&shared.announced);
            let entries = announced
                .iter()
                .map(|((app, user), n)| (app.clone(), user.clone(), *n))
                .collect();
            let _ = shared
                .out
                .send(Outgoing::Presence(PresenceBody::Full(entries)));
        }
        let (dead, changed) = lock(&shared.remote).expire(now);
        for node in dead {
            tracing::warn!(
                node = node.node,
                apps = node.apps.len(),
                "another node fell silent: its users count as disconnected, and connections \
                 here to the apps it served are closed so their clients resync (a change it \
                 committed but never published would otherwise be missed)"
            );
            for app in &node.apps {
                shared.local.cut_off_app(app);
            }
        }
        for key in changed {
            let _ = shared.changes.send(key);
        }
    }
}
