//! The registry of hot queries: every per-user (or per-write) query of the PostgreSQL
//! store, with the exact SQL the store prepares and, for each table it reads, the index it
//! must be reached through. Rules:
//!
//! - A query that serves a user belongs here, built from the same constants and functions
//!   the store runs, so the checked SQL cannot drift from the executed SQL.
//! - Each table of a query (by its alias in the plan) names the indexes allowed to reach
//!   it: the index whose range is keyed by the user's own data. Two are listed only when
//!   both are ranges of the same key.

use chat_protocol::Cid;

use super::super::messages::{self, Scope};
use super::super::{
    access, channel_delete, channels, flags, member_state, reactions, reads, rows, schema, search,
    sync,
};

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
                ("s", MEMBER_KEY),
            ],
        ),
        q(
            "member state: the caller's own settings",
            member_state::OWN_STATE,
            &[("members", MEMBER_KEY)],
        ),
        q(
            "send: members who hid the channel",
            member_state::HIDDEN_MEMBERS,
            &[("members", &["members_hidden"])],
        ),
        q(
            "create: is the cid a deleted channel's",
            channel_delete::DELETED,
            &[("channels", &["channels_pkey"])],
        ),
        q(
            "unread: the user's muted channels",
            member_state::MUTED_CIDS,
            &[("members", &["members_by_user"])],
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
        q(
            "search: matches, channel by channel",
            search::search_sql(),
            &[
                ("mb", &["members_by_user", "members_pkey"]),
                ("x", &["messages_search", "messages_unread"]),
                ("m", &["messages_pkey"]),
            ],
        ),
    ]
}
