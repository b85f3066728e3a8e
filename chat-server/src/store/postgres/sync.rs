//! Sync (being ported from the SQLite backend's `sync`).

use chat_protocol::SyncResponse;

use super::conn::{Conn, Tx};
use crate::store::{StoreError, StoreResult, SyncPosition, SyncSettings};

fn todo<T>() -> StoreResult<T> {
    Err(StoreError::Backend("not ported yet".into()))
}

pub async fn sync(
    _c: &Conn,
    _app: &str,
    _user: &str,
    _from: Option<SyncPosition>,
    _limit: u32,
    _settings: SyncSettings,
) -> StoreResult<SyncResponse> {
    todo()
}
pub async fn compact(_w: &mut Tx, _before_seq: u64) -> StoreResult<()> {
    todo()
}
