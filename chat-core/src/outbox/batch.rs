//! Batch sends: a channel's run of queued messages leaves as one request
//! (`POST /v1/channels/{type}/{id}/messages/batch`), so a backlog drains in a few round
//! trips instead of one per message.
//!
//! Rules:
//! - **What joins a batch.** When a channel's head is a `SendMessage`, the sends queued
//!   right behind it join, in order, while they are sends too, their dependencies are
//!   settled (a reply to a message still queued ends the batch: it waits for its parent,
//!   exactly as alone), and no `Retry-After` holds them. Failed and blocked items are
//!   skipped as the head is. At most [`OutboxConfig::max_batch`](super::OutboxConfig)
//!   messages and [`MAX_SEND_BATCH_BYTES`] of body. Anything else (an edit, a reaction, a
//!   read marker) ends the batch, so per-channel order is kept.
//! - **One request.** A batch is its channel's one request in flight and takes one slot
//!   of `max_in_flight`; each of its items is in flight.
//! - **Each item answered as if sent alone.** A processed batch (`200`) carries one result
//!   per message: each becomes that item's outcome and goes through the same
//!   classification as a single send (success, replay, retry, permanent failure). An
//!   answer for the whole request (network failure, 5xx, 401, 429) is every item's
//!   outcome. A `2xx` whose results cannot be matched to the items retries them all
//!   (sends are idempotent, so a replay answers `200`).
//! - **Refused as a whole.** A whole-request `404` or `405` means the server has no batch
//!   route (an older server): batching is switched off for this outbox. A `413` means the
//!   server takes smaller bodies than this build: batches are halved (down to single sends).
//!   Either way the items go back to the queue without counting an attempt, so no message
//!   fails for what was wrong with its batch.

use chat_protocol::limits::{MAX_BATCH, MAX_SEND_BATCH_BYTES};
use chat_protocol::{SendMessageRequest, SendMessagesResponse};
use serde_json::json;

use super::api::{ApiOutcome, batch_bytes, batch_request};
use super::engine::Outbox;
use super::error::OutboxError;
use super::op::{OpId, OutboxOp};
use super::queue::{Gate, Stage};
use super::state::Effect;
use crate::clock::Millis;

/// Room kept in a batch body for its envelope (`{"messages":[…]}`).
const ENVELOPE_BYTES: usize = 64;

impl Outbox {
    /// Puts the channel head `seq` in flight, with the sends that may join it, and returns
    /// the effect that sends them.
    pub(super) fn dispatch(&mut self, seq: u64, now: Millis) -> Effect {
        let batch: Vec<(u64, SendMessageRequest)> = match self.batch_behind(seq, now) {
            sends if sends.len() > 1 => sends.into_iter().map(|(s, r)| (s, r.clone())).collect(),
            _ => Vec::new(),
        };
        let epoch = self.auth_epoch;
        let seqs: Vec<u64> = if batch.is_empty() {
            vec![seq]
        } else {
            batch.iter().map(|(s, _)| *s).collect()
        };
        for &s in &seqs {
            self.set_stage(s, Stage::InFlight);
            self.entries.get_mut(&s).expect("present").auth_epoch = epoch;
        }
        let head = &self.entries[&seq];
        if batch.is_empty() {
            return Effect::Send {
                op_id: head.op_id,
                request: head.op.to_request(),
            };
        }
        let cid = head.cid.clone();
        let (op_ids, messages): (Vec<OpId>, Vec<SendMessageRequest>) = batch
            .into_iter()
            .map(|(s, request)| (self.entries[&s].op_id, request))
            .unzip();
        Effect::SendBatch {
            op_ids,
            request: batch_request(&cid, messages),
        }
    }

    /// The sends that may go with the head `seq` (see the module rules), the head first,
    /// with their requests; empty when the head is not a send.
    fn batch_behind(&self, seq: u64, now: Millis) -> Vec<(u64, &SendMessageRequest)> {
        let head = &self.entries[&seq];
        let max = self.batch_cap.clamp(1, MAX_BATCH);
        let OutboxOp::SendMessage { request, .. } = &head.op else {
            return Vec::new();
        };
        let mut bytes = ENVELOPE_BYTES + batch_bytes(request);
        let mut batch = vec![(seq, request)];
        let queue = &self.queues[&head.cid];
        for &next in queue.range(seq + 1..) {
            if batch.len() >= max {
                break;
            }
            let entry = &self.entries[&next];
            if matches!(entry.stage, Stage::Failed(_)) {
                continue;
            }
            match self.gate(next) {
                Gate::Blocked(_) => continue,
                Gate::Wait => break,
                Gate::Open => {}
            }
            let OutboxOp::SendMessage { request, .. } = &entry.op else {
                break;
            };
            if entry.not_before.is_some_and(|at| at > now) {
                break;
            }
            bytes = bytes.saturating_add(batch_bytes(request));
            if bytes > MAX_SEND_BATCH_BYTES {
                break;
            }
            batch.push((next, request));
        }
        batch
    }

    /// Reports the result of the batch send of `op_ids` (exactly the ids of its
    /// [`Effect::SendBatch`]). Errors, changing nothing, if any of them is not in flight.
    pub fn on_batch_result(
        &mut self,
        op_ids: &[OpId],
        outcome: ApiOutcome,
        now: Millis,
    ) -> Result<(), OutboxError> {
        if let Some(id) = op_ids
            .iter()
            .find(|id| !self.get(**id).is_some_and(|e| e.in_flight()))
        {
            return Err(OutboxError::NotInFlight(*id));
        }
        let outcomes = match outcome {
            ApiOutcome::HttpError {
                status: status @ (404 | 405 | 413),
                ..
            } => {
                self.batch_cap = if status == 413 {
                    (op_ids.len() / 2).max(1)
                } else {
                    1
                };
                for id in op_ids {
                    let seq = self.index[id];
                    self.set_stage(seq, Stage::Queued);
                }
                return Ok(());
            }
            ApiOutcome::Ok { status, body } => split(op_ids, status, body),
            whole => vec![whole; op_ids.len()],
        };
        for (id, outcome) in op_ids.iter().zip(outcomes) {
            self.on_result(*id, outcome, now)?;
        }
        Ok(())
    }
}

/// A processed batch's answer as each item's own outcome; all retried if it does not
/// answer exactly these items in this order.
fn split(op_ids: &[OpId], status: u16, body: serde_json::Value) -> Vec<ApiOutcome> {
    let parsed = serde_json::from_value::<SendMessagesResponse>(body)
        .ok()
        .filter(|r| {
            r.results.len() == op_ids.len()
                && r.results.iter().zip(op_ids).all(|(r, id)| r.id == id.0)
        });
    let Some(response) = parsed else {
        let why = format!("a {status} batch answer that does not match its messages");
        return vec![ApiOutcome::Network(why); op_ids.len()];
    };
    response
        .results
        .into_iter()
        .map(|r| match (r.message, r.error) {
            // Without its message a success is still applied (as a single send's
            // undecodable 2xx): sync brings the message.
            (message, _) if (200..300).contains(&r.status) => ApiOutcome::Ok {
                status: r.status,
                body: message.map_or(serde_json::Value::Null, |m| json!({ "message": m })),
            },
            (_, error) if r.status >= 400 => ApiOutcome::HttpError {
                status: r.status,
                retry_after: error
                    .as_ref()
                    .and_then(|e| e.retry_after_secs)
                    .map(std::time::Duration::from_secs),
                body: error,
            },
            _ => ApiOutcome::Network(format!("a batch result with status {}", r.status)),
        })
        .collect()
}
