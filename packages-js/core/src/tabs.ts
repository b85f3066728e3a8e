// Several tabs, one database: the OPFS pool allows one connection, so one tab's worker
// (the leader, holding the Web Lock `onyxchat:<appId>:<userId>` for its life) opens it and
// every other tab's worker (a follower) forwards calls and live queries to it over a
// BroadcastChannel of the same name. When the leader's tab closes the lock passes to a
// waiting follower, which opens the database and announces itself; the others move their
// live queries to it. Each worker also holds `<name>:peer:<id>` for its life, so the
// leader learns when a follower's tab is gone (and drops its queries) and followers learn
// when the leader's is.

import { LocalBackend, type Backend, type WasmModule, type Watch } from "./backend.js";
import { ChatError, toWire, type WireError } from "./errors.js";
import type { ClientMethod, EngineInfo, SubKind } from "./protocol.js";
import type { OpenOptions } from "./types.js";

/** The part of `navigator.locks` (the Web Locks API) used here. */
export interface LockManagerLike {
  request(
    name: string,
    options: { ifAvailable?: boolean; signal?: AbortSignal },
    callback: (lock: unknown) => unknown,
  ): Promise<unknown>;
}

/** The part of `BroadcastChannel` used here. */
export interface BroadcastChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  close(): void;
}

/** What multi-tab coordination needs from the platform. */
export interface TabsEnvironment {
  locks: LockManagerLike;
  BroadcastChannel: new (name: string) => BroadcastChannelLike;
  /**
   * Whether OPFS is supported here: a new leader then retries opening it for a while, as
   * the previous leader's worker may still hold the files for a moment.
   */
  opfsExpected?: boolean;
}

/** The browser's environment, or `undefined` where locks or channels are missing (Node). */
export function detectTabsEnvironment(): TabsEnvironment | undefined {
  const g = globalThis as {
    navigator?: { locks?: LockManagerLike; storage?: { getDirectory?: unknown } };
    BroadcastChannel?: TabsEnvironment["BroadcastChannel"];
    FileSystemSyncAccessHandle?: unknown;
  };
  const locks = g.navigator?.locks;
  if (!locks || typeof g.BroadcastChannel !== "function") return undefined;
  return {
    locks,
    BroadcastChannel: g.BroadcastChannel,
    opfsExpected:
      typeof g.navigator?.storage?.getDirectory === "function" && g.FileSystemSyncAccessHandle !== undefined,
  };
}

/** Between workers, over the channel. `to` addresses one worker; `from` is the sender. */
type TabMessage =
  | { t: "hello"; from: string }
  | { t: "leader"; from: string; info: EngineInfo }
  | { t: "call"; from: string; to: string; id: number; method: string; args: unknown[] }
  | { t: "watch"; from: string; to: string; id: number; sub: number; kind: SubKind; args: unknown[] }
  | { t: "unwatch"; from: string; to: string; sub: number }
  | { t: "result"; from: string; to: string; id: number; ok: true; value: unknown }
  | { t: "result"; from: string; to: string; id: number; ok: false; error: WireError }
  | { t: "data"; from: string; to: string; sub: number; payload: unknown };

/** How long a new leader keeps trying OPFS while the old leader's worker lets go of it. */
const OPFS_ATTEMPTS = 8;
const OPFS_RETRY_MS = 250;
/** A follower repeats its hello until a leader answers. */
const HELLO_EVERY_MS = 1000;

interface Held {
  release(): void;
}

/** Requests a lock and keeps it until `release()`; `null` if `ifAvailable` and taken. */
function hold(
  locks: LockManagerLike,
  name: string,
  options: { ifAvailable?: boolean; signal?: AbortSignal } = {},
): Promise<Held | null> {
  return new Promise((resolve, reject) => {
    locks
      .request(name, options, (lock) => {
        if (!lock) {
          resolve(null);
          return undefined;
        }
        return new Promise<void>((release) => resolve({ release: () => release() }));
      })
      .catch(reject);
  });
}

function randomId(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A promise with its resolver outside. */
function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * This worker's part in the tabs of one app and user: leader (runs the client, serves the
 * others) or follower (forwards). Implements `Backend` for the engine either way; calls
 * made while no leader is known wait for one.
 */
export class Tabs implements Backend {
  private readonly id = randomId();
  private readonly name: string;
  private readonly abort = new AbortController();
  private bc!: BroadcastChannelLike;
  private selfLock: Held | null = null;
  private leaderLock: Held | null = null;
  private closed = false;

  /** The leader's id (ours when leading), and what it reported. */
  private leaderId: string | undefined;
  private leaderInfo: EngineInfo | undefined;
  private ready = deferred();

  // Leader side.
  private local: LocalBackend | undefined;
  private readonly hosted = new Map<string, Watch | null>();
  private readonly peers = new Set<string>();
  private readonly foreground = new Map<string, boolean>();

  // Follower side.
  private seq = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  private readonly remoteWatches = new Map<number, (payload: unknown) => void>();
  private myForeground: boolean | undefined;
  /** Whether a leader was followed before (then a new one means moving the queries). */
  private followed = false;
  private helloTimer: ReturnType<typeof setInterval> | undefined;

  private constructor(
    private readonly wasm: WasmModule,
    private readonly options: OpenOptions,
    private readonly fetchToken: () => Promise<string>,
    private readonly env: TabsEnvironment,
    private readonly onChange: (change: "lost" | "ready") => void,
  ) {
    this.name = `onyxchat:${options.appId}:${options.userId}`;
  }

  /**
   * Joins the tabs of `options`' app and user: resolves once this worker leads (its
   * database is open) or a leader has answered.
   */
  static async start(
    wasm: WasmModule,
    options: OpenOptions,
    fetchToken: () => Promise<string>,
    env: TabsEnvironment,
    onChange: (change: "lost" | "ready") => void,
  ): Promise<Tabs> {
    const tabs = new Tabs(wasm, options, fetchToken, env, onChange);
    try {
      await tabs.join();
    } catch (e) {
      await tabs.close(true);
      throw e;
    }
    return tabs;
  }

  private async join(): Promise<void> {
    this.selfLock = await hold(this.env.locks, this.peerLock(this.id));
    this.bc = new this.env.BroadcastChannel(this.name);
    this.bc.addEventListener("message", (e) => this.onMessage(e.data as TabMessage));
    const lock = await hold(this.env.locks, this.name, { ifAvailable: true });
    if (lock) {
      this.leaderLock = lock;
      await this.lead();
      return;
    }
    this.waitForLeadership();
    this.send({ t: "hello", from: this.id });
    this.helloTimer = setInterval(() => {
      if (this.leaderId === undefined) this.send({ t: "hello", from: this.id });
    }, HELLO_EVERY_MS);
    await this.ready.promise;
  }

  private peerLock(id: string): string {
    return `${this.name}:peer:${id}`;
  }

  private send(m: TabMessage) {
    if (!this.closed) this.bc.postMessage(m);
  }

  /** The live queries run here for other tabs. */
  get hostedCount(): number {
    return this.hosted.size;
  }

  get info(): EngineInfo {
    if (this.local && this.leaderId === this.id) return this.local.info;
    if (this.leaderInfo) return { ...this.leaderInfo, isLeader: false };
    return { storage: "memory", storageNote: "no tab owns the database yet", userId: this.options.userId, isLeader: false };
  }

  // ---- becoming the leader ----------------------------------------------------------

  /** Queues for the lock; when granted (the leader is gone), takes over. */
  private waitForLeadership() {
    hold(this.env.locks, this.name, { signal: this.abort.signal }).then(
      (lock) => {
        if (!lock) return;
        if (this.closed) return lock.release();
        this.leaderLock = lock;
        this.takeOver().catch(() => {
          // Could not open the database: let another tab try, then queue again.
          this.leaderLock = null;
          lock.release();
          if (!this.closed) setTimeout(() => this.waitForLeadership(), 1000);
        });
      },
      () => {
        // Aborted: this worker is closing.
      },
    );
  }

  private async takeOver() {
    if (this.leaderId !== undefined) this.leaderLost();
    await this.lead();
    this.onChange("ready");
  }

  /** Opens the database and announces this worker as the leader. */
  private async lead() {
    this.local = await this.openLocal();
    if (this.closed) {
      await this.local.close();
      return;
    }
    this.leaderId = this.id;
    this.leaderInfo = this.local.info;
    clearInterval(this.helloTimer);
    this.foreground.clear();
    if (this.myForeground !== undefined) this.foreground.set(this.id, this.myForeground);
    this.announce();
    this.ready.resolve();
  }

  private async openLocal(): Promise<LocalBackend> {
    const wanted = this.options.storage ?? "auto";
    if (this.env.opfsExpected && wanted !== "memory") {
      let last: unknown;
      for (let i = 0; i < OPFS_ATTEMPTS; i++) {
        try {
          return await LocalBackend.open(this.wasm, { ...this.options, storage: "opfs" }, this.fetchToken);
        } catch (e) {
          if (toWire(e).kind !== "cache") throw e;
          last = e;
          await sleep(OPFS_RETRY_MS);
        }
      }
      if (wanted === "opfs") throw last;
    }
    return await LocalBackend.open(this.wasm, this.options, this.fetchToken);
  }

  private announce() {
    if (this.local) this.send({ t: "leader", from: this.id, info: this.local.info });
  }

  // ---- following --------------------------------------------------------------------

  /** A (new) leader announced itself. */
  private follow(leader: string, info: EngineInfo) {
    if (leader === this.leaderId) {
      this.leaderInfo = info;
      return;
    }
    if (this.leaderId === this.id) return; // Two leaders cannot hold one lock.
    const hadLeader = this.leaderId !== undefined;
    if (hadLeader) this.leaderLost();
    this.leaderId = leader;
    this.leaderInfo = info;
    clearInterval(this.helloTimer);
    // Learn when the leader's tab is gone: its peer lock becomes free.
    hold(this.env.locks, this.peerLock(leader), { signal: this.abort.signal }).then(
      (lock) => {
        lock?.release();
        if (!this.closed && this.leaderId === leader) this.leaderLost();
      },
      () => undefined,
    );
    if (this.myForeground !== undefined) {
      this.remote({ t: "call", method: "setForeground", args: [this.myForeground] }).catch(() => undefined);
    }
    this.ready.resolve();
    if (hadLeader || this.followed) this.onChange("ready");
    this.followed = true;
  }

  /** The leader is gone: calls in flight fail (never replayed), queries wait for the next. */
  private leaderLost() {
    this.leaderId = undefined;
    this.ready = deferred();
    this.onChange("lost");
    const error = new ChatError(
      "network",
      "the tab that owned the database closed during this call; it was not retried (it may or may not have been applied)",
    );
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    this.remoteWatches.clear();
  }

  private remote(m: { t: "call"; method: string; args: unknown[] } | { t: "watch"; sub: number; kind: SubKind; args: unknown[] }) {
    const to = this.leaderId;
    if (to === undefined || to === this.id) return Promise.reject(new ChatError("network", "no tab owns the database"));
    const id = ++this.seq;
    return new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ ...m, from: this.id, to, id });
    });
  }

  /** Waits until some worker (maybe this one) leads. */
  private async leader(): Promise<string> {
    for (;;) {
      if (this.closed) throw new ChatError("closed", "the client is closed");
      if (this.leaderId !== undefined) return this.leaderId;
      await this.ready.promise;
    }
  }

  // ---- Backend ----------------------------------------------------------------------

  async call(method: ClientMethod, args: unknown[]): Promise<unknown> {
    const leader = await this.leader();
    if (method === "setForeground") this.myForeground = Boolean(args[0]);
    if (leader === this.id && this.local) {
      if (method === "setForeground") return await this.setForeground(this.id, Boolean(args[0]));
      return await this.local.call(method, args);
    }
    return await this.remote({ t: "call", method, args });
  }

  async watch(kind: SubKind, args: unknown[], deliver: (payload: unknown) => void): Promise<Watch> {
    const leader = await this.leader();
    if (leader === this.id && this.local) return await this.local.watch(kind, args, deliver);
    const sub = ++this.seq;
    this.remoteWatches.set(sub, deliver);
    try {
      await this.remote({ t: "watch", sub, kind, args });
    } catch (e) {
      this.remoteWatches.delete(sub);
      throw e;
    }
    return {
      cancel: () => {
        if (this.remoteWatches.delete(sub) && this.leaderId === leader) {
          this.send({ t: "unwatch", from: this.id, to: leader, sub });
        }
      },
      window: (method, wargs) => this.remote({ t: "call", method, args: [sub, ...wargs] }),
    };
  }

  /**
   * Leaves the tabs: a leader shuts its client down and lets the lock go (a follower takes
   * over); `abrupt` skips the goodbyes, as a closed tab would.
   */
  async close(abrupt = false): Promise<void> {
    if (this.closed) return;
    if (!abrupt && this.leaderId !== undefined && this.leaderId !== this.id) {
      for (const sub of this.remoteWatches.keys()) {
        this.send({ t: "unwatch", from: this.id, to: this.leaderId, sub });
      }
    }
    this.closed = true;
    this.abort.abort();
    clearInterval(this.helloTimer);
    for (const w of this.hosted.values()) w?.cancel();
    this.hosted.clear();
    const closedError = new ChatError("closed", "the client is closed");
    for (const p of this.pending.values()) p.reject(closedError);
    this.pending.clear();
    this.remoteWatches.clear();
    this.ready.resolve();
    try {
      await this.local?.close();
    } finally {
      this.leaderLock?.release();
      this.bc?.close();
      this.selfLock?.release();
    }
  }

  // ---- serving followers (leader) ---------------------------------------------------

  private onMessage(m: TabMessage) {
    if (this.closed || !m || typeof m !== "object" || m.from === this.id) return;
    switch (m.t) {
      case "hello":
        if (this.leaderId === this.id) this.announce();
        return;
      case "leader":
        this.follow(m.from, m.info);
        return;
      case "result":
        if (m.to !== this.id || m.from !== this.leaderId) return;
        {
          const p = this.pending.get(m.id);
          if (!p) return;
          this.pending.delete(m.id);
          if (m.ok) p.resolve(m.value);
          else p.reject(ChatError.fromWire(m.error));
        }
        return;
      case "data":
        if (m.to === this.id && m.from === this.leaderId) this.remoteWatches.get(m.sub)?.(m.payload);
        return;
      case "call":
      case "watch":
      case "unwatch":
        if (m.to === this.id && this.leaderId === this.id) this.serve(m);
        return;
    }
  }

  private serve(m: Extract<TabMessage, { t: "call" | "watch" | "unwatch" }>) {
    const local = this.local;
    if (!local) return;
    const peer = m.from;
    this.track(peer);
    const key = (sub: number) => `${peer}:${sub}`;
    if (m.t === "unwatch") {
      this.hosted.get(key(m.sub))?.cancel();
      this.hosted.delete(key(m.sub));
      return;
    }
    const reply = (work: Promise<unknown>) =>
      work.then(
        (value) => this.send({ t: "result", from: this.id, to: peer, id: m.id, ok: true, value }),
        (e) => this.send({ t: "result", from: this.id, to: peer, id: m.id, ok: false, error: toWire(e) }),
      );
    if (m.t === "watch") {
      const k = key(m.sub);
      this.hosted.set(k, null);
      const sub = m.sub;
      reply(
        local
          .watch(m.kind, m.args, (payload) => this.send({ t: "data", from: this.id, to: peer, sub, payload }))
          .then((w) => {
            if (this.hosted.has(k) && !this.closed) this.hosted.set(k, w);
            else w.cancel(); // Unwatched (or the peer left) while starting.
            return undefined;
          }),
      );
      return;
    }
    const { method, args } = m;
    if (method === "setForeground") {
      reply(this.setForeground(peer, Boolean(args[0])));
    } else if (method.startsWith("window.")) {
      const w = this.hosted.get(key(args[0] as number));
      reply(
        w
          ? w.window(method as Parameters<Watch["window"]>[0], args.slice(1))
          : Promise.reject(new ChatError("invalid_operation", "the message list is not subscribed")),
      );
    } else {
      reply(local.call(method as ClientMethod, args));
    }
  }

  /** Watches a follower's peer lock: when its tab is gone, drop its queries. */
  private track(peer: string) {
    if (this.peers.has(peer)) return;
    this.peers.add(peer);
    hold(this.env.locks, this.peerLock(peer), { signal: this.abort.signal }).then(
      (lock) => {
        lock?.release();
        this.peers.delete(peer);
        if (this.closed) return;
        for (const [k, w] of this.hosted) {
          if (k.startsWith(`${peer}:`)) {
            w?.cancel();
            this.hosted.delete(k);
          }
        }
        if (this.foreground.delete(peer)) this.setForeground(undefined, false).catch(() => undefined);
      },
      () => undefined,
    );
  }

  /** The engine is in the foreground while any tab is visible. */
  private async setForeground(peer: string | undefined, visible: boolean): Promise<void> {
    if (peer !== undefined) this.foreground.set(peer, visible);
    const any = [...this.foreground.values()].some(Boolean);
    await this.local?.call("setForeground", [any]);
  }
}
