//! Full-text search for the app, its values: one call, `ChatClient::search`
//! (`client/searching.rs`), that answers from the
//! local FTS5 index of the cache (offline too) and adds a page of the server's
//! `GET /v1/search` for the history the cache does not hold.
//!
//! Rules this module owns:
//! - A page is the local hits first (best match first, `local: true`), then the server's
//!   (newest first, `local: false`), never the same message twice: a server hit the local
//!   index also finds (on any page) is dropped, since the local copy was or will be shown.
//! - Offline, or when the server cannot answer, a page holds the local hits alone and says
//!   so ([`ServerPart::NotReached`]); its cursor keeps the server's position, so the next
//!   page asks the server again from where it stopped.
//! - The cursor is opaque (`SearchPage::next`); `None` once both parts are exhausted.
//! - The local part matches the last word as a prefix while the user types; the server
//!   matches whole words (docs/protocol.md, "Search").

use chat_protocol::{Cid, Message, TextRange};
use serde::Serialize;

/// What to search for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// Plain words; every one must match (the last one as a prefix, locally).
    pub text: String,
    /// Only this channel.
    pub cid: Option<Cid>,
    /// Hits per part of a page (local and server), 1..=100.
    pub limit: u32,
}

impl SearchQuery {
    /// A search of every channel, 20 hits per part.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            cid: None,
            limit: 20,
        }
    }

    /// Only in `cid`.
    pub fn in_channel(mut self, cid: Cid) -> Self {
        self.cid = Some(cid);
        self
    }
}

/// One message found (serialized for the web SDK with snake_case fields).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    /// The message (the cache's copy for a local hit).
    pub message: Message,
    /// Where the words matched its text (UTF-16 offsets, see `chat_protocol::TextRange`).
    pub highlights: Vec<TextRange>,
    /// Found in the local cache (`false`: on the server only).
    pub local: bool,
    /// A message of this device not confirmed by the server yet (queued or failed).
    pub pending: bool,
}

/// What the server part of a page did (serialized as `{"type": "not_reached", …}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerPart {
    /// The server answered; its hits are in the page.
    Answered,
    /// The server was not reached (offline, no token) or refused: only local hits.
    NotReached {
        /// Why.
        reason: String,
    },
    /// The server has no more pages for this search (or was not asked: nothing in the
    /// text is a whole word).
    Exhausted,
}

/// One page of a search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchPage {
    /// Local hits first, then the server's.
    pub hits: Vec<SearchHit>,
    /// What the server part did.
    pub server: ServerPart,
    /// Pass to `ChatClient::search` for the next page; `None` when nothing remains.
    pub next: Option<String>,
}

/// Where a search continues: the local offset (`None`: done) and the server's position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SearchCursor {
    pub(crate) local: Option<u32>,
    pub(crate) server: ServerPosition,
}

/// The server part's position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServerPosition {
    /// The first page.
    Start,
    /// After the page that gave this cursor.
    After(String),
    /// Nothing more.
    Done,
}

impl SearchCursor {
    /// The first page.
    pub(crate) fn start() -> Self {
        Self {
            local: Some(0),
            server: ServerPosition::Start,
        }
    }

    /// Whether nothing remains.
    pub(crate) fn is_done(&self) -> bool {
        self.local.is_none() && self.server == ServerPosition::Done
    }

    /// The opaque form: `<local offset or ->|<'' first page, '-' done, 'c'+server cursor>`.
    pub(crate) fn encode(&self) -> String {
        let local = self.local.map_or("-".to_owned(), |o| o.to_string());
        let server = match &self.server {
            ServerPosition::Start => String::new(),
            ServerPosition::Done => "-".to_owned(),
            ServerPosition::After(c) => format!("c{c}"),
        };
        format!("{local}|{server}")
    }

    /// Parses [`SearchCursor::encode`]'s form.
    pub(crate) fn decode(s: &str) -> Option<Self> {
        let (local, server) = s.split_once('|')?;
        let local = match local {
            "-" => None,
            n => Some(n.parse().ok()?),
        };
        let server = match server {
            "" => ServerPosition::Start,
            "-" => ServerPosition::Done,
            c => ServerPosition::After(c.strip_prefix('c')?.to_owned()),
        };
        Some(Self { local, server })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        for c in [
            SearchCursor::start(),
            SearchCursor {
                local: None,
                server: ServerPosition::After("s1.42".into()),
            },
            SearchCursor {
                local: Some(40),
                server: ServerPosition::Done,
            },
        ] {
            assert_eq!(SearchCursor::decode(&c.encode()), Some(c));
        }
        assert_eq!(SearchCursor::decode("x"), None);
        assert_eq!(SearchCursor::decode("1|z"), None);
    }
}
