//! Fetching the quoted messages that quote-reply previews need and the cache does not hold
//! (`live/quotes.rs` reports them). The rules:
//!
//! - Each missing quoted message is fetched once (`GET /v1/messages/{id}`, a
//!   [`Query::Quote`]) on the engine's one road to the network, after the live lists were
//!   refreshed; the answer is stored as a copy (`cache/quoted.rs`) and the lists re-read.
//! - A `404` or `403` makes the preview `Unavailable` for the rest of the session.
//! - A fetch that failed otherwise (network, server error, no token) is not retried on
//!   every refresh: it waits for the next sign that the network works (connectivity
//!   restored, a completed sync).

use std::collections::HashSet;

use chat_protocol::Message;
use uuid::Uuid;

use super::Engine;
use super::queries::Query;
use crate::client::error::ClientError;
use crate::clock::Millis;

/// The quote fetches' state: in flight and failed (waiting for the network).
#[derive(Debug, Default)]
pub(crate) struct QuoteFetches {
    /// Asked for (in flight, answered, or failed): never asked again while here.
    asked: HashSet<Uuid>,
    /// Failed for a reason that may pass: asked again when the network works.
    failed: HashSet<Uuid>,
}

impl Engine {
    /// Asks for the quoted messages open lists miss that were not asked for yet; says
    /// whether it asked for any.
    pub(crate) fn fetch_missing_quotes(&mut self, now: Millis) -> bool {
        let mut asked = false;
        for id in self.live.missing_quotes() {
            if self.quote_fetches.asked.insert(id) {
                self.ask(Query::Quote { id }, now);
                asked = true;
            }
        }
        asked
    }

    /// A quoted message arrived: kept as a copy, and the lists re-read.
    pub(crate) fn quote_fetched(&mut self, message: &Message) {
        if let Err(e) = self.cache.keep_quoted(message) {
            self.last_error = Some(e.to_string());
            return;
        }
        self.touch();
    }

    /// A quote fetch failed: refused for good (`404`, `403`), or to be asked again once
    /// the network shows it works.
    pub(crate) fn quote_failed(&mut self, id: Uuid, error: &ClientError) {
        if matches!(error.server_status(), Some((403 | 404, _))) {
            self.live.quote_unavailable(id);
            self.touch_overlay();
        } else {
            self.quote_fetches.failed.insert(id);
        }
    }

    /// The network works again: failed quote fetches may be asked again.
    pub(crate) fn retry_failed_quotes(&mut self) {
        for id in std::mem::take(&mut self.quote_fetches.failed) {
            self.quote_fetches.asked.remove(&id);
        }
    }
}
