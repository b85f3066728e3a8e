//! Pins the JSON shape of every wire type in chat-protocol with insta snapshots
//! (`tests/snapshots/wire_shapes__*.snap`), checks that each pinned value survives a serde
//! round trip unchanged, and that a few malformed inputs are rejected.
//!
//! A failing snapshot means the wire contract changed: review the diff, update
//! docs/protocol.md if the change is intended, then accept it with `cargo insta review`
//! (or `INSTA_UPDATE=always`). Samples use fixed times and UUIDv7 literals, never `now()`.

use std::collections::BTreeMap;
use std::fmt::Debug;

use chat_protocol::realtime::{
    Command, ConnectInfo, ConnectRequest, ConnectResult, EphemeralEvent, PresenceEvent,
    RealtimeEvent, RefreshRequest, RefreshResult, Reply, ReplyError, SubscribeResult, TypingEvent,
    error_codes, user_channel,
};
use chat_protocol::token::UserClaims;
use chat_protocol::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

#[path = "wire_shapes/samples.rs"]
mod samples;

use samples::*;

/// Snapshots `value` as `name`, then checks that its JSON deserializes back to it.
fn pin<T: Serialize + DeserializeOwned + PartialEq + Debug>(name: &str, value: &T) {
    insta::assert_json_snapshot!(name, value);
    let text = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{name} does not deserialize from {text}: {e}"));
    assert_eq!(&back, value, "{name} changed in a serde round trip");
}

// ---------------------------------------------------------------------------------------
// Entities (models.rs)
// ---------------------------------------------------------------------------------------

#[test]
fn entities() {
    pin("user", &user());
    pin("channel_config_default", &ChannelConfig::default());
    pin("channel", &channel());
    pin("member", &member("bob", MemberRole::Moderator, false, 40));
    pin(
        "member_tombstone",
        &member("carol", MemberRole::Member, true, 62),
    );
    pin("message", &message());
    pin("message_thread_reply", &reply());
    pin("message_tombstone", &message_tombstone());
    pin("reaction", &reaction(false));
    pin("reaction_tombstone", &reaction(true));
    pin("read_state", &read_state());
    let never_read = ReadState {
        last_read_message_id: None,
        ..read_state()
    };
    pin("read_state_no_message", &never_read);
    pin("channel_unread", &unread());
    pin("channel_state", &channel_state());
    pin(
        "channel_types",
        &[
            ChannelType::Messaging,
            ChannelType::Team,
            ChannelType::Livestream,
            ChannelType::Commerce,
        ],
    );
    pin(
        "member_roles",
        &[
            MemberRole::Owner,
            MemberRole::Admin,
            MemberRole::Moderator,
            MemberRole::Member,
        ],
    );
}

// ---------------------------------------------------------------------------------------
// REST bodies (requests.rs)
// ---------------------------------------------------------------------------------------

#[test]
fn users_and_channels() {
    let input = UserInput {
        id: "alice".into(),
        name: Some("Alice Liddell".into()),
        image: None,
        custom: obj(json!({"department": "design"})),
    };
    pin("user_input", &input);
    pin(
        "upsert_users_request",
        &UpsertUsersRequest { users: vec![input] },
    );
    pin(
        "users_response",
        &UsersResponse {
            users: vec![user()],
        },
    );
    pin("user_response", &UserResponse { user: user() });
    pin(
        "create_channel_request",
        &CreateChannelRequest {
            kind: ChannelType::Team,
            id: Some("general".into()),
            name: Some("General".into()),
            image: Some("https://cdn.example.com/c/general.png".into()),
            members: vec!["bob".into(), "carol".into()],
            config: Some(config()),
            created_by: Some("alice".into()),
            distinct: false,
        },
    );
    let mut dm = CreateChannelRequest::distinct(ChannelType::Messaging, vec!["bob".into()]);
    dm.id = Some(chat_protocol::ids::distinct_channel_id(
        "alice",
        &dm.members,
    ));
    pin("create_channel_request_distinct", &dm);
    let minimal: CreateChannelRequest =
        serde_json::from_value(json!({"type": "messaging"})).unwrap();
    pin("create_channel_request_minimal", &minimal);
    pin(
        "update_channel_request",
        &UpdateChannelRequest {
            name: Some("General chat".into()),
            image: None,
            config: None,
        },
    );
    pin("channel_response", &ChannelResponse { channel: channel() });
    pin(
        "query_channels_request",
        &QueryChannelsRequest {
            filter: ChannelFilter {
                kind: Some(ChannelType::Messaging),
                members: Some(vec!["alice".into(), "bob".into()]),
                cids: Some(vec![cid("messaging:alice-bob")]),
            },
            limit: Some(20),
            cursor: Some("1721035800123.messaging:alice-bob".into()),
            message_limit: Some(25),
        },
    );
    pin(
        "query_channels_request_default",
        &QueryChannelsRequest::default(),
    );
    pin(
        "query_channels_response",
        &QueryChannelsResponse {
            channels: vec![channel_state()],
            next_cursor: Some("1721035800123.team:general".into()),
        },
    );
    let members = vec![
        MemberInput {
            user_id: "carol".into(),
            role: None,
        },
        MemberInput {
            user_id: "dave".into(),
            role: Some(MemberRole::Moderator),
        },
    ];
    pin("add_members_request", &AddMembersRequest { members });
    pin(
        "members_response",
        &MembersResponse {
            members: vec![
                member("alice", MemberRole::Owner, false, 39),
                member("bob", MemberRole::Member, false, 40),
            ],
            removed: None,
        },
    );
    pin(
        "members_response_removal",
        &MembersResponse {
            members: vec![member("alice", MemberRole::Owner, false, 39)],
            removed: Some(member("bob", MemberRole::Member, true, 41)),
        },
    );
    pin(
        "app_credentials",
        &AppCredentials {
            app_id: "app_k3j9x0q2m8zt".into(),
            api_key: "key_Q2w8ErT5yU1iO9pA3sD7".into(),
            api_secret: "s3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3t".into(),
        },
    );
}

#[test]
fn messages_reactions_and_reads() {
    pin(
        "send_message_request",
        &SendMessageRequest {
            id: uuid(M3),
            text: "Looks great!".into(),
            attachments: vec![json!({"type": "link", "url": "https://example.com"})],
            parent_id: Some(uuid(M1)),
            quoted_message_id: Some(uuid(M2)),
            mentioned_users: vec!["alice".into()],
            user_id: None,
        },
    );
    let minimal: SendMessageRequest =
        serde_json::from_value(json!({"id": M1, "text": "hi"})).unwrap();
    pin("send_message_request_minimal", &minimal);
    pin(
        "update_message_request",
        &UpdateMessageRequest {
            text: Some("Hello @bob, the final mockups are ready".into()),
            attachments: None,
            mentioned_users: Some(vec!["bob".into()]),
        },
    );
    pin("message_response", &MessageResponse { message: message() });
    pin(
        "send_messages_request",
        &SendMessagesRequest {
            messages: vec![minimal.clone()],
        },
    );
    pin(
        "send_messages_response",
        &SendMessagesResponse {
            results: vec![
                SendResult {
                    id: uuid(M1),
                    status: 201,
                    message: Some(message()),
                    error: None,
                },
                SendResult {
                    id: uuid(M2),
                    status: 429,
                    message: None,
                    error: Some(ErrorBody {
                        retry_after_secs: Some(1),
                        ..ErrorBody::new(ErrorCode::RateLimited, "too many requests; slow down")
                    }),
                },
            ],
        },
    );
    pin(
        "list_messages_query",
        &ListMessagesQuery {
            before: Some(uuid(M2)),
            after: None,
            around: None,
            limit: Some(50),
        },
    );
    pin(
        "messages_response",
        &MessagesResponse {
            messages: vec![message(), message_tombstone()],
            has_more_before: true,
            has_more_after: false,
            own_reactions: vec![reaction(false)],
            starred: vec![uuid(M1)],
        },
    );
    pin("flags_response", &FlagsResponse { flags: flags(true) });
    pin(
        "update_member_state_request",
        &UpdateMemberStateRequest {
            muted: Some(true),
            ..Default::default()
        },
    );
    pin(
        "delete_channel_response",
        &DeleteChannelResponse {
            channel: channel(),
            removed: Some(member("bob", MemberRole::Member, true, 69)),
        },
    );
    pin(
        "member_state_response",
        &MemberStateResponse {
            state: member_state(true),
        },
    );
    pin(
        "starred_query",
        &StarredQuery {
            before: Some(uuid(M2)),
            limit: Some(20),
        },
    );
    pin(
        "starred_response",
        &StarredResponse {
            messages: vec![message()],
            has_more: false,
        },
    );
    pin(
        "search_params",
        &SearchParams {
            q: "lunch caf".into(),
            cid: Some("team:general".parse().unwrap()),
            cursor: Some("s1.42".into()),
            limit: Some(20),
        },
    );
    pin(
        "search_response",
        &SearchResponse {
            results: vec![SearchResult {
                message: message(),
                highlights: vec![TextRange { start: 0, end: 5 }],
            }],
            next_cursor: Some("s1.41".into()),
        },
    );
    pin(
        "reaction_request",
        &ReactionRequest {
            kind: "like".into(),
        },
    );
    pin(
        "reaction_response",
        &ReactionResponse {
            reaction: reaction(true),
            message: Message {
                reaction_counts: BTreeMap::from([("heart".into(), 1), ("like".into(), 1)]),
                updated_at: ts("2024-07-15T09:50:00.000Z"),
                rev: 65,
                ..message()
            },
        },
    );
    pin(
        "reactions_response",
        &ReactionsResponse {
            reactions: vec![reaction(false)],
        },
    );
    pin(
        "mark_read_request",
        &MarkReadRequest {
            message_id: Some(uuid(M1)),
        },
    );
    pin(
        "mark_read_response",
        &MarkReadResponse {
            read: read_state(),
            unread: ChannelUnread {
                unread_count: 0,
                unread_mentions: 0,
                counted_through: None,
                ..unread()
            },
        },
    );
    pin(
        "unread_response",
        &UnreadResponse {
            total_unread_count: 3,
            total_unread_mentions: 1,
            channels: vec![unread()],
        },
    );
    pin(
        "typing_request",
        &TypingRequest {
            typing: true,
            parent_id: None,
        },
    );
}

// ---------------------------------------------------------------------------------------
// Sync (sync.rs), errors (error.rs), tokens (token.rs)
// ---------------------------------------------------------------------------------------

#[test]
fn sync_changes_of_every_kind() {
    pin("change_channel", &change(41, Change::Channel(channel())));
    pin(
        "change_member",
        &change(
            62,
            Change::Member(member("carol", MemberRole::Member, true, 62)),
        ),
    );
    pin("change_message", &change(57, Change::Message(message())));
    pin(
        "change_reaction",
        &change(64, Change::Reaction(reaction(true))),
    );
    pin("change_read", &change(59, Change::Read(read_state())));
    pin("change_flags", &change(67, Change::Flags(flags(false))));
    pin(
        "change_member_state",
        &change(68, Change::MemberState(member_state(true))),
    );
    for c in [
        Change::Channel(channel()),
        Change::Message(message()),
        Change::Read(read_state()),
        Change::Flags(flags(true)),
        Change::MemberState(member_state(true)),
    ] {
        let rev = c.rev();
        let json = serde_json::to_value(change(rev, c)).unwrap();
        assert_eq!(json["seq"], json["data"]["rev"], "seq = rev on the wire");
    }
}

#[test]
fn sync_requests_and_pages() {
    pin(
        "sync_query",
        &SyncQuery {
            cursor: Some("v1:Xk3m9QzA:57".into()),
            limit: Some(500),
        },
    );
    pin(
        "sync_response_bootstrap",
        &SyncResponse {
            changes: vec![],
            limited: vec![channel_state()],
            limited_seq: Some(57),
            cursor: "v1:Xk3m9QzA:57:team:general".into(),
            has_more: true,
        },
    );
    pin(
        "sync_response_incremental",
        &SyncResponse {
            changes: vec![
                change(58, Change::Message(reply())),
                change(59, Change::Read(read_state())),
            ],
            limited: vec![],
            limited_seq: None,
            cursor: "v1:Xk3m9QzA:59".into(),
            has_more: false,
        },
    );
}

#[test]
fn errors_and_tokens() {
    pin(
        "error_body",
        &ErrorBody::new(ErrorCode::NotAMember, "not a member of team:general"),
    );
    pin(
        "error_body_cursor_expired",
        &ErrorBody {
            action: Some(ErrorAction::Reset),
            ..ErrorBody::new(ErrorCode::CursorExpired, "the cursor is from another epoch")
        },
    );
    pin(
        "error_body_rate_limited",
        &ErrorBody {
            retry_after_secs: Some(2),
            ..ErrorBody::new(ErrorCode::RateLimited, "too many requests; slow down")
        },
    );
    let codes = [
        ErrorCode::InvalidJson,
        ErrorCode::ValidationFailed,
        ErrorCode::InvalidCursor,
        ErrorCode::Unauthorized,
        ErrorCode::TokenExpired,
        ErrorCode::Forbidden,
        ErrorCode::NotAMember,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::CursorExpired,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::UriTooLong,
        ErrorCode::RateLimited,
        ErrorCode::HeadersTooLarge,
        ErrorCode::Internal,
        ErrorCode::Overloaded,
    ];
    let with_status: Vec<(ErrorCode, u16)> = codes.iter().map(|c| (*c, c.http_status())).collect();
    pin("error_codes_with_status", &with_status);
    // The web SDK names every code in its `ServerErrorCode` type.
    let ts = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../packages-js/core/src/errors.ts"),
    )
    .expect("packages-js/core/src/errors.ts");
    for code in codes {
        let wire = serde_json::to_string(&code).expect("code serializes");
        assert!(
            ts.contains(&format!("| {wire}")),
            "ServerErrorCode in packages-js/core/src/errors.ts lacks {wire}"
        );
    }
    pin(
        "user_claims",
        &UserClaims {
            sub: "alice".into(),
            app: "app_k3j9x0q2m8zt".into(),
            iat: 1_721_035_800,
            exp: 1_721_122_200,
        },
    );
}

// ---------------------------------------------------------------------------------------
// Realtime frames (realtime.rs)
// ---------------------------------------------------------------------------------------

#[test]
fn realtime_commands() {
    pin(
        "command_connect",
        &Command {
            id: 1,
            connect: Some(ConnectRequest {
                token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl".into(),
                name: "js".into(),
                version: "5.2.0".into(),
                other: Default::default(),
            }),
            ..Command::default()
        },
    );
    pin(
        "command_refresh",
        &Command {
            id: 2,
            refresh: Some(RefreshRequest {
                token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.bmV3c2ln".into(),
            }),
            ..Command::default()
        },
    );
    pin("command_pong", &Command::default());
    assert_eq!(serde_json::to_string(&Command::default()).unwrap(), "{}");
    // What official clients send beyond our subset still parses (and is answered with errors).
    let subscribe: Command =
        serde_json::from_value(json!({"id": 3, "subscribe": {"channel": "news"}})).unwrap();
    assert_eq!(subscribe.subscribe, Some(json!({"channel": "news"})));
    let rpc: Command =
        serde_json::from_value(json!({"id": 4, "rpc": {"method": "x", "data": {}}})).unwrap();
    assert!(rpc.connect.is_none() && rpc.other.contains_key("rpc"));
    let connect: Command = serde_json::from_value(
        json!({"id": 1, "connect": {"token": "t", "data": {"a": 1}, "subs": {}}}),
    )
    .unwrap();
    let c = connect.connect.unwrap();
    assert_eq!(c.token, "t");
    assert!(c.other.contains_key("data") && c.other.contains_key("subs"));
}

#[test]
fn realtime_replies() {
    pin("reply_ping", &Reply::default());
    assert_eq!(serde_json::to_string(&Reply::default()).unwrap(), "{}");
    assert!(Reply::default().is_ping());
    pin(
        "reply_connect",
        &Reply {
            id: 1,
            connect: Some(ConnectResult {
                client: "0190b6e2-1d71-7f6d-a24b-5e6f708192a3".into(),
                version: "0.1.0".into(),
                expires: true,
                ttl: 86_400,
                subs: BTreeMap::from([(user_channel("alice"), SubscribeResult {})]),
                ping: 25,
                pong: true,
                data: ConnectInfo {
                    user_id: "alice".into(),
                    epoch: "Xk3m9QzA".into(),
                    seq: 64,
                },
            }),
            ..Reply::default()
        },
    );
    pin(
        "reply_refresh",
        &Reply {
            id: 2,
            refresh: Some(RefreshResult {
                client: "0190b6e2-1d71-7f6d-a24b-5e6f708192a3".into(),
                version: "0.1.0".into(),
                expires: true,
                ttl: 3_600,
            }),
            ..Reply::default()
        },
    );
    pin(
        "reply_error",
        &Reply {
            id: 3,
            error: Some(ReplyError {
                code: error_codes::PERMISSION_DENIED,
                message: "permission denied".into(),
                temporary: false,
            }),
            ..Reply::default()
        },
    );
    pin(
        "reply_error_temporary",
        &Reply {
            id: 1,
            error: Some(ReplyError {
                code: error_codes::INTERNAL,
                message: "internal server error".into(),
                temporary: true,
            }),
            ..Reply::default()
        },
    );
    let changed = RealtimeEvent::Change(change(57, Change::Message(message())));
    pin("reply_push_change", &push(changed.clone(), 3));
    pin("reply_push_typing", &push(typing_event(), 0));
    // The server writes pushes by hand (chat-server realtime/session.rs): the typed frame must
    // be identical.
    let data = serde_json::to_string(&changed).unwrap();
    let by_hand =
        format!(r#"{{"push":{{"channel":"chat:user:alice","pub":{{"data":{data},"offset":3}}}}}}"#);
    assert_eq!(serde_json::to_string(&push(changed, 3)).unwrap(), by_hand);
    let data = serde_json::to_string(&typing_event()).unwrap();
    let by_hand = format!(r#"{{"push":{{"channel":"chat:user:alice","pub":{{"data":{data}}}}}}}"#);
    assert_eq!(
        serde_json::to_string(&push(typing_event(), 0)).unwrap(),
        by_hand
    );
}

#[test]
fn realtime_events() {
    pin(
        "realtime_event_change",
        &RealtimeEvent::Change(change(64, Change::Reaction(reaction(true)))),
    );
    pin("realtime_event_typing", &typing_event());
    pin(
        "realtime_event_typing_stopped",
        &RealtimeEvent::Ephemeral(EphemeralEvent::Typing(TypingEvent {
            cid: cid("messaging:alice-bob"),
            user_id: "bob".into(),
            typing: false,
            parent_id: None,
        })),
    );
    pin(
        "realtime_event_presence",
        &RealtimeEvent::Ephemeral(EphemeralEvent::Presence(PresenceEvent {
            user_id: "bob".into(),
            online: true,
        })),
    );
    // A change published in realtime is byte-for-byte the object /v1/sync returns.
    let c = change(57, Change::Message(message()));
    assert_eq!(
        serde_json::to_value(RealtimeEvent::Change(c.clone())).unwrap(),
        serde_json::to_value(c).unwrap()
    );
    assert_eq!(user_channel("bob"), "chat:user:bob");
}

// ---------------------------------------------------------------------------------------
// Inputs that must be rejected
// ---------------------------------------------------------------------------------------

fn rejects<T: DeserializeOwned + Debug>(what: &str, v: Value) {
    let r = serde_json::from_value::<T>(v.clone());
    assert!(r.is_err(), "{what}: {v} must not deserialize, got {r:?}");
}

#[test]
fn malformed_inputs_are_rejected() {
    rejects::<ChannelType>("unknown channel type", json!("group"));
    rejects::<ChannelType>("channel types are lowercase", json!("Team"));
    rejects::<CreateChannelRequest>("unknown channel type", json!({"type": "group"}));
    rejects::<Cid>("cid without a colon", json!("general"));
    rejects::<Cid>("cid with an unknown type", json!("group:general"));
    rejects::<Cid>("cid with an empty id", json!("team:"));
    rejects::<Cid>("cid with a bad character", json!("team:gen eral"));
    let mut bad = serde_json::to_value(message()).unwrap();
    bad["cid"] = json!("general");
    rejects::<Message>("message with a cid without a colon", bad);
    rejects::<ChannelConfig>(
        "unknown config key",
        json!({"reactions": true, "typo_events": false}),
    );
    rejects::<MemberRole>("unknown role", json!("superuser"));
    rejects::<SendMessageRequest>("message id that is not a UUID", json!({"id": "m-1"}));
    for v in [
        json!({}),
        json!({"foo": 1}),
        json!({"seq": 3}),
        json!({"kind": "typing"}),
        json!({"kind": "unknown", "data": {}}),
        json!({"seq": 3, "kind": "message", "data": {"id": M1}}),
        json!({"kind": "typing", "data": {"cid": "general", "user_id": "bob", "typing": true}}),
        json!({"kind": "presence", "data": {"user_id": "bob"}}),
    ] {
        rejects::<RealtimeEvent>("neither a change nor an ephemeral event", v);
    }
    rejects::<ErrorBody>("error body without a code", json!({"message": "x"}));
}
