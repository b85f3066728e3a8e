//! WebSockets: close codes for oversized frames and slow readers, caps overall and per
//! user, connect rates, and debounced presence.

use std::collections::VecDeque;
use std::time::Duration;

use chat_protocol::AppCredentials;
use chat_server::config::RateLimit;
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::raw::WAIT;
use chat_test::{TestServer, token};

/// How a socket ended, as the client saw it.
#[derive(Debug, PartialEq)]
enum Ended {
    Close(u16, String),
    Dropped(String),
}

/// A raw Centrifuge JSON client.
struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pending: VecDeque<Value>,
    next_id: u32,
}

impl Ws {
    fn new(stream: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Self {
        Self {
            stream,
            pending: VecDeque::new(),
            next_id: 0,
        }
    }

    /// Opens a socket, or returns the HTTP status and body that refused the upgrade.
    async fn try_open(t: &TestServer) -> Result<Self, (u16, Value)> {
        let opened = timeout(
            WAIT,
            tokio_tungstenite::connect_async(t.server.websocket_url()),
        )
        .await
        .expect("handshake in time");
        match opened {
            Ok((stream, _)) => Ok(Self::new(stream)),
            Err(tungstenite::Error::Http(response)) => {
                let status = response.status().as_u16();
                let body = response.body().clone().unwrap_or_default();
                let body = serde_json::from_slice(&body)
                    .unwrap_or_else(|e| panic!("refusal body is not JSON ({e}): {body:?}"));
                Err((status, body))
            }
            Err(e) => panic!("handshake failed: {e}"),
        }
    }

    async fn open(t: &TestServer) -> Self {
        Self::try_open(t).await.expect("upgrade accepted")
    }

    async fn send_text(&mut self, text: String) {
        timeout(WAIT, self.stream.send(Message::text(text)))
            .await
            .expect("send in time")
            .expect("send");
    }

    /// The next JSON item, or how the socket ended.
    async fn next(&mut self) -> Result<Value, Ended> {
        loop {
            if let Some(v) = self.pending.pop_front() {
                return Ok(v);
            }
            let msg = match timeout(WAIT, self.stream.next()).await {
                Err(_) => panic!("nothing from the server within {WAIT:?}"),
                Ok(None) => return Err(Ended::Dropped("stream ended".into())),
                Ok(Some(Err(e))) => return Err(Ended::Dropped(e.to_string())),
                Ok(Some(Ok(m))) => m,
            };
            match msg {
                Message::Text(text) => {
                    for line in text.split('\n') {
                        self.pending
                            .push_back(serde_json::from_str(line).expect("JSON line"));
                    }
                }
                Message::Close(frame) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    return Err(Ended::Close(code, reason));
                }
                _ => {}
            }
        }
    }

    /// Sends `connect` with `token`; the reply.
    async fn connect(&mut self, token: &str) -> Result<Value, Ended> {
        self.next_id += 1;
        let id = self.next_id;
        self.send_text(json!({"id": id, "connect": {"token": token}}).to_string())
            .await;
        loop {
            let v = self.next().await?;
            if v["id"] == json!(id) {
                return Ok(v);
            }
        }
    }

    /// How the socket ends, skipping pings and pushes.
    async fn ended(&mut self) -> Ended {
        loop {
            match self.next().await {
                Ok(v) if v == json!({}) || v.get("push").is_some() => {}
                Ok(v) => panic!("unexpected frame while waiting for the end: {v}"),
                Err(end) => return end,
            }
        }
    }

    /// Closes from the client side and waits until the server dropped the connection.
    async fn close_and_wait(mut self) {
        let _ = timeout(WAIT, self.stream.close(None)).await;
        let ended = timeout(WAIT, async {
            while let Some(Ok(_)) = self.stream.next().await {}
        })
        .await;
        assert!(ended.is_ok(), "server did not drop the connection");
    }
}

/// Opens a socket and connects as `user`; panics unless the connect succeeds.
async fn connected(t: &TestServer, app: &AppCredentials, user: &str) -> Ws {
    let mut ws = Ws::open(t).await;
    let reply = ws
        .connect(&token(app, user, 3600))
        .await
        .expect("connected");
    assert!(reply.get("connect").is_some(), "connect failed: {reply}");
    ws
}

#[tokio::test]
async fn a_frame_over_64_kib_closes_with_3501() {
    let t = TestServer::start().await;
    let mut ws = Ws::open(&t).await;
    ws.send_text("x".repeat(70_000)).await;
    assert_eq!(ws.ended().await, Ended::Close(3501, "bad request".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_gets_3008_when_it_reads_again() {
    let t = TestServer::start_with(|c| {
        c.transport.ws_write_timeout = Duration::from_secs(1);
        c.rate_limit.per_second = 1e9;
        c.rate_limit.burst = u32::MAX;
    })
    .await;
    let app = t.app("slow").await;
    t.users(&app, &["alice", "bob"]).await;
    let alice = t.user(&app, "alice");
    alice.channel("team", "general", &["bob"]).await;
    // bob's socket gets a tiny receive buffer, and bob stops reading after connecting.
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
    let mut bob = Ws::new(stream);
    bob.connect(&token(&app, "bob", 3600))
        .await
        .expect("connected");
    // Big messages until the server gives up on bob (his subscription ends).
    let blob = "y".repeat(55_000);
    let deadline = Instant::now() + Duration::from_secs(120);
    while t.server.state.hub().connections(&app.app_id, "bob") > 0 {
        assert!(Instant::now() < deadline, "the server never gave up on bob");
        let sends = (0..4).map(|_| {
            let alice = alice.clone();
            let body =
                json!({"id": chat_test::new_id(), "text": "z", "attachments": [{"blob": blob}]});
            tokio::spawn(
                async move { alice.post("/v1/channels/team/general/messages", body).await },
            )
        });
        for send in sends.collect::<Vec<_>>() {
            let (status, body) = send.await.expect("join");
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    }
    // bob comes back a while later (a backgrounded app, say) and reads again: what was
    // queued, then the reason, not a dropped connection.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(bob.ended().await, Ended::Close(3008, "slow".into()));
}

#[tokio::test]
async fn websockets_are_capped_per_user() {
    let t = TestServer::start_with(|c| c.transport.max_websockets_per_user = 2).await;
    let app = t.app("caps").await;
    let first = connected(&t, &app, "bob").await;
    let _second = connected(&t, &app, "bob").await;
    let mut third = Ws::open(&t).await;
    let refused = third.connect(&token(&app, "bob", 3600)).await;
    assert_eq!(refused, Err(Ended::Close(3504, "connection limit".into())));
    // Other users are not affected, and a closed socket frees its place.
    let _carol = connected(&t, &app, "carol").await;
    first.close_and_wait().await;
    let _again = connected(&t, &app, "bob").await;
}

#[tokio::test]
async fn websockets_are_capped_overall() {
    let t = TestServer::start_with(|c| c.transport.max_websockets = 3).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(Ws::open(&t).await);
    }
    let Err((status, body)) = Ws::try_open(&t).await else {
        panic!("a fourth socket was accepted");
    };
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "overloaded", "{body}");
    assert_eq!(body["retry_after_secs"], 1, "{body}");
    // A closed socket frees its place.
    open.pop().expect("socket").close_and_wait().await;
    let deadline = Instant::now() + WAIT;
    while Ws::try_open(&t).await.is_err() {
        assert!(Instant::now() < deadline, "place never freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn connects_are_rate_limited_per_user() {
    let t = TestServer::start_with(|c| {
        c.transport.connect_rate_per_user = RateLimit {
            per_second: 1e-6,
            burst: 3,
        }
    })
    .await;
    let app = t.app("rate").await;
    for _ in 0..3 {
        connected(&t, &app, "bob").await.close_and_wait().await;
    }
    let mut ws = Ws::open(&t).await;
    let refused = ws.connect(&token(&app, "bob", 3600)).await;
    assert_eq!(refused, Err(Ended::Close(3013, "too many requests".into())));
    // Another user has a bucket of its own.
    connected(&t, &app, "carol").await;
}

#[tokio::test]
async fn upgrades_are_rate_limited_per_address() {
    let t = TestServer::start_with(|c| {
        c.transport.connect_rate_per_ip = Some(RateLimit {
            per_second: 1e-6,
            burst: 3,
        })
    })
    .await;
    for _ in 0..3 {
        Ws::open(&t).await.close_and_wait().await;
    }
    let Err((status, body)) = Ws::try_open(&t).await else {
        panic!("a fourth upgrade was accepted");
    };
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "rate_limited", "{body}");
    assert!(
        body["retry_after_secs"].as_u64().is_some_and(|s| s >= 1),
        "{body}"
    );
}

/// The presence events in `ws` up to the next durable change (the marker), and the marker.
async fn presence_until_marker(ws: &mut Ws) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let v = ws.next().await.expect("socket open");
        let data = &v["push"]["pub"]["data"];
        if data.get("seq").is_some() {
            return seen;
        }
        if data["kind"] == "presence" {
            seen.push(data["data"].clone());
        }
    }
}

#[tokio::test]
async fn a_user_flapping_connections_costs_peers_one_online_offline_pair() {
    let t = TestServer::start_with(|c| c.transport.presence_grace = Duration::from_secs(3)).await;
    let app = t.app("flap").await;
    t.users(&app, &["alice", "bob"]).await;
    let alice = t.user(&app, "alice");
    alice.channel("team", "general", &["bob"]).await;
    let mut alice_ws = connected(&t, &app, "alice").await;
    // bob drops and reconnects ten times in a row.
    for _ in 0..10 {
        connected(&t, &app, "bob").await.close_and_wait().await;
    }
    // A durable change after the burst marks the end of what the burst announced at once.
    alice.send("team:general", "marker").await;
    let during = presence_until_marker(&mut alice_ws).await;
    assert_eq!(during, vec![json!({"user_id": "bob", "online": true})]);
    // bob stays away: after the grace, alice learns he is offline.
    let after = loop {
        let v = alice_ws.next().await.expect("socket open");
        let data = &v["push"]["pub"]["data"];
        if data["kind"] == "presence" {
            break data["data"].clone();
        }
    };
    assert_eq!(after, json!({"user_id": "bob", "online": false}));
}
