//! The TypeScript shapes of the values that cross (written into the generated
//! `chat_wasm.d.ts`): chat-core's serde shapes — the wire format's snake_case names, RFC 3339
//! times, `type`-tagged unions — which is what `WasmClient` hands over. They are not the
//! SDK's public shapes: `@onyxchat/core` converts every output value to camelCase with
//! `Date` times in one place (`packages-js/core/src/values.ts`, its public types in
//! `types.ts`; docs/value-shapes.md) and re-exports only the inputs and the unions without
//! renamed fields from here. Keep in step with the `Serialize` derives of chat-protocol's
//! models and chat-core's live values, and with `values.ts`.
//!
//! Written by hand, not generated (tsify, ts-rs): a generator would put its derives and
//! overrides (`Timestamp`, `Cid` and `serde_json::Value` as strings/unknown) on every type
//! of chat-protocol and chat-core behind a feature, and it would replace only this wire
//! layer — the public camelCase types (`types.ts`) stay hand-written either way. What a
//! generator buys, that the two cannot drift, `typescript_tests.rs` checks instead: every
//! output type's serialization, variant by variant, against these declarations.

use wasm_bindgen::prelude::wasm_bindgen;

/// The declarations (checked against chat-core's serialization in `typescript_tests.rs`).
/// rustc does not see the custom section below read it, hence the `allow`.
#[allow(dead_code)]
pub(crate) const TYPES: &str = r#"
/** RFC 3339 UTC time with milliseconds, e.g. `2026-11-23T10:23:56.000Z`. */
export type Timestamp = string;
/** `type:id`, e.g. `messaging:general`. */
export type Cid = string;
export type ChannelType = "messaging" | "team" | "livestream" | "commerce";

export interface ChannelConfig {
  reactions: boolean;
  replies: boolean;
  typing_events: boolean;
  custom: Record<string, unknown>;
}

export interface Channel {
  cid: Cid;
  type: ChannelType;
  id: string;
  name: string | null;
  image: string | null;
  config: ChannelConfig;
  created_by: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  last_message_at: Timestamp | null;
  member_count: number;
  /** A distinct conversation (direct message or fixed group): id derived from the members. */
  distinct: boolean;
  rev: number;
}

export interface Message {
  id: string;
  cid: Cid;
  user_id: string;
  text: string;
  attachments: Record<string, unknown>[];
  parent_id: string | null;
  quoted_message_id: string | null;
  mentioned_users: string[];
  reaction_counts: Record<string, number>;
  reply_count: number;
  created_at: Timestamp;
  updated_at: Timestamp;
  edited_at: Timestamp | null;
  deleted_at: Timestamp | null;
  /** 0 for a local echo not yet confirmed by the server. */
  rev: number;
}

/** Why the server refused an operation. */
export interface Failure {
  reason: string;
  code: string | null;
  status: number;
}

/** Where a message stands between the user's action and the server's confirmation. */
export type MessageState =
  | { type: "sent" }
  | { type: "pending" }
  | { type: "sending" }
  | { type: "failed"; op_id: string; failure: Failure }
  | { type: "editing" }
  | { type: "deleting" }
  | { type: "update_failed"; op_id: string; failure: Failure };

export interface MessageItem {
  message: Message;
  state: MessageState;
  own_reactions: string[];
  starred: boolean;
  quoted: QuotedPreview | null;
}

export type QuotedPreview =
  | { type: "message"; id: string; user_id: string; text: string; attachment_count: number; created_at: string; deleted: boolean }
  | { type: "loading"; id: string }
  | { type: "unavailable"; id: string };

export interface ChannelItem {
  channel: Channel;
  unread_count: number;
  unread_mentions: number;
  last_message: MessageItem | null;
  hidden: boolean;
  muted: boolean;
  archived: boolean;
}

export interface ReadReceipt {
  user_id: string;
  last_read_message_id: string | null;
  last_read_at: Timestamp;
}

export type MemberRole = "owner" | "admin" | "moderator" | "member";

export interface MemberItem {
  user_id: string;
  role: MemberRole;
  /** Absent while the member's addition waits for the server. */
  joined_at: Timestamp | null;
  online: boolean;
  last_read_message_id: string | null;
  last_read_at: Timestamp | null;
  /** A queued change to this member (added, or a new role) waits for the server. */
  pending: boolean;
}

/** Unsent text of a channel or a thread (local to this device). */
export interface Draft {
  cid: string;
  parent_id: string | null;
  text: string;
  updated_at: Timestamp;
}

export interface TypingUser {
  user_id: string;
  parent_id: string | null;
}

/** One change to a live list; apply a batch's changes in order (a `reset` comes first). */
export type ListDiff<T> =
  | { type: "reset"; items: T[] }
  | { type: "insert"; index: number; item: T }
  | { type: "update"; index: number; item: T }
  | { type: "remove"; index: number };

export type DisconnectReason =
  | { type: "stopped" }
  | { type: "background" }
  | { type: "refused"; code: number; reason: string };

export type ConnectionState =
  | { type: "disconnected"; reason: DisconnectReason }
  | { type: "waiting_for_network" }
  | { type: "connecting"; attempt: number }
  | { type: "connected" }
  | { type: "waiting_to_reconnect"; attempt: number; retry_in_ms: number }
  | { type: "auth_failed"; reason: string };

/** A queued operation's state (`detail` carries the variant's fields). */
export type OutboxItemState =
  | { state: "pending" }
  | { state: "in_flight" }
  | { state: "waiting_retry"; detail: { attempt: number; at: number } }
  | { state: "paused"; detail: "auth" }
  | { state: "blocked"; detail: { on: string } }
  | { state: "failed"; detail: Failure };

export interface OutboxItem {
  /** For a send, the message id: pass it to `retry` or `discard`. */
  op_id: string;
  /** The operation, tagged by `op`: `send_message`, `edit_message`, `delete_message`,
   * `add_reaction`, `remove_reaction`, `star_message`, `unstar_message`, `mark_read`,
   * `create_channel`, `update_channel`, `add_members`, `remove_member`,
   * `set_member_state`, `delete_channel`. */
  op: { op: string; cid?: Cid; [field: string]: unknown };
  state: OutboxItemState;
}

export interface EngineStatus {
  outbox_len: number;
  in_flight: number;
  syncing: boolean;
  cursor: string | null;
  auth_stopped: boolean;
  last_sync_error: string | null;
  last_error: string | null;
  realtime_live: boolean;
}

export interface OpenOptions {
  serverUrl: string;
  appId: string;
  userId: string;
  /** `"auto"` (default): OPFS, else memory; `"opfs"`: fail without it; `"memory"`. */
  storage?: "auto" | "opfs" | "memory";
}

/** A half-open range of a text in UTF-16 code units (JS string indexes). */
export interface TextRange {
  start: number;
  end: number;
}

export interface SearchHit {
  message: Message;
  highlights: TextRange[];
  local: boolean;
  pending: boolean;
}

export type SearchServerPart =
  | { type: "answered" }
  | { type: "not_reached"; reason: string }
  | { type: "exhausted" };

export interface SearchPage {
  hits: SearchHit[];
  server: SearchServerPart;
  next: string | null;
}

export interface NewMessage {
  text: string;
  parentId?: string;
  quotedMessageId?: string;
  mentionedUsers?: string[];
  attachments?: Record<string, unknown>[];
}

/** A channel's new name or image (absent fields stay). */
/** Whether a channel list shows channels with a setting. */
export type Inclusion = "include" | "exclude" | "only";

/** The options of a channel list; every field optional. Defaults: every type, neither hidden
 * nor archived (muted ones included), most recently active first, 30 channels. */
export interface ChannelListQuery {
  limit?: number;
  type?: ChannelType;
  unreadOnly?: boolean;
  hidden?: Inclusion;
  muted?: Inclusion;
  archived?: Inclusion;
  /** Matches the channel's name, its cid and its members' ids (ASCII case-insensitive). */
  text?: string;
  sort?: "last_message" | "unread";
}

/** The unread counts over every channel the user has not muted. */
export interface TotalUnread {
  unread_count: number;
  unread_mentions: number;
}

export interface ChannelUpdate {
  name?: string;
  image?: string;
}

export interface NewChannel {
  type: ChannelType;
  /** Generated when absent; derived from the members when `distinct`. */
  id?: string;
  name?: string;
  image?: string;
  members?: string[];
  /** The conversation of exactly `members` and the current user (cid derived from the set,
   * members fixed): see `ChatClient.openDistinctChannel`. */
  distinct?: boolean;
}
"#;

#[wasm_bindgen(typescript_custom_section)]
const SECTION: &str = TYPES;
