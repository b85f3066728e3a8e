//! Several chat-server nodes on one PostgreSQL database, sharing realtime events, typing
//! and presence through a NATS broker (`serve --database-url … --nats-url …`), for the
//! tests of chat-server and chat-core that need a cluster.
//!
//! - [`database_cluster_url`], [`nats_url`]: the test cluster and broker, named by
//!   `ONYXCHAT_TEST_DATABASE_URL` and `ONYXCHAT_TEST_NATS_URL` (`cargo xtask test` sets
//!   both; `cargo xtask postgres` and `cargo xtask nats` start them for running tests by
//!   hand). Unset, they panic with those instructions.
//! - [`fresh_database`]: a database of its own in the cluster, for one test.
//! - [`TestServer::start_node`]: a node on the caller's runtime.
//! - [`KillableNode`]: a node on a runtime of its own, so a test can kill it abruptly.
//!
//! Rules: every test creates its own database (apps have random ids, so the broker is
//! shared); nodes keep small pools (4 connections) so many tests fit in the cluster's
//! connection limit.

use std::ops::Deref;

use chat_server::ServerConfig;

use crate::TestServer;

/// The variable naming the test PostgreSQL cluster.
pub const DATABASE_URL_VAR: &str = "ONYXCHAT_TEST_DATABASE_URL";
/// The variable naming the test NATS broker.
pub const NATS_URL_VAR: &str = "ONYXCHAT_TEST_NATS_URL";

/// The test cluster's URL (its maintenance database); panics with instructions when
/// `ONYXCHAT_TEST_DATABASE_URL` is unset.
pub fn database_cluster_url() -> String {
    std::env::var(DATABASE_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{DATABASE_URL_VAR} is not set: run `cargo xtask test`, or start a cluster with \
             `cargo xtask postgres` and export the {DATABASE_URL_VAR} it prints"
        )
    })
}

/// The test broker's URL; panics with instructions when `ONYXCHAT_TEST_NATS_URL` is unset.
pub fn nats_url() -> String {
    std::env::var(NATS_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{NATS_URL_VAR} is not set: run `cargo xtask test`, or start a broker with \
             `cargo xtask nats` and export the {NATS_URL_VAR} it prints"
        )
    })
}

/// Creates a fresh database in the test cluster and returns its URL.
pub async fn fresh_database() -> String {
    let url = database_cluster_url();
    let name = format!("d_{}", uuid::Uuid::now_v7().simple());
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
    let task = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
    drop(client);
    let _ = task.await;
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

impl TestServer {
    /// Starts a node serving `database` and sharing realtime through the broker at `nats`,
    /// as `serve --database-url … --nats-url …` does, with a pool of 4 connections and
    /// otherwise `adjust`ed settings.
    pub async fn start_node(
        database: &str,
        nats: &str,
        adjust: impl FnOnce(&mut ServerConfig),
    ) -> Self {
        Self::start_with(|c| {
            c.database_url = Some(database.to_owned());
            c.nats_url = Some(nats.to_owned());
            c.database_pool_size = 4;
            adjust(c);
        })
        .await
    }
}

/// A node on a tokio runtime of its own (one worker thread): [`KillableNode::kill`] drops
/// every task of the node at once — its listener, connections, database pool and broker
/// connection — as if the process had been killed: sockets close without WebSocket close
/// frames, open requests get no answer, the cluster hears no goodbye. Dereferences to the
/// [`TestServer`] (whose store is unusable once killed). Dropping it kills it.
pub struct KillableNode {
    node: TestServer,
    runtime: Option<tokio::runtime::Runtime>,
}

impl KillableNode {
    /// Starts a node like [`TestServer::start_node`], on a runtime of its own.
    pub async fn start(
        database: &str,
        nats: &str,
        adjust: impl FnOnce(&mut ServerConfig) + Send + 'static,
    ) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("chat-server-node")
            .enable_all()
            .build()
            .expect("node runtime");
        let (database, nats) = (database.to_owned(), nats.to_owned());
        let node = runtime
            .spawn(async move { TestServer::start_node(&database, &nats, adjust).await })
            .await
            .expect("node starts");
        Self {
            node,
            runtime: Some(runtime),
        }
    }

    /// Kills the node abruptly (see the type's docs); a second call does nothing.
    pub fn kill(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Deref for KillableNode {
    type Target = TestServer;

    fn deref(&self) -> &TestServer {
        &self.node
    }
}

impl Drop for KillableNode {
    fn drop(&mut self) {
        self.kill();
    }
}
