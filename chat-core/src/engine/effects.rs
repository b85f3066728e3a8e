//! What the engine does with the machines' effects and the network's answers: an outbox
//! send is persisted ("may have reached the server") before its request leaves; a
//! completion stores the server's answer and drops the row in ONE transaction; a sync
//! page is applied with its cursor; every HTTP reply is routed by its [`IoTag`] to the
//! machine (or the waiting query) that asked for it.

use chat_protocol::{
    Change, ChannelResponse, ChannelUnread, FlagsResponse, MarkReadResponse, MembersResponse,
    MessageResponse, ReactionResponse, UnreadResponse,
};
use serde_json::Value;

use super::{Engine, IoTag, persisted_json};
use crate::cache::{Completion, LocalState};
use crate::client::error::ClientError;
use crate::clock::Millis;
use crate::net::{HttpMethod, HttpReply, NetworkError};
use crate::outbox::{ApiOutcome, Effect, OpId, OutboxOp};
use crate::sync::{SyncEffect, SyncOutcome};

impl Engine {
    /// Records "may have reached the server" for requests about to leave, in ONE
    /// transaction, except for items whose echo's write already did (see
    /// [`Engine::take_written_in_flight`]). `false` (the error kept) when that write failed:
    /// the request must not leave — it counts as a network failure and is retried.
    fn record_in_flight(&mut self, op_ids: &[OpId]) -> bool {
        let mut rows = Vec::with_capacity(op_ids.len());
        for &id in op_ids {
            if !self.take_written_in_flight(id)
                && let Some(json) = persisted_json(&self.outbox, id)
            {
                rows.push((id.to_string(), json));
            }
        }
        if rows.is_empty() {
            return true;
        }
        match self.cache.outbox_update_all(&rows) {
            Ok(()) => true,
            Err(e) => {
                self.last_error = Some(e.to_string());
                false
            }
        }
    }

    /// Writes an item's durable form; `false` if the write failed.
    fn persist(&mut self, op_id: OpId) -> bool {
        let Some(payload) = persisted_json(&self.outbox, op_id) else {
            return true;
        };
        match self.cache.outbox_update(&op_id.to_string(), &payload) {
            Ok(_) => true,
            Err(e) => {
                self.last_error = Some(e.to_string());
                false
            }
        }
    }

    pub(super) fn on_outbox_effect(&mut self, effect: Effect, now: Millis) {
        match &effect {
            Effect::Send { .. }
            | Effect::SendBatch { .. }
            | Effect::StateChanged { .. }
            | Effect::RefreshToken { .. } => {
                self.touch_overlay();
            }
            Effect::Completed { .. } | Effect::Failed { .. } => self.touch(),
        }
        match effect {
            Effect::Send { op_id, request } => {
                if !self.record_in_flight(&[op_id]) {
                    let outcome = ApiOutcome::Network("local write failed".into());
                    if let Err(e) = self.outbox.on_result(op_id, outcome, now) {
                        self.last_error = Some(e.to_string());
                    }
                    return;
                }
                self.request(
                    IoTag::Outbox(op_id),
                    request.method.into(),
                    request.path,
                    request.body,
                );
            }
            Effect::SendBatch { op_ids, request } => {
                if !self.record_in_flight(&op_ids) {
                    let outcome = ApiOutcome::Network("local write failed".into());
                    if let Err(e) = self.outbox.on_batch_result(&op_ids, outcome, now) {
                        self.last_error = Some(e.to_string());
                    }
                    return;
                }
                self.request(
                    IoTag::OutboxBatch(op_ids),
                    request.method.into(),
                    request.path,
                    request.body,
                );
            }
            Effect::Completed {
                op_id, op, body, ..
            } => self.complete_all(vec![(op_id, op, body)]),
            Effect::Failed { op_id, failure } => {
                let op = self.outbox.get_op(op_id);
                match op {
                    // A refused reaction, star or read marker reverts: the overlay
                    // disappears.
                    Some(OutboxOp::AddReaction { .. })
                    | Some(OutboxOp::RemoveReaction { .. })
                    | Some(OutboxOp::StarMessage { .. })
                    | Some(OutboxOp::UnstarMessage { .. })
                    | Some(OutboxOp::MarkRead { .. }) => {
                        if let Err(e) = self.discard(op_id) {
                            self.last_error = Some(e.to_string());
                        }
                    }
                    Some(OutboxOp::SendMessage { request, .. }) => {
                        let _ = self.persist(op_id);
                        let state = LocalState::Failed(failure.reason);
                        if let Err(e) = self.cache.set_local_state(&request.id, &state) {
                            self.last_error = Some(e.to_string());
                        }
                    }
                    _ => {
                        let _ = self.persist(op_id);
                    }
                }
            }
            Effect::StateChanged { .. } => {}
            Effect::RefreshToken { repeated } => {
                self.token_refused();
                if repeated {
                    self.auth.stopped = true;
                }
            }
        }
    }

    /// Stores completed operations' results and drops their rows: the ones whose answers
    /// parse in ONE transaction (a batch send's messages land together), each other one
    /// on its own (see [`Engine::complete`]).
    pub(super) fn complete_all(&mut self, done: Vec<(OpId, OutboxOp, Value)>) {
        let mut parsed = Vec::with_capacity(done.len());
        let mut rest = Vec::new();
        for (op_id, op, body) in done {
            if matches!(op, OutboxOp::MarkRead { .. }) {
                self.read_epoch += 1;
            }
            match parse_answer(&op, body) {
                Ok(Some((changes, unread))) => {
                    parsed.push((op_id, op_id.to_string(), changes, unread));
                }
                other => rest.push((op_id, other)),
            }
        }
        let completions: Vec<Completion<'_>> = parsed
            .iter()
            .map(|(_, row, changes, unread)| Completion {
                op_id: row,
                changes,
                unread: unread.as_ref(),
            })
            .collect();
        if let Err(e) = self.cache.complete_ops(&completions) {
            // Nothing of it was stored: record them one by one (each with its fallback).
            self.last_error = Some(e.to_string());
            for (op_id, _, changes, unread) in parsed {
                self.complete_parsed(op_id, Ok(Some((changes, unread))));
            }
        }
        for (op_id, answer) in rest {
            self.complete_parsed(op_id, answer);
        }
    }

    /// Stores one completed operation's parsed answer and drops its row (one
    /// transaction); an answer that cannot be recorded drops the row alone and asks for a
    /// sync.
    fn complete_parsed(&mut self, op_id: OpId, parsed: Result<Option<Parsed>, serde_json::Error>) {
        let error = match parsed {
            Ok(Some((changes, unread))) => {
                match self
                    .cache
                    .complete_op(&op_id.to_string(), &changes, unread.as_ref())
                {
                    Ok(()) => return,
                    Err(e) => Some(e.to_string()),
                }
            }
            Ok(None) => None,
            Err(_) => Some(format!("undecodable answer for outbox item {op_id}")),
        };
        // Not recorded from the answer. The server applied it, so the row must not be
        // replayed later (an old edit or reaction toggle would undo newer ones): drop the
        // row on its own and let a sync bring the result (a send's echo stays until then).
        if error.is_some() {
            self.last_error = error;
        }
        self.sync_wanted = true;
        if let Err(e) = self.cache.outbox_remove(&op_id.to_string()) {
            self.last_error = Some(e.to_string());
        }
    }

    pub(super) fn on_sync_effect(&mut self, effect: SyncEffect, now: Millis) {
        match effect {
            SyncEffect::Fetch { path } => self.request(IoTag::Sync, HttpMethod::Get, path, None),
            SyncEffect::Apply { page } => {
                self.touch();
                match self.cache.apply_sync_page(&page) {
                    Ok(()) => self.sync.on_applied(now),
                    Err(e) => self.sync.on_apply_failed(e.to_string(), now),
                }
            }
            SyncEffect::Reset => {
                self.touch();
                match self.cache.reset_synced_data() {
                    Ok(()) => self.sync.on_reset_done(now),
                    Err(e) => self.sync.on_apply_failed(e.to_string(), now),
                }
            }
            SyncEffect::NeedToken => {
                if self.auth.token.is_some() && self.auth.token != self.auth.sync_token {
                    // A late 401 for a token already replaced: retry with the new one.
                    self.sync.on_token_refreshed(now);
                } else {
                    self.token_refused();
                }
            }
            SyncEffect::RefreshUnread => {
                self.unread_asked_at = self.read_epoch;
                self.request(IoTag::Unread, HttpMethod::Get, "/v1/unread".into(), None);
            }
            SyncEffect::Done { .. } => {
                self.sync_finished(true, now);
                self.retry_failed_quotes();
                for w in std::mem::take(&mut self.sync_waiters) {
                    self.answer(w, Ok(()));
                }
            }
            SyncEffect::Failed { status, body } => {
                self.sync_finished(false, now);
                for w in std::mem::take(&mut self.sync_waiters) {
                    self.answer(w, Err(ClientError::server(status, body.clone())));
                }
            }
            SyncEffect::Idle => {}
        }
    }

    /// An HTTP request finished.
    pub(crate) fn on_http(
        &mut self,
        tag: IoTag,
        result: Result<HttpReply, NetworkError>,
        now: Millis,
    ) {
        if result.as_ref().is_ok_and(HttpReply::is_success) {
            self.auth.rejections = 0;
        }
        match tag {
            IoTag::Outbox(op_id) => {
                let outcome = match result {
                    Ok(reply) => api_outcome(reply),
                    Err(e) => ApiOutcome::Network(e.0),
                };
                if let Err(e) = self.outbox.on_result(op_id, outcome, now) {
                    self.last_error = Some(e.to_string());
                }
            }
            IoTag::OutboxBatch(op_ids) => {
                let outcome = match result {
                    Ok(reply) => api_outcome(reply),
                    Err(e) => ApiOutcome::Network(e.0),
                };
                if let Err(e) = self.outbox.on_batch_result(&op_ids, outcome, now) {
                    self.last_error = Some(e.to_string());
                }
            }
            IoTag::Sync => {
                let outcome = match result {
                    Ok(reply) => sync_outcome(reply),
                    Err(e) => SyncOutcome::Network(e.0),
                };
                self.sync.on_response(outcome, now);
                if self.sync.is_backing_off() {
                    // The sync keeps retrying in the background; whoever waits for it is
                    // told now (e.g. a pull-to-refresh while offline).
                    let reason = self.sync.last_error().unwrap_or("sync failed").to_owned();
                    for w in std::mem::take(&mut self.sync_waiters) {
                        self.answer(w, Err(ClientError::Network(NetworkError(reason.clone()))));
                    }
                }
            }
            IoTag::Typing => {}
            IoTag::Query(id) => self.on_query_reply(id, result),
            IoTag::Unread => {
                // The server's counts may already include messages this cache has not
                // received: ones a newer sync or held realtime pushes are about to bring.
                // Stored then, they would show "1 unread" without the message (and the
                // message would count once more when it arrives), so only a quiet cache
                // takes them; the next sync asks again.
                let newer_coming = self.sync_wanted
                    || self.sync.is_running()
                    || self.rt.machine.as_ref().is_some_and(|m| m.is_holding());
                if let Ok(reply) = result.as_ref()
                    && reply.is_success()
                    && self.unread_asked_at == self.read_epoch
                    && !newer_coming
                    && let Ok(unread) = serde_json::from_slice::<UnreadResponse>(&reply.body)
                {
                    self.touch();
                    if let Err(e) = self.cache.replace_unread_counts(&unread) {
                        self.last_error = Some(e.to_string());
                    }
                }
            }
        }
    }
}

/// An answer as changes to apply with the same rules as sync, plus a mark-read's exact
/// counts.
type Parsed = (Vec<Change>, Option<ChannelUnread>);

/// A completed operation's answer as [`Parsed`]; `Ok(None)` when it carries nothing to
/// apply: "already gone" (a 404 on a removal, no body) or a channel creation (the
/// channel's state arrives with the next sync).
fn parse_answer(op: &OutboxOp, body: Value) -> Result<Option<Parsed>, serde_json::Error> {
    match op {
        _ if body.is_null() => Ok(None),
        OutboxOp::SendMessage { .. }
        | OutboxOp::EditMessage { .. }
        | OutboxOp::DeleteMessage { .. } => serde_json::from_value::<MessageResponse>(body)
            .map(|r| Some((vec![Change::Message(r.message)], None))),
        OutboxOp::AddReaction { .. } | OutboxOp::RemoveReaction { .. } => {
            serde_json::from_value::<ReactionResponse>(body).map(|r| {
                let changes = vec![Change::Reaction(r.reaction), Change::Message(r.message)];
                Some((changes, None))
            })
        }
        OutboxOp::StarMessage { .. } | OutboxOp::UnstarMessage { .. } => {
            serde_json::from_value::<FlagsResponse>(body)
                .map(|r| Some((vec![Change::Flags(r.flags)], None)))
        }
        OutboxOp::MarkRead { .. } => serde_json::from_value::<MarkReadResponse>(body)
            .map(|r| Some((vec![Change::Read(r.read)], Some(r.unread)))),
        OutboxOp::CreateChannel { .. } => Ok(None),
        OutboxOp::UpdateChannel { .. } => serde_json::from_value::<ChannelResponse>(body)
            .map(|r| Some((vec![Change::Channel(r.channel)], None))),
        // The member list as it is now, then a removal's tombstone: applied like sync's
        // changes, the tombstone of the user itself (it left) drops the channel at once.
        OutboxOp::AddMembers { .. } | OutboxOp::RemoveMember { .. } => {
            serde_json::from_value::<MembersResponse>(body).map(|r| {
                let changes = r
                    .members
                    .into_iter()
                    .chain(r.removed)
                    .map(Change::Member)
                    .collect();
                Some((changes, None))
            })
        }
    }
}

/// A reply as the outbox engine's outcome.
fn api_outcome(reply: HttpReply) -> ApiOutcome {
    if reply.is_success() {
        let body = if reply.body.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(&reply.body) {
                Ok(v) => v,
                // A 2xx with a broken body: the request was applied, the answer is
                // unusable. Sync brings the result; the item is done.
                Err(_) => Value::Null,
            }
        };
        ApiOutcome::Ok {
            status: reply.status,
            body,
        }
    } else {
        ApiOutcome::HttpError {
            status: reply.status,
            body: reply.error_body(),
            retry_after: reply.retry_after,
        }
    }
}

/// A reply as the sync driver's outcome (a 200 whose body does not decode counts as a
/// network failure: retried, nothing applied).
fn sync_outcome(reply: HttpReply) -> SyncOutcome {
    if reply.is_success() {
        match serde_json::from_slice(&reply.body) {
            Ok(page) => SyncOutcome::Ok(page),
            Err(e) => SyncOutcome::Network(format!("undecodable sync page: {e}")),
        }
    } else {
        SyncOutcome::Http {
            status: reply.status,
            body: reply.error_body(),
            retry_after: reply.retry_after,
        }
    }
}
