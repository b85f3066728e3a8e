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

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

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

    /// Exactly one row of a prepared statement, sent when the future is first polled (for
    /// joins with [`Tx::start`] or [`Tx::commit_pipelined`]).
    pub(crate) async fn one_prepared(
        &self,
        stmt: &Statement,
        params: Params<'_>,
    ) -> StoreResult<Row> {
        Ok(self.client().query_one(stmt, params).await?)
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
///
/// Round trips are the price of the app's serialized writes (each one is lock hold time),
/// so a write may save two: a Tx made by [`Tx::unstarted`] sends `BEGIN` and the lock only
/// when its closure awaits [`Tx::start`] joined with its first reads (one round trip for
/// all: the server runs them in order, so the reads see the app locked), and the closure
/// may end with [`Tx::commit_pipelined`] joined with its last statements. Statements
/// joined with either must be prepared first ([`Conn::prepare`]): a statement that still
/// had to be prepared would go out after them.
pub(crate) struct Tx {
    conn: Conn,
    /// The app.
    pub app: String,
    /// The app's `seq` when the transaction started.
    pub(super) seq_at_start: u64,
    /// The last `seq` handed out.
    pub(super) seq: u64,
    pub(super) out: Vec<(Vec<String>, SyncChange)>,
    /// `BEGIN` and the lock went out and were answered.
    begun: bool,
    /// `COMMIT` went out ([`Tx::commit_pipelined`]).
    ended: AtomicBool,
    lock: Statement,
    write_back: Statement,
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
    pub(super) async fn begin(conn: Conn, app: String) -> StoreResult<Self> {
        let mut tx = Self::unstarted(conn, app).await?;
        let started = tx.start().await?;
        tx.started(started);
        Ok(tx)
    }

    /// A write transaction on `conn` that has not begun: its closure must await
    /// [`Tx::start`] (and pass the answer to [`Tx::started`]) before anything else.
    pub(super) async fn unstarted(mut conn: Conn, app: String) -> StoreResult<Self> {
        let lock = conn
            .prepare("SELECT seq FROM apps WHERE id = $1 FOR NO KEY UPDATE")
            .await?;
        let write_back = conn
            .prepare("UPDATE apps SET seq = $2 WHERE id = $1")
            .await?;
        // Until it commits or rolls back, the connection counts as inside a transaction:
        // dropped, it is closed, never pooled.
        conn.in_tx = true;
        Ok(Self {
            conn,
            app,
            seq_at_start: 0,
            seq: 0,
            out: Vec::new(),
            begun: false,
            ended: AtomicBool::new(false),
            lock,
            write_back,
        })
    }

    /// `BEGIN` and the app's row lock, both sent when this future is first polled, so
    /// statements joined after it run inside the transaction once the lock is held. The
    /// app's `seq`, for [`Tx::started`]; `None` when the transaction had begun already.
    pub fn start(&self) -> impl Future<Output = StoreResult<Option<u64>>> + Send + '_ {
        let client = self.conn.client();
        async move {
            if self.begun {
                return Ok(None);
            }
            let params: [&(dyn ToSql + Sync); 1] = [&self.app];
            let (_, row) = tokio::try_join!(
                client.batch_execute("BEGIN"),
                client.query_opt(&self.lock, &params)
            )?;
            let row = row.ok_or_else(|| StoreError::NotFound(format!("app {}", self.app)))?;
            Ok(Some(row.get::<_, i64>(0) as u64))
        }
    }

    /// Records what [`Tx::start`] answered.
    pub fn started(&mut self, seq: Option<u64>) {
        if let Some(seq) = seq {
            self.seq_at_start = seq;
            self.seq = seq;
            self.begun = true;
        }
    }

    /// The seq write-back and `COMMIT`, sent when this future is first polled: joined with
    /// the transaction's last statements, all go in one round trip. Nothing may run on the
    /// transaction after it. A statement before it that fails turns the `COMMIT` into a
    /// rollback: the caller returns that statement's error, and a closure that returns
    /// `Ok` has committed.
    pub fn commit_pipelined(&self) -> impl Future<Output = StoreResult<()>> + Send + '_ {
        let client = self.conn.client();
        let seq = (self.seq != self.seq_at_start).then_some(self.seq as i64);
        async move {
            self.ended.store(true, Ordering::SeqCst);
            match seq {
                Some(seq) => {
                    let params: [&(dyn ToSql + Sync); 2] = [&self.app, &seq];
                    let (updated, committed) = tokio::join!(
                        client.execute(&self.write_back, &params),
                        client.batch_execute("COMMIT")
                    );
                    updated?;
                    committed?;
                }
                None => client.batch_execute("COMMIT").await?,
            }
            Ok(())
        }
    }

    /// The connection, to roll back.
    pub(super) fn conn_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// Writes the app's new `seq` back (if any was taken) and commits, in one round trip
    /// (the two statements go out pipelined). A failed update turns `COMMIT` into a
    /// rollback, and is the error.
    /// Nothing is sent when the closure committed already ([`Tx::commit_pipelined`]) or
    /// never began.
    pub(super) async fn commit(&mut self) -> StoreResult<()> {
        if *self.ended.get_mut() || !self.begun {
            self.conn.in_tx = false;
            return Ok(());
        }
        self.commit_pipelined().await?;
        self.conn.in_tx = false;
        Ok(())
    }

    /// Takes the next app-wide sequence number.
    ///
    /// # Panics
    ///
    /// Before the transaction began ([`Tx::started`]): the seq is unknown until the app's
    /// row is locked.
    pub fn next_seq(&mut self) -> u64 {
        assert!(self.begun, "a seq taken before the app's row was locked");
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
