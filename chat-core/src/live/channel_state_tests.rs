//! The overlay of the user's queued channel settings and deletes: a channel being hidden,
//! archived or deleted leaves the default list at once, a muted one stops counting toward
//! the total unread at once, and a refused change stops showing.

use chat_protocol::{ErrorCode, UpdateMemberStateRequest};

use super::overlay::Overlay;
use crate::cache::test_support::{channel, cid};
use crate::cache::{ChannelListItem, ChannelQuery, Inclusion, OwnChannelState, UnreadRow};
use crate::clock::Millis;
use crate::outbox::test_support::*;
use crate::outbox::{ApiOutcome, Outbox, OutboxOp};

const C: &str = "team:general";

fn set(hidden: Option<bool>, muted: Option<bool>, archived: Option<bool>) -> OutboxOp {
    OutboxOp::SetMemberState {
        cid: cid(C),
        request: UpdateMemberStateRequest {
            hidden,
            muted,
            archived,
        },
    }
}

fn row(own: OwnChannelState) -> ChannelListItem {
    ChannelListItem {
        channel: channel(C, 1, None),
        unread: chat_protocol::ChannelUnread {
            cid: cid(C),
            unread_count: 4,
            unread_mentions: 1,
            counted_through: None,
        },
        last_message: None,
        sort_at: 0,
        own,
    }
}

fn unread_rows(muted: bool) -> Vec<UnreadRow> {
    vec![
        UnreadRow {
            cid: C.into(),
            unread_count: 4,
            unread_mentions: 1,
            muted,
        },
        UnreadRow {
            cid: "team:other".into(),
            unread_count: 2,
            unread_mentions: 0,
            muted: false,
        },
    ]
}

/// Sends everything due, one channel turn after another, answering with `outcome`.
fn answer_everything(ob: &mut Outbox, outcome: ApiOutcome) {
    loop {
        let due = sent(&ob.poll(Millis(0)));
        if due.is_empty() {
            return;
        }
        for id in due {
            ob.on_result(id, outcome.clone(), Millis(0)).unwrap();
        }
    }
}

#[test]
fn a_queued_hide_or_archive_leaves_the_default_list_until_refused() {
    let default = ChannelQuery::new(10);
    for op in [set(Some(true), None, None), set(None, None, Some(true))] {
        let mut ob = outbox();
        assert!(Overlay::new(&ob).shows(&default, &row(OwnChannelState::default())));
        ob.enqueue(op_id(100), op).unwrap();
        let overlay = Overlay::new(&ob);
        assert!(!overlay.shows(&default, &row(OwnChannelState::default())));
        let only = ChannelQuery::new(10)
            .hidden(Inclusion::Include)
            .archived(Inclusion::Include);
        assert!(overlay.shows(&only, &row(OwnChannelState::default())));
        let item = overlay.channel(row(OwnChannelState::default()));
        assert!(item.hidden || item.archived);
        answer_everything(&mut ob, http(ErrorCode::Forbidden));
        assert!(
            Overlay::new(&ob).shows(&default, &row(OwnChannelState::default())),
            "a refused change stops showing"
        );
    }
}

#[test]
fn a_queued_mute_stops_counting_at_once_and_an_unmute_counts_at_once() {
    let mut ob = outbox();
    let total = Overlay::new(&ob).total_unread(&unread_rows(false));
    assert_eq!((total.unread_count, total.unread_mentions), (6, 1));
    ob.enqueue(op_id(100), set(None, Some(true), None)).unwrap();
    let total = Overlay::new(&ob).total_unread(&unread_rows(false));
    assert_eq!((total.unread_count, total.unread_mentions), (2, 0));
    assert!(
        Overlay::new(&ob)
            .channel(row(OwnChannelState::default()))
            .muted
    );
    // A muted channel being unmuted counts again.
    let mut ob = outbox();
    assert_eq!(
        Overlay::new(&ob)
            .total_unread(&unread_rows(true))
            .unread_count,
        2
    );
    ob.enqueue(op_id(101), set(None, Some(false), None))
        .unwrap();
    assert_eq!(
        Overlay::new(&ob)
            .total_unread(&unread_rows(true))
            .unread_count,
        6
    );
}

#[test]
fn a_queued_delete_or_mark_read_leaves_the_list_and_the_total() {
    let mut ob = outbox();
    ob.enqueue(op_id(100), OutboxOp::DeleteChannel { cid: cid(C) })
        .unwrap();
    let overlay = Overlay::new(&ob);
    let everything = ChannelQuery::new(10)
        .hidden(Inclusion::Include)
        .archived(Inclusion::Include);
    assert!(!overlay.shows(&everything, &row(OwnChannelState::default())));
    assert_eq!(overlay.total_unread(&unread_rows(false)).unread_count, 2);
    let mut ob = outbox();
    ob.enqueue(
        op_id(101),
        OutboxOp::MarkRead {
            cid: cid(C),
            message_id: None,
        },
    )
    .unwrap();
    assert_eq!(
        Overlay::new(&ob)
            .total_unread(&unread_rows(false))
            .unread_count,
        2
    );
}
