//! Applying server data to the cache: `/v1/sync` pages (limited channel states, then
//! changes, then the cursor, in one transaction), realtime changes, API replies, older
//! history pages, and the `410` reset. The rules are docs/protocol.md's "Client algorithm":
//! keep the higher `rev`, ignore channels that are not cached, never insert a top-level
//! message older than a channel's cached window, and drop a channel on the owner's own
//! member tombstone.

use std::collections::HashMap;

use chat_protocol::{
    Change, ChannelState, ChannelUnread, Cid, Message, MessagesResponse, SyncChange, SyncResponse,
    UnreadResponse,
};
use rusqlite::{CachedStatement, Connection, OptionalExtension, params};

use super::Cache;
use super::error::{CacheResult, to_i64};
use super::message_codec::{message_columns, message_from_row};
use super::rows::{channel_cached, opt_millis, to_json};
use super::unread::{self, Facts};
use super::upserts::*;
use super::{quoted, starred};

/// A completed outbox operation to record: its row, the server's answer as changes, and
/// (for a mark-read) the channel's exact unread counts.
#[derive(Debug, Clone, Copy)]
pub struct Completion<'a> {
    /// The outbox row to drop.
    pub op_id: &'a str,
    /// The answer, applied like realtime changes.
    pub changes: &'a [Change],
    /// Exact counts that replace the channel's.
    pub unread: Option<&'a ChannelUnread>,
}

impl Cache {
    /// Applies one `/v1/sync` page and stores its cursor, all in one transaction: each
    /// limited channel replaces its cached state and window (local echoes are kept), then
    /// each change is applied in order. On error nothing is applied and the cursor stays.
    /// Needs the owner ([`Cache::set_user`]).
    pub fn apply_sync_page(&mut self, page: &SyncResponse) -> CacheResult<()> {
        let me = self.require_user()?;
        // The per-channel facts of the previous page are still current if the connection
        // changed no row since that page committed: one sync loads each channel once, not
        // once per page. Any other write in between (of any kind) discards them.
        let memo = match self.facts_memo.take() {
            Some((changes, memo)) if changes == self.conn.total_changes() => memo,
            _ => FactsMemo::new(),
        };
        let tx = self.conn.transaction()?;
        let mut applier = Applier::with_facts(&tx, &me, memo);
        for state in &page.limited {
            applier.replace_channel(state, page.limited_seq)?;
        }
        for change in &page.changes {
            applier.apply_change(&change.change)?;
        }
        let unheld = applier.starred_unheld;
        let memo = applier.finish()?;
        tx.prepare_cached("UPDATE sync_state SET cursor = ?1 WHERE id = 1")?
            .execute([&page.cursor])?;
        tx.commit()?;
        self.facts_memo = Some((self.conn.total_changes(), memo));
        self.starred_unheld |= unheld;
        Ok(())
    }

    /// Applies changes pushed over realtime (same rules as a sync page, one transaction,
    /// the cursor is not touched).
    pub fn apply_changes(&mut self, changes: &[SyncChange]) -> CacheResult<()> {
        let me = self.require_user()?;
        let tx = self.conn.transaction()?;
        let mut applier = Applier::new(&tx, &me);
        for change in changes {
            applier.apply_change(&change.change)?;
        }
        let unheld = applier.starred_unheld;
        applier.finish()?;
        super::search::flush_small(&tx)?;
        tx.commit()?;
        self.starred_unheld |= unheld;
        Ok(())
    }

    /// Applies a message returned by the API (send, edit, delete, react): it replaces the
    /// cached row if its `rev` is higher — a local echo with the same id is replaced and
    /// its local state cleared — or is inserted if its channel is cached and it is not
    /// older than the channel's window. Returns whether the cache changed.
    pub fn apply_message_result(&mut self, message: &Message) -> CacheResult<bool> {
        let me = self.user.clone().unwrap_or_default();
        let tx = self.conn.transaction()?;
        let mut applier = Applier::new(&tx, &me);
        let applied = applier.apply_message(message)?;
        applier.finish()?;
        super::search::flush_small(&tx)?;
        tx.commit()?;
        Ok(applied)
    }

    /// Records the server's answer to a completed outbox operation and removes its outbox
    /// row, in ONE transaction: `changes` (the returned message, reaction, read state …)
    /// are applied like realtime changes — a send's server copy replaces its local echo —
    /// and `unread` (from a mark-read answer) replaces the channel's counts. If anything
    /// fails nothing is stored and the row stays (the operation is retried, and the server
    /// answers the replay the same way).
    pub fn complete_op(
        &mut self,
        op_id: &str,
        changes: &[Change],
        unread: Option<&ChannelUnread>,
    ) -> CacheResult<()> {
        self.complete_ops(&[Completion {
            op_id,
            changes,
            unread,
        }])
    }

    /// [`Cache::complete_op`] for several operations (the messages of a batch send) in ONE
    /// transaction, in order: all are recorded or none.
    pub fn complete_ops(&mut self, done: &[Completion<'_>]) -> CacheResult<()> {
        let me = self.user.clone().unwrap_or_default();
        let tx = self.conn.transaction()?;
        let mut applier = Applier::new(&tx, &me);
        for c in done {
            for change in c.changes {
                applier.apply_change(change)?;
            }
        }
        applier.finish()?;
        for c in done {
            if let Some(unread) = c.unread {
                unread::store_exact(&tx, unread)?;
            }
            super::outbox_rows::delete_outbox(&tx, c.op_id)?;
        }
        super::search::flush_small(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Stores a page of older top-level messages fetched with
    /// `GET .../messages?before=<oldest cached message id>` (it must join the cached
    /// window), extending the window back to the page's oldest message. Ignored (returns
    /// `false`) when the channel is not cached.
    pub fn apply_history_page(&mut self, cid: &Cid, page: &MessagesResponse) -> CacheResult<bool> {
        let cid = cid.to_string();
        let tx = self.conn.transaction()?;
        if !channel_cached(&tx, &cid)? {
            return Ok(false);
        }
        for m in &page.messages {
            if m.cid.to_string() == cid && m.parent_id.is_none() {
                upsert_message_if_newer(&tx, m)?;
            }
        }
        for r in &page.own_reactions {
            upsert_reaction(&tx, r)?;
        }
        for id in &page.starred {
            star_from_state(&tx, &id.to_string(), &cid)?;
        }
        starred::keep_listed(&tx, &page.messages, &page.starred)?;
        let oldest = page.messages.iter().map(|m| m.created_at.millis()).min();
        tx.prepare_cached(
            "UPDATE channels SET window_complete = (window_complete OR ?3), window_start = CASE \
               WHEN ?2 IS NULL THEN window_start ELSE min(coalesce(window_start, ?2), ?2) END \
             WHERE cid = ?1",
        )?
        .execute(params![cid, oldest, !page.has_more_before])?;
        tx.commit()?;
        Ok(true)
    }

    /// Drops every synced row and the cursor, keeping the outbox and local echoes of
    /// unsent messages (the `410`/`invalid_cursor` reset; the next sync bootstraps).
    pub fn reset_synced_data(&mut self) -> CacheResult<()> {
        let tx = self.conn.transaction()?;
        tx.execute_batch(
            "DELETE FROM channels; \
             DELETE FROM messages WHERE local_state IS NULL; \
             DELETE FROM reactions; \
             DELETE FROM flags; \
             DELETE FROM starred; \
             DELETE FROM quoted; \
             UPDATE sync_state SET cursor = NULL WHERE id = 1;",
        )?;
        tx.commit()?;
        self.starred_unheld = true; // an open starred list fetches its page again
        Ok(())
    }

    /// Stores the exact unread counts of `GET /v1/unread` (channels it does not list have
    /// none).
    pub fn replace_unread_counts(&mut self, unread: &UnreadResponse) -> CacheResult<()> {
        let tx = self.conn.transaction()?;
        unread::replace_all(&tx, &unread.channels)?;
        tx.commit()?;
        Ok(())
    }
}

/// Per-channel facts by cid (`None`: the channel is not cached).
pub(crate) type FactsMemo = HashMap<Cid, Option<Facts>>;

/// Applies server data inside one transaction, reading each channel's [`Facts`] once and
/// writing unread count changes once per channel at the end. The bulk of a sync (new
/// messages) runs one statement, prepared once per applier.
struct Applier<'c> {
    conn: &'c Connection,
    me: &'c str,
    facts: FactsMemo,
    /// [`INSERT_NEW_MESSAGE`], prepared on first use.
    insert_new: Option<CachedStatement<'c>>,
    /// A star of a message neither the cache nor its starred list holds was applied.
    starred_unheld: bool,
}

/// The cached row of a message, as far as applying a newer version needs it.
struct Existing {
    rev: i64,
    local: bool,
    deleted: bool,
    message: Message,
}

impl<'c> Applier<'c> {
    fn new(conn: &'c Connection, me: &'c str) -> Self {
        Self::with_facts(conn, me, HashMap::new())
    }

    /// An applier starting from facts known to be current (no pending deltas).
    fn with_facts(conn: &'c Connection, me: &'c str, facts: FactsMemo) -> Self {
        Self {
            conn,
            me,
            facts,
            insert_new: None,
            starred_unheld: false,
        }
    }

    /// The facts of a channel (`None`: not cached), loaded on first use.
    fn facts(&mut self, cid: &Cid) -> CacheResult<Option<&mut Facts>> {
        if !self.facts.contains_key(cid) {
            let facts = Facts::load(self.conn, self.me, &cid.to_string())?;
            self.facts.insert(cid.clone(), facts);
        }
        Ok(self.facts.get_mut(cid).and_then(Option::as_mut))
    }

    /// Writes and forgets what is known about a channel that is about to change.
    fn forget(&mut self, cid: &Cid) -> CacheResult<()> {
        if let Some(Some(facts)) = self.facts.remove(cid) {
            facts.flush(self.conn, &cid.to_string())?;
        }
        Ok(())
    }

    /// Writes the pending unread count changes; returns the facts, now current.
    fn finish(self) -> CacheResult<FactsMemo> {
        let mut facts = self.facts;
        for (cid, f) in &mut facts {
            if let Some(f) = f {
                f.flush(self.conn, &cid.to_string())?;
                f.settle();
            }
        }
        Ok(facts)
    }

    /// Stores a limited channel state: the channel, its members and reads replaced, its
    /// cached server messages (and their reactions and stars) replaced by the window.
    ///
    /// The state is complete only up to `limited_seq` (the sync's snapshot). Rows of the
    /// user's own that are newer — a message whose send completed, a reaction or star
    /// confirmed while the page was on its way — are kept, not dropped until they come
    /// back as changes: the UI never loses a sent message for a moment, and an edit or
    /// reaction the user makes meanwhile finds it. Other users' newer rows are replaced
    /// as before (the state's exact unread counts cover exactly the state's messages).
    /// Kept top-level messages older than the new window go, so it has no hole.
    fn replace_channel(
        &mut self,
        state: &ChannelState,
        limited_seq: Option<u64>,
    ) -> CacheResult<()> {
        let (conn, cid, me) = (self.conn, state.channel.cid.to_string(), self.me);
        let after = limited_seq.map(|s| to_i64("limited_seq", s)).transpose()?;
        self.facts.remove(&state.channel.cid); // exact counts follow
        upsert_channel(conn, &state.channel)?;
        if let Some(own) = state.own_state.as_ref().filter(|s| s.user_id == me) {
            super::member_state::apply(conn, own)?;
        }
        replace_members(conn, &cid, &state.members)?;
        replace_reads(conn, &cid, &state.reads)?;
        conn.prepare_cached(
            "DELETE FROM reactions WHERE cid = ?1 \
             AND NOT (?3 IS NOT NULL AND user_id = ?2 AND rev > ?3)",
        )?
        .execute(params![cid, me, after])?;
        conn.prepare_cached(
            "DELETE FROM flags WHERE cid = ?1 AND NOT (?2 IS NOT NULL AND rev > ?2)",
        )?
        .execute(params![cid, after])?;
        conn.prepare_cached(
            "DELETE FROM messages WHERE ck = (SELECT key FROM channel_keys WHERE cid = ?1) \
             AND local_state IS NULL AND NOT (?3 IS NOT NULL AND user_id = ?2 AND rev > ?3)",
        )?
        .execute(params![cid, me, after])?;
        for m in &state.messages {
            upsert_message_if_newer(conn, m)?;
        }
        for r in state.own_reactions.iter().filter(|r| r.user_id == self.me) {
            upsert_reaction(conn, r)?;
        }
        for id in &state.starred {
            star_from_state(conn, &id.to_string(), &cid)?;
        }
        self.starred_unheld |= starred::limited(conn, state, after)?;
        starred::keep_listed(conn, &state.messages, &state.starred)?;
        let created = || state.messages.iter().map(|m| m.created_at.millis());
        let last_message_at = opt_millis(state.channel.last_message_at);
        let window_start = match created().min() {
            Some(oldest) => Some(oldest),
            // An empty window with older history: everything up to the last message is old.
            None if state.has_more => last_message_at.map(|t| t + 1),
            None => None,
        };
        let counted_through = state.unread.counted_through.map(|t| t.millis());
        let through = created()
            .max()
            .max(last_message_at)
            .max(counted_through)
            .unwrap_or(0);
        if let Some(start) = window_start {
            conn.prepare_cached(
                "DELETE FROM messages WHERE ck = (SELECT key FROM channel_keys WHERE cid = ?1) \
                 AND local_state IS NULL AND parent_id IS NULL AND order_key < ?2",
            )?
            .execute(params![cid, start])?;
        }
        conn.prepare_cached(
            "UPDATE channels SET window_start = ?2, window_complete = ?3, unread_count = ?4, \
             unread_mentions = ?5, unread_through = ?6 WHERE cid = ?1",
        )?
        .execute(params![
            cid,
            window_start,
            !state.has_more,
            state.unread.unread_count,
            state.unread.unread_mentions,
            through
        ])?;
        Ok(())
    }

    /// Applies one change (docs/protocol.md `apply(change)`).
    fn apply_change(&mut self, change: &Change) -> CacheResult<()> {
        let (conn, me) = (self.conn, self.me);
        match change {
            Change::Channel(c) => {
                conn.prepare_cached(
                    "UPDATE channels SET rev = ?2, sort_at = ?3, created_at = ?4, data = ?5 \
                     WHERE cid = ?1 AND rev < ?2",
                )?
                .execute(params![
                    c.cid.to_string(),
                    to_i64("rev", c.rev)?,
                    sort_at(c),
                    c.created_at.millis(),
                    to_json(c)
                ])?;
            }
            Change::Member(m) => {
                let cid = m.cid.to_string();
                if m.user_id == me && m.deleted {
                    let rev = to_i64("rev", m.rev)?;
                    let cached: Option<i64> = conn
                        .prepare_cached("SELECT rev FROM members WHERE cid = ?1 AND user_id = ?2")?
                        .query_row(params![cid, m.user_id], |r| r.get(0))
                        .optional()?;
                    if cached.is_none_or(|cached| cached < rev) {
                        self.facts.remove(&m.cid);
                        drop_channel(conn, &cid)?;
                    }
                } else if self.facts(&m.cid)?.is_some() {
                    if m.user_id == me {
                        self.forget(&m.cid)?; // the join time may move
                    }
                    upsert_member(conn, m)?;
                }
            }
            Change::Message(m) => {
                self.apply_message(m)?;
            }
            Change::Reaction(r) => {
                if self.facts(&r.cid)?.is_some() {
                    upsert_reaction(conn, r)?;
                }
            }
            Change::Read(r) => {
                if self.facts(&r.cid)?.is_some() && upsert_read(conn, r)? && r.user_id == me {
                    self.forget(&r.cid)?;
                    unread::recount(conn, me, &r.cid.to_string())?;
                }
            }
            Change::Flags(f) if f.user_id == me => {
                // A cached channel's flags decide first ("keep the higher rev").
                if self.facts(&f.cid)?.is_none() || upsert_flags(conn, f)? {
                    let held = held_message(conn, &f.message_id)?;
                    self.starred_unheld |= starred::follow_flags(conn, f, held.as_ref())?;
                }
            }
            Change::Flags(_) => {}
            Change::MemberState(s) if s.user_id == me => super::member_state::apply(conn, s)?,
            Change::MemberState(_) => {}
        }
        Ok(())
    }

    /// Applies a message with "keep the higher rev", the window rule and unread
    /// bookkeeping. Returns whether the row was written.
    fn apply_message(&mut self, m: &Message) -> CacheResult<bool> {
        let conn = self.conn;
        let rev = to_i64("rev", m.rev)?;
        let id = m.id.to_string();
        // Fast path for the bulk of a sync: a message of a cached channel, inside the
        // window, not cached yet — one INSERT that does nothing if the id exists.
        let fits = match self.facts(&m.cid)? {
            Some(f) if m.parent_id.is_some() || !f.before_window(m.created_at.millis()) => {
                Some(f.key)
            }
            _ => None,
        };
        if let Some(ck) = fits {
            let insert = match &mut self.insert_new {
                Some(insert) => insert,
                empty => empty.insert(conn.prepare_cached(INSERT_NEW_MESSAGE)?),
            };
            if execute_message_with(insert, m, &id, ck)? == 1 {
                self.after_write(m, &id, None)?;
                return Ok(true);
            }
        }
        let existing = conn
            .prepare_cached(concat!(
                "SELECT m.local_state IS NOT NULL, ",
                message_columns!(),
                " FROM messages m WHERE m.id = ?1"
            ))?
            .query_row([&id], |r| {
                let message = message_from_row(r, 1)?;
                Ok(Existing {
                    rev: r.get(1 + 7)?, // the `m.rev` column
                    local: r.get(0)?,
                    deleted: message.deleted_at.is_some(),
                    message,
                })
            })
            .optional()?;
        match &existing {
            Some(e) if e.rev >= rev => return Ok(false),
            Some(_) => {}
            None => match self.facts(&m.cid)? {
                None => {
                    refresh_copies(conn, m)?;
                    return Ok(false);
                }
                Some(f) if m.parent_id.is_none() && f.before_window(m.created_at.millis()) => {
                    refresh_copies(conn, m)?;
                    return Ok(false);
                }
                Some(_) => {}
            },
        }
        refresh_copies(conn, m)?;
        write_message(conn, m)?;
        self.after_write(m, &id, existing)?;
        Ok(true)
    }

    /// Unread bookkeeping after `m` was written over `existing` (`None`: it is new).
    fn after_write(
        &mut self,
        m: &Message,
        id: &str,
        existing: Option<Existing>,
    ) -> CacheResult<()> {
        let (conn, me) = (self.conn, self.me);
        let Some(facts) = self.facts(&m.cid)? else {
            return Ok(()); // a local echo replaced in a channel that is not cached
        };
        if facts.marker.as_deref() == Some(id) {
            // the owner's read marker message arrived: the exact recount is possible now
            self.forget(&m.cid)?;
            unread::recount(conn, me, &m.cid.to_string())?;
            return Ok(());
        }
        match existing {
            None if m.user_id != me && m.deleted_at.is_none() => facts.count_new(me, m),
            Some(e) if !e.local && !e.deleted && m.user_id != me => {
                if m.deleted_at.is_some() {
                    facts.uncount(me, &e.message);
                } else {
                    facts.remention(me, &e.message, m);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Refreshes the copies of `m` kept apart from the windows (starred, quoted).
fn refresh_copies(conn: &Connection, m: &Message) -> CacheResult<()> {
    starred::refresh_copy(conn, m)?;
    quoted::refresh_copy(conn, m)
}

/// The confirmed message `id`, if the cache holds it.
fn held_message(conn: &Connection, id: &uuid::Uuid) -> CacheResult<Option<Message>> {
    Ok(conn
        .prepare_cached(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages m WHERE m.id = ?1 AND m.local_state IS NULL"
        ))?
        .query_row([id.to_string()], |r| message_from_row(r, 0))
        .optional()?)
}

/// Deletes a channel and everything synced under it; local echoes (and the outbox) stay.
fn drop_channel(conn: &Connection, cid: &str) -> CacheResult<()> {
    conn.prepare_cached(
        "DELETE FROM messages WHERE ck = (SELECT key FROM channel_keys WHERE cid = ?1) \
         AND local_state IS NULL",
    )?
    .execute([cid])?;
    // The server drops the stars of a channel the user left.
    conn.prepare_cached("DELETE FROM starred WHERE cid = ?1")?
        .execute([cid])?;
    quoted::drop_channel(conn, cid)?;
    // members, reads, reactions and flags cascade
    conn.prepare_cached("DELETE FROM channels WHERE cid = ?1")?
        .execute([cid])?;
    Ok(())
}
