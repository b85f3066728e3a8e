//! The `@` autocomplete lookup: the members of a channel whose id starts with what the user
//! typed after `@`, most recently active first. The rules:
//!
//! - Local only (works offline, answers at once): the cached members with the user's queued
//!   member changes laid over them (a member being added is suggested, one being removed
//!   is not), as the member list shows them. The user is never suggested to themselves.
//! - Matching is a case-insensitive prefix of the user id; an empty prefix lists everyone.
//! - Ranking: members who wrote among the channel's newest [`RECENT_WINDOW`] cached
//!   messages first, the most recent author first; then online members; then by id.
//! - Cost: one read of the channel's members (bounded by the channel's size, never the
//!   app's) and one index range over its newest [`RECENT_WINDOW`] messages.

use std::collections::HashMap;

use chat_protocol::Cid;

use super::items::MemberItem;
use super::overlay::Overlay;
use super::registry::member_rows;
use crate::cache::{Cache, CacheResult};

/// How many of a channel's newest messages decide who was active recently.
pub const RECENT_WINDOW: u32 = 200;

/// Up to `limit` members of `cid` matching `prefix`, ranked (see the module doc).
pub(crate) fn candidates(
    cache: &Cache,
    overlay: &Overlay,
    cid: &Cid,
    prefix: &str,
    limit: usize,
) -> CacheResult<Vec<MemberItem>> {
    let me = cache.user().unwrap_or_default();
    let prefix = prefix.to_lowercase();
    let mut items: Vec<MemberItem> = overlay
        .members(cid, &member_rows(cache, cid)?)
        .into_iter()
        .filter(|m| m.user_id != me && m.user_id.to_lowercase().starts_with(&prefix))
        .collect();
    let recency: HashMap<String, usize> = cache
        .recent_authors(cid, RECENT_WINDOW)?
        .into_iter()
        .enumerate()
        .map(|(rank, user)| (user, rank))
        .collect();
    items.sort_by(|a, b| {
        let rank = |m: &MemberItem| recency.get(&m.user_id).copied().unwrap_or(usize::MAX);
        rank(a)
            .cmp(&rank(b))
            .then(b.online.cmp(&a.online))
            .then_with(|| a.user_id.cmp(&b.user_id))
    });
    items.truncate(limit);
    Ok(items)
}
