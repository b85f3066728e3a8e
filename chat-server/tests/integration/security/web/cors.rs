//! CORS and the WebSocket's `Origin` check, and the app settings that drive them.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use chat_test::{TestServer, expired_token, token};

const APP_ORIGIN: &str = "http://app.example.test:5173";
const EVIL_ORIGIN: &str = "http://evil.example.test";

fn code(b: &Value) -> &str {
    b["code"].as_str().unwrap_or_default()
}

/// Sends a request with an `Origin`; returns the status, the allowed origin header and
/// the body.
async fn with_origin(
    t: &TestServer,
    method: Method,
    path: &str,
    origin: &str,
    auth: Option<&str>,
    extra: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let mut req = t
        .http
        .request(method, format!("{}{path}", t.server.base_url()))
        .header("origin", origin);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let allow = resp
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, allow, resp.text().await.unwrap())
}

async fn preflight(t: &TestServer, origin: &str) -> (StatusCode, Option<String>, String) {
    with_origin(
        t,
        Method::OPTIONS,
        "/v1/sync",
        origin,
        None,
        &[
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "authorization"),
        ],
    )
    .await
}

async fn allow(t: &TestServer, app: &chat_protocol::AppCredentials, origins: &[&str]) -> Value {
    let (s, b) = t
        .admin(app)
        .request(
            Method::PUT,
            "/v1/app/settings",
            Some(json!({ "cors_origins": origins })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

#[tokio::test]
async fn only_an_allowed_origin_may_read_the_apps_answers() {
    let t = TestServer::start().await;
    let (a, b) = (t.app("a").await, t.app("b").await);
    // Before any app allows it, a preflight from the app's origin fails: no CORS headers.
    let (s, allow_origin, body) = preflight(&t, APP_ORIGIN).await;
    assert_eq!((s, allow_origin), (StatusCode::FORBIDDEN, None), "{body}");
    allow(&t, &a, &[APP_ORIGIN]).await;
    let (s, allow_origin, _) = preflight(&t, APP_ORIGIN).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(allow_origin.as_deref(), Some(APP_ORIGIN));
    let (s, allow_origin, _) = preflight(&t, EVIL_ORIGIN).await;
    assert_eq!((s, allow_origin), (StatusCode::FORBIDDEN, None));
    // The answer itself is readable only with a token of an app that allows the origin.
    let alice_a = format!("Bearer {}", token(&a, "alice", 600));
    let alice_b = format!("Bearer {}", token(&b, "alice", 600));
    let get = |auth: String, origin: &'static str| {
        let t = &t;
        async move { with_origin(t, Method::GET, "/v1/sync", origin, Some(&auth), &[]).await }
    };
    let (s, allow_origin, _) = get(alice_a.clone(), APP_ORIGIN).await;
    assert_eq!(
        (s, allow_origin.as_deref()),
        (StatusCode::OK, Some(APP_ORIGIN))
    );
    let (s, allow_origin, _) = get(alice_b, APP_ORIGIN).await;
    assert_eq!(
        (s, allow_origin),
        (StatusCode::OK, None),
        "app b allows no origin"
    );
    let (s, allow_origin, _) = get(alice_a, EVIL_ORIGIN).await;
    assert_eq!((s, allow_origin), (StatusCode::OK, None));
    // An expired token's 401 stays readable, so the web SDK can refresh it.
    let expired = format!("Bearer {}", expired_token(&a, "alice"));
    let (s, allow_origin, body) = get(expired, APP_ORIGIN).await;
    assert_eq!(
        (s, allow_origin.as_deref()),
        (StatusCode::UNAUTHORIZED, Some(APP_ORIGIN))
    );
    assert!(body.contains("token_expired"), "{body}");
    // Server-side credentials name their app by key.
    let (_, allow_origin, _) = with_origin(
        &t,
        Method::GET,
        "/v1/app/settings",
        APP_ORIGIN,
        Some(&t.admin(&b).auth),
        &[],
    )
    .await;
    assert_eq!(allow_origin, None);
    // The server's own origin (the demo served by --static-dir) needs no CORS at all.
    let own = t.server.base_url();
    let (s, allow_origin, _) = with_origin(
        &t,
        Method::GET,
        "/v1/sync",
        &own,
        Some(&format!("Bearer {}", token(&b, "alice", 600))),
        &[],
    )
    .await;
    assert_eq!((s, allow_origin), (StatusCode::OK, None));
}

#[tokio::test]
async fn app_settings_are_server_side_validated_and_star_is_dev_only() {
    let t = TestServer::start().await;
    let a = t.app("a").await;
    let admin = t.admin(&a);
    let (s, b) = admin.get("/v1/app/settings").await;
    assert_eq!((s, b), (StatusCode::OK, json!({"cors_origins": []})));
    let put = |body: Value| {
        let admin = admin.clone();
        async move {
            admin
                .request(Method::PUT, "/v1/app/settings", Some(body))
                .await
        }
    };
    // a user token can neither read nor change them
    let user = t.user(&a, "alice");
    let (s, b) = user.get("/v1/app/settings").await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, b) = user
        .request(
            Method::PUT,
            "/v1/app/settings",
            Some(json!({"cors_origins": [EVIL_ORIGIN]})),
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "forbidden"));
    for bad in [
        "*",
        "https://*.example.com",
        "https://app.example.com/",
        "https://app.example.com/path",
        "app.example.com",
        "file://x",
        "null",
        "https://app.example.com:70000",
    ] {
        let (s, b) = put(json!({ "cors_origins": [bad] })).await;
        assert_eq!(
            (s, code(&b)),
            (StatusCode::BAD_REQUEST, "validation_failed"),
            "{bad}: {b}"
        );
    }
    let (s, b) = put(json!({"cors_origins": ["HTTPS://App.Example.com:443", "http://localhost:5173", "https://app.example.com"]})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        b,
        json!({"cors_origins": ["https://app.example.com", "http://localhost:5173"]})
    );
    assert_eq!(admin.get("/v1/app/settings").await.1, b);
    // In dev mode `*` is accepted and matches any origin; the same stored `*` matches
    // nothing on a server that is not in dev mode (shown by the non-dev answers above).
    t.server.state.set_dev_session(json!({}));
    let (s, b) = put(json!({"cors_origins": ["*"]})).await;
    assert_eq!((s, b), (StatusCode::OK, json!({"cors_origins": ["*"]})));
    let (s, allow_origin, _) = preflight(&t, EVIL_ORIGIN).await;
    assert_eq!(
        (s, allow_origin.as_deref()),
        (StatusCode::NO_CONTENT, Some(EVIL_ORIGIN))
    );
}

#[tokio::test]
async fn a_stored_star_is_ignored_outside_dev_mode() {
    let t = TestServer::start().await;
    let a = t.app("a").await;
    t.server
        .store
        .set_app_settings(
            &a.app_id,
            chat_protocol::AppSettings {
                cors_origins: vec!["*".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (s, allow_origin, _) = preflight(&t, EVIL_ORIGIN).await;
    assert_eq!((s, allow_origin), (StatusCode::FORBIDDEN, None));
}

/// Opens a WebSocket with an `Origin`, sends `connect`, and returns how the server answered:
/// `Ok(reply)` or `Err(close code)`.
async fn ws_connect(t: &TestServer, origin: Option<&str>, token: &str) -> Result<Value, u16> {
    let mut req = t.server.websocket_url().into_client_request().unwrap();
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(req),
    )
    .await
    .expect("handshake in time")
    .expect("handshake");
    let connect = json!({"id": 1, "connect": {"token": token}}).to_string();
    ws.send(Message::text(connect)).await.unwrap();
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("an answer in time")
            .expect("a frame")
            .expect("no transport error");
        match frame {
            Message::Text(text) => {
                let v: Value = serde_json::from_str(text.as_str()).unwrap();
                if v.get("id").is_some() {
                    return Ok(v);
                }
            }
            Message::Close(Some(close)) => return Err(u16::from(close.code)),
            Message::Close(None) => return Err(u16::from(CloseCode::Status)),
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_websocket_from_a_foreign_page_is_refused_at_connect() {
    let t = TestServer::start().await;
    let a = t.app("a").await;
    allow(&t, &a, &[APP_ORIGIN]).await;
    let alice = token(&a, "alice", 600);
    let code = ws_connect(&t, Some(EVIL_ORIGIN), &alice).await.unwrap_err();
    assert_eq!(
        code,
        chat_protocol::realtime::disconnect_codes::ORIGIN_NOT_ALLOWED
    );
    let reply = ws_connect(&t, Some(APP_ORIGIN), &alice).await.unwrap();
    assert!(reply.get("connect").is_some(), "{reply}");
    // native clients send no Origin; the server's own pages send its own
    let reply = ws_connect(&t, None, &alice).await.unwrap();
    assert!(reply.get("connect").is_some(), "{reply}");
    let own = t.server.base_url();
    let reply = ws_connect(&t, Some(&own), &alice).await.unwrap();
    assert!(reply.get("connect").is_some(), "{reply}");
    // another app's allowed origin does not open this app's WebSocket
    let b = t.app("b").await;
    let bob = token(&b, "bob", 600);
    let code = ws_connect(&t, Some(APP_ORIGIN), &bob).await.unwrap_err();
    assert_eq!(
        code,
        chat_protocol::realtime::disconnect_codes::ORIGIN_NOT_ALLOWED
    );
}

#[tokio::test]
async fn origins_changed_behind_the_servers_back_apply_within_the_refresh_time() {
    // What `chat-server app cors` does on a running server: it writes the database
    // directly, so the server only sees it when its cache refreshes.
    let t = TestServer::start().await;
    let a = t.app("a").await;
    assert_eq!(preflight(&t, APP_ORIGIN).await.0, StatusCode::FORBIDDEN);
    t.server
        .store
        .set_app_settings(
            &a.app_id,
            chat_protocol::AppSettings {
                cors_origins: vec![APP_ORIGIN.into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + chat_server::api::cors::REFRESH * 4;
    loop {
        let (s, allow_origin, _) = preflight(&t, APP_ORIGIN).await;
        if s == StatusCode::NO_CONTENT {
            assert_eq!(allow_origin.as_deref(), Some(APP_ORIGIN));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never applied");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
