//! Unit tests of the overlay: what the UI sees for each combination of cached row and
//! queued operation state.

use chat_protocol::ErrorCode;

use super::items::MessageState;
use super::overlay::Overlay;
use crate::cache::{CachedMessage, LocalState};
use crate::clock::Millis;
use crate::outbox::test_support::*;
use crate::outbox::{Effect, OpId, Outbox};

const C: &str = "team:general";

/// A confirmed message `v7(n)` as the cache returns it.
fn confirmed(n: u64, own: &[&str]) -> CachedMessage {
    let mut message = crate::cache::test_support::message(C, 0, "bob", 10, 5);
    message.id = v7(n);
    for kind in own {
        message.reaction_counts.insert((*kind).to_owned(), 1);
    }
    CachedMessage {
        message,
        local_state: None,
        own_reactions: own.iter().map(|k| (*k).to_owned()).collect(),
        starred: false,
    }
}

/// Enqueues `op` and returns its id.
fn queue(ob: &mut Outbox, n: u64, op: crate::outbox::OutboxOp) -> OpId {
    let id = op_id(n);
    ob.enqueue(id, op).unwrap();
    id
}

/// Sends everything due and answers each request with `outcome`.
fn answer_all(ob: &mut Outbox, outcome: crate::outbox::ApiOutcome) {
    let effects = ob.poll(Millis(0));
    for id in sent(&effects) {
        ob.on_result(id, outcome.clone(), Millis(0)).unwrap();
    }
    let _: Vec<Effect> = ob.poll(Millis(0));
}

#[test]
fn a_queued_edit_shows_the_new_text_and_a_refused_one_is_update_failed() {
    let mut ob = outbox();
    queue(&mut ob, 100, edit_op(C, 1, "new text"));
    let item = Overlay::new(&ob).message(confirmed(1, &[]));
    assert_eq!(item.message.text, "new text");
    assert_eq!(item.state, MessageState::Editing);
    assert!(item.message.edited_at.is_some());

    answer_all(&mut ob, http(ErrorCode::Forbidden));
    let item = Overlay::new(&ob).message(confirmed(1, &[]));
    assert!(
        matches!(item.state, MessageState::UpdateFailed { op_id, .. } if op_id == self::op_id(100)),
        "{:?}",
        item.state
    );
}

#[test]
fn a_delete_wins_over_an_edit_and_clears_the_content() {
    let mut ob = outbox();
    queue(&mut ob, 100, edit_op(C, 1, "new text"));
    queue(&mut ob, 101, delete_op(C, 1));
    let item = Overlay::new(&ob).message(confirmed(1, &[]));
    assert_eq!(item.state, MessageState::Deleting);
    assert!(item.message.text.is_empty());
    assert!(item.message.deleted_at.is_some());
}

#[test]
fn reactions_toggle_counts_once_and_a_failed_one_is_not_shown() {
    let mut ob = outbox();
    queue(&mut ob, 100, reaction(true, C, 1, "like"));
    let overlay = Overlay::new(&ob);
    let item = overlay.message(confirmed(1, &[]));
    assert_eq!(item.own_reactions, ["like"]);
    assert_eq!(item.message.reaction_counts.get("like"), Some(&1));
    assert_eq!(
        item.state,
        MessageState::Sent,
        "reactions do not change the state"
    );
    // Already confirmed by the server (sync came first): not counted twice.
    let item = overlay.message(confirmed(1, &["like"]));
    assert_eq!(item.message.reaction_counts.get("like"), Some(&1));

    answer_all(&mut ob, http(ErrorCode::Forbidden));
    let item = Overlay::new(&ob).message(confirmed(1, &[]));
    assert!(
        item.own_reactions.is_empty(),
        "a refused reaction is not shown"
    );
    assert!(item.message.reaction_counts.is_empty());

    let mut ob = outbox();
    queue(&mut ob, 100, reaction(false, C, 1, "like"));
    let item = Overlay::new(&ob).message(confirmed(1, &["like"]));
    assert!(item.own_reactions.is_empty());
    assert!(
        item.message.reaction_counts.is_empty(),
        "count dropped to zero"
    );
}

#[test]
fn my_reaction_counts_at_least_once_while_its_recount_is_on_the_way() {
    // The reaction's push arrived, the message's recount not yet: the cache holds my
    // reaction with the old counts, with or without the operation still queued.
    let mut stale = confirmed(1, &["like"]);
    stale.message.reaction_counts.clear();
    let ob = outbox();
    let item = Overlay::new(&ob).message(stale.clone());
    assert_eq!(item.message.reaction_counts.get("like"), Some(&1));
    let mut ob = outbox();
    queue(&mut ob, 100, reaction(true, C, 1, "like"));
    let item = Overlay::new(&ob).message(stale);
    assert_eq!(item.own_reactions, ["like"]);
    assert_eq!(item.message.reaction_counts.get("like"), Some(&1));
    // Others' reactions are counted as the server says.
    let mut others = confirmed(1, &[]);
    others.message.reaction_counts.insert("wow".into(), 3);
    let item = Overlay::new(&outbox()).message(others);
    assert_eq!(item.message.reaction_counts.get("wow"), Some(&3));
}

#[test]
fn an_echo_follows_its_send_state_and_merged_edits() {
    let mut ob = outbox();
    send(&mut ob, C, 1);
    queue(&mut ob, 100, edit_op(C, 1, "merged"));
    let mut echo = confirmed(1, &[]);
    echo.local_state = Some(LocalState::Pending);
    echo.message.rev = 0;
    let item = Overlay::new(&ob).message(echo.clone());
    assert_eq!(item.message.text, "merged");
    assert_eq!(item.state, MessageState::Pending);

    let effects = ob.poll(Millis(0));
    assert_eq!(sent(&effects), [op_id(1)]);
    assert_eq!(
        Overlay::new(&ob).message(echo.clone()).state,
        MessageState::Sending
    );
    ob.on_result(op_id(1), http(ErrorCode::ValidationFailed), Millis(0))
        .unwrap();
    let state = Overlay::new(&ob).message(echo).state;
    assert!(
        matches!(&state, MessageState::Failed { op_id: id, .. } if *id == op_id(1)),
        "{state:?}"
    );
}

// ---- channel changes: renames, member lists, leaving ----------------------------------

mod channel_changes {
    use chat_protocol::{ErrorCode, MemberRole};

    use super::{C, queue};
    use crate::cache::test_support::{channel, member, read};
    use crate::live::overlay::{Overlay, People};
    use crate::outbox::test_support::*;
    use crate::outbox::{ApiOutcome, OutboxOp};

    /// Answers every request with `outcome`, one channel turn after another (a channel
    /// sends one item at a time).
    fn answer_everything(ob: &mut crate::outbox::Outbox, outcome: ApiOutcome) {
        loop {
            let due = sent(&ob.poll(crate::clock::Millis(0)));
            if due.is_empty() {
                return;
            }
            for id in due {
                ob.on_result(id, outcome.clone(), crate::clock::Millis(0))
                    .unwrap();
            }
        }
    }

    fn members() -> Vec<(chat_protocol::Member, Option<chat_protocol::ReadState>)> {
        vec![
            (
                member(C, "alice", 1, false),
                Some(read(C, "alice", None, 2)),
            ),
            (member(C, "bob", 1, false), None),
        ]
    }

    fn ids(items: &[crate::live::MemberItem]) -> Vec<(&str, MemberRole, bool)> {
        items
            .iter()
            .map(|i| (i.user_id.as_str(), i.role, i.pending))
            .collect()
    }

    #[test]
    fn a_queued_rename_shows_until_it_is_refused() {
        let mut ob = outbox();
        queue(&mut ob, 100, update_channel(C, "Renamed"));
        let shown = Overlay::new(&ob).channel_fields(channel(C, 1, None));
        assert_eq!(shown.name.as_deref(), Some("Renamed"));
        answer_everything(&mut ob, http(ErrorCode::Forbidden));
        let shown = Overlay::new(&ob).channel_fields(channel(C, 1, None));
        assert_ne!(shown.name.as_deref(), Some("Renamed"), "a refused rename");
    }

    #[test]
    fn member_changes_show_at_once_and_refused_ones_do_not() {
        let mut ob = outbox();
        queue(&mut ob, 100, add_members(C, &["carol"]));
        queue(&mut ob, 101, remove_member(C, "bob"));
        queue(
            &mut ob,
            102,
            OutboxOp::AddMembers {
                cid: cid(C),
                members: vec![chat_protocol::MemberInput {
                    user_id: "alice".into(),
                    role: Some(MemberRole::Moderator),
                }],
            },
        );
        let items = Overlay::new(&ob).members(&cid(C), &members());
        assert_eq!(
            ids(&items),
            vec![
                ("alice", MemberRole::Moderator, true),
                ("carol", MemberRole::Member, true)
            ]
        );
        assert!(items[0].last_read_at.is_some() && items[0].joined_at.is_some());
        assert!(items[1].joined_at.is_none(), "not joined until confirmed");

        // Refused: the list is the cache's again.
        answer_everything(&mut ob, http(ErrorCode::Forbidden));
        let items = Overlay::new(&ob).members(&cid(C), &members());
        assert_eq!(
            ids(&items),
            vec![
                ("alice", MemberRole::Member, false),
                ("bob", MemberRole::Member, false)
            ]
        );
    }

    #[test]
    fn leaving_hides_the_channel_and_presence_marks_who_is_online() {
        let mut ob = outbox();
        let presence = [("bob".to_owned(), true), ("carol".to_owned(), false)].into();
        let people = |connected| People {
            me: "alice",
            presence: &presence,
            connected,
        };
        queue(&mut ob, 100, remove_member(C, "bob"));
        assert!(
            !Overlay::new(&ob).with_people(people(true)).leaving(&cid(C)),
            "removing someone else is not leaving"
        );
        let online: Vec<(String, bool)> = Overlay::new(&outbox())
            .with_people(people(true))
            .members(&cid(C), &members())
            .into_iter()
            .map(|i| (i.user_id, i.online))
            .collect();
        assert_eq!(
            online,
            vec![("alice".to_owned(), true), ("bob".to_owned(), true)]
        );
        let me_offline = Overlay::new(&outbox())
            .with_people(people(false))
            .members(&cid(C), &members());
        assert!(
            !me_offline[0].online,
            "the user's own row follows the connection"
        );

        queue(&mut ob, 101, remove_member(C, "alice"));
        assert!(Overlay::new(&ob).with_people(people(true)).leaving(&cid(C)));
        // Done (or refused): the list no longer hides it on the outbox's account.
        answer_everything(
            &mut ob,
            ApiOutcome::Ok {
                status: 200,
                body: serde_json::Value::Null,
            },
        );
        assert!(!Overlay::new(&ob).with_people(people(true)).leaving(&cid(C)));
    }
}

#[test]
fn a_queued_star_or_unstar_shows_at_once_and_a_refused_one_is_not_shown() {
    let mut ob = outbox();
    queue(&mut ob, 100, star(true, C, 1));
    let item = Overlay::new(&ob).message(confirmed(1, &[]));
    assert!(item.starred, "a queued star shows at once");
    assert_eq!(
        item.state,
        MessageState::Sent,
        "stars do not change the state"
    );
    answer_all(&mut ob, http(ErrorCode::NotFound));
    assert!(
        !Overlay::new(&ob).message(confirmed(1, &[])).starred,
        "a refused star is not shown"
    );

    let mut ob = outbox();
    let mut cached = confirmed(1, &[]);
    cached.starred = true;
    queue(&mut ob, 100, star(false, C, 1));
    assert!(!Overlay::new(&ob).message(cached.clone()).starred);
    // Unstar then star again while the unstar is in flight: the latest wins.
    let _ = ob.poll(Millis(0));
    queue(&mut ob, 101, star(true, C, 1));
    assert!(Overlay::new(&ob).message(cached).starred);
}
