/**
 * The slice of `@onyxchat/core`'s `ChatClient` the React layer uses.
 *
 * Components take any object of this shape, so a real `ChatClient` fits and so does an
 * in-memory fake in tests or storybooks. The value types come from `@onyxchat/core`
 * (the wasm crate's TypeScript shapes, snake_case).
 */
import type {
  ChannelItem,
  ChannelListQuery,
  ChannelUpdate,
  ConnectionState,
  MemberItem,
  MemberRole,
  MessageItem,
  NewChannel,
  NewMessage,
  OutboxItem,
  ReadReceipt,
  SearchHit,
  SearchOptions,
  SearchPage,
  TotalUnread,
  TypingUser,
} from "@onyxchat/core";

export type {
  Channel,
  ChannelItem,
  ChannelListQuery,
  Inclusion,
  TotalUnread,
  ChannelUpdate,
  ConnectionState,
  Failure,
  MemberItem,
  MemberRole,
  Message,
  MessageItem,
  MessageState,
  NewChannel,
  NewMessage,
  OutboxItem,
  QuotedPreview,
  ReadReceipt,
  SearchHit,
  SearchOptions,
  SearchPage,
  SearchServerPart,
  TextRange,
  TypingUser,
} from "@onyxchat/core";

/** A value that changes over time, in the shape `useSyncExternalStore` wants. */
export interface LiveStore<T> {
  subscribe(listener: () => void): () => void;
  getSnapshot(): T;
  /** Whether the first value has arrived (before it, the snapshot is a placeholder). */
  readonly ready: boolean;
  /** Why the live query failed, if it did. */
  readonly error?: unknown;
}

/** A channel's live message window, oldest first, that pages through the history. */
export interface MessageListStore extends LiveStore<readonly MessageItem[]> {
  /** Shows one more page of older messages; resolves `false` at the start of the channel. */
  loadOlder(): Promise<boolean>;
  /** Moves one page towards the newest; resolves `true` once at the newest again. */
  loadNewer(): Promise<boolean>;
  /** Centres the window on a message. */
  jumpTo(messageId: string): Promise<void>;
  /** Whether older messages may exist before the first one shown. */
  readonly hasOlder: boolean;
}

/** The user's starred messages across channels, newest first, growing a page at a time. */
export interface StarredListStore extends LiveStore<readonly MessageItem[]> {
  /** Shows one more page of older starred messages; resolves `false` once the oldest is shown. */
  loadMore(): Promise<boolean>;
  /** Whether older starred messages may exist. */
  readonly hasMore: boolean;
}

/** What the React layer needs from a client (`ChatClient` from `@onyxchat/core`). */
export interface ChatClientLike {
  readonly userId: string;
  readonly storage?: string;
  readonly storageNote?: string | null | undefined;

  /** The channel list: the first `limit` by activity, or a {@link ChannelListQuery}. */
  channels(query?: number | ChannelListQuery): LiveStore<readonly ChannelItem[]>;
  /** The unread counts over every channel the user has not muted (optional for fakes). */
  totalUnread?(): LiveStore<TotalUnread>;
  messages(cid: string, pageSize?: number): MessageListStore;
  thread(parentId: string): LiveStore<readonly MessageItem[]>;
  starred(pageSize?: number): StarredListStore;
  readReceipts(cid: string): LiveStore<readonly ReadReceipt[]>;
  members(cid: string): LiveStore<readonly MemberItem[]>;
  typing(cid: string): LiveStore<readonly TypingUser[]>;
  presence(): LiveStore<readonly string[]>;
  readonly connection: LiveStore<ConnectionState>;
  outboxStore(): LiveStore<readonly OutboxItem[]>;

  sendMessage(cid: string, message: string | NewMessage): Promise<string>;
  editMessage(id: string, text: string): Promise<void>;
  deleteMessage(id: string): Promise<void>;
  addReaction(messageId: string, kind: string): Promise<void>;
  removeReaction(messageId: string, kind: string): Promise<void>;
  starMessage(messageId: string): Promise<void>;
  unstarMessage(messageId: string): Promise<void>;
  markRead(cid: string): Promise<void>;
  createChannel(channel: NewChannel): Promise<string>;
  openDistinctChannel(members: string[], type?: NewChannel["type"], name?: string): Promise<string>;
  updateChannel(cid: string, update: ChannelUpdate): Promise<string>;
  addMembers(cid: string, userIds: string[]): Promise<string>;
  setMemberRole(cid: string, userId: string, role: MemberRole): Promise<string>;
  removeMember(cid: string, userId: string): Promise<string>;
  leaveChannel(cid: string): Promise<string>;
  hideChannel?(cid: string, hidden?: boolean): Promise<string>;
  muteChannel?(cid: string, muted?: boolean): Promise<string>;
  archiveChannel?(cid: string, archived?: boolean): Promise<string>;
  deleteChannel?(cid: string): Promise<string>;
  retry(opId: string): Promise<void>;
  discard(opId: string): Promise<void>;
  reconnect(): Promise<void>;
  startTyping(cid: string, parentId?: string): Promise<void>;
  stopTyping(cid: string, parentId?: string): Promise<void>;
  /** Keeps the composer's text across reloads (without it, `MessageInput` keeps none). */
  setDraft?(cid: string, parentId: string | null, text: string): Promise<void>;
  draft?(cid: string, parentId?: string | null): Promise<{ text: string } | null>;
  /** `@` autocomplete suggestions (without it, `MessageInput` offers none). */
  mentionCandidates?(cid: string, prefix: string, limit?: number): Promise<MemberItem[]>;
  search(text: string, options?: SearchOptions): Promise<SearchPage>;
  searchLocal(text: string, options?: Omit<SearchOptions, "cursor">): Promise<SearchHit[]>;
}

/** How the UI shows a user: the core knows ids only, the app knows names and pictures. */
export interface UserDisplay {
  name?: string;
  image?: string | null;
}
