// @onyxchat/core's public API: the client, its live stores, the first-paint snapshot, its
// errors, and the value types shared with the Rust core.

export { ChatClient, type ConnectOptions } from "./client.js";
export type { LiveStore, MessageListStore, StarredListStore } from "./stores.js";
export {
  SNAPSHOT_CHANNELS,
  SNAPSHOT_ROWS,
  clearMessageSnapshots,
  readMessageSnapshot,
  type SnapshotIdentity,
} from "./snapshot.js";
export {
  ChatError,
  TokenRefusedError,
  type ChatErrorKind,
  type ServerErrorCode,
  type WireError,
} from "./errors.js";
export type { MessageEndpoint } from "./protocol.js";
export type * from "./types.js";
