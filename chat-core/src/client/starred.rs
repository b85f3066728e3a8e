//! [`StarredList`], the app's handle on the live list of the user's starred messages
//! (across channels, most recently sent first), and [`StarredControl`], which grows it
//! from any task. Every move is one engine call (see `engine/starred.rs`).

use tokio::sync::oneshot;

use super::ChatClient;
use super::error::{ClientError, ClientResult};
use crate::live::{ListDiff, LiveList, MessageItem};

/// The user's starred messages, live: most recently sent first, with stars and unstars
/// not yet delivered already applied. Deliveries are batches of [`ListDiff`]s, the first
/// a `Reset`. Dropping it ends the subscription.
#[derive(Debug)]
pub struct StarredList {
    list: LiveList<MessageItem>,
    control: StarredControl,
}

impl StarredList {
    pub(crate) fn new(list: LiveList<MessageItem>, client: ChatClient, page: u32) -> Self {
        let control = StarredControl {
            sub: list.id(),
            client,
            page,
        };
        Self { list, control }
    }

    /// A cloneable handle that grows this list from another task. It stops working
    /// (`Closed`) once the list is dropped.
    pub fn control(&self) -> StarredControl {
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

    /// The starred messages as of the batches received so far, newest first.
    pub fn items(&self) -> &[MessageItem] {
        self.list.items()
    }

    /// The live list itself (for code written against [`LiveList`]).
    pub fn into_list(self) -> LiveList<MessageItem> {
        self.list
    }

    /// Shows one more page of older starred messages: from the cache, or fetched from
    /// the server when the cache has none. Returns `false` when the oldest is shown.
    pub async fn load_more(&self) -> ClientResult<bool> {
        self.control.load_more().await
    }
}

impl crate::live::LiveSource for StarredList {
    type Item = Vec<ListDiff<MessageItem>>;
    fn next(&mut self) -> impl std::future::Future<Output = Option<Self::Item>> + Send {
        StarredList::next(self)
    }
}

/// Grows a [`StarredList`] (see [`StarredList::control`]).
#[derive(Debug, Clone)]
pub struct StarredControl {
    sub: u64,
    client: ChatClient,
    page: u32,
}

impl StarredControl {
    /// Shows one more page of older starred messages; `false` when the oldest is shown.
    pub async fn load_more(&self) -> ClientResult<bool> {
        let (tx, rx) = oneshot::channel();
        let (sub, page) = (self.sub, self.page);
        self.client
            .run(move |e, now| e.starred_more(sub, page, tx, now))
            .await?;
        rx.await.map_err(|_| ClientError::Closed)?
    }
}
