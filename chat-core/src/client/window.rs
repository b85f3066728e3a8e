//! Message windows: the engine side of moving a live message window (older, newer, jump
//! to a message) and storing history fetched for it, plus [`MessageWindow`], the app's
//! handle. Moving reads the cache first; only when the cache has no more of the history
//! does the handle fetch a page from the server (`before=<oldest cached id>`), store it
//! contiguously with the cached window, and move again. The window keeps at most `max`
//! messages: past that it slides instead of growing, so memory stays bounded however far
//! the user scrolls.

use chat_protocol::{Change, Cid, MessageResponse, MessagesResponse, SyncChange};
use uuid::Uuid;

use super::ChatClient;
use super::engine::Engine;
use super::error::{ClientError, ClientResult};
use crate::live::{ListDiff, LiveList, MessageItem};

/// What moving a window needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Done from the cache.
    Done,
    /// The cache has no older messages: fetch the page before this message (`None`: the
    /// newest page) and store it with [`Engine::apply_history`].
    Fetch(Option<Uuid>),
    /// Nothing older exists.
    Start,
}

impl Engine {
    /// Grows a window one page towards older messages, sliding it if that makes it
    /// longer than `max`. When the cache runs out first, nothing moves yet: the caller
    /// fetches the page before the oldest cached message, stores it, and calls
    /// [`Engine::window_settle`], which slides over the fetched page (sliding first
    /// would drop the newest page and then not show the fetched one).
    pub(crate) fn window_older(&mut self, sub: u64) -> ClientResult<Step> {
        let Some((cid, window, _)) = self.live.window(sub) else {
            return Err(ClientError::Closed);
        };
        let cid = cid.clone();
        window.limit = window.limit.saturating_add(window.page);
        let spec = *window;
        let cached = self
            .cache
            .messages_window(&cid, spec.limit, spec.end)?
            .len() as u32;
        if cached >= spec.limit {
            self.window_settle(sub)?;
            return Ok(Step::Done);
        }
        let bounds = self.cache.window(&cid)?;
        if bounds.is_none_or(|b| b.reaches_start) {
            self.window_settle(sub)?;
            return Ok(Step::Start);
        }
        Ok(Step::Fetch(
            self.cache.oldest_message(&cid)?.map(|m| m.message.id),
        ))
    }

    /// Keeps a window within `max` messages after it grew: past that it slides (keeping
    /// the oldest `max` of what it would show), then refreshes.
    pub(crate) fn window_settle(&mut self, sub: u64) -> ClientResult<()> {
        let Some((cid, window, _)) = self.live.window(sub) else {
            return Err(ClientError::Closed);
        };
        let (cid, spec) = (cid.clone(), *window);
        let items = self.cache.messages_window(&cid, spec.limit, spec.end)?;
        if items.len() as u32 > spec.max {
            let cut = &items[spec.max as usize];
            if cut.local_state.is_none() {
                let (_, window, _) = self.live.window(sub).expect("checked");
                window.end = Some(cut.message.created_at);
                window.limit = spec.max;
            }
        }
        self.touch();
        Ok(())
    }

    /// Moves a window one page towards the newest messages; returns whether it is at the
    /// newest (following new messages) now.
    pub(crate) fn window_newer(&mut self, sub: u64) -> ClientResult<bool> {
        let Some((cid, window, items)) = self.live.window(sub) else {
            return Err(ClientError::Closed);
        };
        let Some(last) = items.last() else {
            window.end = None;
            self.touch();
            return Ok(true);
        };
        if window.end.is_none() {
            return Ok(true);
        }
        let (cid, spec, after) = (cid.clone(), *window, last.message.created_at);
        let newer = self.cache.messages_after(&cid, after, spec.page + 1)?;
        let end = match newer.get(spec.page as usize) {
            Some(m) if m.local_state.is_none() => Some(m.message.created_at),
            _ => None,
        };
        let (_, window, _) = self.live.window(sub).expect("checked");
        window.end = end;
        window.limit = spec.limit.saturating_add(spec.page).min(spec.max);
        self.touch();
        Ok(end.is_none())
    }

    /// Centres a window on a cached message (or its thread root). `false` if the message
    /// is not cached.
    pub(crate) fn window_jump(&mut self, sub: u64, id: Uuid) -> ClientResult<bool> {
        let Some((cid, window, _)) = self.live.window(sub) else {
            return Err(ClientError::Closed);
        };
        let (cid, spec) = (cid.clone(), *window);
        let Some(mut target) = self.cache.message(&id)? else {
            return Ok(false);
        };
        if let Some(parent) = target.message.parent_id {
            match self.cache.message(&parent)? {
                Some(root) => target = root,
                None => return Ok(false),
            }
        }
        if target.message.cid != cid {
            return Err(ClientError::InvalidInput(format!(
                "message {id} is not in {cid}"
            )));
        }
        let half = spec.page / 2;
        let newer = if target.local_state.is_some() {
            Vec::new()
        } else {
            self.cache
                .messages_after(&cid, target.message.created_at, half + 1)?
        };
        let (end, limit) = match newer.get(half as usize) {
            Some(m) if m.local_state.is_none() => {
                (Some(m.message.created_at), spec.page.max(half * 2 + 1))
            }
            // Fewer than `half` newer messages, or local echoes among them: follow the
            // newest, with room for everything newer than the target plus `half` older.
            _ => {
                let all_newer = if target.local_state.is_some() {
                    0
                } else {
                    self.cache
                        .messages_after(&cid, target.message.created_at, spec.max)?
                        .len() as u32
                };
                (None, spec.page.max(all_newer + 1 + half))
            }
        };
        let (_, window, _) = self.live.window(sub).expect("checked");
        window.end = end;
        window.limit = limit.min(spec.max);
        self.touch();
        Ok(true)
    }

    /// Stores an older history page fetched for a window with `before` (the oldest cached
    /// message when the fetch started). If the cached window changed meanwhile (a sync
    /// replaced it), the page would not join it and is dropped: storing it would claim
    /// history the cache does not hold.
    pub(crate) fn apply_history(
        &mut self,
        cid: &Cid,
        before: Option<Uuid>,
        page: &MessagesResponse,
    ) -> ClientResult<()> {
        let oldest = self.cache.oldest_message(cid)?.map(|m| m.message.id);
        if oldest == before {
            self.cache.apply_history_page(cid, page)?;
        }
        self.touch();
        Ok(())
    }

    /// Stores fetched thread replies (and the user's reactions on them).
    pub(crate) fn apply_messages(&mut self, page: &MessagesResponse) -> ClientResult<()> {
        let changes: Vec<SyncChange> = page
            .messages
            .iter()
            .map(|m| SyncChange {
                seq: m.rev,
                change: Change::Message(m.clone()),
            })
            .chain(page.own_reactions.iter().map(|r| SyncChange {
                seq: r.rev,
                change: Change::Reaction(r.clone()),
            }))
            .collect();
        self.cache.apply_changes(&changes)?;
        self.touch();
        Ok(())
    }
}

/// A live message window of one channel: the newest messages (following new ones as they
/// arrive) or, after scrolling or jumping, a slice of the history. Deliveries are batches
/// of [`ListDiff`]s, the first a `Reset`. Dropping it ends the subscription.
#[derive(Debug)]
pub struct MessageWindow {
    list: LiveList<MessageItem>,
    control: WindowControl,
}

impl MessageWindow {
    pub(crate) fn new(
        list: LiveList<MessageItem>,
        client: ChatClient,
        cid: Cid,
        page: u32,
    ) -> Self {
        let control = WindowControl {
            sub: list.id(),
            client,
            cid,
            page,
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
    page: u32,
}

impl WindowControl {
    /// Shows one more page of older messages: from the cache, or fetched from the server
    /// when the cache has none. Returns `false` when the start of the channel is reached.
    pub async fn load_older(&self) -> ClientResult<bool> {
        let sub = self.sub;
        match self.client.run(move |e, _| e.window_older(sub)).await?? {
            Step::Done => Ok(true),
            Step::Start => Ok(false),
            Step::Fetch(before) => {
                let mut path = format!(
                    "/v1/channels/{}/{}/messages?limit={}",
                    self.cid.kind().as_str(),
                    self.cid.id(),
                    self.page.clamp(1, chat_protocol::limits::MAX_MESSAGE_PAGE)
                );
                if let Some(before) = before {
                    path.push_str(&format!("&before={before}"));
                }
                let fetched = async {
                    let page: MessagesResponse = self.client.get_json(&path).await?;
                    let more = page.has_more_before;
                    let cid = self.cid.clone();
                    self.client
                        .run(move |e, _| e.apply_history(&cid, before, &page))
                        .await??;
                    Ok::<_, ClientError>(more)
                }
                .await;
                // Settle even when the fetch failed: the window grew for it.
                self.client.run(move |e, _| e.window_settle(sub)).await??;
                fetched
            }
        }
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
        let found: MessageResponse = self
            .client
            .get_json(&format!("/v1/messages/{message_id}"))
            .await?;
        if found.message.cid != self.cid {
            return Err(ClientError::InvalidInput(format!(
                "message {message_id} is not in {}",
                self.cid
            )));
        }
        Err(ClientError::MessageNotFound(message_id))
    }
}
