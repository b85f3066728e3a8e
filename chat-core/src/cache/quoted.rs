//! The messages quote-replies quote (`quoted` table, schema version 5), for the previews a
//! message window shows above a quote-reply. The rules:
//!
//! - A quoted message is looked up where the cache already has it first: the `messages`
//!   row (confirmed, or the local echo of an unsent message), then the copy here. Each
//!   lookup is one primary-key read, and a window looks up only the quotes its own rows
//!   make, so the cost grows with what the screen shows, never with the cache.
//! - A copy is stored when the engine fetched a quoted message the cache did not hold
//!   (`GET /v1/messages/{id}`): typically one older than its channel's window. Copies
//!   never join `messages`, so they leave no hole in a window and count no unread.
//! - A message change the window ignores (outside it) still refreshes the copy, keeping
//!   the higher `rev`, as the starred list's copies are kept: an edit or delete of the
//!   quoted message shows in every preview.
//! - Dropping a channel (left, removed, reset) drops its copies.

use chat_protocol::Message;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::Cache;
use super::error::{CacheResult, to_i64};
use super::rows::{CachedMessage, json, to_json};

/// Refreshes the copy of `m`, if one is kept and `m` is newer.
pub(crate) fn refresh_copy(conn: &Connection, m: &Message) -> CacheResult<()> {
    conn.prepare_cached(
        "UPDATE quoted SET rev = ?2, data = ?3 WHERE message_id = ?1 AND rev < ?2",
    )?
    .execute(params![m.id.to_string(), to_i64("rev", m.rev)?, to_json(m)])?;
    Ok(())
}

/// Drops the copies of channel `cid`.
pub(crate) fn drop_channel(conn: &Connection, cid: &str) -> CacheResult<()> {
    conn.prepare_cached("DELETE FROM quoted WHERE cid = ?1")?
        .execute([cid])?;
    Ok(())
}

impl Cache {
    /// A quoted message as the cache knows it: its `messages` row, else its copy (as a
    /// confirmed message without the owner's reactions). `None`: the cache has neither.
    pub fn quoted_message(&self, id: &Uuid) -> CacheResult<Option<CachedMessage>> {
        if let Some(held) = self.message(id)? {
            return Ok(Some(held));
        }
        let copy: Option<Message> = self
            .conn
            .prepare_cached("SELECT data FROM quoted WHERE message_id = ?1")?
            .query_row([id.to_string()], |r| json(r, 0))
            .optional()?;
        Ok(copy.map(|message| CachedMessage {
            message,
            local_state: None,
            own_reactions: Vec::new(),
            starred: false,
        }))
    }

    /// Stores a fetched quoted message's copy (keeping the higher `rev`). A message the
    /// cache holds in `messages` is not copied: the row is current there.
    pub fn keep_quoted(&mut self, m: &Message) -> CacheResult<()> {
        let tx = self.conn.transaction()?;
        let held: bool = tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM messages WHERE id = ?1)")?
            .query_row([m.id.to_string()], |r| r.get(0))?;
        if !held {
            tx.prepare_cached(
                "INSERT INTO quoted (message_id, cid, rev, data) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (message_id) DO UPDATE SET rev = excluded.rev, data = excluded.data \
                 WHERE excluded.rev > quoted.rev",
            )?
            .execute(params![
                m.id.to_string(),
                m.cid.to_string(),
                to_i64("rev", m.rev)?,
                to_json(m)
            ])?;
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::cache::test_support::{bob_cache, message, plan};

    #[test]
    fn a_copy_is_found_refreshed_by_newer_revs_and_dropped_with_its_channel() {
        let mut cache = bob_cache();
        let mut m = message("messaging:g", 1, "alice", 1_000, 3);
        assert_eq!(cache.quoted_message(&m.id).unwrap(), None);
        cache.keep_quoted(&m).unwrap();
        assert_eq!(cache.quoted_message(&m.id).unwrap().unwrap().message, m);

        // an older answer never overwrites a newer copy; a newer change refreshes it
        let mut older = m.clone();
        older.rev = 2;
        older.text = "stale".into();
        cache.keep_quoted(&older).unwrap();
        assert_eq!(cache.quoted_message(&m.id).unwrap().unwrap().message.rev, 3);
        m.rev = 4;
        m.text = "edited".into();
        super::refresh_copy(&cache.conn, &m).unwrap();
        assert_eq!(
            cache.quoted_message(&m.id).unwrap().unwrap().message.text,
            "edited"
        );

        super::drop_channel(&cache.conn, &m.cid.to_string()).unwrap();
        assert_eq!(cache.quoted_message(&m.id).unwrap(), None);
    }

    #[test]
    fn the_copy_lookup_is_one_primary_key_read() {
        let cache = bob_cache();
        let plan = plan(&cache, "SELECT data FROM quoted WHERE message_id = ?1");
        assert!(plan.contains("PRIMARY KEY"), "{plan}");
    }
}
