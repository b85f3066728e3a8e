//! The engine's side of realtime: it feeds the [`RealtimeMachine`] (socket events, the
//! token, network and foreground signals) and performs its effects — socket I/O through
//! the driver, pushed changes through the cache's one change-application path (the same
//! as sync pages), the catch-up sync, token renewal and the published connection state.

use chat_protocol::{Change, SyncChange};

use super::engine::{CatchUp, Engine, Io};
use crate::outbox::Millis;
use crate::realtime::{ConnectionState, RealtimeConfig, RealtimeEffect, RealtimeMachine};

impl Engine {
    /// Turns realtime on (before the driver starts).
    pub(crate) fn enable_realtime(&mut self, config: RealtimeConfig, seed: u64) {
        self.realtime = Some(RealtimeMachine::new(config, seed ^ 0x7ea1));
    }

    /// A receiver of the connection state.
    pub(crate) fn connection_watch(&self) -> tokio::sync::watch::Receiver<ConnectionState> {
        self.connection.subscribe()
    }

    /// Starts connecting (the driver calls this once, when it starts).
    pub(crate) fn start_realtime(&mut self, now: Millis) {
        let (token, stopped) = (self.token().map(str::to_owned), self.auth_stopped());
        if let Some(realtime) = &mut self.realtime {
            realtime.set_token(token.as_deref(), stopped, now);
            realtime.start(now);
        }
    }

    /// A socket opened; `false` if it is no longer wanted (the driver drops it).
    pub(crate) fn socket_opened(&mut self, socket: u64, now: Millis) -> bool {
        let Some(realtime) = &mut self.realtime else {
            return false;
        };
        realtime.opened(socket, now);
        realtime.current_socket() == Some(socket)
    }

    /// A text frame arrived.
    pub(crate) fn socket_frame(&mut self, socket: u64, text: &str, now: Millis) {
        if let Some(realtime) = &mut self.realtime {
            realtime.frame(socket, text, now);
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
        if let Some(realtime) = &mut self.realtime {
            realtime.closed(socket, code, reason, now);
        }
    }

    /// The app reports network reachability.
    pub(crate) fn set_network(&mut self, available: bool, now: Millis) {
        if available {
            self.on_connectivity(now);
        }
        if let Some(realtime) = &mut self.realtime {
            realtime.set_network(available, now);
            if available {
                realtime.reconnect(now);
            }
        }
    }

    /// The app moved to the foreground (`true`) or the background.
    pub(crate) fn set_foreground(&mut self, foreground: bool, now: Millis) {
        if foreground {
            self.on_connectivity(now);
        }
        if let Some(realtime) = &mut self.realtime {
            realtime.set_foreground(foreground, now);
        }
    }

    /// The app asks to reconnect now.
    pub(crate) fn reconnect(&mut self, now: Millis) {
        if let Some(realtime) = &mut self.realtime {
            realtime.reconnect(now);
        }
    }

    /// The sync that just ended (done or failed): if it was realtime's catch-up, the
    /// changes held meanwhile are applied now.
    pub(crate) fn sync_finished(&mut self) {
        if self.catch_up == CatchUp::Running {
            self.catch_up = CatchUp::Idle;
            if let Some(realtime) = &mut self.realtime {
                realtime.caught_up();
            }
        }
    }

    /// One realtime step inside `pump`; `true` if anything happened.
    pub(crate) fn pump_realtime(&mut self, now: Millis) -> bool {
        let (token, stopped) = (self.token().map(str::to_owned), self.auth_stopped());
        let Some(realtime) = &mut self.realtime else {
            return false;
        };
        realtime.set_token(token.as_deref(), stopped, now);
        let effects = realtime.poll(now);
        let progressed = !effects.is_empty();
        for effect in effects {
            self.on_realtime_effect(effect);
        }
        progressed
    }

    fn on_realtime_effect(&mut self, effect: RealtimeEffect) {
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
            RealtimeEffect::CatchUp => {
                if self.catch_up == CatchUp::Idle {
                    self.catch_up = CatchUp::Wanted;
                }
                self.request_sync(None);
            }
            RealtimeEffect::Apply(changes) => self.apply_pushed(&changes),
            RealtimeEffect::Event(_event) => {}
            RealtimeEffect::State(state) => {
                self.connection.send_replace(state);
            }
        }
    }

    /// Applies pushed changes exactly like a sync page's (without moving the cursor).
    fn apply_pushed(&mut self, changes: &[SyncChange]) {
        self.touch();
        let me = self.me();
        // Added to a channel that is not cached: only a sync brings its state.
        if changes
            .iter()
            .any(|c| matches!(&c.change, Change::Member(m) if !m.deleted && m.user_id == me))
        {
            self.request_sync(None);
        }
        if let Err(e) = self.cache.apply_changes(changes) {
            self.last_error = Some(format!("applying pushed changes: {e}"));
            // Nothing of them was applied (one transaction): a sync brings them.
            self.request_sync(None);
        }
    }
}
