//! Per-user message flags: stars (being ported from the SQLite backend's `flags`).

use chat_protocol::{MessageFlags, StarredQuery, StarredResponse};
use uuid::Uuid;

use super::conn::{Conn, Tx};
use crate::store::{StoreError, StoreResult};

fn todo<T>() -> StoreResult<T> { Err(StoreError::Backend("not ported yet".into())) }

pub async fn set_starred(_w: &mut Tx, _user: &str, _id: Uuid, _starred: bool) -> StoreResult<MessageFlags> { todo() }
pub async fn starred(_c: &Conn, _app: &str, _user: &str, _q: &StarredQuery) -> StoreResult<StarredResponse> { todo() }
