//! Hard limits of the protocol and the checks that apply them, shared so that the server
//! and every SDK accept exactly the same inputs: the server answers a broken limit with
//! `400 validation_failed` and [`LimitError`]'s message, the SDKs refuse it before
//! queueing. Content is checked through these functions, never by comparing against the
//! numbers elsewhere.

use serde_json::Value;

use crate::ids::{IdError, validate_reaction_type, validate_user_id};

/// Largest accepted request body, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest message text, in Unicode scalar values.
pub const MAX_TEXT_CHARS: usize = 5_000;
/// Most attachments on one message.
pub const MAX_ATTACHMENTS: usize = 30;
/// Most mentioned users on one message.
pub const MAX_MENTIONS: usize = 100;
/// Largest page of messages (`limit` on message lists).
pub const MAX_MESSAGE_PAGE: u32 = 200;
/// Default page of messages.
pub const DEFAULT_MESSAGE_PAGE: u32 = 50;
/// Largest page of `/v1/sync` changes.
pub const MAX_SYNC_PAGE: u32 = 1_000;
/// Default page of `/v1/sync` changes.
pub const DEFAULT_SYNC_PAGE: u32 = 500;
/// Largest page of channels in a channel query.
pub const MAX_CHANNEL_PAGE: u32 = 100;
/// Default page of channels in a channel query.
pub const DEFAULT_CHANNEL_PAGE: u32 = 20;
/// Most users or members in one upsert / add-members request, and most messages in one
/// batch send.
pub const MAX_BATCH: usize = 100;
/// Largest accepted body of a batch send (`POST /v1/channels/{type}/{id}/messages/batch`),
/// in bytes; every other request is held to [`MAX_BODY_BYTES`].
pub const MAX_SEND_BATCH_BYTES: usize = 1024 * 1024;
/// Longest user id, channel id or reaction type, in bytes.
pub const MAX_ID_LEN: usize = 64;
/// Longest name or image URL, in bytes.
pub const MAX_NAME_LEN: usize = 1_024;

// ---------------------------------------------------------------------------------------
// Checks: the one definition of these limits. The server answers a broken one with
// `400 validation_failed` and the error's message; the SDKs refuse it before queueing.
// ---------------------------------------------------------------------------------------

/// Which limit an input broke; the message names the field, the limit and, where it
/// helps, the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// Message text over [`MAX_TEXT_CHARS`].
    #[error("text is {chars} characters; the limit is {MAX_TEXT_CHARS}")]
    TextTooLong {
        /// The text's length in Unicode scalar values.
        chars: usize,
    },
    /// More than [`MAX_ATTACHMENTS`] attachments.
    #[error("{count} attachments; the limit is {MAX_ATTACHMENTS}")]
    TooManyAttachments {
        /// How many were given.
        count: usize,
    },
    /// An attachment that is not a JSON object.
    #[error("attachment {index} is not a JSON object; every attachment must be one")]
    AttachmentNotObject {
        /// Its position (0-based).
        index: usize,
    },
    /// More than [`MAX_MENTIONS`] mentioned users.
    #[error("{count} mentioned users; the limit is {MAX_MENTIONS}")]
    TooManyMentions {
        /// How many were given.
        count: usize,
    },
    /// A mentioned user id that is not a valid user id.
    #[error("mentioned user {index}: {error}")]
    InvalidMention {
        /// Its position (0-based).
        index: usize,
        /// What is wrong with it.
        error: IdError,
    },
    /// More than [`MAX_BATCH`] initial members of a new channel.
    #[error("{count} initial members; the limit is {MAX_BATCH}")]
    TooManyMembers {
        /// How many were given.
        count: usize,
    },
    /// An initial member id that is not a valid user id.
    #[error("member {index}: {error}")]
    InvalidMember {
        /// Its position (0-based).
        index: usize,
        /// What is wrong with it.
        error: IdError,
    },
    /// A reaction type that is not valid (it becomes a path segment).
    #[error(transparent)]
    ReactionType(IdError),
    /// A name or URL over [`MAX_NAME_LEN`] bytes.
    #[error("{field} is longer than {MAX_NAME_LEN} bytes")]
    NameTooLong {
        /// The field (`name`, `image`).
        field: &'static str,
    },
    /// A batch that is empty or holds more than [`MAX_BATCH`] entries.
    #[error("{field} must hold 1..={MAX_BATCH} entries, not {count}")]
    BatchSize {
        /// The field (`users`, `members`, `messages`).
        field: &'static str,
        /// How many were given.
        count: usize,
    },
    /// A page size outside its range.
    #[error("{field} must be within {min}..={max}, not {value}")]
    PageSize {
        /// The parameter (`limit`, `message_limit`).
        field: &'static str,
        /// The value given.
        value: u32,
        /// Smallest allowed.
        min: u32,
        /// Largest allowed.
        max: u32,
    },
}

/// Checks message text: at most [`MAX_TEXT_CHARS`] Unicode scalar values.
pub fn check_text(text: &str) -> Result<(), LimitError> {
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(LimitError::TextTooLong { chars });
    }
    Ok(())
}

/// Checks attachments: at most [`MAX_ATTACHMENTS`], each a JSON object.
pub fn check_attachments(items: &[Value]) -> Result<(), LimitError> {
    if items.len() > MAX_ATTACHMENTS {
        return Err(LimitError::TooManyAttachments { count: items.len() });
    }
    match items.iter().position(|v| !v.is_object()) {
        Some(index) => Err(LimitError::AttachmentNotObject { index }),
        None => Ok(()),
    }
}

/// Checks mentioned user ids: at most [`MAX_MENTIONS`], each a valid user id.
pub fn check_mentions(ids: &[String]) -> Result<(), LimitError> {
    if ids.len() > MAX_MENTIONS {
        return Err(LimitError::TooManyMentions { count: ids.len() });
    }
    for (index, id) in ids.iter().enumerate() {
        validate_user_id(id).map_err(|error| LimitError::InvalidMention { index, error })?;
    }
    Ok(())
}

/// Checks a message's content (a send, or the fields an edit replaces): text,
/// attachments and mentions, in that order.
pub fn check_message_content(
    text: &str,
    attachments: &[Value],
    mentions: &[String],
) -> Result<(), LimitError> {
    check_text(text)?;
    check_attachments(attachments)?;
    check_mentions(mentions)
}

/// Checks a new channel's initial members: at most [`MAX_BATCH`] (none is fine), each a
/// valid user id.
pub fn check_members(ids: &[String]) -> Result<(), LimitError> {
    if ids.len() > MAX_BATCH {
        return Err(LimitError::TooManyMembers { count: ids.len() });
    }
    for (index, id) in ids.iter().enumerate() {
        validate_user_id(id).map_err(|error| LimitError::InvalidMember { index, error })?;
    }
    Ok(())
}

/// Checks a reaction type (see [`validate_reaction_type`]).
pub fn check_reaction_type(kind: &str) -> Result<(), LimitError> {
    validate_reaction_type(kind).map_err(LimitError::ReactionType)
}

/// Checks an optional name or URL field: at most [`MAX_NAME_LEN`] bytes.
pub fn check_name(field: &'static str, value: Option<&str>) -> Result<(), LimitError> {
    match value {
        Some(v) if v.len() > MAX_NAME_LEN => Err(LimitError::NameTooLong { field }),
        _ => Ok(()),
    }
}

/// Checks a batch: 1..=[`MAX_BATCH`] entries.
pub fn check_batch<T>(field: &'static str, items: &[T]) -> Result<(), LimitError> {
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(LimitError::BatchSize {
            field,
            count: items.len(),
        });
    }
    Ok(())
}

/// Checks an optional page size against `min..=max` (e.g. `1..=`[`MAX_MESSAGE_PAGE`]).
pub fn check_page(
    field: &'static str,
    value: Option<u32>,
    min: u32,
    max: u32,
) -> Result<(), LimitError> {
    match value {
        Some(value) if value < min || value > max => Err(LimitError::PageSize {
            field,
            value,
            min,
            max,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn content_at_the_limits_passes_and_one_over_fails() {
        assert_eq!(check_text(&"é".repeat(MAX_TEXT_CHARS)), Ok(()));
        assert_eq!(
            check_text(&"é".repeat(MAX_TEXT_CHARS + 1)),
            Err(LimitError::TextTooLong {
                chars: MAX_TEXT_CHARS + 1
            })
        );
        let objects = vec![json!({"type": "image"}); MAX_ATTACHMENTS];
        assert_eq!(check_attachments(&objects), Ok(()));
        let too_many = vec![json!({}); MAX_ATTACHMENTS + 1];
        assert_eq!(
            check_attachments(&too_many),
            Err(LimitError::TooManyAttachments {
                count: MAX_ATTACHMENTS + 1
            })
        );
        assert_eq!(
            check_attachments(&[json!({}), json!("x")]),
            Err(LimitError::AttachmentNotObject { index: 1 })
        );
        let users = vec!["bob".to_owned(); MAX_MENTIONS];
        assert_eq!(check_mentions(&users), Ok(()));
        let crowd = vec!["bob".to_owned(); MAX_MENTIONS + 1];
        assert_eq!(
            check_mentions(&crowd),
            Err(LimitError::TooManyMentions {
                count: MAX_MENTIONS + 1
            })
        );
        assert!(matches!(
            check_mentions(&["bob".into(), "a/b".into()]),
            Err(LimitError::InvalidMention { index: 1, .. })
        ));
        assert_eq!(check_message_content("hi", &[json!({})], &users), Ok(()));
        assert!(matches!(
            check_message_content("hi", &[json!(1)], &crowd),
            Err(LimitError::AttachmentNotObject { .. })
        ));
    }

    #[test]
    fn ids_names_batches_and_pages() {
        assert_eq!(check_reaction_type("+1"), Ok(()));
        assert!(matches!(
            check_reaction_type("Like"),
            Err(LimitError::ReactionType(_))
        ));
        assert_eq!(check_name("name", Some(&"x".repeat(MAX_NAME_LEN))), Ok(()));
        assert_eq!(check_name("name", None), Ok(()));
        assert_eq!(
            check_name("image", Some(&"x".repeat(MAX_NAME_LEN + 1))),
            Err(LimitError::NameTooLong { field: "image" })
        );
        assert_eq!(check_members(&[]), Ok(()));
        assert_eq!(check_members(&vec!["bob".into(); MAX_BATCH]), Ok(()));
        assert_eq!(
            check_members(&vec!["bob".into(); MAX_BATCH + 1]),
            Err(LimitError::TooManyMembers {
                count: MAX_BATCH + 1
            })
        );
        assert!(matches!(
            check_members(&["bob".into(), String::new()]),
            Err(LimitError::InvalidMember { index: 1, .. })
        ));
        assert_eq!(check_batch("users", &[1; MAX_BATCH]), Ok(()));
        assert!(check_batch::<u8>("users", &[]).is_err());
        assert!(check_batch("users", &[1; MAX_BATCH + 1]).is_err());
        assert_eq!(check_page("limit", Some(0), 0, MAX_MESSAGE_PAGE), Ok(()));
        assert_eq!(check_page("limit", None, 1, MAX_MESSAGE_PAGE), Ok(()));
        assert_eq!(
            check_page("limit", Some(MAX_MESSAGE_PAGE + 1), 1, MAX_MESSAGE_PAGE),
            Err(LimitError::PageSize {
                field: "limit",
                value: MAX_MESSAGE_PAGE + 1,
                min: 1,
                max: MAX_MESSAGE_PAGE
            })
        );
    }

    #[test]
    fn messages_name_the_limit() {
        assert_eq!(
            LimitError::TextTooLong { chars: 5001 }.to_string(),
            "text is 5001 characters; the limit is 5000"
        );
        assert_eq!(
            LimitError::TooManyMentions { count: 101 }.to_string(),
            "101 mentioned users; the limit is 100"
        );
    }
}
