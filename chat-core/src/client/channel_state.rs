//! The user's own channel settings and channel deletion, as outbox operations, and the
//! live total-unread value. Rules:
//!
//! - Hide, mute, archive (and their undo) are the user's private settings, synced to the
//!   user's other devices only (docs/protocol.md, "Hide, mute, archive"). Each call is an
//!   outbox operation: durable, retried, shown at once (a hidden or archived channel leaves
//!   the default channel list, a muted one stops counting toward the total unread), and
//!   undone if the server refuses it.
//! - Deleting a channel (owners and admins) is an outbox operation too: the channel leaves
//!   every channel list at once, and its cached history is dropped when the server
//!   confirms.
//! - The total unread (not muted channels) is a [`LiveValue`] for app badges.

use chat_protocol::{Cid, UpdateMemberStateRequest};

use super::ChatClient;
use super::error::ClientResult;
use crate::live::{LiveValue, TotalUnread};
use crate::outbox::OpId;

impl ChatClient {
    /// Changes the user's own settings of a channel (absent fields stay; at least one is
    /// needed, else `invalid_input`), as an outbox operation.
    pub async fn set_channel_state(
        &self,
        cid: &Cid,
        request: UpdateMemberStateRequest,
    ) -> ClientResult<OpId> {
        let cid = cid.clone();
        self.run(move |e, _| e.set_member_state(cid, request))
            .await?
    }

    /// Hides a channel from the user's channel list until its next new message (`false`:
    /// shows it again).
    pub async fn hide_channel(&self, cid: &Cid, hidden: bool) -> ClientResult<OpId> {
        let request = UpdateMemberStateRequest {
            hidden: Some(hidden),
            ..Default::default()
        };
        self.set_channel_state(cid, request).await
    }

    /// Mutes a channel for the user: it counts toward no unread total (`false`: unmutes).
    pub async fn mute_channel(&self, cid: &Cid, muted: bool) -> ClientResult<OpId> {
        let request = UpdateMemberStateRequest {
            muted: Some(muted),
            ..Default::default()
        };
        self.set_channel_state(cid, request).await
    }

    /// Archives a channel for the user (`false`: un-archives it).
    pub async fn archive_channel(&self, cid: &Cid, archived: bool) -> ClientResult<OpId> {
        let request = UpdateMemberStateRequest {
            archived: Some(archived),
            ..Default::default()
        };
        self.set_channel_state(cid, request).await
    }

    /// Deletes a channel for everyone (owners and admins), as an outbox operation.
    pub async fn delete_channel(&self, cid: &Cid) -> ClientResult<OpId> {
        let cid = cid.clone();
        self.run(move |e, _| e.delete_channel(cid)).await?
    }

    /// The user's total unread counts over the channels they have not muted, live (app
    /// badges). Computed only while held; updated by the same steps that change
    /// per-channel counts.
    pub async fn total_unread(&self) -> ClientResult<LiveValue<TotalUnread>> {
        self.run(|e, _| e.watch_total_unread().map(LiveValue::new))
            .await?
            .map_err(Into::into)
    }
}
