//! User tokens (HS256 JWTs signed with the app secret) and server-side credentials
//! (`Authorization: Basic base64(api_key:api_secret)`).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chat_protocol::ids::validate_user_id;
use chat_protocol::token::UserClaims;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};

/// Seconds of clock skew tolerated on `exp`.
pub const EXP_LEEWAY_SECS: i64 = 5;
/// Seconds of clock skew tolerated on `nbf` and `iat` (the minting backend's clock may run
/// ahead of this server's).
pub const ISSUE_LEEWAY_SECS: i64 = 60;
/// Longest accepted token lifetime (`exp - iat`): 30 days, the lifetime of dev mode's
/// demo tokens. Longer-lived tokens are refused, so a leaked token cannot stay valid for
/// years.
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 30 * 86_400;

/// Why credentials were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No usable `Authorization` header.
    #[error("missing or malformed Authorization header")]
    Missing,
    /// The token is malformed, for an unknown app, or its signature is wrong.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The token has expired.
    #[error("token expired")]
    Expired,
    /// The token's `nbf` or `iat` lies in the future (beyond the leeway).
    #[error("token not yet valid: {0}")]
    NotYetValid(&'static str),
    /// The token's lifetime (`exp - iat`) exceeds [`MAX_TOKEN_LIFETIME_SECS`].
    #[error("token lifetime exceeds the maximum of {MAX_TOKEN_LIFETIME_SECS} seconds")]
    TooLong,
    /// Wrong api key or secret.
    #[error("invalid api key or secret")]
    BadSecret,
}

/// Mints a user token valid for `ttl_secs` (tokens longer than
/// [`MAX_TOKEN_LIFETIME_SECS`] are refused by [`verify_user_token`]).
pub fn mint_user_token(app_id: &str, secret: &str, user_id: &str, ttl_secs: u64) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = UserClaims {
        sub: user_id.to_owned(),
        app: app_id.to_owned(),
        iat: now,
        exp: now.saturating_add(i64::try_from(ttl_secs).unwrap_or(i64::MAX)),
    };
    // HS256 encoding of a plain struct cannot fail.
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap_or_default()
}

/// Reads the `app` claim without verifying, to find the secret to verify with.
pub fn unverified_app(token: &str) -> Result<String, AuthError> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| AuthError::Invalid("not a JWT".into()))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| AuthError::Invalid("payload is not base64url".into()))?;
    #[derive(serde::Deserialize)]
    struct AppOnly {
        app: String,
    }
    serde_json::from_slice::<AppOnly>(&bytes)
        .map(|c| c.app)
        .map_err(|_| AuthError::Invalid("no app claim".into()))
}

/// Verifies a user token against the app secret: the signature, `exp` (with
/// [`EXP_LEEWAY_SECS`]), `nbf` when present and `iat` (neither in the future beyond
/// [`ISSUE_LEEWAY_SECS`]), the lifetime (`exp - iat` at most [`MAX_TOKEN_LIFETIME_SECS`]),
/// the app and the syntax of `sub`.
pub fn verify_user_token(token: &str, app_id: &str, secret: &str) -> Result<UserClaims, AuthError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = EXP_LEEWAY_SECS as u64;
    // `nbf` is checked below with the issue leeway.
    validation.validate_nbf = false;
    // `aud` is not part of OnyxChat tokens; ignore it if a customer's JWT library adds one.
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let data = jsonwebtoken::decode::<UserClaims>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
        _ => AuthError::Invalid(e.to_string()),
    })?;
    let claims = data.claims;
    check_issue_times(&claims, nbf_claim(token), chrono::Utc::now().timestamp())?;
    if claims.app != app_id {
        return Err(AuthError::Invalid("token is for another app".into()));
    }
    validate_user_id(&claims.sub).map_err(|e| AuthError::Invalid(e.to_string()))?;
    Ok(claims)
}

/// The optional `nbf` claim of a token whose signature has been verified.
fn nbf_claim(token: &str) -> Option<i64> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    #[derive(serde::Deserialize)]
    struct NbfOnly {
        nbf: Option<i64>,
    }
    serde_json::from_slice::<NbfOnly>(&bytes).ok()?.nbf
}

/// Refuses tokens not valid yet (`nbf`, `iat` in the future) or living too long.
fn check_issue_times(claims: &UserClaims, nbf: Option<i64>, now: i64) -> Result<(), AuthError> {
    if nbf.is_some_and(|nbf| nbf > now.saturating_add(ISSUE_LEEWAY_SECS)) {
        return Err(AuthError::NotYetValid("nbf is in the future"));
    }
    if claims.iat > now.saturating_add(ISSUE_LEEWAY_SECS) {
        return Err(AuthError::NotYetValid("iat is in the future"));
    }
    if claims.exp.saturating_sub(claims.iat) > MAX_TOKEN_LIFETIME_SECS {
        return Err(AuthError::TooLong);
    }
    Ok(())
}

/// Parses `Basic base64(key:secret)`.
pub fn parse_basic(value: &str) -> Result<(String, String), AuthError> {
    let encoded = value.strip_prefix("Basic ").ok_or(AuthError::Missing)?;
    let raw = STANDARD
        .decode(encoded.trim())
        .map_err(|_| AuthError::Missing)?;
    let text = String::from_utf8(raw).map_err(|_| AuthError::Missing)?;
    let (key, secret) = text.split_once(':').ok_or(AuthError::Missing)?;
    Ok((key.to_owned(), secret.to_owned()))
}

/// Compares secrets in time independent of where they differ.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_checked() {
        let t = mint_user_token("app_1", "s3cret", "alice", 60);
        assert_eq!(unverified_app(&t).unwrap(), "app_1");
        assert_eq!(
            verify_user_token(&t, "app_1", "s3cret").unwrap().sub,
            "alice"
        );
        assert!(matches!(
            verify_user_token(&t, "app_1", "wrong"),
            Err(AuthError::Invalid(_))
        ));
        assert!(matches!(
            verify_user_token(&t, "app_2", "s3cret"),
            Err(AuthError::Invalid(_))
        ));
        let now = chrono::Utc::now().timestamp();
        let old = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &UserClaims {
                sub: "a".into(),
                app: "app_1".into(),
                iat: now - 100,
                exp: now - 60,
            },
            &EncodingKey::from_secret(b"s3cret"),
        )
        .unwrap();
        assert_eq!(
            verify_user_token(&old, "app_1", "s3cret"),
            Err(AuthError::Expired)
        );
        assert!(unverified_app("garbage").is_err());
    }

    #[test]
    fn basic_credentials() {
        let header = format!("Basic {}", STANDARD.encode("key_1:sec"));
        assert_eq!(
            parse_basic(&header).unwrap(),
            ("key_1".into(), "sec".into())
        );
        assert!(parse_basic("Bearer x").is_err());
        assert!(
            secrets_equal("abc", "abc")
                && !secrets_equal("abc", "abd")
                && !secrets_equal("a", "ab")
        );
    }
}
