//! The owner's own channel settings in the cache (keep the higher rev, only the owner's)
//! and the channel list's filters and orders over them.

use chat_protocol::{Change, MemberState};

use super::test_support::*;
use super::{Cache, ChannelQuery, ChannelSort, Inclusion, OwnChannelState};

fn settings(
    c: &str,
    user: &str,
    hidden: bool,
    muted: bool,
    archived: bool,
    rev: u64,
) -> MemberState {
    MemberState {
        cid: cid(c),
        user_id: user.into(),
        hidden,
        muted,
        archived,
        rev,
    }
}

fn change(s: MemberState) -> chat_protocol::SyncChange {
    chat_protocol::SyncChange {
        seq: s.rev,
        change: Change::MemberState(s),
    }
}

fn cids(cache: &Cache, q: ChannelQuery) -> Vec<String> {
    cache
        .channels(&q)
        .unwrap()
        .iter()
        .map(|i| i.channel.cid.to_string())
        .collect()
}

/// bob's cache with four channels: `team:a` (newest), `team:b` (3 unread, 1 mention,
/// muted by its limited state), `messaging:c` (2 unread, carol a member), `team:d`.
fn four_channels() -> Cache {
    let mut cache = bob_cache();
    let mut b = state(channel("team:b", 2, Some(30)), vec![], vec![], false);
    b.unread.unread_count = 3;
    b.unread.unread_mentions = 1;
    b.own_state = Some(settings("team:b", "bob", false, true, false, 5));
    let mut c = state(
        channel("messaging:c", 3, Some(20)),
        vec![member("messaging:c", "carol", 1, false)],
        vec![],
        false,
    );
    c.unread.unread_count = 2;
    let a = state(channel("team:a", 1, Some(40)), vec![], vec![], false);
    let d = state(channel("team:d", 4, Some(10)), vec![], vec![], false);
    cache
        .apply_sync_page(&page(vec![a, b, c, d], vec![], "c1"))
        .unwrap();
    cache
}

#[test]
fn own_settings_keep_the_higher_rev_and_only_the_owners() {
    let mut cache = four_channels();
    let own = |cache: &Cache, c: &str| {
        cache
            .channels(
                &ChannelQuery::new(10)
                    .hidden(Inclusion::Include)
                    .archived(Inclusion::Include),
            )
            .unwrap()
            .into_iter()
            .find(|i| i.channel.cid.to_string() == c)
            .unwrap()
            .own
    };
    assert!(
        own(&cache, "team:b").muted,
        "from the limited state's own_state"
    );
    cache
        .apply_changes(&[change(settings("team:a", "bob", true, false, false, 6))])
        .unwrap();
    assert!(own(&cache, "team:a").hidden);
    // An older change, and another user's settings, change nothing.
    cache
        .apply_changes(&[
            change(settings("team:a", "bob", false, false, false, 4)),
            change(settings("team:d", "alice", true, true, true, 9)),
        ])
        .unwrap();
    assert!(own(&cache, "team:a").hidden);
    assert_eq!(own(&cache, "team:d"), OwnChannelState::default());
}

#[test]
fn the_channel_list_filters_and_sorts_by_settings_text_and_unread() {
    let mut cache = four_channels();
    cache
        .apply_changes(&[
            change(settings("team:a", "bob", true, false, false, 6)),
            change(settings("team:d", "bob", false, false, true, 7)),
        ])
        .unwrap();
    // Default: neither hidden nor archived, muted included, newest activity first.
    assert_eq!(
        cids(&cache, ChannelQuery::new(10)),
        ["team:b", "messaging:c"]
    );
    assert_eq!(
        cids(&cache, ChannelQuery::new(10).hidden(Inclusion::Only)),
        ["team:a"]
    );
    assert_eq!(
        cids(&cache, ChannelQuery::new(10).archived(Inclusion::Only)),
        ["team:d"]
    );
    assert_eq!(
        cids(&cache, ChannelQuery::new(10).muted(Inclusion::Exclude)),
        ["messaging:c"]
    );
    assert_eq!(
        cids(&cache, ChannelQuery::new(10).muted(Inclusion::Only)),
        ["team:b"]
    );
    let everything = ChannelQuery::new(10)
        .hidden(Inclusion::Include)
        .archived(Inclusion::Include);
    assert_eq!(
        cids(&cache, everything.clone()),
        ["team:a", "team:b", "messaging:c", "team:d"]
    );
    // Sorted by unread count, then activity; the limit applies after the filters.
    assert_eq!(
        cids(&cache, everything.clone().sorted_by(ChannelSort::Unread)),
        ["team:b", "messaging:c", "team:a", "team:d"]
    );
    assert_eq!(
        cids(
            &cache,
            ChannelQuery::new(1)
                .sorted_by(ChannelSort::Unread)
                .muted(Inclusion::Exclude)
        ),
        ["messaging:c"]
    );
    // Text: a member's id, the name, the cid; ASCII case-insensitive; blank = no filter.
    assert_eq!(
        cids(&cache, everything.clone().matching("CAR")),
        ["messaging:c"]
    );
    assert_eq!(
        cids(&cache, everything.clone().matching("d r4")),
        ["team:d"]
    );
    assert_eq!(cids(&cache, everything.clone().matching("team:")).len(), 3);
    assert_eq!(cids(&cache, everything.clone().matching("nobody")).len(), 0);
    assert_eq!(cids(&cache, everything.matching("  ")).len(), 4);
}

#[test]
fn the_unread_total_reads_only_channels_with_unread_messages() {
    let cache = four_channels();
    let rows = cache.unread_channels().unwrap();
    let summary: Vec<(&str, u32, u32, bool)> = rows
        .iter()
        .map(|r| (r.cid.as_str(), r.unread_count, r.unread_mentions, r.muted))
        .collect();
    assert_eq!(
        summary,
        [("messaging:c", 2, 0, false), ("team:b", 3, 1, true)]
    );
}
