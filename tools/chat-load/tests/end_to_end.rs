//! chat-load against the real server (chat-test's in-process `TestServer`) at a tiny
//! scale: 40 sockets over 4 channels, 20 messages/s for 2 s. Every expected push must
//! arrive and carry a latency; RSS is not measured (the server shares this process).

use chat_load::{Config, Target};
use chat_test::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_push_of_a_small_run_is_delivered_and_timed() {
    let server = TestServer::start().await;
    let app = server.app("load").await;
    let target = Target {
        base_url: server.server.base_url(),
        app,
        pid: None,
    };
    let cfg = Config {
        users: 40,
        channels: 4,
        rates: vec![20.0],
        step_secs: 2.0,
        warmup_secs: 0.0,
        settle_secs: 0.3,
        drain_secs: 5.0,
        floor_round_trips: 200,
        // Timing is not asserted: a busy machine must not fail the test.
        p99_limit_ms: 60_000.0,
        ..Config::default()
    };
    let report = chat_load::run(std::slice::from_ref(&target), &cfg).await.expect("run");
    println!("{}", chat_load::report::markdown(&report));

    assert_eq!(
        report.connect.opened, 40,
        "{:?}",
        report.connect.first_errors
    );
    assert_eq!(report.connect.errors, 0);
    assert_eq!(report.members_per_channel, 10);
    assert!(report.memory.is_none());
    assert_eq!(report.steps.len(), 1);
    let step = &report.steps[0];
    assert_eq!(step.send.sent, 40);
    assert_eq!(step.send.ok, 40, "{:?}", step.send.first_errors);
    // Every member of the channel gets the message, its author included.
    assert_eq!(step.send.expected_deliveries, 40 * 10);
    assert_eq!(step.delivered, 400, "pushes received of the 400 expected");
    assert_eq!(step.latency.count, 400);
    assert!(step.latency.p50_ms > 0.0 && step.latency.max_ms >= step.latency.p99_ms);
    assert!(step.latency.max_ms < 60_000.0);
    assert_eq!(step.dropped, 0);
    assert!(step.sustained);
    assert_eq!(report.highest_sustained_rate, Some(20.0));
    assert_eq!(report.floor.rtt.count, 200);
    assert!(report.floor.rtt.p50_ms > 0.0);
}
