//! The PostgreSQL schema and its numbered migrations. The table `onyx_schema` holds the
//! version; a database from a newer server is refused rather than misread. Migrations run
//! in one transaction under an advisory lock, so nodes starting together migrate once.
//!
//! The tables, keys and indexes are the SQLite backend's (its module docs explain them),
//! in PostgreSQL's types: `BOOLEAN` flags, `UUID` message ids, `BIGINT` times in Unix
//! milliseconds and revs, JSON kept as the exact text the API wrote. Differences:
//!
//! - `messages.pk` is an identity column. Its values follow commit order within an app
//!   because every write of an app holds the app's row lock (see [`super`]); unread counts
//!   compare pks within one channel only, so the order across apps does not matter.
//! - `channels.last_rev` is kept by one trigger function per source table, as on SQLite.
//! - Partial and covering indexes use `WHERE NOT deleted` and `INCLUDE`.
//! - `messages_rev` and `reads_rev` are partial (`WHERE rev > 0`, true of every row a
//!   sync can stream, since revs are seqs and seqs start at 1): only queries that state
//!   `rev > 0` (the sync stream and the busy probe) can use them. Their `(app_id, cid)`
//!   prefix would otherwise tie, on a database without statistics, with the index a probe
//!   needs (`reads_pkey` for a read row, `messages_unread` for an unread count), and a tie
//!   goes to whichever index the planner costs a hair cheaper (see [`super::cost`]).
//! - `members_user_rev` holds tombstones only (`WHERE deleted`): it serves the sync's
//!   "channels the user left" arm, and cannot tie with `members_by_user` (current
//!   memberships) for a walk of the user's channels.
//! - `rate_limits` (PostgreSQL only, migration 2) holds the shared rate limiter's state
//!   (see `super::limits`).
//! - Full-text search (migration 3) is a stored `tsvector` column with one GIN index on
//!   `(app_id, cid, tsv)` (`btree_gin`), read one channel at a time (`super::search`).
//! - Ids, cids and types compare bytewise (`COLLATE "C"`), as on SQLite, whatever the
//!   database's locale: orders and cursors by cid or user id come from the indexes.

use super::conn::Conn;
use crate::store::{StoreError, StoreResult};

/// `user_messages.flags` bit: the user has read the message.
pub const FLAG_READ: i32 = 1;
/// `user_messages.flags` bit: the message mentions the user.
pub const FLAG_MENTIONED: i32 = 2;
/// `user_messages.flags` bit: the user starred the message.
pub const FLAG_STARRED: i32 = 4;

/// A user's (`$2`, app `$1`) memberships with their unread counts: for each member row
/// `mb` and its read marker `r` (a primary-key probe, in a `LATERAL` subquery kept whole
/// by `OFFSET 0` so it cannot become a walk of the app's reads), one range of the covering
/// `messages_unread` index after the floor `GREATEST(joined_pk, last_read_pk)`, others'
/// live messages only.
macro_rules! unread_rows {
    () => {
        "SELECT mb.cid AS cid, (SELECT COUNT(*) FROM messages AS m \
           WHERE m.app_id = mb.app_id AND m.cid = mb.cid AND m.deleted_at IS NULL \
             AND m.pk > GREATEST(mb.joined_pk, COALESCE(rd.last_read_pk, 0)) \
             AND m.user_id <> mb.user_id) AS n \
         FROM members AS mb \
         LEFT JOIN LATERAL (SELECT r.last_read_pk FROM reads AS r \
           WHERE r.app_id = mb.app_id AND r.cid = mb.cid AND r.user_id = mb.user_id \
           OFFSET 0) AS rd ON TRUE \
         WHERE NOT mb.deleted AND mb.app_id = $1 AND mb.user_id = $2"
    };
}

/// Unread messages of a user in one channel (`$1` app, `$2` user, `$3` cid).
pub const UNREAD_IN_CHANNEL: &str = concat!(
    "SELECT COALESCE(SUM(n), 0)::BIGINT FROM (",
    unread_rows!(),
    " AND mb.cid = $3) AS x"
);
/// Unread mentions of a user in one channel (`$1` app, `$2` user, `$3` cid).
pub const UNREAD_MENTIONS_IN_CHANNEL: &str = "SELECT COUNT(*) FROM user_messages \
     WHERE app_id = $1 AND user_id = $2 AND cid = $3 AND (flags & 3) = 2";
/// Unread messages per channel of a user (`$1` app, `$2` user): one row per membership.
pub const UNREAD_BY_CHANNEL: &str = concat!(unread_rows!(), " ORDER BY mb.cid");
/// Unread mentions per channel of a user (`$1` app, `$2` user).
pub const UNREAD_MENTIONS_BY_CHANNEL: &str = "SELECT cid, COUNT(*) FROM user_messages \
     WHERE app_id = $1 AND user_id = $2 AND (flags & 3) = 2 GROUP BY cid";

const MIGRATIONS: &[&str] = &[
    // 1: the schema of SQLite's version 5
    r#"
    CREATE TABLE apps (
        id TEXT COLLATE "C" PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        api_key TEXT NOT NULL UNIQUE,
        api_secret TEXT NOT NULL,
        epoch TEXT NOT NULL,
        seq BIGINT NOT NULL DEFAULT 0,
        min_seq BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        cors_origins TEXT NOT NULL DEFAULT '[]'
    );
    CREATE TABLE users (
        app_id TEXT COLLATE "C" NOT NULL REFERENCES apps(id),
        id TEXT COLLATE "C" NOT NULL,
        name TEXT,
        image TEXT,
        custom TEXT NOT NULL DEFAULT '{}',
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (app_id, id)
    );
    CREATE TABLE channels (
        app_id TEXT COLLATE "C" NOT NULL REFERENCES apps(id),
        cid TEXT COLLATE "C" NOT NULL,
        type TEXT COLLATE "C" NOT NULL,
        id TEXT COLLATE "C" NOT NULL,
        name TEXT,
        image TEXT,
        config TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        last_message_at BIGINT,
        sort_at BIGINT NOT NULL,
        last_created_at BIGINT NOT NULL DEFAULT 0,
        member_count INTEGER NOT NULL DEFAULT 0,
        rev BIGINT NOT NULL,
        last_rev BIGINT NOT NULL DEFAULT 0,
        is_distinct BOOLEAN NOT NULL DEFAULT FALSE,
        initial_members TEXT,
        PRIMARY KEY (app_id, cid)
    );
    CREATE INDEX channels_sort ON channels (app_id, sort_at DESC, cid DESC);
    CREATE TABLE members (
        app_id TEXT COLLATE "C" NOT NULL,
        cid TEXT COLLATE "C" NOT NULL,
        user_id TEXT COLLATE "C" NOT NULL,
        role TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        deleted BOOLEAN NOT NULL DEFAULT FALSE,
        joined_rev BIGINT NOT NULL,
        joined_pk BIGINT NOT NULL DEFAULT 0,
        rev BIGINT NOT NULL,
        PRIMARY KEY (app_id, cid, user_id)
    );
    CREATE INDEX members_by_user ON members (app_id, user_id, cid) WHERE NOT deleted;
    CREATE INDEX members_current ON members (app_id, cid, user_id) WHERE NOT deleted;
    CREATE INDEX members_rev ON members (app_id, cid, rev);
    CREATE INDEX members_user_rev ON members (app_id, user_id, rev) WHERE deleted;
    CREATE TABLE messages (
        pk BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        app_id TEXT COLLATE "C" NOT NULL,
        id UUID NOT NULL,
        cid TEXT COLLATE "C" NOT NULL,
        user_id TEXT COLLATE "C" NOT NULL,
        text TEXT NOT NULL,
        attachments TEXT NOT NULL,
        parent_pk BIGINT,
        parent_id UUID,
        quoted_message_id UUID,
        mentioned_users TEXT NOT NULL,
        reaction_counts TEXT NOT NULL,
        reply_count INTEGER NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        edited_at BIGINT,
        deleted_at BIGINT,
        rev BIGINT NOT NULL,
        UNIQUE (app_id, id)
    );
    CREATE INDEX messages_channel ON messages (app_id, cid, pk) WHERE parent_pk IS NULL;
    CREATE INDEX messages_replies ON messages (app_id, cid, pk) WHERE parent_pk IS NOT NULL;
    CREATE INDEX messages_thread ON messages (app_id, parent_pk, pk) WHERE parent_pk IS NOT NULL;
    CREATE INDEX messages_rev ON messages (app_id, cid, rev) WHERE rev > 0;
    CREATE INDEX messages_unread ON messages (app_id, cid, pk) INCLUDE (user_id)
        WHERE deleted_at IS NULL;
    CREATE TABLE reactions (
        app_id TEXT COLLATE "C" NOT NULL,
        message_pk BIGINT NOT NULL,
        message_id UUID NOT NULL,
        cid TEXT COLLATE "C" NOT NULL,
        user_id TEXT COLLATE "C" NOT NULL,
        type TEXT COLLATE "C" NOT NULL,
        created_at BIGINT NOT NULL,
        deleted BOOLEAN NOT NULL DEFAULT FALSE,
        rev BIGINT NOT NULL,
        PRIMARY KEY (app_id, message_pk, user_id, type)
    );
    CREATE INDEX reactions_rev ON reactions (app_id, cid, rev);
    CREATE INDEX reactions_by_user ON reactions (app_id, user_id, message_pk) WHERE NOT deleted;
    CREATE TABLE user_messages (
        app_id TEXT COLLATE "C" NOT NULL,
        user_id TEXT COLLATE "C" NOT NULL,
        message_pk BIGINT NOT NULL,
        cid TEXT COLLATE "C" NOT NULL,
        flags INTEGER NOT NULL,
        flags_rev BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (app_id, user_id, message_pk)
    );
    CREATE INDEX user_messages_unread_mentions
        ON user_messages (app_id, user_id, cid, message_pk) WHERE (flags & 3) = 2;
    CREATE INDEX user_messages_starred ON user_messages (app_id, user_id, message_pk)
        WHERE (flags & 4) <> 0;
    CREATE INDEX user_messages_by_message ON user_messages (app_id, message_pk);
    CREATE INDEX user_messages_flags_rev ON user_messages (app_id, user_id, cid, flags_rev)
        WHERE flags_rev > 0;
    CREATE TABLE reads (
        app_id TEXT COLLATE "C" NOT NULL,
        cid TEXT COLLATE "C" NOT NULL,
        user_id TEXT COLLATE "C" NOT NULL,
        last_read_message_id UUID,
        last_read_pk BIGINT NOT NULL DEFAULT 0,
        last_read_at BIGINT NOT NULL,
        rev BIGINT NOT NULL,
        PRIMARY KEY (app_id, cid, user_id)
    );
    CREATE INDEX reads_rev ON reads (app_id, cid, rev) WHERE rev > 0;

    CREATE FUNCTION onyx_bump_last_rev() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE channels SET last_rev = NEW.rev
        WHERE app_id = NEW.app_id AND cid = NEW.cid AND last_rev < NEW.rev;
      RETURN NULL;
    END $$;
    CREATE FUNCTION onyx_bump_last_flags_rev() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE channels SET last_rev = NEW.flags_rev
        WHERE app_id = NEW.app_id AND cid = NEW.cid AND last_rev < NEW.flags_rev;
      RETURN NULL;
    END $$;
    CREATE TRIGGER members_last_rev AFTER INSERT OR UPDATE OF rev ON members
        FOR EACH ROW EXECUTE FUNCTION onyx_bump_last_rev();
    CREATE TRIGGER messages_last_rev AFTER INSERT OR UPDATE OF rev ON messages
        FOR EACH ROW EXECUTE FUNCTION onyx_bump_last_rev();
    CREATE TRIGGER reactions_last_rev AFTER INSERT OR UPDATE OF rev ON reactions
        FOR EACH ROW EXECUTE FUNCTION onyx_bump_last_rev();
    CREATE TRIGGER reads_last_rev AFTER INSERT OR UPDATE OF rev ON reads
        FOR EACH ROW EXECUTE FUNCTION onyx_bump_last_rev();
    CREATE TRIGGER flags_last_rev AFTER INSERT OR UPDATE OF flags_rev ON user_messages
        FOR EACH ROW WHEN (NEW.flags_rev > 0) EXECUTE FUNCTION onyx_bump_last_flags_rev();
    "#,
    // 2: shared rate limits, and the apps' own limits (SQLite's version 6)
    super::limits::MIGRATION,
    // 3: a member's own settings (hide / mute / archive) and deleted channels (SQLite's
    // version 7)
    r#"
    ALTER TABLE members ADD COLUMN hidden BOOLEAN NOT NULL DEFAULT FALSE;
    ALTER TABLE members ADD COLUMN muted BOOLEAN NOT NULL DEFAULT FALSE;
    ALTER TABLE members ADD COLUMN archived BOOLEAN NOT NULL DEFAULT FALSE;
    ALTER TABLE members ADD COLUMN state_rev BIGINT NOT NULL DEFAULT 0;
    CREATE INDEX members_hidden ON members (app_id, cid, user_id) WHERE hidden AND NOT deleted;
    CREATE FUNCTION onyx_bump_last_state_rev() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE channels SET last_rev = NEW.state_rev
        WHERE app_id = NEW.app_id AND cid = NEW.cid AND last_rev < NEW.state_rev;
      RETURN NULL;
    END $$;
    CREATE TRIGGER members_last_state_rev AFTER UPDATE OF state_rev ON members
        FOR EACH ROW WHEN (NEW.state_rev > 0) EXECUTE FUNCTION onyx_bump_last_state_rev();
    ALTER TABLE channels ADD COLUMN deleted_at BIGINT;
    "#,
    // 4: full-text search (SQLite's version 8; `super::search`)
    super::search::MIGRATION,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// The advisory lock key migrations hold (any constant; "onyx" in ASCII).
const MIGRATION_LOCK: i64 = 0x6f6e_7978;

/// Brings the database to [`SCHEMA_VERSION`], refusing databases from newer servers.
pub(super) async fn migrate(conn: &mut Conn) -> StoreResult<()> {
    conn.begin("BEGIN").await?;
    let result = migrate_in_tx(conn).await;
    match result {
        Ok(()) => conn.commit().await,
        Err(e) => {
            conn.rollback().await;
            Err(e)
        }
    }
}

async fn migrate_in_tx(conn: &Conn) -> StoreResult<()> {
    conn.one("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    conn.batch("CREATE TABLE IF NOT EXISTS onyx_schema (version INTEGER NOT NULL)")
        .await?;
    let version: i32 = match conn.opt("SELECT version FROM onyx_schema", &[]).await? {
        Some(row) => row.get(0),
        None => {
            conn.exec("INSERT INTO onyx_schema (version) VALUES (0)", &[])
                .await?;
            0
        }
    };
    if version > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "database schema version {version} is newer than this server ({SCHEMA_VERSION}); \
             upgrade chat-server"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        conn.batch(sql).await?;
        let v = (i + 1) as i32;
        conn.exec("UPDATE onyx_schema SET version = $1", &[&v])
            .await?;
    }
    Ok(())
}
