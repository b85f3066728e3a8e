//! Hard limits of the protocol, shared so that SDKs can validate before sending.

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
/// Most users or members in one upsert / add-members request.
pub const MAX_BATCH: usize = 100;
/// Longest user id, channel id or reaction type, in bytes.
pub const MAX_ID_LEN: usize = 64;
/// Longest name or image URL, in bytes.
pub const MAX_NAME_LEN: usize = 1_024;
