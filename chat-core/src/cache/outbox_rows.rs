//! Storage for the outbox engine: the durable `outbox` queue (opaque JSON payloads in
//! enqueue order) and the local echoes of unsent messages, written together with their
//! outbox item in one transaction so a message is durable before it is shown.

use chat_protocol::{Cid, Message, Timestamp};
use rusqlite::{Connection, params};
use uuid::Uuid;

use super::Cache;
use super::error::{CacheError, CacheResult};
use super::message_codec::encode_body;
use super::rows::{LocalState, channel_key, opt_millis};
use super::schema::LOCAL_ORDER_BASE;

/// One queued outbox item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// The operation id (chosen by the outbox engine).
    pub op_id: String,
    /// The channel the operation belongs to (its FIFO lane).
    pub cid: Cid,
    /// Enqueue order: unique and increasing across the whole outbox, never reused.
    pub position: i64,
    /// The operation, as JSON owned by the outbox engine.
    pub payload: String,
    /// When the row was last written (ms since the Unix epoch).
    pub updated_at: Option<i64>,
}

fn check_json(payload: &str) -> CacheResult<()> {
    serde_json::from_str::<serde::de::IgnoredAny>(payload)
        .map(|_| ())
        .map_err(|e| CacheError::Invalid(format!("outbox payload is not JSON: {e}")))
}

/// Appends an outbox row and returns its position.
fn insert_outbox(conn: &Connection, op_id: &str, cid: &Cid, payload: &str) -> CacheResult<i64> {
    check_json(payload)?;
    let position: i64 = conn
        .prepare_cached(
            "UPDATE sync_state SET outbox_next = outbox_next + 1 WHERE id = 1 \
             RETURNING outbox_next - 1",
        )?
        .query_row([], |r| r.get(0))?;
    conn.prepare_cached(
        "INSERT INTO outbox (op_id, cid, position, payload, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        op_id,
        cid.to_string(),
        position,
        payload,
        Timestamp::now().millis()
    ])?;
    Ok(position)
}

/// Replaces an item's payload (keeping its position); returns the rows changed.
fn update_outbox(conn: &Connection, op_id: &str, payload: &str) -> CacheResult<usize> {
    check_json(payload)?;
    Ok(conn
        .prepare_cached("UPDATE outbox SET payload = ?2, updated_at = ?3 WHERE op_id = ?1")?
        .execute(params![op_id, payload, Timestamp::now().millis()])?)
}

/// Deletes an outbox item; returns the rows deleted.
pub(super) fn delete_outbox(conn: &Connection, op_id: &str) -> CacheResult<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM outbox WHERE op_id = ?1")?
        .execute([op_id])?)
}

/// Deletes a local echo (never a server-confirmed message); returns the rows deleted.
fn delete_echo(conn: &Connection, id: &Uuid) -> CacheResult<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM messages WHERE id = ?1 AND local_state IS NOT NULL")?
        .execute([id.to_string()])?)
}

impl Cache {
    /// Queues an outbox item; returns its position (enqueue order).
    pub fn outbox_insert(&mut self, op_id: &str, cid: &Cid, payload: &str) -> CacheResult<i64> {
        let tx = self.conn.transaction()?;
        let position = insert_outbox(&tx, op_id, cid, payload)?;
        super::search::flush_small(&tx)?;
        tx.commit()?;
        Ok(position)
    }

    /// Replaces an item's payload (keeping its position). Returns `false` if there is no
    /// such item.
    pub fn outbox_update(&mut self, op_id: &str, payload: &str) -> CacheResult<bool> {
        Ok(update_outbox(&self.conn, op_id, payload)? > 0)
    }

    /// Replaces several items' payloads in ONE transaction (a batch send's items, all
    /// recorded as "may have reached the server" before its request leaves): all or none.
    pub fn outbox_update_all(&mut self, rows: &[(String, String)]) -> CacheResult<()> {
        let tx = self.conn.transaction()?;
        for (op_id, payload) in rows {
            update_outbox(&tx, op_id, payload)?;
        }
        super::search::flush_small(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Removes an item (done, cancelled or discarded). Returns `false` if there was none.
    pub fn outbox_remove(&mut self, op_id: &str) -> CacheResult<bool> {
        Ok(delete_outbox(&self.conn, op_id)? > 0)
    }

    /// Every queued item, in enqueue order.
    pub fn outbox_load(&self) -> CacheResult<Vec<OutboxRow>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT op_id, cid, position, payload, updated_at FROM outbox ORDER BY position",
            )?
            .query_map([], |r| {
                let cid: String = r.get(1)?;
                Ok(OutboxRow {
                    op_id: r.get(0)?,
                    cid: cid.parse().map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(
                            1,
                            rusqlite::types::Type::Text,
                            Box::new(e),
                        )
                    })?,
                    position: r.get(2)?,
                    payload: r.get(3)?,
                    updated_at: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    }

    /// Stores the local echo of a message being sent (state [`LocalState::Pending`], `rev`
    /// 0) and its outbox item in ONE transaction; returns the item's position. The echo
    /// sorts after every server-confirmed message of its channel (or thread). When the
    /// server copy arrives (sync, realtime or [`Cache::apply_message_result`]) it replaces
    /// the echo in place: same id, no duplicate.
    pub fn insert_local_message(
        &mut self,
        message: &Message,
        op_id: &str,
        payload: &str,
    ) -> CacheResult<i64> {
        self.insert_local_message_with(message, op_id, payload, false)
    }

    /// [`Cache::insert_local_message`] that also deletes the draft of the message's channel
    /// or thread (`clear_draft`) in the same transaction (`drafts.rs`).
    pub fn insert_local_message_with(
        &mut self,
        message: &Message,
        op_id: &str,
        payload: &str,
        clear_draft: bool,
    ) -> CacheResult<i64> {
        let tx = self.conn.transaction()?;
        if clear_draft {
            // The text leaves the draft and becomes the queued message, in one commit.
            let parent = super::drafts::parent_key(message.parent_id);
            super::drafts::clear(&tx, &message.cid.to_string(), &parent)?;
        }
        let position = insert_outbox(&tx, op_id, &message.cid, payload)?;
        // The echo is the message with rev 0 (bound in the statement; the body has no rev).
        let echo = message;
        let ck = channel_key(&tx, &echo.cid.to_string())?;
        tx.prepare_cached(
            "INSERT INTO messages (id, ck, parent_id, user_id, created_at, order_key, rev, \
               deleted_at, local_state, local_error, data, text) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, 'pending', NULL, ?8, ?9)",
        )?
        .execute(params![
            echo.id.to_string(),
            ck,
            echo.parent_id.map(|p| p.to_string()),
            echo.user_id,
            echo.created_at.millis(),
            LOCAL_ORDER_BASE + position,
            opt_millis(echo.deleted_at),
            encode_body(echo),
            echo.text
        ])?;
        if echo.parent_id.is_none() {
            // The channel list re-sorts at once on a local send: the durable echo raises
            // its channel's sort key (the server's change sets it to the real time later).
            tx.prepare_cached("UPDATE channels SET sort_at = max(sort_at, ?2) WHERE cid = ?1")?
                .execute(params![echo.cid.to_string(), echo.created_at.millis()])?;
        }
        super::search::flush_small(&tx)?;
        tx.commit()?;
        Ok(position)
    }

    /// Sets the state of a local echo. Returns `false` if `id` is not a local echo (never
    /// stored, or already replaced by the server copy).
    pub fn set_local_state(&mut self, id: &Uuid, state: &LocalState) -> CacheResult<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE messages SET local_state = ?2, local_error = ?3 \
                 WHERE id = ?1 AND local_state IS NOT NULL",
            )?
            .execute(params![id.to_string(), state.as_str(), state.error()])?;
        Ok(n > 0)
    }

    /// Removes a local echo and (if given) its outbox item in one transaction: a queued
    /// message was cancelled, or a failed one discarded. Server-confirmed messages are
    /// never removed. Returns whether an echo was removed.
    pub fn remove_local_message(&mut self, id: &Uuid, op_id: Option<&str>) -> CacheResult<bool> {
        let tx = self.conn.transaction()?;
        let n = delete_echo(&tx, id)?;
        if let Some(op_id) = op_id {
            delete_outbox(&tx, op_id)?;
        }
        super::search::flush_small(&tx)?;
        tx.commit()?;
        Ok(n > 0)
    }
}

/// Several outbox row changes written together by [`Cache::write_outbox`]: what one
/// enqueue did (a new item, an item merged into, items cancelled with their local echoes).
#[derive(Debug, Clone, Default)]
pub struct OutboxWrite {
    /// New items: `(op_id, cid, payload)`, appended in this order.
    pub insert: Vec<(String, Cid, String)>,
    /// Existing items whose payload changed: `(op_id, payload)`.
    pub update: Vec<(String, String)>,
    /// Items that left the outbox.
    pub remove: Vec<String>,
    /// Local echoes to delete (their send was cancelled or discarded).
    pub remove_echoes: Vec<Uuid>,
}

impl Cache {
    /// Writes an [`OutboxWrite`] in ONE transaction: all of it or (on error) nothing.
    pub fn write_outbox(&mut self, write: &OutboxWrite) -> CacheResult<()> {
        let tx = self.conn.transaction()?;
        for (op_id, cid, payload) in &write.insert {
            insert_outbox(&tx, op_id, cid, payload)?;
        }
        for (op_id, payload) in &write.update {
            update_outbox(&tx, op_id, payload)?;
        }
        for op_id in &write.remove {
            delete_outbox(&tx, op_id)?;
        }
        for id in &write.remove_echoes {
            delete_echo(&tx, id)?;
        }
        super::search::flush_small(&tx)?;
        tx.commit()?;
        Ok(())
    }
}
