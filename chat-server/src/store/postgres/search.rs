//! `GET /v1/search` on PostgreSQL: each message's text as a stored `tsvector` (the
//! `onyx_search` configuration: the `simple` parser and dictionary behind `unaccent`, so
//! case and accents are ignored as by SQLite's `unicode61 remove_diacritics 2`), and one
//! GIN index on `(app_id, cid, tsv)` of live messages (`btree_gin` puts the channel in the
//! index). The search walks the caller's memberships (`members_by_user`) and, for each
//! channel, reads at most a page of that channel's matches (a `LATERAL` subquery with the
//! channel bound), then merges them newest first. Per channel the planner reads either the
//! GIN index or the channel's live messages newest first (`messages_unread`, when it
//! expects matches to be dense); both are ranges of that channel, so the work is bounded
//! by the caller's channels, never by the tenant (the cost registry pins both). The work is bounded by
//! the caller's channels and their matches, never by the tenant's.

use chat_protocol::{MATCH_CLOSE, MATCH_OPEN, SearchResponse, SearchResult, unmark};

use super::access::{member_role, outsider};
use super::conn::Conn;
use super::rows::{self, MESSAGE_COLS};
use crate::store::StoreResult;
use crate::store::search::{SearchQuery, encode_cursor};

/// The schema for search (migration 3). `btree_gin` and `unaccent` are trusted
/// extensions: the database owner may create them.
pub(super) const MIGRATION: &str = r#"
    CREATE EXTENSION IF NOT EXISTS btree_gin;
    CREATE EXTENSION IF NOT EXISTS unaccent;
    CREATE TEXT SEARCH CONFIGURATION onyx_search (COPY = pg_catalog.simple);
    DO $$
    DECLARE ext_schema TEXT;
    BEGIN
        -- An extension lives in one schema of the database, maybe not this one.
        SELECT n.nspname INTO ext_schema FROM pg_extension e
            JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'unaccent';
        EXECUTE format('ALTER TEXT SEARCH CONFIGURATION onyx_search '
            'ALTER MAPPING FOR asciiword, word, numword, asciihword, hword, numhword, '
            'hword_asciipart, hword_part, hword_numpart WITH %I.unaccent, pg_catalog.simple',
            ext_schema);
    END $$;
    ALTER TABLE messages ADD COLUMN tsv tsvector
        GENERATED ALWAYS AS (to_tsvector('onyx_search'::regconfig, text)) STORED;
    CREATE INDEX messages_search ON messages USING gin (app_id, cid, tsv)
        WHERE deleted_at IS NULL;
"#;

/// The search (`$1` app, `$2` user, `$3` the words, `$4` pk bound, `$5` rows, `$6` the
/// `ts_headline` options, `$7` one cid or NULL for all of the user's channels).
pub(crate) fn search_sql() -> String {
    let cols = MESSAGE_COLS
        .split(", ")
        .map(|c| format!("m.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {cols}, \
           ts_headline('onyx_search'::regconfig, m.text, \
             plainto_tsquery('onyx_search'::regconfig, $3::TEXT), $6::TEXT), m.pk \
         FROM members AS mb \
         CROSS JOIN LATERAL (SELECT x.pk FROM messages AS x \
             WHERE x.app_id = mb.app_id AND x.cid = mb.cid AND x.deleted_at IS NULL \
               AND x.tsv @@ plainto_tsquery('onyx_search'::regconfig, $3::TEXT) \
               AND x.pk < $4::BIGINT \
             ORDER BY x.pk DESC LIMIT $5::BIGINT) AS hit \
         JOIN messages AS m ON m.pk = hit.pk \
         WHERE NOT mb.deleted AND mb.app_id = $1 AND mb.user_id = $2 \
           AND ($7::TEXT IS NULL OR mb.cid = $7::TEXT) \
         ORDER BY m.pk DESC LIMIT $5::BIGINT"
    )
}

/// The matches of `q` in `user`'s current channels, newest first.
pub async fn search(
    c: &Conn,
    app: &str,
    user: &str,
    q: &SearchQuery,
) -> StoreResult<SearchResponse> {
    let only: Option<String> = match &q.cid {
        Some(cid) => {
            if member_role(c, app, cid, user).await?.is_none() {
                return Err(outsider(c, app, cid, user).await?);
            }
            Some(cid.to_string())
        }
        None => None,
    };
    let options = format!("HighlightAll=true, StartSel={MATCH_OPEN}, StopSel={MATCH_CLOSE}");
    let rows = c
        .all(
            &search_sql(),
            &[
                &app,
                &user,
                &q.words.join(" "),
                &q.before.unwrap_or(i64::MAX),
                &(i64::from(q.limit) + 1),
                &options,
                &only,
            ],
        )
        .await?;
    let mut hits = Vec::with_capacity(rows.len());
    for row in &rows {
        let message = rows::message(row)?;
        let marked: String = rows::get(row, 15)?;
        let pk: i64 = rows::get(row, 16)?;
        hits.push((
            pk,
            SearchResult {
                message,
                highlights: unmark(&marked).1,
            },
        ));
    }
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
