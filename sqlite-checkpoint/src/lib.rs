//! WAL checkpoints off the write path, for the SQLite databases of chat-server and of the
//! SDK's cache (native builds).
//!
//! In WAL mode SQLite copies the log back into the database file in a *checkpoint*. By
//! default the connection whose commit takes the log past 1,000 pages runs it inside that
//! commit, `fsync`s included, so every so often one write waits for a checkpoint: most of
//! the server's delivery p99, and about a tenth of the SDK's sync ingest time
//! (docs/BENCHMARKS.md §1, §4). Rules:
//!
//! - The writer connection does not checkpoint in the normal course: [`Checkpointer::start`]
//!   installs a WAL hook on it (which replaces SQLite's automatic checkpoint) that wakes
//!   the checkpointer after each commit, and checkpoints inline only past
//!   [`SAFETY_NET_PAGES`] (a log of about 40 MB). The log restarts from its beginning only
//!   when a write transaction starts with every frame copied, which a steady stream of
//!   commits never leaves time for: under sustained writes the log grows to the safety
//!   net, whose inline checkpoint (little left to copy by then) lets the next transaction
//!   restart it. The hook never fails a commit: the inline checkpoint's result is ignored,
//!   as SQLite's own automatic checkpoint does.
//! - A background thread with its own connection runs `PRAGMA wal_checkpoint(PASSIVE)`
//!   after commits, at most once per [`INTERVAL`]. A passive checkpoint never waits for
//!   readers or the writer: it copies what it can and leaves the rest for the next round.
//!   An idle database costs nothing: the thread sleeps until a commit wakes it.
//! - The thread stops (and is joined) when the [`Checkpointer`] is dropped. A failed
//!   checkpoint goes to the caller's `on_error` and is retried after the next commit; the
//!   safety net still bounds the log.
//! - Durability is unchanged: a commit is durable once its log frames are synced, which
//!   the writer's `synchronous` setting decides; a checkpoint only moves committed pages.

use std::ffi::c_int;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use rusqlite::wal::CheckpointMode;

/// The log size, in pages, past which the writer checkpoints inside its commit.
pub const SAFETY_NET_PAGES: c_int = 10_000;
/// The shortest time between two background checkpoints.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// Why a checkpointer could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The thread could not be spawned.
    #[error("starting the checkpoint thread: {0}")]
    Spawn(#[from] std::io::Error),
    /// The writer's WAL hook could not be installed.
    #[error("installing the WAL hook: {0}")]
    Hook(#[from] rusqlite::Error),
}

#[derive(Default)]
struct State {
    /// Commits happened since the last checkpoint started.
    dirty: bool,
    /// The thread waits for a commit (not for its interval to pass): only then does a
    /// commit wake it, once. A commit costs an uncontended lock, never a wake-up per
    /// commit (which cost a local echo ~20 µs of futex calls and context switches).
    idle: bool,
    /// The checkpointer is being dropped.
    stop: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The flags stay meaningful even if a holder panicked.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wrote(&self) {
        let mut s = self.lock();
        let wake = s.idle && !s.dirty;
        s.dirty = true;
        drop(s);
        if wake {
            self.wake.notify_one();
        }
    }
}

/// The background checkpointer of one database file.
pub struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Checkpointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpointer").finish_non_exhaustive()
    }
}

impl Checkpointer {
    /// Starts the thread on `conn`, a connection of its own to the database file (opened
    /// and configured by the caller), and hooks `writer` to it: from now on the writer's
    /// commits wake the thread instead of checkpointing themselves. `on_error` hears the
    /// checkpoints that failed (each is retried after the next commit).
    pub fn start(
        conn: Connection,
        writer: &mut Connection,
        on_error: impl Fn(&rusqlite::Error) + Send + 'static,
    ) -> Result<Self, StartError> {
        Self::start_with(conn, writer, SAFETY_NET_PAGES, on_error)
    }

    /// [`Checkpointer::start`] with another safety net: the log size, in pages, past which
    /// a commit checkpoints inline (what the background thread left, usually little).
    pub fn start_with(
        conn: Connection,
        writer: &mut Connection,
        safety_net_pages: c_int,
        on_error: impl Fn(&rusqlite::Error) + Send + 'static,
    ) -> Result<Self, StartError> {
        let shared = Arc::new(Shared::default());
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &theirs, &on_error))?;
        let checkpointer = Self {
            shared: shared.clone(),
            thread: Some(thread),
        };
        writer.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: c_int| {
            if pages >= safety_net_pages {
                // The commit is done: an error returned here would reach the writer as
                // its commit's error. Like SQLite's own automatic checkpoint, the result
                // is ignored (busy while the thread checkpoints: the next commit retries).
                let _ = wal.checkpoint_v2(CheckpointMode::PASSIVE);
            } else {
                shared.wrote();
            }
            Ok(())
        }))?;
        Ok(checkpointer)
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(conn: &Connection, shared: &Shared, on_error: &dyn Fn(&rusqlite::Error)) {
    loop {
        {
            let mut s = shared.lock();
            while !s.dirty && !s.stop {
                s.idle = true;
                s = shared.wake.wait(s).unwrap_or_else(|e| e.into_inner());
            }
            s.idle = false;
            if s.stop {
                return;
            }
            s.dirty = false;
        }
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            on_error(&e);
        }
        // Let commits gather: at most one checkpoint per interval (only a stop cuts it short).
        let until = Instant::now() + INTERVAL;
        let mut s = shared.lock();
        while !s.stop {
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                break;
            };
            s = shared
                .wake
                .wait_timeout(s, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

#[cfg(test)]
mod tests;
