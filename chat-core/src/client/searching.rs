//! [`ChatClient::search`] and [`ChatClient::search_local`]: the app's calls of the merged
//! full-text search (the values and the rules: `client/search.rs`; the steps:
//! `engine/search.rs`).

use tokio::sync::oneshot;

use super::ChatClient;
use super::error::{ClientError, ClientResult};
use super::search::{SearchCursor, SearchHit, SearchPage, SearchQuery};

impl ChatClient {
    /// One page of a search: the local hits at once, then a page of the server's
    /// (see the module rules). `cursor` is the previous page's `next` (`None`: the first
    /// page). Offline it answers with the local hits alone, without waiting for the
    /// network, and says the server was not reached.
    pub async fn search(
        &self,
        query: SearchQuery,
        cursor: Option<String>,
    ) -> ClientResult<SearchPage> {
        let cursor = match cursor {
            None => SearchCursor::start(),
            Some(c) => SearchCursor::decode(&c)
                .ok_or_else(|| ClientError::InvalidInput(format!("not a search cursor: {c:?}")))?,
        };
        let (tx, rx) = oneshot::channel();
        self.run(move |e, now| e.search_page(query, cursor, tx, now))
            .await?;
        rx.await.map_err(|_| ClientError::Closed)?
    }

    /// The local hits alone (the first `query.limit`, best first): instant and offline,
    /// for as-you-type results before [`ChatClient::search`] adds the server's.
    pub async fn search_local(&self, query: SearchQuery) -> ClientResult<Vec<SearchHit>> {
        self.run(move |e, _| e.search_local(&query, 0))
            .await?
            .map_err(Into::into)
    }
}
