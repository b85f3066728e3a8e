//! Per-user message flags: stars (being ported from the SQLite backend's `flags`).

use chat_protocol::{MessageFlags, StarredQuery, StarredResponse};
use uuid::Uuid;

use super::conn::{Conn, Tx};
use crate::store::{StoreError, StoreResult};

fn todo<T>() -> StoreResult<T> {
    Err(StoreError::Backend("not ported yet".into()))
}

pub async fn set_starred(
    _w: &mut Tx,
    _user: &str,
    _id: Uuid,
    _starred: bool,
) -> StoreResult<MessageFlags> {
    todo()
}
pub async fn starred(
    _c: &Conn,
    _app: &str,
    _user: &str,
    _q: &StarredQuery,
) -> StoreResult<StarredResponse> {
    todo()
}
/// The user's flags on the message with primary key `pk`, if it has a row.
pub async fn load(
    _c: &Conn,
    _app: &str,
    _user: &str,
    _pk: i64,
) -> StoreResult<Option<MessageFlags>> {
    todo()
}
/// Which of `messages` the user starred.
pub async fn starred_among(
    _c: &Conn,
    _app: &str,
    _user: &str,
    _messages: &[chat_protocol::Message],
) -> StoreResult<Vec<Uuid>> {
    todo()
}
