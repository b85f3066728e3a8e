//! Fan-out of events to connected users. The store publishes committed changes here (in
//! `seq` order, see [`crate::store`]); each WebSocket connection holds a [`Subscription`].
//!
//! A subscriber that cannot keep up is cut off (its stream ends) rather than silently
//! losing events: its connection closes with a "slow" code and the client catches up
//! through `/v1/sync`. Several nodes share their publications through a broker
//! ([`super::nats::NatsHub`], which keeps an [`InProcessHub`] for its own connections).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};

use chat_protocol::realtime::{EphemeralEvent, PresenceEvent, RealtimeEvent};
use tokio::sync::mpsc;

/// Events buffered per connection before it counts as too slow.
const BUFFER: usize = 1024;

/// One serialized realtime event (the `data` of a publication).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubEvent {
    /// The event's JSON.
    pub data: Arc<str>,
    /// A durable change (with a `seq`): counted in each connection's publication
    /// `offset`, so clients can tell that none is missing. Typing and presence are not.
    pub durable: bool,
    /// A durable change's `seq` (0 for ephemeral events): a connection skips changes at or
    /// below the seq it was told at connect, which its sync covers (with several nodes,
    /// one committed just before the connect can arrive just after it).
    pub seq: u64,
}

impl HubEvent {
    /// A durable change with its `seq`.
    pub fn change(seq: u64, data: impl Into<Arc<str>>) -> Self {
        Self {
            data: data.into(),
            durable: true,
            seq,
        }
    }

    /// An ephemeral event (typing, presence).
    pub fn ephemeral(data: impl Into<Arc<str>>) -> Self {
        Self {
            data: data.into(),
            durable: false,
            seq: 0,
        }
    }
}

/// Delivers serialized realtime events to users' connections.
pub trait Broadcaster: Send + Sync + 'static {
    /// Sends `event` to every connection of each recipient, in call order.
    fn publish(&self, app: &str, recipients: &[String], event: HubEvent);
    /// Opens a stream of the events published to `user`.
    fn subscribe(&self, app: &str, user: &str) -> Subscription;
    /// Number of open subscriptions of `user` (presence).
    fn connections(&self, app: &str, user: &str) -> usize;
    /// Publishes a presence event for `user` to `peers` if the user's online state
    /// (has at least one subscription) differs from the last one announced. Deciding and
    /// publishing happen atomically, so concurrent calls end with the true state.
    fn announce_presence(&self, app: &str, user: &str, peers: &[String]);
    /// The users among `users` last announced online (on any node), sorted: the presence
    /// snapshot a new connection starts from.
    fn online_among(&self, app: &str, users: &[String]) -> Vec<String>;
    /// Whether the hub can deliver to every node's connections (a broker-backed hub whose
    /// broker is unreachable is not ready); `Err` says why.
    fn ready(&self) -> Result<(), String> {
        Ok(())
    }
    /// The users whose online state changed through other nodes, once: the server
    /// answers each with [`crate::realtime::presence::announce`] (it knows the peers). A
    /// single-node hub has none.
    fn remote_presence_changes(&self) -> Option<mpsc::UnboundedReceiver<(String, String)>> {
        None
    }
    /// The node stops cleanly after this: a broker-backed hub tells the other nodes, after
    /// every event it handed them, and the receiver fires once that is sent. A single-node
    /// hub has nobody to tell.
    fn goodbye(&self) -> Option<tokio::sync::oneshot::Receiver<()>> {
        None
    }
}

/// A live stream of events for one connection; unsubscribes when dropped.
pub struct Subscription {
    /// Events, in publish order. Ends when the subscriber was too slow.
    pub events: mpsc::Receiver<HubEvent>,
    _guard: Box<dyn Send + Sync>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

type Key = (String, String);
/// One connection's sender, tagged with its subscription id.
type Sender = (u64, mpsc::Sender<HubEvent>);

/// The subscribers of one app. Keyed by app, then user, so a publication looks each
/// recipient up by `&str`: no key is built per recipient.
#[derive(Default)]
struct AppSubscribers {
    users: HashMap<String, Vec<Sender>>,
    /// Users last announced online (absent = offline).
    announced_online: HashSet<String>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    apps: HashMap<String, AppSubscribers>,
}

impl Inner {
    fn publish(&mut self, app: &str, recipients: &[String], event: &HubEvent) {
        let Some(subscribers) = self.apps.get_mut(app) else {
            return;
        };
        for user in recipients {
            let Some(list) = subscribers.users.get_mut(user.as_str()) else {
                continue;
            };
            // A full or closed buffer drops the sender: the receiver drains what it has,
            // then ends, and the connection is closed so the client resyncs.
            list.retain(|(_, tx)| tx.try_send(event.clone()).is_ok());
        }
    }
}

/// The single-node broadcaster: an in-memory map of user → connections.
#[derive(Default, Clone)]
pub struct InProcessHub {
    inner: Arc<Mutex<Inner>>,
}

impl InProcessHub {
    /// An empty hub.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the map inconsistent; keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends the streams of `app`'s subscriptions (each connection closes as too slow, so
    /// its client reconnects and catches up through `/v1/sync`): events of the app may have
    /// been lost on the way here.
    pub fn cut_off_app(&self, app: &str) {
        if let Some(subscribers) = self.lock().apps.get_mut(app) {
            subscribers.users.clear();
        }
    }

    /// [`InProcessHub::cut_off_app`] for every app: events were lost on the way here.
    pub fn cut_off_all(&self) {
        for subscribers in self.lock().apps.values_mut() {
            subscribers.users.clear();
        }
    }

    /// [`Broadcaster::announce_presence`] where the user also counts as online when
    /// `elsewhere` (has connections on other nodes). Returns the user's connections here.
    pub fn announce_presence_with(
        &self,
        app: &str,
        user: &str,
        peers: &[String],
        elsewhere: bool,
    ) -> usize {
        let mut inner = self.lock();
        let subscribers = inner.apps.entry(app.to_owned()).or_default();
        let here = subscribers.users.get(user).map_or(0, Vec::len);
        let online = here > 0 || elsewhere;
        let changed = if online {
            subscribers.announced_online.insert(user.to_owned())
        } else {
            subscribers.announced_online.remove(user)
        };
        if subscribers.users.is_empty() && subscribers.announced_online.is_empty() {
            inner.apps.remove(app);
        }
        if changed {
            let event = RealtimeEvent::Ephemeral(EphemeralEvent::Presence(PresenceEvent {
                user_id: user.to_owned(),
                online,
            }));
            if let Ok(data) = serde_json::to_string(&event) {
                inner.publish(app, peers, &HubEvent::ephemeral(data));
            }
        }
        here
    }
}

struct Guard {
    hub: Weak<Mutex<Inner>>,
    key: Key,
    id: u64,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.upgrade() {
            let mut inner = hub.lock().unwrap_or_else(|e| e.into_inner());
            let (app, user) = &self.key;
            if let Some(subscribers) = inner.apps.get_mut(app) {
                if let Some(list) = subscribers.users.get_mut(user) {
                    list.retain(|(id, _)| *id != self.id);
                    if list.is_empty() {
                        subscribers.users.remove(user);
                    }
                }
                if subscribers.users.is_empty() && subscribers.announced_online.is_empty() {
                    inner.apps.remove(app);
                }
            }
        }
    }
}

impl Broadcaster for InProcessHub {
    fn publish(&self, app: &str, recipients: &[String], event: HubEvent) {
        self.lock().publish(app, recipients, &event);
    }

    fn subscribe(&self, app: &str, user: &str) -> Subscription {
        let (tx, rx) = mpsc::channel(BUFFER);
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner
            .apps
            .entry(app.to_owned())
            .or_default()
            .users
            .entry(user.to_owned())
            .or_default()
            .push((id, tx));
        Subscription {
            events: rx,
            _guard: Box::new(Guard {
                hub: Arc::downgrade(&self.inner),
                key: (app.to_owned(), user.to_owned()),
                id,
            }),
        }
    }

    fn connections(&self, app: &str, user: &str) -> usize {
        self.lock()
            .apps
            .get(app)
            .and_then(|s| s.users.get(user))
            .map_or(0, Vec::len)
    }

    fn announce_presence(&self, app: &str, user: &str, peers: &[String]) {
        self.announce_presence_with(app, user, peers, false);
    }

    fn online_among(&self, app: &str, users: &[String]) -> Vec<String> {
        let inner = self.lock();
        let Some(subscribers) = inner.apps.get(app) else {
            return Vec::new();
        };
        let mut online: Vec<String> = users
            .iter()
            .filter(|u| subscribers.announced_online.contains(u.as_str()))
            .cloned()
            .collect();
        online.sort();
        online
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn delivers_in_order_and_cuts_off_slow_subscribers() {
        let hub = InProcessHub::new();
        let mut a = hub.subscribe("app", "alice");
        let mut slow = hub.subscribe("app", "bob");
        let other_app = hub.subscribe("other", "alice");
        let to = ["alice".to_owned(), "bob".to_owned()];
        for i in 0..BUFFER + 1 {
            hub.publish("app", &to, HubEvent::change(i as u64 + 1, i.to_string()));
            // alice keeps up
            assert_eq!(&*a.events.recv().await.unwrap().data, i.to_string());
        }
        // bob never read: he got BUFFER events, then his stream ended.
        let mut n = 0;
        while slow.events.recv().await.is_some() {
            n += 1;
        }
        assert_eq!(n, BUFFER);
        assert_eq!(hub.connections("app", "bob"), 0);
        assert_eq!(hub.connections("app", "alice"), 1);
        drop(other_app);
        assert_eq!(hub.connections("other", "alice"), 0);
        // Nothing is kept for users and apps without connections.
        drop((a, slow));
        assert!(hub.lock().apps.is_empty());
    }

    #[tokio::test]
    async fn presence_is_announced_once_per_real_transition() {
        let hub = InProcessHub::new();
        let mut peer = hub.subscribe("app", "peer");
        let peers = ["peer".to_owned()];
        let mut next = || peer.events.try_recv().ok().map(|e| e.data.to_string());
        let first = hub.subscribe("app", "u");
        hub.announce_presence("app", "u", &peers);
        assert!(next().is_some_and(|e| e.contains(r#""online":true"#)));
        let second = hub.subscribe("app", "u");
        hub.announce_presence("app", "u", &peers);
        drop(first);
        // a late announcement from the closed connection sees the live one: no change
        hub.announce_presence("app", "u", &peers);
        assert_eq!(next(), None);
        drop(second);
        hub.announce_presence("app", "u", &peers);
        hub.announce_presence("app", "u", &peers);
        assert!(next().is_some_and(|e| e.contains(r#""online":false"#)));
        assert_eq!(next(), None);
        drop(peer);
        assert!(
            hub.lock().apps.is_empty(),
            "an offline user leaves no entry"
        );
    }
}
