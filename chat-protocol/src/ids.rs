//! Identifier rules: user ids, channel ids, channel cids (`type:id`), reaction types and
//! client-generated UUIDv7 message ids. Validation lives here so the server and every SDK
//! reject the same inputs with the same reasons.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::limits::MAX_ID_LEN;
use crate::models::ChannelType;

/// Why an identifier was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Empty or longer than [`MAX_ID_LEN`] bytes.
    #[error("{what} must be 1..={MAX_ID_LEN} bytes long")]
    Length {
        /// Which kind of identifier.
        what: &'static str,
    },
    /// Contains a character outside the allowed set.
    #[error("{what} may only contain {allowed}")]
    Charset {
        /// Which kind of identifier.
        what: &'static str,
        /// Human description of the allowed characters.
        allowed: &'static str,
    },
    /// A cid that is not `type:id`, or whose type is unknown.
    #[error(
        "cid must look like `messaging:general` (type is one of messaging, team, livestream, commerce)"
    )]
    Cid,
    /// A message id that is not a UUID version 7.
    #[error("message ids must be client-generated UUIDv7 values")]
    NotUuidV7,
}

fn check(
    value: &str,
    what: &'static str,
    allowed: &'static str,
    ok: impl Fn(char) -> bool,
) -> Result<(), IdError> {
    if value.is_empty() || value.len() > MAX_ID_LEN {
        return Err(IdError::Length { what });
    }
    if !value.chars().all(ok) {
        return Err(IdError::Charset { what, allowed });
    }
    Ok(())
}

/// Validates a user id: `[A-Za-z0-9_@.=-]`, 1..=64 bytes.
pub fn validate_user_id(id: &str) -> Result<(), IdError> {
    check(id, "user id", "letters, digits and _ @ . = -", |c| {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | '.' | '=' | '-')
    })
}

/// Validates a channel id (the part after `type:`): `[A-Za-z0-9_-]`, 1..=64 bytes.
pub fn validate_channel_id(id: &str) -> Result<(), IdError> {
    check(id, "channel id", "letters, digits, _ and -", |c| {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '-')
    })
}

/// Validates a reaction type such as `like` or `+1`: `[a-z0-9_+-]`, 1..=64 bytes.
pub fn validate_reaction_type(kind: &str) -> Result<(), IdError> {
    check(
        kind,
        "reaction type",
        "lowercase letters, digits and _ + -",
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '+' | '-'),
    )
}

/// Validates that a message id is a UUID version 7 (time-ordered, client generated).
pub fn validate_message_id(id: &Uuid) -> Result<(), IdError> {
    if id.get_version_num() == 7 && id.get_variant() == uuid::Variant::RFC4122 {
        Ok(())
    } else {
        Err(IdError::NotUuidV7)
    }
}

/// A channel's app-unique address, `type:id`, e.g. `messaging:general`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cid {
    kind: ChannelType,
    id: String,
}

impl Cid {
    /// Builds a cid from a channel type and a validated channel id.
    pub fn new(kind: ChannelType, id: &str) -> Result<Self, IdError> {
        validate_channel_id(id)?;
        Ok(Self {
            kind,
            id: id.to_owned(),
        })
    }

    /// The channel type.
    pub fn kind(&self) -> ChannelType {
        self.kind
    }

    /// The channel id (without the type prefix).
    pub fn id(&self) -> &str {
        &self.id
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Cid {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .pattern(Some(
                "^(messaging|team|livestream|commerce):[A-Za-z0-9_-]{1,64}$",
            ))
            .examples([serde_json::json!("messaging:general")])
            .description(Some("Channel address `type:id`"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Cid {}

impl fmt::Display for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.id)
    }
}

impl FromStr for Cid {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, id) = s.split_once(':').ok_or(IdError::Cid)?;
        let kind = kind.parse::<ChannelType>().map_err(|_| IdError::Cid)?;
        Self::new(kind, id)
    }
}

impl TryFrom<String> for Cid {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Cid> for String {
    fn from(value: Cid) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cid_round_trips_and_rejects_garbage() {
        let cid: Cid = "team:ops-1".parse().unwrap();
        assert_eq!(cid.kind(), ChannelType::Team);
        assert_eq!(cid.to_string(), "team:ops-1");
        assert_eq!("nope:x".parse::<Cid>(), Err(IdError::Cid));
        assert_eq!("messaging".parse::<Cid>(), Err(IdError::Cid));
        assert!("messaging:".parse::<Cid>().is_err());
        assert!("messaging:a b".parse::<Cid>().is_err());
    }

    #[test]
    fn ids_are_validated() {
        assert!(validate_user_id("alice@example.com").is_ok());
        assert!(validate_user_id("").is_err());
        assert!(validate_user_id(&"x".repeat(65)).is_err());
        assert!(validate_user_id("a/b").is_err());
        assert!(validate_reaction_type("+1").is_ok());
        assert!(validate_reaction_type("Like").is_err());
        assert!(validate_message_id(&Uuid::now_v7()).is_ok());
        assert_eq!(validate_message_id(&Uuid::nil()), Err(IdError::NotUuidV7));
    }
}
