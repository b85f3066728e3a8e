/**
 * An in-memory client implementing the LiveStore contract of @onyxchat/core, so the React
 * layer is tested on its own (end-to-end tests run against the real server in a browser).
 */
import { vi } from "vitest";
import type {
  ChannelItem,
  ChannelListQuery,
  TotalUnread,
  ChatClientLike,
  ConnectionState,
  LiveStore,
  MessageItem,
  MessageListStore,
  MessageState,
  OutboxItem,
  MemberItem,
  ReadReceipt,
  SearchHit,
  SearchOptions,
  SearchPage,
  StarredListStore,
  TypingUser,
} from "../src/index.js";

export class FakeStore<T> implements LiveStore<T> {
  private listeners = new Set<() => void>();
  ready: boolean;
  constructor(
    private value: T,
    ready = true,
  ) {
    this.ready = ready;
  }
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
  getSnapshot(): T {
    return this.value;
  }
  /** Replaces the value (and marks the store ready) and notifies. */
  set(value: T): void {
    this.value = value;
    this.ready = true;
    this.emit();
  }
  emit(): void {
    for (const l of [...this.listeners]) l();
  }
  get listenerCount(): number {
    return this.listeners.size;
  }
}

export class FakeStarredStore extends FakeStore<MessageItem[]> implements StarredListStore {
  hasMore = false;
  loadMore = vi.fn(async () => this.hasMore);
}

export class FakeMessageStore extends FakeStore<MessageItem[]> implements MessageListStore {
  hasOlder: boolean;
  /** What `loadOlder` prepends, one page per call. */
  olderPages: MessageItem[][] = [];
  loadOlder = vi.fn(async () => {
    const page = this.olderPages.shift();
    if (page) this.set([...page, ...this.getSnapshot()]);
    this.hasOlder = this.olderPages.length > 0;
    this.emit();
    return this.hasOlder;
  });
  loadNewer = vi.fn(async () => true);
  jumpTo = vi.fn(async () => {});
  constructor(items: MessageItem[] = [], ready = true, hasOlder = false) {
    super(items, ready);
    this.hasOlder = hasOlder;
  }
}

let seq = 0;
const BASE = Date.parse("2026-11-23T10:00:00.000Z");

export function message(
  overrides: Partial<MessageItem["message"]> & { id?: string } = {},
  state: MessageState = { type: "sent" },
  extra: Partial<Omit<MessageItem, "message" | "state">> = {},
): MessageItem {
  seq += 1;
  const created = new Date(BASE + seq * 1000);
  return {
    message: {
      id: `m${seq}`,
      cid: "messaging:general",
      userId: "bob",
      text: `message ${seq}`,
      attachments: [],
      parentId: null,
      quotedMessageId: null,
      mentionedUsers: [],
      reactionCounts: {},
      replyCount: 0,
      createdAt: created,
      updatedAt: created,
      editedAt: null,
      deletedAt: null,
      rev: 1,
      ...overrides,
    },
    state,
    ownReactions: [],
    starred: false,
    quoted: null,
    ...extra,
  };
}

export function channel(
  cid: string,
  overrides: Partial<Omit<ChannelItem, "channel">> & { name?: string | null } = {},
): ChannelItem {
  const [type, id] = cid.split(":") as [ChannelItem["channel"]["type"], string];
  const { name, ...rest } = overrides;
  return {
    channel: {
      cid,
      type,
      id,
      name: name === undefined ? id : name,
      image: null,
      config: { reactions: true, replies: true, typingEvents: true, custom: {} },
      createdBy: "alice",
      createdAt: new Date("2026-11-23T09:00:00.000Z"),
      updatedAt: new Date("2026-11-23T09:00:00.000Z"),
      lastMessageAt: null,
      memberCount: 2,
      distinct: false,
      rev: 1,
    },
    unreadCount: 0,
    unreadMentions: 0,
    lastMessage: null,
    hidden: false,
    muted: false,
    archived: false,
    ...rest,
  };
}

/** A fake client: stores created on demand and cached by args, every call a `vi.fn`. */
export function createFakeClient(userId = "alice") {
  const messageStores = new Map<string, FakeMessageStore>();
  const threadStores = new Map<string, FakeStore<MessageItem[]>>();
  const typingStores = new Map<string, FakeStore<TypingUser[]>>();
  const receiptStores = new Map<string, FakeStore<ReadReceipt[]>>();
  const memberStores = new Map<string, FakeStore<MemberItem[]>>();
  const channelStores = new Map<number | string, FakeStore<ChannelItem[]>>();
  const totalUnread = new FakeStore<TotalUnread>({ unreadCount: 0, unreadMentions: 0 }, false);
  const starredStores = new Map<number, FakeStarredStore>();
  const outbox = new FakeStore<OutboxItem[]>([]);
  const presence = new FakeStore<string[]>([]);
  const connection = new FakeStore<ConnectionState>({ type: "connected" });

  const getOr = <K, V>(map: Map<K, V>, key: K, make: () => V): V => {
    let v = map.get(key);
    if (!v) {
      v = make();
      map.set(key, v);
    }
    return v;
  };

  let nextId = 0;
  const client = {
    userId,
    storage: "memory",
    storageNote: null,
    connection,
    channels: vi.fn((query: number | ChannelListQuery = 30) =>
      getOr(channelStores, typeof query === "number" ? query : JSON.stringify(query), () => new FakeStore<ChannelItem[]>([], false)),
    ),
    totalUnread: vi.fn(() => totalUnread),
    messages: vi.fn((cid: string, pageSize = 30) =>
      getOr(messageStores, `${cid}/${pageSize}`, () => new FakeMessageStore([], false)),
    ),
    thread: vi.fn((parentId: string) => getOr(threadStores, parentId, () => new FakeStore<MessageItem[]>([], false))),
    starred: vi.fn((pageSize = 30) => getOr(starredStores, pageSize, () => new FakeStarredStore([], false))),
    readReceipts: vi.fn((cid: string) => getOr(receiptStores, cid, () => new FakeStore<ReadReceipt[]>([]))),
    members: vi.fn((cid: string) => getOr(memberStores, cid, () => new FakeStore<MemberItem[]>([], false))),
    typing: vi.fn((cid: string) => getOr(typingStores, cid, () => new FakeStore<TypingUser[]>([]))),
    presence: vi.fn(() => presence),
    outboxStore: vi.fn(() => outbox),
    sendMessage: vi.fn(async (_cid: string, _message: unknown) => `sent-${++nextId}`),
    editMessage: vi.fn(async (_id: string, _text: string) => {}),
    deleteMessage: vi.fn(async (_id: string) => {}),
    addReaction: vi.fn(async (_id: string, _kind: string) => {}),
    removeReaction: vi.fn(async (_id: string, _kind: string) => {}),
    starMessage: vi.fn(async (_id: string) => {}),
    unstarMessage: vi.fn(async (_id: string) => {}),
    markRead: vi.fn(async (_cid: string) => {}),
    createChannel: vi.fn(async () => "messaging:new"),
    openDistinctChannel: vi.fn(async (_members: string[]) => "messaging:!members-new"),
    updateChannel: vi.fn(async (_cid: string, _update: unknown) => `op-${++nextId}`),
    addMembers: vi.fn(async (_cid: string, _userIds: string[]) => `op-${++nextId}`),
    setMemberRole: vi.fn(async (_cid: string, _userId: string, _role: string) => `op-${++nextId}`),
    removeMember: vi.fn(async (_cid: string, _userId: string) => `op-${++nextId}`),
    leaveChannel: vi.fn(async (_cid: string) => `op-${++nextId}`),
    hideChannel: vi.fn(async (_cid: string, _hidden?: boolean) => `op-${++nextId}`),
    muteChannel: vi.fn(async (_cid: string, _muted?: boolean) => `op-${++nextId}`),
    archiveChannel: vi.fn(async (_cid: string, _archived?: boolean) => `op-${++nextId}`),
    deleteChannel: vi.fn(async (_cid: string) => `op-${++nextId}`),
    retry: vi.fn(async (_opId: string) => {}),
    discard: vi.fn(async (_opId: string) => {}),
    reconnect: vi.fn(async () => {}),
    startTyping: vi.fn(async (_cid: string, _parentId?: string) => {}),
    stopTyping: vi.fn(async (_cid: string, _parentId?: string) => {}),
    mentionCandidates: vi.fn(async (_cid: string, _prefix: string, _limit?: number): Promise<MemberItem[]> => []),
    search: vi.fn(
      async (_text: string, _options?: SearchOptions): Promise<SearchPage> => ({
        hits: [],
        server: { type: "exhausted" },
        next: null,
      }),
    ),
    searchLocal: vi.fn(async (_text: string, _options?: Omit<SearchOptions, "cursor">): Promise<SearchHit[]> => []),
  } satisfies ChatClientLike;

  return {
    client,
    /** The message store for `cid` (the one the hooks get with the default page size). */
    messageStore: (cid: string, pageSize = 30) =>
      client.messages(cid, pageSize) as FakeMessageStore,
    starredStore: (pageSize = 30) => client.starred(pageSize) as FakeStarredStore,
    threadStore: (parentId: string) => client.thread(parentId) as FakeStore<MessageItem[]>,
    typingStore: (cid: string) => client.typing(cid) as FakeStore<TypingUser[]>,
    channelStore: (query: number | ChannelListQuery = 30) => client.channels(query) as FakeStore<ChannelItem[]>,
    totalUnread,
    memberStore: (cid: string) => client.members(cid) as FakeStore<MemberItem[]>,
    outbox,
    presence,
    connection,
  };
}

export type FakeClient = ReturnType<typeof createFakeClient>;
