//! The merged search's engine steps (rules: `client/search.rs`): the local page is read
//! from the cache in the step that receives the call; the server's page is a
//! [`Query::Search`], de-duplicated against the local index in the step that receives
//! its reply.

use chat_protocol::{
    Cid, SEARCH_QUERY_MAX_BYTES, SEARCH_QUERY_MAX_WORDS, SearchResponse, search_words,
};
use tokio::sync::oneshot;

use super::{Engine, Query};
use crate::cache::CacheResult;
use crate::client::error::ClientResult;
use crate::client::search::{
    SearchCursor, SearchHit, SearchPage, SearchQuery, ServerPart, ServerPosition,
};
use crate::clock::Millis;

/// The largest page part.
const MAX_LIMIT: u32 = 100;

/// A search page waiting for the server's part.
#[derive(Debug)]
pub(crate) struct PendingSearch {
    /// The search text (to de-duplicate the server's hits against the local index).
    pub(crate) text: String,
    /// The local hits already found.
    pub(crate) local: Vec<SearchHit>,
    /// Where the local part continues.
    pub(crate) next_local: Option<u32>,
    /// The server position this page was asked from (kept when the server is not reached).
    pub(crate) asked: ServerPosition,
    /// Told the page.
    pub(crate) waiter: oneshot::Sender<ClientResult<SearchPage>>,
}

/// `GET /v1/search` for a query from a position.
pub(crate) fn search_path(
    text: &str,
    cid: Option<&Cid>,
    limit: u32,
    after: Option<&str>,
) -> String {
    let mut path = format!("/v1/search?q={}&limit={limit}", encode(text));
    if let Some(cid) = cid {
        path.push_str(&format!("&cid={}", encode(&cid.to_string())));
    }
    if let Some(after) = after {
        path.push_str(&format!("&cursor={}", encode(after)));
    }
    path
}

/// Percent-encodes a query parameter value (everything but RFC 3986 unreserved bytes).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Engine {
    /// Up to `query.limit` local hits from `offset`.
    pub(crate) fn search_local(
        &self,
        query: &SearchQuery,
        offset: u32,
    ) -> CacheResult<Vec<SearchHit>> {
        let limit = query.limit.clamp(1, MAX_LIMIT);
        let found = self
            .cache
            .search(&query.text, query.cid.as_ref(), limit, offset)?;
        Ok(found
            .into_iter()
            .map(|hit| SearchHit {
                pending: hit.cached.local_state.is_some(),
                message: hit.cached.message,
                highlights: hit.highlights,
                local: true,
            })
            .collect())
    }

    /// One page: the local part now, the server's part when it answers (or at once,
    /// without it, when it cannot be asked).
    pub(crate) fn search_page(
        &mut self,
        query: SearchQuery,
        cursor: SearchCursor,
        waiter: oneshot::Sender<ClientResult<SearchPage>>,
        now: Millis,
    ) {
        let limit = query.limit.clamp(1, MAX_LIMIT);
        let (local, next_local) = match cursor.local {
            None => (Vec::new(), None),
            Some(offset) => match self.search_local(&query, offset) {
                Ok(hits) => {
                    let more = hits.len() as u32 == limit;
                    (hits, more.then(|| offset + limit))
                }
                Err(e) => return self.answer(waiter, Err(e.into())),
            },
        };
        let page = |hits, server, server_next: ServerPosition| {
            let next = SearchCursor {
                local: next_local,
                server: server_next,
            };
            SearchPage {
                hits,
                server,
                next: (!next.is_done()).then(|| next.encode()),
            }
        };
        let after = match &cursor.server {
            ServerPosition::Done => {
                let done = page(local, ServerPart::Exhausted, ServerPosition::Done);
                return self.answer(waiter, Ok(done));
            }
            ServerPosition::Start => None,
            ServerPosition::After(c) => Some(c.clone()),
        };
        if search_words(&query.text).0.is_empty() {
            let done = page(local, ServerPart::Exhausted, ServerPosition::Done);
            return self.answer(waiter, Ok(done));
        }
        // Known to be unreachable (or refused): answer with the local part now.
        let (words, _) = search_words(&query.text);
        let unreachable =
            if query.text.len() > SEARCH_QUERY_MAX_BYTES || words.len() > SEARCH_QUERY_MAX_WORDS {
                Some("the text is too long for the server's search")
            } else if self.auth_stopped() {
                Some("authentication stopped")
            } else if self.token().is_none() {
                Some("no token yet")
            } else {
                None
            };
        if let Some(reason) = unreachable {
            let server = ServerPart::NotReached {
                reason: reason.into(),
            };
            let partial = page(local, server, cursor.server);
            return self.answer(waiter, Ok(partial));
        }
        let path = search_path(&query.text, query.cid.as_ref(), limit, after.as_deref());
        let pending = PendingSearch {
            text: query.text,
            local,
            next_local,
            asked: cursor.server,
            waiter,
        };
        self.ask(Query::Search { path, pending }, now);
    }

    /// The server's page arrived (`Ok`) or could not be had (`Err`, the reason).
    pub(crate) fn search_answered(
        &mut self,
        pending: PendingSearch,
        answer: Result<SearchResponse, String>,
    ) {
        let PendingSearch {
            text,
            mut local,
            next_local,
            asked,
            waiter,
        } = pending;
        let (server, server_next) = match answer {
            Ok(page) => {
                let ids: Vec<_> = page.results.iter().map(|r| r.message.id).collect();
                let held = match self.cache.search_matches(&text, &ids) {
                    Ok(held) => held,
                    Err(e) => return self.answer(waiter, Err(e.into())),
                };
                let shown: std::collections::HashSet<_> =
                    local.iter().map(|h| h.message.id).collect();
                local.extend(
                    page.results
                        .into_iter()
                        .filter(|r| !held.contains(&r.message.id) && !shown.contains(&r.message.id))
                        .map(|r| SearchHit {
                            message: r.message,
                            highlights: r.highlights,
                            local: false,
                            pending: false,
                        }),
                );
                let next = page
                    .next_cursor
                    .map_or(ServerPosition::Done, ServerPosition::After);
                (ServerPart::Answered, next)
            }
            Err(reason) => (ServerPart::NotReached { reason }, asked),
        };
        let next = SearchCursor {
            local: next_local,
            server: server_next,
        };
        let page = SearchPage {
            hits: local,
            server,
            next: (!next.is_done()).then(|| next.encode()),
        };
        self.answer(waiter, Ok(page));
    }
}
