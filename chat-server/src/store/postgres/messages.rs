//! Messages (being ported from the SQLite backend's `messages`).

use chat_protocol::{
    Cid, ListMessagesQuery, Message, MessagesResponse, SendMessageRequest, UpdateMessageRequest,
};
use uuid::Uuid;

use super::conn::{Conn, Tx};
use crate::store::{Actor, StoreError, StoreResult};

fn todo<T>() -> StoreResult<T> {
    Err(StoreError::Backend("not ported yet".into()))
}

/// Which list a page comes from.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Top-level messages of a channel.
    Channel(&'a Cid),
    /// Replies under the thread root with this pk.
    Thread(i64),
}

pub async fn get(_c: &Conn, _app: &str, _actor: &Actor, _id: Uuid) -> StoreResult<Message> {
    todo()
}
pub async fn send(
    _w: &mut Tx,
    _author: &str,
    _cid: &Cid,
    _req: SendMessageRequest,
    _bypass: bool,
) -> StoreResult<(Message, bool)> {
    todo()
}
pub async fn send_batch(
    _w: &mut Tx,
    _cid: &Cid,
    _items: Vec<(String, SendMessageRequest)>,
    _bypass: bool,
) -> StoreResult<Vec<StoreResult<(Message, bool)>>> {
    todo()
}
pub async fn list(
    _c: &Conn,
    _app: &str,
    _user: Option<&str>,
    _scope: Scope<'_>,
    _q: &ListMessagesQuery,
) -> StoreResult<MessagesResponse> {
    todo()
}
pub async fn update(
    _w: &mut Tx,
    _actor: &Actor,
    _id: Uuid,
    _req: UpdateMessageRequest,
) -> StoreResult<Message> {
    todo()
}
pub async fn delete(_w: &mut Tx, _actor: &Actor, _id: Uuid) -> StoreResult<Message> {
    todo()
}
