//! Presence announcements, debounced. A user's first connection announces `online` at
//! once; when the last one closes, `offline` is announced only after
//! [`TransportConfig::presence_grace`](crate::transport::TransportConfig::presence_grace),
//! and only if the user has not come back by then. A client that drops and reconnects
//! (a flaky network, or an attacker cycling connects) therefore costs its peers at most one
//! online/offline pair, however often it flaps.
//!
//! The hub decides whether an announcement changes anything (see
//! [`Broadcaster::announce_presence`](super::Broadcaster::announce_presence)); this module
//! only decides when to ask. At most one delayed check per user is pending.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use crate::api::state::AppState;

/// The users whose offline check is pending.
#[derive(Debug, Default)]
pub struct PresenceDebounce {
    pending: Mutex<HashSet<(String, String)>>,
}

impl PresenceDebounce {
    fn pending(&self) -> std::sync::MutexGuard<'_, HashSet<(String, String)>> {
        // A set of keys stays consistent even if a holder panicked.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Tells the user's channel peers whether the user is online now, if that changed, and
/// returns those peers (none if they could not be read). The storage work waits for a
/// connect turn (see [`super::limits`]).
pub async fn announce(state: &AppState, app: &str, user: &str) -> Vec<String> {
    let peers = {
        let _turn = state.ws_limits().connect_turn().await;
        state.store().co_member_ids(app, user).await
    };
    let Ok(peers) = peers else {
        return Vec::new();
    };
    state.hub().announce_presence(app, user, &peers);
    peers
}

/// The user's connection closed: checks after the grace whether the user went offline.
pub fn announce_later(state: &AppState, app: &str, user: &str) {
    let key = (app.to_owned(), user.to_owned());
    if !state.presence().pending().insert(key.clone()) {
        return;
    }
    let state = state.clone();
    let grace: Duration = state.config().transport.presence_grace;
    tokio::spawn(async move {
        let mut shutdown = state.shutdown();
        tokio::select! {
            () = tokio::time::sleep(grace) => {}
            // Nobody is left to tell.
            _ = shutdown.wait_for(|s| *s) => return,
        }
        state.presence().pending().remove(&key);
        announce(&state, &key.0, &key.1).await;
    });
}
