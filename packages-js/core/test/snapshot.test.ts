// The first-paint snapshot: keying, the format version, corrupt and oversized input,
// the size bound, clearing, and the client writing it from its message stores.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { inject } from "vitest";
import { clearMessageSnapshots, readMessageSnapshot, SNAPSHOT_ROWS, type MessageItem } from "../src/index.js";
import {
  SNAPSHOT_CHANNELS,
  SNAPSHOT_MAX_CHARS,
  SNAPSHOT_VERSION,
  SnapshotWriter,
  snapshotKey,
  writeMessageSnapshot,
} from "../src/snapshot.js";
import { connect, eventually, unique, until } from "./support/harness.js";

/** A Map-backed `localStorage` (Node has none). */
class MemoryStorage implements Storage {
  private readonly map = new Map<string, string>();
  /** Makes `setItem` throw, as a full quota does. */
  full = false;
  get length() {
    return this.map.size;
  }
  key(i: number) {
    return [...this.map.keys()][i] ?? null;
  }
  getItem(k: string) {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    if (this.full) throw new DOMException("quota", "QuotaExceededError");
    this.map.set(k, String(v));
  }
  removeItem(k: string) {
    this.map.delete(k);
  }
  clear() {
    this.map.clear();
  }
}

let storage: MemoryStorage;
beforeEach(() => {
  storage = new MemoryStorage();
  (globalThis as { localStorage?: Storage }).localStorage = storage;
});
afterEach(() => {
  vi.useRealTimers();
  delete (globalThis as { localStorage?: Storage }).localStorage;
});

const alice = { serverUrl: "https://chat.example.com", appId: "app", userId: "alice" };
const CID = "team:general";

function item(i: number, cid = CID, text = `m${i}`): MessageItem {
  const at = new Date(Date.UTC(2026, 0, 1, 0, 0, i));
  return {
    message: {
      id: `id-${i}`,
      cid,
      userId: i % 2 ? "alice" : "bob",
      text,
      attachments: [],
      parentId: null,
      quotedMessageId: null,
      mentionedUsers: [],
      reactionCounts: { like: 1 },
      replyCount: 0,
      createdAt: at,
      updatedAt: at,
      editedAt: i === 3 ? at : null,
      deletedAt: null,
      rev: i,
    },
    state: { type: "sent" },
    ownReactions: [],
    starred: false,
    quoted: i === 2 ? { type: "message", id: "id-1", userId: "alice", text: "m1", attachmentCount: 0, createdAt: at, deleted: false } : null,
  };
}
const rows = (n: number, cid = CID) => Array.from({ length: n }, (_, i) => item(i + 1, cid));

describe("the first-paint snapshot", () => {
  it("round-trips the newest rows in the public shape, times as Dates", () => {
    const items = rows(SNAPSHOT_ROWS + 5);
    expect(writeMessageSnapshot(alice, CID, items)).toBe(true);
    const read = readMessageSnapshot(alice, CID);
    expect(read).toEqual(items.slice(-SNAPSHOT_ROWS));
    expect(read[0]!.message.createdAt).toBeInstanceOf(Date);
    expect(read.find((m) => m.message.id === "id-3")).toBeUndefined(); // older than the newest 20
    expect(read.at(-1)!.message.editedAt).toBeNull();
    const small = rows(3);
    writeMessageSnapshot(alice, CID, small);
    const quoted = readMessageSnapshot(alice, CID)[1]!.quoted;
    expect(quoted?.type === "message" && quoted.createdAt).toBeInstanceOf(Date);
  });

  it("is keyed per server URL, app, user and channel", () => {
    writeMessageSnapshot(alice, CID, rows(2));
    expect(readMessageSnapshot({ ...alice, serverUrl: "https://chat.example.com/" }, CID)).toHaveLength(2);
    expect(readMessageSnapshot({ ...alice, serverUrl: "https://other.example.com" }, CID)).toEqual([]);
    expect(readMessageSnapshot({ ...alice, appId: "other" }, CID)).toEqual([]);
    expect(readMessageSnapshot({ ...alice, userId: "bob" }, CID)).toEqual([]);
    expect(readMessageSnapshot(alice, "team:random")).toEqual([]);
    // Separators in the parts cannot make two identities share a key.
    expect(snapshotKey({ ...alice, appId: "a:b" }, "c")).not.toBe(snapshotKey({ ...alice, appId: "a" }, "b:c"));
  });

  it("reads an unknown version, corrupt or oversized value as none, without throwing", () => {
    const key = snapshotKey(alice, CID);
    const good = { v: SNAPSHOT_VERSION, cid: CID, at: 1, items: rows(1) };
    const bad: unknown[] = [
      "not json",
      "null",
      "[]",
      JSON.stringify({ ...good, v: SNAPSHOT_VERSION + 1 }),
      JSON.stringify({ ...good, cid: "team:random" }),
      JSON.stringify({ ...good, items: "x" }),
      JSON.stringify({ ...good, items: [{ message: { id: 1 } }] }),
      JSON.stringify({ ...good, items: [{ ...item(1), message: { ...item(1).message, createdAt: "never" } }] }),
      JSON.stringify({ ...good, items: [item(1, "team:random")] }),
      JSON.stringify({ ...good, items: [{ ...item(2), quoted: { ...item(2).quoted, createdAt: "never" } }] }),
      JSON.stringify({ ...good, items: [...rows(1), null] }),
    ];
    for (const value of bad) {
      storage.setItem(key, value as string);
      expect(readMessageSnapshot(alice, CID)).toEqual([]);
    }
    storage.setItem(key, JSON.stringify({ ...good, pad: "x".repeat(SNAPSHOT_MAX_CHARS) }));
    expect(readMessageSnapshot(alice, CID)).toEqual([]);
    storage.setItem(key, JSON.stringify(good));
    expect(readMessageSnapshot(alice, CID)).toHaveLength(1);
    // No localStorage at all, or one that throws: none.
    delete (globalThis as { localStorage?: Storage }).localStorage;
    expect(readMessageSnapshot(alice, CID)).toEqual([]);
    expect(writeMessageSnapshot(alice, CID, rows(1))).toBe(false);
    Object.defineProperty(globalThis, "localStorage", {
      configurable: true,
      get() {
        throw new DOMException("denied", "SecurityError");
      },
    });
    expect(readMessageSnapshot(alice, CID)).toEqual([]);
    expect(() => clearMessageSnapshots(alice)).not.toThrow();
    delete (globalThis as { localStorage?: Storage }).localStorage;
  });

  it("stays within its size bound: older rows go first, and a full quota stores none", () => {
    const big = (i: number) => item(i, CID, `${i} ${"x".repeat(SNAPSHOT_MAX_CHARS / 8)}`);
    const items = Array.from({ length: 10 }, (_, i) => big(i + 1));
    expect(writeMessageSnapshot(alice, CID, items)).toBe(true);
    const raw = storage.getItem(snapshotKey(alice, CID))!;
    expect(raw.length).toBeLessThanOrEqual(SNAPSHOT_MAX_CHARS);
    const read = readMessageSnapshot(alice, CID);
    expect(read.length).toBeGreaterThan(0);
    expect(read.length).toBeLessThan(10);
    expect(read.at(-1)!.message.id).toBe("id-10"); // the newest kept
    // One row larger than the bound: no snapshot (not an older one either).
    expect(writeMessageSnapshot(alice, CID, [item(11, CID, "y".repeat(SNAPSHOT_MAX_CHARS))])).toBe(false);
    expect(readMessageSnapshot(alice, CID)).toEqual([]);
    // A full quota: the previous snapshot is removed rather than left stale.
    writeMessageSnapshot(alice, CID, rows(2));
    storage.full = true;
    expect(writeMessageSnapshot(alice, CID, rows(3))).toBe(false);
    expect(readMessageSnapshot(alice, CID)).toEqual([]);
    // An empty channel: no snapshot.
    storage.full = false;
    writeMessageSnapshot(alice, CID, rows(2));
    writeMessageSnapshot(alice, CID, []);
    expect(readMessageSnapshot(alice, CID)).toEqual([]);
  });

  it("keeps the most recently written channels only, per user", () => {
    const bob = { ...alice, userId: "bob" };
    writeMessageSnapshot(bob, CID, rows(1));
    const cids = Array.from({ length: SNAPSHOT_CHANNELS + 2 }, (_, i) => `team:c${i}`);
    vi.useFakeTimers({ toFake: ["Date"] });
    for (const [i, cid] of cids.entries()) {
      vi.setSystemTime(Date.UTC(2026, 0, 1, 0, i));
      writeMessageSnapshot(alice, cid, rows(1, cid));
    }
    const kept = cids.filter((cid) => readMessageSnapshot(alice, cid).length > 0);
    expect(kept).toEqual(cids.slice(2));
    expect(readMessageSnapshot(bob, CID)).toHaveLength(1); // another user's are not counted
  });

  it("clears a user's snapshots (or all), and stops that user's writers", () => {
    const bob = { ...alice, userId: "bob" };
    writeMessageSnapshot(alice, CID, rows(2));
    writeMessageSnapshot(alice, "team:random", rows(2, "team:random"));
    writeMessageSnapshot(bob, CID, rows(2));
    storage.setItem("app:other", "kept");
    const writer = new SnapshotWriter(alice);
    writer.changed(CID, rows(3));

    clearMessageSnapshots(alice);
    expect(readMessageSnapshot(alice, CID)).toEqual([]);
    expect(readMessageSnapshot(alice, "team:random")).toEqual([]);
    expect(readMessageSnapshot(bob, CID)).toHaveLength(2);
    // The writer's pending and later writes are dropped: the sign-out stays cleared.
    writer.flush();
    writer.changed(CID, rows(4));
    writer.close();
    expect(readMessageSnapshot(alice, CID)).toEqual([]);
    // A writer started after the clear (the user signed in again) writes.
    const again = new SnapshotWriter(alice);
    again.changed(CID, rows(1));
    again.close();
    expect(readMessageSnapshot(alice, CID)).toHaveLength(1);

    clearMessageSnapshots();
    expect(readMessageSnapshot(alice, CID)).toEqual([]);
    expect(readMessageSnapshot(bob, CID)).toEqual([]);
    expect(storage.getItem("app:other")).toBe("kept");
  });
});

describe("a client with snapshots", () => {
  it("writes its message lists' newest rows, and only when asked", async () => {
    const { client } = await connect("alice", { snapshots: true });
    const who = { serverUrl: inject("serverUrl"), appId: inject("appId"), userId: "alice" };
    const cid = await client.createChannel({ type: "messaging", id: unique(), members: ["alice"] });
    for (let i = 1; i <= 3; i++) await client.sendMessage(cid, `m${i}`);
    const store = client.messages(cid);
    await until(store, (l) => l.length === 3 && l.every((m) => m.state.type === "sent"));
    const written = await eventually(() => {
      const s = readMessageSnapshot(who, cid);
      return s.length === 3 && s.every((m) => m.state.type === "sent") ? s : undefined;
    }) as MessageItem[];
    expect(written.map((m) => m.message.text)).toEqual(["m1", "m2", "m3"]);
    expect(written).toEqual(store.getSnapshot());

    // Without the option: nothing written.
    const { client: plain } = await connect("alice");
    const other = await plain.createChannel({ type: "messaging", id: unique(), members: ["alice"] });
    await plain.sendMessage(other, "not kept");
    await until(plain.messages(other), (l) => l.length === 1);
    await plain.close();
    expect(readMessageSnapshot(who, other)).toEqual([]);

    // Closing flushes the last change; a clear afterwards removes it for good.
    await client.editMessage(written[0]!.message.id, "m1 edited");
    await until(store, (l) => l[0]!.message.text === "m1 edited");
    await client.close();
    expect(readMessageSnapshot(who, cid)[0]!.message.text).toBe("m1 edited");
    clearMessageSnapshots(who);
    expect(readMessageSnapshot(who, cid)).toEqual([]);
  });

  it("writes none from a window away from the newest messages (after jumpTo)", async () => {
    const { client } = await connect("alice", { snapshots: true });
    const who = { serverUrl: inject("serverUrl"), appId: inject("appId"), userId: "alice" };
    const cid = await client.createChannel({ type: "messaging", id: unique(), members: ["alice"] });
    const ids: string[] = [];
    for (let i = 1; i <= 8; i++) ids.push(await client.sendMessage(cid, `m${i}`));
    const store = client.messages(cid, 2);
    const stop = store.subscribe(() => undefined);
    await until(store, (l) => l.at(-1)?.message.text === "m8" && l.every((m) => m.state.type === "sent"));
    await eventually(() => readMessageSnapshot(who, cid).at(-1)?.message.text === "m8");

    // Jumped to the oldest: its window's rows are not the channel's newest, so not kept.
    await store.jumpTo(ids[0]!);
    await until(store, (l) => l.some((m) => m.message.id === ids[0]));
    stop();
    await client.close(); // flushes anything pending
    const kept = readMessageSnapshot(who, cid);
    expect(kept.at(-1)!.message.text).toBe("m8");
    expect(kept.some((m) => m.message.id === ids[0])).toBe(false);
  });
});
