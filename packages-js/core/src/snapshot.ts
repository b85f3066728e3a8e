// The first-paint snapshot: a channel's newest message rows, kept in `localStorage` so a
// page can show them synchronously from its first script, before any engine exists (the
// engine's worker, wasm and OPFS database take hundreds of milliseconds to open).
//
// Rules:
// - One value shape: the rows are the SDK's public `MessageItem`s (what the message list
//   renders), stored as JSON with times as RFC 3339 strings and revived as `Date`s.
// - Keyed per server URL + app id + user id + channel (`onyxchat:snapshot:` and the four,
//   URI-encoded, `:`-separated), with a format version inside the value.
// - At most `SNAPSHOT_ROWS` rows (the newest) and `SNAPSHOT_MAX_CHARS` characters: older
//   rows are dropped to fit; a value that does not fit, or that is of an unknown version,
//   oversized, malformed or for another key, reads as none. At most `SNAPSHOT_CHANNELS`
//   channels per user: writing another removes the least recently written (so the
//   snapshots never hold more than about 1.3 MiB of an origin's `localStorage`). Nothing here ever throws
//   (no storage, a full quota, a disabled `localStorage`: no snapshot).
// - Written only by a client that asked for it (`ConnectOptions.snapshots`), from its
//   message stores, throttled (`SNAPSHOT_WRITE_MS`) and flushed when the page hides.
// - `clearMessageSnapshots` removes a user's snapshots (or every one) and stops the
//   pending and later writes of the clients that were writing them, so a sign-out that
//   clears them is not undone by a late write.
// - Privacy: the rows are readable by any script of the page's origin, as the OPFS cache
//   is; they are cleared with `clearMessageSnapshots` (call it on sign-out).

import type { MessageItem } from "./types.js";

/** The newest rows a snapshot keeps (more than a first screen shows). */
export const SNAPSHOT_ROWS = 20;
/** The largest snapshot kept or read, in characters of its JSON (about 128 KiB of UTF-16). */
export const SNAPSHOT_MAX_CHARS = 64 * 1024;
/** A client writes at most once per this many ms: the latest rows, this long after a change. */
export const SNAPSHOT_WRITE_MS = 500;
/** The channels a user's snapshots cover at most (the most recently written). */
export const SNAPSHOT_CHANNELS = 10;
/** The stored format's version. */
export const SNAPSHOT_VERSION = 1;

const PREFIX = "onyxchat:snapshot:";

/** Whose snapshots: the same three a client connects with (see `ConnectOptions`). */
export interface SnapshotIdentity {
  /** The server's base URL (a trailing `/` is ignored). */
  serverUrl: string;
  appId: string;
  userId: string;
}

/** The key's part naming the identity (ends with `:`). */
function identityPrefix(who: SnapshotIdentity): string {
  const url = who.serverUrl.replace(/\/+$/, "");
  return `${PREFIX}${[url, who.appId, who.userId].map(encodeURIComponent).join(":")}:`;
}

/** The `localStorage` key of `who`'s snapshot of `cid`. */
export function snapshotKey(who: SnapshotIdentity, cid: string): string {
  return identityPrefix(who) + encodeURIComponent(cid);
}

/** The page's `localStorage`, if there is one and it may be used. */
function storage(): Storage | undefined {
  try {
    return (globalThis as { localStorage?: Storage }).localStorage ?? undefined;
  } catch {
    return undefined; // e.g. a sandboxed frame or disabled storage: reading it throws
  }
}

interface Stored {
  v: number;
  cid: string;
  /** When it was written (ms since the epoch): the least recent goes first. */
  at: number;
  items: unknown[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const DATE_FIELDS = ["createdAt", "updatedAt"] as const;
const NULLABLE_DATE_FIELDS = ["editedAt", "deletedAt"] as const;

/** A stored row as a `MessageItem` (times revived), or undefined if it is not one. */
function revive(raw: unknown, cid: string): MessageItem | undefined {
  if (!isObject(raw) || !isObject(raw.message) || !isObject(raw.state)) return undefined;
  const m = raw.message;
  if (typeof m.id !== "string" || m.cid !== cid || typeof m.userId !== "string" || typeof m.text !== "string") {
    return undefined;
  }
  if (typeof raw.state.type !== "string" || !Array.isArray(raw.ownReactions)) return undefined;
  const message: Record<string, unknown> = { ...m };
  for (const f of DATE_FIELDS) {
    const d = new Date(m[f] as string);
    if (typeof m[f] !== "string" || Number.isNaN(d.getTime())) return undefined;
    message[f] = d;
  }
  for (const f of NULLABLE_DATE_FIELDS) {
    if (m[f] == null) message[f] = null;
    else if (typeof m[f] !== "string") return undefined;
    else message[f] = new Date(m[f] as string);
  }
  // A quote preview's time is revived too; a row written before previews has none.
  let quoted: unknown = raw.quoted ?? null;
  if (isObject(quoted) && quoted.type === "message") {
    const d = new Date(quoted.createdAt as string);
    if (typeof quoted.createdAt !== "string" || Number.isNaN(d.getTime())) return undefined;
    quoted = { ...quoted, createdAt: d };
  } else if (quoted !== null && !isObject(quoted)) {
    return undefined;
  }
  return { ...raw, message, quoted } as unknown as MessageItem;
}

/**
 * The snapshot of `cid`'s newest rows for `who`, oldest first, as the message list shows
 * them; `[]` when there is none (never stored, cleared, of another version, malformed or
 * oversized, or no `localStorage`). Synchronous and cheap: call it from the page's first
 * script, before any client exists. Never throws.
 */
export function readMessageSnapshot(who: SnapshotIdentity, cid: string): MessageItem[] {
  try {
    const raw = storage()?.getItem(snapshotKey(who, cid));
    if (!raw || raw.length > SNAPSHOT_MAX_CHARS) return [];
    const stored = JSON.parse(raw) as Partial<Stored>;
    if (!isObject(stored) || stored.v !== SNAPSHOT_VERSION || stored.cid !== cid || !Array.isArray(stored.items)) {
      return [];
    }
    const items: MessageItem[] = [];
    for (const row of stored.items.slice(-SNAPSHOT_ROWS)) {
      const item = revive(row, cid);
      if (!item) return [];
      items.push(item);
    }
    return items;
  } catch {
    return [];
  }
}

/**
 * Stores `items`' newest rows (at most {@link SNAPSHOT_ROWS}, dropping older ones to stay
 * within {@link SNAPSHOT_MAX_CHARS}) as `who`'s snapshot of `cid`; an empty list removes
 * it. Returns whether a snapshot is stored now. Never throws (a full quota: none stored).
 */
export function writeMessageSnapshot(who: SnapshotIdentity, cid: string, items: readonly MessageItem[]): boolean {
  const store = storage();
  if (!store) return false;
  const key = snapshotKey(who, cid);
  try {
    let rows = items.slice(-SNAPSHOT_ROWS);
    while (rows.length > 0) {
      const json = JSON.stringify({ v: SNAPSHOT_VERSION, cid, at: Date.now(), items: rows } satisfies Stored);
      if (json.length <= SNAPSHOT_MAX_CHARS) {
        store.setItem(key, json);
        evictBeyondLimit(store, identityPrefix(who));
        return true;
      }
      rows = rows.slice(1);
    }
    store.removeItem(key);
  } catch {
    try {
      store.removeItem(key); // never leave an older snapshot that the write meant to replace
    } catch {
      // No storage after all.
    }
  }
  return false;
}

/** Keeps the `SNAPSHOT_CHANNELS` most recently written snapshots under `prefix`. */
function evictBeyondLimit(store: Storage, prefix: string): void {
  const keys = keysUnder(store, prefix);
  if (keys.length <= SNAPSHOT_CHANNELS) return;
  const written = (k: string) => {
    try {
      const at = (JSON.parse(store.getItem(k) ?? "null") as Partial<Stored> | null)?.at;
      return typeof at === "number" ? at : 0; // unreadable: the first to go
    } catch {
      return 0;
    }
  };
  const byAge = keys.map((k) => ({ k, at: written(k) })).sort((a, b) => a.at - b.at);
  for (const { k } of byAge.slice(0, keys.length - SNAPSHOT_CHANNELS)) store.removeItem(k);
}

/** The keys of `store` that start with `prefix`. */
function keysUnder(store: Storage, prefix: string): string[] {
  const keys: string[] = [];
  for (let i = 0; i < store.length; i++) {
    const k = store.key(i);
    if (k?.startsWith(prefix)) keys.push(k);
  }
  return keys;
}

/** Per identity prefix: bumped by every clear, so writers started before it stop. */
const generations = new Map<string, number>();

/**
 * Removes `who`'s snapshots (every channel), or with no argument every OnyxChat snapshot
 * of this origin; the clients writing them stop writing (a client connected afterwards
 * writes again). Call it when the user signs out or their cache is deleted. Never throws.
 */
export function clearMessageSnapshots(who?: SnapshotIdentity): void {
  const prefix = who ? identityPrefix(who) : PREFIX;
  if (who) generations.set(prefix, (generations.get(prefix) ?? 0) + 1);
  else for (const k of [...generations.keys()]) generations.set(k, (generations.get(k) ?? 0) + 1);
  const store = storage();
  if (!store) return;
  try {
    for (const k of keysUnder(store, prefix)) store.removeItem(k);
  } catch {
    // No storage after all.
  }
}

/**
 * A client's snapshot writer: `changed(cid, items)` after a message store's change
 * (only while its window holds the channel's newest rows); the newest items per channel
 * are written {@link SNAPSHOT_WRITE_MS} later, or when the page hides, or on `flush()`.
 */
export class SnapshotWriter {
  private readonly pending = new Map<string, readonly MessageItem[]>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly generation: number;
  private readonly prefix: string;
  private readonly onHide = () => this.flush();

  constructor(private readonly who: SnapshotIdentity) {
    this.prefix = identityPrefix(who);
    this.generation = generations.get(this.prefix) ?? 0;
    const w = (globalThis as { window?: Window }).window;
    w?.addEventListener?.("pagehide", this.onHide);
  }

  /** Whether a clear since this writer started forbids it to write. */
  private get revoked(): boolean {
    return (generations.get(this.prefix) ?? 0) !== this.generation;
  }

  /** `cid`'s rows changed (the newest are kept; written after the throttle). */
  changed(cid: string, items: readonly MessageItem[]): void {
    if (this.revoked) return;
    this.pending.set(cid, items);
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => this.flush(), SNAPSHOT_WRITE_MS);
    (this.timer as { unref?(): void }).unref?.(); // Node: not a reason to stay alive
  }

  /** Writes what is pending now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.revoked) {
      this.pending.clear();
      return;
    }
    for (const [cid, items] of this.pending) writeMessageSnapshot(this.who, cid, items);
    this.pending.clear();
  }

  /** Writes what is pending and stops (the client closed). */
  close(): void {
    this.flush();
    const w = (globalThis as { window?: Window }).window;
    w?.removeEventListener?.("pagehide", this.onHide);
  }
}
