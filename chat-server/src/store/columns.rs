//! The column lists every backend selects, in the order its row mappers read them: one
//! list per wire type, shared so the backends cannot drift apart.

/// Columns of a user row.
pub const USER_COLS: &str = "id, name, image, custom, created_at, updated_at";
/// Columns of a channel row.
pub const CHANNEL_COLS: &str = "cid, type, id, name, image, config, created_by, created_at, \
     updated_at, last_message_at, member_count, rev, is_distinct";
/// Columns of a member row.
pub const MEMBER_COLS: &str = "cid, user_id, role, created_at, updated_at, deleted, rev";
/// Columns of a message row.
pub const MESSAGE_COLS: &str = "id, cid, user_id, text, attachments, parent_id, \
     quoted_message_id, mentioned_users, reaction_counts, reply_count, created_at, updated_at, \
     edited_at, deleted_at, rev";
/// Columns of a reaction row.
pub const REACTION_COLS: &str = "message_id, cid, user_id, type, created_at, deleted, rev";
/// Columns of a read-state row.
pub const READ_COLS: &str = "cid, user_id, last_read_message_id, last_read_at, rev";
