//! The cache schema and its numbered migrations. `PRAGMA user_version` holds the schema
//! version; the `MIGRATIONS` list is append-only (never edit a shipped entry, add a new
//! one), and a database with a newer version than this build is refused with
//! [`CacheError::TooNew`] before anything is written to it.
//!
//! Layout (every synced row keeps its wire `rev` so "keep the higher rev" is one compare):
//! - `sync_state`: one row — the owning user, the sync cursor, the outbox position counter.
//! - `channels`: the Channel JSON plus its list sort keys, the cached window bounds of the
//!   channel's top-level history and the owner's unread counts.
//! - `members`, `reads`, `reactions` (tombstones kept), `flags` (the owner's stars): each
//!   cascades from `channels`, so dropping a channel drops everything synced under it.
//! - `channel_keys`: a small integer key for each cid ever stored (never deleted; a cid
//!   keeps its key). Messages name their channel by it (`ck`), so the per-channel index
//!   holds and compares integers.
//! - `messages`: server-confirmed rows (`local_state IS NULL`, `rev > 0`) and local echoes
//!   of unsent messages (`local_state` set, `rev = 0`). No foreign key to `channels`: a
//!   local echo may live in a channel that is not (or no longer) cached. `order_key` is the
//!   display order: the server `created_at` (strictly increasing within a channel) for
//!   confirmed rows, and [`LOCAL_ORDER_BASE`] + outbox position for local echoes, so unsent
//!   messages always sort after every confirmed one, in enqueue order, whatever the clock.
//!   `text` holds the message text as it is (version 3; `NULL` in older rows, whose text
//!   is in `data`), `data` the remaining fields in the compact encoding of
//!   `message_codec` (the other tables keep their wire JSON).
//! - `outbox`: the outbox engine's durable queue (opaque JSON payloads).
//! - `starred` (version 4): the owner's starred messages, most recently sent first by
//!   `starred_order`, each with a wire-JSON copy of the message (`data`, kept at the
//!   highest `rev` seen) and the `rev` of the flags change that listed it (`flags_rev`, 0
//!   when a `GET /v1/starred` page did). Not tied to `channels` or to the windows: a
//!   star of a message outside its channel's window lives here alone.
//! - `drafts` (version 6): unsent text per channel and thread (`drafts.rs`).
//! - `quoted` (version 5): copies of quoted messages fetched for quote-reply previews
//!   (`quoted.rs`), kept at the highest `rev` seen; dropped with their channel.
//! - `messages_fts` (version 8): the full-text index of `messages.text` (external content;
//!   triggers queue changed rows in `fts_queue`, applied by the
//!   writer or at the engine's step end; deleted messages are not indexed). See `cache/search.rs`.

use rusqlite::Connection;
use rusqlite::config::DbConfig;

use super::error::{CacheError, CacheResult};

/// `order_key` of a local echo = this + its outbox position (above any real `created_at`
/// in milliseconds, which stays below 2^53 for the next 285,000 years).
pub const LOCAL_ORDER_BASE: i64 = 1 << 53;

/// The migrations, in order: entry `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: initial schema
    r#"
    CREATE TABLE sync_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        user_id TEXT,
        cursor TEXT,
        outbox_next INTEGER NOT NULL DEFAULT 1
    );
    INSERT INTO sync_state (id) VALUES (1);

    CREATE TABLE channels (
        cid TEXT PRIMARY KEY,
        rev INTEGER NOT NULL CHECK (rev >= 0),
        sort_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        data TEXT NOT NULL,
        window_start INTEGER,
        window_complete INTEGER NOT NULL DEFAULT 0,
        unread_count INTEGER NOT NULL DEFAULT 0,
        unread_mentions INTEGER NOT NULL DEFAULT 0,
        unread_through INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX channels_list ON channels (sort_at DESC, created_at DESC, cid DESC);

    CREATE TABLE members (
        cid TEXT NOT NULL REFERENCES channels (cid) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        rev INTEGER NOT NULL CHECK (rev >= 0),
        deleted INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (cid, user_id)
    ) WITHOUT ROWID;

    CREATE TABLE reads (
        cid TEXT NOT NULL REFERENCES channels (cid) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        rev INTEGER NOT NULL CHECK (rev >= 0),
        data TEXT NOT NULL,
        PRIMARY KEY (cid, user_id)
    ) WITHOUT ROWID;

    CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        cid TEXT NOT NULL,
        parent_id TEXT,
        user_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        order_key INTEGER NOT NULL,
        rev INTEGER NOT NULL CHECK (rev >= 0),
        deleted_at INTEGER,
        local_state TEXT CHECK (local_state IN ('pending', 'sending', 'failed')),
        local_error TEXT,
        data TEXT NOT NULL,
        CHECK (local_state IS NULL OR rev = 0),
        CHECK (local_state IS NOT NULL OR order_key = created_at)
    );
    CREATE INDEX messages_window ON messages (cid, order_key);
    CREATE INDEX messages_thread ON messages (parent_id, order_key) WHERE parent_id IS NOT NULL;

    CREATE TABLE reactions (
        message_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        type TEXT NOT NULL,
        cid TEXT NOT NULL REFERENCES channels (cid) ON DELETE CASCADE,
        rev INTEGER NOT NULL CHECK (rev >= 0),
        deleted INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (message_id, user_id, type)
    ) WITHOUT ROWID;
    CREATE INDEX reactions_channel ON reactions (cid);

    CREATE TABLE flags (
        message_id TEXT PRIMARY KEY,
        cid TEXT NOT NULL REFERENCES channels (cid) ON DELETE CASCADE,
        starred INTEGER NOT NULL,
        rev INTEGER NOT NULL CHECK (rev >= 0)
    ) WITHOUT ROWID;
    CREATE INDEX flags_channel ON flags (cid);

    CREATE TABLE outbox (
        op_id TEXT PRIMARY KEY,
        cid TEXT NOT NULL,
        position INTEGER NOT NULL UNIQUE,
        payload TEXT NOT NULL CHECK (json_valid(payload)),
        updated_at INTEGER
    );
    "#,
    // 2: the same `messages` table with its `local_state` check written as comparisons.
    // `x IN ('a', 'b', 'c')` inside a CHECK builds a temporary lookup table on every row
    // written, which made inserting messages about 15 % slower (docs/BENCHMARKS.md). A
    // CHECK cannot be altered in place, so the table is rebuilt with the same columns,
    // rows and indexes.
    r#"
    CREATE TABLE messages_v2 (
        id TEXT PRIMARY KEY,
        cid TEXT NOT NULL,
        parent_id TEXT,
        user_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        order_key INTEGER NOT NULL,
        rev INTEGER NOT NULL CHECK (rev >= 0),
        deleted_at INTEGER,
        local_state TEXT
            CHECK (local_state = 'pending' OR local_state = 'sending' OR local_state = 'failed'),
        local_error TEXT,
        data TEXT NOT NULL,
        CHECK (local_state IS NULL OR rev = 0),
        CHECK (local_state IS NOT NULL OR order_key = created_at)
    );
    INSERT INTO messages_v2 (id, cid, parent_id, user_id, created_at, order_key, rev,
                             deleted_at, local_state, local_error, data)
        SELECT id, cid, parent_id, user_id, created_at, order_key, rev,
               deleted_at, local_state, local_error, data
        FROM messages;
    DROP TABLE messages;
    ALTER TABLE messages_v2 RENAME TO messages;
    CREATE INDEX messages_window ON messages (cid, order_key);
    CREATE INDEX messages_thread ON messages (parent_id, order_key) WHERE parent_id IS NOT NULL;
    "#,
    // Version 3: messages name their channel by a small integer key (`channel_keys`), so
    // the per-channel index compares integers, not cid text; the text has a column of its
    // own, bound and read without JSON escaping. Existing rows keep their text in `data`
    // (`text` NULL).
    r#"
    CREATE TABLE channel_keys (
        key INTEGER PRIMARY KEY,
        cid TEXT NOT NULL UNIQUE
    );
    INSERT INTO channel_keys (cid)
        SELECT cid FROM channels UNION SELECT cid FROM messages ORDER BY 1;
    CREATE TABLE messages_v3 (
        id TEXT PRIMARY KEY,
        ck INTEGER NOT NULL,
        parent_id TEXT,
        user_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        order_key INTEGER NOT NULL,
        rev INTEGER NOT NULL CHECK (rev >= 0),
        deleted_at INTEGER,
        local_state TEXT
            CHECK (local_state = 'pending' OR local_state = 'sending' OR local_state = 'failed'),
        local_error TEXT,
        data TEXT NOT NULL,
        text TEXT,
        CHECK (local_state IS NULL OR rev = 0),
        CHECK (local_state IS NOT NULL OR order_key = created_at)
    );
    INSERT INTO messages_v3 (id, ck, parent_id, user_id, created_at, order_key, rev,
                             deleted_at, local_state, local_error, data)
        SELECT m.id, k.key, m.parent_id, m.user_id, m.created_at, m.order_key, m.rev,
               m.deleted_at, m.local_state, m.local_error, m.data
        FROM messages m JOIN channel_keys k ON k.cid = m.cid;
    DROP TABLE messages;
    ALTER TABLE messages_v3 RENAME TO messages;
    CREATE INDEX messages_window ON messages (ck, order_key);
    CREATE INDEX messages_thread ON messages (parent_id, order_key) WHERE parent_id IS NOT NULL;
    "#,
    // Version 4: the owner's starred messages as a list of their own (`cache/starred.rs`),
    // apart from the channel windows: a star of a message older than its channel's window
    // is listed with a copy of the message, which never joins `messages` (no hole in a
    // window, no unread count). Filled from `GET /v1/starred` pages and the owner's flags
    // changes; nothing to carry over (the list's first page is fetched when it opens).
    r#"
    CREATE TABLE starred (
        message_id TEXT PRIMARY KEY,
        cid TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        rev INTEGER NOT NULL CHECK (rev >= 0),
        flags_rev INTEGER NOT NULL CHECK (flags_rev >= 0),
        data TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX starred_order ON starred (created_at, message_id);
    CREATE INDEX starred_channel ON starred (cid);
    "#,
    // Version 5: copies of quoted messages the cache does not hold otherwise
    // (`cache/quoted.rs`), fetched for the previews of quote-replies; like the starred
    // copies they never join `messages`.
    r#"
    CREATE TABLE quoted (
        message_id TEXT PRIMARY KEY,
        cid TEXT NOT NULL,
        rev INTEGER NOT NULL CHECK (rev >= 0),
        data TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX quoted_channel ON quoted (cid);
    "#,
    // Version 6: unsent text per channel and per thread (`cache/drafts.rs`); `parent_id`
    // is '' for the channel itself.
    r#"
    CREATE TABLE drafts (
        cid TEXT NOT NULL,
        parent_id TEXT NOT NULL,
        text TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (cid, parent_id)
    ) WITHOUT ROWID;
    "#,
    // Version 7: the owner's own settings of each channel (hide / mute / archive, synced
    // as `member_state` changes and `own_state` in channel states; `cache/member_state.rs`),
    // the index the total-unread value reads (only channels with unread messages), and the
    // index of the channel list sorted by unread count.
    r#"
    ALTER TABLE channels ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE channels ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE channels ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE channels ADD COLUMN state_rev INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX channels_unread ON channels (cid, unread_count, unread_mentions, muted)
        WHERE unread_count > 0;
    CREATE INDEX channels_by_unread
        ON channels (unread_count DESC, sort_at DESC, created_at DESC, cid DESC);
    "#,
    // Version 8: full-text search over the cached message text (`cache/search.rs`). An
    // external-content FTS5 index on `messages.text` (the text is stored once). Triggers
    // do not write the index themselves: FTS5 flushes its pending terms at every statement
    // savepoint, and a trigger runs inside one, so indexing row by row from a trigger made
    // a sync page ~10× slower (docs/BENCHMARKS.md §12). Instead they queue the changed
    // rowids in `fts_queue` with the text the index holds for them (`indexed`, NULL when
    // none; the first change of a transaction wins: not `OR IGNORE`, which an upsert's
    // conflict clause overrides inside a trigger); `search::flush` applies the queue to the
    // index in two statements (in a small write's own transaction, or at the engine's step
    // end after a sync page). Deleted messages are not indexed. Rows written before version 3 get their
    // text into the `text` column first. The index names rows by `messages`' implicit
    // rowid, which only `VACUUM` could renumber: the cache never vacuums.
    r#"
    UPDATE messages SET text = json_extract(data, '$.text')
        WHERE text IS NULL AND json_valid(data);
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, content = 'messages', content_rowid = 'rowid',
        tokenize = 'unicode61 remove_diacritics 2'
    );
    INSERT INTO messages_fts (rowid, text)
        SELECT rowid, text FROM messages WHERE text IS NOT NULL AND deleted_at IS NULL;
    CREATE TABLE fts_queue (
        rowid INTEGER PRIMARY KEY,
        indexed TEXT
    );
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
    BEGIN
        INSERT INTO fts_queue (rowid, indexed) SELECT new.rowid, NULL
            WHERE NOT EXISTS (SELECT 1 FROM fts_queue WHERE rowid = new.rowid);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
    BEGIN
        INSERT INTO fts_queue (rowid, indexed)
            SELECT old.rowid, CASE WHEN old.deleted_at IS NULL THEN old.text END
            WHERE NOT EXISTS (SELECT 1 FROM fts_queue WHERE rowid = old.rowid);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, deleted_at ON messages
        WHEN new.text IS NOT old.text OR (new.deleted_at IS NULL) <> (old.deleted_at IS NULL)
    BEGIN
        INSERT INTO fts_queue (rowid, indexed)
            SELECT old.rowid, CASE WHEN old.deleted_at IS NULL THEN old.text END
            WHERE NOT EXISTS (SELECT 1 FROM fts_queue WHERE rowid = old.rowid);
    END;
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Per-connection settings. `synchronous = FULL`: a committed transaction (a queued
/// message, an applied sync page with its cursor) survives power loss, not only a crash.
/// The query planner stability guarantee (QPSG) makes a statement's plan independent of
/// its bound values: without it SQLite re-prepares a cached statement whenever a value
/// it planned with (a bound `LIMIT`, a parameter compared with a literal) is bound again,
/// which cost a live message window a quarter of its refresh time. Every cache query has
/// one right plan whatever the values (checked in `queries`' plan tests).
pub fn configure(conn: &Connection) -> CacheResult<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.set_prepared_statement_cache_capacity(96);
    Ok(())
}

/// The schema version stored in the file (0 for a new, empty database). This is the first
/// read of the file, so a file that is not a database fails here with
/// [`CacheError::Corrupt`].
pub fn stored_version(conn: &Connection) -> CacheResult<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Refuses a newer database, switches a file database to WAL, then runs the missing
/// migrations, each in its own transaction together with its version bump.
pub fn migrate(conn: &mut Connection, wal: bool) -> CacheResult<()> {
    let version = stored_version(conn)?;
    if version > SCHEMA_VERSION {
        return Err(CacheError::TooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    // Touch the schema so a damaged first page is detected now, not on first use.
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
        r.get::<_, i64>(0)
    })?;
    if wal {
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(CacheError::Invalid(format!(
                "cannot enable WAL (journal_mode={mode})"
            )));
        }
    }
    let start = usize::try_from(version).unwrap_or(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_a_no_op_and_newer_versions_are_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        configure(&conn).unwrap();
        migrate(&mut conn, false).unwrap();
        assert_eq!(stored_version(&conn).unwrap(), SCHEMA_VERSION);
        migrate(&mut conn, false).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        match migrate(&mut conn, false) {
            Err(CacheError::TooNew { found, supported }) => {
                assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
            }
            other => panic!("expected TooNew, got {other:?}"),
        }
    }

    #[test]
    fn versions_2_and_3_keep_every_message_and_still_check_local_state() {
        let mut conn = Connection::open_in_memory().unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(MIGRATIONS[0]).unwrap();
        tx.pragma_update(None, "user_version", 1).unwrap();
        tx.commit().unwrap();
        conn.execute_batch(
            "INSERT INTO messages VALUES ('m1', 'team:a', NULL, 'ann', 5, 5, 3, NULL, NULL, NULL, '{}');
             INSERT INTO messages VALUES ('m2', 'team:a', 'm1', 'bob', 6, 9007199254740993, 0, NULL,
                                          'failed', 'refused', '{}');",
        )
        .unwrap();
        migrate(&mut conn, false).unwrap();
        assert_eq!(stored_version(&conn).unwrap(), SCHEMA_VERSION);
        let rows: Vec<(String, Option<String>, i64)> = conn
            .prepare("SELECT id, local_state, order_key FROM messages ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                ("m1".to_owned(), None, 5),
                (
                    "m2".to_owned(),
                    Some("failed".to_owned()),
                    9_007_199_254_740_993
                )
            ]
        );
        let indexes: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'messages' \
                   AND name IN ('messages_window', 'messages_thread')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 2);
        // Version 3: each message names its channel by its key; older rows keep their text
        // in `data`.
        let keyed: Vec<(String, String, Option<String>)> = conn
            .prepare(
                "SELECT m.id, k.cid, m.text FROM messages m \
                 JOIN channel_keys k ON k.key = m.ck ORDER BY m.id",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let team_a = |id: &str| (id.to_owned(), "team:a".to_owned(), None);
        assert_eq!(keyed, [team_a("m1"), team_a("m2")]);
        let bad = conn.execute(
            "INSERT INTO messages (id, ck, parent_id, user_id, created_at, order_key, rev, \
               deleted_at, local_state, local_error, data) \
             VALUES ('m3', 1, NULL, 'bob', 7, 7, 0, NULL, 'lost', NULL, '{}')",
            [],
        );
        assert!(bad.is_err(), "an unknown local_state must be refused");
    }

    #[test]
    fn a_version_2_file_opens_with_its_messages_in_order_and_their_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            let tx = conn.transaction().unwrap();
            tx.execute_batch(MIGRATIONS[0]).unwrap();
            tx.execute_batch(MIGRATIONS[1]).unwrap();
            tx.pragma_update(None, "user_version", 2).unwrap();
            let row = "INSERT INTO messages (id, cid, parent_id, user_id, created_at, order_key, \
                         rev, deleted_at, local_state, local_error, data) \
                       VALUES (?1, 'team:a', NULL, 'ann', ?2, ?2, ?3, NULL, NULL, NULL, ?4)";
            for (n, text) in [(1u8, "first"), (2, "second")] {
                let id = format!("01900000-0000-7000-8000-00000000000{n}");
                let data = format!(r#"{{"text":"{text}"}}"#);
                tx.execute(row, rusqlite::params![id, 1_000 + i64::from(n), n, data])
                    .unwrap();
            }
            tx.commit().unwrap();
        }
        let cache = super::super::Cache::open(&path).unwrap();
        let window = cache
            .messages_window(&"team:a".parse().unwrap(), 10, None)
            .unwrap();
        let texts: Vec<&str> = window.iter().map(|m| m.message.text.as_str()).collect();
        assert_eq!(texts, ["first", "second"]);
        assert_eq!(window[0].message.cid.to_string(), "team:a");
    }

    #[test]
    fn a_negative_version_is_treated_as_new() {
        // user_version is a signed 32-bit field; a negative value never skips migrations.
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", -3).unwrap();
        migrate(&mut conn, false).unwrap();
        assert_eq!(stored_version(&conn).unwrap(), SCHEMA_VERSION);
    }
}
