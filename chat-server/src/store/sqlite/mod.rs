//! The embedded SQLite backend: one database file in the data directory, WAL mode, a single
//! writer connection (SQLite allows one writer anyway) and a pool of reader connections.
//!
//! Checkpoints of the log run on a background thread, never inside a commit (the rules:
//! [`sqlite_checkpoint`]).
//!
//! Writes run in `BEGIN IMMEDIATE` transactions. Each changed row takes the next value of
//! the app's `seq` counter (a row in `apps`), so commit order equals seq order. The
//! resulting changes are published to the broadcaster right after commit, in seq order:
//! the committing writer takes the publishing turn (`publishing`) before it lets the next
//! writer in, then serializes and publishes outside the writer lock — so the next commit
//! overlaps this publication, and publications still leave in commit order. Lock order is
//! always `writer` → `publishing`.
//!
//! Reads are paid for by the reader's own data: every per-user query is an index range
//! keyed by the user's memberships, channels or messages, with plans pinned so statistics
//! cannot flip them (the rules and the registry of hot queries: [`cost`]).
//!
//! Who may read and write a channel or message is decided in one module, `access`
//! (outsiders get `NotFound`, former members `NotAMember`); sync, unread counts and starred
//! lists read only the caller's own rows.

mod access;
mod apps;
mod channel_delete;
mod channels;
pub mod cost;
mod flags;
mod member_state;
mod messages;
mod reactions;
mod reads;
mod rows;
pub mod schema;
pub(crate) mod search;
mod sync;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chat_protocol::realtime::{ConnectInfo, RealtimeEvent};
use chat_protocol::{
    AppCredentials, AppSettings, Change, Channel, ChannelState, Cid, ListMessagesQuery,
    MarkReadResponse, Member, MemberInput, MemberState, Message, MessageFlags, MessagesResponse,
    QueryChannelsRequest, Reaction, ReactionResponse, SendMessageRequest, StarredQuery,
    StarredResponse, SyncChange, SyncResponse, UnreadResponse, UpdateChannelRequest,
    UpdateMemberStateRequest, UpdateMessageRequest, User, UserInput,
};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior, params};
use uuid::Uuid;

use super::{
    Actor, AppRecord, NewChannel, Store, StoreError, StoreResult, SyncPosition, SyncSettings,
};
use crate::realtime::{Broadcaster, HubEvent, Subscription};
use crate::telemetry;

/// Idle reader connections kept open.
const MAX_IDLE_READERS: usize = 8;

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// The publishing turn: held from just before a commit releases `writer` until its
    /// changes are published (see the module docs).
    publishing: Mutex<()>,
    readers: Mutex<Vec<Connection>>,
    hub: Arc<dyn Broadcaster>,
    settings: SyncSettings,
    /// Checkpoints the log after the writer's commits, off the write path (held, never
    /// read: dropped after `writer`, it stops its thread).
    _checkpointer: sqlite_checkpoint::Checkpointer,
}

/// The SQLite [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

/// An open write transaction plus the changes it produced, to publish after commit.
pub(crate) struct Tx<'c> {
    pub tx: Transaction<'c>,
    pub app: String,
    out: Vec<(Vec<String>, SyncChange)>,
}

impl Tx<'_> {
    /// Takes the next app-wide sequence number.
    pub fn next_seq(&self) -> StoreResult<u64> {
        let seq: i64 = self
            .tx
            .prepare_cached("UPDATE apps SET seq = seq + 1 WHERE id = ?1 RETURNING seq")?
            .query_row(params![self.app], |r| r.get(0))?;
        Ok(seq as u64)
    }

    /// Records a committed-to-be change for `recipients`.
    pub fn emit(&mut self, change: Change, recipients: Vec<String>) {
        self.out.push((
            recipients,
            SyncChange {
                seq: change.rev(),
                change,
            },
        ));
    }

    /// How many changes are recorded so far (a mark to [`Tx::forget_after`]).
    pub fn emitted(&self) -> usize {
        self.out.len()
    }

    /// Forgets the changes recorded after `mark`: their writes were rolled back to a
    /// savepoint, so they must never be published.
    pub fn forget_after(&mut self, mark: usize) {
        self.out.truncate(mark);
    }

    /// Records a change for the channel's current members.
    pub fn emit_to_members(&mut self, change: Change, cid: &Cid) -> StoreResult<()> {
        let to = rows::member_ids(&self.tx, &self.app, cid)?;
        self.emit(change, to);
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The protected values stay valid after a panic elsewhere (transactions roll back on drop).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SqliteStore {
    /// Opens (creating if needed) `chat.db` in `data_dir` and migrates it.
    pub fn open(
        data_dir: &Path,
        hub: Arc<dyn Broadcaster>,
        settings: SyncSettings,
    ) -> StoreResult<Self> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Backend(format!("create {}: {e}", data_dir.display())))?;
        let path = data_dir.join("chat.db");
        let mut writer = Connection::open(&path)?;
        schema::configure(&writer)?;
        schema::migrate(&mut writer)?;
        let theirs = Connection::open(&path)?;
        schema::configure(&theirs)?;
        let checkpointer = sqlite_checkpoint::Checkpointer::start(theirs, &mut writer, |e| {
            tracing::warn!(error = %e, "background checkpoint failed");
        })
        .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                publishing: Mutex::new(()),
                readers: Mutex::new(Vec::new()),
                hub,
                settings,
                _checkpointer: checkpointer,
            }),
        })
    }

    /// Runs `f` in a write transaction; publishes its changes after commit.
    async fn write<T, F>(&self, app: &str, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        let app = app.to_owned();
        let started = std::time::Instant::now();
        let result = blocking(move || {
            let waiting = telemetry::InGauge::waiting_writes();
            let mut conn = lock(&inner.writer);
            drop(waiting);
            let (app, out, value) = {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let mut w = Tx {
                    tx,
                    app,
                    out: Vec::new(),
                };
                let value = f(&mut w)?;
                let Tx { tx, app, out } = w;
                tx.commit()?;
                (app, out, value)
            };
            // Our turn to publish comes before the next writer's commit.
            let turn = lock(&inner.publishing);
            drop(conn);
            for (recipients, change) in out {
                // Committed: a change that cannot be encoded (never expected) is logged,
                // not turned into an error for a write that happened.
                let seq = change.seq;
                match serde_json::to_string(&RealtimeEvent::Change(change)) {
                    Ok(data) => inner
                        .hub
                        .publish(&app, &recipients, HubEvent::change(seq, data)),
                    Err(e) => tracing::error!(error = %e, "unencodable change not published"),
                }
            }
            drop(turn);
            Ok(value)
        })
        .await;
        telemetry::store_op("write", started.elapsed());
        result
    }

    /// Runs `f` on a reader connection, inside one read transaction: everything `f` reads
    /// comes from a single consistent snapshot (WAL readers never block the writer).
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        let started = std::time::Instant::now();
        let result = blocking(move || {
            let pooled = lock(&inner.readers).pop();
            let mut conn = match pooled {
                Some(c) => c,
                None => {
                    let c = Connection::open_with_flags(
                        &inner.path,
                        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )?;
                    schema::configure(&c)?;
                    c
                }
            };
            let result = conn.transaction().map_err(StoreError::from).and_then(|tx| {
                let value = f(&tx)?;
                tx.finish()?;
                Ok(value)
            });
            let mut idle = lock(&inner.readers);
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
            result
        })
        .await;
        telemetry::store_op("read", started.elapsed());
        result
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Backend(format!("storage task failed: {e}")))?
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_app(&self, name: &str) -> StoreResult<AppCredentials> {
        let name = name.to_owned();
        let inner = self.inner.clone();
        blocking(move || apps::create_app(&mut lock(&inner.writer), &name)).await
    }

    async fn app_by_id(&self, app_id: &str) -> StoreResult<Option<AppRecord>> {
        let id = app_id.to_owned();
        self.read(move |c| apps::app_where(c, "id", &id)).await
    }

    async fn app_by_name(&self, name: &str) -> StoreResult<Option<AppRecord>> {
        let name = name.to_owned();
        self.read(move |c| apps::app_where(c, "name", &name)).await
    }

    async fn app_by_key(&self, api_key: &str) -> StoreResult<Option<AppRecord>> {
        let key = api_key.to_owned();
        self.read(move |c| apps::app_where(c, "api_key", &key))
            .await
    }

    async fn upsert_users(&self, app: &str, users: Vec<UserInput>) -> StoreResult<Vec<User>> {
        self.write(app, move |w| apps::upsert_users(w, users)).await
    }

    async fn ensure_user(&self, app: &str, user_id: &str) -> StoreResult<()> {
        let user = user_id.to_owned();
        self.write(app, move |w| apps::ensure_user(w, &user)).await
    }

    async fn get_users(&self, app: &str, ids: Vec<String>) -> StoreResult<Vec<User>> {
        let app = app.to_owned();
        self.read(move |c| apps::get_users(c, &app, &ids)).await
    }

    async fn create_channel(
        &self,
        app: &str,
        creator: &str,
        req: NewChannel,
    ) -> StoreResult<(ChannelState, bool)> {
        let creator = creator.to_owned();
        let window = self.inner.settings.window;
        self.write(app, move |w| channels::create(w, &creator, req, window))
            .await
    }

    async fn channel_state(
        &self,
        app: &str,
        actor: &Actor,
        cid: &Cid,
        message_limit: u32,
    ) -> StoreResult<ChannelState> {
        let (app, actor, cid) = (app.to_owned(), actor.clone(), cid.clone());
        self.read(move |c| {
            access::authorize_read(c, &app, &actor, &cid)?;
            channels::state(c, &app, actor.user_id.as_deref(), &cid, message_limit)
        })
        .await
    }

    async fn update_channel(
        &self,
        app: &str,
        actor: &Actor,
        cid: &Cid,
        req: UpdateChannelRequest,
    ) -> StoreResult<Channel> {
        let (actor, cid) = (actor.clone(), cid.clone());
        self.write(app, move |w| channels::update(w, &actor, &cid, req))
            .await
    }

    async fn query_channels(
        &self,
        app: &str,
        actor: &Actor,
        req: QueryChannelsRequest,
    ) -> StoreResult<(Vec<ChannelState>, Option<String>)> {
        let (app, actor) = (app.to_owned(), actor.clone());
        self.read(move |c| channels::query(c, &app, &actor, &req))
            .await
    }

    async fn add_members(
        &self,
        app: &str,
        actor: &Actor,
        cid: &Cid,
        members: Vec<MemberInput>,
    ) -> StoreResult<Vec<Member>> {
        let (actor, cid) = (actor.clone(), cid.clone());
        self.write(app, move |w| {
            channels::add_members(w, &actor, &cid, members)
        })
        .await
    }

    async fn remove_member(
        &self,
        app: &str,
        actor: &Actor,
        cid: &Cid,
        user_id: &str,
    ) -> StoreResult<(Vec<Member>, Member)> {
        let (actor, cid, user) = (actor.clone(), cid.clone(), user_id.to_owned());
        self.write(app, move |w| {
            channels::remove_member(w, &actor, &cid, &user)
        })
        .await
    }

    async fn set_member_state(
        &self,
        app: &str,
        user: &str,
        cid: &Cid,
        req: UpdateMemberStateRequest,
    ) -> StoreResult<MemberState> {
        let (user, cid) = (user.to_owned(), cid.clone());
        self.write(app, move |w| member_state::set(w, &user, &cid, &req))
            .await
    }

    async fn delete_channel(
        &self,
        app: &str,
        actor: &Actor,
        cid: &Cid,
    ) -> StoreResult<(Channel, Option<Member>)> {
        let (actor, cid) = (actor.clone(), cid.clone());
        self.write(app, move |w| channel_delete::delete(w, &actor, &cid))
            .await
    }

    async fn member_ids(&self, app: &str, cid: &Cid) -> StoreResult<Vec<String>> {
        let (app, cid) = (app.to_owned(), cid.clone());
        self.read(move |c| rows::member_ids(c, &app, &cid)).await
    }

    async fn co_member_ids(&self, app: &str, user_id: &str) -> StoreResult<Vec<String>> {
        let (app, user) = (app.to_owned(), user_id.to_owned());
        self.read(move |c| channels::co_member_ids(c, &app, &user))
            .await
    }

    async fn send_message(
        &self,
        app: &str,
        author: &str,
        cid: &Cid,
        req: SendMessageRequest,
        bypass_membership: bool,
    ) -> StoreResult<(Message, bool)> {
        let (author, cid) = (author.to_owned(), cid.clone());
        self.write(app, move |w| {
            messages::send(w, &author, &cid, req, bypass_membership)
        })
        .await
    }

    async fn send_messages(
        &self,
        app: &str,
        cid: &Cid,
        items: Vec<(String, SendMessageRequest)>,
        bypass_membership: bool,
    ) -> StoreResult<Vec<StoreResult<(Message, bool)>>> {
        let cid = cid.clone();
        self.write(app, move |w| {
            messages::send_batch(w, &cid, items, bypass_membership)
        })
        .await
    }

    async fn get_message(&self, app: &str, actor: &Actor, id: Uuid) -> StoreResult<Message> {
        let (app, actor) = (app.to_owned(), actor.clone());
        self.read(move |c| messages::get(c, &app, &actor, id)).await
    }

    async fn list_messages(
        &self,
        app: &str,
        actor: &Actor,
        cid: &Cid,
        query: ListMessagesQuery,
    ) -> StoreResult<MessagesResponse> {
        let (app, actor, cid) = (app.to_owned(), actor.clone(), cid.clone());
        self.read(move |c| {
            access::authorize_read(c, &app, &actor, &cid)?;
            messages::list(
                c,
                &app,
                actor.user_id.as_deref(),
                messages::Scope::Channel(&cid),
                &query,
            )
        })
        .await
    }

    async fn list_replies(
        &self,
        app: &str,
        actor: &Actor,
        parent: Uuid,
        query: ListMessagesQuery,
    ) -> StoreResult<MessagesResponse> {
        let (app, actor) = (app.to_owned(), actor.clone());
        self.read(move |c| {
            let (pk, root) = access::authorize_message(c, &app, &actor, parent)?;
            if root.parent_id.is_some() {
                return Err(StoreError::Invalid(format!(
                    "{parent} is a reply, not a thread root"
                )));
            }
            messages::list(
                c,
                &app,
                actor.user_id.as_deref(),
                messages::Scope::Thread(pk),
                &query,
            )
        })
        .await
    }

    async fn update_message(
        &self,
        app: &str,
        actor: &Actor,
        id: Uuid,
        req: UpdateMessageRequest,
    ) -> StoreResult<Message> {
        let actor = actor.clone();
        self.write(app, move |w| messages::update(w, &actor, id, req))
            .await
    }

    async fn delete_message(&self, app: &str, actor: &Actor, id: Uuid) -> StoreResult<Message> {
        let actor = actor.clone();
        self.write(app, move |w| messages::delete(w, &actor, id))
            .await
    }

    async fn add_reaction(
        &self,
        app: &str,
        user: &str,
        id: Uuid,
        kind: &str,
    ) -> StoreResult<ReactionResponse> {
        let (user, kind) = (user.to_owned(), kind.to_owned());
        self.write(app, move |w| reactions::add_reaction(w, &user, id, &kind))
            .await
    }

    async fn remove_reaction(
        &self,
        app: &str,
        user: &str,
        id: Uuid,
        kind: &str,
    ) -> StoreResult<ReactionResponse> {
        let (user, kind) = (user.to_owned(), kind.to_owned());
        self.write(app, move |w| {
            reactions::remove_reaction(w, &user, id, &kind)
        })
        .await
    }

    async fn list_reactions(
        &self,
        app: &str,
        actor: &Actor,
        id: Uuid,
    ) -> StoreResult<Vec<Reaction>> {
        let (app, actor) = (app.to_owned(), actor.clone());
        self.read(move |c| {
            let (pk, _) = access::authorize_message(c, &app, &actor, id)?;
            reactions::list_reactions(c, &app, pk)
        })
        .await
    }

    async fn mark_read(
        &self,
        app: &str,
        user: &str,
        cid: &Cid,
        up_to: Option<Uuid>,
    ) -> StoreResult<MarkReadResponse> {
        let (user, cid) = (user.to_owned(), cid.clone());
        self.write(app, move |w| reads::mark_read(w, &user, &cid, up_to))
            .await
    }

    async fn unread(&self, app: &str, user: &str) -> StoreResult<UnreadResponse> {
        let (app, user) = (app.to_owned(), user.to_owned());
        self.read(move |c| reads::unread(c, &app, &user)).await
    }

    async fn sync(
        &self,
        app: &str,
        user: &str,
        from: Option<SyncPosition>,
        limit: u32,
    ) -> StoreResult<SyncResponse> {
        let (app, user) = (app.to_owned(), user.to_owned());
        let settings = self.inner.settings;
        self.read(move |c| sync::sync(c, &app, &user, from, limit, settings))
            .await
    }

    async fn subscribe(&self, app: &str, user: &str) -> StoreResult<(Subscription, ConnectInfo)> {
        let (app, user) = (app.to_owned(), user.to_owned());
        let inner = self.inner.clone();
        blocking(move || {
            // Holding the writer lock and the publishing turn: no commit can happen, and no
            // publication is still on its way, between reading the seq and registering the
            // subscription.
            let conn = lock(&inner.writer);
            let _turn = lock(&inner.publishing);
            let (epoch, seq): (String, i64) = conn
                .prepare_cached("SELECT epoch, seq FROM apps WHERE id = ?1")?
                .query_row(params![app], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let sub = inner.hub.subscribe(&app, &user);
            Ok((
                sub,
                ConnectInfo {
                    user_id: user,
                    epoch,
                    seq: seq as u64,
                },
            ))
        })
        .await
    }

    async fn set_starred(
        &self,
        app: &str,
        user: &str,
        id: Uuid,
        starred: bool,
    ) -> StoreResult<MessageFlags> {
        let user = user.to_owned();
        self.write(app, move |w| flags::set_starred(w, &user, id, starred))
            .await
    }

    async fn starred(
        &self,
        app: &str,
        user: &str,
        query: StarredQuery,
    ) -> StoreResult<StarredResponse> {
        let (app, user) = (app.to_owned(), user.to_owned());
        self.read(move |c| flags::starred(c, &app, &user, &query))
            .await
    }

    async fn search(
        &self,
        app: &str,
        user: &str,
        query: crate::store::search::SearchQuery,
    ) -> StoreResult<chat_protocol::SearchResponse> {
        let (app, user) = (app.to_owned(), user.to_owned());
        self.read(move |c| search::search(c, &app, &user, &query))
            .await
    }

    async fn compact(&self, app: &str, before_seq: u64) -> StoreResult<()> {
        self.write(app, move |w| sync::compact(w, before_seq)).await
    }

    async fn app_settings(&self, app: &str) -> StoreResult<AppSettings> {
        let app = app.to_owned();
        self.read(move |c| apps::app_settings(c, &app)).await
    }

    async fn set_app_settings(&self, app: &str, settings: AppSettings) -> StoreResult<AppSettings> {
        let app = app.to_owned();
        let inner = self.inner.clone();
        blocking(move || apps::set_app_settings(&lock(&inner.writer), &app, &settings)).await
    }

    async fn all_cors_origins(&self) -> StoreResult<Vec<(String, String)>> {
        self.read(|c| apps::all_cors_origins(c)).await
    }

    async fn ready(&self) -> StoreResult<()> {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }
}
