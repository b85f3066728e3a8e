//! `/v1/sync` for PostgreSQL: bootstrap pages, incremental diffs by `rev`, "limited"
//! channels, cursor validation and tombstone compaction. The algorithm is documented in
//! docs/protocol.md ("Sync"); this module follows the SQLite backend's, rule for rule.
//!
//! Rules this module owns:
//!
//! - Everything one call reads comes from one snapshot (the caller's `REPEATABLE READ READ
//!   ONLY` transaction), and commit order equals `seq` order per app (see [`super`]), so a
//!   cursor at `seq` never skips a change committed later with a smaller seq.
//! - A cursor from another epoch, ahead of the app's head, or older than the oldest
//!   retained seq (`apps.min_seq`, raised by [`compact`]) is refused with `CursorExpired`.
//! - Bootstrap sends every channel of the user as a limited channel, `bootstrap_channels`
//!   at a time in cid order; the final cursor is the snapshot of the first page.
//! - A sync from a settled cursor first sends, whole, the channels joined after it or with
//!   more than `limited_threshold` message changes after it ("limited"), then streams the
//!   other changes in `rev` order, `limit` at a time; limited channels stream only rows
//!   after the snapshot they were sent at, and channels joined after that snapshot wait for
//!   the next sync (the settled cursor stays below their join).
//! - cids are ordered and compared bytewise (`COLLATE "C"`), like SQLite's `BINARY` and
//!   Rust's `str` order, whatever the database's collation: cursors name the last cid sent.
//!
//! Cost: one walk of the user's memberships with a probe of each channel row
//! (`channels.last_rev`, the newest rev in the channel, kept by triggers); only channels
//! with something after their bound are probed further (`busy`, one query for all of
//! them) and streamed, each arm one `(app_id, cid, rev)` index range per such channel.
//! The rows of a page are then loaded by key with one query per kind of change (SQLite
//! loads them one by one; here each query is a round trip). Nothing outside the user's
//! channels is read.

use std::collections::{HashMap, HashSet};

use chat_protocol::{Change, ChannelState, Cid, SyncChange, SyncResponse};

use super::channels;
use super::conn::{Conn, Tx};
use super::rows::{self, CHANNEL_COLS, MEMBER_COLS, MESSAGE_COLS, REACTION_COLS, READ_COLS};
use crate::store::{StoreError, StoreResult, SyncPhase, SyncPosition, SyncSettings};

/// One page of `user`'s changes after `from`, read in the caller's snapshot transaction.
pub async fn sync(
    c: &Conn,
    app: &str,
    user: &str,
    from: Option<SyncPosition>,
    limit: u32,
    settings: SyncSettings,
) -> StoreResult<SyncResponse> {
    let row = c.one(HEAD, &[&app]).await?;
    let epoch: String = rows::get(&row, 0)?;
    let head = rows::rev(&row, 1)?;
    let min_seq = rows::rev(&row, 2)?;
    let ctx = Ctx {
        c,
        app,
        user,
        epoch: &epoch,
        head,
        limit,
        settings,
    };
    let Some(pos) = from else {
        return ctx.bootstrap(head, None).await;
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
    if pos.seq < min_seq {
        return Err(StoreError::CursorExpired(
            "the cursor is older than retained history".into(),
        ));
    }
    match (pos.phase, pos.snapshot) {
        (SyncPhase::Bootstrap { after }, _) => ctx.bootstrap(pos.seq, Some(&after)).await,
        (SyncPhase::Limited { after }, snap) => {
            ctx.limited(pos.seq, snap.unwrap_or(pos.seq), Some(&after))
                .await
        }
        // A settled cursor starts a new sync: limited channels as of now come first.
        (SyncPhase::Stream, None) => ctx.limited(pos.seq, head, None).await,
        (SyncPhase::Stream, Some(snap)) => ctx.stream(pos.seq, snap).await,
    }
}

/// Purges member and reaction tombstones older than `before_seq` and raises the oldest
/// servable cursor to it (never past the app's head).
pub async fn compact(w: &mut Tx, before_seq: u64) -> StoreResult<()> {
    let before = before_seq as i64;
    // The head is the transaction's own counter: it is written back only at commit.
    let head = w.seq as i64;
    w.exec(
        "DELETE FROM reactions WHERE app_id = $1 AND deleted AND rev < $2",
        &[&w.app, &before],
    )
    .await?;
    w.exec(
        "DELETE FROM members WHERE app_id = $1 AND deleted AND rev < $2",
        &[&w.app, &before],
    )
    .await?;
    w.exec(
        "UPDATE apps SET min_seq = GREATEST(min_seq, LEAST($2::BIGINT, $3::BIGINT)) WHERE id = $1",
        &[&w.app, &before, &head],
    )
    .await?;
    Ok(())
}

/// The app's epoch, head seq and oldest servable seq (`$1` app).
pub(crate) const HEAD: &str = "SELECT epoch, seq, min_seq FROM apps WHERE id = $1";

/// The user's channels (`$1` app, `$2` user) with join seq and newest rev, in bytewise cid
/// order: a walk of `members_by_user` for the user, then one key probe per channel.
pub(crate) const MEMBERSHIPS: &str = "SELECT m.cid, m.joined_rev, GREATEST(c.rev, c.last_rev) \
     FROM members AS m JOIN channels AS c ON c.app_id = m.app_id AND c.cid = m.cid \
     WHERE m.app_id = $1 AND m.user_id = $2 AND NOT m.deleted \
     ORDER BY m.cid COLLATE \"C\"";

/// The user's channels after a cid (`$1` app, `$2` user, `$3` after, `$4` limit), in
/// bytewise cid order.
pub(crate) const BOOTSTRAP_CIDS: &str = "SELECT cid FROM members \
     WHERE app_id = $1 AND user_id = $2 AND NOT deleted AND cid COLLATE \"C\" > $3 \
     ORDER BY cid COLLATE \"C\" LIMIT $4";

/// Of the channels `$2` (app `$1`), those with at least `$5` (the threshold plus one)
/// message changes in `($3, $4]`: one `messages_rev` range per channel, counted up to `$5`.
pub(crate) const BUSY: &str = "SELECT b.cid FROM UNNEST($2::TEXT[]) AS b(cid) \
     WHERE (SELECT COUNT(*) FROM (SELECT 1 FROM messages AS g \
       WHERE g.app_id = $1 AND g.cid = b.cid AND g.rev > 0 AND g.rev > $3 AND g.rev <= $4 \
       LIMIT $5) AS x) = $5";

/// The stream: `$1` app, `$2` seq, `$3`/`$4` the channels with something after their
/// bound and those lower bounds (parallel arrays), `$5` user, `$6` limit. The bounds drive
/// every arm: for each listed channel, a `LATERAL` subquery (kept whole by `OFFSET 0`, so
/// the planner can neither flatten it into a hash join nor scan a table for all channels
/// at once) reads the channel row by its key and, per table, the first `$6` rows of one
/// range of a `(app_id, cid, rev)` index: the page's rows are among them, and the
/// `ORDER BY rev LIMIT` makes the index range cheaper than any scan even where statistics
/// say one channel holds the whole table. `rev > 0` (always true of a streamed row: `lo`
/// is a seq) lets the arms use the partial `messages_rev` and `reads_rev`.
/// A row is named by its kind (`KIND_*`) and key: `pk` (a message pk, the message of a
/// reaction or of a flags row) and the texts `k1`, `k2` (cid and user id of a channel,
/// member or read row; user id and type of a reaction).
pub(crate) const STREAM: &str = "WITH b(cid, lo) AS MATERIALIZED \
       (SELECT * FROM UNNEST($3::TEXT[], $4::BIGINT[])) \
     SELECT x.* FROM b CROSS JOIN LATERAL (SELECT * FROM ( \
       SELECT c.rev, 0 AS kind, NULL::BIGINT AS pk, c.cid AS k1, NULL::TEXT AS k2 \
         FROM channels AS c WHERE c.app_id = $1 AND c.cid = b.cid AND c.rev > b.lo \
       UNION ALL (SELECT m.rev, 1, NULL::BIGINT, m.cid, m.user_id FROM members AS m \
         WHERE m.app_id = $1 AND m.cid = b.cid AND m.rev > b.lo ORDER BY m.rev LIMIT $6) \
       UNION ALL (SELECT g.rev, 2, g.pk, NULL::TEXT, NULL::TEXT FROM messages AS g \
         WHERE g.app_id = $1 AND g.cid = b.cid AND g.rev > 0 AND g.rev > b.lo \
         ORDER BY g.rev LIMIT $6) \
       UNION ALL (SELECT r.rev, 3, r.message_pk, r.user_id, r.type FROM reactions AS r \
         WHERE r.app_id = $1 AND r.cid = b.cid AND r.rev > b.lo ORDER BY r.rev LIMIT $6) \
       UNION ALL (SELECT d.rev, 4, NULL::BIGINT, d.cid, d.user_id FROM reads AS d \
         WHERE d.app_id = $1 AND d.cid = b.cid AND d.rev > 0 AND d.rev > b.lo \
         ORDER BY d.rev LIMIT $6) \
       UNION ALL (SELECT f.flags_rev, 5, f.message_pk, NULL::TEXT, NULL::TEXT \
         FROM user_messages AS f WHERE f.app_id = $1 AND f.user_id = $5 AND f.cid = b.cid \
         AND f.flags_rev > 0 AND f.flags_rev > b.lo ORDER BY f.flags_rev LIMIT $6) \
       UNION ALL SELECT s.state_rev, 6, NULL::BIGINT, s.cid, s.user_id FROM members AS s \
         WHERE s.app_id = $1 AND s.cid = b.cid AND s.user_id = $5 AND NOT s.deleted \
         AND s.state_rev > b.lo \
       ) AS arms OFFSET 0) AS x \
     UNION ALL SELECT rev, 1, NULL::BIGINT, cid, user_id FROM members \
       WHERE app_id = $1 AND user_id = $5 AND deleted AND rev > $2 \
     ORDER BY 1 LIMIT $6";

/// Channel rows of a page by cid (`$1` app, `$2` cids): one primary-key probe per cid (a
/// `LATERAL` subquery kept whole by `OFFSET 0`, as in every loader below).
pub(crate) fn load_channels_sql() -> String {
    format!(
        "SELECT x.* FROM UNNEST($2::TEXT[]) AS k(kc) CROSS JOIN LATERAL \
         (SELECT {CHANNEL_COLS} FROM channels WHERE app_id = $1 AND cid = k.kc OFFSET 0) AS x"
    )
}

/// Member rows of a page by key (`$1` app, `$2`/`$3` cids and user ids): primary-key probes.
pub(crate) fn load_members_sql() -> String {
    format!(
        "SELECT x.* FROM UNNEST($2::TEXT[], $3::TEXT[]) AS k(kc, ku) CROSS JOIN LATERAL \
         (SELECT {MEMBER_COLS} FROM members \
          WHERE app_id = $1 AND cid = k.kc AND user_id = k.ku OFFSET 0) AS x"
    )
}

/// Message rows of a page by pk (`$1` app, `$2` pks): primary-key probes.
pub(crate) fn load_messages_sql() -> String {
    format!(
        "SELECT x.* FROM UNNEST($2::BIGINT[]) AS k(kp) CROSS JOIN LATERAL \
         (SELECT pk, {MESSAGE_COLS} FROM messages WHERE pk = k.kp AND app_id = $1 OFFSET 0) AS x"
    )
}

/// Reaction rows of a page by key (`$1` app, `$2`/`$3`/`$4` message pks, user ids and
/// types): primary-key probes.
pub(crate) fn load_reactions_sql() -> String {
    format!(
        "SELECT x.* FROM UNNEST($2::BIGINT[], $3::TEXT[], $4::TEXT[]) AS k(kp, ku, kt) \
         CROSS JOIN LATERAL (SELECT {REACTION_COLS}, message_pk FROM reactions \
          WHERE app_id = $1 AND message_pk = k.kp AND user_id = k.ku AND type = k.kt \
          OFFSET 0) AS x"
    )
}

/// Read rows of a page by key (`$1` app, `$2`/`$3` cids and user ids): primary-key probes.
pub(crate) fn load_reads_sql() -> String {
    format!(
        "SELECT x.* FROM UNNEST($2::TEXT[], $3::TEXT[]) AS k(kc, ku) CROSS JOIN LATERAL \
         (SELECT {READ_COLS} FROM reads \
          WHERE app_id = $1 AND cid = k.kc AND user_id = k.ku OFFSET 0) AS x"
    )
}

const KIND_CHANNEL: i32 = 0;
const KIND_MEMBER: i32 = 1;
const KIND_MESSAGE: i32 = 2;
const KIND_REACTION: i32 = 3;
const KIND_READ: i32 = 4;
const KIND_FLAGS: i32 = 5;
const KIND_MEMBER_STATE: i32 = 6;

/// Everything one sync page needs.
struct Ctx<'a> {
    c: &'a Conn,
    app: &'a str,
    user: &'a str,
    epoch: &'a str,
    head: u64,
    limit: u32,
    settings: SyncSettings,
}

/// One of the user's channels, as the sync loop sees it.
struct Membership {
    cid: String,
    /// The seq at which the user (last) joined.
    joined: u64,
    /// The newest rev of the channel row or of any row in the channel.
    touched: u64,
}

/// The key of one row of the change stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Channel(String),
    Member(String, String),
    Message(i64),
    Reaction(i64, String, String),
    Read(String, String),
    Flags(i64),
    /// The caller's own settings in a channel (by cid).
    MemberState(String),
}

fn parse_cid(s: &str) -> StoreResult<Cid> {
    s.parse()
        .map_err(|e| StoreError::Backend(format!("corrupt cid {s:?}: {e}")))
}

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
    async fn bootstrap(&self, snapshot: u64, after: Option<&Cid>) -> StoreResult<SyncResponse> {
        let n = self.settings.bootstrap_channels.max(1);
        let after = after.map(ToString::to_string).unwrap_or_default();
        let page = i64::from(n) + 1;
        let mut cids: Vec<String> = self
            .c
            .all(BOOTSTRAP_CIDS, &[&self.app, &self.user, &after, &page])
            .await?
            .iter()
            .map(|r| rows::get(r, 0))
            .collect::<StoreResult<_>>()?;
        let has_more = cids.len() > n as usize;
        cids.truncate(n as usize);
        let limited = self.states(cids).await?;
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

    /// The states of `cids`, each with the newest `window` messages.
    async fn states(&self, cids: Vec<String>) -> StoreResult<Vec<ChannelState>> {
        let mut out = Vec::with_capacity(cids.len());
        for cid in cids {
            let cid = parse_cid(&cid)?;
            out.push(
                channels::state(
                    self.c,
                    self.app,
                    Some(self.user),
                    &cid,
                    self.settings.window,
                )
                .await?,
            );
        }
        Ok(out)
    }

    /// The user's channels in cid order: each with the seq at which the user (last) joined
    /// it and the newest rev of anything in it (`channels.last_rev`, kept by triggers, or
    /// the channel row's own rev). One walk of the user's memberships, one row probe each.
    async fn memberships(&self) -> StoreResult<Vec<Membership>> {
        self.c
            .all(MEMBERSHIPS, &[&self.app, &self.user])
            .await?
            .iter()
            .map(|r| {
                Ok(Membership {
                    cid: rows::get(r, 0)?,
                    joined: rows::rev(r, 1)?,
                    touched: rows::rev(r, 2)?,
                })
            })
            .collect()
    }

    /// Of the user's channels, those that may be busy in `(from, to]` (joined by `from`,
    /// with something after it) and have more message changes in it than the threshold:
    /// one query for all of them.
    async fn busy(&self, ms: &[Membership], from: u64, to: u64) -> StoreResult<HashSet<String>> {
        let probe: Vec<&str> = ms
            .iter()
            .filter(|m| m.joined <= from && m.touched > from)
            .map(|m| m.cid.as_str())
            .collect();
        if probe.is_empty() {
            return Ok(HashSet::new());
        }
        let cap = i64::from(self.settings.limited_threshold) + 1;
        let (from, to) = (from as i64, to as i64);
        self.c
            .all(BUSY, &[&self.app, &probe, &from, &to, &cap])
            .await?
            .iter()
            .map(|r| rows::get(r, 0))
            .collect()
    }

    /// Phase 1 of a sync from `seq`: channels joined in `(seq, snap]` or with too many
    /// message changes in `(seq, snap]` are sent whole ("limited"), a page of channels at a
    /// time, in cid order. With none (left), streaming starts in the same call.
    async fn limited(&self, seq: u64, snap: u64, after: Option<&Cid>) -> StoreResult<SyncResponse> {
        let after = after.map(ToString::to_string).unwrap_or_default();
        let ms: Vec<Membership> = self
            .memberships()
            .await?
            .into_iter()
            .filter(|m| m.cid.as_str() > after.as_str() && m.joined <= snap)
            .collect();
        // Channels with nothing after `seq` cannot be busy: they are not probed.
        let busy = self.busy(&ms, seq, snap).await?;
        let mut pending: Vec<String> = ms
            .into_iter()
            .filter(|m| m.joined > seq || busy.contains(&m.cid))
            .map(|m| m.cid)
            .collect();
        if pending.is_empty() {
            return self.stream(seq, snap).await;
        }
        let n = self.settings.bootstrap_channels.max(1) as usize;
        let more = pending.len() > n;
        pending.truncate(n);
        let limited = self.states(pending).await?;
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
    async fn stream(&self, seq: u64, snap: u64) -> StoreResult<SyncResponse> {
        let (mut cids, mut los): (Vec<String>, Vec<i64>) = (Vec::new(), Vec::new());
        let mut first_deferred_join: Option<u64> = None;
        let ms = self.memberships().await?;
        let busy = self.busy(&ms, seq, snap).await?;
        for m in ms {
            if m.joined > snap {
                first_deferred_join =
                    Some(first_deferred_join.map_or(m.joined, |j| j.min(m.joined)));
                continue;
            }
            let lo = if m.joined > seq || busy.contains(&m.cid) {
                snap
            } else {
                seq
            };
            if m.touched > lo {
                cids.push(m.cid);
                los.push(lo as i64);
            }
        }
        let (from, page) = (seq as i64, i64::from(self.limit) + 1);
        let found = self
            .c
            .all(STREAM, &[&self.app, &from, &cids, &los, &self.user, &page])
            .await?;
        let mut refs = found
            .iter()
            .map(stream_ref)
            .collect::<StoreResult<Vec<_>>>()?;
        let has_more = refs.len() > self.limit as usize;
        refs.truncate(self.limit as usize);
        let mut loaded = self.load(&refs).await?;
        let mut changes = Vec::with_capacity(refs.len());
        for (rev, key) in &refs {
            let change = loaded
                .remove(key)
                .ok_or_else(|| StoreError::Backend(format!("changed row vanished: {key:?}")))?;
            changes.push(SyncChange { seq: *rev, change });
        }
        let cursor = match refs.last() {
            Some((rev, _)) if has_more => self.position(*rev, Some(snap), SyncPhase::Stream),
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

    /// The current state of every row of `refs`, by key: one query per kind of change
    /// (flags rows, the user's own stars, one by one).
    async fn load(&self, refs: &[(u64, Key)]) -> StoreResult<HashMap<Key, Change>> {
        let mut out = HashMap::with_capacity(refs.len());
        let app = &self.app;
        let (mut ch, mut msgs) = (Vec::<String>::new(), Vec::<i64>::new());
        let (mut mem_c, mut mem_u) = (Vec::<String>::new(), Vec::<String>::new());
        let (mut rd_c, mut rd_u) = (Vec::<String>::new(), Vec::<String>::new());
        let (mut re_p, mut re_u, mut re_t) = (Vec::<i64>::new(), Vec::new(), Vec::new());
        for (_, key) in refs {
            match key {
                Key::Channel(cid) => ch.push(cid.clone()),
                Key::Member(cid, user) => {
                    mem_c.push(cid.clone());
                    mem_u.push(user.clone());
                }
                Key::Message(pk) => msgs.push(*pk),
                Key::Reaction(pk, user, kind) => {
                    re_p.push(*pk);
                    re_u.push(user.clone());
                    re_t.push(kind.clone());
                }
                Key::Read(cid, user) => {
                    rd_c.push(cid.clone());
                    rd_u.push(user.clone());
                }
                Key::MemberState(cid) => {
                    let cid = parse_cid(cid)?;
                    let state = super::member_state::load(self.c, self.app, &cid, self.user)
                        .await?
                        .ok_or_else(|| StoreError::Backend("member state vanished".into()))?;
                    out.insert(key.clone(), Change::MemberState(state));
                }
                Key::Flags(pk) => {
                    let flags = super::flags::load(self.c, self.app, self.user, *pk)
                        .await?
                        .ok_or_else(|| StoreError::Backend("flags row vanished".into()))?;
                    out.insert(key.clone(), Change::Flags(flags));
                }
            }
        }
        if !ch.is_empty() {
            for row in self.c.all(&load_channels_sql(), &[app, &ch]).await? {
                let key = Key::Channel(rows::get(&row, 0)?);
                out.insert(key, Change::Channel(rows::channel(&row)?));
            }
        }
        if !mem_c.is_empty() {
            for row in self
                .c
                .all(&load_members_sql(), &[app, &mem_c, &mem_u])
                .await?
            {
                let key = Key::Member(rows::get(&row, 0)?, rows::get(&row, 1)?);
                out.insert(key, Change::Member(rows::member(&row)?));
            }
        }
        if !msgs.is_empty() {
            for row in self.c.all(&load_messages_sql(), &[app, &msgs]).await? {
                let key = Key::Message(rows::get(&row, 0)?);
                out.insert(key, Change::Message(rows::message_at(&row, 1)?));
            }
        }
        if !re_p.is_empty() {
            let sql = load_reactions_sql();
            for row in self.c.all(&sql, &[app, &re_p, &re_u, &re_t]).await? {
                let key = Key::Reaction(
                    rows::get(&row, 7)?,
                    rows::get(&row, 2)?,
                    rows::get(&row, 3)?,
                );
                out.insert(key, Change::Reaction(rows::reaction(&row)?));
            }
        }
        if !rd_c.is_empty() {
            for row in self.c.all(&load_reads_sql(), &[app, &rd_c, &rd_u]).await? {
                let key = Key::Read(rows::get(&row, 0)?, rows::get(&row, 1)?);
                out.insert(key, Change::Read(rows::read_state(&row)?));
            }
        }
        Ok(out)
    }
}

/// A [`STREAM`] row as its rev and the key of the changed row.
fn stream_ref(row: &tokio_postgres::Row) -> StoreResult<(u64, Key)> {
    let rev = rows::rev(row, 0)?;
    let kind: i32 = rows::get(row, 1)?;
    let pk = || rows::get::<i64>(row, 2);
    let text = |i| rows::get::<String>(row, i);
    let key = match kind {
        KIND_CHANNEL => Key::Channel(text(3)?),
        KIND_MEMBER => Key::Member(text(3)?, text(4)?),
        KIND_MESSAGE => Key::Message(pk()?),
        KIND_REACTION => Key::Reaction(pk()?, text(3)?, text(4)?),
        KIND_READ => Key::Read(text(3)?, text(4)?),
        KIND_FLAGS => Key::Flags(pk()?),
        KIND_MEMBER_STATE => Key::MemberState(text(3)?),
        other => return Err(StoreError::Backend(format!("unknown change kind {other}"))),
    };
    Ok((rev, key))
}
