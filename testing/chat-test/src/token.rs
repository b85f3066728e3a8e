//! User tokens as an app's backend mints them (HS256 with the app's secret).
//!
//! Rules: valid tokens come from chat-server's own minting function, so they are exactly
//! what the server accepts; only tokens the server must refuse are built by hand here.

use chat_protocol::AppCredentials;
use chat_server::auth::mint_user_token;

/// A token of `user` valid for `ttl` seconds.
pub fn token(app: &AppCredentials, user: &str, ttl: u64) -> String {
    mint_user_token(&app.app_id, &app.api_secret, user, ttl)
}

/// A token of `user` that expired a minute ago (beyond the verifier's leeway).
pub fn expired_token(app: &AppCredentials, user: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = chat_protocol::token::UserClaims {
        sub: user.to_owned(),
        app: app.app_id.clone(),
        iat: now - 120,
        exp: now - 60,
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(app.api_secret.as_bytes()),
    )
    .expect("encode")
}
