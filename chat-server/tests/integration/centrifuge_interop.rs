//! Interoperability with a Centrifuge client written by others: the official Rust SDK
//! (`centrifuge-client`, library `centrifuge`) in JSON mode against a real chat-server.
//! It connects with a user token, gets the server-side subscription `chat:user:{id}`,
//! receives message changes as publications, answers pings, refreshes an expiring token
//! through its token getter, recovers from `109 token expired` on connect, stops for good
//! on `3500 invalid token`, and reconnects after `3001 shutdown`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use centrifuge::{Client, ClientBuilder, Protocol, ProxyConfig, State};
use chat_protocol::AppCredentials;
use chat_protocol::realtime::{ConnectInfo, RealtimeEvent};
use chat_protocol::sync::Change;
use chat_server::auth::mint_user_token;
use chat_test::{TestServer, expired_token, token};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::time::{Instant, timeout};

/// Longest wait for anything expected.
const WAIT: Duration = Duration::from_secs(5);

/// What the client's handlers saw, in order.
#[derive(Debug, Clone, PartialEq)]
enum Ev {
    Connecting(u32, String),
    Connected {
        client: String,
        data: Option<Vec<u8>>,
    },
    Disconnected(u32, String),
    Subscribed(String),
    Publication(String, Vec<u8>),
    Error(String),
}

/// An official client for `t` (JSON protocol, no proxy, short reconnect delays), with
/// every event forwarded to the returned receiver.
fn client(
    t: &TestServer,
    configure: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> (Client, UnboundedReceiver<Ev>) {
    let (tx, rx) = unbounded_channel();
    let (t1, t2, t3, t4, t5, t6) = (
        tx.clone(),
        tx.clone(),
        tx.clone(),
        tx.clone(),
        tx.clone(),
        tx,
    );
    let builder = Client::builder(t.server.websocket_url())
        .protocol(Protocol::Json)
        .proxy(ProxyConfig::None)
        .name("onyx-interop")
        .min_reconnect_delay(Duration::from_millis(50))
        .max_reconnect_delay(Duration::from_millis(200))
        .on_connecting(move |_, e| {
            let _ = t1.send(Ev::Connecting(e.code, e.reason));
        })
        .on_connected(move |_, e| {
            let _ = t2.send(Ev::Connected {
                client: e.client_id,
                data: e.data.map(|d| d.to_vec()),
            });
        })
        .on_disconnected(move |_, e| {
            let _ = t3.send(Ev::Disconnected(e.code, e.reason));
        })
        .on_subscribed(move |_, e| {
            let _ = t4.send(Ev::Subscribed(e.channel));
        })
        .on_publication(move |_, e| {
            let _ = t5.send(Ev::Publication(e.channel.clone(), e.data.to_vec()));
        })
        .on_error(move |_, e| {
            let _ = t6.send(Ev::Error(format!("{:?}", e.error)));
        });
    let client = configure(builder).build().expect("client builds");
    (client, rx)
}

/// The next event, within `WAIT`.
async fn next(rx: &mut UnboundedReceiver<Ev>) -> Ev {
    timeout(WAIT, rx.recv())
        .await
        .expect("an event in time")
        .expect("event channel open")
}

/// Skips events until one matches; returns it.
async fn until(rx: &mut UnboundedReceiver<Ev>, what: &str, pred: impl Fn(&Ev) -> bool) -> Ev {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) if pred(&ev) => return ev,
            Ok(Some(ev)) => seen.push(ev),
            Ok(None) => panic!("event channel closed waiting for {what}; saw {seen:?}"),
            Err(_) => panic!("no {what} within {WAIT:?}; saw {seen:?}"),
        }
    }
}

/// Whether `ev` is the presence snapshot every connection starts with (a publication
/// like any other to the official client).
fn is_presence_snapshot(ev: &Ev) -> bool {
    matches!(ev, Ev::Publication(_, data)
        if serde_json::from_slice::<serde_json::Value>(data)
            .is_ok_and(|v| v["kind"] == "presence_snapshot"))
}

/// Asserts that no connection-state event (connecting, disconnected) or error happens
/// within `wait`; returns the publications seen meanwhile (the presence snapshot left out).
async fn stays_connected(rx: &mut UnboundedReceiver<Ev>, wait: Duration) -> Vec<Ev> {
    let deadline = Instant::now() + wait;
    let mut seen = Vec::new();
    while let Ok(ev) = tokio::time::timeout_at(deadline, rx.recv()).await {
        match ev {
            Some(ev) if is_presence_snapshot(&ev) => {}
            Some(ev @ Ev::Publication(..)) => seen.push(ev),
            other => panic!("unexpected event while connected: {other:?}"),
        }
    }
    seen
}

async fn close(client: &Client) {
    timeout(WAIT, client.close())
        .await
        .expect("client closes in time");
}

async fn setup(
    adjust: impl FnOnce(&mut chat_server::ServerConfig),
) -> (TestServer, AppCredentials) {
    let t = TestServer::start_with(adjust).await;
    let app = t.app("interop").await;
    t.users(&app, &["alice", "bob"]).await;
    t.user(&app, "alice")
        .channel("team", "general", &["bob"])
        .await;
    (t, app)
}

/// Waits for the connected event and checks its data; returns the client id.
async fn connected_as(rx: &mut UnboundedReceiver<Ev>, user: &str) -> String {
    let ev = until(rx, "connected", |e| matches!(e, Ev::Connected { .. })).await;
    let Ev::Connected { client, data } = ev else {
        unreachable!()
    };
    assert!(!client.is_empty());
    let info: ConnectInfo =
        serde_json::from_slice(&data.expect("connect data")).expect("ConnectInfo JSON");
    assert_eq!(info.user_id, user);
    client
}

/// Sends a message as alice and waits for bob's client to get it as a message change.
async fn message_arrives(t: &TestServer, app: &AppCredentials, rx: &mut UnboundedReceiver<Ev>) {
    let text = format!("hi {}", chat_test::new_id());
    let sent = t.user(app, "alice").send("team:general", &text).await;
    let ev = until(rx, "publication", |e| {
        matches!(e, Ev::Publication(..)) && !is_presence_snapshot(e)
    })
    .await;
    let Ev::Publication(channel, data) = ev else {
        unreachable!()
    };
    assert_eq!(channel, "chat:user:bob");
    let event: RealtimeEvent = serde_json::from_slice(&data).expect("RealtimeEvent JSON");
    let RealtimeEvent::Change(change) = event else {
        panic!("expected a change, got {event:?}")
    };
    let Change::Message(message) = &change.change else {
        panic!("expected the message change first, got {change:?}")
    };
    assert_eq!(message.id.to_string(), sent["id"].as_str().unwrap());
    assert_eq!(message.text, text);
    assert_eq!(message.user_id, "alice");
    assert_eq!(change.seq, message.rev);
    assert_eq!(serde_json::json!(message.rev), sent["rev"]);
    // The channel change (last_message_at) follows.
    let ev = until(rx, "publication", |e| matches!(e, Ev::Publication(..))).await;
    let Ev::Publication(_, data) = ev else {
        unreachable!()
    };
    match serde_json::from_slice::<RealtimeEvent>(&data).expect("RealtimeEvent JSON") {
        RealtimeEvent::Change(c) => {
            assert!(matches!(c.change, Change::Channel(_)), "{c:?}");
            assert!(c.seq > change.seq);
        }
        other => panic!("expected the channel change, got {other:?}"),
    }
}

#[tokio::test]
async fn official_client_connects_subscribes_and_receives_messages() {
    let (t, app) = setup(|_| {}).await;
    let (client, mut rx) = client(&t, |b| b.token(token(&app, "bob", 3600)));
    client.connect().expect("connect");
    timeout(WAIT, client.ready(Some(WAIT)))
        .await
        .expect("ready in time")
        .expect("connected");
    assert_eq!(client.state(), State::Connected);
    assert_eq!(
        next(&mut rx).await,
        Ev::Connecting(0, "connect called".into())
    );
    connected_as(&mut rx, "bob").await;
    assert_eq!(
        next(&mut rx).await,
        Ev::Subscribed("chat:user:bob".into()),
        "server-side subscription"
    );
    // The official client takes the presence snapshot (a frame of its own) as a
    // publication like the others: nobody else is online.
    let Ev::Publication(channel, data) = next(&mut rx).await else {
        panic!("expected the presence snapshot")
    };
    assert_eq!(channel, "chat:user:bob");
    let snapshot: serde_json::Value = serde_json::from_slice(&data).expect("JSON");
    assert_eq!(
        snapshot,
        serde_json::json!({"kind": "presence_snapshot", "data": {"online": []}})
    );

    message_arrives(&t, &app, &mut rx).await;
    message_arrives(&t, &app, &mut rx).await;

    // Shutdown closes with 3001, a reconnect code: the client goes back to connecting.
    let TestServer { server, dir, .. } = t;
    timeout(WAIT, server.stop())
        .await
        .expect("stop in time")
        .expect("stop");
    let ev = until(&mut rx, "connecting", |e| matches!(e, Ev::Connecting(..))).await;
    assert_eq!(ev, Ev::Connecting(3001, "shutdown".into()));
    close(&client).await;
    drop(dir);
}

#[tokio::test]
async fn official_client_stops_on_invalid_token() {
    let (t, app) = setup(|_| {}).await;
    let bad = mint_user_token(&app.app_id, "wrong secret", "bob", 3600);
    let (client, mut rx) = client(&t, |b| b.token(bad));
    client.connect().expect("connect");
    let ev = until(&mut rx, "disconnected", |e| {
        matches!(e, Ev::Disconnected(..))
    })
    .await;
    assert_eq!(ev, Ev::Disconnected(3500, "invalid token".into()));
    // Terminal: no reconnect attempt follows (reconnect delays are 50..200 ms here).
    let deadline = Instant::now() + Duration::from_millis(600);
    while let Ok(ev) = tokio::time::timeout_at(deadline, rx.recv()).await {
        assert!(
            !matches!(ev, Some(Ev::Connecting(..) | Ev::Connected { .. })),
            "reconnected after 3500: {ev:?}"
        );
    }
    assert_eq!(client.state(), State::Disconnected);
    close(&client).await;
}

#[tokio::test]
async fn official_client_answers_pings() {
    let (t, app) = setup(|c| {
        c.ping_interval = Duration::from_millis(150);
        c.pong_timeout = Duration::from_millis(300);
    })
    .await;
    let (client, mut rx) = client(&t, |b| b.token(token(&app, "bob", 3600)));
    client.connect().expect("connect");
    connected_as(&mut rx, "bob").await;
    until(&mut rx, "subscribed", |e| matches!(e, Ev::Subscribed(..))).await;
    // Without pongs the server would close with 3012 after ~450 ms.
    let seen = stays_connected(&mut rx, Duration::from_millis(1200)).await;
    assert!(seen.is_empty(), "{seen:?}");
    message_arrives(&t, &app, &mut rx).await;
    close(&client).await;
}

#[tokio::test]
async fn official_client_refreshes_an_expiring_token_through_get_token() {
    let grace = Duration::from_secs(1);
    let (t, app) = setup(|c| c.expiry_grace = grace).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let (short, long) = (token(&app, "bob", 2), token(&app, "bob", 3600));
    let counter = calls.clone();
    let started = Instant::now();
    let (client, mut rx) = client(&t, move |b| {
        b.get_token(move |_ctx| {
            // First call: the token to connect with (expires in ≤ 2 s); then a fresh one.
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let tok = if n == 0 { short.clone() } else { long.clone() };
            async move { Ok(Some(tok)) }
        })
    });
    client.connect().expect("connect");
    connected_as(&mut rx, "bob").await;
    until(&mut rx, "subscribed", |e| matches!(e, Ev::Subscribed(..))).await;
    // The server would close an unrefreshed connection with 3005 at most 2 s + grace
    // after connect; stay past that (absence of a close needs a fixed wait).
    let past_deadline = started + Duration::from_secs(2) + grace + Duration::from_millis(300);
    let seen = stays_connected(
        &mut rx,
        past_deadline.saturating_duration_since(Instant::now()),
    )
    .await;
    assert!(seen.is_empty(), "{seen:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "connect + one refresh");
    assert_eq!(client.state(), State::Connected);
    message_arrives(&t, &app, &mut rx).await;
    close(&client).await;
}

#[tokio::test]
async fn official_client_recovers_from_token_expired_on_connect() {
    let (t, app) = setup(|_| {}).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let (expired, fresh) = (expired_token(&app, "bob"), token(&app, "bob", 3600));
    let counter = calls.clone();
    let (client, mut rx) = client(&t, move |b| {
        b.get_token(move |_ctx| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let tok = if n == 0 {
                expired.clone()
            } else {
                fresh.clone()
            };
            async move { Ok(Some(tok)) }
        })
    });
    client.connect().expect("connect");
    // 109 on connect: the client asks for a new token and connects with it.
    let ev = until(&mut rx, "error", |e| matches!(e, Ev::Error(_))).await;
    assert!(format!("{ev:?}").contains("109"), "{ev:?}");
    connected_as(&mut rx, "bob").await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    message_arrives(&t, &app, &mut rx).await;
    close(&client).await;
}
