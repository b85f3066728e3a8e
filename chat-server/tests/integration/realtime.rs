//! End-to-end tests of `/connection/websocket` speaking the raw Centrifuge JSON protocol
//! (v2) with tokio-tungstenite against a real chat-server: the connect reply, publications
//! of durable changes (matching REST responses and `/v1/sync`), tenant and channel
//! isolation, command errors and close codes, pings/pongs, token refresh and expiry, typing
//! and presence events, shutdown, and the slow-consumer cut-off.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use chat_protocol::AppCredentials;
use chat_server::auth::mint_user_token;
use chat_test::{TestServer, expired_token, token};
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Longest wait for anything the server should send.
pub(crate) const WAIT: Duration = Duration::from_secs(5);

/// How a socket ended, as seen by the client.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ended {
    /// A close frame with this code and reason.
    Close(u16, String),
    /// The stream ended or failed without a close frame.
    Dropped(String),
}

/// A raw Centrifuge JSON client (also used by the `nats` suite).
pub(crate) struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Items of a `\n`-batched frame not yet returned.
    pending: VecDeque<Value>,
    next_id: u32,
    /// The presence snapshots received (each connect's first push, in a frame of its own),
    /// set aside so the other checks see the events after it.
    pub(crate) snapshots: Vec<Value>,
}

impl Ws {
    pub(crate) async fn open(t: &TestServer) -> Self {
        let (stream, _) = timeout(
            WAIT,
            tokio_tungstenite::connect_async(t.server.websocket_url()),
        )
        .await
        .expect("websocket handshake in time")
        .expect("websocket handshake");
        Self {
            stream,
            pending: VecDeque::new(),
            next_id: 0,
            snapshots: Vec::new(),
        }
    }

    /// Sends one text frame as is.
    pub(crate) async fn send_raw(&mut self, text: &str) {
        timeout(WAIT, self.stream.send(Message::text(text)))
            .await
            .expect("send in time")
            .expect("send");
    }

    /// Gives `cmd` the next id, sends it in its own frame, and returns the id.
    pub(crate) async fn command(&mut self, mut cmd: Value) -> u32 {
        self.next_id += 1;
        cmd["id"] = json!(self.next_id);
        self.send_raw(&cmd.to_string()).await;
        self.next_id
    }

    /// The next JSON item (frames split on `\n`), or how the socket ended. Waits at most
    /// `wait`; `None` when nothing arrived in that time.
    pub(crate) async fn try_next(&mut self, wait: Duration) -> Option<Result<Value, Ended>> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(v) = self.pending.pop_front() {
                return Some(Ok(v));
            }
            let msg = match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return None,
                Ok(None) => return Some(Err(Ended::Dropped("stream ended".into()))),
                Ok(Some(Err(e))) => return Some(Err(Ended::Dropped(e.to_string()))),
                Ok(Some(Ok(m))) => m,
            };
            match msg {
                Message::Text(text) => {
                    assert!(!text.is_empty(), "empty text frame");
                    let first: Value = serde_json::from_str(text.split('\n').next().unwrap_or(""))
                        .unwrap_or(Value::Null);
                    if first["push"]["pub"]["data"]["kind"] == json!("presence_snapshot") {
                        assert!(!text.contains('\n'), "a snapshot has its own frame: {text}");
                        self.snapshots
                            .push(first["push"]["pub"]["data"]["data"].clone());
                        continue;
                    }
                    for line in text.split('\n') {
                        assert!(!line.trim().is_empty(), "blank line in frame {text:?}");
                        let v: Value = serde_json::from_str(line)
                            .unwrap_or_else(|e| panic!("bad JSON {line:?}: {e}"));
                        self.pending.push_back(v);
                    }
                }
                Message::Close(frame) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    return Some(Err(Ended::Close(code, reason)));
                }
                Message::Binary(b) => panic!("unexpected binary frame {b:?}"),
                _ => {}
            }
        }
    }

    /// The next JSON item, pings included.
    pub(crate) async fn next(&mut self) -> Value {
        match self.try_next(WAIT).await {
            Some(Ok(v)) => v,
            Some(Err(end)) => panic!("socket ended while waiting for a frame: {end:?}"),
            None => panic!("no frame within {WAIT:?}"),
        }
    }

    /// The next item that is not a ping.
    pub(crate) async fn next_non_ping(&mut self) -> Value {
        loop {
            let v = self.next().await;
            if v != json!({}) {
                return v;
            }
        }
    }

    /// The next publication's data (`push.pub.data`), checking the channel.
    pub(crate) async fn next_pub(&mut self, user: &str) -> Value {
        self.next_publication(user).await.0
    }

    /// The next publication's data and offset (`push.pub.offset`, 0 when absent).
    pub(crate) async fn next_publication(&mut self, user: &str) -> (Value, u64) {
        let v = self.next_non_ping().await;
        let push = v.get("push").unwrap_or_else(|| panic!("not a push: {v}"));
        assert_eq!(push["channel"], json!(format!("chat:user:{user}")), "{v}");
        assert!(v.get("id").is_none(), "a push has no id: {v}");
        let offset = push["pub"].get("offset").map_or(0, |o| o.as_u64().unwrap());
        (push["pub"]["data"].clone(), offset)
    }

    /// The reply to command `id` (pushes and pings before it are skipped).
    pub(crate) async fn reply(&mut self, id: u32) -> Value {
        loop {
            let v = self.next_non_ping().await;
            if v.get("push").is_some() {
                continue;
            }
            assert_eq!(v["id"], json!(id), "replies come in command order: {v}");
            return v;
        }
    }

    /// Reads (skipping pings and pushes) until the socket closes; returns code and reason.
    pub(crate) async fn expect_close_within(&mut self, wait: Duration) -> (u16, String) {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.try_next(left).await {
                None => panic!("socket not closed within {wait:?}"),
                Some(Ok(v)) if v == json!({}) || v.get("push").is_some() => {}
                Some(Ok(v)) => panic!("unexpected frame while waiting for close: {v}"),
                Some(Err(Ended::Close(code, reason))) => return (code, reason),
                Some(Err(e)) => panic!("socket ended without a close frame: {e:?}"),
            }
        }
    }

    /// Expects a close frame with `code` (and returns its reason).
    async fn expect_close(&mut self, code: u16) -> String {
        let (got, reason) = self.expect_close_within(WAIT).await;
        assert_eq!(got, code, "close code (reason {reason:?})");
        assert!(!reason.is_empty(), "close reason must not be empty");
        reason
    }

    /// Asserts nothing but pings arrives for `wait` and the socket stays open.
    pub(crate) async fn expect_quiet(&mut self, wait: Duration) {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.try_next(left).await {
                None => return,
                Some(Ok(v)) if v == json!({}) => {}
                Some(other) => panic!("expected silence, got {other:?}"),
            }
        }
    }

    /// Sends `connect` with `token` and returns the whole reply.
    pub(crate) async fn connect_raw(&mut self, token: &str) -> Value {
        let id = self
            .command(json!({"connect": {"token": token, "name": "test"}}))
            .await;
        self.reply(id).await
    }

    /// Connects and returns the connect result.
    pub(crate) async fn connect(&mut self, token: &str) -> Value {
        let reply = self.connect_raw(token).await;
        assert!(reply.get("error").is_none(), "connect failed: {reply}");
        reply["connect"].clone()
    }

    /// Answers a ping.
    async fn pong(&mut self) {
        self.send_raw("{}").await;
    }

    /// Closes the socket from the client side.
    pub(crate) async fn close(mut self) {
        let _ = timeout(WAIT, self.stream.close(None)).await;
    }

    /// Closes from the client side and waits until the server has dropped the connection
    /// (so its disconnect handling, presence included, is done).
    pub(crate) async fn close_and_wait(mut self) {
        let _ = timeout(WAIT, self.stream.close(None)).await;
        let ended = timeout(WAIT, async {
            while let Some(Ok(_)) = self.stream.next().await {}
        })
        .await;
        assert!(ended.is_ok(), "server did not drop the connection");
    }
}

/// Opens a socket and connects as `user` with a 1-hour token.
pub(crate) async fn connect_user(t: &TestServer, app: &AppCredentials, user: &str) -> (Ws, Value) {
    let mut ws = Ws::open(t).await;
    let result = ws.connect(&token(app, user, 3600)).await;
    (ws, result)
}

/// A server with an app and users alice, bob and carol.
async fn setup() -> (TestServer, AppCredentials) {
    setup_with(|_| {}).await
}

async fn setup_with(
    adjust: impl FnOnce(&mut chat_server::ServerConfig),
) -> (TestServer, AppCredentials) {
    let t = TestServer::start_with(adjust).await;
    let app = t.app("rt").await;
    t.users(&app, &["alice", "bob", "carol"]).await;
    (t, app)
}

pub(crate) fn seq_of(data: &Value) -> u64 {
    data["seq"]
        .as_u64()
        .unwrap_or_else(|| panic!("no seq: {data}"))
}

#[tokio::test]
async fn connect_reply_then_message_and_channel_pushes() {
    let (t, app) = setup().await;
    let alice = t.user(&app, "alice");
    alice.channel("team", "general", &["bob"]).await;

    let (mut ws, result) = connect_user(&t, &app, "bob").await;
    assert!(
        result["client"].as_str().is_some_and(|c| !c.is_empty()),
        "{result}"
    );
    assert!(result["version"].is_string(), "{result}");
    assert_eq!(result["subs"], json!({"chat:user:bob": {}}), "{result}");
    assert_eq!(result["ping"], json!(25), "{result}");
    assert_eq!(result["pong"], json!(true), "{result}");
    assert_eq!(result["expires"], json!(true), "{result}");
    let ttl = result["ttl"].as_u64().expect("ttl");
    assert!((3590..=3600).contains(&ttl), "ttl {ttl}");
    assert_eq!(result["data"]["user_id"], json!("bob"), "{result}");
    assert!(result["data"]["epoch"].is_string(), "{result}");
    let connect_seq = result["data"]["seq"].as_u64().expect("data.seq");

    let sent = alice.send("team:general", "hello bob").await;

    let first = ws.next_pub("bob").await;
    assert_eq!(first["kind"], json!("message"), "{first}");
    assert_eq!(first["data"]["id"], sent["id"]);
    assert_eq!(first["data"]["text"], json!("hello bob"));
    assert_eq!(first["data"]["rev"], sent["rev"]);
    assert_eq!(first["data"], sent, "the push carries the REST message");
    assert_eq!(first["seq"], sent["rev"], "seq = rev");
    assert!(seq_of(&first) > connect_seq);

    let second = ws.next_pub("bob").await;
    assert_eq!(second["kind"], json!("channel"), "{second}");
    assert_eq!(second["data"]["cid"], json!("team:general"), "{second}");
    assert!(seq_of(&second) > seq_of(&first), "strictly increasing seq");
    ws.close().await;
}

#[tokio::test]
async fn pushes_cover_every_change_after_connect_seq() {
    let (t, app) = setup().await;
    let (alice, bob) = (t.user(&app, "alice"), t.user(&app, "bob"));
    alice.channel("team", "a", &["bob"]).await;
    alice.channel("team", "b", &["bob", "carol"]).await;
    alice.send("team:a", "before connect").await;

    let (mut ws, result) = connect_user(&t, &app, "bob").await;
    let epoch = result["data"]["epoch"].as_str().expect("epoch").to_owned();
    let connect_seq = result["data"]["seq"].as_u64().expect("seq");

    // A mix of changes concerning bob: messages, an edit, a reaction, a read marker, a
    // channel update, a new member; plus traffic in a channel bob is not in.
    let m1 = alice.send("team:a", "one").await;
    bob.send("team:b", "two").await;
    let (s, b) = alice
        .patch(
            &format!("/v1/messages/{}", m1["id"].as_str().unwrap()),
            json!({"text": "one, edited"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = bob
        .post(
            &format!("/v1/messages/{}/reactions", m1["id"].as_str().unwrap()),
            json!({"type": "like"}),
        )
        .await;
    assert!(s.is_success(), "{b}");
    let (s, b) = bob.post("/v1/channels/team/a/read", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = alice
        .patch("/v1/channels/team/b", json!({"name": "Bee"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = alice
        .post(
            "/v1/channels/team/a/members",
            json!({"members": [{"user_id": "carol"}]}),
        )
        .await;
    assert!(s.is_success(), "{b}");
    let carol = t.user(&app, "carol");
    carol.channel("team", "private", &[]).await;
    carol.send("team:private", "not for bob").await;
    alice.send("team:b", "three").await;

    let cursor = format!("v1:{epoch}:{connect_seq}");
    let (pages, _) = bob.sync_all(Some(&cursor), 1000).await;
    let mut expected: BTreeMap<u64, Value> = BTreeMap::new();
    for page in &pages {
        assert_eq!(page["limited"], json!([]), "no limited channel: {page}");
        for c in page["changes"].as_array().expect("changes") {
            expected.insert(seq_of(c), c.clone());
        }
    }
    let kinds: std::collections::BTreeSet<&str> = expected
        .values()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["channel", "member", "message", "reaction", "read"],
        "{expected:?}"
    );
    let last = *expected.keys().next_back().unwrap();

    // Pushes up to the last synced change: strictly increasing seq, all after the connect
    // seq, numbered 1, 2, 3, … on this connection, and a superset of the synced changes
    // (sync keeps only the latest version of each entity; the stream has every version).
    let mut pushed: BTreeMap<u64, Value> = BTreeMap::new();
    let mut prev = connect_seq;
    let mut offsets = Vec::new();
    while prev < last {
        let (data, offset) = ws.next_publication("bob").await;
        offsets.push(offset);
        let seq = seq_of(&data);
        assert!(seq > prev, "seq {seq} after {prev}");
        assert_eq!(data["data"]["rev"], json!(seq), "rev = seq: {data}");
        assert_ne!(data["data"]["cid"], json!("team:private"), "{data}");
        pushed.insert(seq, data);
        prev = seq;
    }
    for (seq, change) in &expected {
        assert_eq!(
            pushed.get(seq),
            Some(change),
            "change {seq} pushed as synced"
        );
    }
    assert_eq!(offsets, (1..=offsets.len() as u64).collect::<Vec<_>>());
    ws.close().await;
}

#[tokio::test]
async fn non_members_and_other_apps_receive_nothing() {
    let (t, app) = setup().await;
    let other = t.app("other").await;
    t.users(&other, &["bob", "dave"]).await;
    let alice = t.user(&app, "alice");
    alice.channel("team", "ab", &["bob"]).await;
    alice.channel("team", "ac", &["carol"]).await;
    let bob2 = t.user(&other, "bob");
    bob2.channel("team", "ab", &["dave"]).await;

    let (mut carol_ws, _) = connect_user(&t, &app, "carol").await;
    let (mut bob_other_ws, _) = connect_user(&t, &other, "bob").await;
    let (mut bob_ws, _) = connect_user(&t, &app, "bob").await;

    let secret = alice.send("team:ab", "for bob only").await;
    // Markers sent after the message: each observer's first publication must be its
    // marker, so nothing was queued for it before.
    let marker_c = alice.send("team:ac", "marker for carol").await;
    let marker_b2 = t
        .user(&other, "dave")
        .send("team:ab", "marker for the other bob")
        .await;

    let got = bob_ws.next_pub("bob").await;
    assert_eq!(got["data"]["id"], secret["id"], "the member gets it");

    let got = carol_ws.next_pub("carol").await;
    assert_eq!(got["data"]["id"], marker_c["id"], "carol: {got}");
    let got = bob_other_ws.next_pub("bob").await;
    assert_eq!(got["data"]["id"], marker_b2["id"], "other app's bob: {got}");
    assert_eq!(got["data"]["text"], json!("marker for the other bob"));
    for ws in [carol_ws, bob_other_ws, bob_ws] {
        ws.close().await;
    }
}

#[tokio::test]
async fn batched_commands_and_command_errors() {
    let (t, app) = setup().await;
    let mut ws = Ws::open(&t).await;
    let tok = token(&app, "alice", 3600);
    // Two commands in one frame, joined by `\n`.
    let frame = format!(
        "{}\n{}",
        json!({"id": 101, "connect": {"token": tok}}),
        json!({"id": 102, "rpc": {"method": "x", "data": {}}})
    );
    ws.send_raw(&frame).await;
    let r1 = ws.next_non_ping().await;
    assert_eq!(r1["id"], json!(101), "{r1}");
    assert_eq!(r1["connect"]["data"]["user_id"], json!("alice"), "{r1}");
    let r2 = ws.next_non_ping().await;
    assert_eq!(r2["id"], json!(102), "{r2}");
    assert_eq!(r2["error"]["code"], json!(104), "method not found: {r2}");

    let id = ws
        .command(json!({"subscribe": {"channel": "chat:user:bob"}}))
        .await;
    let r = ws.reply(id).await;
    assert_eq!(r["error"]["code"], json!(103), "client-side subscribe: {r}");
    let id = ws.command(json!({"history": {"channel": "x"}})).await;
    let r = ws.reply(id).await;
    assert_eq!(r["error"]["code"], json!(104), "{r}");
    // A pong that was not asked for and an async `send` get no reply; the next command's
    // reply comes next (blank lines and `\r\n` are tolerated).
    ws.send_raw("{}\n\n{\"send\":{\"data\":{}}}\r\n{\"id\":9,\"presence\":{\"channel\":\"x\"}}")
        .await;
    let r = ws.next_non_ping().await;
    assert_eq!(r["id"], json!(9), "{r}");
    assert_eq!(r["error"]["code"], json!(104), "{r}");
    // A second connect on a connected socket is a protocol violation.
    ws.send_raw(&json!({"id": 10, "connect": {"token": tok}}).to_string())
        .await;
    assert_eq!(ws.expect_close(3501).await, "bad request");
}

#[tokio::test]
async fn command_before_connect_is_a_bad_request() {
    let (t, _app) = setup().await;
    let mut ws = Ws::open(&t).await;
    ws.command(json!({"rpc": {"method": "x"}})).await;
    assert_eq!(ws.expect_close(3501).await, "bad request");
}

#[tokio::test]
async fn invalid_token_closes_with_3500() {
    let (t, app) = setup().await;
    for bad in [
        "garbage".to_owned(),
        String::new(),
        // Signed with another secret.
        mint_user_token(&app.app_id, "not the secret", "alice", 3600),
        // For an app that does not exist.
        mint_user_token("app_missing", &app.api_secret, "alice", 3600),
    ] {
        let mut ws = Ws::open(&t).await;
        ws.command(json!({"connect": {"token": bad}})).await;
        assert_eq!(ws.expect_close(3500).await, "invalid token");
    }
}

#[tokio::test]
async fn expired_token_gets_error_109_and_may_connect_again() {
    let (t, app) = setup().await;
    let mut ws = Ws::open(&t).await;
    let reply = ws.connect_raw(&expired_token(&app, "alice")).await;
    assert_eq!(reply["error"]["code"], json!(109), "{reply}");
    assert!(reply.get("connect").is_none(), "{reply}");
    // The socket stays open: a connect with a fresh token succeeds on it.
    let result = ws.connect(&token(&app, "alice", 3600)).await;
    assert_eq!(result["data"]["user_id"], json!("alice"));
    ws.close().await;
}

#[tokio::test]
async fn garbage_frames_close_with_3501() {
    let (t, app) = setup().await;
    let mut ws = Ws::open(&t).await;
    ws.send_raw("this is not json").await;
    assert_eq!(ws.expect_close(3501).await, "bad request");

    // Also after connect, and for one bad line in an otherwise valid batch.
    let (mut ws, _) = connect_user(&t, &app, "alice").await;
    ws.send_raw("{\"id\":5,\"rpc\":{}}\n{oops").await;
    ws.expect_close(3501).await;

    let (mut ws, _) = connect_user(&t, &app, "alice").await;
    timeout(WAIT, ws.stream.send(Message::binary(vec![1u8, 2, 3])))
        .await
        .expect("in time")
        .expect("send");
    ws.expect_close(3501).await;
}

#[tokio::test]
async fn no_connect_in_time_closes_with_3502() {
    let (t, _app) = setup_with(|c| c.connect_timeout = Duration::from_millis(200)).await;
    let started = Instant::now();
    let mut ws = Ws::open(&t).await;
    assert_eq!(ws.expect_close(3502).await, "stale");
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn pings_answered_keep_the_connection_unanswered_close_it() {
    let (t, app) = setup_with(|c| {
        c.ping_interval = Duration::from_millis(200);
        c.pong_timeout = Duration::from_millis(300);
    })
    .await;
    let (mut good, result) = connect_user(&t, &app, "alice").await;
    assert_eq!(
        result["ping"],
        json!(1),
        "ping is in whole seconds: {result}"
    );
    assert_eq!(result["pong"], json!(true));
    let (mut silent, _) = connect_user(&t, &app, "bob").await;

    let started = Instant::now();
    let mut pings = 0;
    let answering = async {
        while pings < 5 {
            let v = good.next().await;
            assert_eq!(v, json!({}), "only pings arrive");
            pings += 1;
            good.pong().await;
        }
    };
    let (_, (code, reason)) = tokio::join!(
        answering,
        silent.expect_close_within(Duration::from_secs(3))
    );
    assert_eq!((code, reason.as_str()), (3012, "no pong"));
    assert!(started.elapsed() >= Duration::from_millis(900), "5 pings");
    // Still connected after 5 intervals: a command gets its reply.
    let id = good.command(json!({"rpc": {"method": "x"}})).await;
    assert_eq!(good.reply(id).await["error"]["code"], json!(104));
    good.close().await;
}

#[tokio::test]
async fn refresh_extends_the_session_and_checks_the_user() {
    let (t, app) = setup().await;
    let (mut ws, result) = connect_user(&t, &app, "alice").await;
    let client = result["client"].clone();
    let id = ws
        .command(json!({"refresh": {"token": token(&app, "alice", 7200)}}))
        .await;
    let reply = ws.reply(id).await;
    let r = &reply["refresh"];
    assert_eq!(r["client"], client, "{reply}");
    assert_eq!(r["expires"], json!(true), "{reply}");
    let ttl = r["ttl"].as_u64().expect("ttl");
    assert!((7190..=7200).contains(&ttl), "ttl {ttl}");
    assert!(r["version"].is_string(), "{reply}");

    // A token of another user ends the connection for good.
    ws.command(json!({"refresh": {"token": token(&app, "bob", 3600)}}))
        .await;
    assert_eq!(ws.expect_close(3500).await, "invalid token");

    // So does a token of the same user id in another app.
    let other = t.app("other").await;
    let (mut ws, _) = connect_user(&t, &app, "alice").await;
    ws.command(json!({"refresh": {"token": token(&other, "alice", 3600)}}))
        .await;
    ws.expect_close(3500).await;

    // An expired token: connection expired.
    let (mut ws, _) = connect_user(&t, &app, "alice").await;
    ws.command(json!({"refresh": {"token": expired_token(&app, "alice")}}))
        .await;
    ws.expect_close(3005).await;
}

#[tokio::test]
async fn unrefreshed_token_expires_refreshed_one_does_not() {
    let grace = Duration::from_millis(200);
    let (t, app) = setup_with(|c| c.expiry_grace = grace).await;
    // Both tokens expire in at most 2 s (whole seconds).
    let short_a = token(&app, "alice", 2);
    let short_b = token(&app, "bob", 2);

    let connected_a = Instant::now();
    let mut a = Ws::open(&t).await;
    let result = a.connect(&short_a).await;
    let ttl = result["ttl"].as_u64().expect("ttl");
    assert!((1..=2).contains(&ttl), "ttl {ttl}");
    let id = a
        .command(json!({"refresh": {"token": token(&app, "alice", 3600)}}))
        .await;
    assert!(a.reply(id).await["refresh"]["ttl"].as_u64().unwrap() > 3000);

    let mut b = Ws::open(&t).await;
    b.connect(&short_b).await;
    let started = Instant::now();
    let (code, reason) = b.expect_close_within(Duration::from_secs(4)).await;
    assert_eq!((code, reason.as_str()), (3005, "expired"));
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "not before the ttl"
    );

    // a's original deadline (at most 2 s + grace after its connect) has passed too; it
    // must still be open. (Waiting for the absence of a close needs a fixed wait.)
    let a_deadline = connected_a + Duration::from_secs(2) + grace + Duration::from_millis(300);
    a.expect_quiet(a_deadline.saturating_duration_since(Instant::now()))
        .await;
    let id = a.command(json!({"rpc": {"method": "x"}})).await;
    assert_eq!(a.reply(id).await["error"]["code"], json!(104));
    a.close().await;
}

#[tokio::test]
async fn typing_goes_to_other_members_without_seq() {
    let (t, app) = setup().await;
    let (alice, bob) = (t.user(&app, "alice"), t.user(&app, "bob"));
    alice.channel("team", "general", &["bob"]).await;
    let (mut alice_ws, _) = connect_user(&t, &app, "alice").await;
    let (mut bob_ws, _) = connect_user(&t, &app, "bob").await;
    // alice sees bob come online (consume it so the next checks are exact).
    let p = alice_ws.next_pub("alice").await;
    assert_eq!(p["kind"], json!("presence"), "{p}");

    let (s, b) = alice
        .post("/v1/channels/team/general/typing", json!({"typing": true}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (got, offset) = bob_ws.next_publication("bob").await;
    assert_eq!(
        got,
        json!({"kind": "typing", "data": {"cid": "team:general", "user_id": "alice", "typing": true}})
    );
    assert!(got.get("seq").is_none());
    assert_eq!(offset, 0, "ephemeral events are not numbered");

    // bob types back: alice's first publication is bob's typing, not her own.
    let (s, b) = bob
        .post("/v1/channels/team/general/typing", json!({"typing": false}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let got = alice_ws.next_pub("alice").await;
    assert_eq!(got["data"]["user_id"], json!("bob"), "{got}");
    assert_eq!(got["data"]["typing"], json!(false), "{got}");

    // Typing in a channel one is not a member of is refused.
    let carol = t.user(&app, "carol");
    let (s, _) = carol
        .post("/v1/channels/team/general/typing", json!({"typing": true}))
        .await;
    assert!(s.is_client_error(), "{s}");
    alice_ws.close().await;
    bob_ws.close().await;
}

#[tokio::test]
async fn a_connection_starts_with_who_is_online_among_its_peers() {
    let (t, app) = setup().await;
    let alice = t.user(&app, "alice");
    alice.channel("team", "general", &["bob"]).await;
    // Nobody else online: an empty snapshot.
    let (mut bob_ws, _) = connect_user(&t, &app, "bob").await;
    bob_ws.expect_quiet(Duration::from_millis(50)).await;
    assert_eq!(bob_ws.snapshots, [json!({"online": []})]);
    // carol is online but shares no channel with alice: left out.
    let (carol_ws, _) = connect_user(&t, &app, "carol").await;
    let (mut alice_ws, _) = connect_user(&t, &app, "alice").await;
    alice_ws.expect_quiet(Duration::from_millis(50)).await;
    assert_eq!(alice_ws.snapshots, [json!({"online": ["bob"]})]);
    // Bob gone (after the grace): a new connection of alice no longer lists him.
    bob_ws.close_and_wait().await;
    let p = alice_ws.next_pub("alice").await;
    assert_eq!(p["kind"], json!("presence"), "{p}");
    let (mut again, _) = connect_user(&t, &app, "alice").await;
    again.expect_quiet(Duration::from_millis(50)).await;
    assert_eq!(again.snapshots, [json!({"online": []})]);
    for ws in [alice_ws, again, carol_ws] {
        ws.close().await;
    }
}

#[tokio::test]
async fn presence_online_and_offline() {
    let (t, app) = setup().await;
    let alice = t.user(&app, "alice");
    alice.channel("team", "general", &["bob"]).await;
    let (mut alice_ws, _) = connect_user(&t, &app, "alice").await;
    // carol shares no channel with bob: she hears nothing about him.
    let (mut carol_ws, _) = connect_user(&t, &app, "carol").await;

    let (bob_ws, _) = connect_user(&t, &app, "bob").await;
    let p = alice_ws.next_pub("alice").await;
    assert_eq!(
        p,
        json!({"kind": "presence", "data": {"user_id": "bob", "online": true}})
    );
    // A second connection of bob announces nothing; closing one of two neither.
    let (bob_ws2, _) = connect_user(&t, &app, "bob").await;
    bob_ws2.close_and_wait().await;
    bob_ws.close_and_wait().await;
    let p = alice_ws.next_pub("alice").await;
    assert_eq!(
        p,
        json!({"kind": "presence", "data": {"user_id": "bob", "online": false}})
    );
    carol_ws.expect_quiet(Duration::from_millis(100)).await;
    alice_ws.close().await;
    carol_ws.close().await;
}

#[tokio::test]
async fn shutdown_closes_sockets_with_3001() {
    let (t, app) = setup().await;
    let (mut a, _) = connect_user(&t, &app, "alice").await;
    let mut fresh = Ws::open(&t).await;
    let TestServer { server, dir, .. } = t;
    let (stopped, (code, reason)) =
        tokio::join!(timeout(WAIT, server.stop()), a.expect_close_within(WAIT));
    stopped.expect("stop in time").expect("stop");
    assert_eq!((code, reason.as_str()), (3001, "shutdown"));
    // A socket that has not connected yet is not left hanging either.
    assert_eq!(fresh.expect_close(3001).await, "shutdown");
    drop(dir);
}

/// Most bytes the kernel may buffer on the server's side of one TCP connection.
fn max_send_buffer() -> usize {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|s| s.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(4 << 20)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumer_is_closed_with_3008() {
    let (t, app) = setup_with(|c| {
        c.rate_limit.per_second = 1e9;
        c.rate_limit.burst = u32::MAX;
    })
    .await;
    let alice = t.user(&app, "alice");
    alice.channel("team", "general", &["bob"]).await;
    // bob's socket gets a tiny receive buffer and is never read until the end.
    let sock = tokio::net::TcpSocket::new_v4().expect("socket");
    sock.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let tcp = timeout(WAIT, sock.connect(t.server.addr))
        .await
        .expect("tcp connect in time")
        .expect("tcp connect");
    let (stream, _) = timeout(
        WAIT,
        tokio_tungstenite::client_async(t.server.websocket_url(), MaybeTlsStream::Plain(tcp)),
    )
    .await
    .expect("handshake in time")
    .expect("handshake");
    let mut bob_ws = Ws {
        stream,
        pending: VecDeque::new(),
        next_id: 0,
        snapshots: Vec::new(),
    };
    bob_ws.connect(&token(&app, "bob", 3600)).await;

    // 1. Fill the kernel buffers and one server frame (64 events) with ~60 kB messages,
    //    so the connection's writer blocks...
    let big = json!({"blob": "x".repeat(55_000)});
    let fill = 2 * max_send_buffer() + 64 * 60_000;
    let mut sent_bytes = 0;
    while sent_bytes < fill {
        let mut batch = Vec::new();
        for _ in 0..8 {
            let alice = alice.clone();
            let body = json!({"id": chat_test::new_id(), "text": "y".repeat(5_000), "attachments": [big.clone()]});
            batch.push(tokio::spawn(async move {
                alice.post("/v1/channels/team/general/messages", body).await
            }));
        }
        for h in batch {
            let (s, b) = h.await.expect("join");
            assert_eq!(s, StatusCode::CREATED, "{b}");
            sent_bytes += 60_000;
        }
    }
    // 2. ...then queue more than the 1024 events a connection may have waiting, with cheap
    //    typing events (1024 + 128: even if the writer blocked only at the end of the fill).
    for _ in 0..(1024 + 128) / 64 {
        let mut batch = Vec::new();
        for _ in 0..64 {
            let alice = alice.clone();
            batch.push(tokio::spawn(async move {
                alice
                    .post("/v1/channels/team/general/typing", json!({"typing": true}))
                    .await
            }));
        }
        for h in batch {
            let (s, b) = h.await.expect("join");
            assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
        }
    }
    // bob reads what was buffered, then the close.
    let (code, reason) = bob_ws.expect_close_within(Duration::from_secs(10)).await;
    assert_eq!((code, reason.as_str()), (3008, "slow"));
}

#[tokio::test]
async fn a_client_close_is_answered_with_a_close_frame() {
    let (t, app) = setup().await;
    let (mut ws, _) = connect_user(&t, &app, "bob").await;
    let frame = tokio_tungstenite::tungstenite::protocol::CloseFrame {
        code: tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Normal,
        reason: "bye".into(),
    };
    timeout(WAIT, ws.stream.send(Message::Close(Some(frame))))
        .await
        .unwrap()
        .unwrap();
    // The server echoes the close: the client sees a clean close, not a dropped TCP link.
    loop {
        match ws.try_next(WAIT).await {
            Some(Ok(_)) => continue, // a ping may still be in flight
            Some(Err(Ended::Close(code, _))) => {
                assert_eq!(code, 1000);
                break;
            }
            other => panic!("expected the server's close reply, got {other:?}"),
        }
    }
}

/// A durable change at or below the connect seq is never pushed: the client's sync from
/// that seq covers it. With several nodes one committed just before the connect can reach
/// this node's hub just after it; the session drops it, and later changes still count
/// their offsets from 1.
#[tokio::test]
async fn changes_covered_by_the_connect_seq_are_not_pushed() {
    let (t, app) = setup().await;
    let alice = t.user(&app, "alice");
    alice.channel("team", "general", &["bob"]).await;
    let (mut bob_ws, result) = connect_user(&t, &app, "bob").await;
    let connect_seq = result["data"]["seq"].as_u64().unwrap();
    assert!(connect_seq > 0);
    // A late delivery of an old change, as another node's would arrive.
    let stale = json!({"kind": "test", "seq": connect_seq});
    t.server.state.hub().publish(
        &app.app_id,
        &["bob".to_owned()],
        chat_server::realtime::HubEvent::change(connect_seq, stale.to_string()),
    );
    let sent = alice.send("team:general", "after connect").await;
    let (data, offset) = bob_ws.next_publication("bob").await;
    assert_eq!(
        data["kind"],
        json!("message"),
        "the stale change was pushed: {data}"
    );
    assert_eq!(data["data"]["id"], sent["id"]);
    assert_eq!(offset, 1);
}
