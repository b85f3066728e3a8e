//! Conformance: a member's own settings (hide / mute / archive). Private to the member
//! (synced and published to that user alone), cleared `hidden` on a new top-level message,
//! muted channels out of the unread totals, reset by a new membership, refused to
//! outsiders.

use chat_protocol::realtime::RealtimeEvent;
use chat_protocol::{Change, MemberState, UpdateMemberStateRequest};
use chat_server::store::{Actor, StoreError, SyncPosition};

use super::{Factory, app_with_users, channel, msg, open};

fn req(
    hidden: Option<bool>,
    muted: Option<bool>,
    archived: Option<bool>,
) -> UpdateMemberStateRequest {
    UpdateMemberStateRequest {
        hidden,
        muted,
        archived,
    }
}

/// Hide, mute and archive: stored, synced and published to the member alone; idempotent;
/// `hidden` clears itself on the next top-level message (not on a reply); muted channels
/// leave the unread totals; a re-join starts fresh; outsiders are refused.
pub async fn member_state_is_private_synced_and_cleared_by_messages(factory: Factory) {
    let (store, rec, _g) = open(factory).await;
    let app = app_with_users(store.as_ref(), "a", &["u0", "u1", "u2"]).await;
    let a = &app.app_id;
    let cid = channel(store.as_ref(), a, "u0", "c", &["u1"]).await;
    let other = channel(store.as_ref(), a, "u0", "d", &["u1"]).await;
    let fresh = store
        .channel_state(a, &Actor::user("u1"), &cid, 0)
        .await
        .unwrap();
    assert_eq!(
        fresh.own_state,
        Some(MemberState {
            cid: cid.clone(),
            user_id: "u1".into(),
            hidden: false,
            muted: false,
            archived: false,
            rev: 0,
        })
    );
    let start = SyncPosition::decode(&store.sync(a, "u1", None, 10).await.unwrap().cursor).unwrap();
    let u0_start =
        SyncPosition::decode(&store.sync(a, "u0", None, 10).await.unwrap().cursor).unwrap();
    rec.log.lock().unwrap().clear();

    let muted = store
        .set_member_state(a, "u1", &cid, req(None, Some(true), Some(true)))
        .await
        .unwrap();
    assert!(muted.muted && muted.archived && !muted.hidden && muted.rev > 0);
    // Setting the current values again changes nothing: same rev, nothing published.
    let again = store
        .set_member_state(a, "u1", &cid, req(None, Some(true), None))
        .await
        .unwrap();
    assert_eq!(again, muted);
    let hidden = store
        .set_member_state(a, "u1", &cid, req(Some(true), None, None))
        .await
        .unwrap();
    assert!(hidden.hidden && hidden.muted && hidden.archived && hidden.rev > muted.rev);
    let published: Vec<(Vec<String>, RealtimeEvent)> = rec
        .log
        .lock()
        .unwrap()
        .iter()
        .map(|(to, d)| (to.clone(), serde_json::from_str(d).unwrap()))
        .collect();
    assert_eq!(published.len(), 2, "one publication per real change");
    for (to, event) in &published {
        assert_eq!(
            to,
            &["u1".to_owned()],
            "only the member hears its own settings"
        );
        assert!(
            matches!(event, RealtimeEvent::Change(c) if matches!(c.change, Change::MemberState(_)))
        );
    }
    // Sync: the member gets the latest state once; the other member nothing.
    let diff = store.sync(a, "u1", Some(start.clone()), 100).await.unwrap();
    let states: Vec<&MemberState> = diff
        .changes
        .iter()
        .filter_map(|c| match &c.change {
            Change::MemberState(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(states, [&hidden]);
    let u0_diff = store.sync(a, "u0", Some(u0_start), 100).await.unwrap();
    assert!(u0_diff.changes.is_empty(), "{:?}", u0_diff.changes);
    // A channel state read by the member carries the settings; another member's does not.
    let seen = store
        .channel_state(a, &Actor::user("u1"), &cid, 0)
        .await
        .unwrap();
    assert_eq!(seen.own_state.as_ref(), Some(&hidden));
    let by_u0 = store
        .channel_state(a, &Actor::user("u0"), &cid, 0)
        .await
        .unwrap();
    assert!(!by_u0.own_state.unwrap().muted);

    // Muted: the channel keeps its own count but leaves the totals.
    store
        .send_message(a, "u0", &other, msg("o"), false)
        .await
        .unwrap();
    let (root, _) = store
        .send_message(a, "u0", &cid, msg("m"), false)
        .await
        .unwrap();
    let unread = store.unread(a, "u1").await.unwrap();
    assert_eq!(
        unread.total_unread_count, 1,
        "the muted channel counts toward no total"
    );
    assert!(
        unread
            .channels
            .iter()
            .any(|c| c.cid == cid && c.unread_count == 1)
    );

    // The top-level message showed the hidden channel again, to u1 alone.
    let shown = store
        .channel_state(a, &Actor::user("u1"), &cid, 0)
        .await
        .unwrap();
    let shown = shown.own_state.unwrap();
    assert!(!shown.hidden && shown.muted && shown.archived && shown.rev > hidden.rev);
    let diff = store.sync(a, "u1", Some(start), 100).await.unwrap();
    assert!(
        diff.changes
            .iter()
            .any(|c| matches!(&c.change, Change::MemberState(s) if *s == shown))
    );
    // A reply does not: hide again, reply, still hidden.
    store
        .set_member_state(a, "u1", &cid, req(Some(true), None, None))
        .await
        .unwrap();
    let mut reply = msg("r");
    reply.parent_id = Some(root.id);
    store
        .send_message(a, "u0", &cid, reply, false)
        .await
        .unwrap();
    let after_reply = store
        .channel_state(a, &Actor::user("u1"), &cid, 0)
        .await
        .unwrap();
    assert!(after_reply.own_state.unwrap().hidden);

    // Outsiders and former members are refused; a re-join starts with everything off.
    assert!(matches!(
        store
            .set_member_state(a, "u2", &cid, req(None, Some(true), None))
            .await,
        Err(StoreError::NotFound(_))
    ));
    store
        .remove_member(a, &Actor::user("u1"), &cid, "u1")
        .await
        .unwrap();
    assert!(matches!(
        store
            .set_member_state(a, "u1", &cid, req(None, Some(false), None))
            .await,
        Err(StoreError::NotAMember(_))
    ));
    store
        .add_members(
            a,
            &Actor::user("u0"),
            &cid,
            vec![chat_protocol::MemberInput {
                user_id: "u1".into(),
                role: None,
            }],
        )
        .await
        .unwrap();
    let rejoined = store
        .channel_state(a, &Actor::user("u1"), &cid, 0)
        .await
        .unwrap();
    let rejoined = rejoined.own_state.unwrap();
    assert!(!rejoined.hidden && !rejoined.muted && !rejoined.archived);
    // Another app never sees the channel.
    let b = app_with_users(store.as_ref(), "b", &["u1"]).await;
    assert!(matches!(
        store
            .set_member_state(&b.app_id, "u1", &cid, req(None, Some(true), None))
            .await,
        Err(StoreError::NotFound(_))
    ));
}

/// Deleting a channel: owners, admins and server-side callers only (not members of a
/// distinct channel); every member gets its own tombstone, by sync and live, and nothing
/// else; the channel then answers like a missing one, and its cid is never reused.
pub async fn a_deleted_channel_disappears_for_every_member(factory: Factory) {
    let (store, rec, _g) = open(factory).await;
    let app = app_with_users(store.as_ref(), "a", &["u0", "u1", "u2", "u3"]).await;
    let a = &app.app_id;
    let cid = channel(store.as_ref(), a, "u0", "c", &["u1", "u2"]).await;
    let (sent, _) = store
        .send_message(a, "u1", &cid, msg("x"), false)
        .await
        .unwrap();
    let starts: Vec<SyncPosition> = {
        let mut v = Vec::new();
        for u in ["u0", "u1", "u2"] {
            v.push(
                SyncPosition::decode(&store.sync(a, u, None, 10).await.unwrap().cursor).unwrap(),
            );
        }
        v
    };
    // A plain member and an outsider cannot.
    assert!(matches!(
        store.delete_channel(a, &Actor::user("u1"), &cid).await,
        Err(StoreError::Forbidden(_))
    ));
    assert!(matches!(
        store.delete_channel(a, &Actor::user("u3"), &cid).await,
        Err(StoreError::NotFound(_))
    ));
    rec.log.lock().unwrap().clear();
    let (deleted, own) = store
        .delete_channel(a, &Actor::user("u0"), &cid)
        .await
        .unwrap();
    assert_eq!(deleted.cid, cid);
    let own = own.expect("the owner was a member");
    assert!(own.deleted && own.user_id == "u0");
    // Live: each member hears exactly its own tombstone.
    let log = rec.log.lock().unwrap().clone();
    assert_eq!(log.len(), 3, "{log:?}");
    for (to, data) in &log {
        assert_eq!(to.len(), 1);
        match serde_json::from_str::<RealtimeEvent>(data).unwrap() {
            RealtimeEvent::Change(c) => {
                assert!(matches!(&c.change, Change::Member(m) if m.deleted && m.user_id == to[0]));
            }
            other => panic!("{other:?}"),
        }
    }
    // Sync: the same, for every member.
    for (u, start) in ["u0", "u1", "u2"].into_iter().zip(starts) {
        let diff = store.sync(a, u, Some(start), 100).await.unwrap();
        assert_eq!(diff.changes.len(), 1, "{u}: {:?}", diff.changes);
        assert!(
            matches!(&diff.changes[0].change, Change::Member(m) if m.deleted && m.user_id == u)
        );
    }
    // Gone: reads and writes answer like a missing channel, or a former member's refusal.
    assert!(matches!(
        store.channel_state(a, &Actor::server(None), &cid, 0).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.send_message(a, "u1", &cid, msg("late"), false).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        store
            .delete_message(a, &Actor::user("u1"), sent.id)
            .await
            .is_err()
    );
    assert!(matches!(
        store.delete_channel(a, &Actor::user("u0"), &cid).await,
        Err(StoreError::NotFound(_))
    ));
    let listed = store
        .query_channels(
            a,
            &Actor::server(None),
            chat_protocol::QueryChannelsRequest::default(),
        )
        .await
        .unwrap();
    assert!(listed.0.iter().all(|s| s.channel.cid != cid));
    // The cid is never reused: old messages cannot reappear in a new channel.
    let again = store
        .create_channel(
            a,
            "u0",
            chat_server::store::NewChannel {
                cid: cid.clone(),
                req: chat_protocol::CreateChannelRequest {
                    kind: chat_protocol::ChannelType::Team,
                    id: Some("c".into()),
                    name: None,
                    image: None,
                    members: vec![],
                    config: None,
                    created_by: None,
                    distinct: false,
                },
            },
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    // Server-side callers delete any channel; members of a distinct one cannot.
    let other = channel(store.as_ref(), a, "u1", "d", &["u2"]).await;
    let (_, none) = store
        .delete_channel(a, &Actor::server(None), &other)
        .await
        .unwrap();
    assert!(none.is_none());
    let dm = chat_protocol::Cid::distinct(
        chat_protocol::ChannelType::Messaging,
        "u0",
        &["u1".to_owned()],
    );
    store
        .create_channel(
            a,
            "u0",
            chat_server::store::NewChannel {
                cid: dm.clone(),
                req: chat_protocol::CreateChannelRequest {
                    id: Some(dm.id().to_owned()),
                    ..chat_protocol::CreateChannelRequest::distinct(
                        chat_protocol::ChannelType::Messaging,
                        vec!["u1".into()],
                    )
                },
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        store.delete_channel(a, &Actor::user("u0"), &dm).await,
        Err(StoreError::Forbidden(_))
    ));
}
