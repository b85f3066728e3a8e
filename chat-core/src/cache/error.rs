//! [`CacheError`]: every way a cache operation can fail, typed so the SDK can decide what
//! to do (see the [module documentation](super) for the policy on each).

use std::path::PathBuf;

use rusqlite::ErrorCode;

/// The result of a cache operation.
pub type CacheResult<T> = Result<T, CacheError>;

/// Why a cache operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The database was written by a newer build of the SDK (its schema version is higher
    /// than the one this build knows). It is left untouched.
    #[error(
        "the cache database has schema version {found}, newer than this build supports \
         ({supported})"
    )]
    TooNew {
        /// The `user_version` found in the file.
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },
    /// The file is not an SQLite database, or SQLite found it malformed (or a stored row
    /// can no longer be decoded).
    #[error("the cache database is corrupt: {0}")]
    Corrupt(String),
    /// A sync page or realtime change was applied before the owning user was set with
    /// [`Cache::set_user`](super::Cache::set_user).
    #[error("the cache has no user yet: call Cache::set_user before applying sync data")]
    NoUser,
    /// The cache already belongs to another user (each user has their own cache file).
    #[error("the cache belongs to user {bound:?}, not {requested:?}")]
    WrongUser {
        /// The user the cache belongs to.
        bound: String,
        /// The user that was asked for.
        requested: String,
    },
    /// Input that cannot be stored, e.g. a `rev` beyond `i64::MAX` or an outbox payload
    /// that is not JSON. Nothing of the failed operation was written.
    #[error("invalid data for the cache: {0}")]
    Invalid(String),
    /// Moving an unusable file aside failed (see
    /// [`Cache::open_or_rebuild`](super::Cache::open_or_rebuild)).
    #[error("cannot move {path:?} aside: {source}")]
    Io {
        /// The file that could not be moved.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Any other SQLite failure (I/O error, disk full, busy...).
    #[error("sqlite: {0}")]
    Sqlite(rusqlite::Error),
}

impl CacheError {
    /// Whether the database file itself is unusable as it is ([`CacheError::Corrupt`] or
    /// [`CacheError::TooNew`]): the cases [`Cache::open_or_rebuild`](super::Cache::open_or_rebuild)
    /// handles by moving the file aside.
    pub fn is_unusable_file(&self) -> bool {
        matches!(self, Self::Corrupt(_) | Self::TooNew { .. })
    }
}

impl From<rusqlite::Error> for CacheError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
                Self::Corrupt(e.to_string())
            }
            // A stored value that no longer decodes (see `rows`): the file was damaged.
            _ if matches!(e, rusqlite::Error::FromSqlConversionFailure(..)) => {
                Self::Corrupt(e.to_string())
            }
            _ => Self::Sqlite(e),
        }
    }
}

/// Converts a wire `rev`/count to SQLite's signed integer, refusing values beyond `i64::MAX`.
pub(crate) fn to_i64(what: &str, v: u64) -> CacheResult<i64> {
    i64::try_from(v).map_err(|_| CacheError::Invalid(format!("{what} {v} is out of range")))
}
