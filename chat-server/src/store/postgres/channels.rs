//! Channels and memberships: create (distinct get-or-create, idempotent create replays),
//! state, update, query, add/remove members. Distinct channels keep their member set:
//! users can leave them but never add or remove others. The same rules as the SQLite
//! backend's `channels`; PostgreSQL's planner picks the same indexes the SQLite plans pin
//! (`members_current`, `members_by_user`, the channels' primary key).
//!
//! Rules:
//!
//! - **Create** of a new cid checks the member set exists (`Invalid` naming the unknown
//!   users), writes the channel and one membership per member (the creator is the owner),
//!   and publishes the channel, then each membership, to the new members. A create of an
//!   existing cid answers only as [`create`] says; nothing is written except a distinct
//!   channel's returning creator.
//! - **Memberships** are never deleted: removal leaves a tombstone (`deleted`), and a
//!   re-add revives the row with a fresh `joined_rev` and `joined_pk`, so messages from
//!   before the membership never count as unread.
//! - **Every membership change bumps `member_count`** with a seq of its own and publishes
//!   the channel row to the current members; a removed member learns of its own removal
//!   and nothing after it.
//! - **Query** pages on `(sort_at DESC, cid DESC)`; a user's query walks the user's own
//!   memberships, never the app's channels.
//! - Cids and user ids are ordered and compared bytewise (`COLLATE "C"`), like SQLite's
//!   `BINARY`, whatever the database's collation.

use chat_protocol::{
    Change, Channel, ChannelFilter, ChannelState, ChannelUnread, Cid, ListMessagesQuery, Member,
    MemberInput, MemberRole, QueryChannelsRequest, UpdateChannelRequest, ids,
    limits::{DEFAULT_CHANNEL_PAGE, MAX_MESSAGE_PAGE},
};
use tokio_postgres::types::ToSql;

use super::access::{actor_role, member_role, require_user};
use super::conn::{Conn, Tx};
use super::rows::{self, MEMBER_COLS, READ_COLS, now_ms};
use super::{apps, messages, reads};
use crate::store::rules::{check_assigned_roles, initial_order};
use crate::store::{Actor, NewChannel, StoreError, StoreResult};

/// Current members (`$1` app, `$2` cid), oldest membership first: one range of
/// `members_current`.
pub(crate) fn members_sql() -> String {
    format!(
        "SELECT {MEMBER_COLS} FROM members \
         WHERE app_id = $1 AND cid = $2 AND NOT deleted ORDER BY created_at, user_id COLLATE \"C\""
    )
}

/// The read states of a channel (`$1` app, `$2` cid), by user.
pub(crate) fn reads_sql() -> String {
    format!(
        "SELECT {READ_COLS} FROM reads WHERE app_id = $1 AND cid = $2 ORDER BY user_id COLLATE \"C\""
    )
}

/// Current members, oldest membership first.
pub async fn members(conn: &Conn, app: &str, cid: &Cid) -> StoreResult<Vec<Member>> {
    conn.all(&members_sql(), &[&app, &cid.to_string()])
        .await?
        .iter()
        .map(rows::member)
        .collect()
}

/// The full state of a channel as seen by `user` (None = server caller).
pub async fn state(
    c: &Conn,
    app: &str,
    user: Option<&str>,
    cid: &Cid,
    limit: u32,
) -> StoreResult<ChannelState> {
    let channel = rows::require_channel(c, app, cid).await?;
    let reads = c
        .all(&reads_sql(), &[&app, &cid.to_string()])
        .await?
        .iter()
        .map(rows::read_state)
        .collect::<StoreResult<Vec<_>>>()?;
    let page = messages::list(
        c,
        app,
        user,
        messages::Scope::Channel(cid),
        &ListMessagesQuery {
            limit: Some(limit.max(1)),
            ..Default::default()
        },
    )
    .await?;
    let (messages, own_reactions, starred, has_more) = if limit == 0 {
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
        Some(u) => reads::channel_unread(c, app, u, cid).await?,
        None => ChannelUnread {
            cid: cid.clone(),
            unread_count: 0,
            unread_mentions: 0,
            counted_through: None,
        },
    };
    Ok(ChannelState {
        channel,
        members: members(c, app, cid).await?,
        reads,
        messages,
        has_more,
        own_reactions,
        starred,
        unread,
        own_state: match user {
            Some(u) => super::member_state::load(c, app, cid, u).await?,
            None => None,
        },
    })
}

/// Creates the channel (`true` in the tuple), or answers for an existing one:
/// - distinct: its state, for anyone in its defining member set (the cid is derived from the
///   set, so the creator always is); a creator who had left is brought back, nobody else;
/// - explicit id: its state only to its creator, still a member, replaying the same initial
///   member set; anything else is a conflict (nobody takes over or joins a channel by id).
pub async fn create(
    w: &mut Tx,
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
    if let Some(existing) = rows::load_channel(w, &w.app, &cid).await? {
        return create_replay(w, creator, &existing, &cid, req.distinct, &initial, window).await;
    }
    super::channel_delete::refuse_deleted(w, &w.app, &cid).await?;
    let member_ids = initial_order(creator, &req.members);
    let unknown = apps::unknown_users(w, &w.app, &member_ids).await?;
    if !unknown.is_empty() {
        return Err(StoreError::Invalid(format!(
            "unknown users: {}",
            unknown.join(", ")
        )));
    }
    let now = now_ms();
    let config = serde_json::to_string(&req.config.unwrap_or_default())?;
    let seq = w.next_seq() as i64;
    let count = member_ids.len() as i32;
    let (key, kind, id) = (cid.to_string(), cid.kind().as_str(), cid.id());
    let init = serde_json::to_string(&initial)?;
    let (name, image, distinct) = (&req.name, &req.image, req.distinct);
    w.exec(
        "INSERT INTO channels (app_id, cid, type, id, name, image, config, created_by, \
         created_at, updated_at, sort_at, member_count, rev, is_distinct, initial_members) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9, $10, $11, $12, $13)",
        &[
            &w.app, &key, &kind, &id, name, image, &config, &creator, &now, &count, &seq,
            &distinct, &init,
        ],
    )
    .await?;
    let channel = rows::require_channel(w, &w.app, &cid).await?;
    w.emit(Change::Channel(channel), member_ids.clone());
    for (i, user) in member_ids.iter().enumerate() {
        let role = if i == 0 {
            MemberRole::Owner
        } else {
            MemberRole::Member
        };
        let member = put_member(w, &cid, user, role, now).await?;
        w.emit(Change::Member(member), member_ids.clone());
    }
    Ok((state(w, &w.app, Some(creator), &cid, window).await?, true))
}

/// A create of a cid that exists: see [`create`] for who gets its state.
async fn create_replay(
    w: &mut Tx,
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
    let is_member = member_role(w, &w.app, cid, creator).await?.is_some();
    if distinct {
        // The cid is derived from the member set, so the creator is in it. Bring back a
        // creator who left; nobody else is re-added.
        if !is_member {
            let member = put_member(w, cid, creator, MemberRole::Member, now_ms()).await?;
            let to = rows::member_ids(w, &w.app, cid).await?;
            w.emit(Change::Member(member), to.clone());
            bump_member_count(w, cid, 1, to).await?;
        }
        return Ok((state(w, &w.app, Some(creator), cid, window).await?, false));
    }
    let row = w
        .one(
            "SELECT initial_members FROM channels WHERE app_id = $1 AND cid = $2",
            &[&w.app, &cid.to_string()],
        )
        .await?;
    let recorded: Option<String> = rows::get(&row, 0)?;
    let same_members = match recorded {
        Some(json) => serde_json::from_str::<Vec<String>>(&json)? == initial,
        // Created before initial member sets were recorded: the creator alone decides.
        None => true,
    };
    if existing.created_by == creator && same_members && is_member {
        return Ok((state(w, &w.app, Some(creator), cid, window).await?, false));
    }
    Err(StoreError::Conflict(format!(
        "channel {cid} already exists; creating it again answers its state only to its \
         creator with the same initial members (open it by cid, or use a distinct channel \
         for a conversation defined by its members)"
    )))
}

/// Inserts or revives a membership with a fresh seq; messages until now are not its
/// unread (`joined_pk`: the newest pk of any app, one probe at the end of the primary key;
/// this app's messages are all committed, its writes being serialized, and later ones
/// take larger pks).
async fn put_member(
    w: &mut Tx,
    cid: &Cid,
    user: &str,
    role: MemberRole,
    now: i64,
) -> StoreResult<Member> {
    let seq = w.next_seq() as i64;
    let sql = format!(
        "INSERT INTO members (app_id, cid, user_id, role, created_at, updated_at, deleted, \
         joined_rev, rev, joined_pk) VALUES ($1, $2, $3, $4, $5, $5, FALSE, $6, $6, \
           (SELECT COALESCE(MAX(pk), 0) FROM messages)) \
         ON CONFLICT (app_id, cid, user_id) DO UPDATE SET role = excluded.role, \
         created_at = excluded.created_at, updated_at = excluded.updated_at, deleted = FALSE, \
         joined_rev = excluded.joined_rev, rev = excluded.rev, joined_pk = excluded.joined_pk, \
         hidden = FALSE, muted = FALSE, archived = FALSE, state_rev = 0 \
         RETURNING {MEMBER_COLS}"
    );
    let row = w
        .one(
            &sql,
            &[&w.app, &cid.to_string(), &user, &role.as_str(), &now, &seq],
        )
        .await?;
    rows::member(&row)
}

/// Updates name, image and/or config (owner/admin).
pub async fn update(
    w: &mut Tx,
    actor: &Actor,
    cid: &Cid,
    req: UpdateChannelRequest,
) -> StoreResult<Channel> {
    let current = rows::require_channel(w, &w.app, cid).await?;
    if !actor_role(w, &w.app, actor, cid).await?.can_admin() {
        return Err(StoreError::Forbidden(
            "only owners and admins can update a channel".into(),
        ));
    }
    let name = req.name.or(current.name);
    let image = req.image.or(current.image);
    let config = serde_json::to_string(&req.config.unwrap_or(current.config))?;
    let (seq, key) = (w.next_seq() as i64, cid.to_string());
    w.exec(
        "UPDATE channels SET name = $3, image = $4, config = $5, updated_at = $6, rev = $7 \
         WHERE app_id = $1 AND cid = $2",
        &[&w.app, &key, &name, &image, &config, &now_ms(), &seq],
    )
    .await?;
    let channel = rows::require_channel(w, &w.app, cid).await?;
    w.emit_to_members(Change::Channel(channel.clone()), cid)
        .await?;
    Ok(channel)
}

/// Bumps `member_count` by `delta` with a fresh seq and emits the channel to `to`.
async fn bump_member_count(w: &mut Tx, cid: &Cid, delta: i32, to: Vec<String>) -> StoreResult<()> {
    let seq = w.next_seq() as i64;
    w.exec(
        "UPDATE channels SET member_count = member_count + $3, rev = $4 \
         WHERE app_id = $1 AND cid = $2",
        &[&w.app, &cid.to_string(), &delta, &seq],
    )
    .await?;
    let channel = rows::require_channel(w, &w.app, cid).await?;
    w.emit(Change::Channel(channel), to);
    Ok(())
}

/// Adds members or changes roles (moderator+; elevated roles need admin+).
pub async fn add_members(
    w: &mut Tx,
    actor: &Actor,
    cid: &Cid,
    inputs: Vec<MemberInput>,
) -> StoreResult<Vec<Member>> {
    let channel = rows::require_channel(w, &w.app, cid).await?;
    let role = actor_role(w, &w.app, actor, cid).await?;
    if !role.can_moderate() {
        return Err(StoreError::Forbidden(
            "only moderators and above can add members".into(),
        ));
    }
    if channel.distinct && !actor.server {
        for input in &inputs {
            if member_role(w, &w.app, cid, &input.user_id).await?.is_none() {
                return Err(StoreError::Forbidden(format!(
                    "the members of distinct channel {cid} are fixed: nobody can be added \
                     (create a new conversation with the new member set instead)"
                )));
            }
        }
    }
    check_assigned_roles(role, &inputs)?;
    let ids: Vec<String> = inputs.iter().map(|m| m.user_id.clone()).collect();
    let unknown = apps::unknown_users(w, &w.app, &ids).await?;
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
        let existing = member_role(w, &w.app, cid, &input.user_id).await?;
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
                let (seq, key, user) = (w.next_seq() as i64, cid.to_string(), &input.user_id);
                let sql = format!(
                    "UPDATE members SET role = $4, updated_at = $5, rev = $6 \
                     WHERE app_id = $1 AND cid = $2 AND user_id = $3 RETURNING {MEMBER_COLS}"
                );
                let row = w
                    .one(&sql, &[&w.app, &key, user, &wanted.as_str(), &now, &seq])
                    .await?;
                changed.push(rows::member(&row)?);
            }
            (Some(_), _) => {}
            (None, wanted) => {
                let m = put_member(
                    w,
                    cid,
                    &input.user_id,
                    wanted.unwrap_or(MemberRole::Member),
                    now,
                )
                .await?;
                changed.push(m);
                added += 1;
            }
        }
    }
    let to = rows::member_ids(w, &w.app, cid).await?;
    for m in changed {
        w.emit(Change::Member(m), to.clone());
    }
    if added > 0 {
        bump_member_count(w, cid, added, to).await?;
    }
    members(w, &w.app, cid).await
}

/// Drops a leaving member's per-message flags (mentions, stars) in one channel (`$1` app,
/// `$2` user, `$3` cid): one range of the primary key over the user's own rows, which
/// exist only for what mentioned or was starred by the user.
pub(crate) const FORGET_USER_MESSAGES: &str = "DELETE FROM user_messages \
     WHERE app_id = $1 AND user_id = $2 AND cid = $3";

/// Removes a member: moderators+ may remove less privileged members; anyone may leave.
pub async fn remove_member(
    w: &mut Tx,
    actor: &Actor,
    cid: &Cid,
    user: &str,
) -> StoreResult<(Vec<Member>, Member)> {
    let channel = rows::require_channel(w, &w.app, cid).await?;
    let is_self = actor.user_id.as_deref() == Some(user) && !actor.server;
    // The caller's own membership is checked before the target is looked up, so
    // outsiders cannot probe who is a member.
    let role = if is_self {
        MemberRole::Member
    } else {
        actor_role(w, &w.app, actor, cid).await?
    };
    let target = member_role(w, &w.app, cid, user)
        .await?
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
    let seq = w.next_seq() as i64;
    let sql = format!(
        "UPDATE members SET deleted = TRUE, updated_at = $4, rev = $5 \
         WHERE app_id = $1 AND cid = $2 AND user_id = $3 RETURNING {MEMBER_COLS}"
    );
    let row = w
        .one(&sql, &[&w.app, &cid.to_string(), &user, &now_ms(), &seq])
        .await?;
    let tombstone = rows::member(&row)?;
    w.exec(FORGET_USER_MESSAGES, &[&w.app, &user, &cid.to_string()])
        .await?;
    let remaining = rows::member_ids(w, &w.app, cid).await?;
    let mut to = remaining.clone();
    to.push(user.to_owned());
    // The removed user learns of its removal, and nothing of the channel after it.
    w.emit(Change::Member(tombstone.clone()), to);
    bump_member_count(w, cid, -1, remaining).await?;
    Ok((members(w, &w.app, cid).await?, tombstone))
}

/// Users sharing a channel with `$2`: the user's memberships (`members_by_user`), then
/// each channel's current members (`members_current`), each user once. Sorted bytewise,
/// so the answer does not depend on the plan PostgreSQL picks (SQLite's order is its scan
/// order; callers treat the answer as a set).
pub(crate) const CO_MEMBER_IDS: &str = "SELECT o.user_id COLLATE \"C\" \
     FROM members AS m \
     JOIN members AS o ON o.app_id = m.app_id AND o.cid = m.cid \
     WHERE m.app_id = $1 AND m.user_id = $2 AND NOT m.deleted \
       AND NOT o.deleted AND o.user_id <> $2 \
     GROUP BY 1 ORDER BY 1";

/// Users sharing at least one channel with `user`.
pub async fn co_member_ids(c: &Conn, app: &str, user: &str) -> StoreResult<Vec<String>> {
    c.all(CO_MEMBER_IDS, &[&app, &user])
        .await?
        .iter()
        .map(|r| rows::get(r, 0))
        .collect()
}

/// The base of a user's channel query (`$1` app, `$2` user): the user's memberships
/// (`members_by_user`), one channel probe each; filters, cursor and order are appended.
/// The probe is a `LATERAL` subquery kept whole by `OFFSET 0`: the appended conditions
/// stay outside it, so it is a primary-key lookup, and the planner cannot instead walk
/// the app's channels in `channels_sort` order looking for the user's.
pub(crate) const USER_CHANNELS: &str = "SELECT c.cid, c.sort_at \
     FROM members AS mm \
     CROSS JOIN LATERAL (SELECT ch.app_id, ch.cid, ch.type, ch.sort_at FROM channels AS ch \
       WHERE ch.app_id = mm.app_id AND ch.cid = mm.cid OFFSET 0) AS c \
     WHERE mm.app_id = $1 AND mm.user_id = $2 AND NOT mm.deleted";

/// A query's bound values, numbered `$1…` in the order they are pushed.
#[derive(Default)]
struct Args {
    values: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Args {
    /// Binds `value`; its placeholder (`$n`).
    fn push(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.values.push(Box::new(value));
        format!("${}", self.values.len())
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.values
            .iter()
            .map(|v| v.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// Channel query: keyset paging on (sort_at DESC, cid DESC). The cursor is `sort_at.cid`.
pub async fn query(
    c: &Conn,
    app: &str,
    actor: &Actor,
    req: &QueryChannelsRequest,
) -> StoreResult<(Vec<ChannelState>, Option<String>)> {
    let limit = req.limit.unwrap_or(DEFAULT_CHANNEL_PAGE);
    let message_limit = req.message_limit.unwrap_or(25).min(MAX_MESSAGE_PAGE);
    let mut args = Args::default();
    let app_arg = args.push(app.to_owned());
    let mut sql = if actor.server {
        format!(
            "SELECT c.cid, c.sort_at FROM channels c \
             WHERE c.app_id = {app_arg} AND c.deleted_at IS NULL"
        )
    } else {
        // A user's query walks the user's own memberships (then sorts them), never the
        // app's channels in sort order looking for the user's.
        args.push(require_user(actor)?);
        USER_CHANNELS.to_owned()
    };
    let ChannelFilter {
        kind,
        members: with_members,
        cids,
    } = &req.filter;
    if let Some(kind) = kind {
        let p = args.push(kind.as_str().to_owned());
        sql.push_str(&format!(" AND c.type = {p}"));
    }
    if let Some(cids) = cids {
        let list: Vec<String> = cids.iter().map(ToString::to_string).collect();
        let p = args.push(list);
        sql.push_str(&format!(" AND c.cid = ANY({p}::TEXT[])"));
    }
    if let Some(users) = with_members {
        let mut users = users.clone();
        users.sort();
        users.dedup();
        let n = users.len() as i64;
        let list = args.push(users);
        let count = args.push(n);
        sql.push_str(&format!(
            " AND (SELECT COUNT(*) FROM members m WHERE m.app_id = c.app_id AND m.cid = c.cid \
             AND NOT m.deleted AND m.user_id = ANY({list}::TEXT[])) = {count}::BIGINT"
        ));
    }
    if let Some(cursor) = &req.cursor {
        let (sort_at, cid) = parse_cursor(cursor)?;
        let at = args.push(sort_at);
        let id = args.push(cid);
        // The redundant `sort_at <=` bounds the index range; the rest filters its start.
        sql.push_str(&format!(
            " AND c.sort_at <= {at}::BIGINT AND (c.sort_at < {at}::BIGINT \
             OR c.cid COLLATE \"C\" < {id}::TEXT)"
        ));
    }
    let lim = args.push(i64::from(limit) + 1);
    sql.push_str(&format!(
        " ORDER BY c.sort_at DESC, c.cid COLLATE \"C\" DESC LIMIT {lim}::BIGINT"
    ));
    let found = c.all(&sql, &args.refs()).await?;
    let mut rows_found = found
        .iter()
        .map(|r| Ok((rows::get::<String>(r, 0)?, rows::get::<i64>(r, 1)?)))
        .collect::<StoreResult<Vec<_>>>()?;
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
        out.push(state(c, app, actor.user_id.as_deref(), &cid, message_limit).await?);
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
