//! User token claims. A user token is a JWT signed with HS256 and the app's `api_secret`;
//! customers' backends mint them with any JWT library (see docs/protocol.md).

use serde::{Deserialize, Serialize};

/// The claims of a user token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserClaims {
    /// The user id.
    pub sub: String,
    /// The app id the user belongs to.
    pub app: String,
    /// Issued-at, seconds since the Unix epoch.
    pub iat: i64,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
}
