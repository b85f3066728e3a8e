//! A member's own settings for a channel (hide / mute / archive), for the SQLite backend.
//!
//! Rules (docs/protocol.md, "Hide, mute, archive"):
//!
//! - The settings live in the member's own `members` row (`hidden`, `muted`, `archived`)
//!   and `state_rev` stamps their last change, so they sync like any change, but to the
//!   member alone: the `Change::MemberState` is emitted to that user only, and the sync's
//!   own-state arm reads only the caller's row. The `member` change other members see
//!   never carries them.
//! - Only a current member changes their own settings; anyone else is refused like any
//!   outsider ([`super::access::require_member`]). Setting the current values changes
//!   nothing (no seq, no change).
//! - A new top-level message clears `hidden` for every member who hid the channel
//!   ([`unhide`]): one range of the partial `members_hidden` index, empty in the common
//!   case, and one seq and change per member shown again.
//! - A new membership (join, re-join) starts with every setting off (`channels::put_member`).
//! - `GET /v1/unread` leaves muted channels out of its totals ([`MUTED_CIDS`]).

use chat_protocol::{Change, Cid, MemberState, UpdateMemberStateRequest};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::Tx;
use super::access::require_member;
use super::rows;
use crate::store::{StoreError, StoreResult};

/// The columns of a [`MemberState`], in [`state`]'s order.
pub(crate) const STATE_COLS: &str = "cid, user_id, hidden, muted, archived, state_rev";

/// A current member's settings (`?1` app, `?2` cid, `?3` user): one full-key probe.
pub(crate) const OWN_STATE: &str = "SELECT cid, user_id, hidden, muted, archived, state_rev \
     FROM members WHERE app_id = ?1 AND cid = ?2 AND user_id = ?3 AND deleted = 0";

/// Members who hid a channel (`?1` app, `?2` cid): one range of the partial
/// `members_hidden` index, which holds only hidden current memberships.
pub(crate) const HIDDEN_MEMBERS: &str = "SELECT user_id FROM members INDEXED BY members_hidden \
     WHERE app_id = ?1 AND cid = ?2 AND hidden = 1 AND deleted = 0";

/// The channels a user muted (`?1` app, `?2` user): the user's memberships
/// (`members_by_user`), never more.
pub(crate) const MUTED_CIDS: &str = "SELECT cid FROM members INDEXED BY members_by_user \
     WHERE app_id = ?1 AND user_id = ?2 AND deleted = 0 AND muted = 1";

/// Maps a [`STATE_COLS`] row.
pub fn state(row: &Row<'_>) -> rusqlite::Result<MemberState> {
    let cid: String = row.get(0)?;
    Ok(MemberState {
        cid: cid.parse().map_err(|e: chat_protocol::IdError| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
        })?,
        user_id: row.get(1)?,
        hidden: row.get(2)?,
        muted: row.get(3)?,
        archived: row.get(4)?,
        rev: row.get::<_, i64>(5)? as u64,
    })
}

/// A current member's settings, if the user is one.
pub fn load(
    conn: &Connection,
    app: &str,
    cid: &Cid,
    user: &str,
) -> StoreResult<Option<MemberState>> {
    Ok(conn
        .prepare_cached(OWN_STATE)?
        .query_row(params![app, cid.to_string(), user], state)
        .optional()?)
}

/// The settings row with this rowid (a sync change).
pub fn load_rowid(conn: &Connection, rowid: i64) -> StoreResult<MemberState> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {STATE_COLS} FROM members WHERE rowid = ?1"
        ))?
        .query_row(params![rowid], state)?)
}

/// Changes `user`'s own settings for the channel; absent fields stay.
pub fn set(
    w: &mut Tx<'_>,
    user: &str,
    cid: &Cid,
    req: &UpdateMemberStateRequest,
) -> StoreResult<MemberState> {
    rows::require_channel(&w.tx, &w.app, cid)?;
    require_member(&w.tx, &w.app, cid, user)?;
    let current = load(&w.tx, &w.app, cid, user)?
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
    let seq = w.next_seq()? as i64;
    let sql = format!(
        "UPDATE members SET hidden = ?4, muted = ?5, archived = ?6, state_rev = ?7 \
         WHERE app_id = ?1 AND cid = ?2 AND user_id = ?3 RETURNING {STATE_COLS}"
    );
    let saved = w.tx.prepare_cached(&sql)?.query_row(
        params![
            w.app,
            cid.to_string(),
            user,
            next.hidden,
            next.muted,
            next.archived,
            seq
        ],
        state,
    )?;
    w.emit(Change::MemberState(saved.clone()), vec![user.to_owned()]);
    Ok(saved)
}

/// Shows the channel again to every member who hid it (a new top-level message arrived):
/// one seq and one change, to that member alone, per member shown again.
pub fn unhide(w: &mut Tx<'_>, cid: &Cid) -> StoreResult<()> {
    let hidden: Vec<String> =
        w.tx.prepare_cached(HIDDEN_MEMBERS)?
            .query_map(params![w.app, cid.to_string()], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
    let sql = format!(
        "UPDATE members SET hidden = 0, state_rev = ?4 \
         WHERE app_id = ?1 AND cid = ?2 AND user_id = ?3 RETURNING {STATE_COLS}"
    );
    for user in hidden {
        let seq = w.next_seq()? as i64;
        let saved =
            w.tx.prepare_cached(&sql)?
                .query_row(params![w.app, cid.to_string(), user, seq], state)?;
        w.emit(Change::MemberState(saved), vec![user]);
    }
    Ok(())
}

/// The channels `user` muted.
pub fn muted_cids(conn: &Connection, app: &str, user: &str) -> StoreResult<Vec<String>> {
    Ok(conn
        .prepare_cached(MUTED_CIDS)?
        .query_map(params![app, user], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}
