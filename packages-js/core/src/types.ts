// The value types that cross between the SDK and the Rust core, re-exported from the
// generated chat-wasm declarations (snake_case fields: the REST API's shapes).

export type {
  Timestamp,
  Cid,
  ChannelType,
  ChannelConfig,
  Channel,
  Message,
  Failure,
  MessageState,
  MessageItem,
  ChannelItem,
  ReadReceipt,
  TypingUser,
  ListDiff,
  DisconnectReason,
  ConnectionState,
  OutboxItemState,
  OutboxItem,
  EngineStatus,
  OpenOptions,
  NewMessage,
  NewChannel,
} from "../wasm/chat_wasm.js";
