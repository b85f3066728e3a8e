//! A member's own settings for a channel (hide / mute / archive), for the PostgreSQL
//! backend. The rules are the SQLite backend's (`store::sqlite::member_state`):
//!
//! - The settings live in the member's own `members` row (`hidden`, `muted`, `archived`);
//!   `state_rev` stamps their last change. A change is emitted to that member alone and
//!   the sync's own-state arm reads only the caller's row.
//! - Only a current member changes their own settings; anyone else is refused like any
//!   outsider. Setting the current values changes nothing (no seq, no change).
//! - A new top-level message clears `hidden` for every member who hid the channel
//!   ([`unhide`]): the send reads [`HIDDEN_MEMBERS`] with its other lookups (one range of
//!   the partial `members_hidden` index, empty in the common case), then one seq and one
//!   change per member shown again.
//! - A new membership (join, re-join) starts with every setting off.
//! - `GET /v1/unread` leaves muted channels out of its totals ([`MUTED_CIDS`]).

use chat_protocol::{Change, Cid, MemberState, UpdateMemberStateRequest};
use tokio_postgres::Row;

use super::access::require_member;
use super::conn::{Conn, Tx};
use super::rows;
use crate::store::{StoreError, StoreResult};

/// The columns of a [`MemberState`], in [`state`]'s order.
pub(crate) const STATE_COLS: &str = "cid, user_id, hidden, muted, archived, state_rev";

/// A current member's settings (`$1` app, `$2` cid, `$3` user): one primary-key probe.
pub(crate) const OWN_STATE: &str = "SELECT cid, user_id, hidden, muted, archived, state_rev \
     FROM members WHERE app_id = $1 AND cid = $2 AND user_id = $3 AND NOT deleted";

/// Members who hid a channel (`$1` app, `$2` cid): one range of the partial
/// `members_hidden` index, which holds only hidden current memberships.
pub(crate) const HIDDEN_MEMBERS: &str = "SELECT user_id FROM members \
     WHERE app_id = $1 AND cid = $2 AND hidden AND NOT deleted";

/// The channels a user muted (`$1` app, `$2` user): the user's memberships.
pub(crate) const MUTED_CIDS: &str = "SELECT cid FROM members \
     WHERE app_id = $1 AND user_id = $2 AND NOT deleted AND muted";

/// Maps a [`STATE_COLS`] row.
pub fn state(row: &Row) -> StoreResult<MemberState> {
    Ok(MemberState {
        cid: rows::cid(row, 0)?,
        user_id: rows::get(row, 1)?,
        hidden: rows::get(row, 2)?,
        muted: rows::get(row, 3)?,
        archived: rows::get(row, 4)?,
        rev: rows::rev(row, 5)?,
    })
}

/// A current member's settings, if the user is one.
pub async fn load(c: &Conn, app: &str, cid: &Cid, user: &str) -> StoreResult<Option<MemberState>> {
    c.opt(OWN_STATE, &[&app, &cid.to_string(), &user])
        .await?
        .as_ref()
        .map(state)
        .transpose()
}

/// Changes `user`'s own settings for the channel; absent fields stay.
pub async fn set(
    w: &mut Tx,
    user: &str,
    cid: &Cid,
    req: &UpdateMemberStateRequest,
) -> StoreResult<MemberState> {
    rows::require_channel(w, &w.app, cid).await?;
    require_member(w, &w.app, cid, user).await?;
    let current = load(w, &w.app, cid, user)
        .await?
        .ok_or_else(|| StoreError::Backend("membership vanished".into()))?;
    let next = MemberState {
        hidden: req.hidden.unwrap_or(current.hidden),
        muted: req.muted.unwrap_or(current.muted),
        archived: req.archived.unwrap_or(current.archived),
        ..current.clone()
    };
    if next == current {
        return Ok(current);
    }
    let seq = w.next_seq() as i64;
    let sql = format!(
        "UPDATE members SET hidden = $4, muted = $5, archived = $6, state_rev = $7 \
         WHERE app_id = $1 AND cid = $2 AND user_id = $3 RETURNING {STATE_COLS}"
    );
    let row = w
        .one(
            &sql,
            &[
                &w.app,
                &cid.to_string(),
                &user,
                &next.hidden,
                &next.muted,
                &next.archived,
                &seq,
            ],
        )
        .await?;
    let saved = state(&row)?;
    w.emit(Change::MemberState(saved.clone()), vec![user.to_owned()]);
    Ok(saved)
}

/// The members who hid the channel (read by a send with its other lookups).
pub async fn hidden_members(c: &Conn, app: &str, cid: &Cid) -> StoreResult<Vec<String>> {
    c.all(HIDDEN_MEMBERS, &[&app, &cid.to_string()])
        .await?
        .iter()
        .map(|r| rows::get(r, 0))
        .collect()
}

/// Shows the channel again to `users` (who hid it; a new top-level message arrived): one
/// seq and one change, to that member alone, per member.
pub async fn unhide(w: &mut Tx, cid: &Cid, users: Vec<String>) -> StoreResult<()> {
    let sql = format!(
        "UPDATE members SET hidden = FALSE, state_rev = $4 \
         WHERE app_id = $1 AND cid = $2 AND user_id = $3 RETURNING {STATE_COLS}"
    );
    for user in users {
        let seq = w.next_seq() as i64;
        let row = w
            .one(&sql, &[&w.app, &cid.to_string(), &user, &seq])
            .await?;
        w.emit(Change::MemberState(state(&row)?), vec![user]);
    }
    Ok(())
}

/// The channels `user` muted.
pub async fn muted_cids(c: &Conn, app: &str, user: &str) -> StoreResult<Vec<String>> {
    c.all(MUTED_CIDS, &[&app, &user])
        .await?
        .iter()
        .map(|r| rows::get(r, 0))
        .collect()
}
