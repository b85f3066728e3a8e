//! One realtime session: a strict JSON subset of the Centrifuge client protocol v2, spoken
//! on a socket that [`crate::api::websocket`] upgraded and admitted.
//!
//! Supported: `connect` (user JWT as token; the connection is subscribed server-side to
//! `chat:user:{user_id}`), `refresh`, server pings `{}` with client pongs `{}`, publications
//! of [`RealtimeEvent`](chat_protocol::realtime::RealtimeEvent)s, and disconnects as
//! WebSocket close frames with Centrifuge codes. Client-side subscribe and the other methods
//! are answered with errors: everything a user may see arrives on its own channel.
//!
//! At `connect` the session asks the API who the caller is (the token through
//! [`AppState::verify_token`], a cross-origin page through
//! [`websocket_allowed`]) and the user's admission
//! ([`super::limits`]), and answers each refusal with the protocol's own reply or close
//! code. `refresh` must name the same app and user.
//!
//! Resources per socket are bounded: reads go through a [`READ_BUFFER`] buffer (frames are
//! chat-sized; a larger frame grows it up to [`MAX_FRAME`], beyond which the socket is
//! closed with `3501`), a socket that has not sent `connect` within the connect timeout is
//! closed with `3502`, and admission (caps, connect rates) is [`super::limits`]'. A client
//! that stops reading is cut off after the write timeout with `3008`; the close frame
//! still waits behind the queued data for [`CLOSE_TIMEOUT`], so a client that resumes
//! reading learns why.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use chat_protocol::ErrorCode;
use chat_protocol::realtime::{
    Command, ConnectResult, EphemeralEvent, PresenceSnapshot, RealtimeEvent, RefreshResult, Reply,
    ReplyError, SubscribeResult, disconnect_codes as dc, error_codes as ec, user_channel,
};
use futures_util::SinkExt;
use tokio::time::{Instant, sleep_until};

use crate::api::cors::websocket_allowed;
use crate::api::error::ApiError;
use crate::api::state::AppState;
use crate::realtime::Subscription;
use crate::realtime::limits::{UserRefusal, UserSlot};
use crate::realtime::presence::{announce, announce_later};

/// Largest accepted client frame (and message).
pub const MAX_FRAME: usize = 64 * 1024;
/// Read buffer of a socket: client frames (commands, pongs) are small.
pub const READ_BUFFER: usize = 4 * 1024;
/// How long the close frame may wait to be written (behind queued data, for a slow
/// client) before the socket is dropped.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most queued events written in one frame.
const MAX_BATCH: usize = 64;
/// Reported server version.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Writes one frame; a write blocked longer than the write timeout (a client that stops
/// reading) ends the connection as too slow.
async fn send(state: &AppState, socket: &mut WebSocket, msg: Message) -> Result<(), Close> {
    let limit = state.config().transport.ws_write_timeout;
    match tokio::time::timeout(limit, socket.send(msg)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(Close(dc::INTERNAL, "write error")),
        Err(_) => Err(Close(dc::SLOW, "slow")),
    }
}

/// Why a connection ends: a close code and reason (reason must be non-empty, non-JSON).
struct Close(u16, &'static str);

fn frame(replies: &[String]) -> Message {
    Message::Text(Utf8Bytes::from(replies.join("\n")))
}

fn reply_json(reply: &Reply) -> String {
    // Our reply types serialize infallibly (no maps with non-string keys).
    serde_json::to_string(reply).unwrap_or_else(|_| "{}".to_owned())
}

fn error_reply(id: u32, code: u32, message: &str, temporary: bool) -> String {
    reply_json(&Reply {
        id,
        error: Some(ReplyError {
            code,
            message: message.to_owned(),
            temporary,
        }),
        ..Reply::default()
    })
}

fn parse_commands(text: &str) -> Result<Vec<Command>, Close> {
    text.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_str::<Command>(l).map_err(|_| Close(dc::BAD_REQUEST, "bad request"))
        })
        .collect()
}

fn is_pong(cmd: &Command) -> bool {
    *cmd == Command::default()
}

struct Session {
    app: String,
    user: String,
    client: String,
    /// When the token stops being valid (plus grace), if it expires.
    expires_at: Option<Instant>,
    /// The seq the client was told at connect: durable changes at or below it are covered
    /// by the client's sync and never pushed (several nodes may deliver one late).
    connect_seq: u64,
}

fn ttl_from_exp(exp: i64) -> (u32, Duration) {
    let secs = (exp - chrono::Utc::now().timestamp()).max(0) as u64;
    (
        secs.min(u64::from(u32::MAX)) as u32,
        Duration::from_secs(secs),
    )
}

/// Runs the session on an upgraded socket until it ends, then closes the socket with the
/// reason. `origin` is the page's cross-origin `Origin`, if any, checked at `connect`.
pub async fn run(mut socket: WebSocket, state: AppState, origin: Option<String>) {
    let _open = crate::telemetry::InGauge::sessions();
    let close = match serve(&mut socket, &state, origin.as_deref()).await {
        Ok(()) => {
            // The peer closed (or the transport failed): flush the close reply the
            // WebSocket layer queued, so clients see a clean close rather than 1006.
            let _ = tokio::time::timeout(Duration::from_secs(1), SinkExt::close(&mut socket)).await;
            return;
        }
        Err(c) => c,
    };
    let frame = CloseFrame {
        code: close.0,
        reason: Utf8Bytes::from_static(close.1),
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
}

/// What a received message means for the session.
enum Received {
    /// A text frame.
    Text(Utf8Bytes),
    /// Nothing to act on (ping, pong).
    Nothing,
}

/// Interprets what `socket.recv()` gave: `Err(None)` when the peer closed or the transport
/// failed, `Err(Some(close))` when the client broke the protocol (a binary frame, a frame
/// over [`MAX_FRAME`], bad framing).
fn received(msg: Option<Result<Message, axum::Error>>) -> Result<Received, Option<Close>> {
    match msg {
        None | Some(Ok(Message::Close(_))) => Err(None),
        Some(Err(e)) if is_transport_error(&e) => Err(None),
        Some(Err(_)) | Some(Ok(Message::Binary(_))) => {
            Err(Some(Close(dc::BAD_REQUEST, "bad request")))
        }
        Some(Ok(Message::Text(t))) => Ok(Received::Text(t)),
        Some(Ok(_)) => Ok(Received::Nothing),
    }
}

/// Whether a receive error is the connection failing (rather than the client sending
/// something the protocol forbids).
fn is_transport_error(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<std::io::Error>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// Waits for `connect`, then runs the session until it ends.
async fn serve(
    socket: &mut WebSocket,
    state: &AppState,
    origin: Option<&str>,
) -> Result<(), Close> {
    let deadline = Instant::now() + state.config().connect_timeout;
    // Fix: a socket still waiting for `connect` must also end on shutdown (with 3001, a
    // reconnect code), not linger until the connect timeout and then get the terminal
    // 3502; `RunningServer::stop` does not wait for upgraded connections.
    let mut shutdown = state.shutdown();
    loop {
        let msg = tokio::select! {
            m = socket.recv() => m,
            () = sleep_until(deadline) => return Err(Close(dc::STALE, "stale")),
            _ = shutdown.changed() => return Err(Close(dc::SHUTDOWN, "shutdown")),
        };
        let text = match received(msg) {
            Ok(Received::Text(t)) => t,
            Ok(Received::Nothing) => continue,
            Err(None) => return Ok(()),
            Err(Some(close)) => return Err(close),
        };
        let mut commands = parse_commands(&text)?.into_iter();
        let Some(first) = commands.next() else {
            continue;
        };
        let Some(connect) = first.connect else {
            return Err(Close(dc::BAD_REQUEST, "bad request"));
        };
        // The storage work of a connect waits for a turn, within the connect deadline.
        let Ok(turn) = tokio::time::timeout_at(deadline, state.ws_limits().connect_turn()).await
        else {
            return Err(Close(dc::TOO_MANY_REQUESTS, "too many requests"));
        };
        let (app, claims) = match state.verify_token(&connect.token).await {
            Ok(ok) => ok,
            Err(ApiError(body)) if body.code == ErrorCode::TokenExpired => {
                let reply = error_reply(first.id, ec::TOKEN_EXPIRED, "token expired", false);
                send(state, socket, frame(&[reply])).await?;
                continue;
            }
            Err(ApiError(body)) if body.code == ErrorCode::Internal => {
                let reply = error_reply(first.id, ec::INTERNAL, "internal server error", true);
                send(state, socket, frame(&[reply])).await?;
                continue;
            }
            Err(_) => return Err(Close(dc::INVALID_TOKEN, "invalid token")),
        };
        if let Some(origin) = origin
            && !websocket_allowed(state, &app.id, origin).await
        {
            return Err(Close(dc::ORIGIN_NOT_ALLOWED, "origin not allowed"));
        }
        let slot = state
            .ws_limits()
            .admit_user(&app.id, &claims.sub)
            .map_err(|refusal| match refusal {
                UserRefusal::RateLimited => Close(dc::TOO_MANY_REQUESTS, "too many requests"),
                UserRefusal::TooManySockets => Close(dc::CONNECTION_LIMIT, "connection limit"),
            })?;
        let (sub, info) = state
            .store()
            .subscribe(&app.id, &claims.sub)
            .await
            .map_err(|_| Close(dc::INTERNAL, "internal server error"))?;
        drop(turn);
        let (ttl, left) = ttl_from_exp(claims.exp);
        let session = Session {
            app: app.id.clone(),
            user: claims.sub.clone(),
            client: uuid::Uuid::now_v7().to_string(),
            expires_at: Some(Instant::now() + left + state.config().expiry_grace),
            connect_seq: info.seq,
        };
        let result = ConnectResult {
            client: session.client.clone(),
            version: VERSION.to_owned(),
            expires: true,
            ttl: ttl.max(1),
            subs: [(user_channel(&session.user), SubscribeResult {})]
                .into_iter()
                .collect(),
            ping: state.config().ping_interval.as_secs().max(1) as u32,
            pong: true,
            data: info,
        };
        let mut out = vec![reply_json(&Reply {
            id: first.id,
            connect: Some(result),
            ..Reply::default()
        })];
        // Anything batched after connect in the same frame is handled as usual.
        let rest: Vec<Command> = commands.collect();
        return connected(socket, state, session, (sub, slot), rest, &mut out).await;
    }
}

/// Runs a connected session. Peers learn at once that the user came online, and after
/// the presence grace that the user went offline (unless the user came back); the hub
/// decides under its lock, so racing connects and disconnects leave peers with the true
/// final state.
async fn connected(
    socket: &mut WebSocket,
    state: &AppState,
    mut session: Session,
    (mut sub, slot): (Subscription, UserSlot),
    first_batch: Vec<Command>,
    out: &mut Vec<String>,
) -> Result<(), Close> {
    let peers = announce(state, &session.app, &session.user).await;
    // Who is online already, in a frame of its own after the connect reply (a client that
    // does not know the event drops that frame only). Changes after it arrive as events.
    let online = state.hub().online_among(&session.app, &peers);
    let snapshot = RealtimeEvent::Ephemeral(EphemeralEvent::PresenceSnapshot(PresenceSnapshot {
        online,
    }));
    let channel = serde_json::to_string(&user_channel(&session.user)).unwrap_or_default();
    let snapshot = serde_json::to_string(&snapshot)
        .map(|d| format!(r#"{{"push":{{"channel":{channel},"pub":{{"data":{d}}}}}}}"#))
        .ok();
    let result = session_loop(
        socket,
        state,
        &mut session,
        &mut sub,
        first_batch,
        out,
        snapshot,
    )
    .await;
    drop((sub, slot));
    announce_later(state, &session.app, &session.user);
    result
}

async fn session_loop(
    socket: &mut WebSocket,
    state: &AppState,
    session: &mut Session,
    sub: &mut Subscription,
    first_batch: Vec<Command>,
    out: &mut Vec<String>,
    presence_snapshot: Option<String>,
) -> Result<(), Close> {
    for cmd in first_batch {
        handle_command(state, session, cmd, out).await?;
    }
    send(state, socket, frame(out)).await?;
    out.clear();
    if let Some(snapshot) = presence_snapshot {
        send(state, socket, frame(&[snapshot])).await?;
    }
    let channel = serde_json::to_string(&user_channel(&session.user)).unwrap_or_default();
    let ping_every = state.config().ping_interval;
    let mut next_ping = Instant::now() + ping_every;
    let mut pong_deadline: Option<Instant> = None;
    let mut shutdown = state.shutdown();
    // Durable changes pushed on this connection so far (each publication's `offset`).
    let mut offset: u64 = 0;
    // One timer for the session's three deadlines (the next ping, the pong awaited, the
    // token's expiry), re-armed only when the earliest one moves: a loop turn per pushed
    // event registers no timer (three per turn before: ~1.6 % of the server's CPU in a
    // fan-out profile; no latency change measurable on 2 shared cores, BENCHMARKS §10).
    let timer = sleep_until(next_ping);
    tokio::pin!(timer);
    loop {
        let due = [Some(next_ping), pong_deadline, session.expires_at]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(next_ping);
        if timer.is_elapsed() || timer.deadline() != due {
            timer.as_mut().reset(due);
        }
        tokio::select! {
            msg = socket.recv() => {
                let text = match received(msg) {
                    Ok(Received::Text(t)) => t,
                    Ok(Received::Nothing) => continue,
                    Err(None) => return Ok(()),
                    Err(Some(close)) => return Err(close),
                };
                for cmd in parse_commands(&text)? {
                    if is_pong(&cmd) {
                        pong_deadline = None;
                        continue;
                    }
                    handle_command(state, session, cmd, out).await?;
                }
            }
            event = sub.events.recv() => {
                let Some(first) = event else { return Err(Close(dc::SLOW, "slow")) };
                let mut data = vec![first];
                while data.len() < MAX_BATCH {
                    match sub.events.try_recv() {
                        Ok(d) => data.push(d),
                        Err(_) => break,
                    }
                }
                data.retain(|e| !e.durable || e.seq > session.connect_seq);
                if data.is_empty() {
                    continue;
                }
                let durable = data.iter().filter(|e| e.durable).count() as u64;
                crate::telemetry::pushed(durable, data.len() as u64 - durable);
                out.extend(data.iter().map(|event| {
                    let d = &event.data;
                    if event.durable {
                        offset += 1;
                        format!(r#"{{"push":{{"channel":{channel},"pub":{{"data":{d},"offset":{offset}}}}}}}"#)
                    } else {
                        format!(r#"{{"push":{{"channel":{channel},"pub":{{"data":{d}}}}}}}"#)
                    }
                }));
            }
            () = &mut timer => {
                let now = Instant::now();
                if session.expires_at.is_some_and(|at| now >= at) {
                    return Err(Close(dc::EXPIRED, "expired"));
                }
                if pong_deadline.is_some_and(|at| now >= at) {
                    return Err(Close(dc::NO_PONG, "no pong"));
                }
                if now >= next_ping {
                    out.push("{}".to_owned());
                    next_ping = now + ping_every;
                    if pong_deadline.is_none() {
                        pong_deadline = Some(now + state.config().pong_timeout);
                    }
                }
            }
            _ = shutdown.changed() => return Err(Close(dc::SHUTDOWN, "shutdown")),
        }
        if !out.is_empty() {
            send(state, socket, frame(out)).await?;
            out.clear();
        }
    }
}

async fn handle_command(
    state: &AppState,
    session: &mut Session,
    cmd: Command,
    out: &mut Vec<String>,
) -> Result<(), Close> {
    if cmd.connect.is_some() {
        return Err(Close(dc::BAD_REQUEST, "bad request"));
    }
    if let Some(refresh) = cmd.refresh {
        let claims = match state.verify_token(&refresh.token).await {
            Ok((app, claims)) if app.id == session.app && claims.sub == session.user => claims,
            Err(ApiError(body)) if body.code == ErrorCode::TokenExpired => {
                return Err(Close(dc::EXPIRED, "expired"));
            }
            Err(ApiError(body)) if body.code == ErrorCode::Internal => {
                out.push(error_reply(
                    cmd.id,
                    ec::INTERNAL,
                    "internal server error",
                    true,
                ));
                return Ok(());
            }
            _ => return Err(Close(dc::INVALID_TOKEN, "invalid token")),
        };
        let (ttl, left) = ttl_from_exp(claims.exp);
        session.expires_at = Some(Instant::now() + left + state.config().expiry_grace);
        let result = RefreshResult {
            client: session.client.clone(),
            version: VERSION.to_owned(),
            expires: true,
            ttl: ttl.max(1),
        };
        out.push(reply_json(&Reply {
            id: cmd.id,
            refresh: Some(result),
            ..Reply::default()
        }));
        return Ok(());
    }
    if cmd.id == 0 {
        // Asynchronous `send` and friends expect no reply.
        return Ok(());
    }
    if cmd.subscribe.is_some() {
        out.push(error_reply(
            cmd.id,
            ec::PERMISSION_DENIED,
            "permission denied",
            false,
        ));
    } else {
        out.push(error_reply(
            cmd.id,
            ec::METHOD_NOT_FOUND,
            "method not found",
            false,
        ));
    }
    Ok(())
}
