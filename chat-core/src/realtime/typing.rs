//! Typing indicators and presence, sans-I/O.
//!
//! - [`TypingThrottle`]: the user's own typing. `start` announces at most once per
//!   `throttle` per channel (and thread), and an announced typing stops by itself after
//!   `idle` without a new `start`, so a closed keyboard never leaves "typing…" behind.
//! - [`TypingTracker`]: who else is typing, per channel. The server relays events and
//!   never sends a stop on its own, so an entry expires `expire` after its last
//!   `typing: true`.
//! - [`Presence`]: online users among those who share a channel with the user. Each
//!   connection starts from the server's snapshot (who is online as it opens), then follows
//!   the transitions; what is known is cleared when the connection drops.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chat_protocol::Cid;
use chat_protocol::realtime::{PresenceEvent, TypingEvent};
use uuid::Uuid;

use crate::clock::Millis;

/// Typing timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypingConfig {
    /// At most one "typing" announcement per channel (and thread) in this time.
    pub throttle: Duration,
    /// The user's typing stops by itself after this long without `start_typing`.
    pub idle: Duration,
    /// Another user's typing is dropped this long after their last announcement.
    pub expire: Duration,
}

impl Default for TypingConfig {
    /// Announce every 3 s at most, stop after 5 s idle, expire others after 7 s.
    fn default() -> Self {
        Self {
            throttle: Duration::from_secs(3),
            idle: Duration::from_secs(5),
            expire: Duration::from_secs(7),
        }
    }
}

/// Where someone types: a channel, or a thread in it.
pub type TypingPlace = (Cid, Option<Uuid>);

/// A typing announcement to send (`POST …/typing`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypingSignal {
    /// The channel.
    pub cid: Cid,
    /// The thread, if any.
    pub parent_id: Option<Uuid>,
    /// Started or stopped.
    pub typing: bool,
}

#[derive(Debug, Clone, Copy)]
struct Own {
    announced_at: Millis,
    last_start: Millis,
}

/// See the [module documentation](self).
#[derive(Debug, Default)]
pub struct TypingThrottle {
    config: TypingConfig,
    own: HashMap<TypingPlace, Own>,
}

impl TypingThrottle {
    /// A throttle with these timings.
    pub fn new(config: TypingConfig) -> Self {
        Self {
            config,
            own: HashMap::new(),
        }
    }

    /// The user typed: returns the announcement to send, if one is due.
    pub fn start(&mut self, place: TypingPlace, now: Millis) -> Option<TypingSignal> {
        let throttle = self.config.throttle;
        match self.own.get_mut(&place) {
            Some(own) if now < own.announced_at.saturating_add(throttle) => {
                own.last_start = now;
                None
            }
            _ => {
                self.own.insert(
                    place.clone(),
                    Own {
                        announced_at: now,
                        last_start: now,
                    },
                );
                Some(signal(place, true))
            }
        }
    }

    /// The user stopped (sent the message, cleared the input): the stop to send, if
    /// typing was announced.
    pub fn stop(&mut self, place: &TypingPlace) -> Option<TypingSignal> {
        self.own.remove(place).map(|_| signal(place.clone(), false))
    }

    /// Stops that are due because the user went idle.
    pub fn poll(&mut self, now: Millis) -> Vec<TypingSignal> {
        let idle = self.config.idle;
        let due: Vec<TypingPlace> = self
            .own
            .iter()
            .filter(|(_, own)| now >= own.last_start.saturating_add(idle))
            .map(|(place, _)| place.clone())
            .collect();
        due.into_iter()
            .filter_map(|place| self.stop(&place))
            .collect()
    }

    /// When the next idle stop is due.
    pub fn next_wakeup(&self) -> Option<Millis> {
        self.own
            .values()
            .map(|own| own.last_start.saturating_add(self.config.idle))
            .min()
    }
}

fn signal((cid, parent_id): TypingPlace, typing: bool) -> TypingSignal {
    TypingSignal {
        cid,
        parent_id,
        typing,
    }
}

/// Someone typing, as a typing list shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct TypingUser {
    /// Who.
    pub user_id: String,
    /// In which thread (`None`: in the channel).
    pub parent_id: Option<Uuid>,
}

/// See the [module documentation](self).
#[derive(Debug, Default)]
pub struct TypingTracker {
    expire: Duration,
    /// Per channel: who types where, and until when.
    typing: BTreeMap<Cid, BTreeMap<TypingUser, Millis>>,
}

impl TypingTracker {
    /// A tracker that expires entries `expire` after their last announcement.
    pub fn new(expire: Duration) -> Self {
        Self {
            expire,
            typing: BTreeMap::new(),
        }
    }

    /// Records an event from another user; returns whether the channel's list changed.
    pub fn on_event(&mut self, event: &TypingEvent, now: Millis) -> bool {
        let user = TypingUser {
            user_id: event.user_id.clone(),
            parent_id: event.parent_id,
        };
        let list = self.typing.entry(event.cid.clone()).or_default();
        let changed = if event.typing {
            list.insert(user, now.saturating_add(self.expire)).is_none()
        } else {
            list.remove(&user).is_some()
        };
        if list.is_empty() {
            self.typing.remove(&event.cid);
        }
        changed
    }

    /// Drops expired entries; returns the channels whose list changed.
    pub fn expire(&mut self, now: Millis) -> Vec<Cid> {
        let mut changed = Vec::new();
        self.typing.retain(|cid, list| {
            let before = list.len();
            list.retain(|_, until| now < *until);
            if list.len() != before {
                changed.push(cid.clone());
            }
            !list.is_empty()
        });
        changed
    }

    /// Forgets everyone (the connection dropped: no stop would arrive).
    pub fn clear(&mut self) -> Vec<Cid> {
        std::mem::take(&mut self.typing).into_keys().collect()
    }

    /// Who is typing, per channel (channels where nobody types are left out).
    pub fn snapshot(&self) -> BTreeMap<Cid, Vec<TypingUser>> {
        self.typing
            .iter()
            .map(|(cid, list)| (cid.clone(), list.keys().cloned().collect()))
            .collect()
    }

    /// Who is typing in `cid`, sorted by user.
    pub fn typing(&self, cid: &Cid) -> Vec<TypingUser> {
        self.typing
            .get(cid)
            .map(|list| list.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// When the next entry expires.
    pub fn next_wakeup(&self) -> Option<Millis> {
        self.typing.values().flat_map(|l| l.values()).min().copied()
    }
}

/// See the [module documentation](self).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Presence {
    online: BTreeMap<String, bool>,
}

impl Presence {
    /// Records a transition; returns whether anything changed.
    pub fn on_event(&mut self, event: &PresenceEvent) -> bool {
        self.online.insert(event.user_id.clone(), event.online) != Some(event.online)
    }

    /// Takes the connection's snapshot: exactly `online` are online (everyone else is
    /// offline until an event says otherwise); returns whether anything changed.
    pub fn on_snapshot(&mut self, online: &[String]) -> bool {
        let next: BTreeMap<String, bool> = online.iter().map(|u| (u.clone(), true)).collect();
        let changed = self.online_users() != next.keys().cloned().collect::<Vec<_>>();
        self.online = next;
        changed
    }

    /// Forgets everything (the connection dropped).
    pub fn clear(&mut self) -> bool {
        let had = !self.online.is_empty();
        self.online.clear();
        had
    }

    /// Every user whose transition was seen on this connection, with their state.
    pub fn known(&self) -> &BTreeMap<String, bool> {
        &self.online
    }

    /// `Some(online)` for a user whose transition was seen on this connection.
    pub fn is_online(&self, user_id: &str) -> Option<bool> {
        self.online.get(user_id).copied()
    }

    /// Every user known online.
    pub fn online_users(&self) -> Vec<String> {
        self.online
            .iter()
            .filter(|(_, on)| **on)
            .map(|(u, _)| u.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use chat_protocol::ChannelType;

    use super::*;

    fn place() -> TypingPlace {
        (Cid::new(ChannelType::Team, "a").unwrap(), None)
    }

    #[test]
    fn own_typing_is_throttled_and_stops_when_idle() {
        let mut t = TypingThrottle::new(TypingConfig::default());
        assert!(t.start(place(), Millis(0)).is_some_and(|s| s.typing));
        assert_eq!(t.start(place(), Millis(1_000)), None);
        assert_eq!(t.start(place(), Millis(2_999)), None);
        assert!(t.start(place(), Millis(3_000)).is_some());
        // Last keystroke at 3 s: idle stop at 8 s.
        assert_eq!(t.next_wakeup(), Some(Millis(8_000)));
        assert!(t.poll(Millis(7_999)).is_empty());
        let stops = t.poll(Millis(8_000));
        assert_eq!(stops.len(), 1);
        assert!(!stops[0].typing);
        // Nothing announced: no stop to send.
        assert_eq!(t.stop(&place()), None);
        t.start(place(), Millis(9_000));
        assert!(t.stop(&place()).is_some_and(|s| !s.typing));
    }

    #[test]
    fn others_typing_expires_unless_renewed() {
        let mut t = TypingTracker::new(Duration::from_secs(7));
        let (cid, _) = place();
        let event = |user: &str, typing| TypingEvent {
            cid: cid.clone(),
            user_id: user.into(),
            typing,
            parent_id: None,
        };
        assert!(t.on_event(&event("ann", true), Millis(0)));
        assert!(t.on_event(&event("bob", true), Millis(1_000)));
        assert!(
            !t.on_event(&event("ann", true), Millis(2_000)),
            "renewal only"
        );
        assert_eq!(t.typing(&cid).len(), 2);
        // bob until 8 s, ann (renewed) until 9 s
        assert!(t.expire(Millis(7_999)).is_empty());
        assert_eq!(t.expire(Millis(8_000)), std::slice::from_ref(&cid));
        assert_eq!(
            t.typing(&cid),
            [TypingUser {
                user_id: "ann".into(),
                parent_id: None
            }]
        );
        assert_eq!(t.expire(Millis(9_000)), std::slice::from_ref(&cid));
        assert!(t.typing(&cid).is_empty());
        assert!(t.on_event(&event("bob", true), Millis(10_000)));
        assert!(t.on_event(&event("bob", false), Millis(10_500)));
        assert_eq!(t.next_wakeup(), None);
    }

    #[test]
    fn presence_records_transitions_and_forgets_on_disconnect() {
        let mut p = Presence::default();
        let ev = |online| PresenceEvent {
            user_id: "ann".into(),
            online,
        };
        assert!(p.on_event(&ev(true)));
        assert!(!p.on_event(&ev(true)));
        assert_eq!(p.online_users(), ["ann"]);
        assert!(p.on_event(&ev(false)));
        assert_eq!(p.is_online("ann"), Some(false));
        assert!(p.clear());
        assert_eq!(p.is_online("ann"), None);
    }

    #[test]
    fn a_snapshot_replaces_what_was_known() {
        let mut p = Presence::default();
        assert!(p.on_event(&PresenceEvent {
            user_id: "carol".into(),
            online: true,
        }));
        assert!(p.on_snapshot(&["alice".into(), "bob".into()]));
        assert_eq!(p.online_users(), ["alice", "bob"]);
        assert_eq!(p.is_online("carol"), None, "not listed: not known online");
        assert!(!p.on_snapshot(&["alice".into(), "bob".into()]), "no change");
        assert!(p.on_snapshot(&[]));
        assert!(p.online_users().is_empty());
    }
}
