//! Deleting a channel, for the PostgreSQL backend. The rules are the SQLite backend's
//! (`store::sqlite::channel_delete`): owners, admins and server-side callers delete (not
//! members of a distinct channel); every membership becomes a tombstone with its own seq,
//! emitted to that member alone; the row stays with `deleted_at` set, so reads and writes
//! answer like a missing channel and the cid is never reused. One write per member, in one
//! transaction.

use chat_protocol::{Change, Channel, Cid, Member};

use super::access::actor_role;
use super::channels::FORGET_USER_MESSAGES;
use super::conn::{Conn, Tx};
use super::rows::{self, MEMBER_COLS, now_ms};
use crate::store::{Actor, StoreError, StoreResult};

/// Whether the cid belongs to a deleted channel (`$1` app, `$2` cid): one key probe.
pub(crate) const DELETED: &str =
    "SELECT 1 FROM channels WHERE app_id = $1 AND cid = $2 AND deleted_at IS NOT NULL";

/// `Conflict` if the cid belongs to a deleted channel (a create must not revive it).
pub async fn refuse_deleted(c: &Conn, app: &str, cid: &Cid) -> StoreResult<()> {
    if c.opt(DELETED, &[&app, &cid.to_string()]).await?.is_some() {
        return Err(StoreError::Conflict(format!(
            "channel {cid} was deleted; its id cannot be used again"
        )));
    }
    Ok(())
}

/// Deletes the channel. Returns the channel as it was and the caller's own tombstone, if
/// the caller was a member.
pub async fn delete(
    w: &mut Tx,
    actor: &Actor,
    cid: &Cid,
) -> StoreResult<(Channel, Option<Member>)> {
    let channel = rows::require_channel(w, &w.app, cid).await?;
    let role = actor_role(w, &w.app, actor, cid).await?;
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
    let cid_s = cid.to_string();
    let sql = format!(
        "UPDATE members SET deleted = TRUE, updated_at = $4, rev = $5 \
         WHERE app_id = $1 AND cid = $2 AND user_id = $3 RETURNING {MEMBER_COLS}"
    );
    let mut own = None;
    for user in rows::member_ids(w, &w.app, cid).await? {
        let seq = w.next_seq() as i64;
        let row = w.one(&sql, &[&w.app, &cid_s, &user, &now, &seq]).await?;
        let tombstone = rows::member(&row)?;
        w.exec(FORGET_USER_MESSAGES, &[&w.app, &user, &cid_s])
            .await?;
        if actor.user_id.as_deref() == Some(user.as_str()) {
            own = Some(tombstone.clone());
        }
        w.emit(Change::Member(tombstone), vec![user]);
    }
    w.exec(
        "UPDATE channels SET deleted_at = $3, member_count = 0 WHERE app_id = $1 AND cid = $2",
        &[&w.app, &cid_s, &now],
    )
    .await?;
    Ok((channel, own))
}
