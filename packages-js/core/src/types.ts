// The SDK's public value types: camelCase names, times as `Date`s, unions discriminated on
// `type` with the Rust core's case names (docs/value-shapes.md). The engine's wire shapes
// (snake_case, RFC 3339 strings) are declared in the generated chat_wasm.d.ts and become
// these in `values.ts`. Inputs and unions without renamed fields are re-exported as is.

import type { Cid, ChannelType, DisconnectReason, ListDiff } from "../wasm/chat_wasm.js";

export type {
  Cid,
  ChannelType,
  ChannelListQuery,
  ChannelUpdate,
  DisconnectReason,
  Inclusion,
  ListDiff,
  MemberRole,
  OpenOptions,
  NewMessage,
  NewChannel,
} from "../wasm/chat_wasm.js";

/** A point in time (the wire's RFC 3339 string, parsed). */
export type Timestamp = Date;

/** What a channel allows. */
export interface ChannelConfig {
  reactions: boolean;
  replies: boolean;
  typingEvents: boolean;
  /** App-defined JSON. */
  custom: Record<string, unknown>;
}

/** A channel as the server (or the local echo of its creation) describes it. */
export interface Channel {
  cid: Cid;
  type: ChannelType;
  id: string;
  name: string | null;
  image: string | null;
  config: ChannelConfig;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  lastMessageAt: Date | null;
  memberCount: number;
  /** A distinct conversation (direct message or fixed group): id derived from the members. */
  distinct: boolean;
  rev: number;
}

/** A message. */
export interface Message {
  id: string;
  cid: Cid;
  userId: string;
  text: string;
  /** App-defined JSON objects. */
  attachments: Record<string, unknown>[];
  parentId: string | null;
  quotedMessageId: string | null;
  mentionedUsers: string[];
  /** Count per reaction kind (keys are the kinds as sent, e.g. `like`). */
  reactionCounts: Record<string, number>;
  replyCount: number;
  createdAt: Date;
  updatedAt: Date;
  editedAt: Date | null;
  deletedAt: Date | null;
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
  | { type: "failed"; opId: string; failure: Failure }
  | { type: "editing" }
  | { type: "deleting" }
  | { type: "update_failed"; opId: string; failure: Failure };

/** A message with the current user's view of it. */
export interface MessageItem {
  message: Message;
  state: MessageState;
  ownReactions: string[];
  starred: boolean;
  /** For a quote-reply, the quoted message as it stands now (edits and deletes included). */
  quoted: QuotedPreview | null;
}

/**
 * The message a quote-reply quotes: known (`message`), being fetched because it is older
 * than the local cache (`loading`), or not visible to the user (`unavailable`).
 */
export type QuotedPreview =
  | {
      type: "message";
      id: string;
      userId: string;
      /** Empty when deleted. */
      text: string;
      attachmentCount: number;
      createdAt: Date;
      deleted: boolean;
    }
  | { type: "loading"; id: string }
  | { type: "unavailable"; id: string };
/** A half-open range of a text in UTF-16 code units (what JS string indexes count). */
export interface TextRange {
  start: number;
  end: number;
}

/** One message a search found. */
export interface SearchHit {
  message: Message;
  /** Where the words matched `message.text`: slice the text with these to highlight. */
  highlights: TextRange[];
  /** Found in the local cache (`false`: on the server only). */
  local: boolean;
  /** Sent from this device and not confirmed by the server yet. */
  pending: boolean;
}

/** What the server part of a search page did. */
export type SearchServerPart =
  | { type: "answered" }
  /** Not reached (offline, no token) or refused: the page holds local hits only. */
  | { type: "not_reached"; reason: string }
  /** No more server pages. */
  | { type: "exhausted" };

/** One page of a search: local hits first, then the server's. */
export interface SearchPage {
  hits: SearchHit[];
  server: SearchServerPart;
  /** Pass as `cursor` for the next page; `null` when nothing remains. */
  next: string | null;
}

/** Options of `ChatClient.search` (`@onyxchat/core`). */
export interface SearchOptions {
  /** Only this channel. */
  cid?: string;
  /** Hits per part of a page (local and server), 1 to 100 (default 20). */
  limit?: number;
  /** The previous page's `next`. */
  cursor?: string | null;
}

/** A channel in the channel list, with the user's own settings (a queued change shown at once). */
export interface ChannelItem {
  channel: Channel;
  unreadCount: number;
  unreadMentions: number;
  lastMessage: MessageItem | null;
  /** Hidden from the default list until the channel's next new message. */
  hidden: boolean;
  /** Muted: counts toward no total unread. */
  muted: boolean;
  /** Archived: left out of the default list. */
  archived: boolean;
}

/** The user's unread counts over every channel they have not muted (app badges). */
export interface TotalUnread {
  unreadCount: number;
  unreadMentions: number;
}

/** How far a member has read a channel. */
export interface ReadReceipt {
  userId: string;
  lastReadMessageId: string | null;
  lastReadAt: Date;
}

/** One row of a channel's member list (queued member changes shown at once, `pending`). */
export interface MemberItem {
  userId: string;
  role: import("../wasm/chat_wasm.js").MemberRole;
  /** When they (last) joined; `null` while their addition waits for the server. */
  joinedAt: Date | null;
  /** Others: as realtime presence reports them; the current user: while connected. */
  online: boolean;
  lastReadMessageId: string | null;
  lastReadAt: Date | null;
  /** A queued change to this member (added, or a new role) waits for the server. */
  pending: boolean;
}

/** What the user was writing in a channel (or a thread: `parentId`) and has not sent. */
export interface Draft {
  cid: string;
  parentId: string | null;
  text: string;
  updatedAt: Date;
}

/** Someone typing (in the thread of `parentId`, if any). */
export interface TypingUser {
  userId: string;
  parentId: string | null;
}

/** The realtime connection. */
export type ConnectionState =
  | { type: "disconnected"; reason: DisconnectReason }
  | { type: "waiting_for_network" }
  | { type: "connecting"; attempt: number }
  | { type: "connected" }
  | { type: "waiting_to_reconnect"; attempt: number; retryInMs: number }
  | { type: "auth_failed"; reason: string };

/** A queued operation's state (`detail` carries the variant's fields; `at` is the engine's
 * monotonic clock in milliseconds, not a wall time). */
export type OutboxItemState =
  | { state: "pending" }
  | { state: "in_flight" }
  | { state: "waiting_retry"; detail: { attempt: number; at: number } }
  | { state: "paused"; detail: "auth" }
  | { state: "blocked"; detail: { on: string } }
  | { state: "failed"; detail: Failure };

/** A queued operation. */
export interface OutboxItem {
  /** For a send, the message id: pass it to `retry` or `discard`. */
  opId: string;
  /** The operation, tagged by `op`: `send_message`, `edit_message`, `delete_message`,
   * `add_reaction`, `remove_reaction`, `mark_read`, `create_channel`; its fields (and
   * those of its `request`) camelCase, e.g. `messageId`. */
  op: { op: string; cid?: Cid; [field: string]: unknown };
  state: OutboxItemState;
}

/** The engine's state. */
export interface EngineStatus {
  outboxLen: number;
  inFlight: number;
  syncing: boolean;
  cursor: string | null;
  authStopped: boolean;
  lastSyncError: string | null;
  lastError: string | null;
  realtimeLive: boolean;
}

