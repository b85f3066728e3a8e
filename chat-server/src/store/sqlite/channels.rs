//! Channels and memberships: create (distinct get-or-create, idempotent create replays),
//! state, update, query, add/remove members. Distinct channels keep their member set:
//! users can leave them but never add or remove others.

use chat_protocol::{
    Change, Channel, ChannelFilter, ChannelState, ChannelUnread, Cid, ListMessagesQuery, Member,
    MemberInput, MemberRole, QueryChannelsRequest, UpdateChannelRequest, ids,
    limits::{DEFAULT_CHANNEL_PAGE, MAX_MESSAGE_PAGE},
};
use rusqlite::types::ToSql;
use rusqlite::{Connection, params, params_from_iter};

use super::access::{actor_role, member_role, require_user};
use super::rows::{self, MEMBER_COLS, READ_COLS, now_ms};
use super::{Tx, apps, member_state, messages, reads};
use crate::store::rules::{check_assigned_roles, initial_order};
use crate::store::{Actor, NewChannel, StoreError, StoreResult};

/// Current members (`?1` app, `?2` cid), oldest membership first: one range of
/// `members_current`.
pub(crate) fn members_sql() -> String {
    format!(
        "SELECT {MEMBER_COLS} FROM members INDEXED BY members_current \
         WHERE app_id = ?1 AND cid = ?2 AND deleted = 0 ORDER BY created_at, user_id"
    )
}

/// The read states of a channel (`?1` app, `?2` cid), by user.
pub(crate) fn reads_sql() -> String {
    format!("SELECT {READ_COLS} FROM reads WHERE app_id = ?1 AND cid = ?2 ORDER BY user_id")
}

/// Current members, oldest membership first.
pub fn members(conn: &Connection, app: &str, cid: &Cid) -> StoreResult<Vec<Member>> {
    let sql = members_sql();
    let mut stmt = conn.prepare_cached(&sql)?;
    let out = stmt
        .query_map(params![app, cid.to_string()], rows::member)?
        .collect::<Result<_, _>>()?;
    Ok(out)
}

/// The full state of a channel as seen by `user` (None = server caller).
pub fn state(
    conn: &Connection,
    app: &str,
    user: Option<&str>,
    cid: &Cid,
    message_limit: u32,
) -> StoreResult<ChannelState> {
    let channel = rows::require_channel(conn, app, cid)?;
    let read_sql = reads_sql();
    let reads = conn
        .prepare_cached(&read_sql)?
        .query_map(params![app, cid.to_string()], rows::read_state)?
        .collect::<Result<Vec<_>, _>>()?;
    let page = messages::list(
        conn,
        app,
        user,
        messages::Scope::Channel(cid),
        &ListMessagesQuery {
            limit: Some(message_limit.max(1)),
            ..Default::default()
        },
    )?;
    let (messages, own_reactions, starred, has_more) = if message_limit == 0 {
        (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            !page.messages.is_empty(),
        )
    } else {
        (
            page.messages,
            page.own_reactions,
            page.starred,
            page.has_more_before,
        )
    };
    let unread = match user {
        Some(u) => reads::channel_unread(conn, app, u, cid)?,
        None => ChannelUnread {
            cid: cid.clone(),
            unread_count: 0,
            unread_mentions: 0,
            counted_through: None,
        },
    };
    Ok(ChannelState {
        channel,
        members: members(conn, app, cid)?,
        reads,
        messages,
        has_more,
        own_reactions,
        starred,
        unread,
        own_state: match user {
            Some(u) => member_state::load(conn, app, cid, u)?,
            None => None,
        },
    })
}

/// Creates the channel (`true` in the tuple), or answers for an existing one:
/// - distinct: its state, for anyone in its defining member set (the cid is derived from the
///   set, so the creator always is); a creator who had left is brought back, nobody else;
/// - explicit id: its state only to its creator, still a member, replaying the same initial
///   member set; anything else is a conflict (nobody takes over or joins a channel by id).
pub fn create(
    w: &mut Tx<'_>,
    creator: &str,
    new: NewChannel,
    window: u32,
) -> StoreResult<(ChannelState, bool)> {
    let NewChannel { cid, req } = new;
    let initial = ids::distinct_members(creator, &req.members);
    if req.distinct && cid.id() != ids::distinct_channel_id(creator, &req.members) {
        return Err(StoreError::Invalid(format!(
            "{cid} is not the derived id of this member set"
        )));
    }
    if !req.distinct && cid.is_distinct() {
        return Err(StoreError::Invalid(
            "channel ids starting with `!` are reserved for distinct channels".into(),
        ));
    }
    if let Some(existing) = rows::load_channel(&w.tx, &w.app, &cid)? {
        return create_replay(w, creator, &existing, &cid, req.distinct, &initial, window);
    }
    super::channel_delete::refuse_deleted(&w.tx, &w.app, &cid)?;
    let member_ids = initial_order(creator, &req.members);
    let unknown = apps::unknown_users(&w.tx, &w.app, &member_ids)?;
    if !unknown.is_empty() {
        return Err(StoreError::Invalid(format!(
            "unknown users: {}",
            unknown.join(", ")
        )));
    }
    let now = now_ms();
    let config = serde_json::to_string(&req.config.unwrap_or_default())?;
    let seq = w.next_seq()?;
    w.tx.prepare_cached(
        "INSERT INTO channels (app_id, cid, type, id, name, image, config, created_by, \
         created_at, updated_at, sort_at, member_count, rev, is_distinct, initial_members) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        w.app,
        cid.to_string(),
        cid.kind().as_str(),
        cid.id(),
        req.name,
        req.image,
        config,
        creator,
        now,
        member_ids.len() as i64,
        seq as i64,
        req.distinct,
        serde_json::to_string(&initial)?,
    ])?;
    let channel = rows::require_channel(&w.tx, &w.app, &cid)?;
    w.emit(Change::Channel(channel), member_ids.clone());
    for (i, user) in member_ids.iter().enumerate() {
        let role = if i == 0 {
            MemberRole::Owner
        } else {
            MemberRole::Member
        };
        let member = put_member(w, &cid, user, role, now)?;
        w.emit(Change::Member(member), member_ids.clone());
    }
    Ok((state(&w.tx, &w.app, Some(creator), &cid, window)?, true))
}

/// A create of a cid that exists: see [`create`] for who gets its state.
fn create_replay(
    w: &mut Tx<'_>,
    creator: &str,
    existing: &Channel,
    cid: &Cid,
    distinct: bool,
    initial: &[String],
    window: u32,
) -> StoreResult<(ChannelState, bool)> {
    if distinct != existing.distinct {
        return Err(StoreError::Conflict(format!(
            "channel {cid} already exists and is {}a distinct channel",
            if existing.distinct { "" } else { "not " }
        )));
    }
    let is_member = member_role(&w.tx, &w.app, cid, creator)?.is_some();
    if distinct {
        // The cid is derived from the member set, so the creator is in it. Bring back a
        // creator who left; nobody else is re-added.
        if !is_member {
            let member = put_member(w, cid, creator, MemberRole::Member, now_ms())?;
            let to = rows::member_ids(&w.tx, &w.app, cid)?;
            w.emit(Change::Member(member), to.clone());
            bump_member_count(w, cid, 1, to)?;
        }
        return Ok((state(&w.tx, &w.app, Some(creator), cid, window)?, false));
    }
    let recorded: Option<String> =
        w.tx.prepare_cached("SELECT initial_members FROM channels WHERE app_id = ?1 AND cid = ?2")?
            .query_row(params![w.app, cid.to_string()], |r| r.get(0))?;
    let same_members = match recorded {
        Some(json) => serde_json::from_str::<Vec<String>>(&json)? == initial,
        // Created before initial member sets were recorded: the creator alone decides.
        None => true,
    };
    if existing.created_by == creator && same_members && is_member {
        return Ok((state(&w.tx, &w.app, Some(creator), cid, window)?, false));
    }
    Err(StoreError::Conflict(format!(
        "channel {cid} already exists; creating it again answers its state only to its \
         creator with the same initial members (open it by cid, or use a distinct channel \
         for a conversation defined by its members)"
    )))
}

/// Inserts or revives a membership with a fresh seq; messages until now are not its
/// unread (`joined_pk`).
fn put_member(
    w: &mut Tx<'_>,
    cid: &Cid,
    user: &str,
    role: MemberRole,
    now: i64,
) -> StoreResult<Member> {
    let seq = w.next_seq()? as i64;
    let sql = format!(
        "INSERT INTO members (app_id, cid, user_id, role, created_at, updated_at, deleted, \
         joined_rev, rev, joined_pk) VALUES (?1, ?2, ?3, ?4, ?5, ?5, 0, ?6, ?6, \
           (SELECT COALESCE(MAX(pk), 0) FROM messages)) \
         ON CONFLICT (app_id, cid, user_id) DO UPDATE SET role = excluded.role, \
         created_at = excluded.created_at, updated_at = excluded.updated_at, deleted = 0, \
         joined_rev = excluded.joined_rev, rev = excluded.rev, joined_pk = excluded.joined_pk, \
         hidden = 0, muted = 0, archived = 0, state_rev = 0 \
         RETURNING {MEMBER_COLS}"
    );
    Ok(w.tx.prepare_cached(&sql)?.query_row(
        params![w.app, cid.to_string(), user, role.as_str(), now, seq],
        rows::member,
    )?)
}

/// Updates name, image and/or config (owner/admin).
pub fn update(
    w: &mut Tx<'_>,
    actor: &Actor,
    cid: &Cid,
    req: UpdateChannelRequest,
) -> StoreResult<Channel> {
    let current = rows::require_channel(&w.tx, &w.app, cid)?;
    if !actor_role(&w.tx, &w.app, actor, cid)?.can_admin() {
        return Err(StoreError::Forbidden(
            "only owners and admins can update a channel".into(),
        ));
    }
    let name = req.name.or(current.name);
    let image = req.image.or(current.image);
    let config = serde_json::to_string(&req.config.unwrap_or(current.config))?;
    let seq = w.next_seq()?;
    w.tx.prepare_cached(
        "UPDATE channels SET name = ?3, image = ?4, config = ?5, updated_at = ?6, rev = ?7 \
         WHERE app_id = ?1 AND cid = ?2",
    )?
    .execute(params![
        w.app,
        cid.to_string(),
        name,
        image,
        config,
        now_ms(),
        seq as i64
    ])?;
    let channel = rows::require_channel(&w.tx, &w.app, cid)?;
    w.emit_to_members(Change::Channel(channel.clone()), cid)?;
    Ok(channel)
}

/// Bumps `member_count` by `delta` with a fresh seq and emits the channel to `to`.
fn bump_member_count(w: &mut Tx<'_>, cid: &Cid, delta: i64, to: Vec<String>) -> StoreResult<()> {
    let seq = w.next_seq()?;
    w.tx.prepare_cached(
        "UPDATE channels SET member_count = member_count + ?3, rev = ?4 \
         WHERE app_id = ?1 AND cid = ?2",
    )?
    .execute(params![w.app, cid.to_string(), delta, seq as i64])?;
    let channel = rows::require_channel(&w.tx, &w.app, cid)?;
    w.emit(Change::Channel(channel), to);
    Ok(())
}

/// Adds members or changes roles (moderator+; elevated roles need admin+).
pub fn add_members(
    w: &mut Tx<'_>,
    actor: &Actor,
    cid: &Cid,
    inputs: Vec<MemberInput>,
) -> StoreResult<Vec<Member>> {
    let channel = rows::require_channel(&w.tx, &w.app, cid)?;
    let role = actor_role(&w.tx, &w.app, actor, cid)?;
    if !role.can_moderate() {
        return Err(StoreError::Forbidden(
            "only moderators and above can add members".into(),
        ));
    }
    if channel.distinct && !actor.server {
        for input in &inputs {
            if member_role(&w.tx, &w.app, cid, &input.user_id)?.is_none() {
                return Err(StoreError::Forbidden(format!(
                    "the members of distinct channel {cid} are fixed: nobody can be added \
                     (create a new conversation with the new member set instead)"
                )));
            }
        }
    }
    check_assigned_roles(role, &inputs)?;
    let ids: Vec<String> = inputs.iter().map(|m| m.user_id.clone()).collect();
    let unknown = apps::unknown_users(&w.tx, &w.app, &ids)?;
    if !unknown.is_empty() {
        return Err(StoreError::Invalid(format!(
            "unknown users: {}",
            unknown.join(", ")
        )));
    }
    let now = now_ms();
    let mut changed = Vec::new();
    let mut added = 0;
    for input in inputs {
        let existing = member_role(&w.tx, &w.app, cid, &input.user_id)?;
        match (existing, input.role) {
            (Some(current), Some(wanted)) if current != wanted => {
                if current == MemberRole::Owner {
                    return Err(StoreError::Forbidden(
                        "the owner's role cannot change".into(),
                    ));
                }
                // Changing a role needs admin rights and a rank above the member's current
                // one: an admin cannot demote another admin, a moderator nobody.
                if !actor.server && (!role.can_admin() || role >= current) {
                    return Err(StoreError::Forbidden(format!(
                        "not allowed to change the role of {}",
                        input.user_id
                    )));
                }
                let seq = w.next_seq()? as i64;
                let sql = format!(
                    "UPDATE members SET role = ?4, updated_at = ?5, rev = ?6 \
                     WHERE app_id = ?1 AND cid = ?2 AND user_id = ?3 RETURNING {MEMBER_COLS}"
                );
                let m = w.tx.prepare_cached(&sql)?.query_row(
                    params![
                        w.app,
                        cid.to_string(),
                        input.user_id,
                        wanted.as_str(),
                        now,
                        seq
                    ],
                    rows::member,
                )?;
                changed.push(m);
            }
            (Some(_), _) => {}
            (None, wanted) => {
                let m = put_member(
                    w,
                    cid,
                    &input.user_id,
                    wanted.unwrap_or(MemberRole::Member),
                    now,
                )?;
                changed.push(m);
                added += 1;
            }
        }
    }
    let to = rows::member_ids(&w.tx, &w.app, cid)?;
    for m in changed {
        w.emit(Change::Member(m), to.clone());
    }
    if added > 0 {
        bump_member_count(w, cid, added, to)?;
    }
    members(&w.tx, &w.app, cid)
}

/// Drops a leaving member's per-message flags (mentions, stars) in one channel (`?1` app,
/// `?2` user, `?3` cid): one range of the primary key over the user's own rows, which
/// exist only for what mentioned or was starred by the user.
pub(crate) const FORGET_USER_MESSAGES: &str = "DELETE FROM user_messages \
     WHERE app_id = ?1 AND user_id = ?2 AND cid = ?3";

/// Removes a member: moderators+ may remove less privileged members; anyone may leave.
pub fn remove_member(
    w: &mut Tx<'_>,
    actor: &Actor,
    cid: &Cid,
    user: &str,
) -> StoreResult<(Vec<Member>, Member)> {
    let channel = rows::require_channel(&w.tx, &w.app, cid)?;
    let is_self = actor.user_id.as_deref() == Some(user) && !actor.server;
    // The caller's own membership is checked before the target is looked up, so
    // outsiders cannot probe who is a member.
    let role = if is_self {
        MemberRole::Member
    } else {
        actor_role(&w.tx, &w.app, actor, cid)?
    };
    let target = member_role(&w.tx, &w.app, cid, user)?
        .ok_or_else(|| StoreError::NotFound(format!("member {user} of {cid}")))?;
    if !is_self && channel.distinct && !actor.server {
        return Err(StoreError::Forbidden(format!(
            "nobody can remove others from distinct channel {cid}; members may only leave"
        )));
    }
    if !is_self && (!role.can_moderate() || (!actor.server && role >= target)) {
        return Err(StoreError::Forbidden(format!(
            "not allowed to remove {user}"
        )));
    }
    let seq = w.next_seq()? as i64;
    let sql = format!(
        "UPDATE members SET deleted = 1, updated_at = ?4, rev = ?5 \
         WHERE app_id = ?1 AND cid = ?2 AND user_id = ?3 RETURNING {MEMBER_COLS}"
    );
    let tombstone = w.tx.prepare_cached(&sql)?.query_row(
        params![w.app, cid.to_string(), user, now_ms(), seq],
        rows::member,
    )?;
    w.tx.prepare_cached(FORGET_USER_MESSAGES)?
        .execute(params![w.app, user, cid.to_string()])?;
    let remaining = rows::member_ids(&w.tx, &w.app, cid)?;
    let mut to = remaining.clone();
    to.push(user.to_owned());
    // The removed user learns of its removal, and nothing of the channel after it.
    w.emit(Change::Member(tombstone.clone()), to);
    bump_member_count(w, cid, -1, remaining)?;
    Ok((members(&w.tx, &w.app, cid)?, tombstone))
}

/// Users sharing a channel with `?2`: the user's memberships (`members_by_user`), then
/// each channel's current members (`members_current`); order and indexes pinned.
pub(crate) const CO_MEMBER_IDS: &str = "SELECT DISTINCT o.user_id \
     FROM members AS m INDEXED BY members_by_user \
     CROSS JOIN members AS o INDEXED BY members_current \
     WHERE m.app_id = ?1 AND m.user_id = ?2 AND m.deleted = 0 \
       AND o.app_id = ?1 AND o.cid = m.cid AND o.deleted = 0 AND o.user_id != ?2";

/// Users sharing at least one channel with `user`.
pub fn co_member_ids(conn: &Connection, app: &str, user: &str) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare_cached(CO_MEMBER_IDS)?;
    let ids = stmt
        .query_map(params![app, user], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids)
}

/// The base of a user's channel query (`?1` app, `?2` user): the user's memberships
/// (`members_by_user`), one channel probe each; filters and order are appended.
pub(crate) const USER_CHANNELS: &str = "SELECT c.cid, c.sort_at \
     FROM members AS mm INDEXED BY members_by_user \
     CROSS JOIN channels AS c INDEXED BY sqlite_autoindex_channels_1 \
     WHERE mm.app_id = ?1 AND mm.user_id = ?2 AND mm.deleted = 0 \
       AND c.app_id = ?1 AND c.cid = mm.cid";

/// Channel query: keyset paging on (sort_at DESC, cid DESC). The cursor is `sort_at.cid`.
pub fn query(
    conn: &Connection,
    app: &str,
    actor: &Actor,
    req: &QueryChannelsRequest,
) -> StoreResult<(Vec<ChannelState>, Option<String>)> {
    let limit = req.limit.unwrap_or(DEFAULT_CHANNEL_PAGE);
    let message_limit = req.message_limit.unwrap_or(25).min(MAX_MESSAGE_PAGE);
    let (mut sql, mut args): (String, Vec<Box<dyn ToSql>>) = if actor.server {
        (
            "SELECT c.cid, c.sort_at FROM channels c WHERE c.app_id = ? AND c.deleted_at IS NULL"
                .into(),
            vec![Box::new(app.to_owned())],
        )
    } else {
        // A user's query walks the user's own memberships (then sorts them), never the
        // app's channels in sort order looking for the user's.
        (
            USER_CHANNELS.into(),
            vec![Box::new(app.to_owned()), Box::new(require_user(actor)?)],
        )
    };
    let ChannelFilter {
        kind,
        members: with_members,
        cids,
    } = &req.filter;
    if let Some(kind) = kind {
        sql.push_str(" AND c.type = ?");
        args.push(Box::new(kind.as_str()));
    }
    if let Some(cids) = cids {
        let list: Vec<String> = cids.iter().map(ToString::to_string).collect();
        sql.push_str(" AND c.cid IN (SELECT value FROM json_each(?))");
        args.push(Box::new(serde_json::to_string(&list)?));
    }
    if let Some(users) = with_members {
        let mut users = users.clone();
        users.sort();
        users.dedup();
        sql.push_str(
            " AND (SELECT COUNT(*) FROM members m WHERE m.app_id = c.app_id AND m.cid = c.cid \
             AND m.deleted = 0 AND m.user_id IN (SELECT value FROM json_each(?))) = ?",
        );
        args.push(Box::new(serde_json::to_string(&users)?));
        args.push(Box::new(users.len() as i64));
    }
    if let Some(cursor) = &req.cursor {
        let (sort_at, cid) = parse_cursor(cursor)?;
        sql.push_str(" AND (c.sort_at < ? OR (c.sort_at = ? AND c.cid < ?))");
        args.push(Box::new(sort_at));
        args.push(Box::new(sort_at));
        args.push(Box::new(cid));
    }
    sql.push_str(" ORDER BY c.sort_at DESC, c.cid DESC LIMIT ?");
    args.push(Box::new(i64::from(limit) + 1));
    let mut rows_found: Vec<(String, i64)> = conn
        .prepare(&sql)?
        .query_map(params_from_iter(args.iter().map(|a| a.as_ref())), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    let next = if rows_found.len() > limit as usize {
        rows_found.truncate(limit as usize);
        rows_found
            .last()
            .map(|(cid, sort_at)| format!("{sort_at}.{cid}"))
    } else {
        None
    };
    let mut out = Vec::with_capacity(rows_found.len());
    for (cid, _) in rows_found {
        let cid: Cid = cid
            .parse()
            .map_err(|e| StoreError::Backend(format!("corrupt cid: {e}")))?;
        out.push(state(
            conn,
            app,
            actor.user_id.as_deref(),
            &cid,
            message_limit,
        )?);
    }
    Ok((out, next))
}

fn parse_cursor(cursor: &str) -> StoreResult<(i64, String)> {
    let bad = || StoreError::Invalid("invalid channel cursor".into());
    let (sort_at, cid) = cursor.split_once('.').ok_or_else(bad)?;
    let sort_at = sort_at.parse::<i64>().map_err(|_| bad())?;
    cid.parse::<Cid>().map_err(|_| bad())?;
    Ok((sort_at, cid.to_owned()))
}
