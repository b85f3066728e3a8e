//! Connections and transactions of the PostgreSQL backend: a pooled connection wrapped
//! with short query helpers ([`Conn`]), the write transaction that owns the app's `seq`
//! counter ([`Tx`]), and the error mapping.
//!
//! Rules:
//!
//! - A [`Conn`] that is dropped inside a transaction (its future was cancelled) is never
//!   handed back to the pool: the connection is detached and closed, so the server aborts
//!   the transaction and releases its locks.
//! - Statements go through the connection's prepared-statement cache: one round trip per
//!   query after the first use on a connection.
//! - A [`Tx`] starts by locking the app's row (`SELECT … FOR NO KEY UPDATE`), so the writes
//!   of one app are serialized across every connection and node, and `seq` values are
//!   handed out from memory and written back once, before commit (see [`super`]). The lock
//!   is `NO KEY UPDATE`, not `UPDATE`: it conflicts with itself, which is all the seq needs,
//!   but not with the `KEY SHARE` lock that an insert referencing the app (a user's first
//!   row) takes, so such inserts never wait for the app's writers.

use chat_protocol::{Change, Cid, SyncChange};
use deadpool_postgres::{Object, Pool};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Statement};

use crate::store::{StoreError, StoreResult};

/// Query parameters.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => Self::Backend(format!("postgres: {} ({})", db.message(), db.code().code())),
            None => Self::Backend(format!("postgres: {e}")),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Backend(format!("postgres pool: {e}"))
    }
}

/// A pooled connection with query helpers. Reads take `&Conn`.
pub(crate) struct Conn {
    client: Option<Object>,
    in_tx: bool,
}

impl Conn {
    /// Takes a connection from the pool.
    pub(crate) async fn get(pool: &Pool) -> StoreResult<Self> {
        Ok(Self {
            client: Some(pool.get().await?),
            in_tx: false,
        })
    }

    fn client(&self) -> &Object {
        self.client.as_ref().expect("connection present until drop")
    }

    /// Runs a statement (or several, without parameters) outside the statement cache.
    pub(crate) async fn batch(&self, sql: &str) -> StoreResult<()> {
        Ok(self.client().batch_execute(sql).await?)
    }

    /// Starts a transaction with the given `BEGIN …` statement.
    pub(crate) async fn begin(&mut self, begin: &str) -> StoreResult<()> {
        self.batch(begin).await?;
        self.in_tx = true;
        Ok(())
    }

    /// Commits the open transaction.
    pub(crate) async fn commit(&mut self) -> StoreResult<()> {
        self.batch("COMMIT").await?;
        self.in_tx = false;
        Ok(())
    }

    /// Rolls the open transaction back; on failure the connection is dropped on drop.
    pub(crate) async fn rollback(&mut self) {
        if self.batch("ROLLBACK").await.is_ok() {
            self.in_tx = false;
        }
    }

    /// The cached prepared statement for `sql`.
    pub(crate) async fn prepare(&self, sql: &str) -> StoreResult<Statement> {
        Ok(self.client().prepare_cached(sql).await?)
    }

    /// Exactly one row.
    pub(crate) async fn one(&self, sql: &str, params: Params<'_>) -> StoreResult<Row> {
        let stmt = self.prepare(sql).await?;
        Ok(self.client().query_one(&stmt, params).await?)
    }

    /// At most one row.
    pub(crate) async fn opt(&self, sql: &str, params: Params<'_>) -> StoreResult<Option<Row>> {
        let stmt = self.prepare(sql).await?;
        Ok(self.client().query_opt(&stmt, params).await?)
    }

    /// Every row.
    pub(crate) async fn all(&self, sql: &str, params: Params<'_>) -> StoreResult<Vec<Row>> {
        let stmt = self.prepare(sql).await?;
        Ok(self.client().query(&stmt, params).await?)
    }

    /// Runs a statement; the number of rows it changed.
    pub(crate) async fn exec(&self, sql: &str, params: Params<'_>) -> StoreResult<u64> {
        let stmt = self.prepare(sql).await?;
        Ok(self.client().execute(&stmt, params).await?)
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.in_tx
            && let Some(client) = self.client.take()
        {
            // Never pooled again: closing it aborts the transaction server-side.
            drop(Object::take(client));
        }
    }
}

/// An open write transaction of one app, holding the app's row lock, plus the changes it
/// produced, to publish after commit.
pub(crate) struct Tx {
    conn: Conn,
    /// The app.
    pub app: String,
    /// The app's `seq` when the transaction started.
    pub(super) seq_at_start: u64,
    /// The last `seq` handed out.
    pub(super) seq: u64,
    pub(super) out: Vec<(Vec<String>, SyncChange)>,
}

impl std::ops::Deref for Tx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl Tx {
    /// Begins a write transaction on `conn` and locks the app's row; `NotFound` for an
    /// unknown app.
    pub(super) async fn begin(mut conn: Conn, app: String) -> StoreResult<Self> {
        let lock = conn
            .prepare("SELECT seq FROM apps WHERE id = $1 FOR NO KEY UPDATE")
            .await?;
        // One round trip: `BEGIN` and the lock go out pipelined.
        conn.in_tx = true;
        let client = conn.client();
        let (_, row) = tokio::try_join!(client.batch_execute("BEGIN"), async {
            client.query_opt(&lock, &[&app]).await
        })?;
        let row = row.ok_or_else(|| StoreError::NotFound(format!("app {app}")))?;
        let seq = row.get::<_, i64>(0) as u64;
        Ok(Self {
            conn,
            app,
            seq_at_start: seq,
            seq,
            out: Vec::new(),
        })
    }

    /// The connection, to roll back.
    pub(super) fn conn_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// Writes the app's new `seq` back (if any was taken) and commits, in one round trip
    /// (the two statements go out pipelined). A failed update turns `COMMIT` into a
    /// rollback, and is the error.
    pub(super) async fn commit(&mut self) -> StoreResult<()> {
        if self.seq == self.seq_at_start {
            return self.conn.commit().await;
        }
        let update = self
            .conn
            .prepare("UPDATE apps SET seq = $2 WHERE id = $1")
            .await?;
        let seq = self.seq as i64;
        let client = self.conn.client();
        let (updated, committed) = tokio::join!(
            async { client.execute(&update, &[&self.app, &seq]).await },
            client.batch_execute("COMMIT")
        );
        updated?;
        committed?;
        self.conn.in_tx = false;
        Ok(())
    }

    /// Takes the next app-wide sequence number.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Records a committed-to-be change for `recipients`.
    pub fn emit(&mut self, change: Change, recipients: Vec<String>) {
        self.out.push((
            recipients,
            SyncChange {
                seq: change.rev(),
                change,
            },
        ));
    }

    /// Records a change for the channel's current members.
    pub async fn emit_to_members(&mut self, change: Change, cid: &Cid) -> StoreResult<()> {
        let to = super::rows::member_ids(&self.conn, &self.app, cid).await?;
        self.emit(change, to);
        Ok(())
    }

    /// Opens a savepoint; [`Tx::rollback_to`] with the returned mark undoes everything
    /// after it: its writes, its `seq` values and its recorded changes.
    pub async fn savepoint(&mut self) -> StoreResult<Mark> {
        self.conn.batch("SAVEPOINT item").await?;
        Ok(Mark {
            emitted: self.out.len(),
            seq: self.seq,
        })
    }

    /// Keeps what was done since the savepoint.
    pub async fn release(&mut self) -> StoreResult<()> {
        self.conn.batch("RELEASE SAVEPOINT item").await
    }

    /// Undoes everything since the savepoint of `mark`.
    pub async fn rollback_to(&mut self, mark: Mark) -> StoreResult<()> {
        self.conn.batch("ROLLBACK TO SAVEPOINT item").await?;
        self.conn.batch("RELEASE SAVEPOINT item").await?;
        self.out.truncate(mark.emitted);
        self.seq = mark.seq;
        Ok(())
    }
}

/// A savepoint's mark (see [`Tx::savepoint`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    emitted: usize,
    seq: u64,
}
