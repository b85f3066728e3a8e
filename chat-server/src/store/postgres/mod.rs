//! The PostgreSQL backend, for deployments that outgrow one machine: any number of
//! chat-server nodes share one database through a connection pool per node.
//!
//! **Commit order equals `seq` order, per app.** A sequence value taken inside a
//! transaction is not commit order (a reader could see seq 11 committed while seq 10 is
//! still in flight, move its cursor past 10 and miss it forever), so this backend does not
//! use one. Every write transaction starts by locking its app's row (`SELECT seq FROM apps
//! … FOR UPDATE`), hands out `seq` values from that row in memory, and writes the last one
//! back before `COMMIT`. The row lock is released only after the commit is visible, so the
//! next writer of the app, on any connection of any node, reads the new `seq` and commits
//! after: a reader that sees a seq sees every smaller one. The cost is that one app's
//! writes run one at a time (docs/protocol.md, "PostgreSQL", has the numbers); different
//! apps never wait for each other. Within a node, writers of an app also queue on an
//! in-process lock before they take a connection, so waiting costs no pooled connection.
//!
//! **Publication order.** A write runs on a task of its own (a caller that goes away cannot
//! cancel it between commit and publication) and publishes its changes after `COMMIT`
//! while still holding the app's in-process lock, so this node's publications of an app
//! leave in commit order. [`Store::subscribe`] reads the app's `seq` under the same lock.
//!
//! **Reads** run in `REPEATABLE READ READ ONLY` transactions: everything one call reads
//! comes from one snapshot, as on SQLite.
//!
//! **Idempotent sends under concurrency**: message ids are unique per app (`UNIQUE (app_id,
//! id)`), and writers of an app are serialized, so two nodes receiving the same message id
//! at the same time store it once; the second sees the first's row and replays it.
//!
//! The query modules mirror the SQLite backend's, file for file, with the same rules; who
//! may read and write what is decided in [`access`].

mod access;
mod apps;
mod channels;
mod conn;
pub mod cost;
mod flags;
mod messages;
mod node;
mod reactions;
mod reads;
mod rows;
pub mod schema;
mod sync;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chat_protocol::realtime::{ConnectInfo, RealtimeEvent};
use chat_protocol::{
    AppCredentials, AppSettings, Channel, ChannelState, Cid, ListMessagesQuery, MarkReadResponse,
    Member, MemberInput, Message, MessageFlags, MessagesResponse, QueryChannelsRequest, Reaction,
    ReactionResponse, SendMessageRequest, StarredQuery, StarredResponse, SyncResponse,
    UnreadResponse, UpdateChannelRequest, UpdateMessageRequest, User, UserInput,
};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use uuid::Uuid;

use self::conn::{Conn, Tx};
pub use self::node::NodeLock;
use super::{
    Actor, AppRecord, NewChannel, Store, StoreError, StoreResult, SyncPosition, SyncSettings,
};
use crate::realtime::{Broadcaster, HubEvent, Subscription};
use crate::telemetry;

/// Connections a node keeps to the database by default.
pub const DEFAULT_POOL_SIZE: usize = 16;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

struct Inner {
    pool: Pool,
    /// What the pool connects with (the serving lock opens a connection of its own).
    config: tokio_postgres::Config,
    /// One lock per app: a node's writers of an app queue here before taking a connection.
    app_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    hub: Arc<dyn Broadcaster>,
    settings: SyncSettings,
}

impl Inner {
    fn app_lock(&self, app: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.app_locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(app.to_owned()).or_default().clone()
    }
}

/// The PostgreSQL [`Store`].
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

impl PgStore {
    /// Connects a pool of `pool_size` connections to the database of `config` and migrates
    /// it.
    pub async fn open(
        config: tokio_postgres::Config,
        pool_size: usize,
        hub: Arc<dyn Broadcaster>,
        settings: SyncSettings,
    ) -> StoreResult<Self> {
        let manager = Manager::from_config(
            config.clone(),
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .build()
            .map_err(|e| StoreError::Backend(format!("postgres pool: {e}")))?;
        let mut conn = Conn::get(&pool).await?;
        schema::migrate(&mut conn).await?;
        drop(conn);
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                config,
                app_locks: Mutex::new(HashMap::new()),
                hub,
                settings,
            }),
        })
    }

    /// [`PgStore::open`] with a `postgres://` URL (or key=value connection string).
    pub async fn connect(
        url: &str,
        pool_size: usize,
        hub: Arc<dyn Broadcaster>,
        settings: SyncSettings,
    ) -> StoreResult<Self> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Invalid(format!("database url: {e}")))?;
        Self::open(config, pool_size, hub, settings).await
    }

    /// Takes the database's serving lock for this node (see [`node`]); hold the returned
    /// value while serving.
    pub async fn lock_single_node(&self) -> StoreResult<NodeLock> {
        node::lock(&self.inner.config).await
    }

    /// Runs `f` in a write transaction of `app` (see the module docs); publishes its
    /// changes after commit.
    async fn write<T, F>(&self, app: &str, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, StoreResult<T>> + Send + 'static,
    {
        let inner = self.inner.clone();
        let app = app.to_owned();
        let started = std::time::Instant::now();
        let task = tokio::spawn(async move {
            let waiting = telemetry::InGauge::waiting_writes();
            let lock = inner.app_lock(&app);
            let _turn = lock.lock().await;
            let conn = Conn::get(&inner.pool).await?;
            drop(waiting);
            let mut tx = Tx::begin(conn, app).await?;
            let value = match f(&mut tx).await {
                Ok(value) => value,
                Err(e) => {
                    tx.conn_mut().rollback().await;
                    return Err(e);
                }
            };
            tx.commit().await?;
            let app = std::mem::take(&mut tx.app);
            let out = std::mem::take(&mut tx.out);
            drop(tx);
            for (recipients, change) in out {
                // Committed: a change that cannot be encoded (never expected) is logged,
                // not turned into an error for a write that happened.
                match serde_json::to_string(&RealtimeEvent::Change(change)) {
                    Ok(data) => inner
                        .hub
                        .publish(&app, &recipients, HubEvent::durable(data)),
                    Err(e) => tracing::error!(error = %e, "unencodable change not published"),
                }
            }
            Ok(value)
        });
        let result = task
            .await
            .map_err(|e| StoreError::Backend(format!("storage task failed: {e}")))?;
        telemetry::store_op("write", started.elapsed());
        result
    }

    /// Runs `f` in a read-only transaction: everything it reads comes from one snapshot.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c Conn) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
    {
        let started = std::time::Instant::now();
        let result = async {
            let mut conn = Conn::get(&self.inner.pool).await?;
            conn.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?;
            let value = f(&conn).await?;
            conn.commit().await?;
            Ok(value)
        }
        .await;
        telemetry::store_op("read", started.elapsed());
        result
    }

    /// Runs `f` on a connection outside any explicit transaction (app management).
    async fn direct<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c Conn) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
    {
        let conn = Conn::get(&self.inner.pool).await?;
        f(&conn).await
    }
}

#[async_trait]
impl Store for PgStore {
    async fn create_app(&self, name: &str) -> StoreResult<AppCredentials> {
        let name = name.to_owned();
        self.direct(move |c| Box::pin(async move { apps::create_app(c, &name).await }))
            .await
    }

    async fn app_by_id(&self, app_id: &str) -> StoreResult<Option<AppRecord>> {
        let id = app_id.to_owned();
        self.direct(move |c| Box::pin(async move { apps::app_where(c, "id", &id).await }))
            .await
    }

    async fn app_by_name(&self, name: &str) -> StoreResult<Option<AppRecord>> {
        let name = name.to_owned();
        self.direct(move |c| Box::pin(async move { apps::app_where(c, "name", &name).await }))
            .await
    }

    async fn app_by_key(&self, api_key: &str) -> StoreResult<Option<AppRecord>> {
        let key = api_key.to_owned();
        self.direct(move |c| Box::pin(async move { apps::app_where(c, "api_key", &key).await }))
            .await
    }

    async fn upsert_users(&self, app: &str, users: Vec<UserInput>) -> StoreResult<Vec<User>> {
        self.write(app, move |w| Box::pin(apps::upsert_users(w, users)))
            .await
    }

    async fn ensure_user(&self, app: &str, user_id: &str) -> StoreResult<()> {
        let user = user_id.to_owned();
        self.write(app, move |w| {
            Box::pin(async move { apps::ensure_user(w, &user).await })
        })
        .await
    }

    async fn get_users(&self, app: &str, ids: Vec<String>) -> StoreResult<Vec<User>> {
        let app = app.to_owned();
        self.read(move |c| Box::pin(async move { apps::get_users(c, &app, &ids).await }))
            .await
    }

    async fn create_channel(
        &self,
        app: &str,
        creator: &str,
        req: NewChannel,
    ) -> StoreResult<(ChannelState, bool)> {
        let creator = creator.to_owned();
        let window = self.inner.settings.window;
        self.write(app, move |w| {
            Box::pin(async move { channels::create(w, &creator, req, window).await })
        })
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
            Box::pin(async move {
                access::authorize_read(c, &app, &actor, &cid).await?;
                channels::state(c, &app, actor.user_id.as_deref(), &cid, message_limit).await
            })
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
        self.write(app, move |w| {
            Box::pin(async move { channels::update(w, &actor, &cid, req).await })
        })
        .await
    }

    async fn query_channels(
        &self,
        app: &str,
        actor: &Actor,
        req: QueryChannelsRequest,
    ) -> StoreResult<(Vec<ChannelState>, Option<String>)> {
        let (app, actor) = (app.to_owned(), actor.clone());
        self.read(move |c| Box::pin(async move { channels::query(c, &app, &actor, &req).await }))
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
            Box::pin(async move { channels::add_members(w, &actor, &cid, members).await })
        })
        .await
    }

    async fn remove_member(
        &self,
        app: &str,
        actor: &Actor,
        cid: &Cid,
        user_id: &str,
    ) -> StoreResult<Vec<Member>> {
        let (actor, cid, user) = (actor.clone(), cid.clone(), user_id.to_owned());
        self.write(app, move |w| {
            Box::pin(async move { channels::remove_member(w, &actor, &cid, &user).await })
        })
        .await
    }

    async fn member_ids(&self, app: &str, cid: &Cid) -> StoreResult<Vec<String>> {
        let (app, cid) = (app.to_owned(), cid.clone());
        self.read(move |c| Box::pin(async move { rows::member_ids(c, &app, &cid).await }))
            .await
    }

    async fn co_member_ids(&self, app: &str, user_id: &str) -> StoreResult<Vec<String>> {
        let (app, user) = (app.to_owned(), user_id.to_owned());
        self.read(move |c| Box::pin(async move { channels::co_member_ids(c, &app, &user).await }))
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
            Box::pin(async move { messages::send(w, &author, &cid, req, bypass_membership).await })
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
            Box::pin(async move { messages::send_batch(w, &cid, items, bypass_membership).await })
        })
        .await
    }

    async fn get_message(&self, app: &str, actor: &Actor, id: Uuid) -> StoreResult<Message> {
        let (app, actor) = (app.to_owned(), actor.clone());
        self.read(move |c| Box::pin(async move { messages::get(c, &app, &actor, id).await }))
            .await
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
            Box::pin(async move {
                access::authorize_read(c, &app, &actor, &cid).await?;
                messages::list(
                    c,
                    &app,
                    actor.user_id.as_deref(),
                    messages::Scope::Channel(&cid),
                    &query,
                )
                .await
            })
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
            Box::pin(async move {
                let (pk, root) = access::authorize_message(c, &app, &actor, parent).await?;
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
                .await
            })
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
        self.write(app, move |w| {
            Box::pin(async move { messages::update(w, &actor, id, req).await })
        })
        .await
    }

    async fn delete_message(&self, app: &str, actor: &Actor, id: Uuid) -> StoreResult<Message> {
        let actor = actor.clone();
        self.write(app, move |w| {
            Box::pin(async move { messages::delete(w, &actor, id).await })
        })
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
        self.write(app, move |w| {
            Box::pin(async move { reactions::add_reaction(w, &user, id, &kind).await })
        })
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
            Box::pin(async move { reactions::remove_reaction(w, &user, id, &kind).await })
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
            Box::pin(async move {
                let (pk, _) = access::authorize_message(c, &app, &actor, id).await?;
                reactions::list_reactions(c, &app, pk).await
            })
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
        self.write(app, move |w| {
            Box::pin(async move { reads::mark_read(w, &user, &cid, up_to).await })
        })
        .await
    }

    async fn unread(&self, app: &str, user: &str) -> StoreResult<UnreadResponse> {
        let (app, user) = (app.to_owned(), user.to_owned());
        self.read(move |c| Box::pin(async move { reads::unread(c, &app, &user).await }))
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
        self.write(app, move |w| {
            Box::pin(async move { flags::set_starred(w, &user, id, starred).await })
        })
        .await
    }

    async fn starred(
        &self,
        app: &str,
        user: &str,
        query: StarredQuery,
    ) -> StoreResult<StarredResponse> {
        let (app, user) = (app.to_owned(), user.to_owned());
        self.read(move |c| Box::pin(async move { flags::starred(c, &app, &user, &query).await }))
            .await
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
        self.read(move |c| {
            Box::pin(async move { sync::sync(c, &app, &user, from, limit, settings).await })
        })
        .await
    }

    async fn subscribe(&self, app: &str, user: &str) -> StoreResult<(Subscription, ConnectInfo)> {
        // Under the app's lock no writer of this node is between its commit and its
        // publication, so the seq read here is exactly what this node has published. Other
        // nodes' changes (through a broker) are published after their commit: subscribing
        // before reading the seq, every change committed after the read reaches the
        // subscription (one committed just before may come too: a harmless duplicate).
        let lock = self.inner.app_lock(app);
        let _turn = lock.lock().await;
        let sub = self.inner.hub.subscribe(app, user);
        let conn = Conn::get(&self.inner.pool).await?;
        let row = conn
            .opt("SELECT epoch, seq FROM apps WHERE id = $1", &[&app])
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("app {app}")))?;
        let epoch: String = rows::get(&row, 0)?;
        let seq = rows::rev(&row, 1)?;
        Ok((
            sub,
            ConnectInfo {
                user_id: user.to_owned(),
                epoch,
                seq,
            },
        ))
    }

    async fn compact(&self, app: &str, before_seq: u64) -> StoreResult<()> {
        self.write(app, move |w| {
            Box::pin(async move { sync::compact(w, before_seq).await })
        })
        .await
    }

    async fn app_settings(&self, app: &str) -> StoreResult<AppSettings> {
        let app = app.to_owned();
        self.direct(move |c| Box::pin(async move { apps::app_settings(c, &app).await }))
            .await
    }

    async fn set_app_settings(&self, app: &str, settings: AppSettings) -> StoreResult<AppSettings> {
        let app = app.to_owned();
        self.direct(move |c| {
            Box::pin(async move { apps::set_app_settings(c, &app, &settings).await })
        })
        .await
    }

    async fn all_cors_origins(&self) -> StoreResult<Vec<(String, String)>> {
        self.direct(|c| Box::pin(async move { apps::all_cors_origins(c).await }))
            .await
    }

    async fn ready(&self) -> StoreResult<()> {
        self.direct(|c| Box::pin(async move { c.one("SELECT 1", &[]).await.map(drop) }))
            .await
    }
}
