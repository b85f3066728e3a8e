//! Deterministic tests of the realtime state machine: scripted socket events and an
//! injected clock.

use std::time::Duration;

use chat_protocol::realtime::disconnect_codes as dc;

use super::machine::RealtimeMachine;
use super::state::{ConnectionState, DisconnectReason, RealtimeConfig, RealtimeEffect as E};
use crate::clock::Millis;

const T0: Millis = Millis(1_000_000);

fn at(ms: u64) -> Millis {
    Millis(T0.0 + ms)
}

fn connect_reply(id: u32, ttl: u32, seq: u64) -> String {
    format!(
        r#"{{"id":{id},"connect":{{"client":"c","version":"0.1.0","expires":{},"ttl":{ttl},"subs":{{"chat:user:bob":{{}}}},"ping":25,"pong":true,"data":{{"user_id":"bob","epoch":"e","seq":{seq}}}}}}}"#,
        ttl > 0
    )
}

fn change(seq: u64) -> String {
    format!(
        r#"{{"push":{{"channel":"chat:user:bob","pub":{{"data":{{"seq":{seq},"kind":"read","data":{{"cid":"team:a","user_id":"ann","last_read_message_id":null,"last_read_at":"2024-01-01T00:00:00.000Z","rev":{seq}}}}}}}}}}}"#
    )
}

/// A change numbered `offset` in the connection's stream.
fn numbered(seq: u64, offset: u64) -> String {
    change(seq).replace(
        r#""pub":{"data":"#,
        &format!(r#""pub":{{"offset":{offset},"data":"#),
    )
}

fn opened_socket(effects: &[E]) -> Option<u64> {
    effects.iter().find_map(|e| match e {
        E::Open { socket } => Some(*socket),
        _ => None,
    })
}

fn sent(effects: &[E]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            E::Send { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn command_id(text: &str) -> u32 {
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    u32::try_from(v["id"].as_u64().unwrap()).unwrap()
}

fn applied_seqs(effects: &[E]) -> Vec<u64> {
    effects
        .iter()
        .filter_map(|e| match e {
            E::Apply(changes) => Some(changes.iter().map(|c| c.seq).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Default settings, except that a connection is stable at once (most tests are not
/// about stability).
fn config() -> RealtimeConfig {
    RealtimeConfig {
        stable_after: Duration::ZERO,
        ..RealtimeConfig::default()
    }
}

/// A machine with a token, connected on socket 1 (connect id 1), caught up.
fn connected(ttl: u32) -> RealtimeMachine {
    let mut m = RealtimeMachine::new(config(), 7);
    m.set_token(Some("t1"), false, T0);
    m.start(T0);
    let effects = m.poll(T0);
    assert_eq!(opened_socket(&effects), Some(1));
    m.opened(1, T0);
    m.frame(1, &connect_reply(1, ttl, 10), T0);
    let effects = m.poll(T0);
    assert!(effects.contains(&E::CatchUp));
    caught_up(&mut m, T0);
    assert_eq!(m.state(), ConnectionState::Connected);
    m
}

/// The engine ran the catch-up sync the machine asked for.
fn caught_up(m: &mut RealtimeMachine, now: Millis) {
    m.sync_started();
    m.sync_finished(true, now);
}

#[test]
fn connects_catches_up_then_applies_held_changes_in_order() {
    let mut m = RealtimeMachine::new(RealtimeConfig::default(), 1);
    m.start(T0);
    let effects = m.poll(T0);
    assert!(effects.contains(&E::NeedToken), "{effects:?}");
    assert_eq!(m.state(), ConnectionState::Connecting { attempt: 0 });

    m.set_token(Some("t1"), false, T0);
    assert_eq!(opened_socket(&m.poll(T0)), Some(1));
    m.opened(1, T0);
    let connect = sent(&m.poll(T0));
    assert!(connect[0].contains(r#""token":"t1""#), "{connect:?}");

    // A change in the same frame as the reply, and more while the catch-up runs: held.
    m.frame(
        1,
        &format!("{}\n{}", connect_reply(1, 0, 10), change(11)),
        at(5),
    );
    m.frame(1, &change(12), at(6));
    let effects = m.poll(at(6));
    assert!(effects.contains(&E::CatchUp));
    assert!(effects.contains(&E::State(ConnectionState::Connected)));
    assert!(applied_seqs(&effects).is_empty(), "held until caught up");

    caught_up(&mut m, at(7));
    assert_eq!(applied_seqs(&m.poll(at(7))), [11, 12]);
    // Caught up: changes apply as they arrive.
    m.frame(1, &format!("{}\n{}", change(13), change(14)), at(8));
    assert_eq!(applied_seqs(&m.poll(at(8))), [13, 14]);
}

#[test]
fn pings_are_answered_and_a_silent_socket_is_replaced() {
    let mut m = connected(0);
    m.frame(1, "{}", at(1_000));
    assert_eq!(sent(&m.poll(at(1_000))), ["{}"]);
    // 25 s ping + 10 s grace after the last frame.
    assert_eq!(m.next_wakeup(), Some(at(36_000)));
    assert!(m.poll(at(35_999)).is_empty());
    let effects = m.poll(at(36_000));
    assert!(effects.contains(&E::Close { socket: 1 }), "{effects:?}");
    // The first retry after losing a working connection is immediate.
    assert_eq!(opened_socket(&effects), Some(2));
}

#[test]
fn backoff_grows_with_jitter_up_to_the_cap_and_resets_after_success() {
    let mut m = connected(0);
    let mut now = at(0);
    m.closed(1, None, "reset", now);
    let mut socket = opened_socket(&m.poll(now)).expect("immediate retry");
    let mut waits = Vec::new();
    for attempt in 2..=9u32 {
        m.closed(socket, None, "refused", now);
        m.poll(now);
        let ConnectionState::WaitingToReconnect {
            attempt: a,
            retry_in,
        } = m.state()
        else {
            panic!("{:?}", m.state());
        };
        assert_eq!(a, attempt);
        let ceiling = RealtimeConfig::default().reconnect.ceiling(attempt);
        assert!(retry_in <= ceiling, "{retry_in:?} > {ceiling:?}");
        assert!(ceiling <= Duration::from_secs(25));
        waits.push(retry_in);
        now = now.saturating_add(retry_in);
        socket = opened_socket(&m.poll(now)).expect("retry when due");
    }
    assert!(
        waits.iter().any(|w| *w > Duration::from_secs(4)),
        "{waits:?}"
    );
    assert_eq!(
        RealtimeConfig::default().reconnect.ceiling(9),
        Duration::from_secs(25)
    );
    // Success resets the counter: the next loss retries immediately again.
    m.opened(socket, now);
    let id = command_id(&sent(&m.poll(now))[0]);
    m.frame(socket, &connect_reply(id, 0, 1), now);
    m.poll(now);
    m.closed(socket, None, "reset", now);
    assert!(opened_socket(&m.poll(now)).is_some());
}

#[test]
fn a_server_shutdown_is_not_followed_by_an_immediate_reconnect() {
    let mut m = connected(0);
    m.closed(1, Some(dc::SHUTDOWN), "shutdown", at(0));
    let effects = m.poll(at(0));
    assert_eq!(opened_socket(&effects), None, "{effects:?}");
    assert!(matches!(
        m.state(),
        ConnectionState::WaitingToReconnect { attempt: 1, .. }
    ));
}

#[test]
fn an_invalid_token_is_never_reused_and_a_new_one_reconnects() {
    let mut m = connected(0);
    m.closed(1, Some(dc::INVALID_TOKEN), "invalid token", at(0));
    let effects = m.poll(at(0));
    assert!(effects.contains(&E::TokenRejected { token: "t1".into() }));
    assert_eq!(opened_socket(&effects), None);
    // The provider hands back the same token: no reconnect.
    m.set_token(Some("t1"), false, at(1));
    assert!(matches!(m.state(), ConnectionState::AuthFailed { .. }));
    assert_eq!(opened_socket(&m.poll(at(1))), None);
    // The engine stopped authentication: stay failed.
    m.set_token(None, true, at(2));
    assert!(matches!(m.state(), ConnectionState::AuthFailed { .. }));
    // The app gives a new token.
    m.set_token(Some("t2"), false, at(3));
    assert_eq!(opened_socket(&m.poll(at(3))), Some(2));
}

#[test]
fn an_expired_token_on_connect_is_replaced_without_backoff() {
    let mut m = RealtimeMachine::new(RealtimeConfig::default(), 3);
    m.set_token(Some("old"), false, T0);
    m.start(T0);
    m.poll(T0);
    m.opened(1, T0);
    m.poll(T0);
    m.frame(
        1,
        r#"{"id":1,"error":{"code":109,"message":"token expired"}}"#,
        T0,
    );
    let effects = m.poll(T0);
    assert!(effects.contains(&E::TokenRejected {
        token: "old".into()
    }));
    assert!(effects.contains(&E::NeedToken));
    m.set_token(Some("new"), false, at(1));
    let effects = m.poll(at(1));
    assert_eq!(opened_socket(&effects), Some(2));
    m.opened(2, at(1));
    assert!(sent(&m.poll(at(1)))[0].contains("\"new\""));
}

#[test]
fn a_do_not_reconnect_code_waits_for_the_app() {
    let mut m = connected(0);
    m.closed(1, Some(dc::BAD_REQUEST), "bad request", at(0));
    m.poll(at(0));
    assert_eq!(
        m.state(),
        ConnectionState::Disconnected {
            reason: DisconnectReason::Refused {
                code: dc::BAD_REQUEST,
                reason: "bad request".into()
            }
        }
    );
    assert_eq!(m.next_wakeup(), None);
    assert_eq!(opened_socket(&m.poll(at(600_000))), None);
    m.reconnect(at(600_000));
    assert_eq!(opened_socket(&m.poll(at(600_000))), Some(2));
}

#[test]
fn network_loss_closes_and_waits_then_reconnects_at_once() {
    let mut m = connected(0);
    m.set_network(false, at(0));
    let effects = m.poll(at(0));
    assert!(effects.contains(&E::Close { socket: 1 }));
    assert!(effects.contains(&E::State(ConnectionState::WaitingForNetwork)));
    assert_eq!(m.next_wakeup(), None);
    m.set_network(true, at(90_000));
    assert_eq!(opened_socket(&m.poll(at(90_000))), Some(2));
}

#[test]
fn background_closes_after_the_grace_period_and_foreground_reconnects() {
    let mut m = connected(0);
    m.set_foreground(false, at(0));
    assert!(
        m.poll(at(14_999))
            .iter()
            .all(|e| !matches!(e, E::Close { .. }))
    );
    let effects = m.poll(at(15_000));
    assert!(effects.contains(&E::Close { socket: 1 }), "{effects:?}");
    assert_eq!(
        m.state(),
        ConnectionState::Disconnected {
            reason: DisconnectReason::Background
        }
    );
    m.set_foreground(true, at(60_000));
    assert_eq!(opened_socket(&m.poll(at(60_000))), Some(2));
}

#[test]
fn a_token_is_renewed_and_refreshed_before_it_expires() {
    let mut m = connected(120);
    // ttl 120 s, margin min(60 s, ttl / 2) → renew at 60 s.
    m.frame(1, "{}", at(30_000)); // a ping keeps the watchdog quiet
    assert!(!m.poll(at(59_999)).contains(&E::RenewToken));
    assert!(m.poll(at(60_000)).contains(&E::RenewToken));
    m.set_token(Some("t2"), false, at(61_000));
    let refresh = sent(&m.poll(at(61_000)));
    assert!(
        refresh[0].contains(r#""refresh":{"token":"t2"}"#),
        "{refresh:?}"
    );
    m.frame(
        1,
        r#"{"id":2,"refresh":{"client":"c","version":"0.1.0","expires":true,"ttl":100}}"#,
        at(62_000),
    );
    m.poll(at(62_000));
    assert_eq!(m.state(), ConnectionState::Connected);
    assert!(m.next_wakeup().is_some_and(|w| w <= at(62_000 + 50_000)));
}

#[test]
fn a_malformed_frame_applies_nothing_keeps_the_socket_and_asks_for_a_catch_up() {
    let mut m = connected(0);
    m.frame(1, &format!("{}\n{{\"push\":", change(11)), at(1));
    let effects = m.poll(at(1));
    assert!(applied_seqs(&effects).is_empty());
    assert!(effects.contains(&E::CatchUp));
    assert!(!effects.iter().any(|e| matches!(e, E::Close { .. })));
    assert_eq!(m.rejected_frames, 1);
    assert_eq!(m.state(), ConnectionState::Connected);
}

#[test]
fn an_out_of_order_change_asks_for_a_catch_up() {
    let mut m = connected(0);
    m.frame(1, &change(20), at(1));
    assert_eq!(applied_seqs(&m.poll(at(1))), [20]);
    m.frame(1, &change(19), at(2));
    let effects = m.poll(at(2));
    assert!(effects.contains(&E::CatchUp));
    caught_up(&mut m, at(3));
    assert_eq!(applied_seqs(&m.poll(at(3))), [19]);
}

#[test]
fn events_of_an_old_socket_are_ignored() {
    let mut m = connected(0);
    m.closed(1, None, "reset", at(0));
    assert_eq!(opened_socket(&m.poll(at(0))), Some(2));
    m.frame(1, &change(50), at(1));
    m.closed(1, Some(dc::BAD_REQUEST), "late", at(1));
    let effects = m.poll(at(1));
    assert!(applied_seqs(&effects).is_empty());
    assert_eq!(m.state(), ConnectionState::Connecting { attempt: 1 });
}

#[test]
fn too_many_held_changes_are_dropped_and_the_catch_up_brings_them() {
    let config = RealtimeConfig {
        max_buffered: 2,
        ..RealtimeConfig::default()
    };
    let mut m = RealtimeMachine::new(config, 9);
    m.set_token(Some("t"), false, T0);
    m.start(T0);
    m.poll(T0);
    m.opened(1, T0);
    m.frame(1, &connect_reply(1, 0, 0), T0);
    m.frame(
        1,
        &format!("{}\n{}\n{}", change(1), change(2), change(3)),
        T0,
    );
    assert_eq!(
        m.poll(T0).iter().filter(|e| **e == E::CatchUp).count(),
        1,
        "the catch-up has not started: it will bring them"
    );
    caught_up(&mut m, T0);
    let effects = m.poll(T0);
    assert!(
        applied_seqs(&effects).is_empty(),
        "dropped, not applied late"
    );
    assert!(!effects.contains(&E::CatchUp), "{effects:?}");
    m.frame(1, &change(4), at(1));
    assert_eq!(applied_seqs(&m.poll(at(1))), [4]);
}

#[test]
fn a_connect_that_is_never_answered_times_out() {
    let mut m = RealtimeMachine::new(RealtimeConfig::default(), 5);
    m.set_token(Some("t"), false, T0);
    m.start(T0);
    m.poll(T0);
    m.opened(1, T0);
    m.poll(T0);
    assert_eq!(m.next_wakeup(), Some(at(10_000)));
    let effects = m.poll(at(10_000));
    assert!(effects.contains(&E::Close { socket: 1 }));
    assert!(matches!(
        m.state(),
        ConnectionState::WaitingToReconnect { attempt: 1, .. }
    ));
}

#[test]
fn a_gap_in_publication_offsets_asks_for_a_catch_up() {
    let mut m = connected(0);
    m.frame(
        1,
        &format!("{}\n{}", numbered(11, 1), numbered(12, 2)),
        at(1),
    );
    let effects = m.poll(at(1));
    assert_eq!(applied_seqs(&effects), [11, 12]);
    assert!(!effects.contains(&E::CatchUp));
    // Offset 3 never arrived.
    m.frame(1, &numbered(14, 4), at(2));
    let effects = m.poll(at(2));
    assert!(effects.contains(&E::CatchUp), "{effects:?}");
    assert!(
        applied_seqs(&effects).is_empty(),
        "held during the catch-up"
    );
    caught_up(&mut m, at(3));
    assert_eq!(applied_seqs(&m.poll(at(3))), [14]);
    m.frame(1, &numbered(15, 5), at(4));
    let effects = m.poll(at(4));
    assert_eq!(applied_seqs(&effects), [15]);
    assert!(!effects.contains(&E::CatchUp));
}

#[test]
fn a_connection_dropped_before_it_is_stable_gets_backoff() {
    let mut m = RealtimeMachine::new(RealtimeConfig::default(), 2);
    m.set_token(Some("t"), false, T0);
    m.start(T0);
    m.poll(T0);
    let mut socket = 1;
    // The server accepts, then drops every connection at once: no tight loop.
    for attempt in 1..=3u32 {
        m.opened(socket, T0);
        let id = command_id(&sent(&m.poll(T0))[0]);
        m.frame(socket, &connect_reply(id, 0, 1), T0);
        m.poll(T0);
        m.closed(socket, None, "reset", at(100));
        let effects = m.poll(at(100));
        assert_eq!(
            opened_socket(&effects),
            None,
            "attempt {attempt}: {effects:?}"
        );
        assert!(matches!(
            m.state(),
            ConnectionState::WaitingToReconnect { attempt: a, .. } if a == attempt
        ));
        let wake = m.next_wakeup().unwrap();
        socket = opened_socket(&m.poll(wake)).expect("retry when due");
    }
    // One that stays up 10 s is stable: its loss is retried at once.
    m.opened(socket, T0);
    let id = command_id(&sent(&m.poll(T0))[0]);
    m.frame(socket, &connect_reply(id, 0, 1), T0);
    m.frame(socket, "{}", at(9_000));
    m.closed(socket, None, "reset", at(10_000));
    assert!(opened_socket(&m.poll(at(10_000))).is_some());
}

#[test]
fn the_network_coming_back_opens_exactly_one_socket() {
    let mut m = connected(0);
    m.set_network(false, at(0));
    m.poll(at(0));
    m.set_network(true, at(1));
    m.reconnect(at(1)); // the engine also reconnects on connectivity: no second socket
    let opens = m
        .poll(at(1))
        .iter()
        .filter(|e| matches!(e, E::Open { .. }))
        .count();
    assert_eq!(opens, 1);
}

#[test]
fn an_expired_close_replaces_the_token() {
    let mut m = connected(0);
    m.closed(1, Some(dc::EXPIRED), "expired", at(0));
    let effects = m.poll(at(0));
    assert!(effects.contains(&E::TokenRejected { token: "t1".into() }));
    assert!(effects.contains(&E::NeedToken), "{effects:?}");
    m.set_token(Some("t2"), false, at(1));
    assert_eq!(opened_socket(&m.poll(at(1))), Some(2));
}

#[test]
fn renewal_retries_after_a_provider_failure_and_a_temporary_server_error() {
    let mut m = connected(120);
    m.frame(1, "{}", at(30_000));
    assert!(m.poll(at(60_000)).contains(&E::RenewToken));
    // The provider failed (or gave "t1" again): asked again 10 s later.
    m.renew_failed(at(60_500));
    m.frame(1, "{}", at(60_500));
    assert!(!m.poll(at(70_499)).contains(&E::RenewToken));
    assert!(m.poll(at(70_500)).contains(&E::RenewToken));
    m.set_token(Some("t2"), false, at(71_000));
    let refresh = sent(&m.poll(at(71_000)));
    let id = command_id(&refresh[0]);
    // A temporary server error: sent again at the next renewal, without a new token.
    m.frame(
        1,
        &format!(r#"{{"id":{id},"error":{{"code":100,"message":"internal","temporary":true}}}}"#),
        at(71_100),
    );
    m.poll(at(71_100));
    let effects = m.poll(at(76_100));
    assert!(effects.contains(&E::RenewToken), "{effects:?}");
    m.set_token(Some("t2"), false, at(76_100));
    let again = sent(&m.poll(at(76_100)));
    assert!(
        again[0].contains(r#""refresh":{"token":"t2"}"#),
        "{again:?}"
    );
}

#[test]
fn authentication_stopping_closes_the_connection() {
    let mut m = connected(0);
    m.set_token(None, true, at(0));
    let effects = m.poll(at(0));
    assert!(effects.contains(&E::Close { socket: 1 }));
    assert!(matches!(m.state(), ConnectionState::AuthFailed { .. }));
}

#[test]
fn a_sync_from_the_previous_connection_does_not_release_the_new_ones_changes() {
    let mut m = connected(0);
    // A catch-up sync starts, then the connection drops and comes back while it runs.
    m.frame(1, &change(11), at(1));
    m.poll(at(1));
    m.sync_started();
    m.closed(1, None, "reset", at(2));
    assert_eq!(opened_socket(&m.poll(at(2))), Some(2));
    m.opened(2, at(2));
    let id = command_id(&sent(&m.poll(at(2)))[0]);
    m.frame(
        2,
        &format!("{}\n{}", connect_reply(id, 0, 11), change(12)),
        at(3),
    );
    assert!(m.poll(at(3)).contains(&E::CatchUp));
    // The old sync ends: the new connection still waits for its own catch-up.
    m.sync_finished(true, at(4));
    assert!(applied_seqs(&m.poll(at(4))).is_empty());
    caught_up(&mut m, at(5));
    assert_eq!(applied_seqs(&m.poll(at(5))), [12]);
}

#[test]
fn any_sync_holds_pushes_and_trouble_during_a_catch_up_asks_for_another() {
    let mut m = connected(0);
    // The app's own sync: pushes wait for it.
    m.sync_started();
    m.frame(1, &change(11), at(1));
    assert!(applied_seqs(&m.poll(at(1))).is_empty());
    m.sync_finished(true, at(2));
    assert_eq!(applied_seqs(&m.poll(at(2))), [11]);
    // A gap starts a catch-up; a bad frame while it runs asks for one more after it.
    m.frame(1, &change(10), at(3));
    assert!(m.poll(at(3)).contains(&E::CatchUp));
    m.sync_started();
    m.frame(1, "not json", at(4));
    m.sync_finished(true, at(5));
    let effects = m.poll(at(5));
    assert_eq!(applied_seqs(&effects), [10]);
    assert!(effects.contains(&E::CatchUp), "{effects:?}");
}

#[test]
fn stopping_closes_the_socket_and_says_so() {
    let mut m = connected(0);
    m.stop();
    let effects = m.poll(at(0));
    assert!(effects.contains(&E::Close { socket: 1 }));
    assert!(effects.contains(&E::State(ConnectionState::Disconnected {
        reason: DisconnectReason::Stopped
    })));
}
