//! The replica check: a cache equals the server's REST views of its owner's channels.
//!
//! Rules: the server's REST answers are the truth; the check reads the cache only through
//! its public API and compares confirmed rows (local, unsent state is left out).

use std::collections::{BTreeMap, BTreeSet};

use chat_core::cache::{Cache, CachedMessage};
use chat_protocol::{
    Member, Message, MessagesResponse, QueryChannelsResponse, Reaction, ReactionsResponse,
    StarredResponse, UnreadResponse,
};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use chat_test::Api;

/// What of a channel the replica must hold exactly.
#[derive(Clone, Copy, PartialEq)]
pub enum Depth {
    /// Every reply and every reaction (the channel was never limited after replies or
    /// others' reactions existed).
    Full,
    /// Limited since: top-level window, exact counts and own reactions; cached replies
    /// equal the server's.
    Window,
}

/// Asserts that `cache` (owned by `me`) equals the server's REST views.
pub async fn assert_replica(cache: &Cache, api: &Api, me: &str, depth: &BTreeMap<String, Depth>) {
    let channels: QueryChannelsResponse = {
        let (s, b) = api
            .post(
                "/v1/channels/query",
                json!({"limit": 100, "message_limit": 0}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        serde_json::from_value(b).unwrap()
    };
    let server_cids: BTreeSet<String> = channels
        .channels
        .iter()
        .map(|s| s.channel.cid.to_string())
        .collect();
    let list = cache.channel_list(1000).unwrap();
    let cached_cids: BTreeSet<String> = list.iter().map(|i| i.channel.cid.to_string()).collect();
    assert_eq!(
        cached_cids, server_cids,
        "the cached channels are the user's channels"
    );
    let sort_keys: Vec<_> = list
        .iter()
        .map(|i| i.channel.last_message_at.unwrap_or(i.channel.created_at))
        .collect();
    assert!(
        sort_keys.windows(2).all(|w| w[0] >= w[1]),
        "most recent first"
    );
    let starred: StarredResponse = api.fetch("/v1/starred?limit=200").await;
    let starred: BTreeSet<Uuid> = starred.messages.iter().map(|m| m.id).collect();
    let unread: UnreadResponse = api.fetch("/v1/unread").await;
    for state in &channels.channels {
        let cid = &state.channel.cid;
        let what = format!("{cid}");
        let full = depth.get(&what).copied().unwrap_or(Depth::Full) == Depth::Full;
        assert_eq!(
            cache.channel(cid).unwrap().as_ref(),
            Some(&state.channel),
            "{what}"
        );
        let by_user = |mut v: Vec<Member>| {
            v.sort_by(|a, b| a.user_id.cmp(&b.user_id));
            v
        };
        assert_eq!(
            by_user(cache.members(cid).unwrap()),
            by_user(state.members.clone()),
            "{what}"
        );
        assert_eq!(cache.reads(cid).unwrap(), state.reads, "{what} reads");
        let server_unread = unread.channels.iter().find(|u| &u.cid == cid);
        let cached_unread = cache.unread(cid).unwrap().unwrap();
        assert_eq!(
            (cached_unread.unread_count, cached_unread.unread_mentions),
            server_unread.map_or((0, 0), |u| (u.unread_count, u.unread_mentions)),
            "{what} unread"
        );
        let path = format!(
            "/v1/channels/{}/messages?limit=200",
            cid.to_string().replace(':', "/")
        );
        let server_top: MessagesResponse = api.fetch(&path).await;
        let window = cache.window(cid).unwrap().unwrap();
        let expected: Vec<Message> = server_top
            .messages
            .iter()
            .filter(|m| window.reaches_start || window.oldest.is_some_and(|o| m.created_at >= o))
            .cloned()
            .collect();
        if !window.reaches_start {
            assert!(
                expected.len() < server_top.messages.len(),
                "{what}: older history exists"
            );
        }
        let cached_top: Vec<Message> = confirmed(cache.messages_window(cid, 1000, None).unwrap());
        assert_eq!(
            cached_top, expected,
            "{what}: the cached window equals the server"
        );
        for m in &cached_top {
            let replies: MessagesResponse = api
                .fetch(&format!("/v1/messages/{}/replies?limit=200", m.id))
                .await;
            let cached_replies = confirmed(cache.thread_replies(&m.id).unwrap());
            if full {
                assert_eq!(
                    cached_replies, replies.messages,
                    "{what}: replies of {}",
                    m.id
                );
            } else {
                assert!(
                    cached_replies.iter().all(|r| replies.messages.contains(r)),
                    "{what}"
                );
            }
            for msg in std::iter::once(m).chain(&cached_replies) {
                assert_reactions(cache, api, me, msg, full, starred.contains(&msg.id)).await;
            }
        }
    }
}

pub fn confirmed(messages: Vec<CachedMessage>) -> Vec<Message> {
    messages
        .into_iter()
        .filter(|m| m.local_state.is_none())
        .map(|m| m.message)
        .collect()
}

async fn assert_reactions(
    cache: &Cache,
    api: &Api,
    me: &str,
    m: &Message,
    full: bool,
    starred: bool,
) {
    let server: ReactionsResponse = api.fetch(&format!("/v1/messages/{}/reactions", m.id)).await;
    let key = |r: &Reaction| (r.user_id.clone(), r.kind.clone());
    let mut own: Vec<String> = server
        .reactions
        .iter()
        .filter(|r| r.user_id == me)
        .map(|r| r.kind.clone())
        .collect();
    own.sort();
    let cached = cache.message(&m.id).unwrap().unwrap();
    assert_eq!(cached.own_reactions, own, "own reactions on {}", m.id);
    assert_eq!(cached.starred, starred, "star on {}", m.id);
    if full {
        let mut want = server.reactions.clone();
        want.sort_by_key(key);
        let mut got = cache.reactions(&m.id).unwrap();
        got.sort_by_key(key);
        assert_eq!(got, want, "reactions on {}", m.id);
    }
}
