//! The engine's disk work never holds up the app's other tasks: while an engine step
//! waits for its database (its commits wait for `fsync`; here another connection holds the
//! write lock), a task spawned on the same runtime still runs. The runtime has a single
//! worker, so an engine step that blocked the worker itself would stop every other task —
//! the request it just spawned, the app's sockets and timers.

use std::sync::mpsc;
use std::time::Duration;

use chat_core::client::{ChatClient, NewMessage};
use chat_test::{TestServer, cid};

use crate::support::client::{FaultyTransport, client};

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_task_runs_while_the_engine_waits_for_its_database() {
    let t = TestServer::start().await;
    let app = t.app_with_users(&["alice"]).await;
    t.user(&app, "alice")
        .create_channel("team:disk", &["alice"])
        .await;
    let dir = tempfile::tempdir().unwrap();
    let transport = FaultyTransport::new(&t.server.base_url());
    let alice = client(&t, &app, "alice", Some(dir.path()), transport).await;
    alice.sync().await.expect("synced");
    let path = ChatClient::builder(&t.server.base_url(), &app.app_id, "alice")
        .data_dir(dir.path())
        .cache_path()
        .expect("a file cache");

    // Another connection holds the write lock until the app's task has run, or for 4 s
    // (less than the cache's 5 s busy timeout, so the send then still succeeds).
    let (locked_tx, locked) = mpsc::channel();
    let (ran, ran_rx) = mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        locked_tx.send(()).unwrap();
        let task_ran = ran_rx.recv_timeout(Duration::from_secs(4)).is_ok();
        conn.execute_batch("ROLLBACK").unwrap();
        task_ran
    });
    locked.recv().unwrap();
    let sender = alice.clone();
    let send = tokio::spawn(async move {
        sender
            .send_message(
                &cid("team:disk"),
                NewMessage::text("while the disk is busy"),
            )
            .await
    });
    // The test body runs on its own thread, not on the worker: give the engine time to
    // start its write and wait for the lock, then spawn the app's task.
    std::thread::sleep(Duration::from_millis(300));
    tokio::spawn(async move {
        let _ = ran.send(());
    });
    let task_ran = holder.join().unwrap();
    assert!(
        task_ran,
        "a task spawned while the engine waited for its database did not run"
    );
    send.await
        .unwrap()
        .expect("the send succeeds once the lock is released");
    alice.shutdown().await;
}
