//! Identifier rules: user ids, channel ids, channel cids (`type:id`), reaction types and
//! client-generated UUIDv7 message ids. Validation lives here so the server and every SDK
//! reject the same inputs with the same reasons.
//!
//! Distinct channels (1:1 and group conversations defined by their member set) have an id
//! derived from that set, [`distinct_channel_id`], so the server and every SDK compute the
//! same cid offline: `!members-` followed by the first 40 hex digits of SHA-256 over the
//! sorted, deduplicated member ids joined with `,`. The leading `!` is reserved for this
//! form: no other channel id may contain it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
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

/// Validates a channel id (the part after `type:`): `[A-Za-z0-9_-]`, 1..=64 bytes, or the
/// reserved distinct form `!members-` + 40 lowercase hex digits ([`is_distinct_channel_id`]).
pub fn validate_channel_id(id: &str) -> Result<(), IdError> {
    if is_distinct_channel_id(id) {
        return Ok(());
    }
    check(
        id,
        "channel id",
        "letters, digits, _ and - (a leading `!` only in the derived `!members-` ids of distinct channels)",
        |c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'),
    )
}

/// The prefix of every distinct channel id; `!` appears in no other channel id.
pub const DISTINCT_PREFIX: &str = "!members-";

/// Hex digits of SHA-256 kept in a distinct channel id (160 bits).
pub const DISTINCT_HASH_HEX: usize = 40;

/// Whether `id` has the shape of a derived distinct channel id: `!members-` followed by
/// exactly 40 lowercase hex digits. (Whether it matches a member set is
/// [`distinct_channel_id`]'s to say.)
pub fn is_distinct_channel_id(id: &str) -> bool {
    id.strip_prefix(DISTINCT_PREFIX).is_some_and(|hash| {
        hash.len() == DISTINCT_HASH_HEX
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The defining member set of a distinct channel: `members` plus `creator`, deduplicated
/// and sorted by byte order.
pub fn distinct_members<S: AsRef<str>>(creator: &str, members: &[S]) -> Vec<String> {
    let mut set: Vec<String> = members.iter().map(|m| m.as_ref().to_owned()).collect();
    set.push(creator.to_owned());
    set.sort();
    set.dedup();
    set
}

/// The channel id of the distinct channel whose member set is `members` ∪ {`creator`}:
/// `!members-` + the first 40 hex digits of SHA-256 over the sorted ids joined with `,`
/// (user ids cannot contain `,`). The same set gives the same id whoever creates it.
pub fn distinct_channel_id<S: AsRef<str>>(creator: &str, members: &[S]) -> String {
    let set = distinct_members(creator, members);
    let digest = Sha256::digest(set.join(",").as_bytes());
    let mut id = String::with_capacity(DISTINCT_PREFIX.len() + DISTINCT_HASH_HEX);
    id.push_str(DISTINCT_PREFIX);
    for byte in &digest[..DISTINCT_HASH_HEX / 2] {
        id.push_str(&format!("{byte:02x}"));
    }
    id
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

    /// The cid of the distinct channel of type `kind` whose member set is `members` ∪
    /// {`creator`} (see [`distinct_channel_id`]).
    pub fn distinct<S: AsRef<str>>(kind: ChannelType, creator: &str, members: &[S]) -> Self {
        Self {
            kind,
            id: distinct_channel_id(creator, members),
        }
    }

    /// Whether this is a distinct channel's derived cid (`!members-…`).
    pub fn is_distinct(&self) -> bool {
        is_distinct_channel_id(&self.id)
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
                "^(messaging|team|livestream|commerce):([A-Za-z0-9_-]{1,64}|!members-[0-9a-f]{40})$",
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

    #[test]
    fn distinct_ids_are_derived_from_the_member_set() {
        let a = distinct_channel_id("alice", &["bob"]);
        // Same set, any creator, any order, duplicates ignored.
        assert_eq!(a, distinct_channel_id("bob", &["alice"]));
        assert_eq!(a, distinct_channel_id("alice", &["bob", "alice", "bob"]));
        // Pinned: SHA-256("alice,bob") starts with these 40 hex digits.
        assert_eq!(a, "!members-f0e50e8fced90be1bda596553cfabf29ecee5669");
        assert_ne!(a, distinct_channel_id("alice", &["bob", "mallory"]));
        assert_eq!(
            distinct_members("carol", &["bob", "alice"]),
            ["alice", "bob", "carol"]
        );
        assert!(is_distinct_channel_id(&a));
        assert!(validate_channel_id(&a).is_ok());
        let cid = Cid::distinct(ChannelType::Messaging, "bob", &["alice"]);
        assert!(cid.is_distinct());
        assert_eq!(cid.to_string().parse::<Cid>(), Ok(cid.clone()));
        assert_eq!(cid.id(), a);
    }

    #[test]
    fn the_bang_is_reserved_for_derived_ids() {
        for bad in [
            "!general",
            "!members-",
            "!members-B3F2AE2E0AA4B02EC9B9A84C00FB35F4B4D2A4C4",
            "!members-b3f2ae2e0aa4b02ec9b9a84c00fb35f4b4d2a4c",
            "!members-b3f2ae2e0aa4b02ec9b9a84c00fb35f4b4d2a4c4a",
            "!members-g3f2ae2e0aa4b02ec9b9a84c00fb35f4b4d2a4c4",
            "a!members-f0e50e8fced90be1bda596553cfabf29ecee5669",
        ] {
            assert!(validate_channel_id(bad).is_err(), "{bad}");
            assert!(Cid::new(ChannelType::Messaging, bad).is_err(), "{bad}");
        }
    }
}
