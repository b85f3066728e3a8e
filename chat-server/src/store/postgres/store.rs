//! The [`Store`] trait of the PostgreSQL backend: each method picks its transaction (a
//! write of its app, a snapshot read, or a plain connection for app management) and hands
//! the work to the query module of its resource. No SQL here.

use async_trait::async_trait;
use chat_protocol::realtime::ConnectInfo;
use chat_protocol::{
    AppCredentials, AppSettings, Channel, ChannelState, Cid, ListMessagesQuery, MarkReadResponse,
    Member, MemberInput, MemberState, Message, MessageFlags, MessagesResponse,
    QueryChannelsRequest, Reaction, ReactionResponse, SendMessageRequest, StarredQuery,
    StarredResponse, SyncResponse, UnreadResponse, UpdateChannelRequest, UpdateMemberStateRequest,
    UpdateMessageRequest, User, UserInput,
};
use uuid::Uuid;

use super::conn::Conn;
use super::{
    PgStore, access, apps, channel_delete, channels, flags, member_state, messages, reactions,
    reads, rows, sync,
};
use crate::realtime::Subscription;
use crate::store::{Actor, AppRecord, NewChannel, Store, StoreError, StoreResult, SyncPosition};

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
        let (app, user) = (app.to_owned(), user_id.to_owned());
        self.direct(move |c| Box::pin(async move { apps::ensure_user(c, &app, &user).await }))
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
    ) -> StoreResult<(Vec<Member>, Member)> {
        let (actor, cid, user) = (actor.clone(), cid.clone(), user_id.to_owned());
        self.write(app, move |w| {
            Box::pin(async move { channels::remove_member(w, &actor, &cid, &user).await })
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
        self.write(app, move |w| {
            Box::pin(async move { member_state::set(w, &user, &cid, &req).await })
        })
        .await
    }

    async fn delete_channel(
        &self,
        app: &str,
        actor: &Actor,
        cid: &Cid,
    ) -> StoreResult<(Channel, Option<Member>)> {
        let (actor, cid) = (actor.clone(), cid.clone());
        self.write(app, move |w| {
            Box::pin(async move { channel_delete::delete(w, &actor, &cid).await })
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
        self.write_pipelined(app, move |w| {
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

    async fn search(
        &self,
        app: &str,
        user: &str,
        query: crate::store::search::SearchQuery,
    ) -> StoreResult<chat_protocol::SearchResponse> {
        let (app, user) = (app.to_owned(), user.to_owned());
        self.read(move |c| {
            Box::pin(async move { super::search::search(c, &app, &user, &query).await })
        })
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
        // Subscribed first, then the committed seq read (no app lock, no write-pool
        // connection: a connect burst never queues on the app's writes). Every change is
        // published after its commit, on this node or (through a broker) another, so a
        // change committed after the read, the only kind the read does not cover, reaches
        // the subscription. One committed before the read may be published to it too; the
        // session drops changes at or below the connect seq, which the client's catch-up
        // sync brings.
        let sub = self.inner.hub.subscribe(app, user);
        let conn = Conn::get(&self.inner.pool).await?;
        let (epoch, seq) = apps::epoch_and_seq(&conn, app).await?;
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

    fn shared_limiter(&self) -> Option<std::sync::Arc<dyn crate::ratelimit::SharedLimiter>> {
        Some(std::sync::Arc::new(self.limiter()))
    }

    async fn all_cors_origins(&self) -> StoreResult<Vec<(String, String)>> {
        self.direct(|c| Box::pin(async move { apps::all_cors_origins(c).await }))
            .await
    }

    async fn ready(&self) -> StoreResult<()> {
        self.direct(|c| Box::pin(async move { apps::ping(c).await }))
            .await
    }
}
