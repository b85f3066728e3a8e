//! `serve --dev`: the loopback-only rule and the demo app (users, channels, credentials and
//! 30-day tokens printed, and served at `GET /v1/dev/session`).

use std::net::SocketAddr;

use anyhow::{Context, bail};
use chat_protocol::{ChannelType, Cid, CreateChannelRequest, UserInput};
use chat_server::api::cors;
use chat_server::auth::mint_user_token;
use chat_server::store::{NewChannel, Store};

/// Whether dev mode may listen on `addr`: loopback only, unless forced.
pub fn check_dev_addr(addr: SocketAddr, allow_remote: bool) -> anyhow::Result<()> {
    if !addr.ip().is_loopback() && !allow_remote {
        bail!(
            "--dev serves every demo user's token without authentication, so it listens only \
             on loopback (127.0.0.1 or ::1), not {addr}; pass --dev-allow-remote to force it"
        );
    }
    Ok(())
}

const DEMO_USERS: &[(&str, &str)] = &[
    ("alice", "Alice Liddell"),
    ("bob", "Bob Marley"),
    ("carol", "Carol Danvers"),
    ("dave", "Dave Bowman"),
];

/// Ensures the demo app, users and channels; prints credentials and tokens; returns the
/// session served at `GET /v1/dev/session`.
pub async fn dev_setup(store: &dyn Store, base: &str) -> anyhow::Result<serde_json::Value> {
    let app = match store.app_by_name("demo").await? {
        Some(app) => app,
        None => {
            store.create_app("demo").await?;
            store
                .app_by_name("demo")
                .await?
                .context("demo app vanished")?
        }
    };
    let users = DEMO_USERS
        .iter()
        .map(|(id, name)| UserInput {
            id: (*id).to_owned(),
            name: Some((*name).to_owned()),
            image: None,
            custom: Default::default(),
        })
        .collect();
    store.upsert_users(&app.id, users).await?;
    // The demo may be served from any origin (a dev server, another port): `*` is honoured
    // only while the server runs in dev mode.
    let mut settings = store.app_settings(&app.id).await?;
    if !settings.cors_origins.iter().any(|o| o == cors::ANY_ORIGIN) {
        settings.cors_origins.push(cors::ANY_ORIGIN.to_owned());
        store.set_app_settings(&app.id, settings).await?;
    }
    let everyone: Vec<String> = DEMO_USERS.iter().map(|(id, _)| (*id).to_owned()).collect();
    // `team:general` has everyone; Alice & Bob's conversation is a distinct channel, its
    // cid derived from the pair (`messaging:!members-…`), as the SDKs' open-distinct call
    // computes it.
    let general = CreateChannelRequest {
        id: Some("general".to_owned()),
        name: Some("General".to_owned()),
        members: everyone,
        ..CreateChannelRequest::new(ChannelType::Team)
    };
    let alice_bob = CreateChannelRequest {
        name: Some("Alice & Bob".to_owned()),
        ..CreateChannelRequest::distinct(ChannelType::Messaging, vec!["bob".to_owned()])
    };
    for req in [general, alice_bob] {
        let cid = match &req.id {
            Some(id) => Cid::new(req.kind, id)?,
            None => Cid::distinct(req.kind, "alice", &req.members),
        };
        store
            .create_channel(&app.id, "alice", NewChannel { cid, req })
            .await?;
    }
    println!("OnyxChat dev mode: server at {base}");
    println!("  app_id:     {}", app.id);
    println!("  api_key:    {}", app.api_key);
    println!("  api_secret: {}", app.api_secret);
    println!("  user tokens (valid 30 days):");
    let mut session_users = Vec::new();
    for (id, name) in DEMO_USERS {
        let token = mint_user_token(&app.id, &app.api_secret, id, 30 * 86_400);
        println!("    {id:<6} {token}");
        session_users.push(serde_json::json!({ "id": id, "name": name, "token": token }));
    }
    Ok(serde_json::json!({ "app_id": app.id, "users": session_users }))
}
