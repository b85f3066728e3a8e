//! `GET /v1/search` on SQLite: one FTS5 query over `messages_fts` (schema version 8)
//! whose match is the search words in the `text` column AND the scope tokens of the
//! caller's channels in the `scope` column, newest first by rowid (the message pk). The
//! memberships come from `members_by_user`; FTS5 intersects the words' doclists with the
//! scopes' doclists, so the work is bounded by the caller's channels.

use chat_protocol::{SearchResponse, SearchResult, unmark};
use rusqlite::{Connection, params};

use super::access::outsider;
use super::rows::{self, MESSAGE_COLS};
use crate::store::StoreResult;
use crate::store::search::{SearchQuery, encode_cursor};

/// The caller's current channels (`?1` app, `?2` user).
pub(crate) const USER_CIDS: &str = "SELECT cid FROM members INDEXED BY members_by_user \
     WHERE app_id = ?1 AND user_id = ?2 AND deleted = 0";

/// The search (`?1` app, `?2` the FTS5 match, `?3` pk bound, `?4` rows): the FTS index
/// in rowid order, then one message probe each.
pub(crate) fn search_sql() -> String {
    let cols = MESSAGE_COLS
        .split(", ")
        .map(|c| format!("m.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {cols}, highlight(messages_fts, 0, char(1), char(2)), m.pk FROM messages_fts \
         CROSS JOIN messages m ON m.pk = messages_fts.rowid \
         WHERE messages_fts MATCH ?2 AND messages_fts.rowid < ?3 AND m.app_id = ?1 \
         ORDER BY messages_fts.rowid DESC LIMIT ?4"
    )
}

/// The scope token of a channel, as the triggers of schema version 8 compute it.
fn scope(app: &str, cid: &str) -> String {
    let mut s = String::with_capacity(2 * (app.len() + cid.len()) + 3);
    s.push('s');
    for b in app.bytes().chain(std::iter::once(b' ')).chain(cid.bytes()) {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// An FTS5 string literal.
fn quoted(word: &str) -> String {
    format!("\"{}\"", word.replace('"', "\"\""))
}

/// The matches of `q` in `user`'s current channels, newest first.
pub fn search(
    conn: &Connection,
    app: &str,
    user: &str,
    q: &SearchQuery,
) -> StoreResult<SearchResponse> {
    let cids: Vec<String> = match &q.cid {
        Some(cid) => {
            if super::access::member_role(conn, app, cid, user)?.is_none() {
                return Err(outsider(conn, app, cid, user)?);
            }
            vec![cid.to_string()]
        }
        None => conn
            .prepare_cached(USER_CIDS)?
            .query_map(params![app, user], |r| r.get(0))?
            .collect::<Result<_, _>>()?,
    };
    if cids.is_empty() {
        return Ok(SearchResponse {
            results: vec![],
            next_cursor: None,
        });
    }
    let words: Vec<String> = q.words.iter().map(|w| quoted(w)).collect();
    let scopes: Vec<String> = cids.iter().map(|c| quoted(&scope(app, c))).collect();
    let fts = format!(
        "text : ({}) AND scope : ({})",
        words.join(" "),
        scopes.join(" OR ")
    );
    let sql = search_sql();
    let mut hits: Vec<(i64, SearchResult)> = conn
        .prepare_cached(&sql)?
        .query_map(
            params![
                app,
                fts,
                q.before.unwrap_or(i64::MAX),
                i64::from(q.limit) + 1
            ],
            |r| {
                let message = rows::message(r)?;
                let marked: String = r.get(15)?;
                let result = SearchResult {
                    message,
                    highlights: unmark(&marked).1,
                };
                Ok((r.get(16)?, result))
            },
        )?
        .collect::<Result<_, _>>()?;
    let has_more = hits.len() > q.limit as usize;
    hits.truncate(q.limit as usize);
    let next_cursor = match (has_more, hits.last()) {
        (true, Some((pk, _))) => Some(encode_cursor(*pk)),
        _ => None,
    };
    Ok(SearchResponse {
        results: hits.into_iter().map(|(_, h)| h).collect(),
        next_cursor,
    })
}
