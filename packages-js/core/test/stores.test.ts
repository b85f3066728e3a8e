// Live stores: one cached store per arguments, the worker query's ref-counting with a
// grace period, structural sharing across batches, paging, and the live outbox.

import { describe, expect, it } from "vitest";
import type { MessageItem } from "../src/index.js";
import { connect, eventually, record, unique, until } from "./support/harness.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const texts = (items: MessageItem[]) => items.map((m) => m.message.text);

async function channelWith(client: Awaited<ReturnType<typeof connect>>["client"], count: number) {
  const cid = await client.createChannel({ type: "messaging", id: unique(), members: ["alice"] });
  for (let i = 1; i <= count; i++) await client.sendMessage(cid, `m${i}`);
  return cid;
}

describe("live stores", () => {
  it("are cached by arguments", async () => {
    const { client } = await connect("alice");
    expect(client.messages("team:general")).toBe(client.messages("team:general"));
    expect(client.messages("team:general", 10)).not.toBe(client.messages("team:general"));
    expect(client.channels()).toBe(client.channels(30));
    expect(client.typing("team:general")).toBe(client.typing("team:general"));
    expect(client.presence()).toBe(client.presence());
    expect(client.outboxStore()).toBe(client.outboxStore());
  });

  it("run the worker query while subscribed, through a grace period, and restart with a reset", async () => {
    const { client, engine } = await connect("alice", { storeGraceMs: 300 });
    const cid = await channelWith(client, 2);
    const store = client.messages(cid);
    expect(engine.subscriptionCount).toBe(0);

    const stop1 = store.subscribe(() => undefined);
    await until(store, (l) => l.length === 2 && l.every((m) => m.state.type === "sent"));
    expect(engine.subscriptionCount).toBe(1);

    // StrictMode: unmount and mount again at once — the same query goes on.
    const before = store.getSnapshot();
    stop1();
    const stop2 = store.subscribe(() => undefined);
    await sleep(400);
    expect(engine.subscriptionCount).toBe(1);
    expect(store.ready).toBe(true);
    expect(store.getSnapshot()).toBe(before);

    // The last listener leaves: the query stops after the grace period.
    stop2();
    await sleep(100);
    expect(engine.subscriptionCount).toBe(1);
    await eventually(() => engine.subscriptionCount === 0, 2000, 20);
    expect(store.ready).toBe(false);

    // Stopped stores miss changes; a new subscriber gets a fresh reset with them.
    await client.sendMessage(cid, "while nobody watched");
    expect(texts(store.getSnapshot())).toEqual(["m1", "m2"]);
    const items = await until(store, (l) => l.length === 3);
    expect(texts(items)).toEqual(["m1", "m2", "while nobody watched"]);
    expect(engine.subscriptionCount).toBe(1);
    // Unchanged items came back equal in the reset: their objects were kept.
    expect(items[0]).toBe(before[0]);
  });

  it("keep unchanged items' identity across updates", async () => {
    const { client } = await connect("alice");
    const cid = await channelWith(client, 3);
    const store = client.messages(cid);
    const first = await until(store, (l) => l.length === 3 && l.every((m) => m.state.type === "sent"));
    const [a, b, c] = first;
    await client.editMessage(b!.message.id, "m2 edited");
    const next = await until(store, (l) => l[1]?.message.text === "m2 edited");
    expect(next).not.toBe(first);
    expect(next[0]).toBe(a);
    expect(next[2]).toBe(c);
    expect(next[1]).not.toBe(b);
    expect(first[1]!.message.text).toBe("m2"); // The old snapshot is untouched.
  });

  it("page older messages until the start of the channel", async () => {
    const { client } = await connect("alice");
    const cid = await channelWith(client, 25);
    const store = client.messages(cid, 10);
    const unsubscribe = store.subscribe(() => undefined);
    let items = await until(store, (l) => l.length === 10);
    expect(texts(items)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i + 16}`));
    expect(store.hasOlder).toBe(true);

    expect(await store.loadOlder()).toBe(true);
    items = await until(store, (l) => l.length === 20);
    expect(items[0]!.message.text).toBe("m6");

    let more = await store.loadOlder();
    while (more) more = await store.loadOlder();
    items = await until(store, (l) => l.length === 25);
    expect(texts(items)).toEqual(Array.from({ length: 25 }, (_, i) => `m${i + 1}`));
    expect(store.hasOlder).toBe(false);
    unsubscribe();
  });

  it("refuse to page an unsubscribed message list", async () => {
    const { client } = await connect("alice");
    const err = await client.messages("team:general").loadOlder().catch((e: unknown) => e);
    expect((err as { kind: string }).kind).toBe("invalid_operation");
  });

  it("push the outbox's changes to its store, never re-reading it", async () => {
    const { client, posted } = await connect("alice");
    const bob = (await connect("bob")).client;
    const cid = await client.createChannel({ type: "messaging", id: unique(), members: ["alice"] });
    const bobs = await bob.createChannel({ type: "messaging", id: unique(), members: ["bob"] });
    await bob.sync();
    const outbox = client.outboxStore();
    const watching = record(outbox); // one live query for the whole test
    await until(outbox, (l) => l.length === 0);

    // Unreachable: the send is queued and held (pending, not tried).
    await client.setNetworkReachable(false);
    const id = await client.sendMessage(cid, "offline");
    const queued = await until(outbox, (l) => l.some((o) => o.opId === id));
    const item = queued.find((o) => o.opId === id)!;
    expect(item.op.op).toBe("send_message");
    expect(item.state).toEqual({ state: "pending" });
    await client.setNetworkReachable(true);
    await until(outbox, (l) => l.length === 0);
    const list = await until(client.messages(cid), (l) => l.some((m) => m.message.id === id && m.state.type === "sent"));
    expect(list).toHaveLength(1);

    // Refused by the server (not a member): the failure arrives by itself, the discard too.
    const refused = await client.sendMessage(bobs, "not mine");
    await until(outbox, (l) => l.some((o) => o.opId === refused && o.state.state === "failed"));
    await client.discard(refused);
    await until(outbox, (l) => l.length === 0);
    watching.stop();

    // Pushed by chat-core's live query; never read with an `outbox` call.
    expect(posted.filter((m) => (m as { kind?: string }).kind === "outbox").length).toBeGreaterThan(0);
    expect(posted.filter((m) => (m as { method?: string }).method === "outbox")).toEqual([]);
  });

  it("follow a thread and a channel's read receipts", async () => {
    const alice = (await connect("alice")).client;
    const bob = (await connect("bob")).client;
    const cid = await alice.createChannel({ type: "messaging", id: unique(), members: ["alice", "bob"] });
    const parent = await alice.sendMessage(cid, "parent");
    const reply = await alice.sendMessage(cid, { text: "a reply", parentId: parent });
    const thread = await until(alice.thread(parent), (l) => l.some((m) => m.message.id === reply));
    expect(thread.map((m) => m.message.text)).toEqual(["a reply"]);
    expect(thread[0]!.message.parentId).toBe(parent);

    await eventually(async () => (await alice.outbox()).length === 0);
    await bob.sync();
    await bob.markRead(cid);
    await eventually(async () => (await bob.outbox()).length === 0);
    await alice.sync();
    const receipts = await until(alice.readReceipts(cid), (l) => l.some((r) => r.userId === "bob"));
    expect(receipts.find((r) => r.userId === "bob")!.lastReadMessageId).not.toBeNull();
  });

  it("deliver the connection state and presence", async () => {
    const { client } = await connect("alice");
    expect(client.connection.getSnapshot().type).toBeTypeOf("string");
    const state = await until(client.connection, () => true);
    // No WebSocket in Node 20: realtime keeps retrying in the background.
    expect(["connecting", "waiting_to_reconnect", "waiting_for_network", "connected"]).toContain(state.type);
    const online = await until(client.presence(), () => true);
    expect(Array.isArray(online)).toBe(true);
    const typing = await until(client.typing("team:general"), () => true);
    expect(typing).toEqual([]);
  });
});
