//! Channel and member management from the SDK against the real chat-server: a rename, an
//! added member and a role change made offline show at once, survive a restart, are
//! delivered once and reach the other members; leaving hides the channel at once and drops
//! it when the server confirms; a change the user's role does not allow fails as an outbox
//! item and the lists show the server's truth again.

use std::time::Duration;

use crate::support::client::*;
use chat_core::client::ChatClient;
use chat_core::live::{ChannelItem, LiveList, MemberItem};
use chat_core::outbox::ItemState;
use chat_protocol::{AppCredentials, Cid, MemberRole, UpdateChannelRequest};
use chat_test::TestServer;

async fn setup() -> (TestServer, AppCredentials, Cid) {
    let t = TestServer::start_unthrottled().await;
    let app = t.app_with_users(&["alice", "bob", "carol", "dave"]).await;
    t.user(&app, "alice")
        .create_channel("team:crew", &["bob", "dave"])
        .await;
    (t, app, "team:crew".parse().unwrap())
}

/// A client of `user` that has synced (its cache holds the channel).
async fn synced(
    t: &TestServer,
    app: &AppCredentials,
    user: &str,
    dir: Option<&std::path::Path>,
    net: std::sync::Arc<FaultyTransport>,
) -> ChatClient {
    let client = client(t, app, user, dir, net).await;
    client.sync().await.unwrap();
    client
}

fn names(list: &LiveList<ChannelItem>) -> Vec<(String, Option<String>)> {
    list.items()
        .iter()
        .map(|i| (i.channel.cid.to_string(), i.channel.name.clone()))
        .collect()
}

fn roster(items: &[MemberItem]) -> Vec<(&str, MemberRole, bool)> {
    items
        .iter()
        .map(|m| (m.user_id.as_str(), m.role, m.pending))
        .collect()
}

/// The channel's members on the server, with their roles, in join order.
async fn server_members(t: &TestServer, app: &AppCredentials, user: &str) -> Vec<(String, String)> {
    let (status, state) = t.user(app, user).get("/v1/channels/team/crew").await;
    assert!(status.is_success(), "{status} {state}");
    state["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            (
                m["user_id"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn offline_channel_changes_show_at_once_survive_a_restart_and_reach_everyone() {
    let (t, app, cid) = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let net = FaultyTransport::new(&t.server.base_url());
    let alice = synced(&t, &app, "alice", Some(dir.path()), net.clone()).await;
    net.set_offline(true);

    let mut channels = alice.channel_list(20).await.unwrap();
    let mut members = alice.members(&cid).await.unwrap();
    members.drain();
    assert_eq!(
        roster(members.items()),
        vec![
            ("alice", MemberRole::Owner, false),
            ("bob", MemberRole::Member, false),
            ("dave", MemberRole::Member, false),
        ]
    );
    let rename = UpdateChannelRequest {
        name: Some("The crew".into()),
        ..Default::default()
    };
    alice.update_channel(&cid, rename).await.unwrap();
    alice.add_members(&cid, &["carol"]).await.unwrap();
    alice
        .set_member_role(&cid, "bob", MemberRole::Moderator)
        .await
        .unwrap();
    alice.remove_member(&cid, "dave").await.unwrap();
    // The lists show it all at once, offline: the call returned after their diffs.
    channels.drain();
    assert_eq!(
        names(&channels),
        vec![("team:crew".to_owned(), Some("The crew".to_owned()))]
    );
    until(&mut members, "the queued member changes", |items| {
        roster(items)
            == vec![
                ("alice", MemberRole::Owner, false),
                ("bob", MemberRole::Moderator, true),
                ("carol", MemberRole::Member, true),
            ]
    })
    .await;
    assert!(members.items()[2].joined_at.is_none());
    drop((channels, members));
    alice.shutdown().await;

    // Restarted online: everything queued is delivered once.
    let net = FaultyTransport::new(&t.server.base_url());
    let alice = client(&t, &app, "alice", Some(dir.path()), net.clone()).await;
    let mut members = alice.members(&cid).await.unwrap();
    members.drain();
    // Queued or already confirmed (the restarted client sends at once): carol is listed.
    assert_eq!(members.items()[2].user_id, "carol");
    flushed(&alice).await;
    until(&mut members, "the confirmed member list", |items| {
        roster(items)
            == vec![
                ("alice", MemberRole::Owner, false),
                ("bob", MemberRole::Moderator, false),
                ("carol", MemberRole::Member, false),
            ]
            && items.iter().all(|m| m.joined_at.is_some())
    })
    .await;
    assert_eq!(net.count("Patch /v1/channels/team/crew"), 1);
    assert_eq!(net.count("Post /v1/channels/team/crew/members"), 2);
    assert_eq!(net.count("Delete /v1/channels/team/crew/members/dave"), 1);
    assert_eq!(
        server_members(&t, &app, "alice").await,
        vec![
            ("alice".to_owned(), "owner".to_owned()),
            ("bob".to_owned(), "moderator".to_owned()),
            ("carol".to_owned(), "member".to_owned()),
        ]
    );

    // Carol, added, gets the channel with its new name; dave no longer has it.
    let carol = synced(
        &t,
        &app,
        "carol",
        None,
        FaultyTransport::new(&t.server.base_url()),
    )
    .await;
    let mut list = carol.channel_list(20).await.unwrap();
    list.drain();
    assert_eq!(
        names(&list),
        vec![("team:crew".to_owned(), Some("The crew".to_owned()))]
    );
    let dave = synced(
        &t,
        &app,
        "dave",
        None,
        FaultyTransport::new(&t.server.base_url()),
    )
    .await;
    let mut list = dave.channel_list(20).await.unwrap();
    list.drain();
    assert!(list.items().is_empty());
    for c in [alice, carol, dave] {
        c.shutdown().await;
    }
}

#[tokio::test]
async fn leaving_hides_the_channel_at_once_and_drops_it_when_confirmed() {
    let (t, app, cid) = setup().await;
    let net = FaultyTransport::new(&t.server.base_url());
    let bob = synced(&t, &app, "bob", None, net.clone()).await;
    t.user(&app, "alice")
        .send("team:crew", "before bob left")
        .await;
    bob.sync().await.unwrap();
    let mut channels = bob.channel_list(20).await.unwrap();
    channels.drain();
    assert_eq!(channels.items().len(), 1);

    net.set_offline(true);
    bob.leave_channel(&cid).await.unwrap();
    channels.drain();
    assert!(channels.items().is_empty(), "hidden at once, offline");

    // Back online (the outbox retries on its own): the leave's answer carries bob's
    // tombstone, and applying it drops the channel and its history from the cache — not
    // just hidden any more, and without waiting for a sync.
    let syncs = net.count("Get /v1/sync");
    net.set_offline(false);
    flushed(&bob).await;
    assert_eq!(net.count("Get /v1/sync"), syncs, "no sync ran");
    let mut window = bob.messages(&cid, 20).await.unwrap();
    window.drain();
    assert!(window.items().is_empty(), "{:#?}", window.items());
    let mut members = bob.members(&cid).await.unwrap();
    members.drain();
    assert!(members.items().is_empty(), "{:#?}", members.items());
    bob.sync().await.unwrap();
    channels.drain();
    assert!(channels.items().is_empty(), "a sync does not bring it back");
    assert!(
        !server_members(&t, &app, "alice")
            .await
            .iter()
            .any(|(u, _)| u == "bob")
    );
    bob.shutdown().await;
}

#[tokio::test]
async fn a_change_the_role_does_not_allow_fails_and_the_lists_show_the_server_again() {
    let (t, app, cid) = setup().await;
    let bob = synced(
        &t,
        &app,
        "bob",
        None,
        FaultyTransport::new(&t.server.base_url()),
    )
    .await;
    let mut channels = bob.channel_list(20).await.unwrap();
    let mut members = bob.members(&cid).await.unwrap();
    let rename = UpdateChannelRequest {
        name: Some("bob's now".into()),
        ..Default::default()
    };
    let renamed = bob.update_channel(&cid, rename).await.unwrap();
    let removed = bob.remove_member(&cid, "alice").await.unwrap();
    // Both refused (a member may neither rename nor remove the owner): failed items...
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let items = bob.outbox().await.unwrap();
        let failed: Vec<_> = items
            .iter()
            .filter(|i| matches!(&i.state, ItemState::Failed(f) if f.status == 403))
            .map(|i| i.op_id)
            .collect();
        if failed == [renamed, removed] {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{items:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ...and the lists show the server's truth again.
    until(&mut channels, "the old name", |items| {
        items.len() == 1 && items[0].channel.name.is_none()
    })
    .await;
    until(&mut members, "alice back", |items| {
        roster(items).first() == Some(&("alice", MemberRole::Owner, false))
    })
    .await;
    // Bad input is refused before anything is queued.
    assert!(
        bob.update_channel(&cid, UpdateChannelRequest::default())
            .await
            .is_err()
    );
    assert!(bob.remove_member(&cid, "../alice").await.is_err());
    assert!(bob.add_members(&cid, &[]).await.is_err());
    assert_eq!(bob.outbox().await.unwrap().len(), 2);
    bob.shutdown().await;
}

/// `@` suggestions: local (offline too), by case-insensitive id prefix, the most recent
/// author first, never the user themselves, with a member being added included.
#[tokio::test]
async fn mention_candidates_rank_recent_authors_first_and_work_offline() {
    let (t, app, c) = setup().await;
    let text = |user: &str, s: &str| {
        let api = t.user(&app, user);
        let s = s.to_owned();
        async move { api.send_text("team:crew", &s, None).await }
    };
    text("dave", "dave was here first").await;
    text("bob", "then bob").await;
    text("alice", "alice, the newest").await;
    let net = FaultyTransport::new(&t.server.base_url());
    let alice = synced(&t, &app, "alice", None, net.clone()).await;
    let ids =
        |items: Vec<MemberItem>| -> Vec<String> { items.into_iter().map(|m| m.user_id).collect() };

    net.set_offline(true);
    let all = alice.mention_candidates(&c, "", 10).await.unwrap();
    assert_eq!(
        ids(all),
        ["bob", "dave"],
        "recent authors first; never alice"
    );
    assert_eq!(
        ids(alice.mention_candidates(&c, "D", 10).await.unwrap()),
        ["dave"]
    );
    assert!(
        alice
            .mention_candidates(&c, "x", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(alice.mention_candidates(&c, "", 1).await.unwrap()),
        ["bob"]
    );

    // Carol, being added offline, is suggested at once (after the authors).
    alice.add_members(&c, &["carol"]).await.unwrap();
    let with_carol = alice.mention_candidates(&c, "", 10).await.unwrap();
    assert_eq!(ids(with_carol.clone()), ["bob", "dave", "carol"]);
    assert!(with_carol[2].pending);
    alice.shutdown().await;
}
