//! Reads the app asks the server for beyond sync — a page of older history for a window,
//! a thread's newest replies, one message by id — on the engine's one road to the
//! network. The rules:
//!
//! - A query is an [`Io::Http`](super::Io) request tagged [`IoTag::Query`]; its path is
//!   built here, one function per kind ([`Query::path`]), as the outbox's are in
//!   `outbox/api.rs` and sync's in the sync driver.
//! - Tokens are the auth module's alone: a query waits while there is no token (at most
//!   [`TOKEN_WAIT`]; it fails at once when authentication is stopped), is sent with the
//!   current one, and on a `401` reports the token as refused and goes again once with
//!   the next. A second `401` fails it.
//! - The answer is handled in the engine step that receives it: a history page is stored
//!   contiguously with the window and the window settles, thread replies are stored, a
//!   starred page is stored in the starred list, a quoted message is kept for its previews,
//!   a lookup is handed back; the caller waiting on the oneshot hears the outcome after the
//!   cache holds it. Nobody waits for a thread refresh (best effort).

use std::time::Duration;

use chat_protocol::{
    Cid, Message, MessageResponse, MessagesResponse, SearchResponse, StarredResponse,
};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::{Engine, IoTag};
use crate::client::error::{ClientError, ClientResult};
use crate::client::token::TokenError;
use crate::clock::Millis;
use crate::net::{HttpMethod, HttpReply, NetworkError};

/// How long a query waits for a token before it fails.
pub(crate) const TOKEN_WAIT: Duration = Duration::from_secs(30);

/// A replies page size for a thread refresh.
const THREAD_PAGE: u32 = 100;

/// What a query fetches, and who hears the result.
#[derive(Debug)]
pub(crate) enum Query {
    /// The page of a window's channel before `before` (`None`: the newest page): stored,
    /// then the window `sub` settles; the answer is whether older messages exist.
    History {
        /// The window (a live-query subscription id).
        sub: u64,
        /// Its channel.
        cid: Cid,
        /// The oldest cached message when the fetch started.
        before: Option<Uuid>,
        /// The page size.
        limit: u32,
        /// Told once the page is stored and the window settled.
        waiter: oneshot::Sender<ClientResult<bool>>,
    },
    /// A thread's newest replies, stored (best effort: nobody waits).
    Thread {
        /// The thread root.
        parent_id: Uuid,
    },
    /// A page of the user's starred messages before `before` (`None`: the newest page),
    /// stored in the cache's starred list; the waiter (if any) hears whether older starred
    /// messages exist.
    Starred {
        /// The oldest starred message cached when the fetch started.
        before: Option<Uuid>,
        /// The page size.
        limit: u32,
        /// Told once the page is stored.
        waiter: Option<oneshot::Sender<ClientResult<bool>>>,
    },
    /// A page of `GET /v1/search` for a merged search (`engine/search.rs`).
    Search {
        /// The request path.
        path: String,
        /// The page's local part and its waiter.
        pending: super::search::PendingSearch,
    },
    /// A quoted message a preview needs (`engine/quotes.rs`): stored as a copy.
    Quote {
        /// The quoted message.
        id: Uuid,
    },
    /// One message by id.
    Lookup {
        /// The message.
        id: Uuid,
        /// Told the message, or why not.
        waiter: oneshot::Sender<ClientResult<Message>>,
    },
}

impl Query {
    /// The request path (relative to the server's base URL).
    fn path(&self) -> String {
        match self {
            Self::History {
                cid, before, limit, ..
            } => {
                let mut path = format!(
                    "/v1/channels/{}/{}/messages?limit={}",
                    cid.kind().as_str(),
                    cid.id(),
                    (*limit).clamp(1, chat_protocol::limits::MAX_MESSAGE_PAGE)
                );
                if let Some(before) = before {
                    path.push_str(&format!("&before={before}"));
                }
                path
            }
            Self::Thread { parent_id } => {
                format!("/v1/messages/{parent_id}/replies?limit={THREAD_PAGE}")
            }
            Self::Starred { before, limit, .. } => {
                let limit = (*limit).clamp(1, chat_protocol::limits::MAX_MESSAGE_PAGE);
                match before {
                    Some(before) => format!("/v1/starred?limit={limit}&before={before}"),
                    None => format!("/v1/starred?limit={limit}"),
                }
            }
            Self::Lookup { id, .. } | Self::Quote { id } => format!("/v1/messages/{id}"),
            Self::Search { path, .. } => path.clone(),
        }
    }
}

/// A query not answered yet.
#[derive(Debug)]
pub(crate) struct PendingQuery {
    query: Query,
    /// When it gives up waiting for a token.
    deadline: Millis,
    /// The token it was last sent with (`None`: waiting to be sent).
    sent_with: Option<String>,
    /// It was refused once (`401`) and is on its second token.
    retried: bool,
}

impl Engine {
    /// Queues `query`; it leaves with the next pump that has a token.
    pub(crate) fn ask(&mut self, query: Query, now: Millis) {
        self.next_query += 1;
        self.queries.insert(
            self.next_query,
            PendingQuery {
                query,
                deadline: now.saturating_add(TOKEN_WAIT),
                sent_with: None,
                retried: false,
            },
        );
    }

    /// Sends the queries waiting for a token, or fails them when authentication stopped
    /// or no token came in time.
    pub(super) fn dispatch_queries(&mut self, now: Millis) {
        let waiting: Vec<u64> = self
            .queries
            .iter()
            .filter(|(_, q)| q.sent_with.is_none())
            .map(|(id, _)| *id)
            .collect();
        for id in waiting {
            let failure = if self.auth_stopped() {
                Some(TokenError::Refused(
                    "authentication stopped; call refresh_token".into(),
                ))
            } else if self.token().is_none() && self.queries[&id].deadline <= now {
                Some(TokenError::Unavailable(format!(
                    "no token within {} s",
                    TOKEN_WAIT.as_secs()
                )))
            } else {
                None
            };
            if let Some(e) = failure {
                let pending = self.queries.remove(&id).expect("listed");
                self.fail_query(pending.query, ClientError::Token(e));
                continue;
            }
            let Some(token) = self.token().map(str::to_owned) else {
                continue;
            };
            let pending = self.queries.get_mut(&id).expect("listed");
            pending.sent_with = Some(token);
            let path = pending.query.path();
            self.request(IoTag::Query(id), HttpMethod::Get, path, None);
        }
    }

    /// When a query waiting for a token gives up.
    pub(super) fn next_query_deadline(&self) -> Option<Millis> {
        self.queries
            .values()
            .filter(|q| q.sent_with.is_none())
            .map(|q| q.deadline)
            .min()
    }

    /// A query's reply arrived.
    pub(super) fn on_query_reply(&mut self, id: u64, result: Result<HttpReply, NetworkError>) {
        let Some(mut pending) = self.queries.remove(&id) else {
            return;
        };
        let reply = match result {
            Ok(reply) => reply,
            Err(e) => return self.fail_query(pending.query, e.into()),
        };
        if reply.status == 401 {
            let used = pending.sent_with.take().unwrap_or_default();
            self.token_rejected(&used);
            if pending.retried {
                let refused = TokenError::Refused("the server refused a fresh token".into());
                return self.fail_query(pending.query, refused.into());
            }
            pending.retried = true;
            self.queries.insert(id, pending);
            return;
        }
        if !reply.is_success() {
            let error = ClientError::server(reply.status, reply.error_body());
            return self.fail_query(pending.query, error);
        }
        let undecodable = |e: serde_json::Error| -> ClientError {
            NetworkError(format!("undecodable reply: {e}")).into()
        };
        match pending.query {
            Query::History {
                sub,
                cid,
                before,
                waiter,
                ..
            } => {
                let stored = serde_json::from_slice::<MessagesResponse>(&reply.body)
                    .map_err(undecodable)
                    .and_then(|page| {
                        self.apply_history(&cid, before, &page)?;
                        Ok(page.has_more_before)
                    });
                // Settle even when the page could not be stored: the window grew for it.
                let settled = self.window_settle(sub);
                self.answer(waiter, settled.and(stored));
            }
            Query::Thread { .. } => {
                if let Ok(page) = serde_json::from_slice::<MessagesResponse>(&reply.body)
                    && let Err(e) = self.apply_messages(&page)
                {
                    self.last_error = Some(e.to_string());
                }
            }
            Query::Starred { before, waiter, .. } => {
                let stored = serde_json::from_slice::<StarredResponse>(&reply.body)
                    .map_err(undecodable)
                    .and_then(|page| {
                        self.touch();
                        self.cache.apply_starred_page(before, &page)?;
                        Ok(page.has_more)
                    });
                match (waiter, stored) {
                    (Some(waiter), stored) => self.answer(waiter, stored),
                    (None, Err(e)) => self.last_error = Some(e.to_string()),
                    (None, Ok(_)) => {}
                }
            }
            Query::Search { pending, .. } => {
                let page = serde_json::from_slice::<SearchResponse>(&reply.body)
                    .map_err(|e| format!("undecodable reply: {e}"));
                self.search_answered(pending, page);
            }
            Query::Quote { id } => match serde_json::from_slice::<MessageResponse>(&reply.body) {
                Ok(r) => self.quote_fetched(&r.message),
                Err(e) => self.quote_failed(id, &undecodable(e)),
            },
            Query::Lookup { waiter, .. } => {
                let found = serde_json::from_slice::<MessageResponse>(&reply.body)
                    .map(|r| r.message)
                    .map_err(undecodable);
                self.answer(waiter, found);
            }
        }
    }

    /// Tells whoever waits for `query` that it failed (a history window settles first: it
    /// grew for the page).
    fn fail_query(&mut self, query: Query, error: ClientError) {
        match query {
            Query::History { sub, waiter, .. } => {
                let settled = self.window_settle(sub);
                self.answer(waiter, settled.and(Err(error)));
            }
            Query::Thread { .. } | Query::Starred { waiter: None, .. } => {}
            Query::Starred {
                waiter: Some(waiter),
                ..
            } => self.answer(waiter, Err(error)),
            Query::Lookup { waiter, .. } => {
                self.answer(waiter, Err(error));
            }
            Query::Search { pending, .. } => self.search_answered(pending, Err(error.to_string())),
            Query::Quote { id } => self.quote_failed(id, &error),
        }
    }
}
