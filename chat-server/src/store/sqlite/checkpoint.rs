//! WAL checkpoints off the write path.
//!
//! In WAL mode SQLite copies the log back into the database file in a *checkpoint*. By
//! default the connection that commits the 1,000th page runs it inside that commit, so
//! every so often one send waits for a checkpoint and its `fsync`s: that was most of the
//! realtime delivery p99 (docs/BENCHMARKS.md §4). Rules:
//!
//! - The writer connection does not checkpoint in the normal course: its
//!   `wal_autocheckpoint` is raised to [`SAFETY_NET_PAGES`] (a log of about 40 MB), a safety
//!   net for when the checkpointer falls behind.
//! - A background thread with its own connection runs `PRAGMA wal_checkpoint(PASSIVE)`
//!   after writes, at most once per [`INTERVAL`]. A passive checkpoint never waits for
//!   readers or the writer: it copies what it can and leaves the rest for the next round.
//! - The thread stops (and is joined) when the store is dropped. A failed checkpoint is
//!   logged and retried after the next write; the safety net still bounds the log.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::{lock, schema};
use crate::store::{StoreError, StoreResult};

/// The writer's `wal_autocheckpoint`: it checkpoints itself only past this many pages.
pub const SAFETY_NET_PAGES: i64 = 10_000;
/// The shortest time between two background checkpoints.
pub const INTERVAL: Duration = Duration::from_millis(100);

#[derive(Default)]
struct State {
    /// Commits happened since the last checkpoint started.
    dirty: bool,
    /// The store is being dropped.
    stop: bool,
}

/// The background checkpointer of one database file.
pub struct Checkpointer {
    shared: Arc<(Mutex<State>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread, with its own connection to `path`.
    pub fn start(path: &Path) -> StoreResult<Self> {
        let conn = Connection::open(path)?;
        schema::configure(&conn)?;
        let shared = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &theirs))
            .map_err(|e| StoreError::Backend(format!("starting the checkpointer: {e}")))?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// A write transaction committed: a checkpoint is due.
    pub fn wrote(&self) {
        let (state, wake) = &*self.shared;
        lock(state).dirty = true;
        wake.notify_one();
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (state, wake) = &*self.shared;
        lock(state).stop = true;
        wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(conn: &Connection, shared: &(Mutex<State>, Condvar)) {
    let (state, wake) = shared;
    loop {
        {
            let mut s = lock(state);
            while !s.dirty && !s.stop {
                s = wake.wait(s).unwrap_or_else(|e| e.into_inner());
            }
            if s.stop {
                return;
            }
            s.dirty = false;
        }
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "background checkpoint failed");
        }
        // Let writes gather: at most one checkpoint per interval (only a stop cuts it short).
        let until = Instant::now() + INTERVAL;
        let mut s = lock(state);
        while !s.stop {
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                break;
            };
            s = wake
                .wait_timeout(s, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}
