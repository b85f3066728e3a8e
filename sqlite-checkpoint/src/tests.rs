//! The checkpointer against real database files: commits below SQLite's own threshold are
//! copied into the database by the background thread (without it they stay in the log),
//! and a dropped checkpointer stops its thread.

use std::path::Path;

use super::*;

/// A WAL database with one table, as a writer connection.
fn writer(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    conn.execute_batch("CREATE TABLE t (x BLOB)").unwrap();
    conn
}

/// About 1 MB in one transaction: ~250 pages, under SQLite's automatic threshold (1,000).
fn write_a_megabyte(conn: &Connection) {
    conn.execute_batch(
        "BEGIN; \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) \
         INSERT INTO t SELECT randomblob(2000) FROM n; \
         COMMIT;",
    )
    .unwrap();
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

#[test]
fn commits_wake_a_background_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let mut conn = writer(&db);
    let _checkpointer = Checkpointer::start(Connection::open(&db).unwrap(), &mut conn, |e| {
        panic!("checkpoint failed: {e}")
    })
    .unwrap();
    let before = size(&db);
    write_a_megabyte(&conn);
    // Bounded wait for the thread (a busy machine may take its time), no timing asserted.
    for _ in 0..600 {
        if size(&db) >= before + 900_000 {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("t.db stayed at {} bytes (from {before})", size(&db));
}

#[test]
fn without_it_the_same_commit_stays_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let conn = writer(&db);
    let before = size(&db);
    write_a_megabyte(&conn);
    std::thread::sleep(INTERVAL * 3);
    assert!(
        size(&db) < before + 900_000,
        "checkpointed without a checkpointer"
    );
    assert!(
        size(&dir.path().join("t.db-wal")) > 900_000,
        "the log holds the commit"
    );
}

#[test]
fn a_dropped_checkpointer_stops_and_the_writer_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let mut conn = writer(&db);
    let checkpointer =
        Checkpointer::start(Connection::open(&db).unwrap(), &mut conn, |_| {}).unwrap();
    write_a_megabyte(&conn);
    drop(checkpointer);
    write_a_megabyte(&conn);
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1_000);
}

/// Past the safety net the writer checkpoints inside its commit, and that checkpoint may
/// be refused (busy: another connection is checkpointing). The commit happened all the
/// same and must not report an error. Here every commit is past a one-page net while
/// another connection checkpoints in a loop.
#[test]
fn a_refused_inline_checkpoint_never_fails_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let mut conn = writer(&db);
    let _checkpointer =
        Checkpointer::start_with(Connection::open(&db).unwrap(), &mut conn, 1, |_| {}).unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rival = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            let other = Connection::open(&db).unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = other.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        })
    };
    let mut failed = Vec::new();
    for i in 0..3_000 {
        if let Err(e) = conn.execute("INSERT INTO t VALUES (randomblob(100))", []) {
            failed.push((i, e.to_string()));
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    rival.join().unwrap();
    assert!(
        failed.is_empty(),
        "{} commits reported an error: {:?}",
        failed.len(),
        &failed[..failed.len().min(3)]
    );
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 3_000);
}
