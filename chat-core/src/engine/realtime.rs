//! The engine's side of realtime: it feeds the [`RealtimeMachine`] (socket events, the
//! token, network and foreground signals) and performs its effects — socket I/O through
//! the driver, pushed changes through the cache's one change-application path (the same
//! as sync pages), the catch-up sync, token renewal and the published connection state —
//! and it keeps the ephemeral state: the user's own typing (throttled, sent as best-effort
//! requests), others' typing and presence (published on watch channels).

use std::collections::BTreeMap;
use std::sync::Arc;

use chat_protocol::realtime::EphemeralEvent;
use chat_protocol::{Change, Cid, SyncChange};
use serde_json::json;
use tokio::sync::watch;
use uuid::Uuid;

use super::{Engine, Io, IoTag};
use crate::cache::Cache;
use crate::clock::Millis;
use crate::live::overlay::{Overlay, People};
use crate::net::{HttpMethod, HttpRequest};
use crate::outbox::Outbox;
use crate::realtime::{
    ConnectionState, DisconnectReason, Presence, RealtimeConfig, RealtimeEffect, RealtimeMachine,
    TypingConfig, TypingSignal, TypingThrottle, TypingTracker, TypingUser,
};

/// Who is typing, per channel.
pub type TypingMap = Arc<BTreeMap<Cid, Vec<TypingUser>>>;

/// The engine's realtime state.
pub(crate) struct RealtimeParts {
    /// The connection, when realtime is enabled.
    pub(crate) machine: Option<RealtimeMachine>,
    pub(crate) connection: watch::Sender<ConnectionState>,
    throttle: TypingThrottle,
    tracker: TypingTracker,
    presence: Presence,
    pub(crate) typing_out: watch::Sender<TypingMap>,
    pub(crate) presence_out: watch::Sender<Presence>,
}

impl Default for RealtimeParts {
    fn default() -> Self {
        let typing = TypingConfig::default();
        Self {
            machine: None,
            connection: watch::Sender::new(ConnectionState::Disconnected {
                reason: DisconnectReason::Stopped,
            }),
            throttle: TypingThrottle::new(typing),
            tracker: TypingTracker::new(typing.expire),
            presence: Presence::default(),
            typing_out: watch::Sender::new(Arc::default()),
            presence_out: watch::Sender::new(Presence::default()),
        }
    }
}

/// The outbox laid over the cache, knowing the current user and presence: what every
/// live query is delivered through. A free function over the fields it reads, so the
/// registry can be borrowed mutably beside it.
pub(crate) fn overlay<'a>(
    outbox: &'a Outbox,
    rt: &'a RealtimeParts,
    cache: &'a Cache,
) -> Overlay<'a> {
    Overlay::new(outbox).with_people(People {
        me: cache.user().unwrap_or_default(),
        presence: rt.presence.known(),
        connected: *rt.connection.borrow() == ConnectionState::Connected,
    })
}

impl RealtimeParts {
    /// When a realtime timer is due.
    pub(crate) fn next_wakeup(&self) -> Option<Millis> {
        [
            self.machine.as_ref().and_then(RealtimeMachine::next_wakeup),
            self.throttle.next_wakeup(),
            self.tracker.next_wakeup(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// A sync starts (realtime holds pushed changes until it ends).
    pub(crate) fn sync_started(&mut self) {
        if let Some(machine) = &mut self.machine {
            machine.sync_started();
        }
    }

    /// The token provider answered while a renewal was under way: `fresh` is false if it
    /// failed or handed back the same token.
    pub(crate) fn renewal_answered(&mut self, fresh: bool, now: Millis) {
        if let Some(machine) = &mut self.machine
            && !fresh
        {
            machine.renew_failed(now);
        }
    }

    /// The app asked for a new token: a token the server refused may be valid again.
    pub(crate) fn forget_refused_token(&mut self) {
        if let Some(machine) = &mut self.machine {
            machine.forget_refused_token();
        }
    }

    /// The network is back (or the app returned): reconnect now rather than after the
    /// backoff wait.
    pub(crate) fn reconnect_now(&mut self, now: Millis) {
        if let Some(machine) = &mut self.machine {
            machine.reconnect(now);
        }
    }

    /// The client shuts down: close the socket and say so.
    pub(crate) fn stop(&mut self) {
        if let Some(machine) = &mut self.machine {
            machine.stop();
            let _ = machine.poll(Millis(0));
        }
        self.connection.send_replace(ConnectionState::Disconnected {
            reason: DisconnectReason::Stopped,
        });
    }

    fn publish_typing(&self) {
        self.typing_out
            .send_replace(Arc::new(self.tracker.snapshot()));
    }
}

impl Engine {
    /// Turns realtime on (before the driver starts).
    pub(crate) fn enable_realtime(
        &mut self,
        config: RealtimeConfig,
        typing: TypingConfig,
        seed: u64,
    ) {
        self.rt.machine = Some(RealtimeMachine::new(config, seed ^ 0x7ea1));
        self.rt.throttle = TypingThrottle::new(typing);
        self.rt.tracker = TypingTracker::new(typing.expire);
    }

    /// Starts connecting (the driver calls this once, when it starts).
    pub(crate) fn start_realtime(&mut self, now: Millis) {
        let (token, stopped) = (self.token().map(str::to_owned), self.auth_stopped());
        if let Some(machine) = &mut self.rt.machine {
            machine.set_token(token.as_deref(), stopped, now);
            machine.start(now);
        }
    }

    /// A socket opened; `false` if it is no longer wanted (the driver drops it).
    pub(crate) fn socket_opened(&mut self, socket: u64, now: Millis) -> bool {
        let Some(machine) = &mut self.rt.machine else {
            return false;
        };
        machine.opened(socket, now);
        machine.current_socket() == Some(socket)
    }

    /// A text frame arrived.
    pub(crate) fn socket_frame(&mut self, socket: u64, text: &str, now: Millis) {
        if let Some(machine) = &mut self.rt.machine {
            machine.frame(socket, text, now);
        }
    }

    /// A socket closed or failed to open.
    pub(crate) fn socket_closed(
        &mut self,
        socket: u64,
        code: Option<u16>,
        reason: &str,
        now: Millis,
    ) {
        if let Some(machine) = &mut self.rt.machine {
            machine.closed(socket, code, reason, now);
        }
    }

    /// The app reports network reachability: unreachable, the outbox holds its sends.
    pub(crate) fn set_network(&mut self, available: bool, now: Millis) {
        if let Some(machine) = &mut self.rt.machine {
            machine.set_network(available, now);
        }
        self.outbox.set_reachable(available);
        if available {
            self.on_connectivity(now);
        }
    }

    /// The app says the network is back: the outbox sends again, waits end now.
    pub(crate) fn network_available(&mut self, now: Millis) {
        self.outbox.set_reachable(true);
        self.on_connectivity(now);
    }

    /// The app moved to the foreground (`true`) or the background.
    pub(crate) fn set_foreground(&mut self, foreground: bool, now: Millis) {
        if let Some(machine) = &mut self.rt.machine {
            machine.set_foreground(foreground, now);
        }
        if foreground {
            self.on_connectivity(now);
        }
    }

    /// The app asks to reconnect now.
    pub(crate) fn reconnect(&mut self, now: Millis) {
        if let Some(machine) = &mut self.rt.machine {
            machine.reconnect(now);
        }
    }

    /// The user typed in `cid` (or a thread of it): announces it if due.
    pub(crate) fn start_typing(&mut self, cid: Cid, parent_id: Option<Uuid>, now: Millis) {
        if let Some(signal) = self.rt.throttle.start((cid, parent_id), now) {
            self.send_typing(&signal);
        }
    }

    /// The user stopped typing (or sent the message).
    pub(crate) fn stop_typing(&mut self, cid: Cid, parent_id: Option<Uuid>) {
        if let Some(signal) = self.rt.throttle.stop(&(cid, parent_id)) {
            self.send_typing(&signal);
        }
    }

    fn send_typing(&mut self, signal: &TypingSignal) {
        // Without a token nothing is sent: typing is not worth queueing.
        let Some(token) = self.token().map(str::to_owned) else {
            return;
        };
        let mut body = json!({ "typing": signal.typing });
        if let Some(parent) = signal.parent_id {
            body["parent_id"] = json!(parent);
        }
        self.io.push(Io::Http {
            tag: IoTag::Typing,
            request: HttpRequest {
                method: HttpMethod::Post,
                path: format!(
                    "/v1/channels/{}/{}/typing",
                    signal.cid.kind().as_str(),
                    signal.cid.id()
                ),
                body: Some(body),
                token,
            },
        });
    }

    /// The running sync ended (`ok`: done; otherwise failed for good): realtime applies
    /// the changes it held meanwhile.
    pub(crate) fn sync_finished(&mut self, ok: bool, now: Millis) {
        if let Some(machine) = &mut self.rt.machine {
            machine.sync_finished(ok, now);
        }
    }

    /// One realtime step inside `pump`; `true` if anything happened.
    pub(crate) fn pump_realtime(&mut self, now: Millis) -> bool {
        for signal in self.rt.throttle.poll(now) {
            self.send_typing(&signal);
        }
        if !self.rt.tracker.expire(now).is_empty() {
            self.rt.publish_typing();
        }
        let (token, stopped) = (self.token().map(str::to_owned), self.auth_stopped());
        let Some(machine) = &mut self.rt.machine else {
            return false;
        };
        machine.set_token(token.as_deref(), stopped, now);
        let effects = machine.poll(now);
        let progressed = !effects.is_empty();
        for effect in effects {
            self.on_realtime_effect(effect, now);
        }
        progressed
    }

    fn on_realtime_effect(&mut self, effect: RealtimeEffect, now: Millis) {
        match effect {
            RealtimeEffect::Open { socket } => self.io.push(Io::OpenSocket { socket }),
            RealtimeEffect::Send { socket, text } => {
                self.io.push(Io::SocketSend { socket, text });
            }
            RealtimeEffect::Close { socket } => self.io.push(Io::CloseSocket { socket }),
            // `pump` asks the provider whenever there is no token.
            RealtimeEffect::NeedToken => {}
            RealtimeEffect::TokenRejected { token } => self.token_rejected(&token),
            RealtimeEffect::RenewToken => self.renew_token(),
            RealtimeEffect::CatchUp => self.request_sync(None),
            RealtimeEffect::Apply(changes) => self.apply_pushed(&changes),
            RealtimeEffect::Event(EphemeralEvent::Typing(event)) => {
                if event.user_id != self.me() && self.rt.tracker.on_event(&event, now) {
                    self.rt.publish_typing();
                }
            }
            RealtimeEffect::Event(EphemeralEvent::Presence(event)) => {
                if self.rt.presence.on_event(&event) {
                    self.rt.presence_out.send_replace(self.rt.presence.clone());
                    self.presence_changed = true;
                }
            }
            RealtimeEffect::Event(EphemeralEvent::PresenceSnapshot(snapshot)) => {
                if self.rt.presence.on_snapshot(&snapshot.online) {
                    self.rt.presence_out.send_replace(self.rt.presence.clone());
                    self.presence_changed = true;
                }
            }
            RealtimeEffect::State(state) => {
                if state != ConnectionState::Connected {
                    // Transitions only: what was seen on the old connection is stale.
                    if !self.rt.tracker.clear().is_empty() {
                        self.rt.publish_typing();
                    }
                    if self.rt.presence.clear() {
                        self.rt.presence_out.send_replace(Presence::default());
                    }
                }
                // The user's own row in member lists follows the connection.
                self.presence_changed = true;
                self.rt.connection.send_replace(state);
            }
        }
    }

    /// Applies pushed changes exactly like a sync page's (without moving the cursor).
    fn apply_pushed(&mut self, changes: &[SyncChange]) {
        self.touch();
        // Unread counts now include these: a `GET /v1/unread` answer asked before them
        // would bring back older counts.
        self.read_epoch += 1;
        let me = self.me();
        // Added to a channel that is not cached: only a sync brings its state, and its
        // messages pushed meanwhile are held until it has.
        let added = changes.iter().any(|c| {
            matches!(&c.change, Change::Member(m)
                if !m.deleted && m.user_id == me && !self.cache.has_channel(&m.cid).unwrap_or(true))
        });
        if added && let Some(machine) = &mut self.rt.machine {
            machine.request_catch_up();
        }
        if let Err(e) = self.cache.apply_changes(changes) {
            self.last_error = Some(format!("applying pushed changes: {e}"));
            // Nothing of them was applied (one transaction): a sync brings them.
            self.request_sync(None);
        }
    }
}
