//! How a message is stored in the `messages` table. The fields that have their own column
//! (id, cid, parent, author, text, `created_at`, `deleted_at`, rev) live only there; the
//! `data` column holds the rest as compact JSON: empty lists, zero counts and absent ids are
//! left out, times are integer milliseconds, and `updated_at` is left out when it equals
//! `created_at` — a plain message's `data` is `{}`, written without a JSON encoder. That is
//! less than half the wire JSON of a typical message, so a sync writes fewer pages, and the
//! text (most of a message) is bound and read as it is, never JSON-escaped or unescaped
//! (docs/BENCHMARKS.md).
//!
//! Older rows still decode, so no migration rewrites them: rows written before schema
//! version 3 have no `text` column value and hold the text in `data`; rows written before
//! the compact encoding hold the whole wire JSON in `data` (the extra keys are ignored and
//! RFC 3339 times are accepted).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chat_protocol::{Cid, Message, Timestamp};
use rusqlite::Row;
use rusqlite::types::Type;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// The message columns, in the order [`message_from_row`] reads them.
macro_rules! message_columns {
    () => {
        "m.data, m.id, (SELECT k.cid FROM channel_keys k WHERE k.key = m.ck), m.parent_id, \
         m.user_id, m.created_at, m.deleted_at, m.rev, m.text"
    };
}
pub(crate) use message_columns;

/// Number of columns in [`message_columns!`].
pub(crate) const MESSAGE_COLUMN_COUNT: usize = 9;

/// The `data` of a message being written (borrows the message).
#[derive(Serialize)]
struct BodyRef<'a> {
    #[serde(skip_serializing_if = "<[Value]>::is_empty")]
    attachments: &'a [Value],
    #[serde(skip_serializing_if = "Option::is_none")]
    quoted_message_id: Option<Uuid>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    mentioned_users: &'a [String],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    reaction_counts: &'a BTreeMap<String, u32>,
    #[serde(skip_serializing_if = "is_zero")]
    reply_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    edited_at: Option<i64>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The `data` of a stored message, read back.
#[derive(Deserialize)]
struct Body {
    /// Only in rows written before schema version 3 (the `text` column is `NULL` there).
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    attachments: Vec<Value>,
    #[serde(default)]
    quoted_message_id: Option<Uuid>,
    #[serde(default)]
    mentioned_users: Vec<String>,
    #[serde(default)]
    reaction_counts: BTreeMap<String, u32>,
    #[serde(default)]
    reply_count: u32,
    #[serde(default, deserialize_with = "opt_millis")]
    updated_at: Option<i64>,
    #[serde(default, deserialize_with = "opt_millis")]
    edited_at: Option<i64>,
}

/// The `data` column of `m` (its `text` goes to the `text` column).
pub(crate) fn encode_body(m: &Message) -> String {
    let updated = m.updated_at.millis();
    let updated_at = (updated != m.created_at.millis()).then_some(updated);
    if m.attachments.is_empty()
        && m.quoted_message_id.is_none()
        && m.mentioned_users.is_empty()
        && m.reaction_counts.is_empty()
        && m.reply_count == 0
        && updated_at.is_none()
        && m.edited_at.is_none()
    {
        return "{}".to_owned(); // what the encoder below writes for these defaults
    }
    let body = BodyRef {
        attachments: &m.attachments,
        quoted_message_id: m.quoted_message_id,
        mentioned_users: &m.mentioned_users,
        reaction_counts: &m.reaction_counts,
        reply_count: m.reply_count,
        updated_at,
        edited_at: m.edited_at.map(|t| t.millis()),
    };
    // Plain strings, ids, integers and JSON values: serializing cannot fail.
    serde_json::to_string(&body).unwrap_or_default()
}

/// Decodes the [`message_columns!`] starting at column `first` of `row`. A failure means
/// the stored row was damaged.
pub(crate) fn message_from_row(row: &Row<'_>, first: usize) -> rusqlite::Result<Message> {
    let bad = |idx: usize, msg: String| {
        rusqlite::Error::FromSqlConversionFailure(first + idx, Type::Text, msg.into())
    };
    let data: String = row.get(first)?;
    let body: Body = serde_json::from_str(&data).map_err(|e| bad(0, e.to_string()))?;
    let id: String = row.get(first + 1)?;
    let cid: String = row.get(first + 2)?;
    let parent: Option<String> = row.get(first + 3)?;
    let created: i64 = row.get(first + 5)?;
    let deleted: Option<i64> = row.get(first + 6)?;
    let rev: i64 = row.get(first + 7)?;
    let text = match (row.get::<_, Option<String>>(first + 8)?, body.text) {
        (Some(text), _) | (None, Some(text)) => text,
        (None, None) => return Err(bad(8, "a message row without text".into())),
    };
    let time = |idx: usize, ms: i64| {
        Timestamp::from_millis(ms).ok_or_else(|| bad(idx, format!("time out of range: {ms}")))
    };
    let uuid = |idx: usize, s: &str| Uuid::parse_str(s).map_err(|e| bad(idx, e.to_string()));
    let created_at = time(5, created)?;
    Ok(Message {
        id: uuid(1, &id)?,
        cid: Cid::from_str(&cid).map_err(|e| bad(2, e.to_string()))?,
        user_id: row.get(first + 4)?,
        text,
        attachments: body.attachments,
        parent_id: parent.as_deref().map(|p| uuid(3, p)).transpose()?,
        quoted_message_id: body.quoted_message_id,
        mentioned_users: body.mentioned_users,
        reaction_counts: body.reaction_counts,
        reply_count: body.reply_count,
        created_at,
        updated_at: match body.updated_at {
            Some(ms) => time(0, ms)?,
            None => created_at,
        },
        edited_at: body.edited_at.map(|ms| time(0, ms)).transpose()?,
        deleted_at: deleted.map(|ms| time(6, ms)).transpose()?,
        rev: u64::try_from(rev).map_err(|_| bad(7, format!("negative rev {rev}")))?,
    })
}

/// An optional time stored as integer milliseconds, or as RFC 3339 text in rows written
/// before the compact encoding.
fn opt_millis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct Millis;
    impl<'de> Visitor<'de> for Millis {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("milliseconds or an RFC 3339 time")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v).map(Some).map_err(E::custom)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let d = de::value::StrDeserializer::<E>::new(v);
            Timestamp::deserialize(d).map(|t| Some(t.millis()))
        }
    }
    d.deserialize_option(Millis)
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;
    use crate::cache::test_support::{message, ts};

    /// Stores `m`'s columns with `data` and the `text` column `text`, and reads it back.
    fn stored(conn: &Connection, m: &Message, data: &str, text: Option<&str>) -> Message {
        conn.execute(
            "INSERT INTO m VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            rusqlite::params![
                data,
                m.id.to_string(),
                KEY,
                m.parent_id.map(|p| p.to_string()),
                m.user_id,
                m.created_at.millis(),
                m.deleted_at.map(|t| t.millis()),
                m.rev as i64,
                text
            ],
        )
        .unwrap();
        let back = conn
            .query_row(
                concat!("SELECT ", message_columns!(), " FROM m WHERE m.id = ?1"),
                [m.id.to_string()],
                |r| message_from_row(r, 0),
            )
            .unwrap();
        conn.execute("DELETE FROM m", []).unwrap();
        back
    }

    /// The channel key of `team:general` in [`table`]'s database.
    const KEY: i64 = 7;

    fn table() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE m (data, id, ck, parent_id, user_id, created_at, deleted_at, rev, text);
             CREATE TABLE channel_keys (key INTEGER PRIMARY KEY, cid TEXT NOT NULL UNIQUE);
             INSERT INTO channel_keys VALUES (7, 'team:general');",
        )
        .unwrap();
        conn
    }

    /// A plain message whose text would need JSON escaping.
    fn plain() -> Message {
        Message {
            text: "hello \"world\" ✓".into(),
            ..message("team:general", 1, "ann", 5, 7)
        }
    }

    #[test]
    fn every_field_round_trips_and_defaults_are_left_out() {
        let conn = table();
        let m = plain();
        let data = encode_body(&m);
        assert_eq!(data, "{}", "the text has its own column");
        assert_eq!(stored(&conn, &m, &data, Some(&m.text)), m);

        let full = Message {
            attachments: vec![serde_json::json!({"type": "image", "url": "https://x/y.png"})],
            parent_id: Some(Uuid::now_v7()),
            quoted_message_id: Some(Uuid::now_v7()),
            mentioned_users: vec!["bob".into()],
            reaction_counts: BTreeMap::from([("like".to_owned(), 3)]),
            reply_count: 2,
            updated_at: ts(9),
            edited_at: Some(ts(8)),
            deleted_at: Some(ts(10)),
            ..plain()
        };
        let data = encode_body(&full);
        assert!(!data.contains("text"), "{data}");
        assert_eq!(stored(&conn, &full, &data, Some(&full.text)), full);
        // Each non-default field alone leaves the `{}` shortcut.
        let edited = Message {
            edited_at: Some(ts(6)),
            ..plain()
        };
        let at = ts(6).millis();
        assert_eq!(encode_body(&edited), format!(r#"{{"edited_at":{at}}}"#));
    }

    #[test]
    fn rows_written_before_the_text_column_and_the_compact_encoding_still_decode() {
        let conn = table();
        let m = Message {
            mentioned_users: vec!["bob".into()],
            updated_at: ts(9),
            edited_at: Some(ts(9)),
            ..plain()
        };
        // Schema version 2: the compact body held the text.
        let at = ts(9).millis();
        let v2 = format!(
            r#"{{"text":"hello \"world\" ✓","mentioned_users":["bob"],"updated_at":{at},"edited_at":{at}}}"#
        );
        let v2 = v2.as_str();
        assert_eq!(stored(&conn, &m, v2, None), m);
        // Before the compact encoding: the whole wire JSON.
        let wire = serde_json::to_string(&m).unwrap();
        assert_eq!(stored(&conn, &m, &wire, None), m);
        // The column wins over a body that still holds a text.
        let both = Message {
            text: "column".into(),
            ..m.clone()
        };
        assert_eq!(stored(&conn, &both, v2, Some("column")), both);
    }

    #[test]
    fn damaged_rows_are_errors() {
        let conn = table();
        let m = plain();
        for (data, text) in [
            ("not json", Some("x")),
            (r#"{"text": 5}"#, None),
            (r#"{"updated_at":"yesterday"}"#, Some("x")),
            ("{}", None),
        ] {
            conn.execute(
                "INSERT INTO m VALUES (?1, ?2, 7, NULL, 'ann', 5, NULL, 1, ?3)",
                rusqlite::params![data, m.id.to_string(), text],
            )
            .unwrap();
            let back = conn.query_row(concat!("SELECT ", message_columns!(), " FROM m"), [], |r| {
                message_from_row(r, 0)
            });
            assert!(back.is_err(), "{data} / {text:?} must not decode");
            conn.execute("DELETE FROM m", []).unwrap();
        }
    }
}
