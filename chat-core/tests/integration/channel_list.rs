//! The channel list re-sorts at once on a local send, offline: the channel moves to the top
//! (also into a list whose limit left it out), before the server has seen the message, and
//! stays there when the server's answer and a sync come.

use crate::support::client::*;
use chat_core::client::NewMessage;
use chat_core::live::{ChannelItem, LiveList};
use chat_test::TestServer;

fn order(list: &LiveList<ChannelItem>) -> Vec<String> {
    list.items()
        .iter()
        .map(|i| i.channel.cid.to_string())
        .collect()
}

#[tokio::test]
async fn a_local_send_moves_its_channel_up_at_once() {
    let t = TestServer::start_unthrottled().await;
    let app = t.app_with_users(&["alice", "bob"]).await;
    let bob = t.user(&app, "bob");
    for c in ["team:quiet", "team:middle", "team:busy"] {
        bob.create_channel(c, &["alice"]).await;
        bob.send(c, &format!("first in {c}")).await;
    }
    let net = FaultyTransport::new(&t.server.base_url());
    let alice = client(&t, &app, "alice", None, net.clone()).await;
    alice.sync().await.unwrap();
    let mut list = alice.channel_list(10).await.unwrap();
    let mut top = alice.channel_list(1).await.unwrap();
    list.drain();
    top.drain();
    assert_eq!(order(&list), ["team:busy", "team:middle", "team:quiet"]);
    assert_eq!(order(&top), ["team:busy"]);

    net.set_offline(true);
    let quiet = "team:quiet".parse().unwrap();
    alice
        .send_message(&quiet, NewMessage::text("moving up"))
        .await
        .unwrap();
    list.drain();
    top.drain();
    assert_eq!(order(&list), ["team:quiet", "team:busy", "team:middle"]);
    assert_eq!(
        list.items()[0].last_message.as_ref().unwrap().message.text,
        "moving up"
    );
    assert_eq!(
        order(&top),
        ["team:quiet"],
        "into a list its limit left it out of"
    );

    // Delivered and synced: the server's time keeps it on top.
    net.set_offline(false);
    alice.network_available().await.unwrap();
    flushed(&alice).await;
    alice.sync().await.unwrap();
    until(&mut list, "the confirmed order", |items| {
        items[0].channel.cid.to_string() == "team:quiet"
            && items[0].channel.last_message_at.is_some_and(|at| {
                items[1]
                    .channel
                    .last_message_at
                    .is_some_and(|other| at > other)
            })
    })
    .await;
    assert_eq!(order(&list), ["team:quiet", "team:busy", "team:middle"]);
    alice.shutdown().await;
}
