//! `/v1/sync` for SQLite: bootstrap pages, incremental diffs by `rev`, "limited" channels,
//! cursor validation and tombstone compaction. The algorithm is documented in
//! docs/protocol.md ("Sync"); this module is its reference implementation.
//!
//! Cost: one walk of the user's memberships with a probe of each channel row
//! (`channels.last_rev`, the newest rev in the channel, kept by triggers); only channels
//! with something after their bound are probed further (`busy`) and streamed, each arm
//! one `(app_id, cid, rev)` range per such channel. Nothing outside the user's channels
//! is read.

use chat_protocol::{Change, Cid, SyncChange, SyncResponse};
use rusqlite::{Transaction, params};

use super::rows::{self, CHANNEL_COLS, MEMBER_COLS, MESSAGE_COLS, REACTION_COLS, READ_COLS};
use super::{Tx, channels};
use crate::store::{StoreError, StoreResult, SyncPhase, SyncPosition, SyncSettings};

/// One page of `user`'s changes after `from`, read in one snapshot transaction.
pub fn sync(
    tx: &Transaction<'_>,
    app: &str,
    user: &str,
    from: Option<SyncPosition>,
    limit: u32,
    settings: SyncSettings,
) -> StoreResult<SyncResponse> {
    let (epoch, head, min_seq): (String, i64, i64) = tx
        .prepare_cached(HEAD)?
        .query_row(params![app], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let head = head as u64;
    let ctx = Ctx {
        tx,
        app,
        user,
        epoch: &epoch,
        head,
        limit,
        settings,
    };
    let Some(pos) = from else {
        return ctx.bootstrap(head, None);
    };
    if pos.epoch != epoch {
        return Err(StoreError::CursorExpired(
            "the cursor is from another epoch".into(),
        ));
    }
    if pos.seq > head || pos.snapshot.is_some_and(|s| s > head) {
        return Err(StoreError::CursorExpired(
            "the cursor is ahead of this server".into(),
        ));
    }
    if pos.seq < min_seq as u64 {
        return Err(StoreError::CursorExpired(
            "the cursor is older than retained history".into(),
        ));
    }
    match (pos.phase, pos.snapshot) {
        (SyncPhase::Bootstrap { after }, _) => ctx.bootstrap(pos.seq, Some(&after)),
        (SyncPhase::Limited { after }, snap) => {
            ctx.limited(pos.seq, snap.unwrap_or(pos.seq), Some(&after))
        }
        // A settled cursor starts a new sync: limited channels as of now come first.
        (SyncPhase::Stream, None) => ctx.limited(pos.seq, head, None),
        (SyncPhase::Stream, Some(snap)) => ctx.stream(pos.seq, snap),
    }
}

/// Everything one sync page needs.
struct Ctx<'a> {
    tx: &'a Transaction<'a>,
    app: &'a str,
    user: &'a str,
    epoch: &'a str,
    head: u64,
    limit: u32,
    settings: SyncSettings,
}

fn parse_cid(s: String) -> StoreResult<Cid> {
    s.parse()
        .map_err(|e| StoreError::Backend(format!("corrupt cid {s:?}: {e}")))
}

const KIND_CHANNEL: i64 = 0;
const KIND_MEMBER: i64 = 1;
const KIND_MESSAGE: i64 = 2;
const KIND_REACTION: i64 = 3;
const KIND_READ: i64 = 4;
const KIND_FLAGS: i64 = 5;
const KIND_MEMBER_STATE: i64 = 6;

/// One of the user's channels, as the sync loop sees it.
struct Membership {
    cid: String,
    /// The seq at which the user (last) joined.
    joined: u64,
    /// The newest rev of the channel row or of any row in the channel.
    touched: u64,
}

/// The app's epoch, head seq and oldest servable seq (`?1` app).
pub(crate) const HEAD: &str = "SELECT epoch, seq, min_seq FROM apps WHERE id = ?1";

/// The user's channels (`?1` app, `?2` user) with join seq and newest rev, in cid order.
/// Pinned: a walk of `members_by_user` for the user, then one unique probe per channel.
pub(crate) const MEMBERSHIPS: &str = "SELECT m.cid, m.joined_rev, MAX(c.rev, c.last_rev) \
     FROM members AS m INDEXED BY members_by_user \
     CROSS JOIN channels AS c INDEXED BY sqlite_autoindex_channels_1 \
     WHERE m.app_id = ?1 AND m.user_id = ?2 AND m.deleted = 0 \
       AND c.app_id = ?1 AND c.cid = m.cid ORDER BY m.cid";

/// The user's channels after a cid (`?1` app, `?2` user, `?3` after, `?4` limit).
pub(crate) const BOOTSTRAP_CIDS: &str = "SELECT cid FROM members INDEXED BY members_by_user \
     WHERE app_id = ?1 AND user_id = ?2 AND deleted = 0 AND cid > ?3 ORDER BY cid LIMIT ?4";

/// Message changes of one channel in `(?3, ?4]`, counted up to `?5`.
pub(crate) const BUSY: &str = "SELECT COUNT(*) FROM (SELECT 1 FROM messages \
     INDEXED BY messages_rev WHERE app_id = ?1 AND cid = ?2 AND rev > ?3 AND rev <= ?4 \
     LIMIT ?5)";

/// The stream: `?1` app, `?2` seq, `?3` JSON `[[cid, lower bound], …]` of the channels with
/// something after their bound, `?4` user, `?5` limit. The bounds are materialized and
/// drive every arm (`CROSS JOIN` fixes the join order, `INDEXED BY` the index), so each
/// arm is one range of a `(app_id, cid, rev)` index per listed channel, never a scan.
pub(crate) const STREAM: &str = "WITH b(cid, lo) AS MATERIALIZED \
       (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?3)) \
     SELECT c.rev, 0, c.rowid FROM b \
       CROSS JOIN channels AS c INDEXED BY sqlite_autoindex_channels_1 \
       WHERE c.app_id = ?1 AND c.cid = b.cid AND c.rev > b.lo \
     UNION ALL SELECT m.rev, 1, m.rowid FROM b CROSS JOIN members AS m INDEXED BY members_rev \
       WHERE m.app_id = ?1 AND m.cid = b.cid AND m.rev > b.lo \
     UNION ALL SELECT rev, 1, rowid FROM members INDEXED BY members_user_rev \
       WHERE app_id = ?1 AND user_id = ?4 AND deleted = 1 AND rev > ?2 \
     UNION ALL SELECT g.rev, 2, g.pk FROM b CROSS JOIN messages AS g INDEXED BY messages_rev \
       WHERE g.app_id = ?1 AND g.cid = b.cid AND g.rev > b.lo \
     UNION ALL SELECT r.rev, 3, r.rowid FROM b CROSS JOIN reactions AS r \
       INDEXED BY reactions_rev WHERE r.app_id = ?1 AND r.cid = b.cid AND r.rev > b.lo \
     UNION ALL SELECT d.rev, 4, d.rowid FROM b CROSS JOIN reads AS d INDEXED BY reads_rev \
       WHERE d.app_id = ?1 AND d.cid = b.cid AND d.rev > b.lo \
     UNION ALL SELECT f.flags_rev, 5, f.message_pk FROM b CROSS JOIN user_messages AS f \
       INDEXED BY user_messages_flags_rev \
       WHERE f.app_id = ?1 AND f.user_id = ?4 AND f.cid = b.cid \
       AND f.flags_rev > 0 AND f.flags_rev > b.lo \
     UNION ALL SELECT s.state_rev, 6, s.rowid FROM b CROSS JOIN members AS s \
       INDEXED BY members_current WHERE s.app_id = ?1 AND s.cid = b.cid AND s.user_id = ?4 \
       AND s.deleted = 0 AND s.state_rev > b.lo \
     ORDER BY 1 LIMIT ?5";

impl Ctx<'_> {
    fn position(&self, seq: u64, snapshot: Option<u64>, phase: SyncPhase) -> String {
        SyncPosition {
            epoch: self.epoch.to_owned(),
            seq,
            snapshot,
            phase,
        }
        .encode()
    }

    /// Bootstrap: every channel of the user as a limited channel, paged by cid. The final
    /// cursor is the snapshot seq of the first page; channels joined later come back
    /// limited on the next sync.
    fn bootstrap(&self, snapshot: u64, after: Option<&Cid>) -> StoreResult<SyncResponse> {
        let n = self.settings.bootstrap_channels.max(1);
        let after = after.map(ToString::to_string).unwrap_or_default();
        let mut cids: Vec<String> = self
            .tx
            .prepare_cached(BOOTSTRAP_CIDS)?
            .query_map(params![self.app, self.user, after, i64::from(n) + 1], |r| {
                r.get(0)
            })?
            .collect::<Result<_, _>>()?;
        let has_more = cids.len() > n as usize;
        cids.truncate(n as usize);
        let limited = self.states(cids)?;
        let cursor = match (has_more, limited.last()) {
            (true, Some(last)) => self.position(
                snapshot,
                None,
                SyncPhase::Bootstrap {
                    after: last.channel.cid.clone(),
                },
            ),
            _ => self.position(snapshot, None, SyncPhase::Stream),
        };
        Ok(SyncResponse {
            changes: Vec::new(),
            limited,
            limited_seq: Some(snapshot),
            cursor,
            has_more,
        })
    }

    fn states(&self, cids: Vec<String>) -> StoreResult<Vec<chat_protocol::ChannelState>> {
        let mut out = Vec::with_capacity(cids.len());
        for cid in cids {
            out.push(channels::state(
                self.tx,
                self.app,
                Some(self.user),
                &parse_cid(cid)?,
                self.settings.window,
            )?);
        }
        Ok(out)
    }

    /// The user's channels in cid order: each with the seq at which the user (last) joined
    /// it and the newest rev of anything in it (`channels.last_rev`, kept by triggers, or
    /// the channel row's own rev). One walk of the user's memberships, one row probe each.
    fn memberships(&self) -> StoreResult<Vec<Membership>> {
        let out = self
            .tx
            .prepare_cached(MEMBERSHIPS)?
            .query_map(params![self.app, self.user], |r| {
                Ok(Membership {
                    cid: r.get(0)?,
                    joined: r.get::<_, i64>(1)? as u64,
                    touched: r.get::<_, i64>(2)? as u64,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(out)
    }

    /// Whether a channel has more message changes in `(from, to]` than the threshold.
    fn busy(&self, cid: &str, from: u64, to: u64) -> StoreResult<bool> {
        let t = i64::from(self.settings.limited_threshold);
        let n: i64 = self
            .tx
            .prepare_cached(BUSY)?
            .query_row(params![self.app, cid, from as i64, to as i64, t + 1], |r| {
                r.get(0)
            })?;
        Ok(n > t)
    }

    /// Phase 1 of a sync from `seq`: channels joined in `(seq, snap]` or with too many
    /// message changes in `(seq, snap]` are sent whole ("limited"), a page of channels at a
    /// time, in cid order. With none (left), streaming starts in the same call.
    fn limited(&self, seq: u64, snap: u64, after: Option<&Cid>) -> StoreResult<SyncResponse> {
        let after = after.map(ToString::to_string).unwrap_or_default();
        let mut pending = Vec::new();
        for m in self.memberships()? {
            if m.cid.as_str() <= after.as_str() || m.joined > snap {
                continue;
            }
            // Nothing after `seq` in the channel: it cannot be busy, no probe needed.
            if m.joined > seq || (m.touched > seq && self.busy(&m.cid, seq, snap)?) {
                pending.push(m.cid);
            }
        }
        if pending.is_empty() {
            return self.stream(seq, snap);
        }
        let n = self.settings.bootstrap_channels.max(1) as usize;
        let more = pending.len() > n;
        pending.truncate(n);
        let limited = self.states(pending)?;
        let cursor = match (more, limited.last()) {
            (true, Some(last)) => self.position(
                seq,
                Some(snap),
                SyncPhase::Limited {
                    after: last.channel.cid.clone(),
                },
            ),
            _ => self.position(seq, Some(snap), SyncPhase::Stream),
        };
        Ok(SyncResponse {
            changes: Vec::new(),
            limited,
            limited_seq: Some(snap),
            cursor,
            has_more: true,
        })
    }

    /// Phase 2: the changes after `seq`, in seq order. Channels sent limited as of `snap`
    /// (joined after `seq`, or still busy in `(seq, snap]`) only stream rows after `snap`;
    /// channels joined after `snap` wait for the next sync, which the final cursor ensures
    /// by staying below their join. Channels with nothing after their bound are skipped
    /// before any of their tables is read.
    fn stream(&self, seq: u64, snap: u64) -> StoreResult<SyncResponse> {
        let mut bounds: Vec<(String, u64)> = Vec::new();
        let mut first_deferred_join: Option<u64> = None;
        for m in self.memberships()? {
            if m.joined > snap {
                first_deferred_join =
                    Some(first_deferred_join.map_or(m.joined, |j| j.min(m.joined)));
                continue;
            }
            let lo = if m.joined > seq || (m.touched > seq && self.busy(&m.cid, seq, snap)?) {
                snap
            } else {
                seq
            };
            if m.touched > lo {
                bounds.push((m.cid, lo));
            }
        }
        let bounds_json = serde_json::to_string(&bounds)?;
        let mut refs: Vec<(i64, i64, i64)> = self
            .tx
            .prepare_cached(STREAM)?
            .query_map(
                params![
                    self.app,
                    seq as i64,
                    bounds_json,
                    self.user,
                    i64::from(self.limit) + 1
                ],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?
            .collect::<Result<_, _>>()?;
        let has_more = refs.len() > self.limit as usize;
        refs.truncate(self.limit as usize);
        let mut changes = Vec::with_capacity(refs.len());
        for (rev, kind, rowid) in &refs {
            changes.push(SyncChange {
                seq: *rev as u64,
                change: load_change(self.tx, self.app, self.user, *kind, *rowid)?,
            });
        }
        let cursor = match refs.last() {
            Some((rev, _, _)) if has_more => {
                self.position(*rev as u64, Some(snap), SyncPhase::Stream)
            }
            _ => {
                // Settled: everything up to head is delivered, except channels joined after
                // the snapshot: the cursor stays below the first such join, so the next sync
                // sends them limited (and re-sends a few already applied changes, harmlessly).
                let settled = first_deferred_join.map_or(self.head, |j| (j - 1).min(self.head));
                self.position(settled, None, SyncPhase::Stream)
            }
        };
        Ok(SyncResponse {
            changes,
            limited: Vec::new(),
            limited_seq: None,
            cursor,
            has_more,
        })
    }
}

fn load_change(
    tx: &Transaction<'_>,
    app: &str,
    user: &str,
    kind: i64,
    rowid: i64,
) -> StoreResult<Change> {
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
        KIND_FLAGS => Change::Flags(
            super::flags::load(tx, app, user, rowid)?
                .ok_or_else(|| StoreError::Backend("flags row vanished".into()))?,
        ),
        KIND_MEMBER_STATE => Change::MemberState(super::member_state::load_rowid(tx, rowid)?),
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
