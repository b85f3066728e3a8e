//! [`MessageWindow`], the app's handle on a live message window, and [`WindowControl`],
//! which moves it from any task. Every move is one engine call: the engine reads the
//! cache, fetches history through its one road to the network when the cache runs out,
//! and answers when the window has moved (see `engine/window.rs`).

use chat_protocol::Cid;
use uuid::Uuid;

use tokio::sync::oneshot;

use super::ChatClient;
use super::error::{ClientError, ClientResult};
use crate::live::{ListDiff, LiveList, MessageItem};

/// A live message window of one channel: the newest messages (following new ones as they
/// arrive) or, after scrolling or jumping, a slice of the history. Deliveries are batches
/// of [`ListDiff`]s, the first a `Reset`. Dropping it ends the subscription.
#[derive(Debug)]
pub struct MessageWindow {
    list: LiveList<MessageItem>,
    control: WindowControl,
}

impl MessageWindow {
    pub(crate) fn new(list: LiveList<MessageItem>, client: ChatClient, cid: Cid) -> Self {
        let control = WindowControl {
            sub: list.id(),
            client,
            cid,
        };
        Self { list, control }
    }

    /// The channel.
    pub fn cid(&self) -> &Cid {
        &self.control.cid
    }

    /// A cloneable handle that moves this window from another task (or thread) while
    /// this one waits for deliveries. It stops working (`Closed`) once the window is
    /// dropped.
    pub fn control(&self) -> WindowControl {
        self.control.clone()
    }

    /// Waits for the next batch of diffs (`None` once the client is shut down).
    pub async fn next(&mut self) -> Option<Vec<ListDiff<MessageItem>>> {
        self.list.next().await
    }

    /// Applies every batch already delivered, without waiting; returns how many.
    pub fn drain(&mut self) -> usize {
        self.list.drain()
    }

    /// The messages as of the batches received so far, oldest first.
    pub fn items(&self) -> &[MessageItem] {
        self.list.items()
    }

    /// Shows one more page of older messages: from the cache, or fetched from the server
    /// when the cache has none. Returns `false` when the start of the channel is reached.
    pub async fn load_older(&self) -> ClientResult<bool> {
        self.control.load_older().await
    }

    /// Moves one page towards the newest messages; returns whether the window is at the
    /// newest (and follows new messages) again.
    pub async fn load_newer(&self) -> ClientResult<bool> {
        self.control.load_newer().await
    }

    /// Centres the window on a message (a thread reply centres on its root), fetching
    /// older history from the server until the message is cached (at most 50 pages).
    pub async fn jump_to(&self, message_id: Uuid) -> ClientResult<()> {
        self.control.jump_to(message_id).await
    }
}

impl crate::live::LiveSource for MessageWindow {
    type Item = Vec<ListDiff<MessageItem>>;
    fn next(&mut self) -> impl std::future::Future<Output = Option<Self::Item>> + Send {
        MessageWindow::next(self)
    }
}

/// Moves a [`MessageWindow`] (see [`MessageWindow::control`]): cheap to clone, usable
/// from any task while the window's owner waits for deliveries.
#[derive(Debug, Clone)]
pub struct WindowControl {
    sub: u64,
    client: ChatClient,
    cid: Cid,
}

impl WindowControl {
    /// Shows one more page of older messages: from the cache, or fetched from the server
    /// when the cache has none. Returns `false` when the start of the channel is reached.
    pub async fn load_older(&self) -> ClientResult<bool> {
        let (tx, rx) = oneshot::channel();
        let sub = self.sub;
        self.client
            .run(move |e, now| e.window_older(sub, tx, now))
            .await?;
        rx.await.map_err(|_| ClientError::Closed)?
    }

    /// Moves one page towards the newest messages; returns whether the window is at the
    /// newest (and follows new messages) again.
    pub async fn load_newer(&self) -> ClientResult<bool> {
        let sub = self.sub;
        self.client.run(move |e, _| e.window_newer(sub)).await?
    }

    /// Centres the window on a message (a thread reply centres on its root), fetching
    /// older history from the server until the message is cached (at most 50 pages).
    pub async fn jump_to(&self, message_id: Uuid) -> ClientResult<()> {
        let sub = self.sub;
        for _ in 0..50 {
            if self
                .client
                .run(move |e, _| e.window_jump(sub, message_id))
                .await??
            {
                return Ok(());
            }
            if !self.load_older().await? {
                break;
            }
        }
        // Not found by paging: ask the server whether it exists at all.
        let found = self.client.lookup(message_id).await?;
        if found.cid != self.cid {
            return Err(ClientError::InvalidInput(format!(
                "message {message_id} is not in {}",
                self.cid
            )));
        }
        Err(ClientError::MessageNotFound(message_id))
    }
}
