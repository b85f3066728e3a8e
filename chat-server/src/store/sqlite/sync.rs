//! `/v1/sync` for SQLite: bootstrap pages, incremental diffs by `rev`, "limited" channels,
//! cursor validation and tombstone compaction. The algorithm is documented in
//! docs/protocol.md ("Sync"); this module is its reference implementation.

use chat_protocol::{Change, Cid, SyncChange, SyncResponse};
use rusqlite::{Connection, Transaction, params};

use super::rows::{self, CHANNEL_COLS, MEMBER_COLS, MESSAGE_COLS, REACTION_COLS, READ_COLS};
use super::{Tx, channels};
use crate::store::{StoreError, StoreResult, SyncPosition, SyncSettings};

/// One page of `user`'s changes after `from`, read in one snapshot transaction.
pub fn sync(
    conn: &mut Connection,
    app: &str,
    user: &str,
    from: Option<SyncPosition>,
    limit: u32,
    settings: SyncSettings,
) -> StoreResult<SyncResponse> {
    let tx = conn.transaction()?;
    let (epoch, head, min_seq): (String, i64, i64) = tx
        .prepare_cached("SELECT epoch, seq, min_seq FROM apps WHERE id = ?1")?
        .query_row(params![app], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let head = head as u64;
    let Some(pos) = from else {
        return bootstrap(&tx, app, user, &epoch, head, None, settings);
    };
    if pos.epoch != epoch {
        return Err(StoreError::CursorExpired(
            "the cursor is from another epoch".into(),
        ));
    }
    if pos.seq > head {
        return Err(StoreError::CursorExpired(
            "the cursor is ahead of this server".into(),
        ));
    }
    if pos.seq < min_seq as u64 {
        return Err(StoreError::CursorExpired(
            "the cursor is older than retained history".into(),
        ));
    }
    match pos.bootstrap_after {
        Some(after) => bootstrap(&tx, app, user, &epoch, pos.seq, Some(&after), settings),
        None => incremental(&tx, app, user, &epoch, pos.seq, head, limit, settings),
    }
}

fn parse_cid(s: String) -> StoreResult<Cid> {
    s.parse()
        .map_err(|e| StoreError::Backend(format!("corrupt cid {s:?}: {e}")))
}

/// Bootstrap: every channel of the user as a limited channel, paged by cid.
fn bootstrap(
    tx: &Transaction<'_>,
    app: &str,
    user: &str,
    epoch: &str,
    snapshot: u64,
    after: Option<&str>,
    settings: SyncSettings,
) -> StoreResult<SyncResponse> {
    let n = settings.bootstrap_channels.max(1);
    let mut cids: Vec<String> = tx
        .prepare_cached(
            "SELECT cid FROM members WHERE app_id = ?1 AND user_id = ?2 AND deleted = 0 \
             AND cid > ?3 ORDER BY cid LIMIT ?4",
        )?
        .query_map(
            params![app, user, after.unwrap_or(""), i64::from(n) + 1],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    let has_more = cids.len() > n as usize;
    cids.truncate(n as usize);
    let next_after = if has_more { cids.last().cloned() } else { None };
    let mut limited = Vec::with_capacity(cids.len());
    for cid in cids {
        limited.push(channels::state(
            tx,
            app,
            Some(user),
            &parse_cid(cid)?,
            settings.window,
        )?);
    }
    let cursor = SyncPosition {
        epoch: epoch.to_owned(),
        seq: snapshot,
        bootstrap_after: next_after,
    };
    Ok(SyncResponse {
        changes: Vec::new(),
        limited,
        cursor: cursor.encode(),
        has_more,
    })
}

const KIND_CHANNEL: i64 = 0;
const KIND_MEMBER: i64 = 1;
const KIND_MESSAGE: i64 = 2;
const KIND_REACTION: i64 = 3;
const KIND_READ: i64 = 4;

#[allow(clippy::too_many_arguments)]
fn incremental(
    tx: &Transaction<'_>,
    app: &str,
    user: &str,
    epoch: &str,
    cursor: u64,
    head: u64,
    limit: u32,
    settings: SyncSettings,
) -> StoreResult<SyncResponse> {
    let mine: Vec<(String, i64)> = tx
        .prepare_cached(
            "SELECT cid, joined_rev FROM members WHERE app_id = ?1 AND user_id = ?2 AND deleted = 0 \
             ORDER BY cid",
        )?
        .query_map(params![app, user], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut limited_cids = Vec::new();
    let mut streamed = Vec::new();
    let mut busy = tx.prepare_cached(
        "SELECT COUNT(*) FROM (SELECT 1 FROM messages WHERE app_id = ?1 AND cid = ?2 AND rev > ?3 \
         LIMIT ?4)",
    )?;
    for (cid, joined_rev) in mine {
        let joined_since = joined_rev as u64 > cursor;
        let changes: i64 = busy.query_row(
            params![
                app,
                cid,
                cursor as i64,
                i64::from(settings.limited_threshold) + 1
            ],
            |r| r.get(0),
        )?;
        if joined_since || changes > i64::from(settings.limited_threshold) {
            limited_cids.push(cid);
        } else {
            streamed.push(cid);
        }
    }
    let streamed_json = serde_json::to_string(&streamed)?;
    let mut refs: Vec<(i64, i64, i64)> = tx
        .prepare_cached(
            "WITH s(cid) AS (SELECT value FROM json_each(?3)) \
             SELECT rev, 0, rowid FROM channels WHERE app_id = ?1 AND rev > ?2 AND cid IN s \
             UNION ALL SELECT rev, 1, rowid FROM members WHERE app_id = ?1 AND rev > ?2 AND cid IN s \
             UNION ALL SELECT rev, 1, rowid FROM members \
               WHERE app_id = ?1 AND user_id = ?4 AND deleted = 1 AND rev > ?2 \
             UNION ALL SELECT rev, 2, pk FROM messages WHERE app_id = ?1 AND rev > ?2 AND cid IN s \
             UNION ALL SELECT rev, 3, rowid FROM reactions WHERE app_id = ?1 AND rev > ?2 AND cid IN s \
             UNION ALL SELECT rev, 4, rowid FROM reads WHERE app_id = ?1 AND rev > ?2 AND cid IN s \
             ORDER BY 1 LIMIT ?5",
        )?
        .query_map(
            params![app, cursor as i64, streamed_json, user, i64::from(limit) + 1],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?
        .collect::<Result<_, _>>()?;
    let has_more = refs.len() > limit as usize;
    refs.truncate(limit as usize);
    let mut changes = Vec::with_capacity(refs.len());
    for (rev, kind, rowid) in &refs {
        let change = load_change(tx, *kind, *rowid)?;
        changes.push(SyncChange {
            seq: *rev as u64,
            change,
        });
    }
    let next = if has_more {
        refs.last().map_or(head, |(rev, _, _)| *rev as u64)
    } else {
        head
    };
    let mut limited = Vec::with_capacity(limited_cids.len());
    for cid in limited_cids {
        limited.push(channels::state(
            tx,
            app,
            Some(user),
            &parse_cid(cid)?,
            settings.window,
        )?);
    }
    let cursor = SyncPosition {
        epoch: epoch.to_owned(),
        seq: next,
        bootstrap_after: None,
    };
    Ok(SyncResponse {
        changes,
        limited,
        cursor: cursor.encode(),
        has_more,
    })
}

fn load_change(tx: &Transaction<'_>, kind: i64, rowid: i64) -> StoreResult<Change> {
    let one =
        |table: &str, key: &str, cols: &str| format!("SELECT {cols} FROM {table} WHERE {key} = ?1");
    Ok(match kind {
        KIND_CHANNEL => Change::Channel(
            tx.prepare_cached(&one("channels", "rowid", CHANNEL_COLS))?
                .query_row(params![rowid], rows::channel)?,
        ),
        KIND_MEMBER => Change::Member(
            tx.prepare_cached(&one("members", "rowid", MEMBER_COLS))?
                .query_row(params![rowid], rows::member)?,
        ),
        KIND_MESSAGE => Change::Message(
            tx.prepare_cached(&one("messages", "pk", MESSAGE_COLS))?
                .query_row(params![rowid], rows::message)?,
        ),
        KIND_REACTION => Change::Reaction(
            tx.prepare_cached(&one("reactions", "rowid", REACTION_COLS))?
                .query_row(params![rowid], rows::reaction)?,
        ),
        KIND_READ => Change::Read(
            tx.prepare_cached(&one("reads", "rowid", READ_COLS))?
                .query_row(params![rowid], rows::read_state)?,
        ),
        other => return Err(StoreError::Backend(format!("unknown change kind {other}"))),
    })
}

/// Purges member and reaction tombstones older than `before_seq` and raises the oldest
/// servable cursor to it.
pub fn compact(w: &mut Tx<'_>, before_seq: u64) -> StoreResult<()> {
    let before = before_seq as i64;
    w.tx.prepare_cached("DELETE FROM reactions WHERE app_id = ?1 AND deleted = 1 AND rev < ?2")?
        .execute(params![w.app, before])?;
    w.tx.prepare_cached("DELETE FROM members WHERE app_id = ?1 AND deleted = 1 AND rev < ?2")?
        .execute(params![w.app, before])?;
    w.tx.prepare_cached("UPDATE apps SET min_seq = MAX(min_seq, MIN(?2, seq)) WHERE id = ?1")?
        .execute(params![w.app, before])?;
    Ok(())
}
