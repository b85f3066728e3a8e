//! Where the data lives, for every subcommand: `--data-dir` (the embedded SQLite store) or
//! `--database-url` (PostgreSQL), and opening it for the admin commands.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use chat_server::realtime::InProcessHub;
use chat_server::store::postgres::PgStore;
use chat_server::store::sqlite::SqliteStore;
use chat_server::store::{AppRecord, Store, SyncSettings};

/// Where the data lives: a PostgreSQL database if one is named, else the embedded SQLite
/// store in the data directory.
#[derive(clap::Args)]
pub struct StoreArgs {
    /// Data directory of the embedded SQLite store (holds chat.db); unused with
    /// `--database-url`.
    #[arg(long, env = "ONYXCHAT_DATA_DIR", default_value = "./.onyxchat")]
    pub data_dir: PathBuf,
    /// A PostgreSQL database to use instead of the data directory:
    /// `postgres://user:password@host:5432/dbname` (or a `key=value` connection string).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

impl StoreArgs {
    /// Opens the store these arguments name (admin commands: no serving lock).
    pub async fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        let hub = Arc::new(InProcessHub::new());
        Ok(match &self.database_url {
            Some(url) => Arc::new(
                PgStore::connect(url, 2, hub, SyncSettings::default())
                    .await
                    .context("opening the PostgreSQL database")?,
            ),
            None => Arc::new(
                SqliteStore::open(&self.data_dir, hub, SyncSettings::default()).with_context(
                    || format!("opening the data directory {}", self.data_dir.display()),
                )?,
            ),
        })
    }
}

/// The app `id` of `store`, or an error naming it.
pub async fn existing_app(store: &dyn Store, id: &str) -> anyhow::Result<AppRecord> {
    store
        .app_by_id(id)
        .await?
        .with_context(|| format!("no app {id}"))
}
