//! The user's own channel settings and channel deletion from the SDK against the real
//! chat-server: a mute and a hide made offline show at once (the muted channel leaves the
//! total unread, the hidden one the channel list), survive a restart, are delivered once
//! and reach the user's other device only; a new message shows a hidden channel again;
//! the channel list's filters and orders; deleting a channel drops it at once for its
//! owner and, through sync, for every member; a member's delete is refused and the
//! channel comes back.

use std::time::Duration;

use crate::support::client::*;
use chat_core::client::{ChannelQuery, ChannelSort, ChatClient, Inclusion};
use chat_core::live::{ChannelItem, LiveList};
use chat_core::outbox::ItemState;
use chat_protocol::{AppCredentials, Cid};
use chat_test::TestServer;

/// alice owns `team:crew` (1 message) and `team:side` (2 messages), bob is in both.
async fn setup() -> (TestServer, AppCredentials, Cid, Cid) {
    let t = TestServer::start_unthrottled().await;
    let app = t.app_with_users(&["alice", "bob", "carol"]).await;
    let alice = t.user(&app, "alice");
    alice.create_channel("team:crew", &["bob"]).await;
    alice.create_channel("team:side", &["bob", "carol"]).await;
    alice.send("team:crew", "one").await;
    alice.send("team:side", "two").await;
    alice.send("team:side", "three").await;
    (
        t,
        app,
        "team:crew".parse().unwrap(),
        "team:side".parse().unwrap(),
    )
}

async fn synced(
    t: &TestServer,
    app: &AppCredentials,
    user: &str,
    dir: Option<&std::path::Path>,
) -> (ChatClient, std::sync::Arc<FaultyTransport>) {
    let net = FaultyTransport::new(&t.server.base_url());
    let client = client(t, app, user, dir, net.clone()).await;
    client.sync().await.unwrap();
    (client, net)
}

fn cids(list: &LiveList<ChannelItem>) -> Vec<String> {
    list.items()
        .iter()
        .map(|i| i.channel.cid.to_string())
        .collect()
}

/// The user's own settings of a channel on the server.
async fn server_state(
    t: &TestServer,
    app: &AppCredentials,
    user: &str,
    path: &str,
) -> (bool, bool) {
    let (status, state) = t.user(app, user).get(path).await;
    assert!(status.is_success(), "{status} {state}");
    let own = &state["own_state"];
    (own["hidden"] == true, own["muted"] == true)
}

#[tokio::test]
async fn offline_mute_and_hide_show_at_once_survive_a_restart_and_reach_the_other_device() {
    let (t, app, crew, side) = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let (bob, net) = synced(&t, &app, "bob", Some(dir.path())).await;
    let total = bob.total_unread().await.unwrap();
    assert_eq!(total.current().unread_count, 3);
    let mut list = bob.channel_list(20).await.unwrap();
    list.drain();
    assert_eq!(cids(&list), ["team:side", "team:crew"]);

    net.set_offline(true);
    bob.mute_channel(&crew, true).await.unwrap();
    bob.hide_channel(&side, true).await.unwrap();
    // At once, offline: the calls returned after the lists and the total moved.
    assert_eq!(
        total.current().unread_count,
        2,
        "the muted channel left the total"
    );
    list.drain();
    assert_eq!(
        cids(&list),
        ["team:crew"],
        "the hidden channel left the list"
    );
    assert!(list.items()[0].muted);
    // A list of hidden channels shows it at once too (its cached row is not hidden yet).
    let mut hidden = bob
        .channel_list(ChannelQuery::new(20).hidden(Inclusion::Only))
        .await
        .unwrap();
    hidden.drain();
    assert_eq!(cids(&hidden), ["team:side"]);
    assert!(hidden.items()[0].hidden);
    drop((list, total, hidden));
    bob.shutdown().await;
    assert_eq!(
        server_state(&t, &app, "bob", "/v1/channels/team/crew").await,
        (false, false)
    );

    // Restarted online: both are delivered, once each.
    let net = FaultyTransport::new(&t.server.base_url());
    let bob = client(&t, &app, "bob", Some(dir.path()), net.clone()).await;
    flushed(&bob).await;
    assert_eq!(net.count("Patch /v1/channels/team/crew/member"), 1);
    assert_eq!(net.count("Patch /v1/channels/team/side/member"), 1);
    assert_eq!(
        server_state(&t, &app, "bob", "/v1/channels/team/crew").await,
        (false, true)
    );
    assert_eq!(
        server_state(&t, &app, "bob", "/v1/channels/team/side").await,
        (true, false)
    );
    let mut total = bob.total_unread().await.unwrap();
    assert_eq!(
        total.current().unread_count,
        2,
        "confirmed: no flicker back"
    );

    // Bob's other device learns both through sync; carol (in `side`) learns nothing.
    let (phone, phone_net) = synced(&t, &app, "bob", None).await;
    let mut phone_list = phone.channel_list(20).await.unwrap();
    until(&mut phone_list, "the hidden channel gone", |items| {
        items.len() == 1 && items[0].channel.cid.to_string() == "team:crew" && items[0].muted
    })
    .await;
    let phone_total = phone.total_unread().await.unwrap();
    assert_eq!(phone_total.current().unread_count, 2);
    let (carol, _) = synced(&t, &app, "carol", None).await;
    let mut carol_list = carol.channel_list(20).await.unwrap();
    carol_list.drain();
    assert_eq!(cids(&carol_list), ["team:side"]);
    assert!(!carol_list.items()[0].hidden);

    // The channel list's options on the phone.
    let mut hidden = phone
        .channel_list(ChannelQuery::new(20).hidden(Inclusion::Only))
        .await
        .unwrap();
    hidden.drain();
    assert_eq!(cids(&hidden), ["team:side"]);
    let mut by_unread = phone
        .channel_list(
            ChannelQuery::new(20)
                .hidden(Inclusion::Include)
                .sorted_by(ChannelSort::Unread),
        )
        .await
        .unwrap();
    by_unread.drain();
    assert_eq!(cids(&by_unread), ["team:side", "team:crew"]);
    let mut found = phone
        .channel_list(
            ChannelQuery::new(20)
                .hidden(Inclusion::Include)
                .matching("CAROL"),
        )
        .await
        .unwrap();
    found.drain();
    assert_eq!(
        cids(&found),
        ["team:side"],
        "carol is a member of side only"
    );

    // Un-hiding shows it in the default list at once (offline, before any confirmation).
    let mut phone_hidden = phone
        .channel_list(ChannelQuery::new(20).hidden(Inclusion::Only))
        .await
        .unwrap();
    phone_hidden.drain();
    phone_net.set_offline(true);
    phone.hide_channel(&side, false).await.unwrap();
    phone_list.drain();
    phone_hidden.drain();
    assert_eq!(cids(&phone_list), ["team:side", "team:crew"]);
    assert!(phone_hidden.items().is_empty());
    phone_net.set_offline(false);
    flushed(&phone).await;
    bob.hide_channel(&side, true).await.unwrap();
    flushed(&bob).await;
    phone.sync().await.unwrap();
    until(&mut phone_list, "hidden again", |items| items.len() == 1).await;

    // A new message in the hidden channel shows it again, on every device of bob's.
    t.user(&app, "alice").send("team:side", "four").await;
    phone.sync().await.unwrap();
    until(&mut phone_list, "side shown again", |items| {
        items.len() == 2
    })
    .await;
    bob.sync().await.unwrap();
    until_value(&mut total, "side's new message counted", |v| {
        v.unread_count == 3
    })
    .await;
    // Unmuting counts the channel again.
    bob.mute_channel(&crew, false).await.unwrap();
    assert_eq!(total.current().unread_count, 4);
    for c in [bob, phone, carol] {
        c.shutdown().await;
    }
}

#[tokio::test]
async fn deleting_a_channel_drops_it_at_once_and_for_every_member() {
    let (t, app, crew, side) = setup().await;
    let (alice, net) = synced(&t, &app, "alice", None).await;
    let (bob, _) = synced(&t, &app, "bob", None).await;
    let mut bob_list = bob.channel_list(20).await.unwrap();
    bob_list.drain();
    assert_eq!(cids(&bob_list), ["team:side", "team:crew"]);

    // A member's delete is refused: a failed item, and the channel shows again.
    let refused = bob.delete_channel(&side).await.unwrap();
    bob_list.drain();
    assert_eq!(cids(&bob_list), ["team:crew"], "gone at once");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let items = bob.outbox().await.unwrap();
        if items.iter().any(|i| {
            i.op_id == refused && matches!(&i.state, ItemState::Failed(f) if f.status == 403)
        }) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{items:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    until(&mut bob_list, "side back", |items| items.len() == 2).await;

    // The owner deletes offline: gone from her list at once; delivered when back.
    let mut alice_list = alice.channel_list(20).await.unwrap();
    alice_list.drain();
    net.set_offline(true);
    alice.delete_channel(&crew).await.unwrap();
    alice_list.drain();
    assert_eq!(cids(&alice_list), ["team:side"]);
    net.set_offline(false);
    flushed(&alice).await;
    assert_eq!(net.count("Delete /v1/channels/team/crew"), 1);
    let mut window = alice.messages(&crew, 20).await.unwrap();
    window.drain();
    assert!(window.items().is_empty(), "the cached history is dropped");
    // Bob: through sync, the channel and its unread count are gone.
    let mut total = bob.total_unread().await.unwrap();
    bob.sync().await.unwrap();
    until(&mut bob_list, "crew gone", |items| items.len() == 1).await;
    until_value(&mut total, "crew's unread gone", |v| v.unread_count == 2).await;
    let (status, _) = t.user(&app, "bob").get("/v1/channels/team/crew").await;
    assert_eq!(status.as_u16(), 404);
    for c in [alice, bob] {
        c.shutdown().await;
    }
}
