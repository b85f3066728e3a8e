//! Scenario tests of the sans-I/O outbox engine through its public API: per-channel order,
//! concurrency limits, how each kind of outcome is handled (backoff, Retry-After, auth
//! pause, permanent failure), retry/discard, dependencies, and restart from a snapshot.
//! Everything is driven with explicit times; nothing sleeps. The coalescing rules and the
//! classification table are unit-tested in `src/outbox`; `outbox_sim.rs` is the seeded
//! randomized simulation.

use std::time::Duration;

use chat_core::backoff::BackoffConfig;
use chat_core::clock::Millis;
use chat_core::outbox::{
    ApiOutcome, Effect, ItemState, Method, OpId, Outbox, OutboxConfig, OutboxError, OutboxOp,
    OutboxSnapshot, PauseReason,
};
use chat_protocol::{
    ChannelType, Cid, CreateChannelRequest, ErrorBody, ErrorCode, SendMessageRequest,
    UpdateMessageRequest,
};
use serde_json::json;
use uuid::Uuid;

const T0: Millis = Millis(1_000);

fn cid(s: &str) -> Cid {
    s.parse().unwrap()
}

/// A deterministic UUIDv7 (`n` becomes its timestamp).
fn v7(n: u64) -> Uuid {
    uuid::Builder::from_unix_timestamp_millis(n, &[7; 10]).into_uuid()
}

fn op_id(n: u64) -> OpId {
    OpId(v7(n))
}

fn send_op(c: &str, n: u64, text: &str) -> OutboxOp {
    OutboxOp::SendMessage {
        cid: cid(c),
        request: SendMessageRequest {
            id: v7(n),
            text: text.into(),
            attachments: vec![],
            parent_id: None,
            quoted_message_id: None,
            mentioned_users: vec![],
            user_id: None,
        },
    }
}

fn edit_op(c: &str, n: u64, text: &str) -> OutboxOp {
    OutboxOp::EditMessage {
        cid: cid(c),
        id: v7(n),
        request: UpdateMessageRequest {
            text: Some(text.into()),
            ..Default::default()
        },
    }
}

fn reaction(add: bool, c: &str, n: u64, kind: &str) -> OutboxOp {
    OutboxOp::reaction(add, cid(c), v7(n), kind.to_owned())
}

/// One request per item: these tests pin the per-item rules (batch sends, which reuse
/// them item by item, are pinned in `outbox_batch`).
fn single() -> OutboxConfig {
    OutboxConfig {
        max_batch: 1,
        ..OutboxConfig::default()
    }
}

fn outbox() -> Outbox {
    Outbox::new(single(), 42)
}

/// Enqueues a send whose op id is its message id.
fn send(ob: &mut Outbox, c: &str, n: u64) -> OpId {
    ob.enqueue(op_id(n), send_op(c, n, &format!("m{n}")))
        .unwrap();
    op_id(n)
}

fn sent(effects: &[Effect]) -> Vec<OpId> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { op_id, .. } => Some(*op_id),
            _ => None,
        })
        .collect()
}

fn ok() -> ApiOutcome {
    ApiOutcome::Ok {
        status: 201,
        body: json!({"ok": true}),
    }
}

fn http(code: ErrorCode) -> ApiOutcome {
    ApiOutcome::HttpError {
        status: code.http_status(),
        body: Some(ErrorBody::new(code, format!("{code:?}"))),
        retry_after: None,
    }
}

fn net() -> ApiOutcome {
    ApiOutcome::Network("connection reset".into())
}

#[test]
fn channels_are_fifo_with_one_in_flight_and_independent() {
    let mut ob = outbox();
    let a: Vec<OpId> = (1..=3).map(|n| send(&mut ob, "messaging:a", n)).collect();
    let b: Vec<OpId> = (11..=12).map(|n| send(&mut ob, "messaging:b", n)).collect();
    assert_eq!(sent(&ob.poll(T0)), vec![a[0], b[0]]);
    assert!(sent(&ob.poll(T0)).is_empty(), "one in flight per channel");
    assert_eq!(ob.state(a[1]), Some(ItemState::Pending));

    // B's head fails transiently: B waits, A is unaffected.
    ob.on_result(b[0], net(), T0).unwrap();
    ob.on_result(a[0], ok(), T0).unwrap();
    let effects = ob.poll(T0);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Completed { op_id, status: 201, .. } if *op_id == a[0]))
    );
    assert_eq!(sent(&effects), vec![a[1]]);
    assert!(matches!(
        ob.state(b[0]),
        Some(ItemState::WaitingRetry { attempt: 1, .. })
    ));
    assert_eq!(
        ob.state(b[1]),
        Some(ItemState::Pending),
        "B's second waits behind its head"
    );

    ob.on_result(a[1], ok(), T0).unwrap();
    assert_eq!(sent(&ob.poll(T0)), vec![a[2]]);
    let later = Millis(T0.0 + 60_000);
    assert_eq!(
        sent(&ob.poll(later)),
        vec![b[0]],
        "B retries its head first"
    );
    ob.on_result(b[0], ok(), later).unwrap();
    assert_eq!(sent(&ob.poll(later)), vec![b[1]]);
}

#[test]
fn global_cap_limits_requests_in_flight_oldest_head_first() {
    let config = OutboxConfig {
        max_in_flight: 2,
        ..OutboxConfig::default()
    };
    let mut ob = Outbox::new(config, 1);
    let ids: Vec<OpId> = ["a", "b", "c", "d"]
        .iter()
        .enumerate()
        .map(|(i, c)| send(&mut ob, &format!("team:{c}"), i as u64 + 1))
        .collect();
    assert_eq!(sent(&ob.poll(T0)), ids[..2]);
    assert_eq!(ob.in_flight(), 2);
    assert_eq!(ob.next_wakeup(), None, "only a result can free a slot");
    ob.on_result(ids[1], ok(), T0).unwrap();
    assert_eq!(sent(&ob.poll(T0)), vec![ids[2]]);
    ob.on_result(ids[0], ok(), T0).unwrap();
    ob.on_result(ids[2], ok(), T0).unwrap();
    assert_eq!(sent(&ob.poll(T0)), vec![ids[3]]);
}

/// Drives one send through `n` network failures and returns each retry delay.
fn backoff_delays(seed: u64, n: usize) -> Vec<Duration> {
    let mut ob = Outbox::new(OutboxConfig::default(), seed);
    let s = send(&mut ob, "messaging:a", 1);
    let mut now = T0;
    let mut delays = Vec::new();
    for attempt in 1..=n as u32 {
        assert_eq!(sent(&ob.poll(now)), vec![s]);
        ob.on_result(s, net(), now).unwrap();
        let Some(ItemState::WaitingRetry { attempt: a, at }) = ob.state(s) else {
            panic!()
        };
        assert_eq!(a, attempt);
        assert_eq!(ob.next_wakeup(), Some(at));
        assert!(sent(&ob.poll(Millis(at.0.saturating_sub(1)))).is_empty());
        delays.push(at.saturating_since(now));
        now = at;
    }
    delays
}

#[test]
fn backoff_grows_to_the_cap_with_full_jitter_deterministically() {
    let config = BackoffConfig::default();
    let mut maxima = [Duration::ZERO; 12];
    for seed in 0..200 {
        let delays = backoff_delays(seed, 12);
        for (i, d) in delays.iter().enumerate() {
            assert!(
                *d <= config.ceiling(i as u32 + 1),
                "seed {seed} attempt {}: {d:?}",
                i + 1
            );
            maxima[i] = maxima[i].max(*d);
        }
        assert_eq!(delays, backoff_delays(seed, 12), "same seed, same delays");
    }
    // The jitter spans its range: late attempts reach close to the 60 s cap, early ones
    // stay under their small ceilings.
    assert!(maxima[0] <= Duration::from_millis(500) && maxima[0] > Duration::from_millis(400));
    assert!(maxima[11] > Duration::from_secs(55));
    assert!(maxima[3] > Duration::from_millis(3_000) && maxima[3] <= Duration::from_secs(4));
    assert_ne!(backoff_delays(1, 12), backoff_delays(2, 12));
}

#[test]
fn rate_limit_waits_at_least_retry_after() {
    let mut ob = outbox();
    let s = send(&mut ob, "messaging:a", 1);
    let other = send(&mut ob, "messaging:b", 2);
    assert_eq!(sent(&ob.poll(T0)), vec![s, other]);
    ob.on_result(other, net(), T0).unwrap();
    let mut body = ErrorBody::new(ErrorCode::RateLimited, "slow down");
    body.retry_after_secs = Some(7);
    let outcome = ApiOutcome::HttpError {
        status: 429,
        body: Some(body),
        retry_after: Some(Duration::from_secs(5)),
    };
    ob.on_result(s, outcome, T0).unwrap();
    assert!(
        !ob.items()[0].maybe_applied,
        "a 429 was rejected before any work"
    );
    let Some(ItemState::WaitingRetry { at, .. }) = ob.state(s) else {
        panic!()
    };
    assert!(at.saturating_since(T0) >= Duration::from_secs(7));
    assert!(at.saturating_since(T0) <= Duration::from_secs(7) + Duration::from_millis(500));
    // Connectivity returns / the user taps retry: the network failure goes at once, the
    // rate-limited item still waits for the server's deadline.
    ob.on_connectivity_restored();
    ob.retry(s).unwrap();
    assert_eq!(sent(&ob.poll(T0)), vec![other]);
    let Some(ItemState::WaitingRetry { at: held, .. }) = ob.state(s) else {
        panic!()
    };
    assert_eq!(held, Millis(T0.0 + 7_000));
    assert!(sent(&ob.poll(Millis(held.0 - 1))).is_empty());
    assert_eq!(sent(&ob.poll(held)), vec![s]);
}

#[test]
fn unauthorized_pauses_everything_until_a_token_refresh() {
    let mut ob = outbox();
    let a = send(&mut ob, "messaging:a", 1);
    let b = send(&mut ob, "messaging:b", 2);
    let c = send(&mut ob, "messaging:c", 3);
    assert_eq!(sent(&ob.poll(T0)), vec![a, b, c]);
    ob.on_result(a, http(ErrorCode::TokenExpired), T0).unwrap();
    ob.on_result(b, ok(), T0).unwrap();
    let d = send(&mut ob, "messaging:b", 4);
    let effects = ob.poll(T0);
    assert!(effects.contains(&Effect::RefreshToken { repeated: false }));
    assert!(sent(&effects).is_empty(), "nothing is sent while paused");
    assert!(ob.is_auth_paused());
    assert_eq!(ob.state(a), Some(ItemState::Paused(PauseReason::Auth)));
    assert_eq!(ob.state(d), Some(ItemState::Paused(PauseReason::Auth)));
    // `c` was sent with the old token too: its 401 must not ask again.
    ob.on_result(c, http(ErrorCode::Unauthorized), T0).unwrap();
    assert!(
        !ob.poll(T0)
            .iter()
            .any(|e| matches!(e, Effect::RefreshToken { .. }))
    );
    assert_eq!(ob.next_wakeup(), None);

    ob.on_token_refreshed();
    let effects = ob.poll(T0);
    assert_eq!(sent(&effects), vec![a, c, d], "resent with the same ids");
    assert_eq!(
        ob.items().iter().find(|i| i.op_id == a).unwrap().attempts,
        0
    );
    // The fresh token is rejected too: the engine says so instead of looping silently.
    ob.on_result(a, http(ErrorCode::Unauthorized), T0).unwrap();
    assert!(
        ob.poll(T0)
            .contains(&Effect::RefreshToken { repeated: true })
    );
    // A success in between resets the count.
    ob.on_token_refreshed();
    ob.on_result(c, ok(), T0).unwrap();
    ob.poll(T0);
    ob.on_result(a, http(ErrorCode::TokenExpired), T0).unwrap();
    assert!(
        ob.poll(T0)
            .contains(&Effect::RefreshToken { repeated: false }),
        "success reset it"
    );
}

#[test]
fn a_401_for_a_request_sent_with_an_older_token_does_not_pause_again() {
    let mut ob = outbox();
    let a = send(&mut ob, "messaging:a", 1);
    let b = send(&mut ob, "messaging:b", 2);
    assert_eq!(sent(&ob.poll(T0)), vec![a, b]);
    ob.on_result(a, http(ErrorCode::TokenExpired), T0).unwrap();
    assert!(
        ob.poll(T0)
            .contains(&Effect::RefreshToken { repeated: false })
    );
    ob.on_token_refreshed();
    assert_eq!(sent(&ob.poll(T0)), vec![a]);
    ob.on_result(b, http(ErrorCode::TokenExpired), T0).unwrap();
    let effects = ob.poll(T0);
    assert!(!ob.is_auth_paused(), "b carried the old token");
    assert_eq!(sent(&effects), vec![b]);
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::RefreshToken { .. }))
    );
}

#[test]
fn a_permanent_failure_parks_only_its_item_and_blocks_its_dependents() {
    let mut ob = outbox();
    let bad = send(&mut ob, "messaging:a", 1);
    assert_eq!(sent(&ob.poll(T0)), vec![bad]);
    let edit = op_id(100);
    ob.enqueue(edit, edit_op("messaging:a", 1, "v2")).unwrap();
    let next = send(&mut ob, "messaging:a", 2);
    ob.on_result(bad, http(ErrorCode::ValidationFailed), T0)
        .unwrap();
    let effects = ob.poll(T0);
    let failure = effects.iter().find_map(|e| match e {
        Effect::Failed { op_id, failure } if *op_id == bad => Some(failure.clone()),
        _ => None,
    });
    let failure = failure.expect("a Failed effect");
    assert_eq!(
        (failure.status, failure.code),
        (400, Some(ErrorCode::ValidationFailed))
    );
    assert!(effects.contains(&Effect::StateChanged {
        op_id: edit,
        state: ItemState::Blocked { on: bad }
    }));
    assert_eq!(
        sent(&effects),
        vec![next],
        "later items of the channel proceed"
    );
    assert_eq!(ob.state(bad), Some(ItemState::Failed(failure)));
    ob.on_result(next, ok(), T0).unwrap();
    assert!(sent(&ob.poll(T0)).is_empty());

    // The app retries the send; it succeeds and the edit follows.
    ob.retry(bad).unwrap();
    assert_eq!(sent(&ob.poll(T0)), vec![bad]);
    assert_eq!(ob.retry(bad), Err(OutboxError::InFlight(bad)));
    assert_eq!(ob.discard(bad), Err(OutboxError::InFlight(bad)));
    ob.on_result(bad, ok(), T0).unwrap();
    assert_eq!(sent(&ob.poll(T0)), vec![edit]);
    assert_eq!(
        ob.on_result(bad, ok(), T0),
        Err(OutboxError::NotInFlight(bad))
    );
}

#[test]
fn discarding_a_failed_send_cancels_what_depends_on_it() {
    let mut ob = outbox();
    let bad = send(&mut ob, "messaging:a", 1);
    ob.poll(T0);
    ob.enqueue(op_id(100), edit_op("messaging:a", 1, "v2"))
        .unwrap();
    ob.enqueue(op_id(101), reaction(true, "messaging:a", 1, "like"))
        .unwrap();
    let mut quote = send_op("messaging:a", 2, "quoting");
    if let OutboxOp::SendMessage { request, .. } = &mut quote {
        request.quoted_message_id = Some(v7(1));
    }
    ob.enqueue(op_id(2), quote).unwrap();
    let other = send(&mut ob, "messaging:a", 3);
    ob.on_result(bad, http(ErrorCode::Forbidden), T0).unwrap();
    assert_eq!(sent(&ob.poll(T0)), vec![other]);
    assert_eq!(ob.state(op_id(2)), Some(ItemState::Blocked { on: bad }));
    // An edit is already queued behind the send, so a new one queues too: merging it into
    // the send would let the older queued edit overwrite it.
    let r = ob
        .enqueue(op_id(102), edit_op("messaging:a", 1, "v3"))
        .unwrap();
    assert!(r.queued && r.merged_into.is_none());
    let removed = ob.discard(bad).unwrap();
    assert_eq!(
        removed,
        vec![bad, op_id(100), op_id(101), op_id(2), op_id(102)]
    );
    assert_eq!(ob.len(), 1);
    assert_eq!(ob.discard(bad), Err(OutboxError::UnknownOp(bad)));

    // A failed, never-applied send with no queued edit absorbs edits: the user fixes the
    // text, then retries.
    ob.on_result(other, ok(), T0).unwrap();
    let fixable = send(&mut ob, "messaging:a", 4);
    assert_eq!(sent(&ob.poll(T0)), vec![fixable]);
    ob.on_result(fixable, http(ErrorCode::ValidationFailed), T0)
        .unwrap();
    let r = ob
        .enqueue(op_id(103), edit_op("messaging:a", 4, "shorter"))
        .unwrap();
    assert_eq!(r.merged_into, Some(fixable));
    ob.retry(fixable).unwrap();
    let effects = ob.poll(T0);
    let Some(Effect::Send { request, .. }) = effects.last() else {
        panic!()
    };
    assert_eq!(request.body.as_ref().unwrap()["text"], "shorter");
}

#[test]
fn a_channel_creation_goes_first_and_its_failure_blocks_the_channel_only() {
    let mut ob = outbox();
    let create = |id: &str| CreateChannelRequest {
        kind: ChannelType::Team,
        id: Some(id.into()),
        name: None,
        image: None,
        members: vec![],
        config: None,
        created_by: None,
        distinct: false,
    };
    ob.enqueue(
        op_id(900),
        OutboxOp::CreateChannel {
            request: create("new"),
        },
    )
    .unwrap();
    let first = send(&mut ob, "team:new", 1);
    let elsewhere = send(&mut ob, "team:old", 2);
    let effects = ob.poll(T0);
    assert_eq!(sent(&effects), vec![op_id(900), elsewhere]);
    let create_id = op_id(900);
    let Some(Effect::Send { request, .. }) = effects
        .iter()
        .find(|e| matches!(e, Effect::Send { op_id, .. } if *op_id == create_id))
    else {
        panic!()
    };
    assert_eq!(
        (request.method, request.path.as_str()),
        (Method::Post, "/v1/channels")
    );
    ob.on_result(op_id(900), http(ErrorCode::Conflict), T0)
        .unwrap();
    ob.poll(T0);
    assert_eq!(ob.state(first), Some(ItemState::Blocked { on: op_id(900) }));
    let second = send(&mut ob, "team:new", 3);
    assert_eq!(
        ob.state(second),
        Some(ItemState::Blocked { on: op_id(900) })
    );
    assert_eq!(
        ob.discard(op_id(900)).unwrap(),
        vec![op_id(900), first, second]
    );
    assert_eq!(ob.items().len(), 1);
}

#[test]
fn restart_resends_in_flight_items_with_the_same_ids() {
    let mut ob = outbox();
    let a = send(&mut ob, "messaging:a", 1);
    let b = send(&mut ob, "messaging:b", 2);
    let c = send(&mut ob, "messaging:c", 3);
    let a2 = send(&mut ob, "messaging:a", 4);
    let first = ob.poll(T0);
    ob.on_result(b, net(), T0).unwrap();
    ob.on_result(c, http(ErrorCode::PayloadTooLarge), T0)
        .unwrap();
    // The app dies now: `a` in flight, `b` waiting, `c` failed, `a2` pending.
    let json = serde_json::to_string(&ob.snapshot()).unwrap();
    let snapshot: OutboxSnapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(snapshot, ob.snapshot());
    let mut restored = Outbox::restore(single(), 7, snapshot).unwrap();
    assert_eq!(restored.state(a), Some(ItemState::Pending));
    assert_eq!(restored.state(b), Some(ItemState::Pending));
    assert!(matches!(restored.state(c), Some(ItemState::Failed(f)) if f.status == 413));
    let items = restored.items();
    assert!(
        items[0].maybe_applied,
        "it was in flight: never coalesce it away"
    );
    assert_eq!(items[1].attempts, 1);
    let again = restored.poll(Millis(5)); // a new process, a new clock epoch
    assert_eq!(sent(&again), vec![a, b]);
    let request = |effects: &[Effect], id| {
        effects.iter().find_map(|e| match e {
            Effect::Send { op_id, request } if *op_id == id => Some(request.clone()),
            _ => None,
        })
    };
    assert_eq!(
        request(&again, a),
        request(&first, a),
        "byte-identical resend"
    );
    // A delete of the maybe-delivered message is queued, not coalesced.
    let del = OutboxOp::DeleteMessage {
        cid: cid("messaging:a"),
        id: v7(1),
    };
    assert!(restored.enqueue(op_id(10), del).unwrap().queued);
    restored
        .on_result(
            a,
            ApiOutcome::Ok {
                status: 200,
                body: json!({}),
            },
            Millis(6),
        )
        .unwrap();
    assert_eq!(sent(&restored.poll(Millis(6))), vec![a2]);
    assert!(Outbox::restore(single(), 7, restored.snapshot()).is_ok());
}
