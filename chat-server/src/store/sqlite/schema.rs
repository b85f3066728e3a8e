//! The SQLite schema and its numbered migrations. `PRAGMA user_version` holds the schema
//! version; a database from a newer server is refused rather than misread.
//!
//! Per-user message state follows Zulip's `UserMessage` flags table, made sparse so a send
//! writes a few pages whatever the channel's size (BENCHMARKS §9):
//! - **Unread counts come from the read marker.** A member's unread messages in a channel
//!   are the channel's live messages by others after `MAX(members.joined_pk,
//!   reads.last_read_pk)`: one range of the covering partial index `messages_unread`,
//!   probed from the member's row (`UNREAD_IN_CHANNEL`, `UNREAD_BY_CHANNEL`). `joined_pk`
//!   is the newest message pk when the member joined (or rejoined), so messages from before
//!   a membership never count.
//! - **`user_messages` holds only the exceptions**: a row per mentioned member at send (or
//!   edit) and per starred message. `FLAG_READ` there is meaningful only while
//!   `FLAG_MENTIONED` is set (mark-read flags the unread mention rows up to the marker; a
//!   mention added by an edit computes it from the marker), so "my unread mentions" stays
//!   one range of the partial `user_messages_unread_mentions` index.

use rusqlite::Connection;

use crate::store::{StoreError, StoreResult};

/// `user_messages.flags` bit: the user has read the message.
pub const FLAG_READ: i64 = 1;
/// `user_messages.flags` bit: the message mentions the user.
pub const FLAG_MENTIONED: i64 = 2;
/// `user_messages.flags` bit: the user starred the message.
pub const FLAG_STARRED: i64 = 4;

/// A user's (`?2`, app `?1`) memberships with their unread counts: for each member row
/// `mb` and its read marker `r`, one range of the covering `messages_unread` index after
/// the floor `MAX(joined_pk, last_read_pk)`, others' live messages only. A correlated
/// subquery, so each channel's count is its own index range whatever the statistics.
macro_rules! unread_rows {
    ($members:literal) => {
        concat!(
            "SELECT mb.cid AS cid, (SELECT COUNT(*) FROM messages AS m INDEXED BY messages_unread \
               WHERE m.app_id = mb.app_id AND m.cid = mb.cid AND m.deleted_at IS NULL \
                 AND m.pk > MAX(mb.joined_pk, COALESCE(r.last_read_pk, 0)) \
                 AND m.user_id <> mb.user_id) AS n \
             FROM members AS mb ",
            $members,
            " LEFT JOIN reads AS r INDEXED BY sqlite_autoindex_reads_1 \
               ON r.app_id = mb.app_id AND r.cid = mb.cid AND r.user_id = mb.user_id \
             WHERE mb.deleted = 0 AND mb.app_id = ?1 AND mb.user_id = ?2"
        )
    };
}

/// Unread messages of a user in one channel (`?1` app, `?2` user, `?3` cid): the member's
/// row, its marker, one index range. A non-member has none.
pub const UNREAD_IN_CHANNEL: &str = concat!(
    "SELECT COALESCE(SUM(n), 0) FROM (",
    unread_rows!(""),
    " AND mb.cid = ?3)"
);
/// Unread mentions of a user in one channel (`?1` app, `?2` user, `?3` cid).
pub const UNREAD_MENTIONS_IN_CHANNEL: &str = "SELECT COUNT(*) FROM user_messages \
     INDEXED BY user_messages_unread_mentions \
     WHERE app_id = ?1 AND user_id = ?2 AND cid = ?3 AND (flags & 3) = 2";
/// Unread messages per channel of a user (`?1` app, `?2` user): one row per membership
/// (channels with none included; the caller leaves them out), in `cid` order.
pub const UNREAD_BY_CHANNEL: &str = unread_rows!("INDEXED BY members_by_user");
/// Unread mentions per channel of a user (`?1` app, `?2` user).
pub const UNREAD_MENTIONS_BY_CHANNEL: &str = "SELECT cid, COUNT(*) FROM user_messages \
     INDEXED BY user_messages_unread_mentions \
     WHERE app_id = ?1 AND user_id = ?2 AND (flags & 3) = 2 GROUP BY cid";

const MIGRATIONS: &[&str] = &[
    // 1: initial schema
    r#"
    CREATE TABLE apps (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        api_key TEXT NOT NULL UNIQUE,
        api_secret TEXT NOT NULL,
        epoch TEXT NOT NULL,
        seq INTEGER NOT NULL DEFAULT 0,
        min_seq INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE users (
        app_id TEXT NOT NULL REFERENCES apps(id),
        id TEXT NOT NULL,
        name TEXT,
        image TEXT,
        custom TEXT NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (app_id, id)
    ) WITHOUT ROWID;
    CREATE TABLE channels (
        app_id TEXT NOT NULL REFERENCES apps(id),
        cid TEXT NOT NULL,
        type TEXT NOT NULL,
        id TEXT NOT NULL,
        name TEXT,
        image TEXT,
        config TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_message_at INTEGER,
        sort_at INTEGER NOT NULL,
        last_created_at INTEGER NOT NULL DEFAULT 0,
        member_count INTEGER NOT NULL DEFAULT 0,
        rev INTEGER NOT NULL,
        UNIQUE (app_id, cid)
    );
    CREATE INDEX channels_sort ON channels (app_id, sort_at DESC, cid DESC);
    CREATE TABLE members (
        app_id TEXT NOT NULL,
        cid TEXT NOT NULL,
        user_id TEXT NOT NULL,
        role TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0,
        joined_rev INTEGER NOT NULL,
        rev INTEGER NOT NULL,
        UNIQUE (app_id, cid, user_id)
    );
    CREATE INDEX members_by_user ON members (app_id, user_id, cid) WHERE deleted = 0;
    CREATE INDEX members_rev ON members (app_id, cid, rev);
    CREATE INDEX members_user_rev ON members (app_id, user_id, rev);
    CREATE TABLE messages (
        pk INTEGER PRIMARY KEY,
        app_id TEXT NOT NULL,
        id TEXT NOT NULL,
        cid TEXT NOT NULL,
        user_id TEXT NOT NULL,
        text TEXT NOT NULL,
        attachments TEXT NOT NULL,
        parent_pk INTEGER,
        parent_id TEXT,
        quoted_message_id TEXT,
        mentioned_users TEXT NOT NULL,
        reaction_counts TEXT NOT NULL,
        reply_count INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        edited_at INTEGER,
        deleted_at INTEGER,
        rev INTEGER NOT NULL,
        UNIQUE (app_id, id)
    );
    CREATE INDEX messages_channel ON messages (app_id, cid, pk) WHERE parent_pk IS NULL;
    CREATE INDEX messages_thread ON messages (app_id, parent_pk, pk) WHERE parent_pk IS NOT NULL;
    CREATE INDEX messages_rev ON messages (app_id, cid, rev);
    CREATE TABLE reactions (
        app_id TEXT NOT NULL,
        message_pk INTEGER NOT NULL,
        message_id TEXT NOT NULL,
        cid TEXT NOT NULL,
        user_id TEXT NOT NULL,
        type TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0,
        rev INTEGER NOT NULL,
        UNIQUE (app_id, message_pk, user_id, type)
    );
    CREATE INDEX reactions_rev ON reactions (app_id, cid, rev);
    CREATE INDEX reactions_by_user ON reactions (app_id, user_id, message_pk) WHERE deleted = 0;
    CREATE TABLE user_messages (
        app_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        message_pk INTEGER NOT NULL,
        cid TEXT NOT NULL,
        flags INTEGER NOT NULL,
        flags_rev INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (app_id, user_id, message_pk)
    ) WITHOUT ROWID;
    CREATE INDEX user_messages_unread ON user_messages (app_id, user_id, cid, message_pk)
        WHERE (flags & 1) = 0;
    CREATE INDEX user_messages_unread_mentions ON user_messages (app_id, user_id, cid)
        WHERE (flags & 3) = 2;
    CREATE INDEX user_messages_starred ON user_messages (app_id, user_id, message_pk)
        WHERE (flags & 4) != 0;
    CREATE INDEX user_messages_by_message ON user_messages (app_id, message_pk);
    CREATE INDEX user_messages_flags_rev ON user_messages (app_id, user_id, cid, flags_rev)
        WHERE flags_rev > 0;
    CREATE TABLE reads (
        app_id TEXT NOT NULL,
        cid TEXT NOT NULL,
        user_id TEXT NOT NULL,
        last_read_message_id TEXT,
        last_read_pk INTEGER NOT NULL DEFAULT 0,
        last_read_at INTEGER NOT NULL,
        rev INTEGER NOT NULL,
        UNIQUE (app_id, cid, user_id)
    );
    CREATE INDEX reads_rev ON reads (app_id, cid, rev);
    "#,
    // 2: cost of reads. `channels.last_rev` is the newest rev of any row of the channel
    // (members, messages, reactions, reads, flags; the channel row's own `rev` is read
    // alongside), kept by triggers so no write path can forget it: a sync skips channels
    // with nothing after its cursor without probing their tables. `members_current` serves
    // "the current members of a channel" (recipients of every write) from one covering
    // range, so no plan has to fall back to `members_by_user` with `app_id` alone;
    // `messages_replies` with `messages_channel` finds a channel's newest message in two
    // probes.
    r#"
    ALTER TABLE channels ADD COLUMN last_rev INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX members_current ON members (app_id, cid, user_id) WHERE deleted = 0;
    CREATE INDEX messages_replies ON messages (app_id, cid, pk) WHERE parent_pk IS NOT NULL;
    UPDATE channels SET last_rev = MAX(channels.last_rev, x.r)
      FROM (SELECT app_id, cid, MAX(rev) AS r FROM members GROUP BY app_id, cid) AS x
      WHERE channels.app_id = x.app_id AND channels.cid = x.cid;
    UPDATE channels SET last_rev = MAX(channels.last_rev, x.r)
      FROM (SELECT app_id, cid, MAX(rev) AS r FROM messages GROUP BY app_id, cid) AS x
      WHERE channels.app_id = x.app_id AND channels.cid = x.cid;
    UPDATE channels SET last_rev = MAX(channels.last_rev, x.r)
      FROM (SELECT app_id, cid, MAX(rev) AS r FROM reactions GROUP BY app_id, cid) AS x
      WHERE channels.app_id = x.app_id AND channels.cid = x.cid;
    UPDATE channels SET last_rev = MAX(channels.last_rev, x.r)
      FROM (SELECT app_id, cid, MAX(rev) AS r FROM reads GROUP BY app_id, cid) AS x
      WHERE channels.app_id = x.app_id AND channels.cid = x.cid;
    UPDATE channels SET last_rev = MAX(channels.last_rev, x.r)
      FROM (SELECT app_id, cid, MAX(flags_rev) AS r FROM user_messages WHERE flags_rev > 0
            GROUP BY app_id, cid) AS x
      WHERE channels.app_id = x.app_id AND channels.cid = x.cid;
    CREATE TRIGGER members_last_rev_insert AFTER INSERT ON members BEGIN
      UPDATE channels SET last_rev = NEW.rev
        WHERE app_id = NEW.app_id AND cid = NEW.cid AND last_rev < NEW.rev; END;
    CREATE TRIGGER members_last_rev_update AFTER UPDATE OF rev ON members BEGIN
      UPDATE channels SET last_rev = NEW.rev
        WHERE app_id = NEW.app_id AND cid = NEW.cid AND last_rev < NEW.rev; END;
    CREATE TRIGGER messages_last_rev_insert AFTER INSERT ON messages BEGIN
      UPDATE channels SET last_rev = NEW.rev
        WHERE app_id = NEW.app_id AND cid = NEW.cid AND last_rev < NEW.rev; END;
    CREATE TRIGGER messages_last_rev_update AFTER UPDATE OF rev ON messages BEGIN
      UPDATE channels SET last_rev = NEW.rev
        WHERE app_id = NEW.app_id AND cid = NEW.cid AND last_rev < NEW.rev; END;
    CREATE TRIGGER reactions_last_rev_insert AFTER INSERT ON reactions BEGIN
      UPDATE channels SET last_rev = NEW.rev
        WHERE app_id = NEW.app_id AND cid = NEW.cid AND last_rev < NEW.rev; END;
    CREATE TRIGGER reactions_last_rev_update AFTER UPDATE OF rev ON reactions BEGIN
      UPDATE channels SET last_rev = NEW.rev
        WHERE app_id = NEW.app_id AND cid = NEW.cid AND last_rev < NEW.rev; END;
    CREATE TRIGGER reads_last_rev_insert AFTER INSERT ON reads BEGIN
      UPDATE channels SET last_rev = NEW.rev
        WHERE app_id = NEW.app_id AND cid = NEW.cid AND last_rev < NEW.rev; END;
    CREATE TRIGGER reads_last_rev_update AFTER UPDATE OF rev ON reads BEGIN
      UPDATE channels SET last_rev = NEW.rev
        WHERE app_id = NEW.app_id AND cid = NEW.cid AND last_rev < NEW.rev; END;
    CREATE TRIGGER flags_last_rev_insert AFTER INSERT ON user_messages WHEN NEW.flags_rev > 0
    BEGIN
      UPDATE channels SET last_rev = NEW.flags_rev
        WHERE app_id = NEW.app_id AND cid = NEW.cid AND last_rev < NEW.flags_rev; END;
    CREATE TRIGGER flags_last_rev_update AFTER UPDATE OF flags_rev ON user_messages
      WHEN NEW.flags_rev > 0
    BEGIN
      UPDATE channels SET last_rev = NEW.flags_rev
        WHERE app_id = NEW.app_id AND cid = NEW.cid AND last_rev < NEW.flags_rev; END;
    "#,
    // 3: distinct channels (id derived from the member set) and the initial member set a
    // create replay is compared with (sorted JSON array; NULL on channels created before).
    r#"
    ALTER TABLE channels ADD COLUMN is_distinct INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE channels ADD COLUMN initial_members TEXT;
    "#,
    // 4: app settings: allowed CORS origins (a JSON array of strings)
    r#"
    ALTER TABLE apps ADD COLUMN cors_origins TEXT NOT NULL DEFAULT '[]';
    "#,
    // 5: sparse user_messages (see the module docs). A current member's `joined_pk` is the
    // pk before its oldest row that a send surely wrote (never starred, or still unread: a
    // star on a message from before the join makes a row born read), else the newest pk
    // now. The messages it skips between the join and that row all had read rows, so no
    // count changes. Then the rows that only said "unread" or "read" go; unread counts
    // read the marker instead.
    // `messages_unread` holds `deleted_at` (always NULL there) so the count reads no row.
    r#"
    ALTER TABLE members ADD COLUMN joined_pk INTEGER NOT NULL DEFAULT 0;
    UPDATE members SET joined_pk = COALESCE(
        (SELECT MIN(u.message_pk) - 1 FROM user_messages AS u
          WHERE u.app_id = members.app_id AND u.user_id = members.user_id
            AND u.cid = members.cid AND (u.flags_rev = 0 OR (u.flags & 1) = 0)),
        (SELECT COALESCE(MAX(pk), 0) FROM messages))
      WHERE deleted = 0;
    DELETE FROM user_messages WHERE (flags & 6) = 0;
    DROP INDEX user_messages_unread;
    DROP INDEX user_messages_unread_mentions;
    CREATE INDEX user_messages_unread_mentions ON user_messages (app_id, user_id, cid, message_pk)
        WHERE (flags & 3) = 2;
    CREATE INDEX messages_unread ON messages (app_id, cid, pk, user_id, deleted_at)
        WHERE deleted_at IS NULL;
    "#,
    // 6: app settings: the app's own per-user rate limits (a JSON object, `{}`: the
    // server's defaults)
    r#"
    ALTER TABLE apps ADD COLUMN rate_limits TEXT NOT NULL DEFAULT '{}';
    "#,
    // 7: a member's own settings (hide / mute / archive, `member_state`), stamped by
    // `state_rev` and synced to that member alone; `members_hidden` finds the members a new
    // message shows the channel to again. `channels.deleted_at` marks a deleted channel.
    r#"
    ALTER TABLE members ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE members ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE members ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE members ADD COLUMN state_rev INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX members_hidden ON members (app_id, cid, user_id) WHERE hidden = 1 AND deleted = 0;
    CREATE TRIGGER members_state_last_rev AFTER UPDATE OF state_rev ON members
      WHEN NEW.state_rev > 0
    BEGIN
      UPDATE channels SET last_rev = NEW.state_rev
        WHERE app_id = NEW.app_id AND cid = NEW.cid AND last_rev < NEW.state_rev; END;
    ALTER TABLE channels ADD COLUMN deleted_at INTEGER;
    "#,
    // 8: full-text search (`store::search`, `sqlite/search.rs`). `messages_fts` holds each
    // live message's text (rowid = pk) and its channel's scope token
    // (`search_scope(app_id, cid)`), so a search matches only the caller's channels' scope
    // tokens: the index range of their memberships, never every match of the tenant.
    // Triggers keep it in step with sends, edits and deletions.
    r#"
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, scope, tokenize = 'unicode61 remove_diacritics 2'
    );
    INSERT INTO messages_fts (rowid, text, scope)
        SELECT pk, text, 's' || lower(hex(app_id || ' ' || cid)) FROM messages
        WHERE deleted_at IS NULL;
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN NEW.deleted_at IS NULL
    BEGIN
      INSERT INTO messages_fts (rowid, text, scope)
        VALUES (NEW.pk, NEW.text, 's' || lower(hex(NEW.app_id || ' ' || NEW.cid)));
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, deleted_at ON messages
      WHEN NEW.text IS NOT OLD.text OR NEW.deleted_at IS NOT OLD.deleted_at
    BEGIN
      DELETE FROM messages_fts WHERE rowid = OLD.pk;
      INSERT INTO messages_fts (rowid, text, scope)
        SELECT NEW.pk, NEW.text, 's' || lower(hex(NEW.app_id || ' ' || NEW.cid))
        WHERE NEW.deleted_at IS NULL;
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
    BEGIN
      DELETE FROM messages_fts WHERE rowid = OLD.pk;
    END;
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Sets connection pragmas (every connection).
pub fn configure(conn: &Connection) -> StoreResult<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(())
}

/// Brings the database to [`SCHEMA_VERSION`], refusing databases from newer servers.
pub fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "cannot enable WAL (journal_mode={mode})"
        )));
    }
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "database schema version {version} is newer than this server ({SCHEMA_VERSION}); \
             upgrade chat-server"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
