//! Fixed sample values of the wire types for `wire_shapes.rs`: realistic, with fixed
//! timestamps and UUIDv7 literals (never `now()`), so snapshots are stable.

use std::collections::BTreeMap;

use chat_protocol::realtime::{
    EphemeralEvent, Publication, Push, RealtimeEvent, Reply, TypingEvent, user_channel,
};
use chat_protocol::*;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

/// First message (top-level, thread root).
pub const M1: &str = "0190b6e0-8a4e-7c3a-9f1e-2b3c4d5e6f70";
/// Second message (quotes M1).
pub const M2: &str = "0190b6e0-9b5f-7d4b-8a2f-3c4d5e6f7081";
/// A thread reply to M1.
pub const M3: &str = "0190b6e1-0c60-7e5c-b13a-4d5e6f708192";

pub fn uuid(s: &str) -> Uuid {
    let id = Uuid::parse_str(s).unwrap();
    assert_eq!(id.get_version_num(), 7, "samples use UUIDv7 ids");
    id
}

pub fn ts(s: &str) -> Timestamp {
    DateTime::parse_from_rfc3339(s)
        .unwrap()
        .with_timezone(&Utc)
        .into()
}

pub fn cid(s: &str) -> Cid {
    s.parse().unwrap()
}

/// A JSON object from a `json!` object literal (keys written in sorted order, so the
/// snapshot is the same with or without serde_json's `preserve_order`).
pub fn obj(v: Value) -> CustomData {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

pub fn user() -> User {
    User {
        id: "alice".into(),
        name: Some("Alice Liddell".into()),
        image: Some("https://cdn.example.com/u/alice.png".into()),
        custom: obj(json!({"department": "design", "vip": true})),
        created_at: ts("2024-07-15T09:00:00.000Z"),
        updated_at: ts("2024-07-15T09:05:12.345Z"),
    }
}

pub fn config() -> ChannelConfig {
    ChannelConfig {
        reactions: true,
        replies: true,
        typing_events: false,
        custom: obj(json!({"color": "#3366ff"})),
    }
}

pub fn channel() -> Channel {
    Channel {
        cid: cid("team:general"),
        kind: ChannelType::Team,
        id: "general".into(),
        name: Some("General".into()),
        image: None,
        config: config(),
        created_by: "alice".into(),
        created_at: ts("2024-07-15T09:10:00.000Z"),
        updated_at: ts("2024-07-15T09:10:00.000Z"),
        last_message_at: Some(ts("2024-07-15T09:30:00.123Z")),
        member_count: 2,
        distinct: false,
        rev: 41,
    }
}

pub fn member(user_id: &str, role: MemberRole, deleted: bool, rev: u64) -> Member {
    Member {
        cid: cid("team:general"),
        user_id: user_id.into(),
        role,
        created_at: ts("2024-07-15T09:10:00.000Z"),
        updated_at: ts("2024-07-15T09:40:00.000Z"),
        deleted,
        rev,
    }
}

pub fn message() -> Message {
    Message {
        id: uuid(M1),
        cid: cid("team:general"),
        user_id: "alice".into(),
        text: "Hello @bob, the mockups are ready".into(),
        attachments: vec![json!({
            "mime_type": "image/png",
            "type": "image",
            "url": "https://cdn.example.com/a/mockup.png"
        })],
        parent_id: None,
        quoted_message_id: None,
        mentioned_users: vec!["bob".into()],
        reaction_counts: BTreeMap::from([("heart".into(), 1), ("like".into(), 2)]),
        reply_count: 1,
        created_at: ts("2024-07-15T09:30:00.123Z"),
        updated_at: ts("2024-07-15T09:31:10.500Z"),
        edited_at: Some(ts("2024-07-15T09:31:00.000Z")),
        deleted_at: None,
        rev: 57,
    }
}

pub fn reply() -> Message {
    Message {
        id: uuid(M3),
        user_id: "bob".into(),
        text: "Looks great!".into(),
        attachments: vec![],
        parent_id: Some(uuid(M1)),
        quoted_message_id: Some(uuid(M2)),
        mentioned_users: vec![],
        reaction_counts: BTreeMap::new(),
        reply_count: 0,
        created_at: ts("2024-07-15T09:32:00.000Z"),
        updated_at: ts("2024-07-15T09:32:00.000Z"),
        edited_at: None,
        rev: 58,
        ..message()
    }
}

pub fn message_tombstone() -> Message {
    Message {
        id: uuid(M2),
        user_id: "bob".into(),
        text: String::new(),
        attachments: vec![],
        mentioned_users: vec![],
        reaction_counts: BTreeMap::new(),
        reply_count: 0,
        created_at: ts("2024-07-15T09:30:05.000Z"),
        updated_at: ts("2024-07-15T09:45:00.000Z"),
        edited_at: None,
        deleted_at: Some(ts("2024-07-15T09:45:00.000Z")),
        rev: 63,
        ..message()
    }
}

pub fn reaction(deleted: bool) -> Reaction {
    Reaction {
        message_id: uuid(M1),
        cid: cid("team:general"),
        user_id: "bob".into(),
        kind: "like".into(),
        created_at: ts("2024-07-15T09:31:10.500Z"),
        deleted,
        rev: if deleted { 64 } else { 56 },
    }
}

pub fn read_state() -> ReadState {
    ReadState {
        cid: cid("team:general"),
        user_id: "bob".into(),
        last_read_message_id: Some(uuid(M1)),
        last_read_at: ts("2024-07-15T09:33:00.000Z"),
        rev: 59,
    }
}

pub fn flags(starred: bool) -> MessageFlags {
    MessageFlags {
        message_id: uuid(M1),
        cid: cid("team:general"),
        user_id: "bob".into(),
        starred,
        rev: if starred { 66 } else { 67 },
    }
}

pub fn member_state(muted: bool) -> MemberState {
    MemberState {
        cid: cid("team:general"),
        user_id: "bob".into(),
        hidden: false,
        muted,
        archived: false,
        rev: if muted { 68 } else { 0 },
    }
}

pub fn unread() -> ChannelUnread {
    ChannelUnread {
        cid: cid("team:general"),
        unread_count: 3,
        unread_mentions: 1,
        counted_through: Some(ts("2024-07-15T09:10:00.000Z")),
    }
}

pub fn channel_state() -> ChannelState {
    ChannelState {
        channel: channel(),
        members: vec![
            member("alice", MemberRole::Owner, false, 39),
            member("bob", MemberRole::Member, false, 40),
        ],
        reads: vec![read_state()],
        messages: vec![message()],
        has_more: true,
        own_reactions: vec![reaction(false)],
        starred: vec![uuid(M1)],
        unread: unread(),
        own_state: Some(member_state(true)),
    }
}

pub fn change(seq: u64, change: Change) -> SyncChange {
    SyncChange { seq, change }
}

pub fn typing_event() -> RealtimeEvent {
    RealtimeEvent::Ephemeral(EphemeralEvent::Typing(TypingEvent {
        cid: cid("team:general"),
        user_id: "bob".into(),
        typing: true,
        parent_id: Some(uuid(M1)),
    }))
}

/// A push of `data`; `offset` is its position among the connection's durable changes
/// (0: none, for ephemeral events).
pub fn push(data: RealtimeEvent, offset: u64) -> Reply {
    Reply {
        push: Some(Push {
            channel: user_channel("alice"),
            publication: Publication { data, offset },
        }),
        ..Reply::default()
    }
}
