// The messages between the page (`ChatClient`) and the engine in the worker. Calls are
// `{id, method, args}` answered by `{id, ok, value | error}`; live queries are
// `{sub, kind, args}` answered by pushes `{sub, payload}` (or `{sub, error}`) until
// `{unsub}`; the engine asks the page for tokens with `{tokenRequest}`; `{event: "role"}`
// tells the page this tab's worker became (or stopped being) the database owner.
// Values cross in the engine's wire shapes (snake_case, RFC 3339 strings); the page turns
// them into the public shapes in `values.ts`.

import type { WireError } from "./errors.js";
import type { OpenOptions } from "./types.js";

/** The calls the engine runs on the client (`WasmClient`'s methods of the same names). */
export const CLIENT_METHODS = [
  "sendMessage",
  "editMessage",
  "deleteMessage",
  "addReaction",
  "removeReaction",
  "starMessage",
  "unstarMessage",
  "markRead",
  "createChannel",
  "updateChannel",
  "addMembers",
  "setMemberRole",
  "removeMember",
  "leaveChannel",
  "hideChannel",
  "muteChannel",
  "archiveChannel",
  "deleteChannel",
  "retry",
  "discard",
  "mentionCandidates",
  "setDraft",
  "draft",
  "outbox",
  "status",
  "sync",
  "setNetworkReachable",
  "setForeground",
  "reconnect",
  "refreshToken",
  "startTyping",
  "stopTyping",
  "connectionState",
  "search",
  "searchLocal",
] as const;

/** One of {@link CLIENT_METHODS}. */
export type ClientMethod = (typeof CLIENT_METHODS)[number];

/**
 * Calls on a running `messages` live query (args: `[sub, ...]`), and `window.loadMore` on a
 * running `starred` one.
 */
export const WINDOW_METHODS = ["window.loadOlder", "window.loadNewer", "window.jumpTo", "window.loadMore"] as const;

/** One of {@link WINDOW_METHODS}. */
export type WindowMethod = (typeof WINDOW_METHODS)[number];

/**
 * The live queries and their arguments: `messages [cid, pageSize]`, `thread [parentId]`,
 * `channels [limit]`, `channelList [query]`, `readReceipts [cid]`, `members [cid]`,
 * `typing [cid]`, `presence []`, `connection []`, `outbox []`, `starred [pageSize]`,
 * `totalUnread []`.
 */
export type SubKind =
  | "messages"
  | "thread"
  | "channels"
  | "channelList"
  | "totalUnread"
  | "readReceipts"
  | "members"
  | "typing"
  | "presence"
  | "connection"
  | "outbox"
  | "starred";

/** What the engine reports about the database it (or the leader tab) runs on. */
export interface EngineInfo {
  /** `"opfs"` or `"memory"`. */
  storage: "opfs" | "memory";
  /** Why the cache is in memory, if it is. */
  storageNote: string | undefined;
  /** The user the client acts as. */
  userId: string;
  /** Whether this worker owns the database (false: it forwards to another tab's). */
  isLeader: boolean;
}

/** Page → engine. */
export type ToEngine =
  | { id: number; method: "open"; args: [OpenOptions] }
  | { id: number; method: "close"; args: [] }
  | { id: number; method: ClientMethod | WindowMethod; args: unknown[] }
  | { sub: number; kind: SubKind; args: unknown[] }
  | { unsub: number }
  | { tokenReply: number; token?: string; refused?: string; error?: string };

/** Engine → page. */
export type FromEngine =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: WireError }
  | { sub: number; payload: unknown }
  | { sub: number; error: WireError }
  | { tokenRequest: number }
  | { event: "role"; info: EngineInfo };

/**
 * Anything messages can be posted to and received from: a `Worker`, a `MessagePort`, a
 * worker's global scope.
 */
export interface MessageEndpoint {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  removeEventListener?(type: "message", listener: (event: MessageEvent) => void): void;
  /** `MessagePort`s must be started when listened to with `addEventListener`. */
  start?(): void;
}
