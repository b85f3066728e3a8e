//! Full-text search values, shared by the server's `GET /v1/search` and the SDK's local
//! search over its cache: one hit shape (a message and where the query matched it) on
//! every platform.
//!
//! Rules this module owns:
//! - Highlight ranges are offsets in **UTF-16 code units** of the message text, half-open
//!   (`start..end`), sorted and non-overlapping: what JavaScript, Kotlin and Swift
//!   (`utf16` view / `NSRange`) index strings by. They are data, never markup.
//! - A search text is plain words, never a query language: each word must match (as a
//!   word, ignoring case and diacritics); the last word also matches as a prefix when the
//!   text does not end with a space (search as you type).

use serde::{Deserialize, Serialize};

use crate::{Cid, Message};

/// Longest accepted search text, in bytes (the server answers `400` beyond it).
pub const SEARCH_QUERY_MAX_BYTES: usize = 256;

/// Most words a search text may hold (more are refused with `400`).
pub const SEARCH_QUERY_MAX_WORDS: usize = 16;

/// Marks the start of a match in text highlighted by the stores (stripped before it
/// leaves them).
pub const MATCH_OPEN: char = '\u{1}';

/// Marks the end of a match (see [`MATCH_OPEN`]).
pub const MATCH_CLOSE: char = '\u{2}';

/// `GET /v1/search`: messages of the caller's channels whose text matches `q`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct SearchParams {
    /// The search text: plain words (see the module rules).
    pub q: String,
    /// Only this channel.
    #[serde(default)]
    pub cid: Option<Cid>,
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Page size, 1..=100 (default 20).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A half-open range of a text, in UTF-16 code units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TextRange {
    /// First code unit of the range.
    pub start: u32,
    /// One past the last code unit.
    pub end: u32,
}

/// One message that matched, with the ranges of its text that matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchResult {
    /// The message.
    pub message: Message,
    /// Where the search words matched its text.
    pub highlights: Vec<TextRange>,
}

/// A page of `GET /v1/search`, newest message first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchResponse {
    /// The matches, newest first.
    pub results: Vec<SearchResult>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The words of a search text that can match anything (holding a letter or digit), and
/// whether the last one is a prefix (the text does not end with whitespace). Empty when
/// nothing in the text can match.
pub fn search_words(text: &str) -> (Vec<&str>, bool) {
    let words: Vec<&str> = text
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .collect();
    let prefix = !words.is_empty() && !text.ends_with(char::is_whitespace);
    (words, prefix)
}

/// Splits text marked with [`MATCH_OPEN`]/[`MATCH_CLOSE`] into the plain text and the
/// marked ranges (UTF-16 code units). Unbalanced marks are dropped.
pub fn unmark(marked: &str) -> (String, Vec<TextRange>) {
    let mut text = String::with_capacity(marked.len());
    let mut ranges = Vec::new();
    let mut at: u32 = 0;
    let mut open: Option<u32> = None;
    for c in marked.chars() {
        match c {
            MATCH_OPEN => open = Some(at),
            MATCH_CLOSE => {
                if let Some(start) = open.take().filter(|s| *s < at) {
                    match ranges.last_mut() {
                        Some(TextRange { end, .. }) if *end == start => *end = at,
                        _ => ranges.push(TextRange { start, end: at }),
                    }
                }
            }
            c => {
                text.push(c);
                at += c.len_utf16() as u32;
            }
        }
    }
    (text, ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_become_utf16_ranges() {
        let (text, ranges) = unmark("caf\u{1}é\u{2} 😀 \u{1}Über\u{2}");
        assert_eq!(text, "café 😀 Über");
        // "😀" is two UTF-16 code units.
        assert_eq!(
            ranges,
            [
                TextRange { start: 3, end: 4 },
                TextRange { start: 8, end: 12 }
            ]
        );
        assert_eq!(unmark("a\u{2}b\u{1}").0, "ab");
    }

    #[test]
    fn words_skip_punctuation_and_the_last_is_a_prefix_while_typing() {
        assert_eq!(search_words("hello wor"), (vec!["hello", "wor"], true));
        assert_eq!(
            search_words("hello world "),
            (vec!["hello", "world"], false)
        );
        assert_eq!(search_words(" -- ?"), (vec![], false));
    }
}
