//! Unread counts: every backend counts the same messages, whatever it stores per user. A
//! member's unread messages in a channel are the live messages of others after both its
//! read marker and the moment it (last) joined, thread replies included; its unread
//! mentions are the messages that mention it (at send or by a later edit) after its marker.
//! `unread`, `mark_read` and the channel state agree.

use chat_protocol::{Cid, MemberInput, SendMessageRequest, UpdateMessageRequest};
use chat_server::store::{Actor, Store};
use uuid::Uuid;

use super::{Factory, app_with_users, channel, msg, open};

/// (unread, unread mentions) of `user` in `cid`, checked to agree across the three ways a
/// client reads them.
async fn counts(store: &dyn Store, app: &str, user: &str, cid: &Cid) -> (u32, u32) {
    let all = store.unread(app, user).await.unwrap();
    let listed = all
        .channels
        .iter()
        .find(|c| &c.cid == cid)
        .map(|c| (c.unread_count, c.unread_mentions));
    let state = store
        .channel_state(app, &Actor::user(user), cid, 1)
        .await
        .map(|s| (s.unread.unread_count, s.unread.unread_mentions));
    let counted = match (listed, state) {
        // A channel with nothing unread is left out of the list.
        (None, Ok(s)) => {
            assert_eq!(
                s,
                (0, 0),
                "{user} in {cid}: listed nowhere but the state says {s:?}"
            );
            s
        }
        (Some(l), Ok(s)) => {
            assert_eq!(
                l, s,
                "{user} in {cid}: unread() and the channel state disagree"
            );
            l
        }
        // Not a member (any more): nothing is unread.
        (l, Err(_)) => {
            assert_eq!(l, None, "{user} is no member of {cid} but has unread there");
            (0, 0)
        }
    };
    assert_eq!(
        all.total_unread_count,
        all.channels
            .iter()
            .map(|c| u64::from(c.unread_count))
            .sum::<u64>()
    );
    assert!(all.channels.iter().all(|c| c.unread_count > 0));
    counted
}

pub(crate) fn mentioning(text: &str, users: &[&str]) -> SendMessageRequest {
    SendMessageRequest {
        mentioned_users: users.iter().map(|u| (*u).to_owned()).collect(),
        ..msg(text)
    }
}

fn reply(text: &str, parent: Uuid) -> SendMessageRequest {
    SendMessageRequest {
        parent_id: Some(parent),
        ..msg(text)
    }
}

/// The whole life of a channel's unread counts: sends, replies, the marker, deletes, late
/// joiners, leaving and coming back, mentions at send and by edit.
pub async fn unread_counts_follow_the_marker_and_the_membership(factory: Factory) {
    let (store, _rec, _g) = open(factory).await;
    let s = store.as_ref();
    let app = app_with_users(s, "unread", &["ann", "bob", "cat", "dan"]).await;
    let a = &app.app_id;
    let cid = channel(s, a, "ann", "unread", &["bob", "cat"]).await;
    let other = channel(s, a, "bob", "elsewhere", &["ann"]).await;

    // Others' messages are unread; one's own never.
    let mut sent = Vec::new();
    for i in 0..4 {
        let (m, _) = s
            .send_message(a, "ann", &cid, msg(&format!("m{i}")), false)
            .await
            .unwrap();
        sent.push(m.id);
    }
    s.send_message(a, "bob", &other, msg("other"), false)
        .await
        .unwrap();
    assert_eq!(counts(s, a, "ann", &cid).await, (0, 0));
    assert_eq!(counts(s, a, "bob", &cid).await, (4, 0));
    assert_eq!(counts(s, a, "ann", &other).await, (1, 0));
    assert_eq!(s.unread(a, "ann").await.unwrap().total_unread_count, 1);

    // Thread replies count too.
    s.send_message(a, "ann", &cid, reply("in the thread", sent[0]), false)
        .await
        .unwrap();
    assert_eq!(counts(s, a, "bob", &cid).await, (5, 0));

    // The marker: up to a message, then to the newest.
    let marked = s.mark_read(a, "bob", &cid, Some(sent[1])).await.unwrap();
    assert_eq!(
        (marked.unread.unread_count, marked.unread.unread_mentions),
        (3, 0)
    );
    assert_eq!(counts(s, a, "bob", &cid).await, (3, 0));
    // A marker never moves back.
    s.mark_read(a, "bob", &cid, Some(sent[0])).await.unwrap();
    assert_eq!(counts(s, a, "bob", &cid).await, (3, 0));

    // A deleted message is unread for nobody.
    s.delete_message(a, &Actor::user("ann"), sent[3])
        .await
        .unwrap();
    assert_eq!(counts(s, a, "bob", &cid).await, (2, 0));
    assert_eq!(counts(s, a, "cat", &cid).await, (4, 0));
    let marked = s.mark_read(a, "bob", &cid, None).await.unwrap();
    assert_eq!(
        (marked.unread.unread_count, marked.unread.unread_mentions),
        (0, 0)
    );

    // A late joiner starts with nothing unread.
    s.add_members(
        a,
        &Actor::user("ann"),
        &cid,
        vec![MemberInput {
            user_id: "dan".into(),
            role: None,
        }],
    )
    .await
    .unwrap();
    assert_eq!(counts(s, a, "dan", &cid).await, (0, 0));

    // Mentions: at send, read by the marker; the author's own mention is never unread.
    let (hi, _) = s
        .send_message(
            a,
            "ann",
            &cid,
            mentioning("hi @bob @dan @ann", &["bob", "dan", "ann"]),
            false,
        )
        .await
        .unwrap();
    assert_eq!(counts(s, a, "bob", &cid).await, (1, 1));
    assert_eq!(counts(s, a, "dan", &cid).await, (1, 1));
    assert_eq!(counts(s, a, "cat", &cid).await, (5, 0));
    assert_eq!(counts(s, a, "ann", &cid).await, (0, 0));
    s.mark_read(a, "dan", &cid, None).await.unwrap();
    assert_eq!(counts(s, a, "dan", &cid).await, (0, 0));

    // By edit: a mention added on a message the member has not read is an unread mention;
    // on one it has read, it is not; a mention taken away no longer counts.
    let edit = |users: &[&str]| UpdateMessageRequest {
        text: None,
        attachments: None,
        mentioned_users: Some(users.iter().map(|u| (*u).to_owned()).collect()),
    };
    s.update_message(a, &Actor::user("ann"), hi.id, edit(&["bob", "dan", "cat"]))
        .await
        .unwrap();
    assert_eq!(counts(s, a, "cat", &cid).await, (5, 1));
    assert_eq!(counts(s, a, "bob", &cid).await, (1, 1));
    assert_eq!(counts(s, a, "dan", &cid).await, (0, 0));
    s.update_message(a, &Actor::user("ann"), hi.id, edit(&["dan"]))
        .await
        .unwrap();
    assert_eq!(counts(s, a, "cat", &cid).await, (5, 0));
    assert_eq!(counts(s, a, "bob", &cid).await, (1, 0));
    // ... and given back before bob read it, it counts again.
    s.update_message(a, &Actor::user("ann"), hi.id, edit(&["bob"]))
        .await
        .unwrap();
    assert_eq!(counts(s, a, "bob", &cid).await, (1, 1));
    // Starring a message does not make it read or unread.
    s.set_starred(a, "cat", sent[2], true).await.unwrap();
    assert_eq!(counts(s, a, "cat", &cid).await, (5, 0));
    s.mark_read(a, "bob", &cid, None).await.unwrap();
    assert_eq!(counts(s, a, "bob", &cid).await, (0, 0));
    // A mention added after bob read the message is read already.
    s.update_message(a, &Actor::user("ann"), hi.id, edit(&["dan", "bob", "cat"]))
        .await
        .unwrap();
    assert_eq!(counts(s, a, "bob", &cid).await, (0, 0));
    assert_eq!(counts(s, a, "cat", &cid).await, (5, 1));

    // Leaving forgets; coming back counts only what came after the return.
    s.remove_member(a, &Actor::user("cat"), &cid, "cat")
        .await
        .unwrap();
    assert_eq!(counts(s, a, "cat", &cid).await, (0, 0));
    s.send_message(
        a,
        "ann",
        &cid,
        mentioning("while cat is away", &["bob"]),
        false,
    )
    .await
    .unwrap();
    s.add_members(
        a,
        &Actor::user("ann"),
        &cid,
        vec![MemberInput {
            user_id: "cat".into(),
            role: None,
        }],
    )
    .await
    .unwrap();
    assert_eq!(counts(s, a, "cat", &cid).await, (0, 0));
    s.send_message(
        a,
        "bob",
        &cid,
        mentioning("welcome back @cat", &["cat"]),
        false,
    )
    .await
    .unwrap();
    assert_eq!(counts(s, a, "cat", &cid).await, (1, 1));
    assert_eq!(counts(s, a, "bob", &cid).await, (1, 1));
    assert_eq!(counts(s, a, "ann", &cid).await, (1, 0));
}
