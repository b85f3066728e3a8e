//! The in-memory server model of the outbox simulation: stores messages by id
//! idempotently and applies edits, deletes, reactions and read markers like chat-server,
//! failing requests on demand.

use super::*;

#[derive(Debug)]
pub(crate) struct ServerMessage {
    pub(crate) cid: Cid,
    pub(crate) text: String,
    pub(crate) deleted: bool,
    /// Text after the send and after every applied edit.
    pub(crate) history: Vec<String>,
    /// Position in its channel's arrival order.
    pub(crate) position: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Server {
    pub(crate) channels: BTreeSet<Cid>,
    pub(crate) messages: BTreeMap<Uuid, ServerMessage>,
    pub(crate) arrivals: BTreeMap<Cid, Vec<Uuid>>,
    pub(crate) created: BTreeMap<Uuid, u32>,
    pub(crate) reactions: BTreeSet<(Uuid, String)>,
    pub(crate) read_position: BTreeMap<Cid, usize>,
    pub(crate) token_valid: bool,
    /// How many messages of the next batch send the rate limit pays for (`None`: all);
    /// the others are refused with `429`, not applied.
    pub(crate) batch_budget: Option<usize>,
    /// How often each kind of fault and event happened (coverage of the run).
    pub(crate) stats: BTreeMap<&'static str, u64>,
}

type Answer = Result<(u16, Value), (u16, ErrorCode)>;

impl Server {
    pub(crate) fn execute(
        &mut self,
        req: &ApiRequest,
        rng: &mut SplitMix64,
        chaos: bool,
    ) -> ApiOutcome {
        if !self.token_valid {
            return error(401, ErrorCode::TokenExpired, None);
        }
        if chaos {
            let fault = rng.below(100);
            let name = match fault {
                0..=4 => "connection refused",
                5..=8 => "500 before applying",
                9..=11 => "500 after applying",
                12..=16 => "429",
                17..=21 => "lost reply",
                22 => "token expired",
                23 => "503/408",
                _ => "no fault",
            };
            *self.stats.entry(name).or_default() += 1;
            match fault {
                0..=4 => return ApiOutcome::Network("connection refused".into()),
                5..=8 => return error(500, ErrorCode::Internal, None),
                9..=11 => {
                    let _ = self.apply(req);
                    return error(500, ErrorCode::Internal, None);
                }
                12..=16 => return error(429, ErrorCode::RateLimited, Some(1 + rng.below(3))),
                17..=21 => {
                    let _ = self.apply(req);
                    return ApiOutcome::Network("reply lost".into());
                }
                22 => {
                    self.token_valid = false;
                    return error(401, ErrorCode::TokenExpired, None);
                }
                23 => {
                    let status = if rng.chance(0.5) { 503 } else { 408 };
                    let outcome = ApiOutcome::HttpError {
                        status,
                        body: None,
                        retry_after: None,
                    };
                    return outcome;
                }
                _ => {}
            }
        }
        match self.apply(req) {
            Ok((status, body)) => ApiOutcome::Ok { status, body },
            Err((status, code)) => error(status, code, None),
        }
    }

    pub(crate) fn apply(&mut self, req: &ApiRequest) -> Answer {
        let segments: Vec<&str> = req.path.split('/').skip(2).collect();
        let body = req.body.clone().unwrap_or(Value::Null);
        match (req.method, segments.as_slice()) {
            (Method::Post, ["channels"]) => {
                let create: CreateChannelRequest = serde_json::from_value(body).unwrap();
                let id = create.id.unwrap();
                if id.starts_with("taken") {
                    return Err((409, ErrorCode::Conflict));
                }
                let new = self.channels.insert(Cid::new(create.kind, &id).unwrap());
                Ok((if new { 201 } else { 200 }, json!({})))
            }
            (Method::Post, ["channels", kind, id, "messages", "batch"]) => {
                let cid = Cid::new(kind.parse().unwrap(), id).unwrap();
                let batch: SendMessagesRequest = serde_json::from_value(body).unwrap();
                let budget = self.batch_budget.take().unwrap_or(usize::MAX);
                let results: Vec<Value> = batch
                    .messages
                    .into_iter()
                    .enumerate()
                    .map(|(i, send)| {
                        let id = send.id;
                        if i >= budget {
                            *self.stats.entry("batch tail 429").or_default() += 1;
                            return json!({"id": id, "status": 429, "error":
                                {"code": "rate_limited", "message": "slow down", "retry_after_secs": 1}});
                        }
                        match self.send(cid.clone(), send) {
                            Ok((status, body)) => {
                                json!({"id": id, "status": status, "message": body["message"]})
                            }
                            Err((status, code)) => json!({"id": id, "status": status, "error":
                                {"code": code, "message": "refused"}}),
                        }
                    })
                    .collect();
                Ok((200, json!({ "results": results })))
            }
            (Method::Post, ["channels", kind, id, "messages"]) => {
                let cid = Cid::new(kind.parse().unwrap(), id).unwrap();
                let send: SendMessageRequest = serde_json::from_value(body).unwrap();
                self.send(cid, send)
            }
            (Method::Post, ["channels", kind, id, "read"]) => {
                let cid = Cid::new(kind.parse().unwrap(), id).unwrap();
                let read: MarkReadRequest = serde_json::from_value(body).unwrap();
                let position = match read.message_id {
                    Some(m) => match self.messages.get(&m) {
                        Some(msg) if msg.cid == cid => msg.position,
                        _ => return Err((404, ErrorCode::NotFound)),
                    },
                    None => self
                        .arrivals
                        .get(&cid)
                        .map_or(0, |a| a.len().saturating_sub(1)),
                };
                let marker = self.read_position.entry(cid).or_default();
                *marker = (*marker).max(position);
                Ok((200, json!({})))
            }
            (method, ["messages", id, rest @ ..]) => {
                let id: Uuid = id.parse().unwrap();
                let Some(msg) = self.messages.get_mut(&id) else {
                    return Err((404, ErrorCode::NotFound));
                };
                match (method, rest) {
                    (Method::Patch, []) => {
                        if msg.deleted {
                            return Err((400, ErrorCode::ValidationFailed));
                        }
                        let edit: UpdateMessageRequest = serde_json::from_value(body).unwrap();
                        if let Some(text) = edit.text {
                            msg.text.clone_from(&text);
                            msg.history.push(text);
                        }
                    }
                    (Method::Delete, []) => {
                        msg.deleted = true;
                        msg.text.clear();
                        self.reactions.retain(|(m, _)| *m != id);
                    }
                    (Method::Post, ["reactions"]) => {
                        if msg.deleted {
                            return Err((400, ErrorCode::ValidationFailed));
                        }
                        let kind = body["type"].as_str().unwrap().to_owned();
                        self.reactions.insert((id, kind));
                    }
                    (Method::Delete, ["reactions", kind]) => {
                        if !self.reactions.remove(&(id, (*kind).to_owned())) {
                            return Err((404, ErrorCode::NotFound));
                        }
                    }
                    _ => return Err((405, ErrorCode::MethodNotAllowed)),
                }
                Ok((200, json!({})))
            }
            _ => Err((404, ErrorCode::NotFound)),
        }
    }

    pub(crate) fn send(&mut self, cid: Cid, send: SendMessageRequest) -> Answer {
        if !self.channels.contains(&cid) {
            return Err((404, ErrorCode::NotFound));
        }
        if let Some(existing) = self.messages.get(&send.id) {
            *self.stats.entry("send replayed").or_default() += 1;
            return if existing.cid == cid {
                Ok((200, json!({})))
            } else {
                Err((409, ErrorCode::Conflict))
            };
        }
        if send.text.starts_with("INVALID") {
            return Err((400, ErrorCode::ValidationFailed));
        }
        if let Some(q) = send.quoted_message_id
            && self.messages.get(&q).is_none_or(|m| m.cid != cid)
        {
            return Err((400, ErrorCode::ValidationFailed));
        }
        let arrivals = self.arrivals.entry(cid.clone()).or_default();
        arrivals.push(send.id);
        let message = ServerMessage {
            cid,
            text: send.text.clone(),
            deleted: false,
            history: vec![send.text],
            position: arrivals.len() - 1,
        };
        self.messages.insert(send.id, message);
        *self.created.entry(send.id).or_default() += 1;
        Ok((201, json!({})))
    }
}

pub(crate) fn error(status: u16, code: ErrorCode, retry_after_secs: Option<u64>) -> ApiOutcome {
    let mut body = ErrorBody::new(code, "simulated");
    body.retry_after_secs = retry_after_secs;
    ApiOutcome::HttpError {
        status,
        body: Some(body),
        retry_after: retry_after_secs.map(Duration::from_secs),
    }
}
