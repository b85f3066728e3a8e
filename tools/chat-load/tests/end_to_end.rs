//! chat-load against the real server (chat-test's in-process `TestServer`) at a tiny
//! scale: 40 sockets over 4 channels, 20 messages/s for 2 s. Every expected push must
//! arrive and carry a latency; RSS is not measured (the server shares this process).
//!
//! The same run on two nodes of one PostgreSQL database sharing realtime through NATS
//! (chat-test's `nodes`): the sockets and the sends must be split between the nodes and
//! every push delivered, half of them across nodes. It needs the test cluster and broker
//! (`ONYXCHAT_TEST_DATABASE_URL`, `ONYXCHAT_TEST_NATS_URL`; `cargo xtask test` sets both,
//! `cargo xtask postgres` and `cargo xtask nats` start them by hand), and fails with
//! those instructions when either is unset, like chat-server's cluster tests: a skipped
//! run would pass without proving anything.

use chat_load::{Config, Target};
use chat_test::TestServer;
use chat_test::nodes::{fresh_database, nats_url};

/// The tiny run both tests make.
fn tiny() -> Config {
    Config {
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
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_push_of_a_small_run_is_delivered_and_timed() {
    let server = TestServer::start().await;
    let app = server.app("load").await;
    let target = Target {
        base_url: server.server.base_url(),
        app,
        pid: None,
    };
    let report = chat_load::run(std::slice::from_ref(&target), &tiny())
        .await
        .expect("run");
    println!("{}", chat_load::report::markdown(&report));

    assert_eq!(
        report.connect.opened, 40,
        "{:?}",
        report.connect.first_errors
    );
    assert_eq!(report.connect.errors, 0);
    assert_eq!(report.members_per_channel, 10);
    assert!(report.memory.is_none());
    assert_eq!(report.nodes.len(), 1);
    assert_eq!(report.connect.per_node, vec![40]);
    assert_eq!(report.steps.len(), 1);
    let step = &report.steps[0];
    assert_eq!(step.send.sent, 40);
    assert_eq!(step.send.ok, 40, "{:?}", step.send.first_errors);
    // Every member of the channel gets the message, its author included.
    assert_eq!(step.send.expected_deliveries, 40 * 10);
    assert_eq!(step.delivered, 400, "pushes received of the 400 expected");
    assert_eq!(step.send.sent_per_node, vec![40]);
    assert_eq!(
        (step.send.cross_node_expected, step.cross_node_delivered),
        (0, 0)
    );
    assert_eq!(step.latency.count, 400);
    assert!(step.latency.p50_ms > 0.0 && step.latency.max_ms >= step.latency.p99_ms);
    assert!(step.latency.max_ms < 60_000.0);
    assert_eq!(step.dropped, 0);
    assert!(step.sustained);
    assert_eq!(report.highest_sustained_rate, Some(20.0));
    assert_eq!(report.floor.rtt.count, 200);
    assert!(report.floor.rtt.p50_ms > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_push_of_a_small_two_node_run_is_delivered_across_nodes() {
    let nats = nats_url();
    let database = fresh_database().await;
    let one = TestServer::start_node(&database, &nats, |_| {}).await;
    let two = TestServer::start_node(&database, &nats, |_| {}).await;
    let app = one.app("load").await;
    let targets: Vec<Target> = [&one, &two]
        .iter()
        .map(|node| Target {
            base_url: node.server.base_url(),
            app: app.clone(),
            pid: None,
        })
        .collect();
    let report = chat_load::run(&targets, &tiny()).await.expect("run");
    let markdown = chat_load::report::markdown(&report);
    println!("{markdown}");

    assert_eq!(
        report.connect.opened, 40,
        "{:?}",
        report.connect.first_errors
    );
    // Both nodes hold sockets, each channel's members split between them (5 and 5).
    assert_eq!(report.connect.per_node, vec![20, 20]);
    let held: Vec<usize> = report.nodes.iter().map(|n| n.sockets).collect();
    assert_eq!(held, vec![20, 20]);
    assert!(report.memory.is_none() && report.nodes.iter().all(|n| n.memory.is_none()));
    let step = &report.steps[0];
    assert_eq!(step.send.ok, 40, "{:?}", step.send.first_errors);
    // The sends are split too.
    assert_eq!(step.send.sent_per_node, vec![20, 20]);
    // Every member gets every message of its channel, whichever node it sits on...
    assert_eq!(step.send.expected_deliveries, 40 * 10);
    assert_eq!(step.delivered, 400, "pushes received of the 400 expected");
    // ... and half of them (the 5 members on the other node) crossed through the broker.
    assert_eq!(step.send.cross_node_expected, 40 * 5);
    assert_eq!(
        step.cross_node_delivered, 200,
        "cross-node pushes received of the 200 expected"
    );
    assert_eq!(step.dropped, 0);
    assert!(step.sustained);
    assert_eq!(step.node_cpu_pct, vec![None, None]);
    assert!(markdown.contains("on 2 nodes") && markdown.contains("| 200 / 200 |"));
    drop((one, two));
}
