// Live stores for the UI, shaped for React's `useSyncExternalStore`: `subscribe` +
// `getSnapshot` (an immutable snapshot, replaced on every change). A store's live query in
// the worker runs while it has listeners: it starts with the first `subscribe` and stops a
// grace period after the last listener leaves (so StrictMode's mount–unmount–mount and
// quick re-renders reuse it). Each (re)start delivers a reset first.

import { ChatError } from "./errors.js";
import { applyDiffs, deepEqual } from "./diff.js";
import { markOnce } from "./marks.js";
import type { Connection, SubHandlers } from "./rpc.js";
import type { SubKind } from "./protocol.js";
import type { ListDiff, MessageItem, OutboxItem } from "./types.js";

/**
 * A value that changes over time, for `useSyncExternalStore(store.subscribe,
 * store.getSnapshot)`. Both methods are bound: pass them as they are.
 */
export interface LiveStore<T> {
  /** Calls `listener` after each change; returns the function that stops it. */
  subscribe(listener: () => void): () => void;
  /**
   * The current value: the same object until something changes, then a new one (never
   * mutate it). Before the first delivery: an empty list (or the last known value).
   */
  getSnapshot(): T;
  /** Whether the snapshot reflects the running live query (false until its first delivery). */
  readonly ready: boolean;
  /** Why the live query failed (e.g. a malformed cid), if it did. */
  readonly error: ChatError | undefined;
}

/**
 * A live window on a channel's messages, oldest first: the newest `pageSize` messages,
 * growing by a page per {@link MessageListStore.loadOlder}.
 */
export interface MessageListStore extends LiveStore<MessageItem[]> {
  /**
   * Shows one more page of older messages; resolves `false` at the start of the channel
   * (then {@link MessageListStore.hasOlder} is false). Concurrent calls share one request.
   * The store must be subscribed.
   */
  loadOlder(): Promise<boolean>;
  /** Moves one page towards the newest; resolves `true` once at the newest again. */
  loadNewer(): Promise<boolean>;
  /** Centres the window on a message (for "jump to reply"); older pages may follow again. */
  jumpTo(messageId: string): Promise<void>;
  /** False once `loadOlder` found the start of the channel (the snapshot is replaced then). */
  readonly hasOlder: boolean;
}

/**
 * A live query started on the connection before its store exists (`ChatClient.connect`'s
 * `preloadMessages`): deliveries are kept until a store takes them.
 */
export class Preloaded {
  private readonly kept: Array<{ payload: unknown } | { error: ChatError }> = [];
  private target: SubHandlers | undefined;
  readonly sub: number;

  constructor(rpc: Connection, kind: SubKind, args: unknown[]) {
    this.sub = rpc.subscribe(kind, args, {
      payload: (payload) => (this.target ? this.target.payload(payload) : this.kept.push({ payload })),
      error: (error) => (this.target ? this.target.error(error) : this.kept.push({ error })),
    });
  }

  /** Hands what was delivered, and all that follows, to `handlers`. */
  take(handlers: SubHandlers): void {
    this.target = handlers;
    for (const k of this.kept.splice(0)) {
      if ("payload" in k) handlers.payload(k.payload);
      else handlers.error(k.error);
    }
  }
}

/** What stores need from the client. */
export interface StoreHost {
  readonly rpc: Connection;
  /** How long a store's live query outlives its last listener. */
  readonly graceMs: number;
  /** Whether the client is closed (stores then stay stopped). */
  readonly closed: boolean;
}

/** Listener bookkeeping, the grace period, and snapshot replacement. */
abstract class BaseStore<T> implements LiveStore<T> {
  private readonly listeners = new Set<{ fn: () => void }>();
  private stopTimer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  ready = false;
  error: ChatError | undefined;

  protected constructor(
    protected readonly host: StoreHost,
    protected snapshot: T,
  ) {}

  readonly subscribe = (listener: () => void): (() => void) => {
    const entry = { fn: listener };
    this.listeners.add(entry);
    if (this.stopTimer !== undefined) {
      clearTimeout(this.stopTimer);
      this.stopTimer = undefined;
    }
    if (!this.running && !this.host.closed) {
      this.running = true;
      this.start();
    }
    return () => {
      if (!this.listeners.delete(entry) || this.listeners.size > 0 || !this.running) return;
      this.stopTimer = setTimeout(() => this.halt(), this.host.graceMs);
    };
  };

  readonly getSnapshot = (): T => this.snapshot;

  /** Whether the live query is running (listeners, or within the grace period). */
  get active(): boolean {
    return this.running;
  }

  /** Stops the live query now (grace over, or the client closed). */
  halt(): void {
    if (this.stopTimer !== undefined) clearTimeout(this.stopTimer);
    this.stopTimer = undefined;
    if (!this.running) return;
    this.running = false;
    this.ready = false;
    this.stop();
  }

  /**
   * Runs `take` as the live query's start (instead of `start()`), if the query is not
   * running yet; returns whether it did.
   */
  protected startWith(take: () => void): boolean {
    if (this.running || this.host.closed) return false;
    this.running = true;
    take();
    return true;
  }

  protected abstract start(): void;
  protected abstract stop(): void;
  /** A copy of `value` (a new identity with the same content). */
  protected abstract copy(value: T): T;

  /** Replaces the snapshot (`next`), or forces a new one when `ready` flips, and notifies. */
  protected publish(next: T, becameReady: boolean): void {
    if (next === this.snapshot && !becameReady) return;
    this.snapshot = next === this.snapshot ? this.copy(next) : next;
    this.notify();
  }

  /** A new snapshot with the same content (after a change listeners must see, e.g. `error`). */
  protected touch(): void {
    this.snapshot = this.copy(this.snapshot);
    this.notify();
  }

  private notify() {
    for (const l of [...this.listeners]) l.fn();
  }
}

/** A store fed by one live query in the worker. */
class QueryStore<T> extends BaseStore<T> {
  protected sub: number | undefined;

  constructor(
    host: StoreHost,
    initial: T,
    private readonly kind: SubKind,
    private readonly args: unknown[],
    private readonly reduce: (prev: T, payload: unknown) => T,
    private readonly clone: (value: T) => T,
  ) {
    super(host, initial);
  }

  protected start(): void {
    let sub = 0;
    sub = this.host.rpc.subscribe(this.kind, this.args, this.handlers(() => sub));
    this.sub = sub;
  }

  /** What this store does with its live query `sub()`'s deliveries. */
  private handlers(sub: () => number): SubHandlers {
    return {
      payload: (payload) => {
        if (this.sub !== sub()) return;
        const becameReady = !this.ready;
        this.ready = true;
        this.error = undefined;
        this.publish(this.reduce(this.snapshot, payload), becameReady);
        this.delivered(payload);
      },
      error: (error) => {
        if (this.sub !== sub()) return;
        this.sub = undefined;
        this.ready = false;
        this.error = error;
        this.touch();
      },
    };
  }

  /**
   * Takes over `query`, a live query of this store's kind and arguments started on the
   * connection before the store existed (see {@link Preloaded}): what it delivered so far
   * is applied now, the rest as it comes. Does nothing if the store's own query runs.
   */
  adopt(query: Preloaded): boolean {
    return this.startWith(() => {
      this.sub = query.sub;
      query.take(this.handlers(() => query.sub));
    });
  }

  protected stop(): void {
    if (this.sub !== undefined) this.host.rpc.unsubscribe(this.sub);
    this.sub = undefined;
  }

  protected copy(value: T): T {
    return this.clone(value);
  }

  /** Called after each delivery (subclasses). */
  protected delivered(_payload: unknown): void {}
}

/** A list kept from diff batches (`key` identifies an item across batches). */
export class ListStore<T> extends QueryStore<T[]> {
  constructor(
    host: StoreHost,
    kind: SubKind,
    args: unknown[],
    key: (item: T) => string,
  ) {
    super(
      host,
      [],
      kind,
      args,
      (prev, payload) => applyDiffs(prev, payload as ListDiff<T>[], key) as T[],
      (list) => list.slice(),
    );
  }
}

/** A whole value replaced on each delivery (kept when equal). */
export class ValueStore<T> extends QueryStore<T> {
  constructor(host: StoreHost, kind: SubKind, args: unknown[], initial: T, clone: (value: T) => T) {
    super(host, initial, kind, args, (prev, payload) => (deepEqual(prev, payload) ? prev : (payload as T)), clone);
  }

  /** Sets the value known before the live query runs (e.g. the connection state at connect). */
  seed(value: T): void {
    if (!this.ready) this.snapshot = value;
  }
}

const messageKey = (m: MessageItem) => m.message.id;

/** How many pages chat-core's message window keeps at most (it slides beyond). */
const WINDOW_PAGES = 8;

/**
 * The {@link MessageListStore} implementation. With `onNewest`, it reports its rows after
 * each delivery while its window holds the channel's newest messages (for the first-paint
 * snapshot): not after `jumpTo` or a `loadNewer` short of the newest, nor once paging up
 * may have slid the newest out (the window is full after a `loadOlder`).
 */
export class MessageWindowStore extends ListStore<MessageItem> implements MessageListStore {
  hasOlder = true;
  private olderInFlight: Promise<boolean> | undefined;
  /** `loadOlder` calls since the window was last at its newest page alone. */
  private paged = 0;
  /** After `jumpTo`, or a `loadNewer` that did not reach the newest. */
  private away = false;

  constructor(
    host: StoreHost,
    readonly cid: string,
    private readonly pageSize: number,
    private readonly onNewest?: (cid: string, items: readonly MessageItem[]) => void,
  ) {
    super(host, "messages", [cid, pageSize], messageKey);
  }

  protected override start(): void {
    this.hasOlder = true;
    this.paged = 0;
    this.away = false;
    super.start();
  }

  /** Whether the window holds the channel's newest messages (see the class's note). */
  private get atNewest(): boolean {
    return !this.away && (this.paged === 0 || this.snapshot.length < WINDOW_PAGES * this.pageSize);
  }

  protected override delivered(payload: unknown): void {
    markOnce("first-messages");
    if ((payload as ListDiff<MessageItem>[]).some((d) => d.type === "reset")) this.hasOlder = true;
    super.delivered(payload);
    if (this.onNewest && this.atNewest) this.onNewest(this.cid, this.snapshot);
  }

  private windowCall<R>(method: string, args: unknown[] = []): Promise<R> {
    if (this.host.closed) return Promise.reject(new ChatError("closed", "the client is closed"));
    if (this.sub === undefined) {
      return Promise.reject(new ChatError("invalid_operation", "subscribe to the message list before paging it"));
    }
    return this.host.rpc.call<R>(method, [this.sub, ...args]);
  }

  loadOlder(): Promise<boolean> {
    if (this.olderInFlight === undefined) this.paged += 1; // before its delivery arrives
    this.olderInFlight ??= this.windowCall<boolean>("window.loadOlder").then(
      (more) => {
        this.olderInFlight = undefined;
        if (this.hasOlder !== more) {
          this.hasOlder = more;
          this.touch();
        }
        return more;
      },
      (e) => {
        this.olderInFlight = undefined;
        throw e;
      },
    );
    return this.olderInFlight;
  }

  async loadNewer(): Promise<boolean> {
    const atNewest = await this.windowCall<boolean>("window.loadNewer");
    this.away = !atNewest;
    if (atNewest) this.paged = 0;
    return atNewest;
  }

  async jumpTo(messageId: string): Promise<void> {
    this.away = true;
    await this.windowCall<void>("window.jumpTo", [messageId]);
    if (!this.hasOlder) {
      this.hasOlder = true;
      this.touch();
    }
  }
}

/**
 * The user's starred messages across channels, most recently sent first: the newest
 * `pageSize`, growing by a page per {@link StarredListStore.loadMore}.
 */
export interface StarredListStore extends LiveStore<MessageItem[]> {
  /**
   * Shows one more page of older starred messages; resolves `false` once the oldest is shown
   * (then {@link StarredListStore.hasMore} is false). Concurrent calls share one request. The
   * store must be subscribed.
   */
  loadMore(): Promise<boolean>;
  /** False once `loadMore` found the oldest starred message. */
  readonly hasMore: boolean;
}

/** The {@link StarredListStore} implementation. */
export class StarredStore extends ListStore<MessageItem> implements StarredListStore {
  hasMore = true;
  private moreInFlight: Promise<boolean> | undefined;

  constructor(host: StoreHost, pageSize: number) {
    super(host, "starred", [pageSize], messageKey);
  }

  protected override start(): void {
    this.hasMore = true;
    super.start();
  }

  loadMore(): Promise<boolean> {
    if (this.host.closed) return Promise.reject(new ChatError("closed", "the client is closed"));
    if (this.sub === undefined) {
      return Promise.reject(new ChatError("invalid_operation", "subscribe to the starred list before paging it"));
    }
    this.moreInFlight ??= this.host.rpc.call<boolean>("window.loadMore", [this.sub]).then(
      (more) => {
        this.moreInFlight = undefined;
        if (this.hasMore !== more) {
          this.hasMore = more;
          this.touch();
        }
        return more;
      },
      (e) => {
        this.moreInFlight = undefined;
        throw e;
      },
    );
    return this.moreInFlight;
  }
}

const opKey = (o: OutboxItem) => o.opId;

/**
 * The outbox, live: chat-core pushes the whole list whenever it changes (items appear,
 * change state, leave); items whose content is unchanged keep their identity.
 */
export class OutboxStore extends QueryStore<OutboxItem[]> {
  constructor(host: StoreHost) {
    super(
      host,
      [],
      "outbox",
      [],
      (prev, payload) => applyDiffs(prev, [{ type: "reset", items: payload as OutboxItem[] }], opKey) as OutboxItem[],
      (list) => list.slice(),
    );
  }
}
