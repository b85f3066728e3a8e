//! Cost of reads: the rules every per-user query of the SQLite backend follows, and the
//! registry that lets tests hold the planner to them.
//!
//! Rules (docs/protocol.md, "Security model", "Cost of reads"):
//!
//! - A query that serves a user is bounded by an index range keyed by that user's own data
//!   (the user's memberships, a channel the user is in, a message the user can read),
//!   never by the size of the app: no `SCAN` of a table, no index used with `app_id` alone.
//! - Plans do not depend on statistics. The server never runs `ANALYZE`; each hot query
//!   names its index (`INDEXED BY`) and join order (`CROSS JOIN`, materialized CTEs) where
//!   the planner has a cheaper-looking wrong choice, so fresh, stale or hostile
//!   `sqlite_stat1` rows cannot flip a plan back to a scan.
//! - An incremental `/v1/sync` walks the user's memberships once (one probe of the channel
//!   row each, `channels.last_rev`) and reads the tables of only the channels with
//!   something after the cursor: O(user's channels + user's changes × log N).
//!
//! [`hot_queries`] lists each query with the plan lines it must show; [`violations`]
//! checks them on a connection. The security suite (`tests/integration/security/read_cost.rs`) runs it
//! without statistics and with skewed ones, and uses [`sync_on`] to count the VM steps of
//! a real sync. Both are test and benchmark hooks: the server itself never calls them.

use chat_protocol::{Cid, SyncResponse};
use rusqlite::{Connection, StatementStatus};

use super::messages::{self, Scope};
use super::{
    access, channel_delete, channels, flags, member_state, reactions, reads, rows, schema, search,
    sync,
};
use crate::store::{StoreResult, SyncPosition, SyncSettings};

/// A per-user (or per-write) query and the plan it must have.
#[derive(Debug, Clone)]
pub struct HotQuery {
    /// What the query serves.
    pub name: &'static str,
    /// The exact SQL the store prepares.
    pub sql: String,
    /// Lines that must appear in `EXPLAIN QUERY PLAN`; `*` matches any text (an index
    /// name, `COVERING `).
    pub expect: Vec<&'static str>,
}

fn q(name: &'static str, sql: impl Into<String>, expect: &[&'static str]) -> HotQuery {
    HotQuery {
        name,
        sql: sql.into(),
        expect: expect.to_vec(),
    }
}

/// Every hot query of the backend with its required plan lines.
pub fn hot_queries() -> Vec<HotQuery> {
    let cid: Cid = "messaging:plan".parse().expect("static cid");
    let channel = Scope::Channel(&cid);
    let thread = Scope::Thread(0);
    vec![
        q(
            "sync: head",
            sync::HEAD,
            &["SEARCH apps USING INDEX * (id=?)"],
        ),
        q(
            "sync: the user's channels and their last change",
            sync::MEMBERSHIPS,
            &[
                "SEARCH m USING *INDEX members_by_user (app_id=? AND user_id=?)",
                "SEARCH c USING *INDEX * (app_id=? AND cid=?)",
            ],
        ),
        q(
            "sync: bootstrap page of channels",
            sync::BOOTSTRAP_CIDS,
            &["SEARCH members USING *INDEX members_by_user (app_id=? AND user_id=? AND cid>?)"],
        ),
        q(
            "sync: busy channel probe",
            sync::BUSY,
            &["SEARCH messages USING *INDEX messages_rev (app_id=? AND cid=? AND rev>? AND rev<?)"],
        ),
        q(
            "sync: stream",
            sync::STREAM,
            &[
                "SEARCH c USING *INDEX * (app_id=? AND cid=?)",
                "SEARCH m USING *INDEX members_rev (app_id=? AND cid=? AND rev>?)",
                "SEARCH members USING *INDEX members_user_rev (app_id=? AND user_id=? AND rev>?)",
                "SEARCH g USING *INDEX messages_rev (app_id=? AND cid=? AND rev>?)",
                "SEARCH r USING *INDEX reactions_rev (app_id=? AND cid=? AND rev>?)",
                "SEARCH d USING *INDEX reads_rev (app_id=? AND cid=? AND rev>?)",
                "SEARCH f USING *INDEX user_messages_flags_rev (app_id=? AND user_id=? AND cid=? AND flags_rev>?)",
                "SEARCH s USING INDEX members_current (app_id=? AND cid=? AND user_id=?)",
            ],
        ),
        q(
            "member state: the caller's own settings",
            member_state::OWN_STATE,
            &["SEARCH members USING *INDEX * (app_id=? AND cid=? AND user_id=?)"],
        ),
        q(
            "send: members who hid the channel",
            member_state::HIDDEN_MEMBERS,
            &["SEARCH members USING COVERING INDEX members_hidden (app_id=? AND cid=?)"],
        ),
        q(
            "create: is the cid a deleted channel's",
            channel_delete::DELETED,
            &["SEARCH channels USING INDEX sqlite_autoindex_channels_1 (app_id=? AND cid=?)"],
        ),
        q(
            "unread: the user's muted channels",
            member_state::MUTED_CIDS,
            &["SEARCH members USING INDEX members_by_user (app_id=? AND user_id=?)"],
        ),
        q(
            "recipients of every write (member_ids)",
            rows::MEMBER_IDS,
            &["SEARCH members USING *INDEX members_current (app_id=? AND cid=?)"],
        ),
        q(
            "membership check",
            access::MEMBER_ROLE,
            &["SEARCH members USING *INDEX * (app_id=? AND *=? AND *=?)"],
        ),
        q(
            "outsider refusal: was the user ever a member",
            access::EVER_MEMBER,
            &["SEARCH members USING *INDEX * (app_id=? AND *=? AND *=?)"],
        ),
        q(
            "leave/remove: drop the member's flags in that channel",
            channels::FORGET_USER_MESSAGES,
            &["SEARCH user_messages USING PRIMARY KEY (app_id=? AND user_id=?)"],
        ),
        q(
            "send: a user_messages row per mentioned member",
            messages::INSERT_RECIPIENTS,
            &["SEARCH members USING *INDEX * (app_id=? AND cid=? AND user_id=?)"],
        ),
        q(
            "edit: mentions added",
            messages::ADD_MENTIONS,
            &[
                "SEARCH mb USING *INDEX * (app_id=? AND cid=? AND user_id=?)",
                "SEARCH r USING INDEX sqlite_autoindex_reads_1 (app_id=? AND cid=? AND user_id=?) LEFT-JOIN",
            ],
        ),
        q(
            "edit: mentions removed",
            messages::CLEAR_MENTIONS,
            &[
                "SEARCH user_messages USING *INDEX user_messages_by_message (app_id=? AND message_pk=?)",
            ],
        ),
        q(
            "connect/disconnect: co-members",
            channels::CO_MEMBER_IDS,
            &[
                "SEARCH m USING *INDEX members_by_user (app_id=? AND user_id=?)",
                "SEARCH o USING *INDEX members_current (app_id=? AND cid=?)",
            ],
        ),
        q(
            "channel state: members",
            channels::members_sql(),
            &["SEARCH members USING *INDEX members_current (app_id=? AND cid=?)"],
        ),
        q(
            "channel state: reads",
            channels::reads_sql(),
            &["SEARCH reads USING *INDEX * (app_id=? AND cid=?)"],
        ),
        q(
            "query channels (user)",
            format!(
                "{} ORDER BY c.sort_at DESC, c.cid DESC LIMIT ?",
                channels::USER_CHANNELS
            ),
            &[
                "SEARCH mm USING *INDEX members_by_user (app_id=? AND user_id=?)",
                "SEARCH c USING *INDEX * (app_id=? AND cid=?)",
            ],
        ),
        q(
            "messages: newest page",
            messages::fetch_sql(channel, "", true),
            &["SEARCH messages USING *INDEX messages_channel (app_id=? AND cid=?)"],
        ),
        q(
            "messages: older page",
            messages::fetch_sql(channel, "AND pk < ?3", true),
            &["SEARCH messages USING *INDEX messages_channel (app_id=? AND cid=? AND pk<?)"],
        ),
        q(
            "messages: newer page",
            messages::fetch_sql(channel, "AND pk > ?3", false),
            &["SEARCH messages USING *INDEX messages_channel (app_id=? AND cid=? AND pk>?)"],
        ),
        q(
            "replies: newest page",
            messages::fetch_sql(thread, "", true),
            &["SEARCH messages USING *INDEX messages_thread (app_id=? AND parent_pk=?)"],
        ),
        q(
            "replies: older page",
            messages::fetch_sql(thread, "AND pk < ?3", true),
            &["SEARCH messages USING *INDEX messages_thread (app_id=? AND parent_pk=? AND pk<?)"],
        ),
        q(
            "messages: own reactions on a page",
            reactions::OWN_REACTIONS,
            &[
                "SEARCH reactions USING *INDEX reactions_by_user (app_id=? AND user_id=? AND message_pk=?)",
                "SEARCH messages USING *INDEX * (app_id=? AND id=?)",
            ],
        ),
        q(
            "delete: live reactions of a message",
            messages::LIVE_REACTIONS,
            &["SEARCH reactions USING *INDEX * (app_id=? AND message_pk=?)"],
        ),
        q(
            "reactions: counts of a message",
            reactions::REACTION_COUNTS,
            &["SEARCH reactions USING *INDEX * (app_id=? AND message_pk=?)"],
        ),
        q(
            "mark read: newest message",
            reads::NEWEST_MESSAGE,
            &[
                "SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)",
                "SEARCH messages USING *INDEX messages_channel (app_id=? AND cid=?)",
                "SEARCH messages USING *INDEX messages_replies (app_id=? AND cid=?)",
            ],
        ),
        q(
            "mark read: flags",
            reads::MARK_READ_FLAGS,
            &[
                "SEARCH user_messages USING *INDEX user_messages_unread_mentions (app_id=? AND user_id=? AND cid=? AND message_pk<?)",
            ],
        ),
        q(
            "unread in a channel",
            schema::UNREAD_IN_CHANNEL,
            &[
                "SEARCH mb USING *INDEX * (app_id=? AND cid=? AND user_id=?)",
                "SEARCH r USING INDEX sqlite_autoindex_reads_1 (app_id=? AND cid=? AND user_id=?) LEFT-JOIN",
                "CORRELATED SCALAR SUBQUERY *",
                "SEARCH m USING COVERING INDEX messages_unread (app_id=? AND cid=? AND pk>?)",
            ],
        ),
        q(
            "unread mentions in a channel",
            schema::UNREAD_MENTIONS_IN_CHANNEL,
            &[
                "SEARCH user_messages USING *INDEX user_messages_unread_mentions (app_id=? AND user_id=? AND cid=?)",
            ],
        ),
        q(
            "unread per channel",
            schema::UNREAD_BY_CHANNEL,
            &[
                "SEARCH mb USING INDEX members_by_user (app_id=? AND user_id=?)",
                "SEARCH r USING INDEX sqlite_autoindex_reads_1 (app_id=? AND cid=? AND user_id=?) LEFT-JOIN",
                "CORRELATED SCALAR SUBQUERY *",
                "SEARCH m USING COVERING INDEX messages_unread (app_id=? AND cid=? AND pk>?)",
            ],
        ),
        q(
            "unread mentions per channel",
            schema::UNREAD_MENTIONS_BY_CHANNEL,
            &[
                "SEARCH user_messages USING *INDEX user_messages_unread_mentions (app_id=? AND user_id=?)",
            ],
        ),
        q(
            "starred messages",
            flags::starred_sql(),
            &[
                "SEARCH u USING *INDEX user_messages_starred (app_id=? AND user_id=? AND message_pk<?)",
                "SEARCH m USING INTEGER PRIMARY KEY (rowid=?)",
            ],
        ),
        q(
            "search: the user's channels",
            search::USER_CIDS,
            &["SEARCH members USING COVERING INDEX members_by_user (app_id=? AND user_id=?)"],
        ),
        // The FTS5 match holds the user's channels' scope tokens: its doclists are the
        // words' and those channels', never the app's.
        q(
            "search: matches",
            search::search_sql(),
            &[
                "SCAN messages_fts VIRTUAL TABLE INDEX *:M*",
                "SEARCH m USING INTEGER PRIMARY KEY (rowid=?)",
            ],
        ),
    ]
}

/// The `EXPLAIN QUERY PLAN` detail lines of `sql` on `conn`.
pub fn explain(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let n = stmt.parameter_count();
    let nulls = vec![rusqlite::types::Null; n];
    stmt.query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))?
        .collect()
}

/// Whether `line` matches `pattern`, where `*` matches any text.
fn glob(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = parts.split_first().expect("split yields one part");
    let Some(mut tail) = line.strip_prefix(first) else {
        return false;
    };
    for (i, part) in rest.iter().enumerate() {
        if i + 1 == rest.len() {
            return tail.ends_with(part);
        }
        match tail.find(part) {
            Some(at) => tail = &tail[at + part.len()..],
            None => return false,
        }
    }
    tail.is_empty()
}

/// Plan lines that reveal a walk of a whole table (the CTE of bound channels and JSON
/// arguments are scanned by design: they hold only the caller's own values).
fn scans_a_table(line: &str) -> bool {
    if line.contains("AUTOMATIC") {
        return true;
    }
    let Some(target) = line.strip_prefix("SCAN ") else {
        return false;
    };
    // An FTS5 query with a MATCH (`:M` in its index string) reads the match's doclists,
    // not the table.
    let fts_match =
        target.starts_with("messages_fts VIRTUAL TABLE INDEX ") && target.contains(":M");
    !(target == "b"
        || target.starts_with("json_each")
        || target.starts_with("(subquery")
        || fts_match)
}

/// Every broken rule among the hot queries on `conn`: missing plan lines and scans.
pub fn violations(conn: &Connection) -> Vec<String> {
    let mut out = Vec::new();
    for hot in hot_queries() {
        let plan = match explain(conn, &hot.sql) {
            Ok(plan) => plan,
            Err(e) => {
                out.push(format!("{}: cannot plan: {e}", hot.name));
                continue;
            }
        };
        for want in &hot.expect {
            if !plan.iter().any(|line| glob(want, line)) {
                out.push(format!("{}: no `{want}` in {plan:#?}", hot.name));
            }
        }
        for line in plan.iter().filter(|l| scans_a_table(l)) {
            out.push(format!("{}: `{line}` in {plan:#?}", hot.name));
        }
    }
    out
}

/// Runs the store's real sync for `user` on `conn` (default [`SyncSettings`]) and returns
/// the page with the number of SQLite VM steps its queries took: a deterministic measure
/// of a sync's cost, independent of the machine's speed.
pub fn sync_on(
    conn: &mut Connection,
    app: &str,
    user: &str,
    from: Option<SyncPosition>,
    limit: u32,
) -> StoreResult<(SyncResponse, u64)> {
    let measured = [
        sync::HEAD,
        sync::MEMBERSHIPS,
        sync::BOOTSTRAP_CIDS,
        sync::BUSY,
        sync::STREAM,
    ];
    for sql in measured {
        conn.prepare_cached(sql)?
            .reset_status(StatementStatus::VmStep);
    }
    let page = {
        let tx = conn.transaction()?;
        let page = sync::sync(&tx, app, user, from, limit, SyncSettings::default())?;
        tx.finish()?;
        page
    };
    let mut steps = 0;
    for sql in measured {
        steps += conn
            .prepare_cached(sql)?
            .get_status(StatementStatus::VmStep) as u64;
    }
    Ok((page, steps))
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn glob_matches_wildcards() {
        assert!(glob(
            "SEARCH m USING *INDEX a (x=?)",
            "SEARCH m USING COVERING INDEX a (x=?)"
        ));
        assert!(glob(
            "SEARCH m USING *INDEX a (x=?)",
            "SEARCH m USING INDEX a (x=?)"
        ));
        assert!(!glob(
            "SEARCH m USING *INDEX a (x=?)",
            "SEARCH m USING INDEX a (x=? AND y=?)"
        ));
        assert!(glob(
            "SEARCH c USING *INDEX * (a=? AND b=?)",
            "SEARCH c USING INDEX sqlite_autoindex_channels_1 (a=? AND b=?)"
        ));
    }
}
