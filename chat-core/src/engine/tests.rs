//! The engine driven directly, without a driver task or a network: inputs are fed in
//! (tokens, HTTP replies), and the `Io` it asks for is inspected. For rules whose inputs
//! must arrive in an order the real network produces only by chance.

use chat_protocol::{ChannelUnread, SyncResponse, UnreadResponse};
use serde::Serialize;

use super::{Engine, Io, IoTag};
use crate::cache::Cache;
use crate::cache::test_support::{channel, member, state};
use crate::client::message::NewMessage;
use crate::clock::Millis;
use crate::net::HttpReply;
use crate::outbox::OutboxConfig;
use crate::sync::{SyncConfig, SyncDriver};

const NOW: Millis = Millis(1_000);

fn engine() -> Engine {
    let mut cache = Cache::open_in_memory().unwrap();
    cache.set_user("bob").unwrap();
    let sync = SyncDriver::new(SyncConfig::default(), 7);
    let mut engine = Engine::new(cache, OutboxConfig::default(), sync, 7).unwrap();
    engine.on_token(Ok("token".into()), NOW);
    engine
}

fn ok(body: &impl Serialize) -> Result<HttpReply, crate::net::NetworkError> {
    Ok(HttpReply {
        status: 200,
        body: serde_json::to_vec(body).unwrap(),
        retry_after: None,
    })
}

/// The tags of the HTTP requests the engine asks for now.
fn requests(engine: &mut Engine) -> Vec<IoTag> {
    engine.pump(NOW);
    engine
        .take_io()
        .into_iter()
        .filter_map(|io| match io {
            Io::Http { tag, .. } => Some(tag),
            _ => None,
        })
        .collect()
}

/// Runs the start-up sync to its end: one page holding `team:a` (no messages, nothing
/// unread); returns with the `GET /v1/unread` asked and not answered.
fn synced(engine: &mut Engine) {
    assert_eq!(requests(engine), [IoTag::Sync]);
    let page = SyncResponse {
        changes: vec![],
        limited: vec![state(
            channel("team:a", 1, None),
            vec![member("team:a", "bob", 1, false)],
            vec![],
            false,
        )],
        limited_seq: Some(1),
        cursor: "c1".into(),
        has_more: false,
    };
    engine.on_http(IoTag::Sync, ok(&page), NOW);
    assert_eq!(requests(engine), [IoTag::Unread]);
}

fn unread_reply(count: u32) -> UnreadResponse {
    UnreadResponse {
        total_unread_count: u64::from(count),
        total_unread_mentions: 0,
        channels: vec![ChannelUnread {
            cid: "team:a".parse().unwrap(),
            unread_count: count,
            unread_mentions: 0,
            counted_through: None,
        }],
    }
}

fn cached_unread(engine: &Engine) -> u32 {
    engine
        .cache
        .unread(&"team:a".parse().unwrap())
        .unwrap()
        .unwrap()
        .unread_count
}

#[test]
fn exact_unread_counts_are_stored_when_nothing_newer_is_coming() {
    let mut e = engine();
    synced(&mut e);
    e.on_http(IoTag::Unread, ok(&unread_reply(3)), NOW);
    assert_eq!(cached_unread(&e), 3);
}

/// The counts answer after a newer sync was asked for (here: by the app; realtime asks
/// when it was added to a channel): they may count a message the cache has not received
/// yet, which would show "1 unread" with no message. They are dropped; the next sync asks
/// again.
#[test]
fn unread_counts_are_not_stored_while_a_newer_sync_is_coming() {
    let mut e = engine();
    synced(&mut e);
    e.request_sync(None);
    e.on_http(IoTag::Unread, ok(&unread_reply(1)), NOW);
    assert_eq!(
        cached_unread(&e),
        0,
        "the counts wait for the data they count"
    );
    // The newer sync runs, and its own counts are taken.
    assert_eq!(requests(&mut e), [IoTag::Sync]);
    let page = SyncResponse {
        changes: vec![],
        limited: vec![],
        limited_seq: None,
        cursor: "c2".into(),
        has_more: false,
    };
    e.on_http(IoTag::Sync, ok(&page), NOW);
    assert_eq!(requests(&mut e), [IoTag::Unread]);
    e.on_http(IoTag::Unread, ok(&unread_reply(1)), NOW);
    assert_eq!(cached_unread(&e), 1);
}

/// A read marker set while the counts were on their way wins over them.
#[test]
fn unread_counts_asked_before_a_read_marker_are_not_stored() {
    let mut e = engine();
    synced(&mut e);
    e.read_epoch += 1; // what a local mark-read or an applied push does
    e.on_http(IoTag::Unread, ok(&unread_reply(2)), NOW);
    assert_eq!(cached_unread(&e), 0);
}

#[test]
fn a_send_that_leaves_at_once_is_recorded_in_flight_with_its_echo_in_one_write() {
    let mut e = engine();
    synced(&mut e);
    let cid: chat_protocol::Cid = "team:a".parse().unwrap();
    let rows = |e: &Engine| e.cache.outbox_load().unwrap();
    let item = |row: &crate::cache::OutboxRow| -> crate::outbox::PersistedItem {
        serde_json::from_str(&row.payload).unwrap()
    };
    let first = e
        .send_message(cid.clone(), NewMessage::text("now"), NOW)
        .unwrap();
    let written = rows(&e);
    assert!(item(&written[0]).maybe_applied, "it leaves at once");
    let writes = e.cache.rows_written();
    let sent = requests(&mut e);
    assert_eq!(sent, [IoTag::Outbox(crate::outbox::OpId(first))]);
    assert_eq!(
        e.cache.rows_written(),
        writes,
        "no second write before the request"
    );
    assert_eq!(rows(&e)[0].payload, written[0].payload);
    // The next one waits behind it: queued as not sent, recorded when it goes.
    e.send_message(cid, NewMessage::text("behind it"), NOW)
        .unwrap();
    assert!(!item(&rows(&e)[1]).maybe_applied);
    assert!(requests(&mut e).is_empty(), "one request per channel");
}

/// A window that opens on a quote-reply whose quoted message the cache lacks asks for it in
/// the same step, once; a `404` makes the preview `Unavailable` and is not asked again.
#[test]
fn a_missing_quoted_message_is_asked_for_once_and_a_404_makes_it_unavailable() {
    use crate::cache::test_support::{id, message};
    use crate::live::QuotedPreview;
    use crate::live::registry::Window;

    let mut e = engine();
    assert_eq!(requests(&mut e), [IoTag::Sync]);
    let mut reply = message("team:a", 2, "alice", 20, 2);
    reply.quoted_message_id = Some(id(1));
    let page = SyncResponse {
        changes: vec![],
        limited: vec![state(
            channel("team:a", 1, Some(20)),
            vec![member("team:a", "bob", 1, false)],
            vec![reply],
            true,
        )],
        limited_seq: Some(2),
        cursor: "c1".into(),
        has_more: false,
    };
    e.on_http(IoTag::Sync, ok(&page), NOW);
    assert_eq!(requests(&mut e), [IoTag::Unread]);

    let window = Window {
        limit: 20,
        page: 20,
        max: 200,
        end: None,
    };
    let mut list = e.watch_messages("team:a".parse().unwrap(), window).unwrap();
    list.drain();
    assert_eq!(
        list.items()[0].quoted,
        Some(QuotedPreview::Loading { id: id(1) })
    );
    let asked = requests(&mut e);
    let [IoTag::Query(query)] = asked[..] else {
        panic!("one query: {asked:?}");
    };
    let not_found = HttpReply {
        status: 404,
        body: br#"{"code":"not_found","message":"no such message"}"#.to_vec(),
        retry_after: None,
    };
    e.on_http(IoTag::Query(query), Ok(not_found), NOW);
    assert!(requests(&mut e).is_empty(), "not asked again");
    list.drain();
    assert_eq!(
        list.items()[0].quoted,
        Some(QuotedPreview::Unavailable { id: id(1) })
    );
}
