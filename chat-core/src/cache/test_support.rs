//! Fixtures for the cache's unit tests: wire values built with few fields, and a dump of
//! every table to compare whole-database states. Also built with the `test-support`
//! feature, for the same store tests on other targets (chat-wasm's, on wasm32).
#![allow(missing_docs)]

use std::collections::BTreeMap;

use chat_protocol::{
    Change, Channel, ChannelConfig, ChannelState, ChannelType, ChannelUnread, Cid, Member,
    MemberRole, Message, Reaction, ReadState, SyncChange, SyncResponse, Timestamp,
};
use uuid::Uuid;

use super::Cache;

/// The plan of `sql` with its parameters unbound: the connection runs with the query
/// planner stability guarantee (`schema::configure`), so this is the plan every execution
/// uses, whatever values are bound.
pub fn plan(cache: &Cache, sql: &str) -> String {
    let mut stmt = cache
        .conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap();
    let mut rows = stmt.raw_query();
    let mut details = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        details.push(row.get::<_, String>(3).unwrap());
    }
    details.join(" | ")
}

pub fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_700_000_000_000 + ms).unwrap()
}

pub fn cid(s: &str) -> Cid {
    s.parse().unwrap()
}

pub fn channel(c: &str, rev: u64, last_message_at: Option<i64>) -> Channel {
    let cid = cid(c);
    Channel {
        kind: ChannelType::Team,
        id: cid.id().to_owned(),
        cid,
        name: Some(format!("{c} r{rev}")),
        image: None,
        config: ChannelConfig::default(),
        created_by: "alice".into(),
        created_at: ts(0),
        updated_at: ts(0),
        last_message_at: last_message_at.map(ts),
        member_count: 2,
        distinct: false,
        rev,
    }
}

pub fn member(c: &str, user: &str, rev: u64, deleted: bool) -> Member {
    Member {
        cid: cid(c),
        user_id: user.into(),
        role: MemberRole::Member,
        created_at: ts(0),
        updated_at: ts(0),
        deleted,
        rev,
    }
}

/// A message whose id is derived from `n` (stable across calls).
pub fn message(c: &str, n: u128, user: &str, created: i64, rev: u64) -> Message {
    Message {
        id: id(n),
        cid: cid(c),
        user_id: user.into(),
        text: format!("m{n} r{rev}"),
        attachments: vec![],
        parent_id: None,
        quoted_message_id: None,
        mentioned_users: vec![],
        reaction_counts: BTreeMap::new(),
        reply_count: 0,
        created_at: ts(created),
        updated_at: ts(created),
        edited_at: None,
        deleted_at: None,
        rev,
    }
}

pub fn id(n: u128) -> Uuid {
    // version 7, RFC 4122 variant
    Uuid::from_u128((0x0190_0000_0000_7000_8000_0000_0000_0000u128) | n)
}

pub fn reaction(m: &Message, user: &str, kind: &str, rev: u64, deleted: bool) -> Reaction {
    Reaction {
        message_id: m.id,
        cid: m.cid.clone(),
        user_id: user.into(),
        kind: kind.into(),
        created_at: ts(rev as i64),
        deleted,
        rev,
    }
}

pub fn read(c: &str, user: &str, marker: Option<&Message>, rev: u64) -> ReadState {
    ReadState {
        cid: cid(c),
        user_id: user.into(),
        last_read_message_id: marker.map(|m| m.id),
        last_read_at: marker.map_or(ts(0), |m| m.created_at),
        rev,
    }
}

pub fn state(
    ch: Channel,
    members: Vec<Member>,
    messages: Vec<Message>,
    has_more: bool,
) -> ChannelState {
    ChannelState {
        unread: ChannelUnread {
            cid: ch.cid.clone(),
            unread_count: 0,
            unread_mentions: 0,
            counted_through: None,
        },
        channel: ch,
        members,
        reads: vec![],
        messages,
        has_more,
        own_reactions: vec![],
        starred: vec![],
        own_state: None,
    }
}

pub fn page(limited: Vec<ChannelState>, changes: Vec<Change>, cursor: &str) -> SyncResponse {
    SyncResponse {
        changes: changes
            .into_iter()
            .map(|change| SyncChange {
                seq: change.rev(),
                change,
            })
            .collect(),
        limited,
        limited_seq: None,
        cursor: cursor.into(),
        has_more: false,
    }
}

/// A cache owned by bob.
pub fn bob_cache() -> Cache {
    let mut cache = Cache::open_in_memory().unwrap();
    cache.set_user("bob").unwrap();
    cache
}

/// Every row of every table, as text, in a stable order.
pub fn dump(cache: &Cache) -> Vec<String> {
    let mut out = Vec::new();
    for table in [
        "sync_state",
        "channels",
        "members",
        "reads",
        "messages",
        "reactions",
        "flags",
        "outbox",
    ] {
        let mut stmt = cache
            .conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2, 3"))
            .unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let cols: Vec<String> = (0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect();
                Ok(format!("{table}: {}", cols.join(" | ")))
            })
            .unwrap();
        out.extend(rows.map(Result::unwrap));
    }
    out
}
