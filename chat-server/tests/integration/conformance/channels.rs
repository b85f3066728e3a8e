//! Conformance: channel creation and membership rules every backend must enforce the same
//! way — distinct channels (cid derived from the member set, members fixed, leave and come
//! back by one's own create) and explicit-id creates as idempotent replays for their
//! creator only.

use chat_protocol::{ChannelType, Cid, CreateChannelRequest, MemberInput};
use chat_server::store::{Actor, NewChannel, Store, StoreError};

use super::{Factory, app_with_users, open};

fn distinct_req(members: &[&str]) -> CreateChannelRequest {
    CreateChannelRequest::distinct(
        ChannelType::Messaging,
        members.iter().map(|m| (*m).to_owned()).collect(),
    )
}

fn explicit_req(id: &str, members: &[&str]) -> CreateChannelRequest {
    CreateChannelRequest {
        id: Some(id.to_owned()),
        members: members.iter().map(|m| (*m).to_owned()).collect(),
        ..CreateChannelRequest::new(ChannelType::Team)
    }
}

async fn create(
    store: &dyn Store,
    app: &str,
    creator: &str,
    req: CreateChannelRequest,
) -> Result<(Vec<String>, bool), StoreError> {
    let cid = match &req.id {
        Some(id) => Cid::new(req.kind, id).unwrap(),
        None => Cid::distinct(req.kind, creator, &req.members),
    };
    let (state, created) = store
        .create_channel(app, creator, NewChannel { cid, req })
        .await?;
    let mut members: Vec<String> = state.members.into_iter().map(|m| m.user_id).collect();
    members.sort();
    Ok((members, created))
}

/// Distinct channels: one per member set whoever creates it; members are fixed for users
/// (server-side callers may still add); anyone may leave and only their own create brings
/// them back.
pub async fn distinct_channels(factory: Factory) {
    let (store, _rec, _g) = open(factory).await;
    let s = store.as_ref();
    let app = app_with_users(s, "a", &["alice", "bob", "carol"]).await;
    let app = app.app_id.as_str();
    let (members, created) = create(s, app, "alice", distinct_req(&["bob"]))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(members, ["alice", "bob"]);
    // Bob's create of the same pair is the same channel (200, nothing added).
    let (members, created) = create(s, app, "bob", distinct_req(&["alice", "bob"]))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(members, ["alice", "bob"]);
    let dm = Cid::distinct(ChannelType::Messaging, "alice", &["bob"]);
    let state = s
        .channel_state(app, &Actor::user("bob"), &dm, 0)
        .await
        .unwrap();
    assert!(state.channel.distinct);
    // Carol with the same "members" names a different set, hence a different channel.
    let (members, created) = create(s, app, "carol", distinct_req(&["alice", "bob"]))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(members, ["alice", "bob", "carol"]);
    // Nobody can add to it, not even its owner; server-side callers can.
    let carol = || {
        vec![MemberInput {
            user_id: "carol".into(),
            role: None,
        }]
    };
    let refused = s
        .add_members(app, &Actor::user("alice"), &dm, carol())
        .await;
    assert!(
        matches!(refused, Err(StoreError::Forbidden(_))),
        "{refused:?}"
    );
    // Nor remove others; leaving is always allowed.
    let refused = s
        .remove_member(app, &Actor::user("alice"), &dm, "bob")
        .await;
    assert!(
        matches!(refused, Err(StoreError::Forbidden(_))),
        "{refused:?}"
    );
    let left = s
        .remove_member(app, &Actor::user("bob"), &dm, "bob")
        .await
        .unwrap();
    assert_eq!(left.0.len(), 1);
    // Alice's create does not bring Bob back; Bob's own create does.
    let (members, _) = create(s, app, "alice", distinct_req(&["bob"]))
        .await
        .unwrap();
    assert_eq!(members, ["alice"]);
    let (members, created) = create(s, app, "bob", distinct_req(&["alice"]))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(members, ["alice", "bob"]);
    let state = s
        .channel_state(app, &Actor::server(None), &dm, 0)
        .await
        .unwrap();
    assert_eq!(state.channel.member_count, 2);
    let added = s
        .add_members(app, &Actor::server(None), &dm, carol())
        .await
        .unwrap();
    assert_eq!(added.len(), 3);
    // A cid that is not the derived one is refused.
    let forged = NewChannel {
        cid: Cid::distinct(ChannelType::Messaging, "alice", &["carol"]),
        req: distinct_req(&["bob"]),
    };
    let refused = s.create_channel(app, "alice", forged).await;
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );
    // Notes to self: a set of one.
    let (members, created) = create(s, app, "carol", distinct_req(&[])).await.unwrap();
    assert!(created);
    assert_eq!(members, ["carol"]);
}

/// An explicit id is an idempotent create: its creator's replay with the same initial
/// member set gets the channel; anyone else, or other members, a conflict.
pub async fn explicit_ids_replay_only_for_their_creator(factory: Factory) {
    let (store, _rec, _g) = open(factory).await;
    let s = store.as_ref();
    let app = app_with_users(s, "a", &["alice", "bob", "mallory"]).await;
    let app = app.app_id.as_str();
    let (_, created) = create(s, app, "mallory", explicit_req("squat", &["alice", "bob"]))
        .await
        .unwrap();
    assert!(created);
    // A member (not the creator) replaying the create: conflict, not the channel.
    let replay = create(s, app, "alice", explicit_req("squat", &["bob"])).await;
    assert!(matches!(replay, Err(StoreError::Conflict(_))), "{replay:?}");
    // The creator's replay: same set in another order and with duplicates → 200.
    let (members, created) = create(
        s,
        app,
        "mallory",
        explicit_req("squat", &["bob", "alice", "mallory", "bob"]),
    )
    .await
    .unwrap();
    assert!(!created);
    assert_eq!(members, ["alice", "bob", "mallory"]);
    // The creator with another member set → conflict.
    let replay = create(s, app, "mallory", explicit_req("squat", &["alice"])).await;
    assert!(matches!(replay, Err(StoreError::Conflict(_))), "{replay:?}");
    // A `!` id without `distinct` never reaches a row.
    let bang = Cid::distinct(ChannelType::Team, "mallory", &["alice"]);
    let refused = s
        .create_channel(
            app,
            "mallory",
            NewChannel {
                req: explicit_req(bang.id(), &["alice"]),
                cid: bang,
            },
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );
    // The creator who left cannot rejoin by replaying the create.
    let cid = Cid::new(ChannelType::Team, "squat").unwrap();
    let (members, gone) = s
        .remove_member(app, &Actor::user("mallory"), &cid, "mallory")
        .await
        .unwrap();
    // The answer carries the tombstone, stamped like the change every member receives.
    assert!(gone.deleted && gone.user_id == "mallory", "{gone:?}");
    assert!(!members.iter().any(|m| m.user_id == "mallory"));
    // Stamped with the removal's seq: newer than every remaining membership, and
    // committed (the member count's channel change follows it).
    let (_, info) = s.subscribe(app, "alice").await.unwrap();
    assert!(gone.rev <= info.seq, "{gone:?} {info:?}");
    assert!(
        members.iter().all(|m| m.rev < gone.rev),
        "{members:?} {gone:?}"
    );
    let replay = create(s, app, "mallory", explicit_req("squat", &["alice", "bob"])).await;
    assert!(matches!(replay, Err(StoreError::Conflict(_))), "{replay:?}");
}
