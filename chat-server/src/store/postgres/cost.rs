//! Cost of reads on PostgreSQL: the rules every per-user query of this backend follows, and
//! the registry that lets tests hold the planner to them.
//!
//! Rules (docs/protocol.md, "Security model", "Cost of reads"), as they apply here:
//!
//! - A query that serves a user is bounded by an index range keyed by that user's own data
//!   (the user's memberships, a channel the user is in, a message the user can read), never
//!   by the size of the app or of the tenant: no `Seq Scan` of a table, and every index is
//!   used with its key bound past `app_id` (the first key column after `app_id` is bound
//!   by an equality), never with `app_id` alone.
//! - PostgreSQL has no index hints: its plans come from statistics. So the pins must hold
//!   both on a fresh database before any `ANALYZE` (where every table looks tiny and every
//!   index equally cheap) and after `ANALYZE` of a realistic, skewed dataset (one huge app
//!   among small ones, a channel with everyone, a user with few channels). Where the
//!   planner has a cheaper-looking wrong choice, the query is written so that the right
//!   index is the only one its conditions can use.
//! - The plans checked are **generic** plans (`plan_cache_mode = force_generic_plan`): the
//!   store runs every statement through a connection's prepared-statement cache, and after
//!   a few executions PostgreSQL reuses a generic plan, one planned without the values.
//!
//! [`hot_queries`] lists each query with the index every table must be reached through;
//! [`violations`] checks them on a connection, reading `EXPLAIN (FORMAT JSON)` trees. The
//! test `tests/integration/postgres_read_cost.rs` runs it on a fresh database and after
//! `ANALYZE` of a skewed one. It is a test hook: the server itself never calls it.

use std::collections::HashMap;

use chat_protocol::Cid;
use serde_json::Value;
use tokio_postgres::{Client, SimpleQueryMessage};

use super::messages::{self, Scope};
use super::{access, channels, flags, reactions, reads, rows, schema, sync};

/// How one table (by its alias in the query) must be reached.
#[derive(Debug, Clone)]
pub struct Reach {
    /// The table's alias in the query (its name when it has none).
    pub alias: &'static str,
    /// The indexes it may be reached through (usually one; two when both are ranges of
    /// the same key, e.g. the primary key and a partial index on it).
    pub indexes: &'static [&'static str],
}

/// A per-user (or per-write) query and the plan it must have.
#[derive(Debug, Clone)]
pub struct HotQuery {
    /// What the query serves.
    pub name: &'static str,
    /// The exact SQL the store prepares.
    pub sql: String,
    /// Every table the query reads, each with the index it must be reached through. A
    /// table scanned through any other index, or not at all through these, is a violation.
    pub expect: Vec<Reach>,
}

fn q(
    name: &'static str,
    sql: impl Into<String>,
    expect: &[(&'static str, &'static [&'static str])],
) -> HotQuery {
    HotQuery {
        name,
        sql: sql.into(),
        expect: expect
            .iter()
            .map(|&(alias, indexes)| Reach { alias, indexes })
            .collect(),
    }
}

/// A member row by channel and user: any `members` index whose key starts with either.
const MEMBER_KEY: &[&str] = &[
    "members_pkey",
    "members_current",
    "members_rev",
    "members_user_rev",
];
/// The members of one channel.
const CHANNEL_MEMBERS: &[&str] = &["members_current", "members_pkey", "members_rev"];

/// A message by id, in a list: the `(app_id, id)` key, or the list's own range.
const PIVOT: &[&str] = &[
    "messages_app_id_id_key",
    "messages_channel",
    "messages_thread",
    "messages_rev",
];

/// Every hot query of the backend with the index each of its tables is reached through.
pub fn hot_queries() -> Vec<HotQuery> {
    let cid: Cid = "messaging:plan".parse().expect("static cid");
    let channel = Scope::Channel(&cid);
    let thread = Scope::Thread(0);
    let user_channels = |extra: &str, limit: &str| {
        format!(
            "{}{extra} ORDER BY c.sort_at DESC, c.cid COLLATE \"C\" DESC LIMIT {limit}::BIGINT",
            channels::USER_CHANNELS
        )
    };
    vec![
        q("sync: head", sync::HEAD, &[("apps", &["apps_pkey"])]),
        q(
            "sync: the user's channels and their last change",
            sync::MEMBERSHIPS,
            &[("m", &["members_by_user"]), ("c", &["channels_pkey"])],
        ),
        q(
            "sync: bootstrap page of channels",
            sync::BOOTSTRAP_CIDS,
            &[("members", &["members_by_user"])],
        ),
        q(
            "sync: busy channel probe",
            sync::BUSY,
            &[("g", &["messages_rev"])],
        ),
        q(
            "sync: stream",
            sync::STREAM,
            &[
                ("c", &["channels_pkey"]),
                ("m", &["members_rev"]),
                ("members", &["members_user_rev"]),
                ("g", &["messages_rev"]),
                ("r", &["reactions_rev"]),
                ("d", &["reads_rev"]),
                ("f", &["user_messages_flags_rev"]),
            ],
        ),
        q(
            "sync: channel rows of a page",
            sync::load_channels_sql(),
            &[("channels", &["channels_pkey"])],
        ),
        q(
            "sync: member rows of a page",
            sync::load_members_sql(),
            &[("members", MEMBER_KEY)],
        ),
        q(
            "sync: message rows of a page",
            sync::load_messages_sql(),
            &[("messages", &["messages_pkey"])],
        ),
        q(
            "sync: reaction rows of a page",
            sync::load_reactions_sql(),
            &[("reactions", &["reactions_pkey"])],
        ),
        q(
            "sync: read rows of a page",
            sync::load_reads_sql(),
            &[("reads", &["reads_pkey"])],
        ),
        q(
            "sync: a flags row",
            flags::FLAGS_OF,
            &[
                ("u", &["user_messages_pkey", "user_messages_by_message"]),
                ("m", &["messages_pkey"]),
            ],
        ),
        q(
            "recipients of every write (member_ids)",
            rows::MEMBER_IDS,
            &[("members", &["members_current"])],
        ),
        q(
            "a channel row",
            rows::channel_sql(),
            &[("channels", &["channels_pkey"])],
        ),
        q(
            "a message by id",
            rows::message_sql(),
            &[("messages", &["messages_app_id_id_key"])],
        ),
        q(
            "membership check",
            access::MEMBER_ROLE,
            &[("members", MEMBER_KEY)],
        ),
        q(
            "outsider refusal: was the user ever a member",
            access::EVER_MEMBER,
            &[("members", MEMBER_KEY)],
        ),
        q(
            "leave/remove: drop the member's flags in that channel",
            channels::FORGET_USER_MESSAGES,
            &[("user_messages", &["user_messages_pkey"])],
        ),
        q(
            "send: a user_messages row per mentioned member",
            messages::INSERT_RECIPIENTS,
            &[("members", MEMBER_KEY)],
        ),
        q(
            "edit: mentions added",
            messages::ADD_MENTIONS,
            &[("mb", MEMBER_KEY), ("r", &["reads_pkey"])],
        ),
        q(
            "edit: mentions removed",
            messages::CLEAR_MENTIONS,
            &[("user_messages", &["user_messages_by_message"])],
        ),
        q(
            "delete: mentions of the message read",
            messages::DELETED_MENTIONS_READ,
            &[("user_messages", &["user_messages_by_message"])],
        ),
        q(
            "connect/disconnect: co-members",
            channels::CO_MEMBER_IDS,
            &[("m", &["members_by_user"]), ("o", CHANNEL_MEMBERS)],
        ),
        q(
            "channel state: members",
            channels::members_sql(),
            &[("members", CHANNEL_MEMBERS)],
        ),
        q(
            "channel state: reads",
            channels::reads_sql(),
            &[("reads", &["reads_pkey", "reads_rev"])],
        ),
        q(
            "query channels (user)",
            user_channels("", "$3"),
            &[("mm", &["members_by_user"]), ("ch", &["channels_pkey"])],
        ),
        q(
            "query channels (user), next page",
            user_channels(
                " AND c.sort_at <= $3::BIGINT AND (c.sort_at < $3::BIGINT \
                 OR c.cid COLLATE \"C\" < $4::TEXT)",
                "$5",
            ),
            &[("mm", &["members_by_user"]), ("ch", &["channels_pkey"])],
        ),
        q(
            "messages: newest page",
            messages::fetch_sql(channel, "", false, true),
            &[("messages", &["messages_channel"])],
        ),
        q(
            "messages: older page",
            messages::fetch_sql(channel, "AND pk < $3", true, true),
            &[("messages", &["messages_channel"])],
        ),
        q(
            "messages: newer page",
            messages::fetch_sql(channel, "AND pk > $3", true, false),
            &[("messages", &["messages_channel"])],
        ),
        q(
            "messages: page pivot",
            messages::pivot_sql(channel),
            &[("messages", PIVOT)],
        ),
        q(
            "replies: newest page",
            messages::fetch_sql(thread, "", false, true),
            &[("messages", &["messages_thread"])],
        ),
        q(
            "replies: older page",
            messages::fetch_sql(thread, "AND pk < $3", true, true),
            &[("messages", &["messages_thread"])],
        ),
        q(
            "replies: page pivot",
            messages::pivot_sql(thread),
            &[("messages", PIVOT)],
        ),
        q(
            "messages: own reactions on a page",
            reactions::OWN_REACTIONS,
            &[
                ("reactions", &["reactions_by_user"]),
                ("messages", &["messages_app_id_id_key", "messages_pkey"]),
            ],
        ),
        q(
            "messages: own stars on a page",
            flags::STARRED_AMONG,
            &[
                ("m", &["messages_app_id_id_key", "messages_pkey"]),
                ("u", &["user_messages_pkey", "user_messages_starred"]),
            ],
        ),
        q(
            "delete: live reactions of a message",
            messages::LIVE_REACTIONS,
            &[("reactions", &["reactions_pkey"])],
        ),
        q(
            "reactions: counts of a message",
            reactions::REACTION_COUNTS,
            &[("reactions", &["reactions_pkey"])],
        ),
        q(
            "reactions: of a message",
            reactions::list_reactions_sql(),
            &[("reactions", &["reactions_pkey"])],
        ),
        q(
            "reactions: the user's one",
            reactions::find_reaction_sql(),
            &[("reactions", &["reactions_pkey"])],
        ),
        q(
            "mark read: newest message",
            reads::NEWEST_MESSAGE,
            &[
                ("messages", &["messages_pkey"]),
                ("messages_1", &["messages_channel"]),
                ("messages_2", &["messages_replies"]),
            ],
        ),
        q(
            "mark read: the message read up to",
            reads::MESSAGE_IN_CHANNEL,
            &[("messages", PIVOT)],
        ),
        q(
            "mark read: the read row",
            reads::read_sql(),
            &[("reads", &["reads_pkey", "reads_rev"])],
        ),
        q(
            "mark read: flags",
            reads::MARK_READ_FLAGS,
            &[("user_messages", &["user_messages_unread_mentions"])],
        ),
        q(
            "unread: counted through",
            reads::COUNTED_THROUGH,
            &[("channels", &["channels_pkey"])],
        ),
        q(
            "unread in a channel",
            schema::UNREAD_IN_CHANNEL,
            &[
                ("mb", MEMBER_KEY),
                ("r", &["reads_pkey"]),
                ("m", &["messages_unread"]),
            ],
        ),
        q(
            "unread mentions in a channel",
            schema::UNREAD_MENTIONS_IN_CHANNEL,
            &[("user_messages", &["user_messages_unread_mentions"])],
        ),
        q(
            "unread per channel",
            schema::UNREAD_BY_CHANNEL,
            &[
                ("mb", &["members_by_user"]),
                ("r", &["reads_pkey"]),
                ("m", &["messages_unread"]),
            ],
        ),
        q(
            "unread mentions per channel",
            schema::UNREAD_MENTIONS_BY_CHANNEL,
            &[("user_messages", &["user_messages_unread_mentions"])],
        ),
        q(
            "starred messages",
            flags::starred_sql(),
            &[("u", &["user_messages_starred"]), ("m", &["messages_pkey"])],
        ),
    ]
}

/// The generic plan of `sql` on `client`, as `EXPLAIN (FORMAT JSON)` returns it: the
/// statement is prepared with untyped parameters, as the store prepares it, then explained
/// with
/// `plan_cache_mode = force_generic_plan` (PostgreSQL 15 has no `EXPLAIN (GENERIC_PLAN)`).
pub async fn explain(client: &Client, sql: &str) -> Result<Value, String> {
    client
        .batch_execute(&format!("PREPARE onyx_cost AS {sql}"))
        .await
        .map_err(|e| e.to_string())?;
    let out = explain_prepared(client).await;
    let _ = client
        .batch_execute("DEALLOCATE onyx_cost; RESET plan_cache_mode")
        .await;
    out
}

async fn explain_prepared(client: &Client) -> Result<Value, String> {
    let params: i32 = client
        .query_one(
            "SELECT COALESCE(cardinality(parameter_types), 0) FROM pg_prepared_statements \
             WHERE name = 'onyx_cost'",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?
        .get(0);
    let nulls = vec!["NULL"; params as usize].join(", ");
    let args = if nulls.is_empty() {
        String::new()
    } else {
        format!("({nulls})")
    };
    let explain = format!(
        "SET plan_cache_mode = force_generic_plan; \
         EXPLAIN (FORMAT JSON) EXECUTE onyx_cost{args}"
    );
    let text = client
        .simple_query(&explain)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .ok_or("EXPLAIN returned no plan")?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// One read of a table in a plan: a scan node, or a bitmap heap scan with each of its
/// bitmap index scans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// The scan node's type (`Seq Scan`, `Index Scan`, `Bitmap Heap Scan`, …).
    pub node: String,
    /// The table.
    pub table: String,
    /// Its alias in the query.
    pub alias: String,
    /// The index, if any.
    pub index: Option<String>,
    /// The index condition, if any.
    pub cond: Option<String>,
}

fn text(node: &Value, key: &str) -> Option<String> {
    node.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn children(node: &Value) -> impl Iterator<Item = &Value> {
    node.get("Plans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The bitmap index scans under a bitmap heap scan (through `BitmapAnd`/`BitmapOr`).
fn bitmap_indexes<'a>(node: &'a Value, out: &mut Vec<&'a Value>) {
    for child in children(node) {
        if text(child, "Node Type").as_deref() == Some("Bitmap Index Scan") {
            out.push(child);
        } else {
            bitmap_indexes(child, out);
        }
    }
}

/// Every read of a table in the plan tree `node` (a `Plan` object).
pub fn accesses(node: &Value, out: &mut Vec<Access>) {
    let kind = text(node, "Node Type").unwrap_or_default();
    if let Some(table) = text(node, "Relation Name")
        && kind.ends_with("Scan")
    {
        let alias = text(node, "Alias").unwrap_or_else(|| table.clone());
        if kind == "Bitmap Heap Scan" {
            let mut scans = Vec::new();
            bitmap_indexes(node, &mut scans);
            for scan in scans {
                out.push(Access {
                    node: kind.clone(),
                    table: table.clone(),
                    alias: alias.clone(),
                    index: text(scan, "Index Name"),
                    cond: text(scan, "Index Cond"),
                });
            }
            return;
        }
        out.push(Access {
            node: kind.clone(),
            table,
            alias,
            index: text(node, "Index Name"),
            cond: text(node, "Index Cond"),
        });
    }
    for child in children(node) {
        accesses(child, out);
    }
}

/// The columns an index condition constrains with `=` (`= ANY` included).
fn equal_columns(cond: &str) -> Vec<String> {
    cond.split(" AND ")
        .filter_map(|part| {
            let part = part.trim_start_matches('(');
            let (column, rest) = part.split_once(' ')?;
            let column = column.trim_end_matches(')').rsplit('.').next()?;
            rest.starts_with("= ").then(|| column.to_owned())
        })
        .collect()
}

/// Key columns of every index of the current schema, by index name.
pub async fn index_keys(client: &Client) -> Result<HashMap<String, Vec<String>>, String> {
    let rows = client
        .query(
            "SELECT c.relname::TEXT, array_agg(a.attname::TEXT ORDER BY k.ord) \
             FROM pg_index AS i \
             JOIN pg_class AS c ON c.oid = i.indexrelid \
             CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
             WHERE c.relnamespace = current_schema()::regnamespace \
               AND k.ord <= i.indnkeyatts \
             GROUP BY c.relname",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The broken rules of one access: a walk of the table, or an index bounded by `app_id`
/// alone (its first key column after `app_id` not bound by an equality).
fn bounded(access: &Access, keys: &HashMap<String, Vec<String>>) -> Option<String> {
    let Some(index) = &access.index else {
        return Some(format!("`{}` of {}", access.node, access.table));
    };
    let key = keys
        .get(index)
        .and_then(|cols| cols.iter().find(|c| c.as_str() != "app_id"))?;
    let bound = access
        .cond
        .as_deref()
        .is_some_and(|c| equal_columns(c).contains(key));
    (!bound).then(|| {
        format!(
            "{} ({}) through {index} without `{key} =` in its condition {:?}",
            access.table, access.alias, access.cond
        )
    })
}

/// What is wrong with the plan `plan` (an `EXPLAIN (FORMAT JSON)` answer) of `hot`.
pub fn check(hot: &HotQuery, plan: &Value, keys: &HashMap<String, Vec<String>>) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(root) = plan.get(0).and_then(|p| p.get("Plan")) {
        accesses(root, &mut found);
    }
    let mut out = Vec::new();
    for access in &found {
        if let Some(broken) = bounded(access, keys) {
            out.push(broken);
        }
        let allowed = hot
            .expect
            .iter()
            .filter(|r| r.alias == access.alias)
            .flat_map(|r| r.indexes.iter());
        let index = access.index.as_deref().unwrap_or("no index");
        if !allowed.clone().any(|i| *i == index) {
            out.push(format!(
                "{} ({}) reached through {index}, expected one of {:?}",
                access.table,
                access.alias,
                allowed.collect::<Vec<_>>()
            ));
        }
    }
    for reach in &hot.expect {
        let seen = found.iter().any(|a| {
            a.alias == reach.alias
                && a.index
                    .as_deref()
                    .is_some_and(|i| reach.indexes.contains(&i))
        });
        if !seen {
            out.push(format!(
                "{} never reached through {:?}",
                reach.alias, reach.indexes
            ));
        }
    }
    out
}

/// The plan tree `node` as indented lines: node type, table (alias), index, condition.
pub fn render(node: &Value, depth: usize) -> String {
    let mut line = format!(
        "\n{}{}",
        "  ".repeat(depth),
        text(node, "Node Type").unwrap_or_default()
    );
    if let Some(table) = text(node, "Relation Name") {
        line += &format!(" on {table} ({})", text(node, "Alias").unwrap_or_default());
    }
    if let Some(index) = text(node, "Index Name") {
        line += &format!(" using {index}");
    }
    if let Some(cond) = text(node, "Index Cond") {
        line += &format!(" [{cond}]");
    }
    for child in children(node) {
        line += &render(child, depth + 1);
    }
    line
}

/// Every broken rule among the hot queries on `client` (whose `search_path` names the
/// store's schema): scans, indexes bounded by `app_id` alone, tables reached through an
/// index other than the pinned one. Each entry names the query and shows its plan.
pub async fn violations(client: &Client) -> Vec<String> {
    let keys = match index_keys(client).await {
        Ok(keys) => keys,
        Err(e) => return vec![format!("cannot list the indexes: {e}")],
    };
    let mut out = Vec::new();
    for hot in hot_queries() {
        let plan = match explain(client, &hot.sql).await {
            Ok(plan) => plan,
            Err(e) => {
                out.push(format!("{}: cannot plan: {e}", hot.name));
                continue;
            }
        };
        let broken = check(&hot, &plan, &keys);
        if !broken.is_empty() {
            out.push(format!(
                "{}:\n  {}\n  plan:{}",
                hot.name,
                broken.join("\n  "),
                render(&plan[0]["Plan"], 2)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::equal_columns;

    #[test]
    fn equal_columns_reads_index_conditions() {
        assert_eq!(
            equal_columns("((app_id = ($1)::text) AND (cid = m.cid) AND (rev > b.lo))"),
            ["app_id", "cid"]
        );
        assert_eq!(equal_columns("(pk = ANY ($2))"), ["pk"]);
        assert_eq!(
            equal_columns("((o.app_id = m.app_id) AND (o.user_id > $2))"),
            ["app_id"]
        );
    }
}
