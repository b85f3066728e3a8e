//! [`ChatClient`]: the SDK's entry point. It opens the user's cache, restores the outbox,
//! and runs the engine on a driver task; every call is a short step on that task — a
//! local transaction, never a network wait — so the UI gets its answer (and its live
//! query diffs) at once, online or not. Sending, retrying, syncing and token refresh
//! happen in the background. The diffs a call causes are delivered right after it
//! returns, in the same engine step.
//!
//! ```no_run
//! # async fn demo() -> Result<(), chat_core::client::ClientError> {
//! use chat_core::client::{ChatClient, NewMessage, static_token};
//! let client = ChatClient::builder("http://127.0.0.1:8787", "app_1", "alice")
//!     .data_dir("/tmp/onyx")
//!     .token_provider(static_token("eyJ…"))
//!     .build()
//!     .await?;
//! let mut channels = client.channel_list(20).await?;
//! let cid = "team:general".parse().unwrap();
//! let mut window = client.messages(&cid, 50).await?;
//! client.send_message(&cid, NewMessage::text("hello")).await?;
//! while let Some(diffs) = window.next().await { /* update the UI */ }
//! # Ok(()) }
//! ```

mod builder;
mod channel_state;
pub mod error;
pub(crate) mod message;
pub(crate) mod search;
mod searching;
mod starred;
pub mod token;
mod window;

use std::sync::Arc;

use chat_protocol::{
    ChannelType, Cid, CreateChannelRequest, MemberInput, MemberRole, Message, UpdateChannelRequest,
    UpdateMessageRequest,
};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

pub use builder::ClientBuilder;
pub use error::{ClientError, ClientResult, ErrorKind};
pub use message::NewMessage;
pub use search::{SearchHit, SearchPage, SearchQuery, ServerPart};
pub use starred::{StarredControl, StarredList};
pub use token::{TokenError, TokenProvider, static_token};
pub use window::{MessageWindow, WindowControl};

pub use crate::cache::{ChannelQuery, ChannelSort, Draft, Inclusion};
pub use crate::engine::EngineStatus;
use crate::engine::driver::{Command, Job};
use crate::engine::realtime::TypingMap;
use crate::engine::{Engine, Query};
use crate::live::registry::Window;
use crate::live::{ChannelItem, LiveList, LiveValue, MemberItem, MessageItem, ReadReceipt};
/// The seams the builder accepts (re-exported from [`crate::net`]).
pub use crate::net::{
    BoxFuture, HttpMethod, HttpReply, HttpRequest, NetworkError, ReqwestTransport, Transport,
};
use crate::outbox::OpId;
/// One queued operation, as [`ChatClient::outbox`] lists it.
pub use crate::outbox::OutboxItem;
pub use crate::realtime::{
    ConnectionState, DisconnectReason, Presence, RealtimeConfig, TypingConfig, TypingUser,
};

/// Who is typing in one channel, live; see [`ChatClient::typing`].
#[derive(Debug)]
pub struct TypingWatch {
    rx: watch::Receiver<TypingMap>,
    cid: Cid,
    last: Option<Vec<TypingUser>>,
}

impl TypingWatch {
    /// Who is typing now, sorted by user.
    pub fn current(&self) -> Vec<TypingUser> {
        self.rx.borrow().get(&self.cid).cloned().unwrap_or_default()
    }

    /// Waits until the list changes (the first call returns at once) and returns it;
    /// `None` once the client is shut down.
    pub async fn next(&mut self) -> Option<Vec<TypingUser>> {
        loop {
            let now = self.current();
            if self.last.as_ref() != Some(&now) {
                self.last = Some(now.clone());
                return Some(now);
            }
            self.rx.changed().await.ok()?;
        }
    }
}

impl crate::live::LiveSource for TypingWatch {
    type Item = Vec<TypingUser>;
    fn next(&mut self) -> impl std::future::Future<Output = Option<Self::Item>> + Send {
        TypingWatch::next(self)
    }
}

struct Inner {
    commands: UnboundedSender<Command>,
    user_id: String,
    connection: watch::Receiver<ConnectionState>,
    typing: watch::Receiver<TypingMap>,
    presence: watch::Receiver<Presence>,
}

/// The OnyxChat client. Cheap to clone (all clones drive the same engine); the engine
/// stops when [`ChatClient::shutdown`] is called or the last clone is dropped.
#[derive(Clone)]
pub struct ChatClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ChatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatClient")
            .field("user_id", &self.inner.user_id)
            .finish()
    }
}

impl ChatClient {
    /// Starts building a client for `user_id` of app `app_id` on the server at
    /// `server_url`.
    pub fn builder(server_url: &str, app_id: &str, user_id: &str) -> ClientBuilder {
        ClientBuilder::new(server_url, app_id, user_id)
    }

    /// The user this client acts as.
    pub fn user_id(&self) -> &str {
        &self.inner.user_id
    }

    /// Runs `f` on the engine and returns its result.
    async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Engine, crate::clock::Millis) -> R + Send + 'static,
    ) -> ClientResult<R> {
        let (tx, rx) = oneshot::channel();
        // Answered after the step's live-query diffs are out (`Engine::answer`).
        let job: Job = Box::new(move |engine, now| {
            let result = f(engine, now);
            engine.answer(tx, result);
        });
        self.inner
            .commands
            .send(Command::Run(job))
            .map_err(|_| ClientError::Closed)?;
        rx.await.map_err(|_| ClientError::Closed)
    }

    /// Sends a message. Returns its id once the message is stored in the outbox and shown
    /// in live queries (state `Pending`); delivery happens in the background, retried
    /// until it succeeds or the server refuses it (state `Failed`).
    pub async fn send_message(&self, cid: &Cid, message: NewMessage) -> ClientResult<Uuid> {
        let cid = cid.clone();
        self.run(move |e, now| {
            let parent = message.parent_id;
            let sent = e.send_message(cid.clone(), message, now);
            if sent.is_ok() {
                e.stop_typing(cid, parent);
            }
            sent
        })
        .await?
    }

    /// Edits a cached message (shown at once; state `Editing` until confirmed). An edit of
    /// a message not sent yet is merged into it.
    pub async fn edit_message(&self, id: Uuid, update: UpdateMessageRequest) -> ClientResult<OpId> {
        self.run(move |e, _| e.edit_message(id, update)).await?
    }

    /// Deletes a cached message (shown deleted at once). Deleting a message not sent yet
    /// cancels it.
    pub async fn delete_message(&self, id: Uuid) -> ClientResult<OpId> {
        self.run(move |e, _| e.delete_message(id)).await?
    }

    /// Adds the user's reaction `kind` to a cached message (shown at once; reverted if
    /// the server refuses it).
    pub async fn add_reaction(&self, message_id: Uuid, kind: &str) -> ClientResult<OpId> {
        let kind = kind.to_owned();
        self.run(move |e, _| e.react(message_id, kind, true))
            .await?
    }

    /// Removes the user's reaction `kind` (shown at once; reverted if refused).
    pub async fn remove_reaction(&self, message_id: Uuid, kind: &str) -> ClientResult<OpId> {
        let kind = kind.to_owned();
        self.run(move |e, _| e.react(message_id, kind, false))
            .await?
    }

    /// Stars (saves) a message for the user: shown at once (`starred` in every live list,
    /// and in [`ChatClient::starred`]), delivered in the background, reverted if the server
    /// refuses it. The message must be cached or in the starred list.
    pub async fn star_message(&self, message_id: Uuid) -> ClientResult<OpId> {
        self.run(move |e, _| e.star(message_id, true)).await?
    }

    /// Unstars a message (shown at once; reverted if refused). A star not sent yet is
    /// cancelled instead: nothing reaches the server.
    pub async fn unstar_message(&self, message_id: Uuid) -> ClientResult<OpId> {
        self.run(move |e, _| e.star(message_id, false)).await?
    }

    /// Marks a channel read up to its newest cached message (unread counts drop to zero
    /// at once). Returns the queued operation, or `None` when the cached channel has
    /// nothing unread (nothing is queued).
    pub async fn mark_read(&self, cid: &Cid) -> ClientResult<Option<OpId>> {
        let cid = cid.clone();
        self.run(move |e, _| e.mark_read(cid)).await?
    }

    /// Creates a channel. Works offline: without an id one is generated, and messages may
    /// be sent to the returned cid at once (they are delivered after the channel is
    /// created). With an explicit id, the create is idempotent for this user (a retry
    /// after a lost reply opens the channel); if someone else already uses the id, the
    /// item fails with the server's `409 conflict`. With `distinct: true`, see
    /// [`ChatClient::open_distinct_channel`].
    pub async fn create_channel(&self, request: CreateChannelRequest) -> ClientResult<Cid> {
        self.run(move |e, _| e.create_channel(request)).await?
    }

    /// Opens the distinct conversation between this user and `members` (a direct message
    /// with one member, a fixed group with several), creating it if needed. The cid is
    /// derived from the member set (`messaging:!members-…`), so it is the same for every
    /// member, known offline, and messages may be sent to it at once. Its members are
    /// fixed: to add someone, open a new conversation with the larger set.
    pub async fn open_distinct_channel(
        &self,
        kind: ChannelType,
        members: Vec<String>,
        name: Option<String>,
    ) -> ClientResult<Cid> {
        let mut request = CreateChannelRequest::distinct(kind, members);
        request.name = name;
        self.create_channel(request).await
    }

    /// Renames a channel, or changes its image or config (owners and admins), as an
    /// outbox operation: the channel list shows the change at once, the server confirms it
    /// when reachable. Absent fields stay; an update with none is `invalid_input`.
    pub async fn update_channel(
        &self,
        cid: &Cid,
        update: UpdateChannelRequest,
    ) -> ClientResult<OpId> {
        let cid = cid.clone();
        self.run(move |e, _| e.update_channel(cid, update)).await?
    }

    /// Adds members to a channel with the default role (moderators and above), as an
    /// outbox operation: they show at once in [`members`](Self::members), marked
    /// `pending` until the server confirms. Up to 100 per call.
    pub async fn add_members(&self, cid: &Cid, user_ids: &[&str]) -> ClientResult<OpId> {
        let members = user_ids
            .iter()
            .map(|u| MemberInput {
                user_id: (*u).to_owned(),
                role: None,
            })
            .collect();
        let cid = cid.clone();
        self.run(move |e, _| e.add_members(cid, members)).await?
    }

    /// Gives a member a new role (moderators and above; only owners and admins may give
    /// elevated roles, and nobody can give `owner`), as an outbox operation.
    pub async fn set_member_role(
        &self,
        cid: &Cid,
        user_id: &str,
        role: MemberRole,
    ) -> ClientResult<OpId> {
        let members = vec![MemberInput {
            user_id: user_id.to_owned(),
            role: Some(role),
        }];
        let cid = cid.clone();
        self.run(move |e, _| e.add_members(cid, members)).await?
    }

    /// Removes a member from a channel (moderators and above, for less privileged
    /// members), as an outbox operation: they leave [`members`](Self::members) at once.
    pub async fn remove_member(&self, cid: &Cid, user_id: &str) -> ClientResult<OpId> {
        let (cid, user_id) = (cid.clone(), user_id.to_owned());
        self.run(move |e, _| e.remove_member(cid, user_id)).await?
    }

    /// Leaves a channel, as an outbox operation: it leaves the channel list at once, and
    /// its cached history is dropped when the server confirms.
    pub async fn leave_channel(&self, cid: &Cid) -> ClientResult<OpId> {
        let (cid, me) = (cid.clone(), self.user_id().to_owned());
        self.run(move |e, _| e.remove_member(cid, me)).await?
    }

    /// Retries a failed operation now (for a failed message, `op_id` is its id).
    pub async fn retry(&self, op_id: OpId) -> ClientResult<()> {
        self.run(move |e, _| e.retry(op_id)).await?
    }

    /// Gives up a queued or failed operation (a message not sent yet disappears, a
    /// refused edit reverts). Operations depending on it are cancelled too.
    pub async fn discard(&self, op_id: OpId) -> ClientResult<()> {
        self.run(move |e, _| e.discard(op_id)).await?
    }

    /// Every queued operation, oldest first (once; see [`ChatClient::live_outbox`]).
    pub async fn outbox(&self) -> ClientResult<Vec<OutboxItem>> {
        self.run(|e, _| e.outbox_items()).await
    }

    /// Every queued operation, oldest first, live: items appear when queued, change state
    /// (pending, in flight, waiting to retry, failed…) and disappear when done or
    /// discarded. The list is rebuilt only while someone holds the value, at most once per
    /// engine step; like every live query, it has moved when the call that changed it
    /// returns.
    pub async fn live_outbox(&self) -> ClientResult<LiveValue<Vec<OutboxItem>>> {
        self.run(|e, _| LiveValue::new(e.watch_outbox())).await
    }

    /// Syncs now (after flushing the outbox) and waits until the sync completed.
    pub async fn sync(&self) -> ClientResult<()> {
        let (tx, rx) = oneshot::channel();
        self.run(move |e, _| e.request_sync(Some(tx))).await?;
        rx.await.map_err(|_| ClientError::Closed)?
    }

    /// Tells the client the network is reachable again (or the app returned to the
    /// foreground): waiting retries run now and a sync follows.
    pub async fn network_available(&self) -> ClientResult<()> {
        self.run(|e, now| e.network_available(now)).await
    }

    /// Tells the client whether the network is reachable (mobile apps get this from the
    /// OS). Unreachable: the realtime connection closes and waits, and the outbox holds
    /// (no request is attempted, no retry delay grows; queued work shows `Pending`).
    /// Reachable again (or [`ChatClient::network_available`]): the outbox sends at once,
    /// the connection reopens at once and a sync follows.
    pub async fn set_network_reachable(&self, reachable: bool) -> ClientResult<()> {
        self.run(move |e, now| e.set_network(reachable, now)).await
    }

    /// Tells the client the app moved to the foreground (`true`) or the background. In
    /// the background the realtime connection closes after a grace period
    /// ([`RealtimeConfig::background_grace`](crate::realtime::RealtimeConfig)); back in
    /// the foreground it reconnects at once and catches up.
    pub async fn set_foreground(&self, foreground: bool) -> ClientResult<()> {
        self.run(move |e, now| e.set_foreground(foreground, now))
            .await
    }

    /// Reconnects the realtime connection now (skipping a backoff wait, or after the
    /// server refused the connection).
    pub async fn reconnect(&self) -> ClientResult<()> {
        self.run(|e, now| e.reconnect(now)).await
    }

    /// The realtime connection state, live.
    pub fn connection_state(&self) -> LiveValue<ConnectionState> {
        LiveValue::new(self.inner.connection.clone())
    }

    /// The user is typing in `cid` (or in the thread `parent_id`): call it on every
    /// keystroke. Announcements are throttled (one per 3 s), and typing stops by itself
    /// after 5 s without a call. Best effort: nothing is queued offline.
    pub async fn start_typing(&self, cid: &Cid, parent_id: Option<Uuid>) -> ClientResult<()> {
        let cid = cid.clone();
        self.run(move |e, now| e.start_typing(cid, parent_id, now))
            .await
    }

    /// The user stopped typing (cleared the input). Sending a message stops it too.
    pub async fn stop_typing(&self, cid: &Cid, parent_id: Option<Uuid>) -> ClientResult<()> {
        let cid = cid.clone();
        self.run(move |e, _| e.stop_typing(cid, parent_id)).await
    }

    /// Who else is typing in `cid`, live (entries expire 7 s after their last
    /// announcement).
    pub fn typing(&self, cid: &Cid) -> TypingWatch {
        TypingWatch {
            rx: self.inner.typing.clone(),
            cid: cid.clone(),
            last: None,
        }
    }

    /// Presence of the users who share a channel with this user, as seen on the current
    /// connection (the server sends transitions, so it is empty after a reconnect until
    /// someone comes or goes).
    pub fn presence(&self) -> LiveValue<Presence> {
        LiveValue::new(self.inner.presence.clone())
    }

    /// Asks the token provider for a new token (after it refused, or when the app knows
    /// the old one is invalid). Paused work resumes once it arrives.
    pub async fn refresh_token(&self) -> ClientResult<()> {
        self.run(|e, _| e.refresh_token()).await
    }

    /// The engine's state (outbox size, sync, auth).
    pub async fn status(&self) -> ClientResult<EngineStatus> {
        self.run(|e, _| e.status()).await
    }

    /// A live channel list: the user's channels, most recently active first, with unread
    /// counts and the last message. Pass a limit (`channel_list(20)`) or a
    /// [`ChannelQuery`] (`ChannelQuery::new(20).of_kind(ChannelType::Messaging)`).
    pub async fn channel_list(
        &self,
        query: impl Into<ChannelQuery>,
    ) -> ClientResult<LiveList<ChannelItem>> {
        let query = query.into();
        self.run(move |e, _| e.watch_channels(query))
            .await?
            .map_err(Into::into)
    }

    /// A live window on a channel's newest `page` messages, following new ones. Scroll
    /// with [`MessageWindow::load_older`]; it keeps at most `8 × page` messages.
    pub async fn messages(&self, cid: &Cid, page: u32) -> ClientResult<MessageWindow> {
        let page = page.max(1);
        let window = Window {
            limit: page,
            page,
            max: page.saturating_mul(8),
            end: None,
        };
        let key = cid.clone();
        let list = self
            .run(move |e, _| e.watch_messages(key, window))
            .await??;
        Ok(MessageWindow::new(list, self.clone(), cid.clone()))
    }

    /// The live member list of a channel, oldest membership first: each member's role,
    /// whether they are online and how far they have read, with the user's queued member
    /// changes shown at once (see [`MemberItem`]).
    pub async fn members(&self, cid: &Cid) -> ClientResult<LiveList<MemberItem>> {
        let cid = cid.clone();
        self.run(move |e, _| e.watch_members(cid))
            .await?
            .map_err(Into::into)
    }

    /// Stores what the user is writing in `cid` (in the thread of `parent_id`, if any), so
    /// it survives a restart; a blank text deletes it. Sending a message there deletes the
    /// draft together with queuing the message. Local to this device.
    pub async fn set_draft(
        &self,
        cid: &Cid,
        parent_id: Option<Uuid>,
        text: &str,
    ) -> ClientResult<()> {
        let (cid, text) = (cid.clone(), text.to_owned());
        self.run(move |e, _| e.set_draft(cid, parent_id, &text))
            .await?
    }

    /// The draft of `cid` (in the thread of `parent_id`, if any), to put back in the
    /// composer.
    pub async fn draft(&self, cid: &Cid, parent_id: Option<Uuid>) -> ClientResult<Option<Draft>> {
        let cid = cid.clone();
        self.run(move |e, _| e.draft(&cid, parent_id))
            .await?
            .map_err(Into::into)
    }

    /// Suggestions for an `@` mention in `cid`: the members whose id starts with `prefix`
    /// (case-insensitive; empty: everyone), most recently active in the channel first, then
    /// online ones, at most `limit`. Local and immediate (offline too); never the current
    /// user. See [`crate::live::mentions`].
    pub async fn mention_candidates(
        &self,
        cid: &Cid,
        prefix: &str,
        limit: u32,
    ) -> ClientResult<Vec<MemberItem>> {
        let (cid, prefix) = (cid.clone(), prefix.to_owned());
        self.run(move |e, _| e.mention_candidates(&cid, &prefix, limit as usize))
            .await?
            .map_err(Into::into)
    }

    /// Live read receipts of a channel: how far each other member has read, by user id
    /// (updated as read markers arrive through realtime or sync).
    pub async fn read_receipts(&self, cid: &Cid) -> ClientResult<LiveList<ReadReceipt>> {
        let cid = cid.clone();
        self.run(move |e, _| e.watch_reads(cid))
            .await?
            .map_err(Into::into)
    }

    /// A live list of a thread's replies, oldest first. The newest replies are fetched
    /// from the server in the background (best effort: offline, the cached replies show).
    pub async fn thread(&self, parent_id: Uuid) -> ClientResult<LiveList<MessageItem>> {
        let list = self
            .run(move |e, now| {
                let list = e.watch_thread(parent_id)?;
                e.ask(Query::Thread { parent_id }, now);
                Ok::<_, ClientError>(list)
            })
            .await??;
        Ok(list)
    }

    /// The user's starred messages across channels, live, most recently sent first, with
    /// pending stars and unstars applied: the cached list at once, the server's newest
    /// `page` fetched behind it. Grow it with [`StarredList::load_more`]; stars of
    /// messages older than their channel's cached window are listed too.
    pub async fn starred(&self, page: u32) -> ClientResult<StarredList> {
        let page = page.max(1);
        let list = self.run(move |e, now| e.watch_starred(page, now)).await??;
        Ok(StarredList::new(list, self.clone(), page))
    }

    /// One message from the server (whether it exists and where), through the engine.
    async fn lookup(&self, id: Uuid) -> ClientResult<Message> {
        let (tx, rx) = oneshot::channel();
        self.run(move |e, now| e.ask(Query::Lookup { id, waiter: tx }, now))
            .await?;
        rx.await.map_err(|_| ClientError::Closed)?
    }

    /// Stops the engine and closes the database. Queued work stays in the outbox and is
    /// sent by the next client opened on the same data directory.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inner.commands.send(Command::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}
