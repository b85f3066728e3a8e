//! Channels and members (being ported from the SQLite backend's `channels`).

use chat_protocol::{
    Channel, ChannelState, Cid, Member, MemberInput, QueryChannelsRequest, UpdateChannelRequest,
};

use super::conn::{Conn, Tx};
use crate::store::{Actor, NewChannel, StoreError, StoreResult};

fn todo<T>() -> StoreResult<T> {
    Err(StoreError::Backend("not ported yet".into()))
}

pub async fn state(
    _c: &Conn,
    _app: &str,
    _user: Option<&str>,
    _cid: &Cid,
    _limit: u32,
) -> StoreResult<ChannelState> {
    todo()
}
pub async fn create(
    _w: &mut Tx,
    _creator: &str,
    _new: NewChannel,
    _window: u32,
) -> StoreResult<(ChannelState, bool)> {
    todo()
}
pub async fn update(
    _w: &mut Tx,
    _actor: &Actor,
    _cid: &Cid,
    _req: UpdateChannelRequest,
) -> StoreResult<Channel> {
    todo()
}
pub async fn add_members(
    _w: &mut Tx,
    _actor: &Actor,
    _cid: &Cid,
    _inputs: Vec<MemberInput>,
) -> StoreResult<Vec<Member>> {
    todo()
}
pub async fn remove_member(
    _w: &mut Tx,
    _actor: &Actor,
    _cid: &Cid,
    _user: &str,
) -> StoreResult<Vec<Member>> {
    todo()
}
pub async fn co_member_ids(_c: &Conn, _app: &str, _user: &str) -> StoreResult<Vec<String>> {
    todo()
}
pub async fn query(
    _c: &Conn,
    _app: &str,
    _actor: &Actor,
    _req: &QueryChannelsRequest,
) -> StoreResult<(Vec<ChannelState>, Option<String>)> {
    todo()
}
