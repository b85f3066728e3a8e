import { useCallback, useMemo, useSyncExternalStore } from "react";
import { useChatContext, useChatClient } from "./context.js";
import type {
  ChannelItem,
  ChannelListQuery,
  ConnectionState,
  LiveStore,
  MemberItem,
  MessageItem,
  MessageListStore,
  OutboxItem,
  StarredListStore,
  ReadReceipt,
  TotalUnread,
  TypingUser,
  UserDisplay,
} from "./types.js";

const noop = () => {};
const EMPTY: readonly never[] = Object.freeze([]);

/** A store that never changes: what the hooks read when there is nothing to watch. */
function emptyStore<T>(value: T): LiveStore<T> {
  return { subscribe: () => noop, getSnapshot: () => value, ready: false };
}

const EMPTY_LIST_STORE = emptyStore<readonly never[]>(EMPTY);

const EMPTY_MESSAGE_STORE: MessageListStore = {
  ...emptyStore<readonly MessageItem[]>(EMPTY),
  hasOlder: false,
  loadOlder: async () => false,
  loadNewer: async () => true,
  jumpTo: async () => {},
};

/** What a store shows now: its value and the flags that live beside it. */
export interface StoreState<T> {
  value: T;
  ready: boolean;
  hasOlder: boolean;
  /** Why the store's live query failed, if it did. */
  error: unknown;
}

/**
 * Reads a live store through `useSyncExternalStore`, with its `ready` (and `hasOlder`)
 * flags. The state object keeps its identity while nothing in it changes.
 */
export function useStoreState<T>(store: LiveStore<T> & { readonly hasOlder?: boolean }): StoreState<T> {
  // Methods are called on the store (not detached), so class-based stores keep `this`.
  const subscribe = useCallback((listener: () => void) => store.subscribe(listener), [store]);
  const getState = useMemo(() => {
    let last: StoreState<T> | null = null;
    return (): StoreState<T> => {
      const value = store.getSnapshot();
      const ready = store.ready;
      const hasOlder = store.hasOlder ?? false;
      const error = store.error;
      if (
        last &&
        last.value === value &&
        last.ready === ready &&
        last.hasOlder === hasOlder &&
        last.error === error
      ) {
        return last;
      }
      last = { value, ready, hasOlder, error };
      return last;
    };
  }, [store]);
  return useSyncExternalStore(subscribe, getState, getState);
}

/** The current value of any live store (re-renders when it changes). */
export function useLiveStore<T>(store: LiveStore<T>): T {
  return useStoreState(store).value;
}

export interface ChannelListState {
  /** The channels by activity, newest first. */
  channels: readonly ChannelItem[];
  /** Whether the first list (from the cache) has arrived. */
  ready: boolean;
  /** Why the live query failed, if it did. */
  error: unknown;
}

/** The user's channels, the first `limit` by activity. */
export function useChannelList(query?: number | ChannelListQuery): ChannelListState {
  const client = useChatClient();
  // A query object is compared by value: an inline `{ muted: "only" }` is one store.
  const key = typeof query === "object" ? JSON.stringify(query, Object.keys(query).sort()) : query;
  const store = useMemo(() => client.channels(query), [client, key]);
  const { value, ready, error } = useStoreState(store);
  return useMemo(() => ({ channels: value, ready, error }), [value, ready, error]);
}

export interface MessagesState {
  /** The window's messages, oldest first; unchanged items keep their identity. */
  messages: readonly MessageItem[];
  /** Whether the first window (from the cache) has arrived. */
  ready: boolean;
  /** Whether older messages may exist before the first one. */
  hasOlder: boolean;
  /** Why the live query failed (e.g. a malformed cid), if it did. */
  error: unknown;
  /** Shows one more page of older messages; resolves `false` at the start of the channel. */
  loadOlder: () => Promise<boolean>;
  /** Moves one page towards the newest; resolves `true` once at the newest again. */
  loadNewer: () => Promise<boolean>;
  /** Centres the window on a message. */
  jumpTo: (messageId: string) => Promise<void>;
  /** The underlying store. */
  store: MessageListStore;
}

/** A channel's live message window (`cid` null: empty, nothing watched). */
export function useMessages(cid: string | null | undefined, pageSize?: number): MessagesState {
  const client = useChatClient();
  const store = useMemo(
    () => (cid ? client.messages(cid, pageSize) : EMPTY_MESSAGE_STORE),
    [client, cid, pageSize],
  );
  const { value, ready, hasOlder, error } = useStoreState(store);
  const loadOlder = useCallback(() => store.loadOlder(), [store]);
  const loadNewer = useCallback(() => store.loadNewer(), [store]);
  const jumpTo = useCallback((id: string) => store.jumpTo(id), [store]);
  return useMemo(
    () => ({ messages: value, ready, hasOlder, error, loadOlder, loadNewer, jumpTo, store }),
    [value, ready, hasOlder, error, loadOlder, loadNewer, jumpTo, store],
  );
}

export interface StarredState {
  /** The user's starred messages across channels, most recently sent first. */
  messages: readonly MessageItem[];
  /** Whether the first list (from the cache) has arrived. */
  ready: boolean;
  /** Whether older starred messages may exist. */
  hasMore: boolean;
  /** Why the live query failed, if it did. */
  error: unknown;
  /** Shows one more page of older starred messages; resolves `false` once the oldest is shown. */
  loadMore: () => Promise<boolean>;
  /** The underlying store. */
  store: StarredListStore;
}

/** The user's starred messages, live (pending stars and unstars applied at once). */
export function useStarred(pageSize?: number): StarredState {
  const client = useChatClient();
  const store = useMemo(() => client.starred(pageSize), [client, pageSize]);
  const { value, ready, error } = useStoreState(store);
  const hasMore = useSyncExternalStore(
    useCallback((listener: () => void) => store.subscribe(listener), [store]),
    () => store.hasMore,
    () => store.hasMore,
  );
  const loadMore = useCallback(() => store.loadMore(), [store]);
  return useMemo(
    () => ({ messages: value, ready, hasMore, error, loadMore, store }),
    [value, ready, hasMore, error, loadMore, store],
  );
}

export interface ThreadState {
  /** The thread's replies, oldest first (the root is not included). */
  messages: readonly MessageItem[];
  ready: boolean;
  error: unknown;
}

/** A thread's live replies (`parentId` null: empty, nothing watched). */
export function useThread(parentId: string | null | undefined): ThreadState {
  const client = useChatClient();
  const store = useMemo(
    () => (parentId ? client.thread(parentId) : (EMPTY_LIST_STORE as LiveStore<readonly MessageItem[]>)),
    [client, parentId],
  );
  const { value, ready, error } = useStoreState(store);
  return useMemo(() => ({ messages: value, ready, error }), [value, ready, error]);
}

/** The realtime connection's state. */
export function useConnectionState(): ConnectionState {
  const client = useChatClient();
  return useLiveStore(client.connection);
}

/**
 * Who else is typing in `cid`. `parentId`: `undefined` for everyone in the channel,
 * `null` for the channel itself (not its threads), an id for that thread only.
 */
export function useTyping(cid: string | null | undefined, parentId?: string | null): readonly TypingUser[] {
  const client = useChatClient();
  const store = useMemo(
    () => (cid ? client.typing(cid) : (EMPTY_LIST_STORE as LiveStore<readonly TypingUser[]>)),
    [client, cid],
  );
  const all = useLiveStore(store);
  const me = client.userId;
  return useMemo(() => {
    const others = all.filter(
      (t) => t.userId !== me && (parentId === undefined || (t.parentId ?? null) === parentId),
    );
    // Keep the store's array when nothing was filtered out.
    return others.length === all.length ? all : others;
  }, [all, me, parentId]);
}

/** The queued operations, oldest first (empty when everything is delivered). */
export function useOutbox(): readonly OutboxItem[] {
  const client = useChatClient();
  const store = useMemo(() => client.outboxStore(), [client]);
  return useLiveStore(store);
}

/** A channel's read receipts (who has read up to which message). */
export function useReadReceipts(cid: string | null | undefined): readonly ReadReceipt[] {
  const client = useChatClient();
  const store = useMemo(
    () => (cid ? client.readReceipts(cid) : (EMPTY_LIST_STORE as LiveStore<readonly ReadReceipt[]>)),
    [client, cid],
  );
  return useLiveStore(store);
}

/**
 * A channel's members, oldest membership first: role, online, last read; the user's queued member
 * changes show at once (`pending`).
 */
export function useMembers(cid: string | null | undefined): readonly MemberItem[] {
  const client = useChatClient();
  const store = useMemo(
    () => (cid ? client.members(cid) : (EMPTY_LIST_STORE as LiveStore<readonly MemberItem[]>)),
    [client, cid],
  );
  return useLiveStore(store);
}

/** The ids of the users online (among those who share a channel with this user). */
export function usePresence(): readonly string[] {
  const client = useChatClient();
  const store = useMemo(() => client.presence(), [client]);
  return useLiveStore(store);
}

/** How to show a user: the provider's `getUser`, falling back to the id as the name. */
export function useUser(userId: string): Required<UserDisplay> {
  const { getUser } = useChatContext();
  const found = getUser(userId);
  const name = found?.name || userId;
  const image = found?.image ?? null;
  return useMemo(() => ({ name, image }), [name, image]);
}

export interface TotalUnreadState extends TotalUnread {
  /** Whether the first value (from the cache) has arrived. */
  ready: boolean;
}

const NO_TOTAL = emptyStore<TotalUnread>({ unreadCount: 0, unreadMentions: 0 });

/**
 * The user's unread counts over every channel they have not muted, live: for an app badge or
 * the document title. A channel muted, marked read, left or deleted stops counting at once.
 */
export function useTotalUnread(): TotalUnreadState {
  const client = useChatClient();
  const store = useMemo(() => client.totalUnread?.() ?? NO_TOTAL, [client]);
  const { value, ready } = useStoreState(store);
  return useMemo(() => ({ ...value, ready }), [value, ready]);
}
