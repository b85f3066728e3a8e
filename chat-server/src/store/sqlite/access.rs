//! Who may read and write what, for the SQLite backend: the membership and role probes and
//! the refusals every query module uses (docs/protocol.md, "Who may do what").
//!
//! Rules:
//!
//! - **Reads** of a channel, its messages, replies and reactions are for its current
//!   members ([`authorize_read`], [`authorize_message`]). Server-side callers
//!   ([`Actor::server`]) may read any channel; a user-less non-server actor is invalid
//!   ([`require_user`]).
//! - **Writes** (send, react, star, mark read, edit, delete, manage members) need a current
//!   membership too ([`require_member`], [`authorize_message`], [`actor_role`]); what a
//!   role may do on top (owners and admins update channels and give roles, moderators and
//!   above add and remove members and delete others' messages, authors edit) is decided by
//!   each operation with the role [`actor_role`] or [`member_role`] returns. Server-side
//!   callers count as owners.
//! - **Refusals** never tell outsiders what exists ([`outsider`]): someone who never was a
//!   member gets the same `NotFound` as for a missing channel or message, so channel and
//!   message ids cannot be probed. A former member (their removal left a tombstone) gets
//!   `NotAMember` (`403 not_a_member`): they knew the channel, and a write they queued
//!   while still a member must fail for good instead of looking done. Once compaction has
//!   dropped the tombstone, an ex-member counts as an outsider.
//! - **By message id**, a refusal is the missing message's own `NotFound` and never names
//!   the channel ([`authorize_message`]).
//!
//! Each probe is one full-key lookup of `members`, with its plan pinned in [`super::cost`]
//! ([`MEMBER_ROLE`], [`EVER_MEMBER`]).

use chat_protocol::{Cid, MemberRole, Message};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::rows;
pub use crate::store::rules::require_user;
use crate::store::{Actor, StoreError, StoreResult};

/// Whether the user has a membership row, current or a tombstone (`?1` app, `?2` cid,
/// `?3` user): one full-key probe.
pub(crate) const EVER_MEMBER: &str =
    "SELECT 1 FROM members WHERE app_id = ?1 AND cid = ?2 AND user_id = ?3";

/// The refusal for a user who is not a current member of an existing channel. Someone who
/// was a member (their removal left a tombstone) gets `NotAMember`: they knew the channel,
/// and their queued writes must fail for good. Anyone else gets the same `NotFound` as a
/// missing channel, so outsiders cannot tell which channel ids exist. Once compaction has
/// dropped the tombstone, an ex-member counts as an outsider.
pub fn outsider(conn: &Connection, app: &str, cid: &Cid, user: &str) -> StoreResult<StoreError> {
    let was_member = conn
        .prepare_cached(EVER_MEMBER)?
        .query_row(params![app, cid.to_string(), user], |_| Ok(()))
        .optional()?
        .is_some();
    Ok(if was_member {
        StoreError::NotAMember(cid.to_string())
    } else {
        StoreError::NotFound(format!("channel {cid}"))
    })
}

/// The role of a current member (`?1` app, `?2` cid, `?3` user): one full-key probe.
pub(crate) const MEMBER_ROLE: &str = "SELECT role FROM members \
     WHERE app_id = ?1 AND cid = ?2 AND user_id = ?3 AND deleted = 0";

/// The role of a current member, if the user is one.
pub fn member_role(
    conn: &Connection,
    app: &str,
    cid: &Cid,
    user: &str,
) -> StoreResult<Option<MemberRole>> {
    let role: Option<String> = conn
        .prepare_cached(MEMBER_ROLE)?
        .query_row(params![app, cid.to_string(), user], |r| r.get(0))
        .optional()?;
    role.map(|r| {
        r.parse::<MemberRole>()
            .map_err(|_| StoreError::Backend(format!("corrupt member role {r:?}")))
    })
    .transpose()
}

/// Fails unless `user` is a current member of the channel, with the refusal of
/// [`outsider`]. The caller has checked that the channel exists.
pub fn require_member(conn: &Connection, app: &str, cid: &Cid, user: &str) -> StoreResult<()> {
    match member_role(conn, app, cid, user)? {
        Some(_) => Ok(()),
        None => Err(outsider(conn, app, cid, user)?),
    }
}

/// Fails unless the channel exists and the actor may read it.
pub fn authorize_read(conn: &Connection, app: &str, actor: &Actor, cid: &Cid) -> StoreResult<()> {
    rows::require_channel(conn, app, cid)?;
    if actor.server {
        return Ok(());
    }
    let user = require_user(actor)?;
    require_member(conn, app, cid, &user)
}

/// The actor's role, or the refusal of [`outsider`]; server callers count as owners.
pub fn actor_role(
    conn: &Connection,
    app: &str,
    actor: &Actor,
    cid: &Cid,
) -> StoreResult<MemberRole> {
    if actor.server {
        return Ok(MemberRole::Owner);
    }
    let user = require_user(actor)?;
    match member_role(conn, app, cid, &user)? {
        Some(role) => Ok(role),
        None => Err(outsider(conn, app, cid, &user)?),
    }
}

/// Loads a message and checks the actor may read its channel (reads, and the first check
/// of every write by message id). An outsider's refusal is the missing message's own
/// `NotFound`, never naming the channel.
pub fn authorize_message(
    conn: &Connection,
    app: &str,
    actor: &Actor,
    id: Uuid,
) -> StoreResult<(i64, Message)> {
    let missing = || StoreError::NotFound(format!("message {id}"));
    let (pk, msg) = rows::load_message(conn, app, id)?.ok_or_else(missing)?;
    match authorize_read(conn, app, actor, &msg.cid) {
        Ok(()) => Ok((pk, msg)),
        Err(StoreError::NotFound(_)) => Err(missing()),
        Err(e) => Err(e),
    }
}
