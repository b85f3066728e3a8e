//! Property tests (proptest) of what realtime feeds on:
//!
//! - the frame decoder never panics, on arbitrary text and on mutated valid frames, and a
//!   frame is decoded completely or rejected whole;
//! - a connected realtime machine given a malformed frame applies nothing, emits no event
//!   and stays connected;
//! - change application is idempotent and order-tolerant: applying a batch of pushed
//!   changes again, or replaying older changes after newer ones, leaves the cache exactly
//!   as it was; a batch with an invalid change is refused whole, with nothing written.

use crate::support::cache::dump;
use chat_core::cache::Cache;
use chat_core::clock::Millis;
use chat_core::realtime::frames::{ServerMessage, decode_frame};
use chat_core::realtime::{ConnectionState, RealtimeConfig, RealtimeEffect, RealtimeMachine};
use chat_protocol::{
    Change, Channel, ChannelConfig, ChannelState, ChannelUnread, Member, MemberRole, Message,
    ReadState, SyncChange, SyncResponse, Timestamp,
};
use chat_test::cid;
use proptest::prelude::*;
use uuid::Uuid;

const CHANGE_FRAME: &str = r#"{"push":{"channel":"chat:user:bob","pub":{"data":{"seq":7,"kind":"read","data":{"cid":"team:a","user_id":"ann","last_read_message_id":null,"last_read_at":"2024-01-01T00:00:00.000Z","rev":7}}}}}"#;
const CONNECT_REPLY: &str = r#"{"id":1,"connect":{"client":"c","version":"0.1.0","expires":false,"subs":{"chat:user:bob":{}},"ping":25,"pong":true,"data":{"user_id":"bob","epoch":"e","seq":1}}}"#;
const PRESENCE_FRAME: &str = r#"{"push":{"channel":"chat:user:bob","pub":{"data":{"kind":"presence","data":{"user_id":"ann","online":true}}}}}"#;

/// Valid frames and their messages, to mutate.
fn valid_frame() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("{}".to_owned()),
            Just(CHANGE_FRAME.to_owned()),
            Just(PRESENCE_FRAME.to_owned()),
        ],
        1..5,
    )
    .prop_map(|lines| lines.join("\n"))
}

/// A frame with one random edit: cut short, a byte range replaced, or text inserted.
fn mutated_frame() -> impl Strategy<Value = String> {
    (
        valid_frame(),
        any::<prop::sample::Index>(),
        0usize..8,
        "[\\PC]{0,6}",
    )
        .prop_map(|(frame, at, len, insert)| {
            let chars: Vec<char> = frame.chars().collect();
            let start = at.index(chars.len());
            let end = (start + len).min(chars.len());
            let mut out: String = chars[..start].iter().collect();
            out.push_str(&insert);
            out.extend(&chars[end..]);
            out
        })
}

/// A connected, caught-up machine on socket 1.
fn connected() -> RealtimeMachine {
    let t = Millis(1_000);
    let mut m = RealtimeMachine::new(RealtimeConfig::default(), 1);
    m.set_token(Some("t"), false, t);
    m.start(t);
    m.poll(t);
    m.opened(1, t);
    m.frame(1, CONNECT_REPLY, t);
    m.poll(t);
    m.sync_started();
    m.sync_finished(true, t);
    m.poll(t);
    assert_eq!(m.state(), ConnectionState::Connected);
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics_the_decoder(text in "\\PC{0,200}") {
        let _ = decode_frame(&text);
    }

    #[test]
    fn a_mutated_frame_decodes_whole_or_is_refused_whole(frame in mutated_frame()) {
        if let Ok(messages) = decode_frame(&frame) {
            // Accepted: then each non-blank line is one complete message on its own.
            let lines: Vec<&str> = frame.split('\n').filter(|l| !l.trim().is_empty()).collect();
            prop_assert_eq!(messages.len(), lines.len());
            for (line, message) in lines.iter().zip(&messages) {
                prop_assert_eq!(&decode_frame(line).unwrap()[0], message);
            }
        }
    }

    #[test]
    fn a_malformed_frame_changes_nothing_but_asks_for_a_catch_up(frame in mutated_frame()) {
        let mut m = connected();
        let decoded = decode_frame(&frame);
        m.frame(1, &frame, Millis(2_000));
        let effects = m.poll(Millis(2_000));
        prop_assert_eq!(m.state(), ConnectionState::Connected);
        match decoded {
            Err(_) => {
                prop_assert_eq!(effects, vec![RealtimeEffect::CatchUp]);
            }
            Ok(messages) => {
                let changes = messages.iter().filter(|m| matches!(m, ServerMessage::Change { .. })).count();
                let applied: usize = effects.iter().map(|e| match e {
                    RealtimeEffect::Apply(c) => c.len(),
                    _ => 0,
                }).sum();
                let held = effects.iter().any(|e| matches!(e, RealtimeEffect::CatchUp));
                prop_assert!(applied == changes || held, "{:?}", effects);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Change application
// ---------------------------------------------------------------------------------------

const ME: &str = "bob";

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_700_000_000_000 + ms).unwrap()
}

fn channel_state(name: &str) -> ChannelState {
    let c = cid(name);
    ChannelState {
        channel: Channel {
            kind: c.kind(),
            id: c.id().to_owned(),
            cid: c.clone(),
            name: None,
            image: None,
            config: ChannelConfig::default(),
            created_by: "ann".into(),
            created_at: ts(0),
            updated_at: ts(0),
            last_message_at: None,
            member_count: 2,
            distinct: false,
            rev: 1,
        },
        members: ["ann", ME]
            .iter()
            .map(|u| Member {
                cid: c.clone(),
                user_id: (*u).into(),
                role: MemberRole::Member,
                created_at: ts(0),
                updated_at: ts(0),
                deleted: false,
                rev: 1,
            })
            .collect(),
        reads: vec![],
        messages: vec![],
        has_more: false,
        own_reactions: vec![],
        starred: vec![],
        own_state: None,
        unread: ChannelUnread {
            cid: c,
            unread_count: 0,
            unread_mentions: 0,
            counted_through: None,
        },
    }
}

/// One generated change: a version of message `msg` (edited or deleted) or a read marker.
#[derive(Debug, Clone)]
enum Gen {
    Message {
        msg: u8,
        channel: u8,
        edit: u8,
        deleted: bool,
    },
    Read {
        user: u8,
        msg: u8,
        channel: u8,
    },
}

fn gen_change() -> impl Strategy<Value = Gen> {
    prop_oneof![
        4 => (0u8..6, 0u8..2, 0u8..3, any::<bool>())
            .prop_map(|(msg, channel, edit, deleted)| Gen::Message { msg, channel, edit, deleted }),
        1 => (0u8..2, 0u8..6, 0u8..2).prop_map(|(user, msg, channel)| Gen::Read { user, msg, channel }),
    ]
}

/// Turns generated changes into wire changes with increasing seqs. As on a real server,
/// a message's channel is fixed by its first appearance, and a deleted message stays
/// deleted.
fn realize(gens: &[Gen]) -> Vec<SyncChange> {
    let channels = ["team:a", "team:b"];
    let mut home: std::collections::HashMap<u8, u8> = Default::default();
    let mut gone: std::collections::HashSet<u8> = Default::default();
    gens.iter()
        .enumerate()
        .map(|(i, g)| {
            let seq = 10 + i as u64;
            let change = match g {
                Gen::Message {
                    msg,
                    channel,
                    edit,
                    deleted,
                } => {
                    let ch = *home.entry(*msg).or_insert(*channel);
                    if *deleted {
                        gone.insert(*msg);
                    }
                    let deleted = &gone.contains(msg);
                    Change::Message(Message {
                        id: Uuid::from_u128(
                            0x0190_0000_0000_7000_8000_0000_0000_0000 | u128::from(*msg),
                        ),
                        cid: cid(channels[ch as usize]),
                        user_id: "ann".into(),
                        text: format!("m{msg} v{edit}"),
                        attachments: vec![],
                        parent_id: None,
                        quoted_message_id: None,
                        mentioned_users: if *edit == 1 { vec![ME.into()] } else { vec![] },
                        reaction_counts: Default::default(),
                        reply_count: 0,
                        created_at: ts(i64::from(*msg) * 1000),
                        updated_at: ts(i64::from(*msg) * 1000 + i as i64),
                        edited_at: None,
                        deleted_at: deleted.then(|| ts(99_000)),
                        rev: seq,
                    })
                }
                Gen::Read { user, msg, channel } => Change::Read(ReadState {
                    cid: cid(channels[*channel as usize]),
                    user_id: ["ann", ME][*user as usize].into(),
                    last_read_message_id: Some(Uuid::from_u128(
                        0x0190_0000_0000_7000_8000_0000_0000_0000 | u128::from(*msg),
                    )),
                    last_read_at: ts(i64::from(*msg) * 1000),
                    rev: seq,
                }),
            };
            SyncChange { seq, change }
        })
        .collect()
}

/// A file cache owned by bob holding the two channels.
fn prepared() -> (tempfile::TempDir, std::path::PathBuf, Cache) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    let mut cache = Cache::open(&path).unwrap();
    cache.set_user(ME).unwrap();
    cache
        .apply_sync_page(&SyncResponse {
            changes: vec![],
            limited: vec![channel_state("team:a"), channel_state("team:b")],
            limited_seq: None,
            cursor: "v1:e:5".into(),
            has_more: false,
        })
        .unwrap();
    (dir, path, cache)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn applying_pushed_changes_again_or_late_changes_nothing(
        gens in prop::collection::vec(gen_change(), 1..25),
        replay in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
    ) {
        let changes = realize(&gens);
        let (_dir, path, mut cache) = prepared();
        cache.apply_changes(&changes).unwrap();
        let once = dump(&path);
        // The same batch again (a duplicate delivery: push and catch-up sync).
        cache.apply_changes(&changes).unwrap();
        prop_assert_eq!(&dump(&path), &once);
        // Older changes arriving late, one by one.
        for index in replay {
            let old = changes[index.index(changes.len())].clone();
            cache.apply_changes(&[old]).unwrap();
        }
        prop_assert_eq!(&dump(&path), &once);
        // Split delivery gives the same result as one batch.
        let (_dir2, path2, mut split) = prepared();
        let mid = changes.len() / 2;
        split.apply_changes(&changes[..mid]).unwrap();
        split.apply_changes(&changes[mid..]).unwrap();
        prop_assert_eq!(dump(&path2), once);
    }

    #[test]
    fn a_batch_with_an_invalid_change_writes_nothing(
        gens in prop::collection::vec(gen_change(), 1..15),
        at in any::<prop::sample::Index>(),
    ) {
        let mut changes = realize(&gens);
        let i = at.index(changes.len());
        // A rev beyond what the cache can store: the whole batch must be refused.
        match &mut changes[i].change {
            Change::Message(m) => m.rev = u64::MAX,
            Change::Read(r) => r.rev = u64::MAX,
            _ => unreachable!(),
        }
        let (_dir, path, mut cache) = prepared();
        let before = dump(&path);
        prop_assert!(cache.apply_changes(&changes).is_err());
        prop_assert_eq!(dump(&path), before);
    }
}
