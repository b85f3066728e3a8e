//! The storage conformance suite: behaviour every [`Store`] backend must have. A backend's
//! test file provides a factory and expands [`conformance_suite!`]; the SQLite backend
//! does so in `store_conformance.rs`, the PostgreSQL backend will do the same.

mod channels;
pub use channels::{distinct_channels, explicit_ids_replay_only_for_their_creator};
pub mod app_settings;
pub mod member_state;
pub mod search;
pub mod send_batch;
pub mod unread;

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use chat_protocol::realtime::RealtimeEvent;
use chat_protocol::{
    AppCredentials, Change, ChannelType, Cid, CreateChannelRequest, ListMessagesQuery, MemberInput,
    SendMessageRequest, UserInput,
};
use chat_server::realtime::{Broadcaster, HubEvent, InProcessHub, Subscription};
use chat_server::store::{Actor, NewChannel, Store, StoreError, SyncPosition};
use uuid::Uuid;

/// A store plus whatever keeps it alive (temp dir, database).
pub type Opened = (Arc<dyn Store>, Box<dyn Any + Send>);
/// Opens a fresh, empty backend publishing to the given broadcaster.
pub type Factory = fn(Arc<dyn Broadcaster>) -> Pin<Box<dyn Future<Output = Opened> + Send>>;

/// Expands the whole suite as `#[tokio::test]`s for a backend factory.
#[macro_export]
macro_rules! conformance_suite {
    ($factory:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn publications_leave_in_commit_order_under_concurrency() {
            $crate::conformance::publications_leave_in_commit_order($factory).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn subscribe_misses_nothing_after_its_seq() {
            $crate::conformance::subscribe_misses_nothing_after_its_seq($factory).await;
        }
        #[tokio::test]
        async fn idempotent_send_and_conflicts() {
            $crate::conformance::idempotent_send_and_conflicts($factory).await;
        }
        #[tokio::test]
        async fn apps_are_isolated() {
            $crate::conformance::apps_are_isolated($factory).await;
        }
        #[tokio::test]
        async fn sync_diff_has_every_change_once() {
            $crate::conformance::sync_diff_has_every_change_once($factory).await;
        }
        #[tokio::test]
        async fn a_removed_member_hears_only_its_removal() {
            $crate::conformance::a_removed_member_hears_only_its_removal($factory).await;
        }
        #[tokio::test]
        async fn compaction_expires_old_cursors() {
            $crate::conformance::compaction_expires_old_cursors($factory).await;
        }
        #[tokio::test]
        async fn distinct_channels() {
            $crate::conformance::distinct_channels($factory).await;
        }
        #[tokio::test]
        async fn explicit_ids_replay_only_for_their_creator() {
            $crate::conformance::explicit_ids_replay_only_for_their_creator($factory).await;
        }
        #[tokio::test]
        async fn batch_send_applies_in_order_and_refuses_per_message() {
            $crate::conformance::send_batch::batch_send_applies_in_order_and_refuses_per_message(
                $factory,
            )
            .await;
        }
        #[tokio::test]
        async fn unread_counts_follow_the_marker_and_the_membership() {
            $crate::conformance::unread::unread_counts_follow_the_marker_and_the_membership(
                $factory,
            )
            .await;
        }
        #[tokio::test]
        async fn member_state_is_private_synced_and_cleared_by_messages() {
            $crate::conformance::member_state::member_state_is_private_synced_and_cleared_by_messages(
                $factory,
            )
            .await;
        }
        #[tokio::test]
        async fn a_deleted_channel_disappears_for_every_member() {
            $crate::conformance::member_state::a_deleted_channel_disappears_for_every_member(
                $factory,
            )
            .await;
        }
        #[tokio::test]
        async fn search_finds_the_callers_live_messages_newest_first() {
            $crate::conformance::search::search_finds_the_callers_live_messages_newest_first(
                $factory,
            )
            .await;
        }
        #[tokio::test]
        async fn search_pages_with_its_cursor() {
            $crate::conformance::search::search_pages_with_its_cursor($factory).await;
        }
        #[tokio::test]
        async fn app_settings_round_trip() {
            $crate::conformance::app_settings::app_settings_round_trip($factory).await;
        }
    };
}

/// A broadcaster that records every publication (and forwards to an in-process hub).
#[derive(Default)]
pub struct Recorder {
    hub: InProcessHub,
    pub log: Mutex<Vec<(Vec<String>, String)>>,
}

impl Broadcaster for Recorder {
    fn publish(&self, app: &str, recipients: &[String], event: HubEvent) {
        self.log
            .lock()
            .unwrap()
            .push((recipients.to_vec(), event.data.to_string()));
        self.hub.publish(app, recipients, event);
    }
    fn subscribe(&self, app: &str, user: &str) -> Subscription {
        self.hub.subscribe(app, user)
    }
    fn connections(&self, app: &str, user: &str) -> usize {
        self.hub.connections(app, user)
    }
    fn announce_presence(&self, app: &str, user: &str, peers: &[String]) {
        self.hub.announce_presence(app, user, peers);
    }

    fn online_among(&self, app: &str, users: &[String]) -> Vec<String> {
        self.hub.online_among(app, users)
    }
}

impl Recorder {
    /// Seqs of recorded changes, in publish order.
    pub fn seqs(&self) -> Vec<u64> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter_map(
                |(_, d)| match serde_json::from_str::<RealtimeEvent>(d).ok()? {
                    RealtimeEvent::Change(c) => Some(c.seq),
                    RealtimeEvent::Ephemeral(_) => None,
                },
            )
            .collect()
    }
}

async fn open(factory: Factory) -> (Arc<dyn Store>, Arc<Recorder>, Box<dyn Any + Send>) {
    let rec = Arc::new(Recorder::default());
    let (store, guard) = factory(rec.clone()).await;
    (store, rec, guard)
}

pub(crate) async fn app_with_users(
    store: &dyn Store,
    name: &str,
    users: &[&str],
) -> AppCredentials {
    let app = store.create_app(name).await.unwrap();
    let inputs = users
        .iter()
        .map(|u| UserInput {
            id: (*u).into(),
            name: None,
            image: None,
            custom: Default::default(),
        })
        .collect();
    store.upsert_users(&app.app_id, inputs).await.unwrap();
    app
}

pub(crate) async fn channel(
    store: &dyn Store,
    app: &str,
    creator: &str,
    id: &str,
    members: &[&str],
) -> Cid {
    let cid = Cid::new(ChannelType::Team, id).unwrap();
    let req = CreateChannelRequest {
        kind: ChannelType::Team,
        id: Some(id.into()),
        name: None,
        image: None,
        members: members.iter().map(|m| (*m).to_owned()).collect(),
        config: None,
        created_by: None,
        distinct: false,
    };
    store
        .create_channel(
            app,
            creator,
            NewChannel {
                cid: cid.clone(),
                req,
            },
        )
        .await
        .unwrap();
    cid
}

pub(crate) fn msg(text: &str) -> SendMessageRequest {
    SendMessageRequest {
        id: Uuid::now_v7(),
        text: text.into(),
        attachments: vec![],
        parent_id: None,
        quoted_message_id: None,
        mentioned_users: vec![],
        user_id: None,
    }
}

/// Concurrent writers: publications leave in strictly increasing seq order, and the seqs
/// of a full sync are exactly the published ones.
pub async fn publications_leave_in_commit_order(factory: Factory) {
    let (store, rec, _g) = open(factory).await;
    let app = app_with_users(store.as_ref(), "a", &["u0", "u1", "u2", "u3"]).await;
    let cid = channel(store.as_ref(), &app.app_id, "u0", "c", &["u1", "u2", "u3"]).await;
    let start = SyncPosition::decode(&store.sync(&app.app_id, "u1", None, 1).await.unwrap().cursor)
        .unwrap();
    let mut tasks = Vec::new();
    for w in 0..4 {
        let (store, app, cid) = (store.clone(), app.app_id.clone(), cid.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let user = format!("u{w}");
                store
                    .send_message(&app, &user, &cid, msg(&format!("{w}-{i}")), false)
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let seqs = rec.seqs();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "publish order = seq order"
    );
    let resp = store
        .sync(&app.app_id, "u1", Some(start), 1000)
        .await
        .unwrap();
    let message_revs: Vec<u64> = resp
        .changes
        .iter()
        .filter(|c| matches!(c.change, Change::Message(_)))
        .map(|c| c.seq)
        .collect();
    assert_eq!(message_revs.len(), 100);
    assert!(message_revs.iter().all(|s| seqs.contains(s)));
}

/// A subscription registered while writes race receives every change after its seq, in
/// order. (It may also receive changes at or before it, which the session drops: see
/// `Store::subscribe` and `realtime::changes_covered_by_the_connect_seq_are_not_pushed`.)
pub async fn subscribe_misses_nothing_after_its_seq(factory: Factory) {
    let (store, _rec, _g) = open(factory).await;
    let app = app_with_users(store.as_ref(), "a", &["u0", "u1"]).await;
    let cid = channel(store.as_ref(), &app.app_id, "u0", "c", &["u1"]).await;
    let writer = {
        let (store, app, cid) = (store.clone(), app.app_id.clone(), cid.clone());
        tokio::spawn(async move {
            for i in 0..60 {
                store
                    .send_message(&app, "u0", &cid, msg(&i.to_string()), false)
                    .await
                    .unwrap();
            }
        })
    };
    tokio::task::yield_now().await;
    let (mut sub, info) = store.subscribe(&app.app_id, "u1").await.unwrap();
    writer.await.unwrap();
    let mut pushed = Vec::new();
    while let Ok(event) = sub.events.try_recv() {
        let decoded = serde_json::from_str::<RealtimeEvent>(&event.data).unwrap();
        assert_eq!(event.durable, matches!(decoded, RealtimeEvent::Change(_)));
        if let RealtimeEvent::Change(c) = decoded {
            pushed.push(c.seq);
        }
    }
    let from = SyncPosition::at(info.epoch.clone(), info.seq);
    let diff = store
        .sync(&app.app_id, "u1", Some(from), 1000)
        .await
        .unwrap();
    let expected: Vec<u64> = diff.changes.iter().map(|c| c.seq).collect();
    // the sync diff compacts rows to their latest state; every compacted seq was pushed
    // Every change after the connect seq is a send's (to u1), so the pushes after it are
    // exactly the seqs up to the app's last one.
    let (_, end) = store.subscribe(&app.app_id, "u1").await.unwrap();
    let pushed: Vec<u64> = pushed.into_iter().filter(|s| *s > info.seq).collect();
    let want: Vec<u64> = (info.seq + 1..=end.seq).collect();
    assert_eq!(
        pushed, want,
        "every change after the connect seq, once, in order"
    );
    assert!(
        expected.iter().all(|s| pushed.contains(s)),
        "pushed {pushed:?} ⊇ sync {expected:?}"
    );
    assert!(pushed.windows(2).all(|w| w[0] < w[1]));
}

/// Same id + same author + same channel returns the stored message; otherwise a conflict.
pub async fn idempotent_send_and_conflicts(factory: Factory) {
    let (store, _rec, _g) = open(factory).await;
    let app = app_with_users(store.as_ref(), "a", &["u0", "u1"]).await;
    let cid = channel(store.as_ref(), &app.app_id, "u0", "c", &["u1"]).await;
    let other = channel(store.as_ref(), &app.app_id, "u0", "d", &["u1"]).await;
    let m = msg("once");
    let (first, created) = store
        .send_message(&app.app_id, "u0", &cid, m.clone(), false)
        .await
        .unwrap();
    assert!(created);
    let (again, created) = store
        .send_message(&app.app_id, "u0", &cid, m.clone(), false)
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(first, again);
    assert!(matches!(
        store
            .send_message(&app.app_id, "u1", &cid, m.clone(), false)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .send_message(&app.app_id, "u0", &other, m, false)
            .await,
        Err(StoreError::Conflict(_))
    ));
    let page = store
        .list_messages(
            &app.app_id,
            &Actor::user("u1"),
            &cid,
            ListMessagesQuery::default(),
        )
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 1);
}

/// Nothing of one app is visible through another.
pub async fn apps_are_isolated(factory: Factory) {
    let (store, _rec, _g) = open(factory).await;
    let a = app_with_users(store.as_ref(), "a", &["u0", "u1"]).await;
    let b = app_with_users(store.as_ref(), "b", &["u0", "u1"]).await;
    assert!(matches!(
        store.create_app("a").await,
        Err(StoreError::Conflict(_))
    ));
    let cid = channel(store.as_ref(), &a.app_id, "u0", "c", &["u1"]).await;
    let (m, _) = store
        .send_message(&a.app_id, "u0", &cid, msg("a"), false)
        .await
        .unwrap();
    let actor = Actor::server(None);
    assert!(matches!(
        store.channel_state(&b.app_id, &actor, &cid, 10).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.get_message(&b.app_id, &actor, m.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.member_ids(&b.app_id, &cid).await.unwrap().is_empty());
    let boot = store.sync(&b.app_id, "u1", None, 100).await.unwrap();
    assert!(boot.limited.is_empty() && boot.changes.is_empty());
    assert_eq!(
        store
            .unread(&b.app_id, "u1")
            .await
            .unwrap()
            .total_unread_count,
        0
    );
    assert_eq!(
        store
            .unread(&a.app_id, "u1")
            .await
            .unwrap()
            .total_unread_count,
        1
    );
    assert_eq!(
        store.app_by_key(&a.api_key).await.unwrap().unwrap().id,
        a.app_id
    );
    assert!(store.app_by_key("nope").await.unwrap().is_none());
    let epoch_a =
        SyncPosition::decode(&store.sync(&a.app_id, "u1", None, 1).await.unwrap().cursor).unwrap();
    assert!(matches!(
        store.sync(&b.app_id, "u1", Some(epoch_a), 10).await,
        Err(StoreError::CursorExpired(_))
    ));
}

/// Every kind of change shows up once, in seq order, with rev = seq.
pub async fn sync_diff_has_every_change_once(factory: Factory) {
    let (store, _rec, _g) = open(factory).await;
    let app = app_with_users(store.as_ref(), "a", &["u0", "u1", "u2"]).await;
    let a = &app.app_id;
    let cid = channel(store.as_ref(), a, "u0", "c", &["u1"]).await;
    let start = SyncPosition::decode(&store.sync(a, "u1", None, 10).await.unwrap().cursor).unwrap();
    let (m, _) = store
        .send_message(a, "u0", &cid, msg("hi"), false)
        .await
        .unwrap();
    store.add_reaction(a, "u1", m.id, "like").await.unwrap();
    store.mark_read(a, "u1", &cid, None).await.unwrap();
    let owner = Actor::user("u0");
    store
        .add_members(
            a,
            &owner,
            &cid,
            vec![MemberInput {
                user_id: "u2".into(),
                role: None,
            }],
        )
        .await
        .unwrap();
    store.delete_message(a, &owner, m.id).await.unwrap();
    store.set_starred(a, "u1", m.id, true).await.unwrap();
    store.set_starred(a, "u0", m.id, true).await.unwrap();
    let mute = chat_protocol::UpdateMemberStateRequest {
        muted: Some(true),
        ..Default::default()
    };
    store
        .set_member_state(a, "u1", &cid, mute.clone())
        .await
        .unwrap();
    store.set_member_state(a, "u0", &cid, mute).await.unwrap();
    let diff = store.sync(a, "u1", Some(start), 1000).await.unwrap();
    let kinds: Vec<&str> = diff
        .changes
        .iter()
        .map(|c| match c.change {
            Change::Channel(_) => "channel",
            Change::Member(_) => "member",
            Change::Message(_) => "message",
            Change::Reaction(_) => "reaction",
            Change::Read(_) => "read",
            Change::Flags(_) => "flags",
            Change::MemberState(_) => "member_state",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "read",
            "member",
            "channel",
            "reaction",
            "message",
            "flags",
            "member_state"
        ]
    );
    assert!(diff.changes.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(diff.changes.iter().all(|c| c.seq == c.change.rev()));
    match &diff.changes[3].change {
        Change::Reaction(r) => assert!(r.deleted, "deleting the message removed its reaction"),
        other => panic!("{other:?}"),
    }
}

/// After compaction, cursors older than the horizon get CursorExpired.
pub async fn compaction_expires_old_cursors(factory: Factory) {
    let (store, _rec, _g) = open(factory).await;
    let app = app_with_users(store.as_ref(), "a", &["u0", "u1"]).await;
    let a = &app.app_id;
    let cid = channel(store.as_ref(), a, "u0", "c", &["u1"]).await;
    let old = SyncPosition::decode(&store.sync(a, "u1", None, 10).await.unwrap().cursor).unwrap();
    let (m, _) = store
        .send_message(a, "u0", &cid, msg("x"), false)
        .await
        .unwrap();
    store.add_reaction(a, "u1", m.id, "like").await.unwrap();
    store.remove_reaction(a, "u1", m.id, "like").await.unwrap();
    let now = SyncPosition::decode(
        &store
            .sync(a, "u1", Some(old.clone()), 10)
            .await
            .unwrap()
            .cursor,
    )
    .unwrap();
    store.compact(a, now.seq).await.unwrap();
    assert!(matches!(
        store.sync(a, "u1", Some(old), 10).await,
        Err(StoreError::CursorExpired(_))
    ));
    assert!(store.sync(a, "u1", Some(now), 10).await.is_ok());
    assert!(
        store
            .list_reactions(a, &Actor::user("u1"), m.id)
            .await
            .unwrap()
            .is_empty()
    );
}

/// After removal, the removed user receives its membership tombstone and nothing more of
/// the channel, live or through sync.
pub async fn a_removed_member_hears_only_its_removal(factory: Factory) {
    let (store, rec, _g) = open(factory).await;
    let app = app_with_users(store.as_ref(), "a", &["u0", "u1"]).await;
    let a = &app.app_id;
    let cid = channel(store.as_ref(), a, "u0", "c", &["u1"]).await;
    let before =
        SyncPosition::decode(&store.sync(a, "u1", None, 10).await.unwrap().cursor).unwrap();
    rec.log.lock().unwrap().clear();
    store
        .remove_member(a, &Actor::user("u0"), &cid, "u1")
        .await
        .unwrap();
    store
        .send_message(a, "u0", &cid, msg("after"), false)
        .await
        .unwrap();
    let to_u1: Vec<RealtimeEvent> = rec
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|(to, _)| to.iter().any(|u| u == "u1"))
        .map(|(_, d)| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(to_u1.len(), 1, "{to_u1:?}");
    assert!(
        matches!(&to_u1[0], RealtimeEvent::Change(c) if matches!(&c.change, Change::Member(m) if m.deleted))
    );
    let diff = store.sync(a, "u1", Some(before), 100).await.unwrap();
    assert_eq!(diff.changes.len(), 1);
    assert!(matches!(&diff.changes[0].change, Change::Member(m) if m.deleted && m.user_id == "u1"));
}
