//! The outbox while the network is reported unreachable: it holds (no request, no
//! wakeup, no backoff growth) and sends at once when the network returns.

use std::time::Duration;

use super::test_support::*;
use super::{Effect, ItemState, Outbox, OutboxConfig};
use crate::clock::Millis;

/// Whether `effects` ask for any request.
fn requests(effects: &[Effect]) -> usize {
    effects
        .iter()
        .filter(|e| matches!(e, Effect::Send { .. } | Effect::SendBatch { .. }))
        .count()
}

/// `T0` plus `secs` seconds.
fn later(secs: u64) -> Millis {
    T0.saturating_add(Duration::from_secs(secs))
}

#[test]
fn unreachable_holds_every_send_until_the_network_returns() {
    let mut ob = outbox();
    ob.set_reachable(false);
    assert!(!ob.is_reachable());
    let id = send(&mut ob, "team:a", 1);
    assert!(
        !ob.goes_at_once(&cid("team:b"), &send_op("team:b", 2, "x"), T0),
        "nothing leaves while unreachable"
    );
    send(&mut ob, "team:b", 2);
    ob.enqueue(op_id(3), mark_read("team:c", None)).unwrap();
    for secs in [0, 1, 60, 3_600] {
        assert_eq!(requests(&ob.poll(later(secs))), 0, "at +{secs} s");
        assert_eq!(ob.next_wakeup(), None, "no timer while unreachable");
    }
    assert_eq!(ob.state(id), Some(ItemState::Pending));
    assert_eq!(ob.persisted(id).unwrap().attempts, 0, "no attempt counted");
    assert!(!ob.persisted(id).unwrap().maybe_applied);

    ob.set_reachable(true);
    let effects = ob.poll(later(3_600));
    assert_eq!(requests(&effects), 3, "every channel's head goes at once");
    assert_eq!(ob.in_flight(), 3);
}

#[test]
fn a_waiting_retry_neither_fires_nor_grows_while_unreachable_and_goes_at_once_after() {
    let mut ob = Outbox::new(OutboxConfig::default(), 9);
    let id = send(&mut ob, "team:a", 1);
    assert_eq!(sent(&ob.poll(T0)), [id]);
    ob.on_result(id, net(), T0).unwrap();
    let Some(ItemState::WaitingRetry { attempt: 1, at }) = ob.state(id) else {
        panic!("{:?}", ob.state(id));
    };
    assert!(at > T0);

    ob.set_reachable(false);
    assert_eq!(
        ob.state(id),
        Some(ItemState::Pending),
        "no retry is scheduled"
    );
    for secs in [0, 60, 86_400] {
        assert_eq!(requests(&ob.poll(later(secs))), 0, "at +{secs} s");
        assert_eq!(ob.next_wakeup(), None);
    }
    assert_eq!(
        ob.persisted(id).unwrap().attempts,
        1,
        "the backoff did not grow"
    );

    // Back before its retry time would have come: it goes on the very next poll.
    ob.set_reachable(true);
    assert_eq!(sent(&ob.poll(T0)), [id]);
}

#[test]
fn a_request_in_flight_when_the_network_goes_is_answered_and_then_held() {
    let mut ob = outbox();
    let first = send(&mut ob, "team:a", 1);
    ob.poll(T0);
    ob.set_reachable(false);
    send(&mut ob, "team:a", 2);
    ob.on_result(first, net(), T0).unwrap();
    assert_eq!(requests(&ob.poll(later(600))), 0);
    assert_eq!(ob.next_wakeup(), None);
    ob.set_reachable(true);
    let effects = ob.poll(T0);
    assert_eq!(
        requests(&effects),
        1,
        "both messages leave as one batch at once"
    );
}

#[test]
fn reachability_changes_are_a_new_revision_and_repeats_are_not() {
    let mut ob = outbox();
    send(&mut ob, "team:a", 1);
    let r = ob.revision();
    ob.set_reachable(true);
    assert_eq!(ob.revision(), r, "already reachable");
    ob.set_reachable(false);
    assert_ne!(ob.revision(), r);
    let r = ob.revision();
    ob.set_reachable(false);
    assert_eq!(ob.revision(), r);
}
