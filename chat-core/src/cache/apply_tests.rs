//! Unit tests of applying server data and local echoes to the cache.

use chat_protocol::{Change, ChannelType, MessageFlags, MessagesResponse, UnreadResponse};

use super::test_support::*;
use super::*;

fn texts(cache: &Cache, c: &str) -> Vec<String> {
    cache
        .messages_window(&cid(c), 100, None)
        .unwrap()
        .into_iter()
        .map(|m| m.message.text)
        .collect()
}

fn local_echo(c: &str, n: u128, created: i64) -> chat_protocol::Message {
    let mut m = message(c, n, "bob", created, 0);
    m.text = format!("local {n}");
    m
}

#[test]
fn a_limited_state_replaces_the_window_but_keeps_local_echoes() {
    let mut cache = bob_cache();
    let old = (1..=3)
        .map(|n| message("team:a", n, "alice", n as i64, n as u64))
        .collect();
    let s = state(
        channel("team:a", 3, Some(3)),
        vec![
            member("team:a", "alice", 1, false),
            member("team:a", "bob", 2, false),
        ],
        old,
        false,
    );
    cache.apply_sync_page(&page(vec![s], vec![], "c1")).unwrap();
    cache
        .insert_local_message(&local_echo("team:a", 50, 4), "op1", "{}")
        .unwrap();
    // a later limited state: messages 9..=10 only, older history exists, carol replaced alice
    let window = (9..=10)
        .map(|n| message("team:a", n, "alice", n as i64, n as u64))
        .collect();
    let mut s = state(
        channel("team:a", 10, Some(10)),
        vec![
            member("team:a", "bob", 2, false),
            member("team:a", "carol", 8, false),
        ],
        window,
        true,
    );
    s.unread.unread_count = 2;
    cache.apply_sync_page(&page(vec![s], vec![], "c2")).unwrap();
    assert_eq!(texts(&cache, "team:a"), ["m9 r9", "m10 r10", "local 50"]);
    let members: Vec<String> = cache
        .members(&cid("team:a"))
        .unwrap()
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    assert_eq!(members, ["bob", "carol"]);
    let w = cache.window(&cid("team:a")).unwrap().unwrap();
    assert_eq!((w.oldest, w.reaches_start), (Some(ts(9)), false));
    assert_eq!(
        cache.unread(&cid("team:a")).unwrap().unwrap().unread_count,
        2
    );
    assert_eq!(cache.cursor().unwrap().as_deref(), Some("c2"));
    assert_eq!(cache.outbox_load().unwrap().len(), 1);
}

/// The race behind a message that vanished right after it showed as sent: a sync page
/// read before the send committed arrives after the send's answer. The state is complete
/// only up to `limited_seq`; the user's own newer rows stay, other users' do not, and a
/// kept message older than the new window goes.
#[test]
fn a_limited_state_keeps_the_users_own_rows_newer_than_its_snapshot() {
    let first = message("team:a", 1, "alice", 1, 5);
    let old = message("team:a", 4, "bob", 0, 3);
    let bobs = vec![member("team:a", "bob", 2, false)];
    let before = state(
        channel("team:a", 5, Some(1)),
        bobs.clone(),
        vec![old.clone(), first.clone()],
        false,
    );
    // The new state's window holds `first` only; older history exists.
    let s = state(
        channel("team:a", 5, Some(1)),
        bobs,
        vec![first.clone()],
        true,
    );
    let fresh = || {
        let mut cache = bob_cache();
        cache
            .apply_sync_page(&page(vec![before.clone()], vec![], "c1"))
            .unwrap();
        cache
    };
    // Completed after the snapshot at seq 10: bob's send (rev 12), his reaction on
    // alice's message (rev 13), alice's message that arrived by realtime (rev 14), and
    // an edit of bob's old message that the new window no longer holds (rev 15).
    let sent = message("team:a", 2, "bob", 20, 12);
    let mine = reaction(&first, "bob", "like", 13, false);
    let theirs = message("team:a", 3, "alice", 21, 14);
    let mut old_edit = old.clone();
    old_edit.rev = 15;
    let changes = [
        Change::Message(sent.clone()),
        Change::Reaction(mine.clone()),
        Change::Message(theirs.clone()),
        Change::Message(old_edit.clone()),
    ];
    let apply = |cache: &mut Cache, limited_seq| {
        cache
            .apply_changes(
                &changes
                    .iter()
                    .map(|c| chat_protocol::SyncChange {
                        seq: c.rev(),
                        change: c.clone(),
                    })
                    .collect::<Vec<_>>(),
            )
            .unwrap();
        let mut p = page(vec![s.clone()], vec![], "c2");
        p.limited_seq = limited_seq;
        cache.apply_sync_page(&p).unwrap();
    };
    let mut cache = fresh();
    apply(&mut cache, Some(10));
    assert!(
        cache.message(&sent.id).unwrap().is_some(),
        "the sent message stays"
    );
    assert!(
        cache.message(&theirs.id).unwrap().is_none(),
        "theirs comes back as a change"
    );
    assert!(
        cache.message(&old_edit.id).unwrap().is_none(),
        "no hole before the window"
    );
    assert_eq!(
        cache.message(&first.id).unwrap().unwrap().own_reactions,
        ["like"],
        "the confirmed reaction stays"
    );
    assert_eq!(texts(&cache, "team:a"), ["m1 r5", "m2 r12"]);

    // Without `limited_seq` (an older server) the state replaces everything, as before.
    let mut cache = fresh();
    apply(&mut cache, None);
    assert!(cache.message(&sent.id).unwrap().is_none());
    assert!(
        cache
            .message(&first.id)
            .unwrap()
            .unwrap()
            .own_reactions
            .is_empty()
    );
    // A snapshot that already covers the send drops the cached copy (the state has it,
    // or the message is gone).
    let mut cache = fresh();
    apply(&mut cache, Some(12));
    assert!(cache.message(&sent.id).unwrap().is_none());
}

#[test]
fn changes_keep_the_higher_rev_and_reapplying_a_page_is_a_no_op() {
    let mut cache = bob_cache();
    let m1 = message("team:a", 1, "alice", 1, 5);
    let s = state(
        channel("team:a", 4, Some(1)),
        vec![member("team:a", "bob", 2, false)],
        vec![m1.clone()],
        false,
    );
    cache.apply_sync_page(&page(vec![s], vec![], "c1")).unwrap();
    let mut edited = m1.clone();
    edited.text = "edited".into();
    edited.rev = 9;
    let mut stale = m1.clone();
    stale.text = "stale".into();
    stale.rev = 7;
    let r = reaction(&m1, "alice", "like", 8, false);
    let stale_removal = reaction(&m1, "alice", "like", 6, true);
    let p = page(
        vec![],
        vec![
            Change::Reaction(r.clone()),
            Change::Reaction(stale_removal),
            Change::Member(member("team:a", "bob", 1, false)),
            Change::Message(edited),
            Change::Message(stale),
            Change::Channel(channel("team:a", 3, None)),
        ],
        "c2",
    );
    cache.apply_sync_page(&p).unwrap();
    let before = dump(&cache);
    cache.apply_sync_page(&p).unwrap();
    assert_eq!(
        dump(&cache),
        before,
        "re-applying the same page changes nothing"
    );
    let got = cache.message(&m1.id).unwrap().unwrap();
    assert_eq!(got.message.text, "edited");
    assert_eq!(cache.reactions(&m1.id).unwrap(), [r]);
    assert_eq!(cache.channel(&cid("team:a")).unwrap().unwrap().rev, 4);
    assert_eq!(cache.members(&cid("team:a")).unwrap()[0].rev, 2);
}

#[test]
fn a_read_marker_arriving_before_its_message_is_recounted_when_the_message_comes() {
    // alice sent y then z; bob read up to y; y was edited after: the sync delivers
    // z, the read, then y (each row once, in its latest version), maybe in two pages
    let mut cache = bob_cache();
    let s = state(
        channel("team:a", 3, None),
        vec![member("team:a", "bob", 2, false)],
        vec![],
        false,
    );
    cache.apply_sync_page(&page(vec![s], vec![], "c1")).unwrap();
    let y = message("team:a", 1, "alice", 10, 13);
    let z = message("team:a", 2, "alice", 11, 11);
    let mut marker = read("team:a", "bob", Some(&y), 12);
    marker.last_read_at = ts(20); // bob marked read after z arrived
    let first = page(vec![], vec![Change::Message(z), Change::Read(marker)], "c2");
    cache.apply_sync_page(&first).unwrap();
    cache
        .apply_sync_page(&page(vec![], vec![Change::Message(y)], "c3"))
        .unwrap();
    let u = cache.unread(&cid("team:a")).unwrap().unwrap();
    assert_eq!(u.unread_count, 1, "z is after bob's marker");
}

#[test]
fn changes_for_uncached_channels_and_before_the_window_are_ignored() {
    let mut cache = bob_cache();
    let s = state(
        channel("team:a", 20, Some(20)),
        vec![member("team:a", "bob", 2, false)],
        vec![
            message("team:a", 10, "alice", 10, 11),
            message("team:a", 20, "alice", 20, 20),
        ],
        true,
    );
    cache.apply_sync_page(&page(vec![s], vec![], "c1")).unwrap();
    let old_edit = message("team:a", 5, "alice", 5, 30);
    let mut old_reply = message("team:a", 6, "carol", 6, 31);
    old_reply.parent_id = Some(id(5));
    let elsewhere = message("team:b", 7, "alice", 7, 32);
    let p = page(
        vec![],
        vec![
            Change::Message(old_edit.clone()),
            Change::Message(old_reply.clone()),
            Change::Message(elsewhere.clone()),
            Change::Member(member("team:b", "carol", 33, false)),
            Change::Channel(channel("team:b", 34, None)),
        ],
        "c2",
    );
    cache.apply_sync_page(&p).unwrap();
    assert!(
        cache.message(&old_edit.id).unwrap().is_none(),
        "outside the window"
    );
    assert!(
        cache.message(&old_reply.id).unwrap().is_some(),
        "replies are kept"
    );
    assert_eq!(cache.thread_replies(&id(5)).unwrap().len(), 1);
    assert!(cache.message(&elsewhere.id).unwrap().is_none());
    assert!(cache.channel(&cid("team:b")).unwrap().is_none());

    // scrolling back extends the window; the old message is then updated by changes
    let history = MessagesResponse {
        messages: vec![message("team:a", 5, "alice", 5, 29)],
        has_more_before: false,
        has_more_after: true,
        own_reactions: vec![],
        starred: vec![id(5)],
    };
    assert!(cache.apply_history_page(&cid("team:a"), &history).unwrap());
    let w = cache.window(&cid("team:a")).unwrap().unwrap();
    assert_eq!((w.oldest, w.reaches_start), (Some(ts(5)), true));
    cache.apply_sync_page(&p).unwrap();
    let got = cache.message(&old_edit.id).unwrap().unwrap();
    assert_eq!((got.message.rev, got.starred), (30, true));
}

#[test]
fn the_owners_member_tombstone_drops_the_channel_but_not_unsent_work() {
    let mut cache = bob_cache();
    let m1 = message("team:a", 1, "alice", 1, 3);
    let mut s = state(
        channel("team:a", 3, Some(1)),
        vec![member("team:a", "bob", 2, false)],
        vec![m1.clone()],
        false,
    );
    s.own_reactions = vec![reaction(&m1, "bob", "like", 4, false)];
    s.starred = vec![m1.id];
    cache.apply_sync_page(&page(vec![s], vec![], "c1")).unwrap();
    cache
        .insert_local_message(&local_echo("team:a", 9, 2), "op", "{\"k\":1}")
        .unwrap();
    assert_eq!(
        cache.message(&m1.id).unwrap().unwrap().own_reactions,
        ["like"]
    );
    // an older tombstone (re-delivered from before a re-join) does nothing
    let p = page(
        vec![],
        vec![Change::Member(member("team:a", "bob", 1, true))],
        "c2",
    );
    cache.apply_sync_page(&p).unwrap();
    assert!(cache.channel(&cid("team:a")).unwrap().is_some());
    let p = page(
        vec![],
        vec![Change::Member(member("team:a", "bob", 7, true))],
        "c3",
    );
    cache.apply_sync_page(&p).unwrap();
    assert!(cache.channel(&cid("team:a")).unwrap().is_none());
    assert!(cache.message(&m1.id).unwrap().is_none());
    assert!(cache.members(&cid("team:a")).unwrap().is_empty());
    assert_eq!(texts(&cache, "team:a"), ["local 9"]);
    assert_eq!(cache.outbox_load().unwrap().len(), 1);
    assert!(cache.channel_list(10).unwrap().is_empty());
}

#[test]
fn a_failing_page_changes_nothing() {
    let mut cache = bob_cache();
    let s = state(
        channel("team:a", 3, Some(1)),
        vec![member("team:a", "bob", 2, false)],
        vec![],
        false,
    );
    cache.apply_sync_page(&page(vec![s], vec![], "c1")).unwrap();
    let before = dump(&cache);
    let good = message("team:a", 1, "alice", 1, 4);
    let bad = message("team:a", 2, "alice", 2, u64::MAX);
    let s2 = state(
        channel("team:b", 5, None),
        vec![member("team:b", "bob", 5, false)],
        vec![],
        false,
    );
    let p = page(
        vec![s2],
        vec![Change::Message(good.clone()), Change::Message(bad)],
        "c2",
    );
    assert!(matches!(
        cache.apply_sync_page(&p),
        Err(CacheError::Invalid(_))
    ));
    assert_eq!(dump(&cache), before);
    assert_eq!(cache.cursor().unwrap().as_deref(), Some("c1"));
    assert!(cache.message(&good.id).unwrap().is_none());
}

#[test]
fn reset_keeps_the_outbox_and_local_echoes() {
    let mut cache = bob_cache();
    let s = state(
        channel("team:a", 3, Some(1)),
        vec![member("team:a", "bob", 2, false)],
        vec![message("team:a", 1, "alice", 1, 3)],
        false,
    );
    cache.apply_sync_page(&page(vec![s], vec![], "c1")).unwrap();
    cache
        .insert_local_message(&local_echo("team:a", 9, 2), "op1", "{}")
        .unwrap();
    cache.outbox_insert("op2", &cid("team:a"), "[1]").unwrap();
    cache.reset_synced_data().unwrap();
    assert_eq!(cache.cursor().unwrap(), None);
    assert!(cache.channel_list(10).unwrap().is_empty());
    assert_eq!(texts(&cache, "team:a"), ["local 9"]);
    let ops: Vec<String> = cache
        .outbox_load()
        .unwrap()
        .into_iter()
        .map(|o| o.op_id)
        .collect();
    assert_eq!(ops, ["op1", "op2"]);
    assert_eq!(cache.user(), Some("bob"));
}

#[test]
fn the_server_copy_replaces_the_local_echo_in_place() {
    let mut cache = bob_cache();
    let s = state(
        channel("team:a", 3, Some(1)),
        vec![member("team:a", "bob", 2, false)],
        vec![message("team:a", 1, "alice", 1, 3)],
        false,
    );
    cache.apply_sync_page(&page(vec![s], vec![], "c1")).unwrap();
    // the device clock is far ahead: echoes still sort after confirmed messages, in order
    let first = cache
        .insert_local_message(&local_echo("team:a", 7, 9_000), "op7", "{}")
        .unwrap();
    let second = cache
        .insert_local_message(&local_echo("team:a", 8, 100), "op8", "{}")
        .unwrap();
    assert!(second > first);
    assert_eq!(texts(&cache, "team:a"), ["m1 r3", "local 7", "local 8"]);
    assert!(
        cache
            .set_local_state(&id(8), &LocalState::Failed("nope".into()))
            .unwrap()
    );
    let echo = cache.message(&id(8)).unwrap().unwrap();
    assert_eq!(echo.local_state, Some(LocalState::Failed("nope".into())));
    // the server stored 7 (created_at 5), alice then sent one more (6)
    let mut confirmed = message("team:a", 7, "bob", 5, 10);
    confirmed.text = "local 7".into();
    let p = page(
        vec![],
        vec![
            Change::Message(confirmed.clone()),
            Change::Message(message("team:a", 2, "alice", 6, 11)),
        ],
        "c2",
    );
    cache.apply_sync_page(&p).unwrap();
    assert_eq!(
        texts(&cache, "team:a"),
        ["m1 r3", "local 7", "m2 r11", "local 8"]
    );
    assert_eq!(cache.message(&id(7)).unwrap().unwrap().local_state, None);
    assert!(
        !cache.set_local_state(&id(7), &LocalState::Pending).unwrap(),
        "confirmed"
    );
    // the API reply for 8 arrives, then the same copy again by sync: one row
    let mut reply = message("team:a", 8, "bob", 7, 12);
    reply.text = "local 8".into();
    assert!(cache.apply_message_result(&reply).unwrap());
    assert!(!cache.apply_message_result(&reply).unwrap());
    cache
        .apply_sync_page(&page(vec![], vec![Change::Message(reply)], "c3"))
        .unwrap();
    let window = cache.messages_window(&cid("team:a"), 100, None).unwrap();
    assert_eq!(window.len(), 4);
    assert!(window.iter().all(|m| m.local_state.is_none()));
    // paging back from the oldest confirmed message excludes echoes
    let older = cache
        .messages_window(&cid("team:a"), 100, Some(ts(5)))
        .unwrap();
    assert_eq!(older.len(), 1);
}

#[test]
fn local_echoes_can_be_cancelled_with_their_outbox_item() {
    let mut cache = bob_cache();
    cache
        .insert_local_message(&local_echo("team:a", 7, 1), "op7", "{}")
        .unwrap();
    assert!(cache.outbox_update("op7", "{\"text\":\"edited\"}").unwrap());
    assert!(matches!(
        cache.outbox_update("op7", "not json"),
        Err(CacheError::Invalid(_))
    ));
    assert!(cache.remove_local_message(&id(7), Some("op7")).unwrap());
    assert!(cache.message(&id(7)).unwrap().is_none());
    assert!(cache.outbox_load().unwrap().is_empty());
    // a failed insert (duplicate op id) leaves neither the echo nor a second outbox row
    cache.outbox_insert("dup", &cid("team:a"), "{}").unwrap();
    assert!(
        cache
            .insert_local_message(&local_echo("team:a", 8, 1), "dup", "{}")
            .is_err()
    );
    assert!(cache.message(&id(8)).unwrap().is_none());
    assert_eq!(cache.outbox_load().unwrap().len(), 1);
}

#[test]
fn outbox_positions_increase_and_are_never_reused() {
    let mut cache = bob_cache();
    let a = cid("team:a");
    let p1 = cache.outbox_insert("1", &a, "{}").unwrap();
    let p2 = cache.outbox_insert("2", &a, "{}").unwrap();
    assert!(cache.outbox_remove("2").unwrap());
    assert!(!cache.outbox_remove("2").unwrap());
    let p3 = cache.outbox_insert("3", &a, "{}").unwrap();
    assert!(p1 < p2 && p2 < p3);
    assert!(matches!(
        cache.outbox_insert("4", &a, "{"),
        Err(CacheError::Invalid(_))
    ));
    let rows = cache.outbox_load().unwrap();
    assert_eq!(
        rows.iter().map(|r| r.position).collect::<Vec<_>>(),
        [p1, p3]
    );
    assert!(rows[0].updated_at.is_some());
    assert_eq!(rows[0].cid, a);
}

#[test]
fn unread_counts_follow_messages_deletions_and_the_read_marker() {
    let mut cache = bob_cache();
    let m1 = message("team:a", 1, "alice", 1, 3);
    let mut s = state(
        channel("team:a", 3, Some(1)),
        vec![member("team:a", "bob", 2, false)],
        vec![m1.clone()],
        false,
    );
    s.unread.unread_count = 1;
    cache.apply_sync_page(&page(vec![s], vec![], "c1")).unwrap();
    let m2 = message("team:a", 2, "alice", 2, 4);
    let mut m3 = message("team:a", 3, "carol", 3, 5);
    m3.mentioned_users = vec!["bob".into()];
    let own = message("team:a", 4, "bob", 4, 6);
    let changes = vec![
        Change::Message(m2.clone()),
        Change::Message(m3.clone()),
        Change::Message(own),
        Change::Message(m1.clone()),
    ];
    cache
        .apply_sync_page(&page(vec![], changes.clone(), "c2"))
        .unwrap();
    let unread = |c: &Cache| {
        let u = c.unread(&cid("team:a")).unwrap().unwrap();
        (u.unread_count, u.unread_mentions)
    };
    assert_eq!(unread(&cache), (3, 1));
    let mut gone = m3.clone();
    gone.deleted_at = Some(ts(9));
    gone.mentioned_users.clear();
    gone.rev = 7;
    cache
        .apply_sync_page(&page(vec![], vec![Change::Message(gone)], "c3"))
        .unwrap();
    assert_eq!(unread(&cache), (2, 0));
    let marker = read("team:a", "bob", Some(&m1), 8);
    cache
        .apply_sync_page(&page(vec![], vec![Change::Read(marker)], "c4"))
        .unwrap();
    assert_eq!(unread(&cache), (1, 0));
    // someone else's marker does not touch the owner's counts
    let theirs = read("team:a", "alice", Some(&m2), 9);
    cache
        .apply_sync_page(&page(vec![], vec![Change::Read(theirs)], "c5"))
        .unwrap();
    assert_eq!(unread(&cache), (1, 0));
    assert_eq!(cache.reads(&cid("team:a")).unwrap().len(), 2);
    let exact = UnreadResponse {
        total_unread_count: 4,
        total_unread_mentions: 0,
        channels: vec![chat_protocol::ChannelUnread {
            cid: cid("team:a"),
            unread_count: 4,
            unread_mentions: 0,
            counted_through: None,
        }],
    };
    cache.replace_unread_counts(&exact).unwrap();
    assert_eq!(unread(&cache), (4, 0));
    cache.apply_sync_page(&page(vec![], changes, "c6")).unwrap();
    assert_eq!(
        unread(&cache),
        (4, 0),
        "re-delivered messages are not counted again"
    );
}

#[test]
fn one_page_counts_new_messages_in_every_channel_it_touches() {
    let mut cache = bob_cache();
    let channels = ["team:a", "team:b", "team:c"];
    let states = channels
        .iter()
        .map(|c| {
            state(
                channel(c, 1, None),
                vec![member(c, "bob", 1, false)],
                vec![],
                false,
            )
        })
        .collect();
    cache.apply_sync_page(&page(states, vec![], "c1")).unwrap();
    // team:a gets two messages (one mentions bob), team:b one, team:c only bob's own.
    let mut mention = message("team:a", 2, "carol", 2, 3);
    mention.mentioned_users = vec!["bob".into()];
    let changes = vec![
        Change::Message(message("team:a", 1, "alice", 1, 2)),
        Change::Message(mention),
        Change::Message(message("team:b", 3, "alice", 3, 4)),
        Change::Message(message("team:c", 4, "bob", 4, 5)),
    ];
    cache.apply_sync_page(&page(vec![], changes, "c2")).unwrap();
    let counts: Vec<(u32, u32)> = channels
        .iter()
        .map(|c| {
            let u = cache.unread(&cid(c)).unwrap().unwrap();
            (u.unread_count, u.unread_mentions)
        })
        .collect();
    assert_eq!(counts, [(2, 1), (1, 0), (0, 0)]);
}

#[test]
fn exact_counts_that_already_hold_a_message_still_on_its_way_do_not_count_it_twice() {
    let mut cache = bob_cache();
    let m1 = message("team:a", 1, "alice", 1, 3);
    let s = state(
        channel("team:a", 3, Some(1)),
        vec![member("team:a", "bob", 0, false)],
        vec![m1.clone()],
        false,
    );
    cache.apply_sync_page(&page(vec![s], vec![], "c1")).unwrap();
    let unread = |c: &Cache| c.unread(&cid("team:a")).unwrap().unwrap().unread_count;
    // The server counted m1 and m2; m2's realtime push has not arrived yet.
    let m2 = message("team:a", 2, "alice", 2, 4);
    let counts = |through: Option<i64>| UnreadResponse {
        total_unread_count: 2,
        total_unread_mentions: 0,
        channels: vec![chat_protocol::ChannelUnread {
            cid: cid("team:a"),
            unread_count: 2,
            unread_mentions: 0,
            counted_through: through.map(ts),
        }],
    };
    cache.replace_unread_counts(&counts(Some(2))).unwrap();
    assert_eq!(unread(&cache), 2);
    cache
        .apply_sync_page(&page(vec![], vec![Change::Message(m2)], "c2"))
        .unwrap();
    assert_eq!(unread(&cache), 2, "m2 was in the counts already");
    // A message newer than the counts is counted.
    let m3 = message("team:a", 3, "alice", 3, 5);
    cache
        .apply_sync_page(&page(vec![], vec![Change::Message(m3)], "c3"))
        .unwrap();
    assert_eq!(unread(&cache), 3);
    // Counts from a server that does not say how far they reach keep the old rule (the
    // newest cached message): a later message is counted.
    cache.replace_unread_counts(&counts(None)).unwrap();
    let m4 = message("team:a", 4, "alice", 4, 6);
    cache
        .apply_sync_page(&page(vec![], vec![Change::Message(m4)], "c4"))
        .unwrap();
    assert_eq!(unread(&cache), 3);
}

#[test]
fn the_channel_list_is_by_activity_with_a_preview() {
    let mut cache = bob_cache();
    let quiet = state(
        channel("team:quiet", 1, None),
        vec![member("team:quiet", "bob", 1, false)],
        vec![],
        false,
    );
    let busy = state(
        channel("team:busy", 2, Some(5)),
        vec![member("team:busy", "bob", 1, false)],
        vec![message("team:busy", 1, "alice", 5, 2)],
        false,
    );
    let old = state(
        channel("team:old", 3, Some(-5)),
        vec![member("team:old", "bob", 1, false)],
        vec![message("team:old", 2, "alice", -5, 3)],
        false,
    );
    cache
        .apply_sync_page(&page(vec![quiet, busy, old], vec![], "c1"))
        .unwrap();
    cache
        .insert_local_message(&local_echo("team:old", 9, 1), "op", "{}")
        .unwrap();
    // The local send (at 1) moves "old" (last message at -5) above "quiet" (created at 0,
    // no messages), below "busy" (5): the echo raised its channel's sort key.
    let list = cache.channel_list(10).unwrap();
    let order: Vec<String> = list.iter().map(|i| i.channel.cid.to_string()).collect();
    assert_eq!(order, ["team:busy", "team:old", "team:quiet"]);
    assert_eq!(list[1].sort_at, ts(1).millis());
    assert_eq!(list[0].last_message.as_ref().unwrap().message.text, "m1 r2");
    assert!(list[2].last_message.is_none());
    let preview = list[1].last_message.as_ref().unwrap();
    assert_eq!(
        (preview.message.text.as_str(), preview.local_state.clone()),
        ("local 9", Some(LocalState::Pending))
    );
    assert_eq!(cache.channel_list(1).unwrap().len(), 1);
    // filters: by type (a cid-prefix range) and unread only
    let mut dm = state(
        channel("messaging:dm", 4, Some(1)),
        vec![member("messaging:dm", "bob", 1, false)],
        vec![],
        false,
    );
    dm.unread.unread_count = 2;
    cache
        .apply_sync_page(&page(vec![dm], vec![], "c1"))
        .unwrap();
    let cids = |q: ChannelQuery| -> Vec<String> {
        let list = cache.channels(&q).unwrap();
        list.iter().map(|i| i.channel.cid.to_string()).collect()
    };
    assert_eq!(
        cids(ChannelQuery::new(10).of_kind(ChannelType::Messaging)),
        ["messaging:dm"]
    );
    assert_eq!(
        cids(ChannelQuery::new(10).of_kind(ChannelType::Team)),
        ["team:busy", "team:old", "team:quiet"]
    );
    assert_eq!(cids(ChannelQuery::new(10).unread_only()), ["messaging:dm"]);
    assert_eq!(cids(ChannelQuery::new(10)).len(), 4);
    // a star arriving as a flags change
    let f = MessageFlags {
        message_id: id(1),
        cid: cid("team:busy"),
        user_id: "bob".into(),
        starred: true,
        rev: 9,
    };
    cache
        .apply_changes(&[chat_protocol::SyncChange {
            seq: 9,
            change: Change::Flags(f),
        }])
        .unwrap();
    assert!(cache.message(&id(1)).unwrap().unwrap().starred);
    assert_eq!(
        cache.cursor().unwrap().as_deref(),
        Some("c1"),
        "realtime changes keep the cursor"
    );
}

#[test]
fn sync_data_needs_an_owner() {
    let mut cache = Cache::open_in_memory().unwrap();
    let p = page(vec![], vec![], "c1");
    assert!(matches!(cache.apply_sync_page(&p), Err(CacheError::NoUser)));
    assert_eq!(cache.cursor().unwrap(), None);
}
