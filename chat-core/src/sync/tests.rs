//! Unit tests of the sync state machine.

use std::time::Duration;

use chat_protocol::{ErrorAction, ErrorBody, ErrorCode, SyncResponse};

use super::*;
use crate::backoff::{BackoffConfig, SplitMix64};
use crate::clock::Millis;

fn page(cursor: &str, has_more: bool) -> SyncResponse {
    SyncResponse {
        changes: vec![],
        limited: vec![],
        limited_seq: None,
        cursor: cursor.to_owned(),
        has_more,
    }
}

fn driver(limit: u32) -> SyncDriver {
    SyncDriver::new(
        SyncConfig {
            limit,
            backoff: BackoffConfig::default(),
        },
        42,
    )
}

fn fetch(path: &str) -> SyncEffect {
    SyncEffect::Fetch {
        path: path.to_owned(),
    }
}

fn http(status: u16, body: Option<ErrorBody>, retry_after: Option<Duration>) -> SyncOutcome {
    SyncOutcome::Http {
        status,
        body,
        retry_after,
    }
}

fn expired() -> ErrorBody {
    ErrorBody {
        action: Some(ErrorAction::Reset),
        ..ErrorBody::new(ErrorCode::CursorExpired, "older than retained history")
    }
}

const T: Millis = Millis(1_000);

#[test]
fn idle_until_started() {
    let mut d = driver(500);
    assert_eq!(d.poll(T), vec![SyncEffect::Idle]);
    assert!(!d.is_running());
    assert_eq!(d.next_wakeup(), None);
}

#[test]
fn page_loop_advances_the_cursor_only_after_apply() {
    let mut d = driver(2);
    d.start(Some("v1:ep:5".into()), T);
    assert_eq!(
        d.poll(T),
        vec![fetch("/v1/sync?limit=2&cursor=v1%3Aep%3A5")]
    );
    assert_eq!(d.poll(T), vec![], "waiting for the response");
    d.on_response(SyncOutcome::Ok(page("v1:ep:7:9", true)), T);
    assert_eq!(d.cursor(), Some("v1:ep:5"), "not applied yet");
    assert_eq!(
        d.poll(T),
        vec![SyncEffect::Apply {
            page: page("v1:ep:7:9", true)
        }]
    );
    assert_eq!(d.poll(T), vec![], "no next fetch before the apply");
    assert_eq!(d.cursor(), Some("v1:ep:5"));
    d.on_applied(T);
    assert_eq!(d.cursor(), Some("v1:ep:7:9"));
    assert_eq!(
        d.poll(T),
        vec![fetch("/v1/sync?limit=2&cursor=v1%3Aep%3A7%3A9")]
    );
    d.on_response(SyncOutcome::Ok(page("v1:ep:9", false)), T);
    assert_eq!(d.poll(T).len(), 1);
    d.on_applied(T);
    assert_eq!(
        d.poll(T),
        vec![
            SyncEffect::RefreshUnread,
            SyncEffect::Done {
                cursor: "v1:ep:9".into()
            }
        ]
    );
    assert!(!d.is_running());
    assert_eq!(d.poll(T), vec![SyncEffect::Idle]);
}

#[test]
fn stale_inputs_are_ignored() {
    let mut d = driver(2);
    d.on_applied(T);
    d.on_response(SyncOutcome::Ok(page("v1:ep:9", false)), T);
    d.on_reset_done(T);
    assert_eq!(d.cursor(), None);
    assert_eq!(d.poll(T), vec![SyncEffect::Idle]);
    d.start(None, T);
    assert_eq!(d.poll(T), vec![fetch("/v1/sync?limit=2")]);
    d.on_applied(T); // no apply outstanding
    assert_eq!(d.cursor(), None);
    assert_eq!(d.poll(T), vec![]);
}

#[test]
fn apply_failure_keeps_the_cursor_and_refetches_after_backoff() {
    let mut d = driver(2);
    d.start(Some("v1:ep:5".into()), T);
    d.poll(T);
    d.on_response(SyncOutcome::Ok(page("v1:ep:8", false)), T);
    d.poll(T);
    d.on_apply_failed("disk full", T);
    assert_eq!(d.cursor(), Some("v1:ep:5"));
    assert_eq!(d.last_error(), Some("disk full"));
    let at = d.next_wakeup().expect("a retry is scheduled");
    assert!(at >= T && at <= T.saturating_add(Duration::from_millis(500)));
    if at > T {
        assert_eq!(d.poll(Millis(at.0 - 1)), vec![]);
    }
    assert_eq!(
        d.poll(at),
        vec![fetch("/v1/sync?limit=2&cursor=v1%3Aep%3A5")]
    );
    d.on_response(SyncOutcome::Ok(page("v1:ep:8", false)), at);
    d.poll(at);
    d.on_applied(at);
    assert_eq!(d.cursor(), Some("v1:ep:8"));
    assert_eq!(d.last_error(), None);
}

#[test]
fn gone_resets_then_bootstraps() {
    let mut d = driver(500);
    d.start(Some("v1:ep:5".into()), T);
    d.poll(T);
    d.on_response(http(410, Some(expired()), None), T);
    assert_eq!(d.poll(T), vec![SyncEffect::Reset]);
    assert_eq!(d.poll(T), vec![], "waiting for the reset");
    d.on_reset_done(T);
    assert_eq!(d.cursor(), None);
    assert_eq!(d.poll(T), vec![fetch("/v1/sync?limit=500")]);
    d.on_response(SyncOutcome::Ok(page("v1:ep:1:b:team.a", true)), T);
    d.poll(T);
    d.on_applied(T);
    assert_eq!(
        d.poll(T),
        vec![fetch("/v1/sync?limit=500&cursor=v1%3Aep%3A1%3Ab%3Ateam.a")]
    );
}

#[test]
fn invalid_cursor_resets_but_not_on_a_bootstrap() {
    let mut d = driver(500);
    d.start(Some("garbage".into()), T);
    d.poll(T);
    let invalid = ErrorBody::new(ErrorCode::InvalidCursor, "malformed");
    d.on_response(http(400, Some(invalid.clone()), None), T);
    assert_eq!(d.poll(T), vec![SyncEffect::Reset]);
    d.on_reset_done(T);
    assert_eq!(d.poll(T), vec![fetch("/v1/sync?limit=500")]);
    // the same answer to a bootstrap: no reset loop, a retry with backoff
    d.on_response(http(400, Some(invalid), None), T);
    assert!(matches!(d.next_wakeup(), Some(at) if at >= T));
    assert_ne!(d.poll(T), vec![SyncEffect::Reset]);
}

#[test]
fn other_client_errors_fail_the_sync_and_keep_the_cursor() {
    let mut d = driver(500);
    d.start(Some("v1:ep:5".into()), T);
    d.poll(T);
    let forbidden = ErrorBody::new(ErrorCode::Forbidden, "no");
    d.on_response(http(403, Some(forbidden.clone()), None), T);
    assert_eq!(
        d.poll(T),
        vec![SyncEffect::Failed {
            status: 403,
            body: Some(forbidden)
        }]
    );
    assert!(!d.is_running());
    assert_eq!(d.cursor(), Some("v1:ep:5"));
}

#[test]
fn unauthorized_waits_for_a_token_then_refetches() {
    let mut d = driver(500);
    d.start(Some("v1:ep:5".into()), T);
    d.poll(T);
    d.on_response(
        http(
            401,
            Some(ErrorBody::new(ErrorCode::TokenExpired, "expired")),
            None,
        ),
        T,
    );
    assert_eq!(d.poll(T), vec![SyncEffect::NeedToken]);
    assert_eq!(
        d.poll(Millis(1_000_000)),
        vec![],
        "no retry without a token"
    );
    assert_eq!(d.next_wakeup(), None);
    d.on_token_refreshed(T);
    assert_eq!(
        d.poll(T),
        vec![fetch("/v1/sync?limit=500&cursor=v1%3Aep%3A5")]
    );
}

/// Runs failures through a fresh driver and returns the retry delays.
fn delays(seed: u64, outcomes: &[SyncOutcome]) -> Vec<u64> {
    let mut d = SyncDriver::new(SyncConfig::default(), seed);
    d.start(None, T);
    let mut now = T;
    let mut out = Vec::new();
    for o in outcomes {
        assert!(matches!(d.poll(now)[..], [SyncEffect::Fetch { .. }]));
        d.on_response(o.clone(), now);
        let at = d.next_wakeup().unwrap();
        out.push(at.0 - now.0);
        now = at;
    }
    out
}

#[test]
fn backoff_is_jittered_exponential_deterministic_and_honours_retry_after() {
    let net = SyncOutcome::Network("connection refused".into());
    let outcomes: Vec<SyncOutcome> = (0..10)
        .map(|i| match i % 3 {
            0 => net.clone(),
            1 => http(503, None, None),
            _ => http(502, Some(ErrorBody::new(ErrorCode::Internal, "x")), None),
        })
        .collect();
    let a = delays(7, &outcomes);
    assert_eq!(a, delays(7, &outcomes), "same seed, same delays");
    assert_ne!(a, delays(8, &outcomes), "the seed matters");
    let backoff = BackoffConfig::default();
    for (i, d) in a.iter().enumerate() {
        let ceiling = backoff.ceiling(i as u32 + 1).as_millis() as u64;
        assert!(*d <= ceiling, "attempt {}: {d} > {ceiling}", i + 1);
    }
    // the delays are exactly those of the shared backoff with the same seed
    let mut rng = SplitMix64::new(7);
    let expected: Vec<u64> = (1..=10)
        .map(|n| backoff.delay(n, &mut rng).as_millis() as u64)
        .collect();
    assert_eq!(a, expected);

    // 429 waits at least Retry-After (header, else the body's retry_after_secs)
    let limited = [
        http(429, None, Some(Duration::from_secs(30))),
        http(
            429,
            Some(ErrorBody {
                retry_after_secs: Some(20),
                ..ErrorBody::new(ErrorCode::RateLimited, "slow down")
            }),
            None,
        ),
    ];
    let d = delays(7, &limited);
    assert!(d[0] >= 30_000 && d[1] >= 20_000, "{d:?}");
}

#[test]
fn a_success_resets_the_failure_count() {
    let mut d = SyncDriver::new(SyncConfig::default(), 1);
    d.start(None, T);
    let mut now = T;
    for _ in 0..12 {
        d.poll(now);
        d.on_response(SyncOutcome::Network("down".into()), now);
        now = d.next_wakeup().unwrap();
    }
    d.poll(now);
    d.on_response(SyncOutcome::Ok(page("v1:ep:1", true)), now);
    d.poll(now);
    d.on_applied(now);
    d.poll(now);
    d.on_response(SyncOutcome::Network("down".into()), now);
    let wait = d.next_wakeup().unwrap().0 - now.0;
    assert!(wait <= 500, "back to the first ceiling: {wait}");
}

#[test]
fn connectivity_restored_ends_a_backoff_wait() {
    let mut d = driver(500);
    d.start(None, T);
    d.poll(T);
    d.on_response(http(503, None, Some(Duration::from_secs(60))), T);
    assert_eq!(d.poll(T), vec![]);
    d.on_connectivity_restored(T);
    assert_eq!(d.poll(T), vec![fetch("/v1/sync?limit=500")]);
}

#[test]
fn starts_while_running_coalesce_into_one_more_sync() {
    let mut d = driver(500);
    d.start(Some("v1:ep:5".into()), T);
    d.poll(T);
    d.start(Some("ignored".into()), T);
    d.start(None, T);
    d.on_response(SyncOutcome::Ok(page("v1:ep:9", false)), T);
    d.poll(T);
    d.on_applied(T);
    assert_eq!(
        d.poll(T),
        vec![
            SyncEffect::RefreshUnread,
            SyncEffect::Done {
                cursor: "v1:ep:9".into()
            },
            fetch("/v1/sync?limit=500&cursor=v1%3Aep%3A9"),
        ]
    );
    d.on_response(SyncOutcome::Ok(page("v1:ep:9", false)), T);
    d.poll(T);
    d.on_applied(T);
    assert_eq!(d.poll(T).len(), 2, "only one extra sync");
    assert_eq!(d.poll(T), vec![SyncEffect::Idle]);
}

#[test]
fn empty_cursor_bootstraps() {
    assert_eq!(sync_path(Some(""), 3), "/v1/sync?limit=3");
    assert_eq!(
        sync_path(Some("v1:a b/é"), 3),
        "/v1/sync?limit=3&cursor=v1%3Aa%20b%2F%C3%A9"
    );
}
