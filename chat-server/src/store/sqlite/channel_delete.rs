//! Deleting a channel, for the SQLite backend.
//!
//! Rules (docs/protocol.md, "Deleting a channel"):
//!
//! - Owners and admins delete a channel, and server-side callers; other members get
//!   `Forbidden`, outsiders the refusal of any channel write. Members of a distinct channel
//!   cannot delete it (its member set is fixed; they hide it or leave).
//! - Every current membership becomes a tombstone with a seq of its own, emitted to that
//!   member alone: each member's sync and realtime deliver their own removal, which is how
//!   a client drops a channel, exactly as when leaving. The members' per-message rows go as
//!   on leaving.
//! - The channel row stays with `deleted_at` set: reads and writes then answer `404` like
//!   a missing channel ([`super::rows::load_channel`] skips it), former members' writes by
//!   message id `403 not_a_member`, and its cid is never reused (a create answers
//!   `Conflict`), so no old message can reappear in a new channel.
//! - Cost: one write per member (bounded by the channel's member limit), in one transaction.

use chat_protocol::{Change, Channel, Cid, Member};
use rusqlite::{Connection, OptionalExtension, params};

use super::Tx;
use super::access::actor_role;
use super::channels::FORGET_USER_MESSAGES;
use super::rows::{self, MEMBER_COLS, now_ms};
use crate::store::{Actor, StoreError, StoreResult};

/// Whether the cid belongs to a deleted channel (`?1` app, `?2` cid): one key probe.
pub(crate) const DELETED: &str =
    "SELECT 1 FROM channels WHERE app_id = ?1 AND cid = ?2 AND deleted_at IS NOT NULL";

/// `Conflict` if the cid belongs to a deleted channel (a create must not revive it).
pub fn refuse_deleted(conn: &Connection, app: &str, cid: &Cid) -> StoreResult<()> {
    let deleted = conn
        .prepare_cached(DELETED)?
        .query_row(params![app, cid.to_string()], |_| Ok(()))
        .optional()?
        .is_some();
    if deleted {
        return Err(StoreError::Conflict(format!(
            "channel {cid} was deleted; its id cannot be used again"
        )));
    }
    Ok(())
}

/// Deletes the channel: see the module docs. Returns the channel as it was and the
/// caller's own tombstone, if the caller was a member.
pub fn delete(w: &mut Tx<'_>, actor: &Actor, cid: &Cid) -> StoreResult<(Channel, Option<Member>)> {
    let channel = rows::require_channel(&w.tx, &w.app, cid)?;
    let role = actor_role(&w.tx, &w.app, actor, cid)?;
    if channel.distinct && !actor.server {
        return Err(StoreError::Forbidden(format!(
            "members cannot delete distinct channel {cid}; hide it or leave it"
        )));
    }
    if !actor.server && !role.can_admin() {
        return Err(StoreError::Forbidden(
            "only owners and admins can delete a channel".into(),
        ));
    }
    let now = now_ms();
    let sql = format!(
        "UPDATE members SET deleted = 1, updated_at = ?4, rev = ?5 \
         WHERE app_id = ?1 AND cid = ?2 AND user_id = ?3 RETURNING {MEMBER_COLS}"
    );
    let mut own = None;
    for user in rows::member_ids(&w.tx, &w.app, cid)? {
        let seq = w.next_seq()? as i64;
        let tombstone = w.tx.prepare_cached(&sql)?.query_row(
            params![w.app, cid.to_string(), user, now, seq],
            rows::member,
        )?;
        w.tx.prepare_cached(FORGET_USER_MESSAGES)?.execute(params![
            w.app,
            user,
            cid.to_string()
        ])?;
        if actor.user_id.as_deref() == Some(user.as_str()) {
            own = Some(tombstone.clone());
        }
        w.emit(Change::Member(tombstone), vec![user]);
    }
    w.tx.prepare_cached(
        "UPDATE channels SET deleted_at = ?3, member_count = 0 WHERE app_id = ?1 AND cid = ?2",
    )?
    .execute(params![w.app, cid.to_string(), now])?;
    Ok((channel, own))
}
