//! Server-side full-text search (`GET /v1/search`), the part both stores share: the
//! validated query and its opaque page cursor.
//!
//! Rules:
//! - A search reads only channels the caller is a current member of: each store reaches
//!   the matches through an index keyed by the caller's memberships (SQLite: a scope
//!   token per channel in the FTS5 index; PostgreSQL: one GIN index on
//!   `(app_id, cid, tsv)`), never through every match of the tenant.
//! - Words match whole (no prefix: as-you-type prefix search is the SDK's local index),
//!   ignoring case; deleted messages never match.
//! - Results are newest first (by message pk); the cursor is the last pk returned.

use chat_protocol::Cid;

/// A validated search (see [`crate::api`]'s `search` for the input rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// The words, each of which must match (non-empty).
    pub words: Vec<String>,
    /// Only this channel (the caller must be a member).
    pub cid: Option<Cid>,
    /// Only messages with a pk below this (the cursor of the previous page).
    pub before: Option<i64>,
    /// Page size.
    pub limit: u32,
}

/// The cursor after a page whose oldest message has `pk`.
pub fn encode_cursor(pk: i64) -> String {
    format!("s1.{pk}")
}

/// The pk a cursor continues below; `None` for a cursor this server did not issue.
pub fn decode_cursor(cursor: &str) -> Option<i64> {
    cursor
        .strip_prefix("s1.")?
        .parse::<i64>()
        .ok()
        .filter(|pk| *pk > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
        for bad in ["", "s1.", "s1.-3", "s1.0", "v1:x:1", "s1.9x"] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }
}
