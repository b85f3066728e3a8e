//! Reactions (being ported from the SQLite backend's `reactions`).

use chat_protocol::{Reaction, ReactionResponse};
use uuid::Uuid;

use super::conn::{Conn, Tx};
use crate::store::{StoreError, StoreResult};

fn todo<T>() -> StoreResult<T> {
    Err(StoreError::Backend("not ported yet".into()))
}

pub async fn add_reaction(
    _w: &mut Tx,
    _user: &str,
    _id: Uuid,
    _kind: &str,
) -> StoreResult<ReactionResponse> {
    todo()
}
pub async fn remove_reaction(
    _w: &mut Tx,
    _user: &str,
    _id: Uuid,
    _kind: &str,
) -> StoreResult<ReactionResponse> {
    todo()
}
pub async fn list_reactions(_c: &Conn, _app: &str, _pk: i64) -> StoreResult<Vec<Reaction>> {
    todo()
}
/// The user's current reactions on `messages`.
pub async fn own_reactions(
    _c: &Conn,
    _app: &str,
    _user: &str,
    _messages: &[chat_protocol::Message],
) -> StoreResult<Vec<Reaction>> {
    todo()
}
