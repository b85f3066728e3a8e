//! The mutations the app makes, as engine steps: each validates its input, asks the
//! outbox what would happen without changing it (a plan: a new item, a merge into an
//! unsent send, a cancellation), writes exactly that to the cache in ONE transaction, and
//! only then applies the plan. (A retry still decides on a copy: it is rare.) A failed write changes nothing, in memory or on disk, and
//! nothing is shown before it is durable.

use chat_protocol::{
    Cid, CreateChannelRequest, MemberInput, Message, SendMessageRequest, Timestamp,
    UpdateChannelRequest, UpdateMessageRequest,
};
use serde_json::Value;
use uuid::Uuid;

use crate::clock::Millis;

use super::{Engine, persisted_json};
use crate::cache::{CachedMessage, LocalState, OutboxWrite};
use crate::client::error::{ClientError, ClientResult};
use crate::client::message::NewMessage;
use crate::outbox::{OpId, OutboxError, OutboxOp, PersistedItem};

/// The protocol's content limits ([`chat_protocol::limits`], the server's own checks), as
/// `invalid_input` before anything is stored.
fn check_content(text: &str, attachments: &[Value], mentions: &[String]) -> ClientResult<()> {
    chat_protocol::limits::check_message_content(text, attachments, mentions)
        .map_err(|e| ClientError::InvalidInput(e.to_string()))
}

fn payload(op_id: OpId, op: &OutboxOp) -> String {
    payload_as(op_id, op, false)
}

/// [`payload`], recorded as "may have reached the server" when it leaves at once.
fn payload_as(op_id: OpId, op: &OutboxOp, maybe_applied: bool) -> String {
    let item = PersistedItem {
        op_id,
        op: op.clone(),
        attempts: 0,
        maybe_applied,
        failure: None,
    };
    serde_json::to_string(&item).unwrap_or_default()
}

impl Engine {
    pub(crate) fn me(&self) -> String {
        self.cache.user().unwrap_or_default().to_owned()
    }

    /// Queues a new message: its local echo and outbox row are written in one
    /// transaction, then it joins its channel's queue. Returns the message id.
    pub(crate) fn send_message(
        &mut self,
        cid: Cid,
        draft: NewMessage,
        at: Millis,
    ) -> ClientResult<Uuid> {
        check_content(&draft.text, &draft.attachments, &draft.mentioned_users)?;
        if draft.text.trim().is_empty() && draft.attachments.is_empty() {
            return Err(ClientError::InvalidInput(
                "a message needs text or attachments".into(),
            ));
        }
        let id = Uuid::now_v7();
        let op_id = OpId(id);
        let request = SendMessageRequest {
            id,
            text: draft.text,
            attachments: draft.attachments,
            parent_id: draft.parent_id,
            quoted_message_id: draft.quoted_message_id,
            mentioned_users: draft.mentioned_users,
            user_id: None,
        };
        let now = Timestamp::now();
        let echo = Message {
            id,
            cid: cid.clone(),
            user_id: self.me(),
            text: request.text.clone(),
            attachments: request.attachments.clone(),
            parent_id: request.parent_id,
            quoted_message_id: request.quoted_message_id,
            mentioned_users: request.mentioned_users.clone(),
            reaction_counts: Default::default(),
            reply_count: 0,
            created_at: now,
            updated_at: now,
            edited_at: None,
            deleted_at: None,
            rev: 0,
        };
        // A send that leaves at once is recorded "in flight" now, in the echo's write:
        // one commit (one `fsync`) less between the tap and the request.
        let op = OutboxOp::SendMessage {
            cid: cid.clone(),
            request,
        };
        op.validate(op_id)?;
        let at_once = self.auth.token.is_some() && self.outbox.goes_at_once(&cid, &op, at);
        // No draft anywhere (the common case): no key is even built.
        let draft = (!self.drafts.is_empty())
            .then(|| (cid.to_string(), crate::cache::drafts_key(echo.parent_id)));
        let clear_draft = draft.as_ref().is_some_and(|d| self.drafts.contains(d));
        self.cache.insert_local_message_with(
            &echo,
            &op_id.to_string(),
            &payload_as(op_id, &op, at_once),
            clear_draft,
        )?;
        if let Some(d) = draft.filter(|_| clear_draft) {
            self.drafts.remove(&d);
        }
        if at_once {
            let outbox = &self.outbox;
            self.written_in_flight
                .retain(|id| outbox.state(*id).is_some());
            self.written_in_flight.insert(op_id);
        }
        if let Err(e) = self.outbox.enqueue(op_id, op) {
            // Unreachable with a fresh id; undo the write rather than keep an orphan.
            self.cache
                .remove_local_message(&id, Some(&op_id.to_string()))?;
            return Err(e.into());
        }
        // Exactly the row the cache now holds (an echo: rev 0, pending, no reactions).
        self.touch_echo(CachedMessage {
            message: echo,
            local_state: Some(LocalState::Pending),
            own_reactions: Vec::new(),
            starred: false,
        });
        Ok(id)
    }

    /// Stores (or, blank, deletes) the draft of `cid` / the thread of `parent_id`.
    pub(crate) fn set_draft(
        &mut self,
        cid: Cid,
        parent_id: Option<Uuid>,
        text: &str,
    ) -> ClientResult<()> {
        check_content(text, &[], &[])?;
        let stored = self
            .cache
            .set_draft(&cid, parent_id, text, Timestamp::now())?;
        let key = (cid.to_string(), crate::cache::drafts_key(parent_id));
        if stored {
            self.drafts.insert(key);
        } else {
            self.drafts.remove(&key);
        }
        Ok(())
    }

    /// Queues any other mutation, mirroring exactly what the outbox decided (queued,
    /// merged into an unsent send, cancelled with one) in one transaction. The outbox
    /// decides without changing ([`Outbox::plan`](crate::outbox::Outbox::plan)) and
    /// adopts the decision only once it is durable: a failed write changes nothing.
    pub(crate) fn enqueue(&mut self, op: OutboxOp) -> ClientResult<OpId> {
        let op_id = OpId(Uuid::now_v7());
        let plan = self.outbox.plan(op_id, op)?;
        let mut write = OutboxWrite::default();
        if let Some((id, cid, op)) = plan.queued() {
            write
                .insert
                .push((id.to_string(), cid.clone(), payload(id, op)));
        }
        if let Some((into, op)) = plan.merged()
            && let Some(item) = self.outbox.persisted_as(into, op)
        {
            let json = serde_json::to_string(&item).unwrap_or_default();
            write.update.push((into.to_string(), json));
        }
        for cancelled in plan.cancelled() {
            self.leave(&mut write, *cancelled);
        }
        self.cache.write_outbox(&write)?;
        self.outbox.apply(plan);
        self.touch();
        Ok(op_id)
    }

    fn cached_cid(&self, id: Uuid) -> ClientResult<Cid> {
        self.cache
            .message(&id)?
            .map(|m| m.message.cid)
            .ok_or(ClientError::MessageNotFound(id))
    }

    /// Edits a message (one of the user's own).
    pub(crate) fn edit_message(
        &mut self,
        id: Uuid,
        request: UpdateMessageRequest,
    ) -> ClientResult<OpId> {
        check_content(
            request.text.as_deref().unwrap_or_default(),
            request.attachments.as_deref().unwrap_or_default(),
            request.mentioned_users.as_deref().unwrap_or_default(),
        )?;
        let cid = self.cached_cid(id)?;
        self.enqueue(OutboxOp::EditMessage { cid, id, request })
    }

    /// Deletes a message.
    pub(crate) fn delete_message(&mut self, id: Uuid) -> ClientResult<OpId> {
        let cid = self.cached_cid(id)?;
        self.enqueue(OutboxOp::DeleteMessage { cid, id })
    }

    /// Adds or removes one of the user's reactions.
    pub(crate) fn react(
        &mut self,
        message_id: Uuid,
        kind: String,
        add: bool,
    ) -> ClientResult<OpId> {
        let cid = self.cached_cid(message_id)?;
        self.enqueue(OutboxOp::reaction(add, cid, message_id, kind))
    }

    /// Stars (`starred`) or unstars a message for the user: a cached one, or one the
    /// starred list holds (older than its channel's cached window).
    pub(crate) fn star(&mut self, message_id: Uuid, starred: bool) -> ClientResult<OpId> {
        let cid = match self.cache.message(&message_id)? {
            Some(m) => m.message.cid,
            None => self
                .cache
                .starred_cid(&message_id)?
                .ok_or(ClientError::MessageNotFound(message_id))?,
        };
        self.enqueue(OutboxOp::star(starred, cid, message_id))
    }

    /// Marks `cid` read up to its newest cached server-confirmed message (what the user
    /// has seen), or up to the newest message on the server if none is cached. A cached
    /// channel with nothing unread queues nothing (`None`): opening a read channel costs no
    /// request and leaves the outbox as it was.
    pub(crate) fn mark_read(&mut self, cid: Cid) -> ClientResult<Option<OpId>> {
        if self
            .cache
            .unread(&cid)?
            .is_some_and(|u| u.unread_count == 0 && u.unread_mentions == 0)
        {
            return Ok(None);
        }
        let newest = self.cache.newest_message(&cid)?.map(|m| m.message.id);
        self.read_epoch += 1;
        self.enqueue(OutboxOp::MarkRead {
            cid,
            message_id: newest,
        })
        .map(Some)
    }

    /// Creates (or opens) a channel; a missing id is generated so the channel can be
    /// created offline and written to at once. A distinct channel's id is derived from its
    /// member set and this user (as the server derives it), so both sides agree on the cid
    /// offline and a retried create opens the same channel.
    pub(crate) fn create_channel(
        &mut self,
        mut request: CreateChannelRequest,
    ) -> ClientResult<Cid> {
        let id = if request.distinct {
            if request.created_by.is_some() {
                return Err(ClientError::InvalidInput(
                    "created_by is for server-side callers".into(),
                ));
            }
            let derived = chat_protocol::ids::distinct_channel_id(&self.me(), &request.members);
            if request.id.as_ref().is_some_and(|id| *id != derived) {
                return Err(ClientError::InvalidInput(format!(
                    "a distinct channel's id is derived from its members: expected {derived}"
                )));
            }
            request.id.insert(derived).clone()
        } else {
            request
                .id
                .get_or_insert_with(|| Uuid::now_v7().simple().to_string())
                .clone()
        };
        let cid = Cid::new(request.kind, &id).map_err(OutboxError::InvalidId)?;
        self.enqueue(OutboxOp::CreateChannel { request })?;
        Ok(cid)
    }

    /// Renames a channel, or changes its image or config (owners and admins).
    pub(crate) fn update_channel(
        &mut self,
        cid: Cid,
        request: UpdateChannelRequest,
    ) -> ClientResult<OpId> {
        if request.name.is_none() && request.image.is_none() && request.config.is_none() {
            return Err(ClientError::InvalidInput(
                "an update needs a name, an image or a config".into(),
            ));
        }
        self.enqueue(OutboxOp::UpdateChannel { cid, request })
    }

    /// Adds members to a channel, or changes the roles of existing ones.
    pub(crate) fn add_members(
        &mut self,
        cid: Cid,
        members: Vec<MemberInput>,
    ) -> ClientResult<OpId> {
        self.enqueue(OutboxOp::AddMembers { cid, members })
    }

    /// Removes a member from a channel; removing the user itself leaves it.
    pub(crate) fn remove_member(&mut self, cid: Cid, user_id: String) -> ClientResult<OpId> {
        self.enqueue(OutboxOp::RemoveMember { cid, user_id })
    }

    /// Retries a failed item now.
    pub(crate) fn retry(&mut self, op_id: OpId) -> ClientResult<()> {
        let mut outbox = self.outbox.clone();
        outbox.retry(op_id)?;
        if let Some(payload) = persisted_json(&outbox, op_id) {
            self.cache.outbox_update(&op_id.to_string(), &payload)?;
        }
        self.outbox = outbox;
        if let Some(OutboxOp::SendMessage { request, .. }) = self.outbox.get_op(op_id) {
            self.cache
                .set_local_state(&request.id, &crate::cache::LocalState::Pending)?;
        }
        self.touch();
        Ok(())
    }

    /// Removes an item the app gave up on (or a refused reaction / read marker), with
    /// everything cancelled along with it: decided, written, then adopted.
    pub(crate) fn discard(&mut self, op_id: OpId) -> ClientResult<()> {
        let removed = self.outbox.plan_discard(op_id)?;
        let mut write = OutboxWrite::default();
        for id in &removed {
            self.leave(&mut write, *id);
        }
        self.cache.write_outbox(&write)?;
        self.outbox.apply_discard(&removed);
        self.touch();
        Ok(())
    }
}
