//! The PostgreSQL backend, for deployments that outgrow one machine: any number of
//! chat-server nodes share one database through a connection pool per node.
//!
//! **Commit order equals `seq` order, per app.** A sequence value taken inside a
//! transaction is not commit order (a reader could see seq 11 committed while seq 10 is
//! still in flight, move its cursor past 10 and miss it forever), so this backend does not
//! use one. Every write transaction starts by locking its app's row (`SELECT seq FROM apps
//! … FOR NO KEY UPDATE`), hands out `seq` values from that row in memory, and writes the last one
//! back before `COMMIT`. The row lock is released only after the commit is visible, so the
//! next writer of the app, on any connection of any node, reads the new `seq` and commits
//! after: a reader that sees a seq sees every smaller one. The cost is that one app's
//! writes run one at a time (docs/protocol.md, "PostgreSQL", has the numbers); different
//! apps never wait for each other. Within a node, writers of an app also queue on an
//! in-process lock before they take a connection, so waiting costs no pooled connection.
//!
//! **Two pools.** Whatever runs under an app's in-process lock (the writes) takes its
//! connection from the *write* pool; reads, rate-limit checks, app management, the seq
//! read of [`Store::subscribe`](crate::store::Store::subscribe) and a user's first row
//! (which emits no change) from the *read* pool. A writer holding its app's lock never
//! queues behind a crowd of reads for a connection, which would stretch the lock's hold
//! time, and so the app's whole write rate, by the crowd's length.
//!
//! **Publication order.** A write runs on a task of its own (a caller that goes away cannot
//! cancel it between commit and publication) and publishes its changes after `COMMIT`
//! while still holding the app's in-process lock, so this node's publications of an app
//! leave in commit order. [`Store::subscribe`](crate::store::Store::subscribe) registers
//! the subscription and then reads the committed `seq`, without the lock: every change the
//! read does not cover is committed after it, so published after the subscription exists.
//!
//! **Generic plans only.** Every connection runs with `plan_cache_mode =
//! force_generic_plan` ([`session_config`]): the plans the `cost` registry pins are the
//! ones that run, even for an app the statistics do not know yet.
//!
//! **Reads** run in `REPEATABLE READ READ ONLY` transactions: everything one call reads
//! comes from one snapshot, as on SQLite.
//!
//! **Idempotent sends under concurrency**: message ids are unique per app (`UNIQUE (app_id,
//! id)`), and writers of an app are serialized, so two nodes receiving the same message id
//! at the same time store it once; the second sees the first's row and replays it.
//!
//! The query modules mirror the SQLite backend's, file for file, with the same rules; who
//! may read and write what is decided in `access`.

mod access;
mod apps;
mod channel_delete;
mod channels;
mod conn;
pub mod cost;
mod flags;
mod limits;
mod member_state;
mod messages;
mod node;
mod reactions;
mod reads;
mod rows;
pub mod schema;
pub(crate) mod search;
mod store;
mod sync;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use chat_protocol::realtime::RealtimeEvent;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

use self::conn::{Conn, Tx};
pub use self::limits::PgLimiter;
pub use self::node::NodeLock;
use super::{StoreError, StoreResult, SyncSettings};
use crate::realtime::{Broadcaster, HubEvent};
use crate::telemetry;

/// Connections a node keeps to the database by default.
pub const DEFAULT_POOL_SIZE: usize = 16;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

struct Inner {
    /// Connections for reads, rate limits and app management.
    pool: Pool,
    /// Connections for whatever runs under an app's lock (the writes).
    write_pool: Pool,
    /// What the pool connects with (the serving lock opens a connection of its own).
    config: tokio_postgres::Config,
    /// One lock per app: a node's writers of an app queue here before taking a connection.
    app_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    hub: Arc<dyn Broadcaster>,
    settings: SyncSettings,
}

impl Inner {
    fn app_lock(&self, app: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.app_locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(app.to_owned()).or_default().clone()
    }
}

/// `config` with the session settings every connection of the store runs with: generic
/// plans only (`plan_cache_mode = force_generic_plan`), added to any `options` the URL
/// already gives.
///
/// The store runs every statement as a prepared statement, and left to itself PostgreSQL
/// plans one for its values (a *custom* plan) as long as that looks cheaper. For an app
/// that is not in the statistics yet (created, filled, and not yet analyzed: the norm
/// when a tenant is onboarded), the values look like they match nothing, and the custom
/// plans walk the app's rows once for each of the app's rows: a WebSocket connect in a
/// 1,000-member app read 29,000 buffers for 99 rows and took 0.7 s. A generic plan never
/// sees the values, so the plans [`cost`] pins are the plans that run, whatever the
/// statistics say about one app; and nothing is planned again on each execution.
pub fn session_config(mut config: tokio_postgres::Config) -> tokio_postgres::Config {
    let generic = "-c plan_cache_mode=force_generic_plan";
    let options = match config.get_options() {
        Some(given) if !given.trim().is_empty() => format!("{given} {generic}"),
        _ => generic.to_owned(),
    };
    config.options(options);
    config
}

/// When a write's transaction begins.
#[derive(Clone, Copy)]
enum Begin {
    /// Before its closure runs.
    Now,
    /// When its closure awaits [`Tx::start`].
    ByWrite,
}

/// The PostgreSQL [`Store`](crate::store::Store).
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

impl PgStore {
    /// Connects to the database of `config` with two pools of at most `pool_size`
    /// connections each (reads, writes; see the module docs, connections are opened as
    /// needed) and migrates it.
    pub async fn open(
        config: tokio_postgres::Config,
        pool_size: usize,
        hub: Arc<dyn Broadcaster>,
        settings: SyncSettings,
    ) -> StoreResult<Self> {
        let config = session_config(config);
        let pool_of = |size: usize| {
            let manager = Manager::from_config(
                config.clone(),
                tokio_postgres::NoTls,
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            );
            Pool::builder(manager)
                .max_size(size.max(1))
                .build()
                .map_err(|e| StoreError::Backend(format!("postgres pool: {e}")))
        };
        let write_pool = pool_of(pool_size)?;
        let pool = pool_of(pool_size)?;
        let mut conn = Conn::get(&pool).await?;
        schema::migrate(&mut conn).await?;
        drop(conn);
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                write_pool,
                config,
                app_locks: Mutex::new(HashMap::new()),
                hub,
                settings,
            }),
        })
    }

    /// [`PgStore::open`] with a `postgres://` URL (or key=value connection string).
    pub async fn connect(
        url: &str,
        pool_size: usize,
        hub: Arc<dyn Broadcaster>,
        settings: SyncSettings,
    ) -> StoreResult<Self> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Invalid(format!("database url: {e}")))?;
        Self::open(config, pool_size, hub, settings).await
    }

    /// The rate limiter whose counters every node of this database shares.
    pub fn limiter(&self) -> PgLimiter {
        PgLimiter::new(self.inner.pool.clone())
    }

    /// Takes the database's serving lock for this node (see the `node` module); hold the returned
    /// value while serving.
    pub async fn lock_single_node(&self) -> StoreResult<NodeLock> {
        node::lock(&self.inner.config).await
    }

    /// Runs `f` in a write transaction of `app` (see the module docs); publishes its
    /// changes after commit.
    async fn write<T, F>(&self, app: &str, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, StoreResult<T>> + Send + 'static,
    {
        self.write_as(app, Begin::Now, f).await
    }

    /// [`PgStore::write`] whose `f` begins the transaction itself, with its first reads
    /// ([`Tx::start`]), and may commit it with its last statements
    /// ([`Tx::commit_pipelined`]): two round trips fewer under the app's lock.
    async fn write_pipelined<T, F>(&self, app: &str, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, StoreResult<T>> + Send + 'static,
    {
        self.write_as(app, Begin::ByWrite, f).await
    }

    async fn write_as<T, F>(&self, app: &str, begin: Begin, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, StoreResult<T>> + Send + 'static,
    {
        let inner = self.inner.clone();
        let app = app.to_owned();
        let started = std::time::Instant::now();
        let task = tokio::spawn(async move {
            let waiting = telemetry::InGauge::waiting_writes();
            let lock = inner.app_lock(&app);
            let _turn = lock.lock().await;
            let conn = Conn::get(&inner.write_pool).await?;
            drop(waiting);
            let mut tx = match begin {
                Begin::Now => Tx::begin(conn, app).await?,
                Begin::ByWrite => Tx::unstarted(conn, app).await?,
            };
            let value = match f(&mut tx).await {
                Ok(value) => value,
                Err(e) => {
                    tx.conn_mut().rollback().await;
                    return Err(e);
                }
            };
            tx.commit().await?;
            let app = std::mem::take(&mut tx.app);
            let out = std::mem::take(&mut tx.out);
            drop(tx);
            for (recipients, change) in out {
                // Committed: a change that cannot be encoded (never expected) is logged,
                // not turned into an error for a write that happened.
                let seq = change.seq;
                match serde_json::to_string(&RealtimeEvent::Change(change)) {
                    Ok(data) => inner
                        .hub
                        .publish(&app, &recipients, HubEvent::change(seq, data)),
                    Err(e) => tracing::error!(error = %e, "unencodable change not published"),
                }
            }
            Ok(value)
        });
        let result = task
            .await
            .map_err(|e| StoreError::Backend(format!("storage task failed: {e}")))?;
        telemetry::store_op("write", started.elapsed());
        result
    }

    /// Runs `f` in a read-only transaction: everything it reads comes from one snapshot.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c Conn) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
    {
        let started = std::time::Instant::now();
        let result = async {
            let mut conn = Conn::get(&self.inner.pool).await?;
            conn.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?;
            let value = f(&conn).await?;
            conn.commit().await?;
            Ok(value)
        }
        .await;
        telemetry::store_op("read", started.elapsed());
        result
    }

    /// Runs `f` on a connection outside any explicit transaction (app management).
    async fn direct<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c Conn) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
    {
        let conn = Conn::get(&self.inner.pool).await?;
        f(&conn).await
    }
}
