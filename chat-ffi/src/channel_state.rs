//! The user's own channel settings, channel deletion, channel-list options and the total
//! unread value across the FFI. Conversions only: the rules (optimistic, durable, synced
//! to the user's own devices) are chat-core's (`client/channel_state.rs`).

use std::sync::Arc;

use chat_core::client::{self as core};
use chat_core::live::TotalUnread as CoreTotal;

use crate::client::{FfiClient, cid};
use crate::diffs::channel_diffs;
use crate::error::ChatError;
use crate::live::pump;
use crate::outbox::ChannelKind;
use crate::runtime::run;
use crate::subscription::{ChannelListListener, Subscription};

/// Whether a channel list shows channels with a setting (hidden, muted, archived).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Inclusion {
    /// With or without it.
    Include,
    /// Only channels without it.
    Exclude,
    /// Only channels with it.
    Only,
}

impl From<Inclusion> for core::Inclusion {
    fn from(i: Inclusion) -> Self {
        match i {
            Inclusion::Include => Self::Include,
            Inclusion::Exclude => Self::Exclude,
            Inclusion::Only => Self::Only,
        }
    }
}

/// The order of a channel list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ChannelSort {
    /// Most recently active first.
    LastMessage,
    /// Most unread first, then most recently active.
    Unread,
}

impl From<ChannelSort> for core::ChannelSort {
    fn from(s: ChannelSort) -> Self {
        match s {
            ChannelSort::LastMessage => Self::LastMessage,
            ChannelSort::Unread => Self::Unread,
        }
    }
}

/// Which channels a channel list shows. The platform wrappers default it to chat-core's
/// default list: every type, neither hidden nor archived (muted ones included), most
/// recently active first.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChannelListQuery {
    /// Most channels listed.
    #[uniffi(default = 30)]
    pub limit: u32,
    /// Only channels of this type.
    #[uniffi(default = None)]
    pub kind: Option<ChannelKind>,
    /// Only channels with unread messages.
    #[uniffi(default = false)]
    pub unread_only: bool,
    /// Hidden channels.
    pub hidden: Inclusion,
    /// Muted channels.
    pub muted: Inclusion,
    /// Archived channels.
    pub archived: Inclusion,
    /// Only channels whose name, cid or a member's id contains this text.
    #[uniffi(default = None)]
    pub text: Option<String>,
    /// The order.
    pub sort: ChannelSort,
}

impl From<ChannelListQuery> for core::ChannelQuery {
    fn from(q: ChannelListQuery) -> Self {
        Self {
            limit: q.limit,
            kind: q.kind.map(Into::into),
            unread_only: q.unread_only,
            hidden: q.hidden.into(),
            muted: q.muted.into(),
            archived: q.archived.into(),
            text: q.text,
            sort: q.sort.into(),
        }
    }
}

/// The user's unread counts over every channel they have not muted (app badges).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct TotalUnread {
    /// Unread messages.
    pub unread_count: u64,
    /// Unread messages mentioning the user.
    pub unread_mentions: u64,
}

impl From<CoreTotal> for TotalUnread {
    fn from(t: CoreTotal) -> Self {
        Self {
            unread_count: t.unread_count,
            unread_mentions: t.unread_mentions,
        }
    }
}

/// Receives the total unread counts (the current value first, then each change).
#[uniffi::export(with_foreign)]
pub trait TotalUnreadListener: Send + Sync {
    /// The counts now.
    fn on_total(&self, total: TotalUnread);
}

#[uniffi::export]
impl FfiClient {
    /// Hides a channel from the user's list until its next new message (`false`: shows
    /// it), as a queued operation: it leaves the list at once.
    pub async fn hide_channel(&self, cid: String, hidden: bool) -> Result<String, ChatError> {
        let client = self.inner.clone();
        let cid = self::cid(&cid)?;
        run(async move { Ok(client.hide_channel(&cid, hidden).await?.to_string()) }).await
    }

    /// Mutes a channel for the user (no unread badge; `false`: unmutes), as a queued
    /// operation: the total unread follows at once.
    pub async fn mute_channel(&self, cid: String, muted: bool) -> Result<String, ChatError> {
        let client = self.inner.clone();
        let cid = self::cid(&cid)?;
        run(async move { Ok(client.mute_channel(&cid, muted).await?.to_string()) }).await
    }

    /// Archives a channel for the user (`false`: un-archives), as a queued operation.
    pub async fn archive_channel(&self, cid: String, archived: bool) -> Result<String, ChatError> {
        let client = self.inner.clone();
        let cid = self::cid(&cid)?;
        run(async move { Ok(client.archive_channel(&cid, archived).await?.to_string()) }).await
    }

    /// Deletes a channel for everyone (owners and admins), as a queued operation: it
    /// leaves the channel list at once.
    pub async fn delete_channel(&self, cid: String) -> Result<String, ChatError> {
        let client = self.inner.clone();
        let cid = self::cid(&cid)?;
        run(async move { Ok(client.delete_channel(&cid).await?.to_string()) }).await
    }

    /// The live channel list with options (filters, order), delivered to `listener`.
    pub async fn watch_channel_list(
        &self,
        query: ChannelListQuery,
        listener: Arc<dyn ChannelListListener>,
    ) -> Result<Arc<Subscription>, ChatError> {
        let client = self.inner.clone();
        let query: core::ChannelQuery = query.into();
        let list = run(async move { client.channel_list(query).await }).await?;
        Ok(Subscription::new(pump(list, channel_diffs, move |d| {
            listener.on_diffs(d);
        })))
    }

    /// The user's total unread counts (not muted channels), delivered to `listener`.
    pub async fn watch_total_unread(
        &self,
        listener: Arc<dyn TotalUnreadListener>,
    ) -> Result<Arc<Subscription>, ChatError> {
        let client = self.inner.clone();
        let live = run(async move { client.total_unread().await }).await?;
        Ok(Subscription::new(pump(
            live.updates(),
            TotalUnread::from,
            move |t| listener.on_total(t),
        )))
    }
}
