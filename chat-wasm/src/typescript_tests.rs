//! The hand-written TypeScript shapes of `typescript.rs`, checked against what chat-core
//! really serializes: for every output type, a sample of each variant is serialized and
//! its keys (and `type`/`state` tag) must be exactly the fields of the matching TS
//! interface or union member. A field added, renamed or removed in Rust, or a new enum
//! variant, fails here until the TS (and `packages-js/core/src/values.ts`) follow. The
//! `match`es in [`every_variant`] have no wildcard, so a new variant does not compile until
//! it has a sample.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chat_core::cache::test_support::{channel, message};
use chat_core::client::{EngineStatus, OutboxItem, SearchHit, SearchPage, ServerPart};
use chat_core::clock::Millis;
use chat_core::live::{
    ChannelItem, ListDiff, MemberItem, MessageItem, MessageState, QuotedPreview, ReadReceipt,
};
use chat_core::outbox::{Failure, ItemState, OpId, OutboxOp, PauseReason};
use chat_core::realtime::{ConnectionState, DisconnectReason, TypingUser};
use chat_protocol::{ChannelConfig, ErrorCode, TextRange, Timestamp};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;
use wasm_bindgen_test::wasm_bindgen_test;

use super::typescript::TYPES;

/// One TS declaration: an interface's fields, or a union's members (each with its fields
/// and its tag literal).
#[derive(Debug)]
enum Shape {
    Interface(BTreeSet<String>),
    Union(Vec<(Option<String>, BTreeSet<String>)>),
}

/// The field names of a `{ a: T; b?: U }` body (optional fields included).
fn fields(body: &str) -> (BTreeSet<String>, Option<String>) {
    let mut names = BTreeSet::new();
    let mut tag = None;
    let mut depth = 0usize;
    let mut current = String::new();
    for c in body.chars() {
        match c {
            '{' | '<' | '(' | '[' => depth += 1,
            '}' | '>' | ')' | ']' => depth = depth.saturating_sub(1),
            ';' | '\n' if depth == 0 => {
                field(&current, &mut names, &mut tag);
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    field(&current, &mut names, &mut tag);
    (names, tag)
}

fn field(text: &str, names: &mut BTreeSet<String>, tag: &mut Option<String>) {
    let text = text.trim();
    if text.is_empty() || text.starts_with('[') {
        return;
    }
    let Some((name, ty)) = text.split_once(':') else {
        return;
    };
    let name = name.trim().trim_end_matches('?').to_owned();
    if (name == "type" || name == "state") && ty.trim().starts_with('"') {
        *tag = Some(ty.trim().trim_matches('"').to_owned());
    }
    names.insert(name);
}

/// `ts` without its `/* … */` comments.
fn strip_comments(ts: &str) -> String {
    let mut out = String::new();
    let mut rest = ts;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .split_once("*/")
            .map_or("", |(_, after)| after);
    }
    out.push_str(rest);
    out
}

/// Every `export interface` and `export type … = | {…} | …` of the TS text.
fn declarations(ts: &str) -> BTreeMap<String, Shape> {
    let mut out = BTreeMap::new();
    let ts = strip_comments(ts);
    for chunk in ts.split("export ").skip(1) {
        if let Some(rest) = chunk.strip_prefix("interface ") {
            let name = rest.split([' ', '<']).next().unwrap().to_owned();
            let body = &rest[rest.find('{').unwrap() + 1..rest.rfind('}').unwrap()];
            out.insert(name, Shape::Interface(fields(body).0));
        } else if let Some(rest) = chunk.strip_prefix("type ") {
            let name = rest.split([' ', '<']).next().unwrap().to_owned();
            let union = rest.split_once('=').map(|(_, u)| u).unwrap_or_default();
            if !union.trim_start().starts_with('|') {
                continue; // an alias (`Timestamp = string`, string unions)
            }
            let members = union
                .split("\n  |")
                .filter_map(|m| {
                    let open = m.find('{')?;
                    Some(fields(&m[open + 1..m.rfind('}')?]))
                })
                .map(|(names, tag)| (tag, names))
                .collect();
            out.insert(name, Shape::Union(members));
        }
    }
    out
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect()
}

/// Checks `sample` against the TS declaration `name`; returns the union member's tag it
/// matched (`None` for an interface).
fn check(shapes: &BTreeMap<String, Shape>, name: &str, sample: &impl Serialize) -> Option<String> {
    let value = serde_json::to_value(sample).unwrap();
    let found = keys(&value);
    match shapes
        .get(name)
        .unwrap_or_else(|| panic!("no TS declaration {name}"))
    {
        Shape::Interface(fields) => {
            assert_eq!(&found, fields, "{name}: Rust serializes {value}");
            None
        }
        Shape::Union(members) => {
            let tag = ["type", "state"]
                .iter()
                .find_map(|k| value.get(*k).and_then(Value::as_str))
                .unwrap_or_else(|| panic!("{name}: no tag in {value}"))
                .to_owned();
            let (_, fields) = members
                .iter()
                .find(|(t, _)| t.as_deref() == Some(tag.as_str()))
                .unwrap_or_else(|| panic!("{name}: no TS member for `{tag}` ({value})"));
            assert_eq!(&found, fields, "{name} `{tag}`: Rust serializes {value}");
            Some(tag)
        }
    }
}

fn failure() -> Failure {
    Failure {
        reason: "refused".into(),
        code: Some(ErrorCode::ValidationFailed),
        status: 400,
    }
}

fn item() -> MessageItem {
    MessageItem {
        message: message("team:a", 1, "bob", 1, 1),
        state: MessageState::Sent,
        own_reactions: vec!["like".into()],
        starred: true,
        quoted: Some(QuotedPreview::Loading { id: Uuid::nil() }),
    }
}

/// A sample of every variant of each union, by TS name. No wildcard arms: a new Rust
/// variant must get its sample (and its TS member) before this compiles.
fn every_variant() -> Vec<(&'static str, Value)> {
    let op = OpId(Uuid::nil());
    let states = [
        MessageState::Sent,
        MessageState::Pending,
        MessageState::Sending,
        MessageState::Failed {
            op_id: op,
            failure: failure(),
        },
        MessageState::Editing,
        MessageState::Deleting,
        MessageState::UpdateFailed {
            op_id: op,
            failure: failure(),
        },
    ];
    for s in &states {
        match s {
            MessageState::Sent
            | MessageState::Pending
            | MessageState::Sending
            | MessageState::Failed { .. }
            | MessageState::Editing
            | MessageState::Deleting
            | MessageState::UpdateFailed { .. } => {}
        }
    }
    let reasons = [
        DisconnectReason::Stopped,
        DisconnectReason::Background,
        DisconnectReason::Refused {
            code: 3500,
            reason: "bad".into(),
        },
    ];
    for r in &reasons {
        match r {
            DisconnectReason::Stopped
            | DisconnectReason::Background
            | DisconnectReason::Refused { .. } => {}
        }
    }
    let connections = [
        ConnectionState::Disconnected {
            reason: DisconnectReason::Stopped,
        },
        ConnectionState::WaitingForNetwork,
        ConnectionState::Connecting { attempt: 1 },
        ConnectionState::Connected,
        ConnectionState::WaitingToReconnect {
            attempt: 2,
            retry_in: Duration::from_millis(500),
        },
        ConnectionState::AuthFailed {
            reason: "refused".into(),
        },
    ];
    for c in &connections {
        match c {
            ConnectionState::Disconnected { .. }
            | ConnectionState::WaitingForNetwork
            | ConnectionState::Connecting { .. }
            | ConnectionState::Connected
            | ConnectionState::WaitingToReconnect { .. }
            | ConnectionState::AuthFailed { .. } => {}
        }
    }
    let items = [
        ItemState::Pending,
        ItemState::InFlight,
        ItemState::WaitingRetry {
            attempt: 1,
            at: Millis(5),
        },
        ItemState::Paused(PauseReason::Auth),
        ItemState::Blocked { on: op },
        ItemState::Failed(failure()),
    ];
    for i in &items {
        match i {
            ItemState::Pending
            | ItemState::InFlight
            | ItemState::WaitingRetry { .. }
            | ItemState::Paused(_)
            | ItemState::Blocked { .. }
            | ItemState::Failed(_) => {}
        }
    }
    let quotes = [
        QuotedPreview::of(&message("team:a", 2, "carol", 1, 1)),
        QuotedPreview::Loading { id: Uuid::nil() },
        QuotedPreview::Unavailable { id: Uuid::nil() },
    ];
    for q in &quotes {
        match q {
            QuotedPreview::Message { .. }
            | QuotedPreview::Loading { .. }
            | QuotedPreview::Unavailable { .. } => {}
        }
    }
    let diffs = [
        ListDiff::Reset {
            items: vec![item()],
        },
        ListDiff::Insert {
            index: 0,
            item: item(),
        },
        ListDiff::Update {
            index: 0,
            item: item(),
        },
        ListDiff::Remove { index: 0 },
    ];
    for d in &diffs {
        match d {
            ListDiff::Reset { .. }
            | ListDiff::Insert { .. }
            | ListDiff::Update { .. }
            | ListDiff::Remove { .. } => {}
        }
    }
    let parts = [
        ServerPart::Answered,
        ServerPart::NotReached {
            reason: "offline".into(),
        },
        ServerPart::Exhausted,
    ];
    for p in &parts {
        match p {
            ServerPart::Answered | ServerPart::NotReached { .. } | ServerPart::Exhausted => {}
        }
    }
    let json = |v: &dyn ErasedSerialize| v.json();
    let mut out: Vec<(&'static str, Value)> = Vec::new();
    out.extend(states.iter().map(|s| ("MessageState", json(s))));
    out.extend(reasons.iter().map(|s| ("DisconnectReason", json(s))));
    out.extend(connections.iter().map(|s| ("ConnectionState", json(s))));
    out.extend(items.iter().map(|s| ("OutboxItemState", json(s))));
    out.extend(quotes.iter().map(|s| ("QuotedPreview", json(s))));
    out.extend(diffs.iter().map(|s| ("ListDiff", json(s))));
    out.extend(parts.iter().map(|s| ("SearchServerPart", json(s))));
    out
}

/// Serializing through a trait object, so samples of different types share one list.
trait ErasedSerialize {
    fn json(&self) -> Value;
}

impl<T: Serialize> ErasedSerialize for T {
    fn json(&self) -> Value {
        serde_json::to_value(self).unwrap()
    }
}

#[wasm_bindgen_test]
fn the_typescript_shapes_match_what_rust_serializes() {
    let shapes = declarations(TYPES);
    let c = channel("team:a", 1, Some(1));
    check(&shapes, "ChannelConfig", &ChannelConfig::default());
    check(&shapes, "Channel", &c);
    check(&shapes, "Message", &message("team:a", 1, "bob", 1, 1));
    check(&shapes, "Failure", &failure());
    check(&shapes, "MessageItem", &item());
    let hit = SearchHit {
        message: message("team:a", 1, "bob", 1, 1),
        highlights: vec![TextRange { start: 0, end: 2 }],
        local: true,
        pending: false,
    };
    check(&shapes, "TextRange", &TextRange { start: 0, end: 2 });
    check(&shapes, "SearchHit", &hit);
    check(
        &shapes,
        "SearchPage",
        &SearchPage {
            hits: vec![hit],
            server: ServerPart::Exhausted,
            next: Some("0|".into()),
        },
    );
    check(
        &shapes,
        "ChannelItem",
        &ChannelItem {
            channel: c,
            unread_count: 1,
            unread_mentions: 0,
            last_message: Some(item()),
            hidden: false,
            muted: true,
            archived: false,
        },
    );
    check(
        &shapes,
        "TotalUnread",
        &chat_core::live::TotalUnread {
            unread_count: 3,
            unread_mentions: 1,
        },
    );
    check(
        &shapes,
        "ReadReceipt",
        &ReadReceipt {
            user_id: "bob".into(),
            last_read_message_id: Some(Uuid::nil()),
            last_read_at: Timestamp::now(),
        },
    );
    for joined in [None, Some(Timestamp::now())] {
        check(
            &shapes,
            "MemberItem",
            &MemberItem {
                user_id: "bob".into(),
                role: chat_protocol::MemberRole::Moderator,
                joined_at: joined,
                online: true,
                last_read_message_id: joined.map(|_| Uuid::nil()),
                last_read_at: joined,
                pending: joined.is_none(),
            },
        );
    }
    check(
        &shapes,
        "Draft",
        &chat_core::client::Draft {
            cid: "team:a".parse().unwrap(),
            parent_id: Some(Uuid::nil()),
            text: "half".into(),
            updated_at: Timestamp::now(),
        },
    );
    check(
        &shapes,
        "TypingUser",
        &TypingUser {
            user_id: "bob".into(),
            parent_id: None,
        },
    );
    check(
        &shapes,
        "OutboxItem",
        &OutboxItem {
            op_id: OpId(Uuid::nil()),
            op: OutboxOp::DeleteMessage {
                cid: "team:a".parse().unwrap(),
                id: Uuid::nil(),
            },
            state: ItemState::Pending,
        },
    );
    check(
        &shapes,
        "EngineStatus",
        &EngineStatus {
            outbox_len: 0,
            in_flight: 0,
            syncing: false,
            cursor: None,
            auth_stopped: false,
            last_sync_error: None,
            last_error: None,
            realtime_live: false,
        },
    );
    // Every member of every union is matched by a Rust variant, and the other way round.
    let mut matched: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (name, value) in every_variant() {
        let tag = check(&shapes, name, &value).expect("a union");
        matched.entry(name).or_default().insert(tag);
    }
    for (name, tags) in matched {
        let Shape::Union(members) = &shapes[name] else {
            panic!("{name} is not a union");
        };
        let declared: BTreeSet<String> = members.iter().filter_map(|(t, _)| t.clone()).collect();
        assert_eq!(tags, declared, "{name}: TS members without a Rust variant");
    }
}

#[wasm_bindgen_test]
fn the_shape_reader_sees_fields_tags_and_members() {
    let shapes = declarations(
        "export interface A {\n  /** doc: not a field */\n  a: string;\n  b?: { c: number };\n}\n\
         export type U =\n  | { type: \"x\" }\n  | { type: \"y\"; n: number };\nexport type T = string;\n",
    );
    let Shape::Interface(a) = &shapes["A"] else {
        panic!("A")
    };
    assert_eq!(a, &BTreeSet::from(["a".to_owned(), "b".to_owned()]));
    let Shape::Union(u) = &shapes["U"] else {
        panic!("U")
    };
    assert_eq!(u.len(), 2);
    assert_eq!(u[1].0.as_deref(), Some("y"));
    assert!(!shapes.contains_key("T"));
}
