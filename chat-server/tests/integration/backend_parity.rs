//! The two backends side by side: one script of writes and syncs (bootstrap paging, a
//! limited phase with a busy channel and one joined mid-sync, replies, mentions,
//! reactions, stars, read markers, a rename, a removal, a deletion, compaction, cursors
//! too old and ahead) runs on a fresh SQLite store and on a fresh PostgreSQL schema with
//! small sync settings and page limits, and every sync page must read the same (times and
//! epochs aside). The conformance suite checks each backend against the contract; this
//! checks them against each other where the contract leaves room (page cuts, orders, which
//! channels go limited).

use std::sync::Arc;

use chat_protocol::{
    Change, ChannelType, Cid, CreateChannelRequest, MemberInput, SendMessageRequest, SyncResponse,
    UpdateChannelRequest, UserInput,
};
use chat_server::realtime::{Broadcaster, InProcessHub};
use chat_server::store::postgres::PgStore;
use chat_server::store::sqlite::SqliteStore;
use chat_server::store::{Actor, NewChannel, Store, SyncPosition, SyncSettings};
use uuid::Uuid;

const SETTINGS: SyncSettings = SyncSettings {
    limited_threshold: 3,
    window: 2,
    bootstrap_channels: 2,
};

async fn pg() -> Arc<dyn Store> {
    let config = crate::postgres::fresh_schema().await;
    let hub: Arc<dyn Broadcaster> = Arc::new(InProcessHub::new());
    Arc::new(PgStore::open(config, 4, hub, SETTINGS).await.unwrap())
}

fn summarize(r: &SyncResponse, epoch: &str) -> String {
    let mut s = String::new();
    for l in &r.limited {
        s += &format!(
            "  L {} rev={} members={:?} msgs={:?} more={} own={:?} star={:?} reads={:?}\n",
            l.channel.cid,
            l.channel.rev,
            l.members
                .iter()
                .map(|m| (&m.user_id, m.rev))
                .collect::<Vec<_>>(),
            l.messages
                .iter()
                .map(|m| (m.text.clone(), m.rev))
                .collect::<Vec<_>>(),
            l.has_more,
            l.own_reactions
                .iter()
                .map(|r| (&r.kind, r.rev))
                .collect::<Vec<_>>(),
            l.starred.len(),
            l.reads
                .iter()
                .map(|r| (&r.user_id, r.rev))
                .collect::<Vec<_>>(),
        );
    }
    for c in &r.changes {
        let d = match &c.change {
            Change::Channel(x) => format!("ch {} {:?} {}", x.cid, x.name, x.rev),
            Change::Member(x) => format!("mem {} {} del={} {}", x.cid, x.user_id, x.deleted, x.rev),
            Change::Message(x) => format!(
                "msg {} {} del={} rc={} {:?} {}",
                x.cid,
                x.text,
                x.deleted_at.is_some(),
                x.reply_count,
                x.reaction_counts,
                x.rev
            ),
            Change::Reaction(x) => {
                format!(
                    "re {} {} {} del={} {}",
                    x.cid, x.user_id, x.kind, x.deleted, x.rev
                )
            }
            Change::Read(x) => format!(
                "rd {} {} {:?} {}",
                x.cid,
                x.user_id,
                x.last_read_message_id.is_some(),
                x.rev
            ),
            Change::Flags(x) => format!("fl {} {} {} {}", x.cid, x.user_id, x.starred, x.rev),
            Change::MemberState(x) => format!(
                "ms {} {} {} {} {} {}",
                x.cid, x.user_id, x.hidden, x.muted, x.archived, x.rev
            ),
        };
        s += &format!("  C {} {}\n", c.seq, d);
    }
    s += &format!(
        "  cursor={} limited_seq={:?} has_more={}\n",
        r.cursor.replace(epoch, "E"),
        r.limited_seq,
        r.has_more
    );
    s
}

async fn sync_all(
    store: &dyn Store,
    app: &str,
    user: &str,
    from: Option<SyncPosition>,
    limit: u32,
    (epoch, log): (&str, &mut String),
    mut between: impl FnMut(usize) -> Option<(String, String)>,
) -> SyncPosition {
    let mut from = from;
    let mut i = 0;
    loop {
        let r = store.sync(app, user, from.clone(), limit).await.unwrap();
        *log += &format!(
            " page {i} ({user}, limit {limit}):\n{}",
            summarize(&r, epoch)
        );
        from = Some(SyncPosition::decode(&r.cursor).unwrap());
        if let Some((u, c)) = between(i) {
            add(store, app, &c, &u).await;
        }
        i += 1;
        if !r.has_more {
            return from.unwrap();
        }
        assert!(i < 200);
    }
}

struct Ids(Vec<Uuid>);

async fn add(store: &dyn Store, app: &str, c: &str, u: &str) {
    store
        .add_members(
            app,
            &Actor::server(None),
            &cid(c),
            vec![MemberInput {
                user_id: u.into(),
                role: None,
            }],
        )
        .await
        .unwrap();
}

fn cid(id: &str) -> Cid {
    Cid::new(ChannelType::Team, id).unwrap()
}

fn msg(id: Uuid, text: &str, parent: Option<Uuid>, mentions: &[&str]) -> SendMessageRequest {
    SendMessageRequest {
        id,
        text: text.into(),
        attachments: vec![],
        parent_id: parent,
        quoted_message_id: None,
        mentioned_users: mentions.iter().map(|s| s.to_string()).collect(),
        user_id: None,
    }
}

async fn script(store: Arc<dyn Store>, ids: &Ids) -> String {
    let s = store.as_ref();
    let mut log = String::new();
    let app = s.create_app("a").await.unwrap();
    let a = &app.app_id;
    let users: Vec<UserInput> = ["u0", "u1", "u2", "u3"]
        .iter()
        .map(|u| UserInput {
            id: (*u).into(),
            name: None,
            image: None,
            custom: Default::default(),
        })
        .collect();
    s.upsert_users(a, users).await.unwrap();
    let chans = ["a1", "A1", "a-1", "a_1", "ab", "Z", "z9", "zz"];
    for (i, id) in chans.iter().enumerate() {
        let members: Vec<String> = if i < 6 {
            vec!["u1".into(), "u2".into()]
        } else {
            vec!["u2".into()]
        };
        s.create_channel(
            a,
            "u0",
            NewChannel {
                cid: cid(id),
                req: CreateChannelRequest {
                    kind: ChannelType::Team,
                    id: Some((*id).into()),
                    name: None,
                    image: None,
                    members,
                    config: None,
                    created_by: None,
                    distinct: false,
                },
            },
        )
        .await
        .unwrap();
    }
    let mut k = 0;
    let mut next = || {
        k += 1;
        ids.0[k]
    };
    for id in ["a1", "ab"] {
        s.send_message(a, "u0", &cid(id), msg(next(), "pre", None, &[]), false)
            .await
            .unwrap();
    }
    log += "bootstrap u1\n";
    let epoch = SyncPosition::decode(&s.sync(a, "u1", None, 1).await.unwrap().cursor)
        .unwrap()
        .epoch;
    let c0 = sync_all(s, a, "u1", None, 3, (&epoch, &mut log), |_| None).await;
    // writes
    let mut busy = Vec::new();
    for i in 0..5 {
        let id = next();
        busy.push(id);
        s.send_message(
            a,
            "u0",
            &cid("a_1"),
            msg(id, &format!("b{i}"), None, &[]),
            false,
        )
        .await
        .unwrap();
    }
    let root = next();
    s.send_message(a, "u2", &cid("a1"), msg(root, "root", None, &["u1"]), false)
        .await
        .unwrap();
    s.send_message(
        a,
        "u0",
        &cid("a1"),
        msg(next(), "reply", Some(root), &[]),
        false,
    )
    .await
    .unwrap();
    s.add_reaction(a, "u1", root, "like").await.unwrap();
    s.add_reaction(a, "u2", root, "wow").await.unwrap();
    s.remove_reaction(a, "u2", root, "wow").await.unwrap();
    s.set_starred(a, "u1", root, true).await.unwrap();
    s.mark_read(a, "u1", &cid("a1"), None).await.unwrap();
    s.mark_read(a, "u2", &cid("a1"), None).await.unwrap();
    s.update_channel(
        a,
        &Actor::server(None),
        &cid("A1"),
        UpdateChannelRequest {
            name: Some("renamed".into()),
            image: None,
            config: None,
        },
    )
    .await
    .unwrap();
    add(s, a, "z9", "u1").await;
    s.send_message(a, "u0", &cid("z9"), msg(next(), "z", None, &[]), false)
        .await
        .unwrap();
    s.remove_member(a, &Actor::server(None), &cid("a-1"), "u1")
        .await
        .unwrap();
    s.send_message(
        a,
        "u0",
        &cid("a-1"),
        msg(next(), "after-leave", None, &[]),
        false,
    )
    .await
    .unwrap();
    s.delete_message(a, &Actor::server(None), busy[0])
        .await
        .unwrap();
    log += "sync u1 from c0, joining zz mid-sync\n";
    let c1 = sync_all(s, a, "u1", Some(c0.clone()), 3, (&epoch, &mut log), |i| {
        (i == 1).then(|| ("u1".to_string(), "zz".to_string()))
    })
    .await;
    log += "sync u1 from c1\n";
    let c2 = sync_all(s, a, "u1", Some(c1.clone()), 2, (&epoch, &mut log), |_| {
        None
    })
    .await;
    log += "sync u2 from scratch, limit 4\n";
    sync_all(s, a, "u2", None, 4, (&epoch, &mut log), |_| None).await;
    s.set_starred(a, "u1", root, false).await.unwrap();
    log += "sync u1 from c2\n";
    let c3 = sync_all(
        s,
        a,
        "u1",
        Some(c2.clone()),
        100,
        (&epoch, &mut log),
        |_| None,
    )
    .await;
    s.compact(a, c3.seq).await.unwrap();
    log += &format!(
        "old cursor after compact: {:?}\n",
        s.sync(a, "u1", Some(c0), 10)
            .await
            .map(|_| ())
            .map_err(|e| format!("{e:?}").split('(').next().unwrap().to_owned())
    );
    log += "sync u1 from c3 after compact\n";
    sync_all(s, a, "u1", Some(c3), 100, (&epoch, &mut log), |_| None).await;
    let ahead = SyncPosition::at(epoch.clone(), 10_000);
    log += &format!(
        "ahead: {:?}\n",
        s.sync(a, "u1", Some(ahead), 10)
            .await
            .map(|_| ())
            .map_err(|e| format!("{e:?}").split('(').next().unwrap().to_owned())
    );
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_script_syncs_the_same_pages_on_both_backends() {
    let ids = Ids((0..100).map(|_| Uuid::now_v7()).collect());
    let dir = tempfile::tempdir().unwrap();
    let hub: Arc<dyn Broadcaster> = Arc::new(InProcessHub::new());
    let lite: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path(), hub, SETTINGS).unwrap());
    let a = script(lite, &ids).await;
    let b = script(pg().await, &ids).await;
    assert_eq!(
        a, b,
        "SQLite (left) and PostgreSQL (right) answered differently"
    );
}
