//! Who may create, open, join and take over a conversation (docs/protocol.md, "Security
//! model", "Conversations and membership"). The rules this module owns:
//!
//! - A distinct channel's cid is derived from its member set (creator included), so nobody
//!   can pre-create, squat or join another set's conversation; a forged or reserved `!` id
//!   is 400.
//! - An explicit id is an idempotent create: 200 only to its creator replaying the same
//!   initial member set, 409 for everyone else (members included).
//! - Members of a distinct channel are fixed: nobody (any role) adds or removes others;
//!   anyone may leave, and only their own create brings them back.
//! - All of it per app: the same ids in another app are another conversation.

use reqwest::StatusCode;
use serde_json::{Value, json};

use chat_test::{Api, TestServer};

/// The cid any SDK derives for the distinct channel of `members` created by `creator`.
fn dm_cid(creator: &str, members: &[&str]) -> String {
    chat_protocol::Cid::distinct(chat_protocol::ChannelType::Messaging, creator, members)
        .to_string()
}

/// `/v1/channels/{type}/{id}` of a cid.
fn path(cid: &str) -> String {
    let (kind, id) = cid.split_once(':').expect("cid");
    format!("/v1/channels/{kind}/{id}")
}

/// `POST /v1/channels` of a distinct channel with `members`.
async fn open_dm(api: &Api, members: &[&str]) -> (StatusCode, Value) {
    api.post(
        "/v1/channels",
        json!({"type": "messaging", "distinct": true, "members": members}),
    )
    .await
}

/// Sorted member ids of a channel state or members response.
fn member_ids(body: &Value) -> Vec<String> {
    let mut ids: Vec<String> = body["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["user_id"].as_str().expect("user_id").to_owned())
        .collect();
    ids.sort();
    ids
}

async fn setup(users: &[&str]) -> (TestServer, chat_protocol::AppCredentials) {
    let server = TestServer::start().await;
    let app = server.app("conversations").await;
    server.users(&app, users).await;
    (server, app)
}

/// Issue 12 as filed: Mallory pre-creates `messaging:alice-bob` with Alice and Bob in it.
/// Alice's explicit-id create no longer answers 200 into Mallory's channel, and her distinct
/// conversation with Bob is a cid Mallory is not in and cannot reach.
#[tokio::test]
async fn a_squatted_id_does_not_take_over_the_conversation() {
    let (server, app) = setup(&["alice", "bob", "mallory"]).await;
    let (alice, bob, mallory) = (
        server.user(&app, "alice"),
        server.user(&app, "bob"),
        server.user(&app, "mallory"),
    );
    let squat = json!({"type": "messaging", "id": "alice-bob", "members": ["alice", "bob"]});
    let (status, body) = mallory.post("/v1/channels", squat).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = alice
        .post(
            "/v1/channels",
            json!({"type": "messaging", "id": "alice-bob", "members": ["bob"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "conflict");
    assert!(body.get("channel").is_none(), "no state leaks with a 409");

    let (status, body) = open_dm(&alice, &["bob"]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let cid = dm_cid("alice", &["bob"]);
    assert_eq!(body["channel"]["cid"], cid.as_str());
    assert_eq!(body["channel"]["distinct"], true);
    assert_eq!(member_ids(&body), ["alice", "bob"]);
    // Bob opens the same conversation; Mallory can neither read it nor open it.
    let (status, body) = open_dm(&bob, &["alice"]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["channel"]["cid"], cid.as_str());
    // Outsiders cannot tell it exists: 404, as for a missing channel.
    let (status, body) = mallory.get(&path(&cid)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = open_dm(&mallory, &["alice", "bob"]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_ne!(
        body["channel"]["cid"],
        cid.as_str(),
        "a third user gets another set"
    );
    assert_eq!(member_ids(&body), ["alice", "bob", "mallory"]);
}

/// `!` ids are derived, never chosen: a squatter cannot claim the derived id of someone
/// else's set, with or without `distinct`, and a mismatched id is refused.
#[tokio::test]
async fn derived_ids_cannot_be_claimed_or_forged() {
    let (server, app) = setup(&["alice", "bob", "carol", "mallory"]).await;
    let (alice, mallory) = (server.user(&app, "alice"), server.user(&app, "mallory"));
    let target = dm_cid("alice", &["bob"]);
    let target_id = target.split_once(':').unwrap().1;
    for body in [
        json!({"type": "messaging", "id": target_id, "members": ["alice", "bob"]}),
        json!({"type": "messaging", "id": target_id, "members": ["alice", "bob"], "distinct": true}),
        json!({"type": "messaging", "id": "!general", "members": ["alice"]}),
    ] {
        let (status, reply) = mallory.post("/v1/channels", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {reply}");
        assert_eq!(reply["code"], "validation_failed");
    }
    // A forged id that is not the hash of the members: 400 even for a member of the set.
    let forged = dm_cid("alice", &["carol"]);
    let (status, reply) = alice
        .post(
            "/v1/channels",
            json!({"type": "messaging", "id": forged.split_once(':').unwrap().1,
                   "members": ["bob"], "distinct": true}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
    // The derived id, sent by the SDK that computed it, is accepted.
    let (status, reply) = alice
        .post(
            "/v1/channels",
            json!({"type": "messaging", "id": target_id, "members": ["bob"], "distinct": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(reply["channel"]["cid"], target.as_str());
    let (status, _) = mallory.get(&path(&target)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Members of a distinct channel are fixed: no role adds anyone, no role removes others;
/// only server-side callers can.
#[tokio::test]
async fn nobody_adds_to_or_removes_from_a_distinct_channel() {
    let (server, app) = setup(&["alice", "bob", "carol"]).await;
    let (alice, bob) = (server.user(&app, "alice"), server.user(&app, "bob"));
    let admin = server.admin(&app);
    let (status, body) = open_dm(&alice, &["bob"]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let members = format!("{}/members", path(&dm_cid("alice", &["bob"])));
    let add_carol = json!({"members": [{"user_id": "carol"}]});
    // Alice is the owner: still 403, with a hint to start a new conversation.
    let (status, body) = alice.post(&members, add_carol.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("new conversation")
    );
    // An admin (role given server-side) cannot either.
    let (status, body) = admin
        .post(
            &members,
            json!({"members": [{"user_id": "bob", "role": "admin"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = bob.post(&members, add_carol.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = alice.delete(&format!("{members}/bob")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = bob.delete(&format!("{members}/alice")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // The app's backend may.
    let (status, body) = admin.post(&members, add_carol).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(member_ids(&body), ["alice", "bob", "carol"]);
    let (status, body) = admin.delete(&format!("{members}/carol")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(member_ids(&body), ["alice", "bob"]);
}

/// A member who left a distinct conversation comes back only through their own create.
#[tokio::test]
async fn a_member_who_left_returns_only_by_their_own_create() {
    let (server, app) = setup(&["alice", "bob"]).await;
    let (alice, bob) = (server.user(&app, "alice"), server.user(&app, "bob"));
    let cid = dm_cid("alice", &["bob"]);
    let (status, _) = open_dm(&alice, &["bob"]).await;
    assert_eq!(status, StatusCode::CREATED);
    let members = format!("{}/members", path(&cid));
    let (status, body) = bob.delete(&format!("{members}/bob")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(member_ids(&body), ["alice"]);
    alice.send(&cid, "are you there?").await;
    // Alice's create does not re-add Bob, nor does adding him.
    let (status, body) = open_dm(&alice, &["bob"]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(member_ids(&body), ["alice"]);
    let (status, body) = alice
        .post(&members, json!({"members": [{"user_id": "bob"}]}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = bob.get(&path(&cid)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Bob's own create brings him back, and only him.
    let (status, body) = open_dm(&bob, &["alice"]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(member_ids(&body), ["alice", "bob"]);
    assert_eq!(body["channel"]["member_count"], 2);
    let (status, body) = bob.get(&format!("{}/messages", path(&cid))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["messages"][0]["text"], "are you there?");
}

/// Explicit ids: a create replay answers 200 only to the creator with the same initial
/// member set (names and config may differ); members and strangers get 409.
#[tokio::test]
async fn explicit_ids_replay_only_for_their_creator() {
    let (server, app) = setup(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (
        server.user(&app, "alice"),
        server.user(&app, "bob"),
        server.user(&app, "carol"),
    );
    let create = |members: Value, name: &str| json!({"type": "team", "id": "ops", "name": name, "members": members});
    let (status, body) = alice
        .post("/v1/channels", create(json!(["bob"]), "Ops"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = alice
        .post(
            "/v1/channels",
            create(json!(["bob", "alice", "bob"]), "Renamed"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "a lost reply's retry: {body}");
    assert_eq!(body["channel"]["name"], "Ops", "a replay changes nothing");
    let (status, body) = alice
        .post("/v1/channels", create(json!(["bob", "carol"]), "Ops"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    for (who, members) in [(&bob, json!(["alice"])), (&carol, json!(["alice", "bob"]))] {
        let (status, body) = who.post("/v1/channels", create(members, "Ops")).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["code"], "conflict");
    }
    // Server-side creates follow the same rule, keyed on created_by.
    let admin = server.admin(&app);
    let mut as_alice = create(json!(["bob"]), "Ops");
    as_alice["created_by"] = json!("alice");
    let (status, body) = admin.post("/v1/channels", as_alice.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    as_alice["created_by"] = json!("bob");
    as_alice["members"] = json!(["alice"]);
    let (status, body) = admin.post("/v1/channels", as_alice).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

/// The same user ids in another app are another conversation: nothing crosses apps.
#[tokio::test]
async fn distinct_channels_stay_inside_their_app() {
    let (server, app) = setup(&["alice", "bob"]).await;
    let other = server.app("other").await;
    server.users(&other, &["alice", "bob"]).await;
    let cid = dm_cid("alice", &["bob"]);
    let (status, _) = open_dm(&server.user(&app, "alice"), &["bob"]).await;
    assert_eq!(status, StatusCode::CREATED);
    server.user(&app, "alice").send(&cid, "app one only").await;
    let bob2 = server.user(&other, "bob");
    let (status, body) = bob2.get(&path(&cid)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = open_dm(&bob2, &["alice"]).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a new channel in the other app: {body}"
    );
    assert_eq!(body["channel"]["cid"], cid.as_str());
    assert_eq!(body["messages"], json!([]));
}

/// Member lists are validated before any id is derived: too many, malformed ids (`,`
/// would make the hash input ambiguous), unknown users.
#[tokio::test]
async fn member_lists_are_validated() {
    let (server, app) = setup(&["alice", "bob"]).await;
    let alice = server.user(&app, "alice");
    let many: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    for members in [refs.as_slice(), &["bob,carol"], &[""], &["ghost"]] {
        let (status, body) = open_dm(&alice, members).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{members:?}: {body}");
        assert_eq!(body["code"], "validation_failed");
    }
    // Notes to self: a set of one is a conversation too.
    let (status, body) = open_dm(&alice, &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["channel"]["cid"], dm_cid("alice", &[]).as_str());
    assert_eq!(member_ids(&body), ["alice"]);
}

/// The `!` of derived ids works everywhere a cid travels: REST paths, channel queries
/// (their cursor embeds the cid) and `/v1/sync`.
#[tokio::test]
async fn derived_ids_work_in_paths_queries_and_sync() {
    let (server, app) = setup(&["alice", "bob", "carol"]).await;
    let (alice, bob) = (server.user(&app, "alice"), server.user(&app, "bob"));
    let cid = dm_cid("alice", &["bob"]);
    let (status, _) = open_dm(&alice, &["bob"]).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = open_dm(&alice, &["bob", "carol"]).await;
    assert_eq!(status, StatusCode::CREATED);
    let sent = bob.send(&cid, "hi alice").await;
    assert_eq!(sent["cid"], cid.as_str());
    let (status, body) = alice.get(&format!("{}?message_limit=5", path(&cid))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["messages"][0]["text"], "hi alice");
    let (status, body) = alice.post(&format!("{}/read", path(&cid)), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Page through both distinct channels one at a time: the cursor carries a `!` cid.
    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let (status, body) = alice
            .post(
                "/v1/channels/query",
                json!({"filter": {"type": "messaging"}, "limit": 1, "cursor": cursor}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        seen.push(body["channels"][0]["channel"]["cid"].clone());
        cursor = body["next_cursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0], cid.as_str(), "newest activity first");
    let (pages, _) = bob.sync_all(None, 1).await;
    let synced: Vec<&Value> = pages
        .iter()
        .flat_map(|p| p["limited"].as_array().into_iter().flatten())
        .map(|c| &c["channel"]["cid"])
        .collect();
    assert!(synced.contains(&&json!(cid)), "{synced:?}");
}
