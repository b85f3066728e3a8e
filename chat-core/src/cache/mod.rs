//! The local SQLite cache: the synced replica of the user's channels (channels, members,
//! read states, messages, reactions, the user's stars and unread counts), the sync cursor,
//! local echoes of unsent messages and the durable outbox queue.
//!
//! One [`Cache`] owns one connection and is the single writer: writes take `&mut self`,
//! each runs in one transaction, and every statement is a cached prepared statement. File
//! databases run in WAL mode with `synchronous = FULL`, so anything a write returned `Ok`
//! for (a queued message, an applied sync page and its cursor) survives a crash or power
//! loss. The schema is versioned with `PRAGMA user_version` and numbered, append-only
//! migrations ([`schema`]).
//!
//! # Sync
//! [`Cache::apply_sync_page`] applies one `/v1/sync` page exactly as docs/protocol.md
//! ("Client algorithm") describes — limited channels replace their window, changes are
//! applied in order with "keep the higher rev" — and stores the page's cursor in the same
//! transaction: if anything fails nothing is applied and the cursor does not move.
//! Re-applying a page changes nothing. [`Cache::reset_synced_data`] handles a `410` reset.
//!
//! # Opening, and what the SDK does when the file is unusable
//! - [`Cache::open`] fails with [`CacheError::TooNew`] when the file was written by a newer
//!   SDK (the user downgraded the app): the file is not touched. It fails with
//!   [`CacheError::Corrupt`] when the file is not an SQLite database or is malformed.
//!   Neither case ever panics.
//! - The SDK opens its cache with [`Cache::open_or_rebuild`]: on `TooNew` or `Corrupt` it
//!   moves the file (and its `-wal`/`-shm` companions) aside as `<name>.newer-<n>` or
//!   `<name>.corrupt-<n>` — never deleting anything — and starts with an empty cache,
//!   which the next sync bootstraps from the server. The returned [`Rebuilt`] says what
//!   happened so the SDK can log it. Unsent outbox items of the old file stay in the
//!   moved-aside file (a newer SDK, or support, can still recover them); they are not
//!   sent by the rebuilt cache.
//! - `Corrupt` can also surface later, from any query, when SQLite meets a damaged page
//!   or a stored row no longer decodes. The SDK then drops the `Cache` and calls
//!   [`Cache::rebuild`], which moves the file aside the same way.
//! - Any other error ([`CacheError::Sqlite`]: disk full, I/O error, busy) leaves the file
//!   as it is; the operation can be retried.
//!
//! # Local echoes and the outbox
//! [`Cache::insert_local_message`] stores a message being sent (state
//! [`LocalState::Pending`], `rev` 0) and its outbox item in one transaction, so a message is
//! durable before it is shown. Local echoes sort after every server-confirmed message of
//! their channel, in enqueue order (the device clock never reorders history). When the
//! server copy arrives — sync, realtime ([`Cache::apply_changes`]) or the API reply
//! ([`Cache::apply_message_result`]) — it replaces the echo in place: same id, no duplicate.
//! Limited channel states, member tombstones and resets never drop local echoes or outbox
//! rows. The outbox payloads are opaque JSON owned by the outbox engine.
//!
//! # Windows
//! Each cached channel holds one contiguous window of its top-level history, from
//! [`WindowBounds::oldest`] to the newest message; [`Cache::apply_history_page`] extends
//! it backwards with pages fetched with `before=<oldest cached id>`. Changes to top-level
//! messages before the window are ignored (they would leave a hole); thread replies are
//! always cached.
//!
//! # Unread counts
//! Limited channel states bring exact unread counts. Between them the cache maintains the
//! counts locally from the changes it applies (a new message from someone else after the
//! owner's read marker adds one; a deletion of such a message removes one; the owner's
//! own read marker moving recounts the cached messages after it). Replies that were never
//! cached can make these local counts drift slightly; [`Cache::replace_unread_counts`]
//! stores the exact counts of `GET /v1/unread`, which the SDK fetches after a sync. Exact
//! counts say up to which message time they count (`counted_through`): a message created
//! up to it that is cached later was counted already and is not counted again.
//!
//! # The starred list
//! The owner's starred messages are a list of their own (`starred.rs`), beside the
//! windows: a star of a message older than its channel's window is listed with a copy of
//! the message that never enters the window or the unread counts.

mod apply;
#[cfg(test)]
mod apply_tests;
mod channel_list;
mod drafts;
pub mod error;
mod member_state;
#[cfg(test)]
mod member_state_tests;
mod message_codec;
mod outbox_rows;
mod queries;
mod quoted;
mod rows;
pub mod schema;
pub mod search;
mod starred;
#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub mod test_support;
mod unread;
mod upserts;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};

pub use apply::Completion;
pub use channel_list::{ChannelQuery, ChannelSort, Inclusion};
pub use drafts::{Draft, parent_key as drafts_key};
pub use error::{CacheError, CacheResult};
pub use member_state::{OwnChannelState, UnreadRow};
pub use outbox_rows::{OutboxRow, OutboxWrite};
pub use rows::{CachedMessage, ChannelListItem, LocalState, WindowBounds};

/// The local cache database. See the [module documentation](self).
pub struct Cache {
    conn: Connection,
    /// Checkpoints the log after commits, off the commits (native file caches; see
    /// [`Cache::open`]). Held, never read.
    #[cfg(not(target_arch = "wasm32"))]
    _checkpointer: Option<sqlite_checkpoint::Checkpointer>,
    user: Option<String>,
    /// The per-channel facts after the last sync page, with the connection's change count
    /// then: the next page reuses them only if no row changed since (see
    /// `apply_sync_page`).
    facts_memo: Option<(u64, apply::FactsMemo)>,
    /// A star of a message the cache does not hold was applied (`starred.rs`).
    starred_unheld: bool,
}

/// What [`Cache::open_or_rebuild`] or [`Cache::rebuild`] did with an unusable file.
#[derive(Debug)]
pub struct Rebuilt {
    /// Why the file could not be used ([`CacheError::Corrupt`] or [`CacheError::TooNew`]).
    pub reason: CacheError,
    /// Where the old database file now is.
    pub moved_to: PathBuf,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("path", &self.conn.path())
            .field("user", &self.user)
            .finish()
    }
}

impl Cache {
    /// Opens (creating if needed) the cache file at `path`, in WAL mode, migrating it to
    /// this build's schema. Fails with [`CacheError::TooNew`] or [`CacheError::Corrupt`]
    /// for a file it must not use (see the [module documentation](self)).
    ///
    /// On native platforms the log is checkpointed by a background thread with a
    /// connection of its own, after commits, never inside one (the rules:
    /// [`sqlite_checkpoint`]): a sync page or a local echo waits for a checkpoint's
    /// `fsync`s only when the log passes the safety net (~40 MB), and then for little.
    /// Should the thread not start, SQLite's own automatic checkpoints stay.
    pub fn open(path: impl AsRef<Path>) -> CacheResult<Self> {
        let mut conn = Connection::open(path.as_ref())?;
        schema::configure(&conn)?;
        // The browser's OPFS pool has no shared memory for WAL: a rollback journal there.
        schema::migrate(&mut conn, !cfg!(target_arch = "wasm32"))?;
        #[cfg(not(target_arch = "wasm32"))]
        let checkpointer = {
            let theirs = Connection::open(path.as_ref())?;
            schema::configure(&theirs)?;
            // A failed checkpoint is retried after the next commit, and the log stays
            // bounded by the writer's safety net: nothing to report to the app.
            //
            // Under a stream of commits the log grows to the safety net (10,000 pages,
            // ~40 MB) before a commit's inline checkpoint lets it restart, and its file
            // keeps that size to be reused. Measured (docs/BENCHMARKS.md §1, §3): a net of
            // 1,000 pages made ingest slower than SQLite's own checkpoints, and cutting the
            // file back after each restart (`journal_size_limit`) doubled the local echo
            // (every commit grew the file again, so each sync also wrote its size).
            sqlite_checkpoint::Checkpointer::start(theirs, &mut conn, |_| {}).ok()
        };
        let cache = Self::with_connection(conn)?;
        #[cfg(not(target_arch = "wasm32"))]
        let cache = Self {
            _checkpointer: checkpointer,
            ..cache
        };
        Ok(cache)
    }

    /// Rows written so far on this connection (inserts, updates, deletes): lets tests
    /// check that a step wrote nothing.
    #[cfg(test)]
    pub(crate) fn rows_written(&self) -> u64 {
        self.conn.total_changes()
    }

    /// A cache in memory (tests, or platforms without storage): nothing survives a drop.
    pub fn open_in_memory() -> CacheResult<Self> {
        let mut conn = Connection::open_in_memory()?;
        schema::configure(&conn)?;
        schema::migrate(&mut conn, false)?;
        Self::with_connection(conn)
    }

    /// Opens the cache at `path`; if the file is corrupt or from a newer SDK, moves it
    /// aside (`<name>.corrupt-<n>` / `<name>.newer-<n>`, with its `-wal` and `-shm` files)
    /// and opens a fresh cache in its place. This is how the SDK opens its cache.
    pub fn open_or_rebuild(path: impl AsRef<Path>) -> CacheResult<(Self, Option<Rebuilt>)> {
        let path = path.as_ref();
        match Self::open(path) {
            Ok(cache) => Ok((cache, None)),
            Err(reason) if reason.is_unusable_file() => {
                let tag = match reason {
                    CacheError::TooNew { .. } => "newer",
                    _ => "corrupt",
                };
                let moved_to = move_aside(path, tag)?;
                let cache = Self::open(path)?;
                Ok((cache, Some(Rebuilt { reason, moved_to })))
            }
            Err(e) => Err(e),
        }
    }

    /// Moves the file at `path` aside as `<name>.corrupt-<n>` (after a [`CacheError::Corrupt`]
    /// met while using it; drop the old `Cache` first) and opens a fresh cache there.
    pub fn rebuild(path: impl AsRef<Path>, reason: CacheError) -> CacheResult<(Self, Rebuilt)> {
        let path = path.as_ref();
        let moved_to = move_aside(path, "corrupt")?;
        let cache = Self::open(path)?;
        Ok((cache, Rebuilt { reason, moved_to }))
    }

    fn with_connection(conn: Connection) -> CacheResult<Self> {
        let user = rows::stored_user(&conn)?;
        Ok(Self {
            conn,
            #[cfg(not(target_arch = "wasm32"))]
            _checkpointer: None,
            user,
            facts_memo: None,
            starred_unheld: false,
        })
    }

    /// The user this cache belongs to, once set.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Binds the cache to its user (needed to apply sync data: own member tombstones, own
    /// reactions, unread counts). Setting the same user again is a no-op; another user is
    /// refused with [`CacheError::WrongUser`] (each user has their own cache file).
    pub fn set_user(&mut self, user: &str) -> CacheResult<()> {
        match &self.user {
            Some(bound) if bound == user => Ok(()),
            Some(bound) => Err(CacheError::WrongUser {
                bound: bound.clone(),
                requested: user.to_owned(),
            }),
            None => {
                self.conn
                    .prepare_cached("UPDATE sync_state SET user_id = ?1 WHERE id = 1")?
                    .execute([user])?;
                self.user = Some(user.to_owned());
                Ok(())
            }
        }
    }

    fn require_user(&self) -> CacheResult<String> {
        self.user.clone().ok_or(CacheError::NoUser)
    }

    /// The stored sync cursor (`None` before the first page, and after a reset).
    pub fn cursor(&self) -> CacheResult<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT cursor FROM sync_state WHERE id = 1")?
            .query_row([], |r| r.get(0))
            .optional()?
            .flatten())
    }

    /// The database file, if not in memory.
    pub fn path(&self) -> Option<&str> {
        self.conn.path().filter(|p| !p.is_empty())
    }
}

/// Renames `path` and its `-wal`/`-shm` companions to the first free `<name>.<tag>-<n>`.
/// The companions go first: a stale WAL must never sit next to a fresh database.
fn move_aside(path: &Path, tag: &str) -> CacheResult<PathBuf> {
    let with_suffix = |p: &Path, suffix: &str| {
        let mut s = p.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    let mut n = 1u32;
    let target = loop {
        let target = with_suffix(path, &format!(".{tag}-{n}"));
        let taken = [
            &target,
            &with_suffix(&target, "-wal"),
            &with_suffix(&target, "-shm"),
        ]
        .iter()
        .any(|p| p.exists());
        if !taken {
            break target;
        }
        n += 1;
    };
    for companion in ["-wal", "-shm", ""] {
        let from = with_suffix(path, companion);
        if from.exists() {
            let to = with_suffix(&target, companion);
            std::fs::rename(&from, &to).map_err(|source| CacheError::Io { path: from, source })?;
        }
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_corrupt_and_rebuild_keeps_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.db");
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        assert!(matches!(Cache::open(&path), Err(CacheError::Corrupt(_))));
        let (mut cache, rebuilt) = Cache::open_or_rebuild(&path).unwrap();
        let rebuilt = rebuilt.expect("rebuilt");
        assert!(matches!(rebuilt.reason, CacheError::Corrupt(_)));
        assert_eq!(rebuilt.moved_to, dir.path().join("cache.db.corrupt-1"));
        assert_eq!(std::fs::read(&rebuilt.moved_to).unwrap(), vec![0x5a; 8192]);
        cache.set_user("bob").unwrap();
        assert_eq!(cache.user(), Some("bob"));
        drop(cache);
        let cache = Cache::open(&path).unwrap();
        assert_eq!(
            cache.user(),
            Some("bob"),
            "the fresh file is a working cache"
        );
    }

    #[test]
    fn the_owner_is_fixed_once_set() {
        let mut cache = Cache::open_in_memory().unwrap();
        assert_eq!(cache.user(), None);
        cache.set_user("bob").unwrap();
        cache.set_user("bob").unwrap();
        assert!(matches!(
            cache.set_user("eve"),
            Err(CacheError::WrongUser { .. })
        ));
        assert_eq!(cache.cursor().unwrap(), None);
        assert_eq!(cache.path(), None);
    }

    /// A commit under SQLite's own checkpoint threshold (1,000 pages) stays in the log
    /// unless the cache's checkpointer copies it into the file: the file grows without
    /// another write. Without the checkpointer it would not.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn the_log_is_checkpointed_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.db");
        let cache = Cache::open(&path).unwrap();
        let size = || std::fs::metadata(&path).unwrap().len();
        let before = size();
        cache
            .conn
            .execute_batch(
                "BEGIN; CREATE TABLE ballast (x BLOB); \
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) \
                 INSERT INTO ballast SELECT randomblob(2000) FROM n; COMMIT;",
            )
            .unwrap();
        // A bounded wait for the thread on a busy machine; no timing asserted.
        for _ in 0..600 {
            if size() >= before + 900_000 {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("cache.db stayed at {} bytes (from {before})", size());
    }
}
