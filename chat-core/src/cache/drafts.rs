//! Unsent text per channel and per thread (`drafts` table, schema version 6), so what the
//! user was writing survives a restart. The rules:
//!
//! - One draft per (channel, thread): `parent_id` is the thread root, or none for the
//!   channel itself. Setting an empty (or blank) text deletes the draft.
//! - Sending a message in a channel or thread deletes its draft in the echo's own
//!   transaction (durable together: after a crash the text is either a draft or a queued
//!   message, never both and never lost). The engine asks for it only when it knows a draft
//!   exists, so a send without a draft pays nothing.
//! - Local to this device for now (not synced); the table keeps `updated_at` for the
//!   last-writer-wins sync to come.

use chat_protocol::{Cid, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::Cache;
use super::error::CacheResult;

/// What the user was writing in a channel or a thread and has not sent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Draft {
    /// The channel.
    pub cid: Cid,
    /// The thread root, for a draft reply in a thread.
    pub parent_id: Option<Uuid>,
    /// The text.
    pub text: String,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

/// The stored key of a thread (`""`: the channel itself).
pub fn parent_key(parent_id: Option<Uuid>) -> String {
    parent_id.map(|p| p.to_string()).unwrap_or_default()
}

/// Deletes the draft of (`cid`, `parent`) inside the caller's transaction.
pub(crate) fn clear(conn: &Connection, cid: &str, parent: &str) -> CacheResult<()> {
    conn.prepare_cached("DELETE FROM drafts WHERE cid = ?1 AND parent_id = ?2")?
        .execute([cid, parent])?;
    Ok(())
}

impl Cache {
    /// Stores the draft of `cid` (in the thread of `parent_id`, if any), or deletes it when
    /// `text` is blank. Returns whether a draft is stored now.
    pub fn set_draft(
        &mut self,
        cid: &Cid,
        parent_id: Option<Uuid>,
        text: &str,
        at: Timestamp,
    ) -> CacheResult<bool> {
        let (cid, parent) = (cid.to_string(), parent_key(parent_id));
        if text.trim().is_empty() {
            clear(&self.conn, &cid, &parent)?;
            return Ok(false);
        }
        self.conn
            .prepare_cached(
                "INSERT INTO drafts (cid, parent_id, text, updated_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (cid, parent_id) DO UPDATE SET text = excluded.text, \
                 updated_at = excluded.updated_at",
            )?
            .execute(params![cid, parent, text, at.millis()])?;
        Ok(true)
    }

    /// The draft of `cid` (in the thread of `parent_id`, if any).
    pub fn draft(&self, cid: &Cid, parent_id: Option<Uuid>) -> CacheResult<Option<Draft>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT text, updated_at FROM drafts WHERE cid = ?1 AND parent_id = ?2",
            )?
            .query_row(params![cid.to_string(), parent_key(parent_id)], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .optional()?
            .map(|(text, at)| Draft {
                cid: cid.clone(),
                parent_id,
                text,
                updated_at: Timestamp::from_millis(at).unwrap_or_else(Timestamp::now),
            }))
    }

    /// The (channel, thread key) of every stored draft.
    pub fn draft_keys(&self) -> CacheResult<Vec<(String, String)>> {
        Ok(self
            .conn
            .prepare_cached("SELECT cid, parent_id FROM drafts")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use crate::cache::test_support::{bob_cache, cid, id, ts};

    #[test]
    fn a_draft_per_channel_and_thread_replaced_and_deleted_by_a_blank_text() {
        let mut cache = bob_cache();
        let c = cid("team:a");
        assert!(cache.set_draft(&c, None, "half a thought", ts(1)).unwrap());
        assert!(
            cache
                .set_draft(&c, Some(id(7)), "in the thread", ts(2))
                .unwrap()
        );
        assert!(cache.set_draft(&c, None, "a whole thought", ts(3)).unwrap());
        let top = cache.draft(&c, None).unwrap().unwrap();
        assert_eq!(
            (top.text.as_str(), top.updated_at),
            ("a whole thought", ts(3))
        );
        assert_eq!(
            cache.draft(&c, Some(id(7))).unwrap().unwrap().text,
            "in the thread"
        );
        assert_eq!(cache.draft_keys().unwrap().len(), 2);
        assert!(!cache.set_draft(&c, None, "  \n", ts(4)).unwrap());
        assert_eq!(cache.draft(&c, None).unwrap(), None);
        assert_eq!(cache.draft_keys().unwrap().len(), 1);
    }
}
