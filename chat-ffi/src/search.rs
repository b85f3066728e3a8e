//! Full-text search across the FFI: [`FfiClient::search`] (a page: local hits first, then
//! the server's) and [`FfiClient::search_local`] (the local hits alone, instant). The
//! rules are chat-core's (`client/search.rs`); conversion only.

use chat_core::client::{SearchHit as CoreHit, SearchPage as CorePage, SearchQuery, ServerPart};

use crate::client::{FfiClient, cid};
use crate::error::ChatError;
use crate::runtime::run;
use crate::types::Message;

/// A half-open range of a message text in UTF-16 code units (Kotlin `String` and Swift
/// `utf16` / `NSRange` offsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct TextRange {
    /// First code unit.
    pub start: u32,
    /// One past the last code unit.
    pub end: u32,
}

/// One message found.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SearchHit {
    /// The message.
    pub message: Message,
    /// Where the words matched its text.
    pub highlights: Vec<TextRange>,
    /// Found in the local cache (`false`: on the server only).
    pub local: bool,
    /// Sent from this device and not confirmed by the server yet.
    pub pending: bool,
}

/// What the server part of a search page did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SearchServerPart {
    /// The server answered.
    Answered,
    /// Not reached (offline, no token) or refused: only local hits.
    NotReached {
        /// Why.
        reason: String,
    },
    /// No more server pages.
    Exhausted,
}

/// One page of a search.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SearchPage {
    /// Local hits first, then the server's.
    pub hits: Vec<SearchHit>,
    /// What the server part did.
    pub server: SearchServerPart,
    /// The cursor of the next page; `None` when nothing remains.
    pub next: Option<String>,
}

fn hit(h: CoreHit) -> SearchHit {
    SearchHit {
        message: h.message.into(),
        highlights: h
            .highlights
            .into_iter()
            .map(|r| TextRange {
                start: r.start,
                end: r.end,
            })
            .collect(),
        local: h.local,
        pending: h.pending,
    }
}

fn page(p: CorePage) -> SearchPage {
    SearchPage {
        hits: p.hits.into_iter().map(hit).collect(),
        server: match p.server {
            ServerPart::Answered => SearchServerPart::Answered,
            ServerPart::NotReached { reason } => SearchServerPart::NotReached { reason },
            ServerPart::Exhausted => SearchServerPart::Exhausted,
        },
        next: p.next,
    }
}

fn query(text: String, cid_text: Option<String>, limit: u32) -> Result<SearchQuery, ChatError> {
    Ok(SearchQuery {
        text,
        cid: cid_text.as_deref().map(cid).transpose()?,
        limit,
    })
}

#[uniffi::export]
impl FfiClient {
    /// One page of a search of `text` (plain words; the last one a prefix locally), in
    /// channel `cid` or everywhere, `limit` hits per part: local hits first, then the
    /// server's; offline, the local hits alone with `server = NotReached`. Pass the
    /// page's `next` as `cursor` for the next page.
    pub async fn search(
        &self,
        text: String,
        cid: Option<String>,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<SearchPage, ChatError> {
        let q = query(text, cid, limit)?;
        let client = self.inner.clone();
        run(async move { Ok(page(client.search(q, cursor).await?)) }).await
    }

    /// The local hits alone (the first `limit`, best first): instant, offline too.
    pub async fn search_local(
        &self,
        text: String,
        cid: Option<String>,
        limit: u32,
    ) -> Result<Vec<SearchHit>, ChatError> {
        let q = query(text, cid, limit)?;
        let client = self.inner.clone();
        run(async move { Ok(client.search_local(q).await?.into_iter().map(hit).collect()) }).await
    }
}
