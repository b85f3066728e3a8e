//! Local full-text search over the cached messages (the `messages_fts` index of schema
//! version 8), which works offline.
//!
//! Rules this module owns:
//! - The index follows `messages` through triggers that queue each changed row
//!   (`fts_queue`, schema version 8, durable in the write's own transaction); applying the
//!   queue takes two statements (FTS5 flushes its pending terms at every statement
//!   savepoint, so indexing from the triggers themselves cost ~10× a sync page). Small
//!   writes (a local echo, an API reply, realtime changes, outbox rows) apply it in their
//!   own transaction (no second commit); bulk writes (sync pages, history pages, resets)
//!   leave it to [`Cache::flush_search_index`], which the engine calls at the end of each
//!   step, after the step's diffs and answers are out, so indexing never delays showing a
//!   synced page. A search applies what remains first, so every write path is always
//!   found exactly. Deleted messages never match.
//! - Only messages of channels the cache still holds match (the cache deletes a dropped
//!   channel's messages), plus local echoes of unsent messages wherever they are (an
//!   offline-sent message is found at once).
//! - The search text is plain words (`chat_protocol::search_words`), never FTS5 syntax:
//!   each word becomes a quoted phrase (so `"`, `*`, `AND`, `NEAR(` match as text) and
//!   every word must match; the last word matches as a prefix while the user types.
//!   Tokenizer `unicode61 remove_diacritics 2`: case- and accent-insensitive, words split
//!   at Unicode separators. No prefix index: a prefix query walks the term b-tree, which
//!   stays fast at a cache's size and costs ingest nothing (docs/BENCHMARKS.md).
//! - Results are ranked by bm25 (best first, ties in storage order), with the matched ranges as
//!   UTF-16 offsets (`chat_protocol::TextRange`), never markup.

use chat_protocol::{Cid, MATCH_CLOSE, MATCH_OPEN, TextRange, search_words, unmark};
use rusqlite::{Connection, params};

use super::Cache;
use super::error::CacheResult;
use super::message_codec::{MESSAGE_COLUMN_COUNT, message_columns};
use super::rows::{CachedMessage, cached_message};

/// The columns of `rows::MESSAGE_SELECT` (`?1`: the owner).
macro_rules! hit_columns {
    () => {
        concat!(
            "SELECT ",
            message_columns!(),
            ", m.local_state, m.local_error, \
             (SELECT group_concat(r.type, ',') FROM reactions r \
                WHERE r.message_id = m.id AND r.user_id = ?1 AND r.deleted = 0), \
             (SELECT f.starred FROM flags f WHERE f.message_id = m.id), "
        )
    };
}

/// The search of every channel (`?2` the FTS5 query, `?3` NULL, `?4` limit, `?5`
/// offset): the page is ranked and highlighted inside FTS5 alone (its rank sorter over the
/// index; `highlight()` only for the rows of the page), then each of its rows is read by
/// rowid. `messages` holds only rows of cached channels and local echoes (a dropped
/// channel's messages are deleted), so nothing needs filtering.
const SEARCH: &str = concat!(
    hit_columns!(),
    "page.marked \
     FROM (SELECT rowid AS r, rank AS rk, highlight(messages_fts, 0, char(1), char(2)) AS marked \
             FROM messages_fts WHERE messages_fts MATCH ?2 \
             ORDER BY rank LIMIT ?4 OFFSET ?5) AS page \
     CROSS JOIN messages m ON m.rowid = page.r \
     WHERE ?3 IS NULL ORDER BY page.rk, page.r"
);

/// The search of one channel (`?3`): the matches joined with their rows, filtered by the
/// channel's key, ranked.
const SEARCH_CHANNEL: &str = concat!(
    hit_columns!(),
    "highlight(messages_fts, 0, char(1), char(2)) \
     FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid \
     WHERE messages_fts MATCH ?2 \
       AND m.ck = (SELECT key FROM channel_keys WHERE cid = ?3) \
     ORDER BY messages_fts.rank, m.rowid LIMIT ?4 OFFSET ?5"
);

/// Which of a list of message ids (`?1`, a JSON array) match `?2` locally: each id is
/// looked up, then tested against the index by rowid.
const MATCHING_IDS: &str = "SELECT m.id FROM json_each(?1) j CROSS JOIN messages m ON m.id = j.value \
     CROSS JOIN messages_fts ON messages_fts.rowid = m.rowid \
     WHERE messages_fts MATCH ?2";

/// One cached message that matched a local search.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalHit {
    /// The message as the cache holds it (a local echo keeps its send state).
    pub cached: CachedMessage,
    /// Where the search words matched its text (UTF-16 offsets).
    pub highlights: Vec<TextRange>,
}

/// The FTS5 query for a search text: each word a quoted phrase, the last one a prefix
/// when `prefix`; `None` when nothing in the text can match.
pub fn fts_query(text: &str) -> Option<String> {
    let (words, prefix) = search_words(text);
    if words.is_empty() {
        return None;
    }
    let last = words.len() - 1;
    let phrases: Vec<String> = words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let quoted = format!("\"{}\"", w.replace('"', "\"\""));
            if prefix && i == last {
                quoted + "*"
            } else {
                quoted
            }
        })
        .collect();
    Some(phrases.join(" "))
}

/// Applies the queued changes of `messages` to the index (see the module rules): removes
/// what the index held for each queued row, then indexes its current text. One statement
/// each, so FTS5 flushes its terms once, not once per row. Run inside a transaction.
fn flush(conn: &Connection) -> CacheResult<()> {
    let queued: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM fts_queue)")?
        .query_row([], |r| r.get(0))?;
    if !queued {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO messages_fts (messages_fts, rowid, text) \
         SELECT 'delete', rowid, indexed FROM fts_queue WHERE indexed IS NOT NULL",
    )?
    .execute([])?;
    conn.prepare_cached(
        "INSERT INTO messages_fts (rowid, text) \
         SELECT m.rowid, m.text FROM fts_queue q JOIN messages m ON m.rowid = q.rowid \
         WHERE m.text IS NOT NULL AND m.deleted_at IS NULL",
    )?
    .execute([])?;
    conn.prepare_cached("DELETE FROM fts_queue")?.execute([])?;
    Ok(())
}

/// [`flush`] in a small write's own transaction (see the module rules).
pub(crate) fn flush_small(conn: &Connection) -> CacheResult<()> {
    flush(conn)
}

impl Cache {
    /// Brings the search index up to date with every change queued since the last flush,
    /// in one transaction (the engine calls it at the end of each step).
    pub fn flush_search_index(&mut self) -> CacheResult<()> {
        let tx = self.conn.transaction()?;
        flush(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// [`Cache::flush_search_index`] on a shared borrow (a search flushes first).
    fn flush_before_search(&self) -> CacheResult<()> {
        let tx = self.conn.unchecked_transaction()?;
        flush(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Up to `limit` cached messages matching `text` (plain words, see the module rules),
    /// skipping the first `offset`, best match first; only in `cid` if given. A text that
    /// cannot match anything answers no hits.
    pub fn search(
        &self,
        text: &str,
        cid: Option<&Cid>,
        limit: u32,
        offset: u32,
    ) -> CacheResult<Vec<LocalHit>> {
        let Some(query) = fts_query(text) else {
            return Ok(Vec::new());
        };
        self.flush_before_search()?;
        let sql = if cid.is_some() {
            SEARCH_CHANNEL
        } else {
            SEARCH
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(
            params![self.me(), query, cid.map(Cid::to_string), limit, offset],
            |r| {
                let cached = cached_message(r)?;
                let marked: Option<String> = r.get(MESSAGE_COLUMN_COUNT + 4)?;
                let highlights = marked.map(|m| unmark(&m).1).unwrap_or_default();
                Ok(LocalHit { cached, highlights })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Which of `ids` the local search for `text` finds (whatever the page): a merged
    /// search drops these from the server's pages.
    pub fn search_matches(
        &self,
        text: &str,
        ids: &[uuid::Uuid],
    ) -> CacheResult<std::collections::HashSet<uuid::Uuid>> {
        let Some(query) = fts_query(text) else {
            return Ok(Default::default());
        };
        self.flush_before_search()?;
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let json = serde_json::to_string(&ids).unwrap_or_default();
        let mut stmt = self.conn.prepare_cached(MATCHING_IDS)?;
        let found = stmt
            .query_map(params![json, query], |r| r.get::<_, String>(0))?
            .filter_map(|id| id.ok().and_then(|id| uuid::Uuid::parse_str(&id).ok()))
            .collect();
        Ok(found)
    }
}

// The marks the highlight uses are the protocol's.
const _: () = assert!(MATCH_OPEN as u32 == 1 && MATCH_CLOSE as u32 == 2);

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
