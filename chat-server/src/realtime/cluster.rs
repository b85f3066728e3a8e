//! The sans-I/O half of fan-out between nodes ([`super::nats`]): the wire encoding of what
//! nodes tell each other, the table of other nodes' connected users with its expiry rule,
//! and the detection of lost messages. Time is an input everywhere, so the rules are
//! tested without a broker or a clock.
//!
//! **Subjects** ([`Subjects`], [`super::subjects`]): events go to `<prefix>.ev.<app>`,
//! presence to `<prefix>.presence.all`, under the deployment's prefix.
//!
//! **Wire encoding.** Every message names its origin node (a random id per process) and
//! `n`, the number of events that node has handed to the broker so far.
//!
//! - An event (subject `<prefix>.ev.<app>`): a one-line JSON header
//!   `{"node":…,"n":…,"app":…,"to":[recipients…],"durable":bool}`, a `\n`, then the event's
//!   JSON exactly as the local hub delivers it (no re-encoding, no escaping).
//! - Presence (subject `<prefix>.presence.all`): one JSON object, `{"node":…,"n":…,"full":
//!   [[app,user,connections],…]}` (a node's whole table, every [`HEARTBEAT`]) or
//!   `{"node":…,"n":…,"set":[app,user,connections]}` (one user changed; 0 = gone).
//!
//! **Lost messages** ([`Origins`]): events of one origin arrive in its order (one publisher
//! connection, one subscription), numbered 1, 2, 3…; a presence message carries the number
//! of the last event sent before it. A number past the next one expected means events were
//! lost (broker outage, a slow subscription, a node that dropped events while disconnected):
//! the receiver then cuts off its local subscriptions, so their clients reconnect and catch
//! up through `/v1/sync`. An origin's first message sets its baseline.
//!
//! **Presence expiry** ([`PresenceTable`]): a node's entries live while its messages keep
//! coming. Each node sends its full table every [`HEARTBEAT`] (2 s) and each change at
//! once; an origin not heard from for [`NODE_TTL`] (3 heartbeats, 6 s) is dropped with all
//! its users. A full table replaces the origin's entries (a lost change is repaired by the
//! next heartbeat). Receivers check expiry every [`EXPIRY_TICK`] (1 s), so a dead node's
//! users go offline for everyone at most `NODE_TTL + EXPIRY_TICK` = 7 s after its last
//! heartbeat (at most 7 s after it died, since its last heartbeat came before its death),
//! plus the time to look up their peers.
//!
//! **A node that dies between a commit and its publication** leaves that change in the
//! database but never on the wire, and nothing in the numbering shows it (the origin's
//! stream just stops). So the table also remembers, per origin, the apps it published
//! events for ([`PresenceTable::event_from`]); when the origin expires, the receiver cuts
//! off its local subscriptions of those apps (their clients reconnect and catch up
//! through `/v1/sync`), and of no other app. Not covered: an app whose very first event
//! from that origin was the one lost (the origin was never seen serving it). A node that
//! stops cleanly says so last (`{"node":…,"n":…,"done":true}`, after its every event), and
//! its end makes nobody resync.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use super::subjects::{
    DEFAULT_SUBJECT_PREFIX, MAX_SUBJECT_PREFIX, SubjectPrefixError, Subjects,
};

/// How often a node sends its full presence table.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// How long an origin's presence entries live without a message from it.
pub const NODE_TTL: Duration = Duration::from_secs(6);
/// How often expiry is checked.
pub const EXPIRY_TICK: Duration = Duration::from_secs(1);

/// A message that cannot be decoded.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// An event without the newline that ends its header.
    #[error("event without a header line")]
    NoHeader,
    /// A header or presence message that is not the expected JSON.
    #[error("bad message: {0}")]
    Json(#[from] serde_json::Error),
    /// An event whose data is not UTF-8.
    #[error("event data is not UTF-8")]
    NotUtf8,
}

/// The header of an event message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventHeader {
    /// The origin node.
    pub node: String,
    /// This event's number in its origin's stream (1, 2, 3…).
    pub n: u64,
    /// The app.
    pub app: String,
    /// The recipients.
    pub to: Vec<String>,
    /// Whether the event is a durable change.
    pub durable: bool,
    /// A durable change's `seq` (0 for ephemeral events).
    #[serde(default)]
    pub seq: u64,
}

/// Encodes an event: its header line, `\n`, `data`.
pub fn encode_event(header: &EventHeader, data: &str) -> Vec<u8> {
    // A header of strings and numbers always encodes.
    let mut out = serde_json::to_vec(header).unwrap_or_default();
    out.reserve(1 + data.len());
    out.push(b'\n');
    out.extend_from_slice(data.as_bytes());
    out
}

/// Decodes an event into its header and data.
pub fn decode_event(bytes: &[u8]) -> Result<(EventHeader, &str), WireError> {
    let split = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(WireError::NoHeader)?;
    let header = serde_json::from_slice(&bytes[..split])?;
    let data = std::str::from_utf8(&bytes[split + 1..]).map_err(|_| WireError::NotUtf8)?;
    Ok((header, data))
}

/// One user's connections on a node: `(app, user, connections)`.
pub type Entry = (String, String, u32);

/// A presence message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceMessage {
    /// The origin node.
    pub node: String,
    /// The number of the last event the origin sent before this message.
    pub n: u64,
    /// What it says.
    #[serde(flatten)]
    pub body: PresenceBody,
}

/// The content of a presence message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PresenceBody {
    /// The origin's whole table (a heartbeat).
    #[serde(rename = "full")]
    Full(Vec<Entry>),
    /// One user's count on the origin (0: none left).
    #[serde(rename = "set")]
    Set(Entry),
    /// The origin is stopping cleanly and has handed every event it will ever send: its
    /// end must not make anyone resync (its users still expire as usual).
    #[serde(rename = "done")]
    Done(bool),
}

/// What a message's number says about the events before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continuity {
    /// Nothing was lost.
    Intact,
    /// Some events of the origin never arrived.
    Gap,
}

/// The last event number seen from each origin (see the module docs).
#[derive(Debug, Default)]
pub struct Origins {
    last: HashMap<String, u64>,
}

impl Origins {
    /// An event numbered `n` from `node` arrived.
    pub fn event(&mut self, node: &str, n: u64) -> Continuity {
        let previous = self.last.insert(node.to_owned(), n);
        match previous {
            Some(last) if n > last + 1 => Continuity::Gap,
            _ => Continuity::Intact,
        }
    }

    /// A presence message from `node` arrived, sent after its event number `n`.
    pub fn presence(&mut self, node: &str, n: u64) -> Continuity {
        match self.last.get_mut(node) {
            Some(last) if n > *last => {
                *last = n;
                Continuity::Gap
            }
            Some(_) => Continuity::Intact,
            None => {
                self.last.insert(node.to_owned(), n);
                Continuity::Intact
            }
        }
    }

    /// Forgets origins whose presence expired (a node that comes back is a new baseline;
    /// a process that restarts has a new id anyway).
    pub fn forget(&mut self, node: &str) {
        self.last.remove(node);
    }
}

#[derive(Debug)]
struct Node {
    heard: Instant,
    users: HashMap<(String, String), u32>,
    /// Apps this node published events for.
    apps: HashSet<String>,
}

impl Node {
    fn new(now: Instant) -> Self {
        Self {
            heard: now,
            users: HashMap::new(),
            apps: HashSet::new(),
        }
    }
}

/// A node that fell silent: its id and the apps it published events for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadNode {
    /// The node.
    pub node: String,
    /// The apps whose local subscriptions must resync (sorted).
    pub apps: Vec<String>,
}

/// Other nodes' connected users, expiring with their node (see the module docs).
#[derive(Debug, Default)]
pub struct PresenceTable {
    nodes: HashMap<String, Node>,
    /// Connections per user over every live node.
    totals: HashMap<(String, String), u32>,
}

impl PresenceTable {
    /// Connections of `user` on other live nodes.
    pub fn count(&self, app: &str, user: &str) -> u32 {
        // A tuple key needs owned strings to look up; presence is not a hot path.
        self.totals
            .get(&(app.to_owned(), user.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// Applies `message` received at `now`; returns the users whose online state on other
    /// nodes changed (had connections and has none now, or the reverse).
    pub fn apply(&mut self, message: PresenceMessage, now: Instant) -> Vec<(String, String)> {
        let mut changed = HashSet::new();
        let node = self
            .nodes
            .entry(message.node)
            .or_insert_with(|| Node::new(now));
        node.heard = now;
        let updates: Vec<Entry> = match message.body {
            PresenceBody::Done(_) => {
                node.apps.clear();
                return Vec::new();
            }
            PresenceBody::Set(entry) => vec![entry],
            PresenceBody::Full(entries) => {
                let listed: HashSet<(&str, &str)> = entries
                    .iter()
                    .map(|(a, u, _)| (a.as_str(), u.as_str()))
                    .collect();
                let mut all: Vec<Entry> = node
                    .users
                    .keys()
                    .filter(|(a, u)| !listed.contains(&(a.as_str(), u.as_str())))
                    .map(|(a, u)| (a.clone(), u.clone(), 0))
                    .collect();
                all.extend(entries);
                all
            }
        };
        for (app, user, count) in updates {
            let key = (app, user);
            let old = if count == 0 {
                node.users.remove(&key)
            } else {
                node.users.insert(key.clone(), count)
            }
            .unwrap_or(0);
            if old != count {
                adjust(&mut self.totals, &key, old, count, &mut changed);
            }
        }
        changed.into_iter().collect()
    }

    /// An event of `app` arrived from `node` at `now` (it is alive, and serves `app`).
    pub fn event_from(&mut self, node: &str, app: &str, now: Instant) {
        let entry = match self.nodes.get_mut(node) {
            Some(entry) => entry,
            None => self
                .nodes
                .entry(node.to_owned())
                .or_insert_with(|| Node::new(now)),
        };
        entry.heard = now;
        if !entry.apps.contains(app) {
            entry.apps.insert(app.to_owned());
        }
    }

    /// Drops the nodes not heard from for [`NODE_TTL`] at `now`; returns them (with the
    /// apps they served) and the users whose online state on other nodes changed.
    pub fn expire(&mut self, now: Instant) -> (Vec<DeadNode>, Vec<(String, String)>) {
        let ids: Vec<String> = self
            .nodes
            .iter()
            .filter(|(_, n)| now.saturating_duration_since(n.heard) > NODE_TTL)
            .map(|(id, _)| id.clone())
            .collect();
        let mut changed = HashSet::new();
        let mut dead = Vec::new();
        for id in ids {
            if let Some(node) = self.nodes.remove(&id) {
                for (key, count) in node.users {
                    adjust(&mut self.totals, &key, count, 0, &mut changed);
                }
                let mut apps: Vec<String> = node.apps.into_iter().collect();
                apps.sort();
                dead.push(DeadNode { node: id, apps });
            }
        }
        (dead, changed.into_iter().collect())
    }
}

/// Moves `key`'s total from one node's `old` count to `new`, noting a change of zero-ness.
fn adjust(
    totals: &mut HashMap<(String, String), u32>,
    key: &(String, String),
    old: u32,
    new: u32,
    changed: &mut HashSet<(String, String)>,
) {
    let before = totals.get(key).copied().unwrap_or(0);
    let after = (before + new).saturating_sub(old);
    if after == 0 {
        totals.remove(key);
    } else {
        totals.insert(key.clone(), after);
    }
    if (before == 0) != (after == 0) {
        changed.insert(key.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(app: &str, user: &str, n: u32) -> Entry {
        (app.into(), user.into(), n)
    }

    fn msg(node: &str, n: u64, body: PresenceBody) -> PresenceMessage {
        PresenceMessage {
            node: node.into(),
            n,
            body,
        }
    }

    #[test]
    fn events_and_presence_round_trip() {
        let header = EventHeader {
            node: "n1".into(),
            n: 7,
            app: "app_x".into(),
            to: vec!["alice".into(), "b\"ob\n".into()],
            durable: true,
            seq: 5,
        };
        let data = "{\"seq\":5,\"text\":\"line\\none\"}\nnot a header";
        let bytes = encode_event(&header, data);
        assert_eq!(decode_event(&bytes).unwrap(), (header, data));
        assert!(matches!(decode_event(b"{}"), Err(WireError::NoHeader)));
        assert!(decode_event(b"nope\n{}").is_err());

        for body in [
            PresenceBody::Full(vec![entry("a", "u", 2), entry("a", "v", 1)]),
            PresenceBody::Set(entry("a", "u", 0)),
        ] {
            let m = msg("n1", 3, body);
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(serde_json::from_str::<PresenceMessage>(&json).unwrap(), m);
        }
        let set = serde_json::to_string(&msg("n", 1, PresenceBody::Set(entry("a", "u", 1))));
        assert_eq!(set.unwrap(), r#"{"node":"n","n":1,"set":["a","u",1]}"#);
    }

    #[test]
    fn lost_events_are_detected() {
        let mut o = Origins::default();
        assert_eq!(o.event("n1", 5), Continuity::Intact, "baseline");
        assert_eq!(o.event("n1", 6), Continuity::Intact);
        assert_eq!(o.presence("n1", 6), Continuity::Intact);
        assert_eq!(o.event("n1", 8), Continuity::Gap);
        // a heartbeat says events were sent after the last one seen
        assert_eq!(o.presence("n1", 9), Continuity::Gap);
        assert_eq!(
            o.event("n1", 10),
            Continuity::Intact,
            "counted from the heartbeat"
        );
        assert_eq!(o.presence("n2", 40), Continuity::Intact, "baseline");
        assert_eq!(o.event("n2", 41), Continuity::Intact);
        o.forget("n2");
        assert_eq!(o.event("n2", 60), Continuity::Intact, "a new baseline");
    }

    #[test]
    fn entries_follow_changes_and_full_tables_and_expire_with_their_node() {
        let t0 = Instant::now();
        let s = |secs: u64| t0 + Duration::from_secs(secs);
        let key = |u: &str| ("a".to_owned(), u.to_owned());
        let mut table = PresenceTable::default();
        let on = table.apply(msg("n1", 0, PresenceBody::Set(entry("a", "u", 1))), t0);
        assert_eq!(on, vec![key("u")]);
        // a second node adds a connection: no change of state
        assert!(
            table
                .apply(msg("n2", 0, PresenceBody::Set(entry("a", "u", 2))), t0)
                .is_empty()
        );
        assert_eq!(table.count("a", "u"), 3);
        // n1's heartbeat no longer lists u but lists v
        let mut changed = table.apply(
            msg("n1", 0, PresenceBody::Full(vec![entry("a", "v", 1)])),
            s(2),
        );
        changed.sort();
        assert_eq!(changed, vec![key("v")]);
        assert_eq!(table.count("a", "u"), 2);
        // n2 falls silent; n1 keeps beating
        for t in [4, 6, 8] {
            table.apply(
                msg("n1", 0, PresenceBody::Full(vec![entry("a", "v", 1)])),
                s(t),
            );
        }
        // heard at 0: alive through 6 s, dead after
        assert_eq!(table.expire(s(6)), (vec![], vec![]));
        let (dead, changed) = table.expire(s(7));
        let n2 = DeadNode {
            node: "n2".into(),
            apps: vec![],
        };
        assert_eq!((dead, changed), (vec![n2], vec![key("u")]));
        assert_eq!(table.count("a", "u"), 0);
        assert_eq!(table.count("a", "v"), 1);
        // a count back to 0 is offline
        let off = table.apply(msg("n1", 0, PresenceBody::Set(entry("a", "v", 0))), s(9));
        assert_eq!(off, vec![key("v")]);
        assert!(table.totals.is_empty());
    }

    #[test]
    fn a_dead_node_names_the_apps_it_published_for() {
        let t0 = Instant::now();
        let s = |secs: u64| t0 + Duration::from_secs(secs);
        let mut table = PresenceTable::default();
        // events prove a node alive too, and name what it serves
        table.event_from("n1", "app_b", t0);
        table.event_from("n1", "app_a", s(1));
        table.event_from("n1", "app_b", s(2));
        table.apply(msg("n2", 0, PresenceBody::Full(vec![])), s(2));
        table.event_from("n2", "app_c", s(3));
        assert_eq!(table.expire(s(8)), (vec![], vec![]), "n1 heard at 2 s");
        let (dead, _) = table.expire(s(9));
        assert_eq!(
            dead,
            vec![DeadNode {
                node: "n1".into(),
                apps: vec!["app_a".into(), "app_b".into()],
            }]
        );
        let (dead, _) = table.expire(s(10));
        assert_eq!(dead[0].apps, vec!["app_c".to_owned()]);
        // a node that stopped cleanly leaves nothing to resync
        table.event_from("n3", "app_d", s(10));
        assert!(
            table
                .apply(msg("n3", 1, PresenceBody::Done(true)), s(10))
                .is_empty()
        );
        let (dead, _) = table.expire(s(17));
        assert_eq!(
            dead,
            vec![DeadNode {
                node: "n3".into(),
                apps: vec![],
            }]
        );
        let done = serde_json::to_string(&msg("n3", 1, PresenceBody::Done(true))).unwrap();
        assert_eq!(done, r#"{"node":"n3","n":1,"done":true}"#);
    }
}
