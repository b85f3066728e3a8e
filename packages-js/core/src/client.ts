// `ChatClient`: the page's API. Starts the engine's worker (or uses the endpoint given),
// opens the client in it, forwards calls as promises, hands out cached live stores, and
// follows the page's network and visibility.

import { ChatError } from "./errors.js";
import { mark } from "./marks.js";
import type { EngineInfo, MessageEndpoint } from "./protocol.js";
import { Connection } from "./rpc.js";
import { SnapshotWriter } from "./snapshot.js";
import { spawnWorker } from "./spawn.js";
import {
  ListStore,
  MessageWindowStore,
  OutboxStore,
  Preloaded,
  StarredStore,
  ValueStore,
  type LiveStore,
  type MessageListStore,
  type StarredListStore,
  type StoreHost,
} from "./stores.js";
import type {
  ChannelItem,
  ChannelListQuery,
  ChannelType,
  ChannelUpdate,
  ConnectionState,
  Draft,
  EngineStatus,
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
} from "./types.js";

/** How to connect (see {@link ChatClient.connect}). */
export interface ConnectOptions {
  /** The server's base URL, e.g. `https://chat.example.com`. */
  serverUrl: string;
  /** The app's id. */
  appId: string;
  /** The signed-in user's id. */
  userId: string;
  /**
   * Returns a fresh token for `userId`. Throw (reject with) a {@link TokenRefusedError}
   * when the user is signed out; any other error means "try again later". With several
   * tabs open, the tab owning the database asks its own provider.
   */
  tokenProvider: () => Promise<string>;
  /**
   * `"auto"` (default): OPFS when the browser supports it, else memory (see
   * `storageNote`); `"opfs"`: fail without it; `"memory"`: nothing kept across reloads.
   */
  storage?: "auto" | "opfs" | "memory";
  /**
   * Where the engine runs. Default: a new module Worker from this package's `worker.js`.
   * Pass an endpoint to run it elsewhere, e.g. `createInProcessEndpoint(wasm).endpoint`
   * from `@onyxchat/core/engine` in Node tests.
   */
  worker?: MessageEndpoint;
  /** How long a store's live query outlives its last listener, in ms (default 1000). */
  storeGraceMs?: number;
  /**
   * A channel whose newest messages to load while connecting (e.g. the channel the app
   * shows first): the engine reads them from the cache as soon as the database is open,
   * and `messages(cid)` (default page size) has them without another round trip. The
   * client holds that query for 10 s after connecting, so the app's list finds it running.
   */
  preloadMessages?: string;
  /**
   * Keeps a first-paint snapshot of each channel's newest rows (about 20) in
   * `localStorage` as its message list changes (default false), for
   * `readMessageSnapshot` to show on the next page load before the engine is ready.
   * Privacy: like the OPFS cache, the rows are readable by any script of this origin;
   * remove them with `clearMessageSnapshots` when the user signs out.
   */
  snapshots?: boolean;
}

/** How long a preloaded message list is held for the app to subscribe (ms). */
const PRELOAD_HOLD_MS = 10_000;

/** A store the client can stop. */
type Halting = LiveStore<unknown> & { halt(): void };

/** The worker-side message list page size (default). */
const DEFAULT_PAGE = 30;
const DEFAULT_CHANNELS = 30;

/**
 * The OnyxChat client for the web. Every call returns a promise that rejects with a
 * {@link ChatError}; live data comes from stores (`channels()`, `messages()`, …) built for
 * `useSyncExternalStore`. Create it with {@link ChatClient.connect}; `close()` it when
 * the user signs out.
 */
export class ChatClient {
  /** The user this client acts as. */
  readonly userId: string;
  /** The connection state (a live store; its first value is the state at connect). */
  readonly connection: LiveStore<ConnectionState>;

  private info: EngineInfo;
  private readonly stores = new Map<string, Halting>();
  private readonly connectionStore: ValueStore<ConnectionState>;
  private detachPage: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private readonly snapshots: SnapshotWriter | undefined;

  private readonly host: StoreHost;

  private constructor(
    private readonly rpc: Connection,
    private readonly endpoint: MessageEndpoint,
    private readonly ownsWorker: boolean,
    info: EngineInfo,
    graceMs: number,
    snapshots: SnapshotWriter | undefined,
  ) {
    this.info = info;
    this.snapshots = snapshots;
    this.userId = info.userId;
    const client = this;
    this.host = {
      rpc,
      graceMs,
      get closed() {
        return client.closed;
      },
    };
    this.connectionStore = new ValueStore<ConnectionState>(
      this.host,
      "connection",
      [],
      { type: "connecting", attempt: 0 },
      (s) => ({ ...s }),
    );
    this.connection = this.connectionStore;
  }

  /**
   * Starts the engine (a Worker), opens the user's database (OPFS, or memory — see
   * {@link ChatClient.storage}) and starts syncing. With several tabs of the same app and
   * user, one tab's worker owns the database and the others use it through that tab.
   */
  static async connect(options: ConnectOptions): Promise<ChatClient> {
    const ownsWorker = options.worker === undefined;
    const endpoint = options.worker ?? spawnWorker();
    let client: ChatClient | undefined;
    const rpc = new Connection(endpoint, options.tokenProvider, (info) => client?.onRole(info));
    try {
      const opening = rpc.call<EngineInfo>("open", [
        {
          serverUrl: options.serverUrl,
          appId: options.appId,
          userId: options.userId,
          storage: options.storage ?? "auto",
        },
      ]);
      // Sent together with `open` (the engine runs them once the database is open): the
      // preloaded messages, the connection state, and the page's network and visibility.
      const cid = options.preloadMessages;
      const preloaded = cid !== undefined ? new Preloaded(rpc, "messages", [cid, DEFAULT_PAGE]) : undefined;
      const state = rpc.call<ConnectionState>("connectionState");
      const page = tellPage(rpc);
      state.catch(() => undefined); // Reported through `open` if that fails.
      const info = await opening;
      const snapshots = options.snapshots
        ? new SnapshotWriter({ serverUrl: options.serverUrl, appId: options.appId, userId: info.userId })
        : undefined;
      client = new ChatClient(rpc, endpoint, ownsWorker, info, options.storeGraceMs ?? 1000, snapshots);
      const created = client;
      if (cid !== undefined && preloaded) {
        const store = created.messageWindow(cid, DEFAULT_PAGE);
        if (store.adopt(preloaded)) {
          const hold = setTimeout(store.subscribe(() => undefined), PRELOAD_HOLD_MS);
          (hold as { unref?(): void }).unref?.(); // Node: not a reason to stay alive
        } else rpc.unsubscribe(preloaded.sub);
      }
      created.connectionStore.seed(await state);
      await page;
      created.followPage();
      mark("connected");
      return client;
    } catch (e) {
      rpc.fail(new ChatError("closed", "the client is closed"));
      if (ownsWorker) (endpoint as Worker).terminate();
      else (endpoint as { close?(): void }).close?.();
      throw e;
    }
  }

  /** Whether the cache is persistent (`"opfs"`) or in memory (lost on reload). */
  get storage(): "opfs" | "memory" {
    return this.info.storage;
  }

  /** Why the cache is in memory, if it is (e.g. OPFS is unsupported in this browser). */
  get storageNote(): string | undefined {
    return this.info.storageNote;
  }

  /** Whether this tab's worker owns the database (false: it goes through another tab's). */
  get isLeader(): boolean {
    return this.info.isLeader;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  private onRole(info: EngineInfo) {
    this.info = info;
  }

  /** Runs a call on the engine. */
  private async run<T>(method: string, args: unknown[]): Promise<T> {
    if (this.closing) throw new ChatError("closed", "the client is closed");
    return await this.rpc.call<T>(method, args);
  }

  // ---- calls ------------------------------------------------------------------------

  /**
   * Sends a message to `cid` (text, or a {@link NewMessage} with thread parent, quote,
   * mentions, attachments). Resolves with the message id once it is stored locally and
   * shown (state `pending`/`sending`, then `sent`); works offline.
   */
  sendMessage(cid: string, message: string | NewMessage): Promise<string> {
    return this.run("sendMessage", [cid, typeof message === "string" ? { text: message } : message]);
  }

  /** Edits a message's text (own messages). */
  editMessage(messageId: string, text: string): Promise<void> {
    return this.run("editMessage", [messageId, text]);
  }

  /** Deletes a message (own messages). */
  deleteMessage(messageId: string): Promise<void> {
    return this.run("deleteMessage", [messageId]);
  }

  /** Adds the user's reaction `kind` (e.g. `"like"`). */
  addReaction(messageId: string, kind: string): Promise<void> {
    return this.run("addReaction", [messageId, kind]);
  }

  /** Removes the user's reaction `kind`. */
  removeReaction(messageId: string, kind: string): Promise<void> {
    return this.run("removeReaction", [messageId, kind]);
  }

  /** Stars (saves) a message for the user: shown at once, reverted if the server refuses it. */
  starMessage(messageId: string): Promise<void> {
    return this.run("starMessage", [messageId]);
  }

  /** Unstars a message (shown at once; a star not sent yet is cancelled instead). */
  unstarMessage(messageId: string): Promise<void> {
    return this.run("unstarMessage", [messageId]);
  }

  /** Marks a channel read up to its newest message. */
  markRead(cid: string): Promise<void> {
    return this.run("markRead", [cid]);
  }

  /**
   * Creates a channel; resolves with its cid (`type:id`). Works offline. An explicit `id` is an
   * idempotent create for this user; if someone else already uses it, the create fails in the
   * outbox (409). With `distinct: true`, see {@link openDistinctChannel}.
   */
  createChannel(channel: NewChannel): Promise<string> {
    return this.run("createChannel", [channel]);
  }

  /**
   * Renames a channel or changes its image (owners and admins; absent fields stay). Queued like a
   * send: the channel list shows it at once, offline too. Resolves with the operation id.
   */
  updateChannel(cid: string, update: ChannelUpdate): Promise<string> {
    return this.run("updateChannel", [cid, update]);
  }

  /**
   * Adds members with the default role (moderators and above). Queued: they show at once in
   * {@link members}, `pending` until the server confirms. Resolves with the operation id.
   */
  addMembers(cid: string, userIds: string[]): Promise<string> {
    return this.run("addMembers", [cid, userIds]);
  }

  /** Gives a member a new role (queued; shown at once in {@link members}). */
  setMemberRole(cid: string, userId: string, role: MemberRole): Promise<string> {
    return this.run("setMemberRole", [cid, userId, role]);
  }

  /** Removes a member (moderators and above; queued, gone from {@link members} at once). */
  removeMember(cid: string, userId: string): Promise<string> {
    return this.run("removeMember", [cid, userId]);
  }

  /** Leaves a channel (queued): it leaves the channel list at once. */
  leaveChannel(cid: string): Promise<string> {
    return this.run("leaveChannel", [cid]);
  }

  /**
   * Hides a channel from the user's list until its next new message (`false`: shows it again),
   * queued: it leaves the default list at once and the user's other devices once delivered.
   */
  hideChannel(cid: string, hidden = true): Promise<string> {
    return this.run("hideChannel", [cid, hidden]);
  }

  /** Mutes a channel for the user (`false`: unmutes), queued: it leaves {@link totalUnread} at once. */
  muteChannel(cid: string, muted = true): Promise<string> {
    return this.run("muteChannel", [cid, muted]);
  }

  /** Archives a channel for the user (`false`: un-archives), queued: it leaves the default list. */
  archiveChannel(cid: string, archived = true): Promise<string> {
    return this.run("archiveChannel", [cid, archived]);
  }

  /** Deletes a channel for everyone (owners and admins), queued: it leaves the list at once. */
  deleteChannel(cid: string): Promise<string> {
    return this.run("deleteChannel", [cid]);
  }

  /**
   * Opens (creating it if needed) the distinct conversation between this user and `members`: a
   * direct message with one member, a fixed group with several. Its cid is derived from the
   * member set (`messaging:!members-…`), so every member gets the same cid, offline too. Its
   * members are fixed: to add someone, open a conversation with the larger set.
   */
  openDistinctChannel(members: string[], type: ChannelType = "messaging", name?: string): Promise<string> {
    return this.createChannel({ type, members, distinct: true, ...(name ? { name } : {}) });
  }

  /** Retries a failed operation (for a failed message: its id). */
  retry(opId: string): Promise<void> {
    return this.run("retry", [opId]);
  }

  /** Gives up a queued or failed operation (a failed message disappears). */
  discard(opId: string): Promise<void> {
    return this.run("discard", [opId]);
  }

  /**
   * Stores what the user is writing in `cid` (in the thread of `parentId`), so it survives a
   * reload; a blank text deletes it. Sending a message there deletes it. Local to this device.
   */
  setDraft(cid: string, parentId: string | null, text: string): Promise<void> {
    return this.run("setDraft", [cid, parentId ?? undefined, text]);
  }

  /** The draft of `cid` (in the thread of `parentId`), or `null`. */
  draft(cid: string, parentId: string | null = null): Promise<Draft | null> {
    return this.run<Draft | null | undefined>("draft", [cid, parentId ?? undefined]).then((d) => d ?? null);
  }

  /**
   * Suggestions for an `@` mention in `cid`: the members whose id starts with `prefix`
   * (case-insensitive; `""` lists everyone), most recently active in the channel first,
   * then online ones, at most `limit`, never the current user. Answered from the local
   * cache (offline too), with queued member changes applied.
   */
  mentionCandidates(cid: string, prefix: string, limit = 8): Promise<MemberItem[]> {
    return this.run("mentionCandidates", [cid, prefix, limit]);
  }

  /** Every queued operation, oldest first (see also {@link ChatClient.outboxStore}). */
  outbox(): Promise<OutboxItem[]> {
    return this.run("outbox", []);
  }

  /**
   * One page of a full-text search of `text` (plain words; locally the last one also
   * matches as a prefix, for search as you type): the local cache's hits first (`local`),
   * then a page of the server's for history the cache does not hold, each message once.
   * Offline the page holds the local hits alone and `server.type` is `"not_reached"`.
   * Pass the page's `next` as `cursor` for the next page. Highlights are UTF-16 ranges of
   * `message.text`.
   */
  search(text: string, options: SearchOptions = {}): Promise<SearchPage> {
    return this.run("search", [text, options.cid ?? null, options.limit ?? 20, options.cursor ?? null]);
  }

  /** The local hits alone (the first `limit`, best first): instant, offline too. */
  searchLocal(text: string, options: Omit<SearchOptions, "cursor"> = {}): Promise<SearchHit[]> {
    return this.run("searchLocal", [text, options.cid ?? null, options.limit ?? 20]);
  }

  /** The engine's state (outbox length, sync cursor, whether auth stopped, errors). */
  status(): Promise<EngineStatus> {
    return this.run("status", []);
  }

  /** Syncs with the server now; resolves when done. */
  sync(): Promise<void> {
    return this.run("sync", []);
  }

  /** Reconnects realtime now (e.g. from a "retry" button). */
  reconnect(): Promise<void> {
    return this.run("reconnect", []);
  }

  /** Asks the token provider again (after it refused, once the user signed in again). */
  refreshToken(): Promise<void> {
    return this.run("refreshToken", []);
  }

  /** The user is typing in `cid` (in the thread of `parentId`, if given). */
  startTyping(cid: string, parentId?: string): Promise<void> {
    return this.run("startTyping", [cid, parentId ?? null]);
  }

  /** The user stopped typing. */
  stopTyping(cid: string, parentId?: string): Promise<void> {
    return this.run("stopTyping", [cid, parentId ?? null]);
  }

  /** Tells the engine whether the network is reachable (done for you from `online`/`offline`). */
  setNetworkReachable(reachable: boolean): Promise<void> {
    return this.run("setNetworkReachable", [reachable]);
  }

  /**
   * Tells the engine whether the page is visible (done for you from `visibilitychange`;
   * with several tabs, the engine counts as foreground while any tab is visible).
   */
  setForeground(foreground: boolean): Promise<void> {
    return this.run("setForeground", [foreground]);
  }

  /**
   * Stops the client: stores stop, the engine shuts down (queued operations stay in the
   * database for the next start) and its worker ends. Later calls reject with `closed`.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.detachPage?.();
    this.snapshots?.close();
    for (const store of this.stores.values()) store.halt();
    this.connectionStore.halt();
    try {
      await Promise.race([
        this.rpc.call("close"),
        new Promise((resolve) => setTimeout(resolve, 5000)),
      ]);
    } catch {
      // Already gone.
    }
    this.rpc.fail(new ChatError("closed", "the client is closed"));
    if (this.ownsWorker) (this.endpoint as Worker).terminate();
    else (this.endpoint as { close?(): void }).close?.();
  }

  // ---- stores -----------------------------------------------------------------------

  private store<S extends Halting>(key: string, make: () => S): S {
    let store = this.stores.get(key) as S | undefined;
    if (!store) {
      store = make();
      this.stores.set(key, store);
    }
    return store;
  }

  /**
   * The channel list with unread counts: the first `limit` channels by recent activity, neither
   * hidden nor archived; or with a {@link ChannelListQuery} (type, unread only, hidden / muted /
   * archived included, excluded or alone, a text filter on names, cids and member ids, sorted by
   * activity or unread count). The same store for the same arguments.
   */
  channels(query: number | ChannelListQuery = DEFAULT_CHANNELS): LiveStore<ChannelItem[]> {
    if (typeof query === "number") {
      return this.store(`channels:${query}`, () => new ListStore<ChannelItem>(this.host, "channels", [query], (c) => c.channel.cid));
    }
    const q: ChannelListQuery = { limit: DEFAULT_CHANNELS, ...query };
    return this.store(
      `channelList:${JSON.stringify(q, Object.keys(q).sort())}`,
      () => new ListStore<ChannelItem>(this.host, "channelList", [q], (c) => c.channel.cid),
    );
  }

  /** The user's unread counts over every channel they have not muted, live (app badges). */
  totalUnread(): LiveStore<TotalUnread> {
    return this.store(
      "totalUnread",
      () =>
        new ValueStore<TotalUnread>(this.host, "totalUnread", [], { unreadCount: 0, unreadMentions: 0 }, (t) => ({ ...t })),
    );
  }

  /**
   * A channel's messages, oldest first: the newest `pageSize`, then more with
   * `loadOlder()`. The same store for the same arguments.
   */
  messages(cid: string, pageSize = DEFAULT_PAGE): MessageListStore {
    return this.messageWindow(cid, pageSize);
  }

  private messageWindow(cid: string, pageSize: number): MessageWindowStore {
    const snapshots = this.snapshots;
    const onNewest = snapshots ? (c: string, items: readonly MessageItem[]) => snapshots.changed(c, items) : undefined;
    return this.store(
      `messages:${cid}:${pageSize}`,
      () => new MessageWindowStore(this.host, cid, pageSize, onNewest),
    );
  }

  /** A thread's replies, oldest first. */
  thread(parentId: string): LiveStore<MessageItem[]> {
    return this.store(`thread:${parentId}`, () => new ListStore<MessageItem>(this.host, "thread", [parentId], (m) => m.message.id));
  }

  /**
   * The user's starred messages across channels, most recently sent first, with stars and
   * unstars not yet delivered applied: the newest `pageSize`, then more with `loadMore()`.
   * The same store for the same arguments.
   */
  starred(pageSize = DEFAULT_PAGE): StarredListStore {
    return this.store(`starred:${pageSize}`, () => new StarredStore(this.host, pageSize));
  }

  /** A channel's read receipts (one per member who read). */
  readReceipts(cid: string): LiveStore<ReadReceipt[]> {
    return this.store(`readReceipts:${cid}`, () => new ListStore<ReadReceipt>(this.host, "readReceipts", [cid], (r) => r.userId));
  }

  /**
   * A channel's members, oldest membership first: role, online, last read, with the user's queued
   * member changes shown at once (`pending`).
   */
  members(cid: string): LiveStore<MemberItem[]> {
    return this.store(`members:${cid}`, () => new ListStore<MemberItem>(this.host, "members", [cid], (m) => m.userId));
  }

  /** Who else is typing in `cid`. */
  typing(cid: string): LiveStore<TypingUser[]> {
    return this.store(`typing:${cid}`, () => new ValueStore<TypingUser[]>(this.host, "typing", [cid], [], (l) => l.slice()));
  }

  /** The ids of the users online. */
  presence(): LiveStore<string[]> {
    return this.store("presence", () => new ValueStore<string[]>(this.host, "presence", [], [], (l) => l.slice()));
  }

  /**
   * The outbox as a store: every queued operation, oldest first, pushed by chat-core
   * whenever it changes (items appear, change state, leave); nothing is polled.
   */
  outboxStore(): LiveStore<OutboxItem[]> {
    return this.store("outbox", () => new OutboxStore(this.host));
  }

  // ---- the page ---------------------------------------------------------------------

  /** Follows `online`/`offline` and `visibilitychange` where there is a page (see `tellPage`). */
  private followPage(): void {
    const w = (globalThis as { window?: Window }).window;
    const d = (globalThis as { document?: Document }).document;
    if (!w || typeof w.addEventListener !== "function") return;
    const ignore = () => undefined;
    const online = () => this.setNetworkReachable(true).catch(ignore);
    const offline = () => this.setNetworkReachable(false).catch(ignore);
    const visibility = () => this.setForeground(d?.visibilityState !== "hidden").catch(ignore);
    w.addEventListener("online", online);
    w.addEventListener("offline", offline);
    d?.addEventListener("visibilitychange", visibility);
    this.detachPage = () => {
      w.removeEventListener("online", online);
      w.removeEventListener("offline", offline);
      d?.removeEventListener("visibilitychange", visibility);
    };
  }
}

/**
 * Tells the engine the page's state at connect (offline, hidden), where there is a page;
 * settles once it has been told (failures are ignored, as for later changes).
 */
async function tellPage(rpc: Connection): Promise<void> {
  const w = (globalThis as { window?: Window }).window;
  const d = (globalThis as { document?: Document }).document;
  const n = (globalThis as { navigator?: Navigator }).navigator;
  if (!w || typeof w.addEventListener !== "function") return;
  const ignore = () => undefined;
  const offline = n && n.onLine === false ? rpc.call("setNetworkReachable", [false]).catch(ignore) : undefined;
  const visible = d ? rpc.call("setForeground", [d.visibilityState !== "hidden"]).catch(ignore) : undefined;
  await offline;
  await visible;
}
