//! Read markers and unread counts (being ported from the SQLite backend's `reads`).

use chat_protocol::{Cid, MarkReadResponse, UnreadResponse};
use uuid::Uuid;

use super::conn::{Conn, Tx};
use crate::store::{StoreError, StoreResult};

fn todo<T>() -> StoreResult<T> {
    Err(StoreError::Backend("not ported yet".into()))
}

pub async fn mark_read(
    _w: &mut Tx,
    _user: &str,
    _cid: &Cid,
    _up_to: Option<Uuid>,
) -> StoreResult<MarkReadResponse> {
    todo()
}
pub async fn unread(_c: &Conn, _app: &str, _user: &str) -> StoreResult<UnreadResponse> {
    todo()
}
/// The user's unread counts in one channel.
pub async fn channel_unread(
    _c: &Conn,
    _app: &str,
    _user: &str,
    _cid: &Cid,
) -> StoreResult<chat_protocol::ChannelUnread> {
    todo()
}
