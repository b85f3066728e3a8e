//! The end of a simulation run: heal the network, drain every outbox, settle the syncs,
//! then check the server's history and compare every client's cache with the server.

use super::*;

impl Sim {
    /// Heals the network and waits until every outbox is empty, discarding failed items.
    pub(super) async fn drain(&mut self) {
        for p in &self.peers {
            p.net.set_faults(false);
            p.net.set_offline(false);
            p.client().network_available().await.expect("client open");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        for (i, user) in USERS.iter().enumerate() {
            loop {
                let client = self.peers[i].client().clone();
                let status = client.status().await.expect("client open");
                if status.outbox_len == 0 {
                    break;
                }
                let items = client.outbox().await.expect("client open");
                for item in &items {
                    if let ItemState::Failed(failure) = &item.state {
                        self.trace(format_args!(
                            "{user} discards failed {:?}: {failure:?}",
                            item.op
                        ));
                        self.count("failed and discarded");
                        let k = match &item.op {
                            OutboxOp::SendMessage { request, .. } => Some((request.id, 0)),
                            OutboxOp::EditMessage { id, .. } => Some((*id, 1)),
                            OutboxOp::DeleteMessage { id, .. } => Some((*id, 2)),
                            _ => None,
                        };
                        if let Some((id, what)) = k
                            && let Some(&k) = self.by_id.get(&id)
                        {
                            let s = &mut self.sent[k];
                            match what {
                                0 => s.send_discarded = true,
                                1 => s.edit_discarded = true,
                                _ => s.delete_discarded = true,
                            }
                        }
                        eprintln!(
                            "seed {}: {user} discards a failed item: {:?} ({failure:?})",
                            self.seed, item.op
                        );
                        client.discard(item.op_id).await.expect("discard");
                    }
                }
                assert!(
                    Instant::now() < deadline,
                    "{user}'s outbox did not drain in 30 s: {status:?}\n{items:#?}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// Syncs every client, then waits until nothing of it is in flight any more (the
    /// unread refresh that follows a sync included).
    pub(super) async fn settle(&mut self) {
        for p in &self.peers {
            let user = p.user;
            tokio::time::timeout(Duration::from_secs(30), p.client().sync())
                .await
                .unwrap_or_else(|_| panic!("{user}'s final sync did not finish in 30 s"))
                .unwrap_or_else(|e| panic!("{user}'s final sync failed: {e}"));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for p in &self.peers {
            loop {
                let status = p.client().status().await.expect("client open");
                if status.outbox_len == 0 && !status.syncing && p.net.in_flight() == 0 {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{} did not settle: {status:?}, {} requests in flight",
                    p.user,
                    p.net.in_flight()
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }

    /// Every message on the server (top-level and replies of both channels), by id.
    pub(super) async fn server_messages(&self) -> Vec<Message> {
        let carol = self.t.user(&self.app, "carol");
        let mut out = Vec::new();
        for cid in &self.channels {
            let path = format!(
                "/v1/channels/{}/messages?limit=200",
                cid.to_string().replace(':', "/")
            );
            let top: MessagesResponse = carol.fetch(&path).await;
            assert!(!top.has_more_before, "{cid} fits one page");
            for m in &top.messages {
                let replies: MessagesResponse = carol
                    .fetch(&format!("/v1/messages/{}/replies?limit=200", m.id))
                    .await;
                assert!(!replies.has_more_before);
                out.extend(replies.messages);
            }
            out.extend(top.messages);
        }
        out
    }

    /// What the server holds is what the apps did.
    pub(super) async fn check_server(&self) {
        let server = self.server_messages().await;
        let mut ids = BTreeSet::new();
        let mut texts = BTreeSet::new();
        for m in &server {
            assert!(ids.insert(m.id), "message {} listed twice", m.id);
            let sent = self
                .by_id
                .get(&m.id)
                .map(|&k| &self.sent[k])
                .unwrap_or_else(|| panic!("the server holds a message no app sent: {m:?}"));
            if m.deleted_at.is_none() {
                assert!(
                    texts.insert(m.text.clone()),
                    "the text {:?} is on the server twice",
                    m.text
                );
            }
            assert_eq!(m.user_id, USERS[sent.client], "author of {}", m.id);
            assert_eq!(m.cid, sent.cid, "channel of {}", m.id);
            assert_eq!(m.parent_id, sent.parent, "parent of {}", m.id);
        }
        let on_server: BTreeMap<Uuid, &Message> = server.iter().map(|m| (m.id, m)).collect();
        for s in &self.sent {
            let m = on_server.get(&s.id);
            if s.send_discarded {
                assert!(m.is_none(), "a discarded send reached the server: {s:?}");
                continue;
            }
            if s.deleted {
                if !s.delete_discarded {
                    assert!(
                        m.is_none_or(|m| m.deleted_at.is_some()),
                        "a deleted message is live on the server: {s:?} {m:?}"
                    );
                }
                continue;
            }
            let m = m.unwrap_or_else(|| panic!("a queued message never reached the server: {s:?}"));
            assert!(m.deleted_at.is_none(), "deleted by no one: {s:?} {m:?}");
            if !s.edit_discarded {
                assert_eq!(m.text, s.text, "the last edit wins: {s:?}");
            }
        }
    }

    /// Each client's cache file equals the server's views for its user.
    pub(super) async fn check_replicas(&self) {
        let depth: BTreeMap<String, Depth> = self
            .message_ops
            .iter()
            .filter(|(_, n)| **n > LIMITED_THRESHOLD)
            .map(|(cid, _)| (cid.to_string(), Depth::Window))
            .collect();
        for p in &self.peers {
            let cache = Cache::open(&p.path).expect("the cache file opens");
            assert!(
                cache.outbox_load().expect("outbox rows").is_empty(),
                "{}: outbox rows left",
                p.user
            );
            for cid in &self.channels {
                let window = cache.messages_window(cid, 1000, None).expect("window");
                let mut all = window.clone();
                for m in &window {
                    all.extend(cache.thread_replies(&m.message.id).expect("replies"));
                }
                let local: Vec<_> = all.iter().filter(|m| m.local_state.is_some()).collect();
                assert!(
                    local.is_empty(),
                    "{}: local echoes left in {cid}: {local:#?}",
                    p.user
                );
            }
            let api = self.t.user(&self.app, p.user);
            assert_replica(&cache, &api, p.user, &depth).await;
            // Every star the app made (or undid) went through its cache's starred list.
            let server: chat_protocol::StarredResponse = api.fetch("/v1/starred?limit=200").await;
            let want: std::collections::BTreeSet<_> =
                server.messages.iter().map(|m| m.id).collect();
            let listed = cache.starred(200).expect("starred list");
            let got: std::collections::BTreeSet<_> = listed.iter().map(|m| m.message.id).collect();
            assert_eq!(got, want, "{}: the starred list", p.user);
            assert_eq!(got.len(), listed.len(), "{}: starred twice", p.user);
        }
    }
}
