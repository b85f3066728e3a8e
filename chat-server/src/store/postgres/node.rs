//! One serving node per database unless nodes share their publications through a broker
//! (`serve --nats-url`, [`crate::realtime::NatsHub`]; then no node takes this lock): a node that
//! publishes realtime changes only to its own connections would leave the clients of a
//! second node deaf to the first one's commits (the realtime guarantee — every change after
//! the connect seq is pushed — would break silently), so a second `serve` on the same
//! database refuses to start, as a second server on one SQLite data directory does.
//!
//! The guard is a session-level advisory lock held on a connection of its own, outside the
//! pool, for the life of the server: it goes away with the process or its connection, so
//! a crashed node never blocks the next one. Short-lived admin commands (`app create`,
//! `token`, `compact`) do not take it.

use tokio_postgres::NoTls;

use crate::store::{StoreError, StoreResult};

/// The advisory lock key of a serving node ("onyxserv" in ASCII, as a number).
const SERVING_LOCK: i64 = 0x6f6e_7978_7365_7276;

/// Held while a node serves; dropping it releases the database for another node.
pub struct NodeLock {
    _client: tokio_postgres::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for NodeLock {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Takes the serving lock of the database of `config`, or fails naming the reason.
pub(super) async fn lock(config: &tokio_postgres::Config) -> StoreResult<NodeLock> {
    let (client, connection) = config.connect(NoTls).await?;
    let task = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::error!(error = %e, "the connection holding the serving lock failed");
        }
    });
    let row = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&SERVING_LOCK])
        .await?;
    if !row.get::<_, bool>(0) {
        task.abort();
        return Err(StoreError::Backend(
            "another chat-server is already serving this database (without a broker, one \
             node per database)"
                .into(),
        ));
    }
    Ok(NodeLock {
        _client: client,
        task,
    })
}
