// ChatClient against the real server and the real wasm engine: connect, sends and their
// states, two users, mark-read only when unread, edits/reactions/deletes, typed errors, a
// refusing token provider.

import { describe, expect, it } from "vitest";
import { ChatError, TokenRefusedError, type MessageItem } from "../src/index.js";
import { connect, eventually, record, unique, until } from "./support/harness.js";

const byId = (items: MessageItem[], id: string) => items.find((m) => m.message.id === id);

describe("ChatClient", () => {
  it("connects and reports memory storage in Node", async () => {
    const { client, engine } = await connect("alice");
    expect(client.userId).toBe("alice");
    expect(client.storage).toBe("memory");
    expect(client.storageNote).toMatch(/OPFS/);
    expect(client.isLeader).toBe(true);
    expect(engine.isLeader).toBe(true);
    const status = await client.status();
    expect(status.authStopped).toBe(false);
  });

  it("preloads a channel's messages while connecting (preloadMessages)", async () => {
    const first = (await connect("alice")).client;
    const cid = await first.createChannel({ type: "messaging", id: unique(), members: ["alice"] });
    const id = await first.sendMessage(cid, "there before the reload");
    // On the server before the "reload": the new client's first sync brings it (Node has
    // no realtime to bring it later).
    await eventually(async () => (await first.outbox()).length === 0);
    const { client } = await connect("alice", { preloadMessages: cid });
    // The store's query was asked for with `open` and is running before anyone subscribes.
    const store = client.messages(cid);
    expect((store as unknown as { active: boolean }).active).toBe(true);
    const items = await until(store, (list) => byId(list, id) !== undefined);
    expect(byId(items, id)!.message.text).toBe("there before the reload");
    // Another channel's store starts as before.
    expect((client.messages("team:general") as unknown as { active: boolean }).active).toBe(false);
  });

  it("shows a sent message first as pending, then as sent, under one id", async () => {
    const { client } = await connect("alice");
    const cid = await client.createChannel({ type: "messaging", id: unique(), members: ["alice"] });
    const store = client.messages(cid);
    await until(store, () => true);
    const rec = record(store);
    const id = await client.sendMessage(cid, "hello from the web");
    const sent = await until(store, (items) => byId(items, id)?.state.type === "sent");
    rec.stop();
    expect(byId(sent, id)!.message.text).toBe("hello from the web");
    const states = rec.snapshots.map((s) => byId(s, id)?.state.type).filter(Boolean);
    expect(["pending", "sending"]).toContain(states[0]);
    expect(states.at(-1)).toBe("sent");
    expect(sent.filter((m) => m.message.id === id)).toHaveLength(1);
  });

  it("delivers alice's message to bob's store after bob syncs", async () => {
    const alice = (await connect("alice")).client;
    const bob = (await connect("bob")).client;
    const bobs = bob.messages("team:general");
    await until(bobs, () => true);
    const text = `hi bob ${unique()}`;
    const id = await alice.sendMessage("team:general", text);
    await eventually(async () => (await alice.outbox()).length === 0);
    await bob.sync();
    const items = await until(bobs, (list) => byId(list, id) !== undefined);
    const m = byId(items, id)!;
    expect(m.message.text).toBe(text);
    expect(m.message.userId).toBe("alice");
    expect(m.state.type).toBe("sent");
    const channels = await until(bob.channels(), (list) => list.some((c) => c.channel.cid === "team:general"));
    expect(channels.find((c) => c.channel.cid === "team:general")!.lastMessage?.message.id).toBe(id);
  });

  it("queues a mark-read only when something is unread (as opening a channel does)", async () => {
    const alice = (await connect("alice")).client;
    const bob = (await connect("bob")).client;
    const cid = await alice.createChannel({ type: "messaging", id: unique(), members: ["alice", "bob"] });
    await eventually(async () => (await alice.outbox()).length === 0);
    // Held while unreachable: whatever a call queues stays in the outbox to be seen.
    await bob.sync();
    await bob.setNetworkReachable(false);
    await bob.markRead(cid);
    expect(await bob.outbox()).toEqual([]);

    await bob.setNetworkReachable(true);
    await alice.sendMessage(cid, "unread for bob");
    await eventually(async () => (await alice.outbox()).length === 0);
    await bob.sync();
    await bob.setNetworkReachable(false);
    await bob.markRead(cid);
    expect((await bob.outbox()).map((o) => o.op.op)).toEqual(["mark_read"]);
    await bob.setNetworkReachable(true);
    await eventually(async () => (await bob.outbox()).length === 0);
    // Read now: opening the channel again queues nothing.
    await bob.setNetworkReachable(false);
    await bob.markRead(cid);
    expect(await bob.outbox()).toEqual([]);
  });

  it("searches the local index at once (a queued message too), then merges the server's page", async () => {
    const alice = (await connect("alice")).client;
    const bob = (await connect("bob")).client;
    const cid = await alice.createChannel({ type: "messaging", id: unique(), members: ["alice", "bob"] });
    const word = `quokka${unique().replace(/[^a-z0-9]/gi, "")}`;
    const fromBob = await bob.sendMessage(cid, `from bob ${word}`);
    await eventually(async () => (await bob.outbox()).length === 0);
    await alice.sync();
    // Held while unreachable: the queued message is in the local index at once.
    await alice.setNetworkReachable(false);
    const queued = await alice.sendMessage(cid, `queued ${word} café`);
    const local = await alice.searchLocal(word.slice(0, -2));
    expect(local.map((h) => h.message.id).sort()).toEqual([fromBob, queued].sort());
    const mine = local.find((h) => h.message.id === queued)!;
    expect(mine.local && mine.pending).toBe(true);
    expect(mine.highlights).toEqual([{ start: 7, end: 7 + word.length }]);
    // Accents are ignored; the page says what the server did; each message once.
    const page = await alice.search("cafe");
    expect(page.hits.map((h) => h.message.id)).toEqual([queued]);
    expect(["answered", "not_reached", "exhausted"]).toContain(page.server.type);
    await alice.setNetworkReachable(true);
    await eventually(async () => (await alice.outbox()).length === 0);
    const online = await alice.search(word);
    expect(online.server.type).toBe("answered");
    expect(online.hits.map((h) => h.message.id).sort()).toEqual([fromBob, queued].sort());
    expect(online.hits.every((h) => h.local && !h.pending)).toBe(true);
  });

  it("opens one distinct conversation under the same cid for both members", async () => {
    const alice = (await connect("alice")).client;
    const dave = (await connect("dave")).client;
    const cid = await alice.createChannel({ type: "messaging", members: ["dave"], distinct: true });
    expect(cid).toMatch(/^messaging:!members-[0-9a-f]{40}$/);
    expect(await alice.openDistinctChannel(["dave", "alice"])).toBe(cid);
    expect(await dave.openDistinctChannel(["alice"])).toBe(cid);
    const text = `just us ${unique()}`;
    const id = await alice.sendMessage(cid, text);
    await eventually(async () => (await alice.outbox()).length === 0);
    await dave.sync();
    const items = await until(dave.messages(cid), (list) => byId(list, id) !== undefined);
    expect(byId(items, id)!.message.text).toBe(text);
    const channels = await until(dave.channels(), (list) => list.some((c) => c.channel.cid === cid));
    expect(channels.find((c) => c.channel.cid === cid)!.channel.distinct).toBe(true);
  });

  it("reflects edits, reactions and deletes, locally and at the other user", async () => {
    const alice = (await connect("alice")).client;
    const bob = (await connect("bob")).client;
    const cid = await alice.createChannel({ type: "messaging", id: unique(), members: ["alice", "bob"] });
    const mine = alice.messages(cid);
    await until(mine, () => true);
    const id = await alice.sendMessage(cid, "first draft");
    await until(mine, (l) => byId(l, id)?.state.type === "sent");

    await alice.editMessage(id, "final text");
    await alice.addReaction(id, "like");
    let l = await until(
      mine,
      (l) => byId(l, id)?.message.text === "final text" && byId(l, id)?.ownReactions.includes("like") === true,
    );
    expect(byId(l, id)!.message.editedAt).not.toBeNull();
    expect(byId(l, id)!.message.reactionCounts).toEqual({ like: 1 });

    await eventually(async () => (await alice.outbox()).length === 0);
    await bob.sync();
    const theirs = bob.messages(cid);
    l = await until(theirs, (l) => byId(l, id)?.message.text === "final text" && byId(l, id)?.message.reactionCounts.like === 1);
    expect(byId(l, id)!.ownReactions).toEqual([]);

    await alice.removeReaction(id, "like");
    l = await until(mine, (l) => byId(l, id)?.ownReactions.length === 0);
    expect(byId(l, id)!.message.reactionCounts.like ?? 0).toBe(0);

    await alice.deleteMessage(id);
    await until(mine, (l) => byId(l, id) === undefined || byId(l, id)!.message.deletedAt !== null);
    await eventually(async () => (await alice.outbox()).length === 0);
    await bob.sync();
    await until(theirs, (l) => byId(l, id) === undefined || byId(l, id)!.message.deletedAt !== null);
  });

  it("stars and unstars at once, and the starred store follows and pages", async () => {
    const alice = (await connect("alice")).client;
    const cid = await alice.createChannel({ type: "messaging", id: unique(), members: ["alice"] });
    const mine = alice.messages(cid);
    await until(mine, () => true);
    const older = await alice.sendMessage(cid, "older");
    const newer = await alice.sendMessage(cid, "newer");
    await until(mine, (l) => byId(l, newer)?.state.type === "sent" && byId(l, older)?.state.type === "sent");
    const starred = alice.starred(1);
    expect(alice.starred(1)).toBe(starred);
    await until(starred, () => true);

    await alice.starMessage(older);
    await alice.starMessage(newer);
    let l = await until(mine, (l) => byId(l, older)?.starred === true && byId(l, newer)?.starred === true);
    expect(l.filter((m) => m.starred)).toHaveLength(2);
    // One page: the most recently sent first; then one more page.
    const first = await until(starred, (s) => s.length === 1);
    expect(first[0]!.message.id).toBe(newer);
    await eventually(async () => (await alice.outbox()).length === 0);
    const more = await starred.loadMore();
    const both = await until(starred, (s) => s.length === 2);
    expect(both.map((m) => m.message.id)).toEqual([newer, older]);
    expect(more).toBe(true);
    expect(await starred.loadMore()).toBe(false);
    expect(starred.hasMore).toBe(false);

    await alice.unstarMessage(newer);
    l = await until(mine, (l) => byId(l, newer)?.starred === false);
    const left = await until(starred, (s) => s.length === 1);
    expect(left[0]!.message.id).toBe(older);
    const bad = await alice.starMessage("not an id").catch((e: unknown) => e);
    expect((bad as ChatError).kind).toBe("invalid_input");
  });

  it("shows a quote-reply's preview at once, following the quoted message's edit and delete", async () => {
    const alice = (await connect("alice")).client;
    const cid = await alice.createChannel({ type: "messaging", id: unique(), members: ["alice"] });
    const mine = alice.messages(cid);
    await until(mine, () => true);
    const quoted = await alice.sendMessage(cid, "the plan");
    const reply = await alice.sendMessage(cid, { text: "agreed", quotedMessageId: quoted });
    const preview = (l: MessageItem[]) => byId(l, reply)?.quoted;
    let l = await until(mine, (l) => preview(l)?.type === "message");
    const shown = preview(l)!;
    expect(shown).toMatchObject({ type: "message", id: quoted, userId: "alice", text: "the plan", deleted: false });
    expect(shown.type === "message" && shown.createdAt instanceof Date).toBe(true);
    expect(byId(l, quoted)!.quoted).toBeNull();

    await alice.editMessage(quoted, "the new plan");
    l = await until(mine, (l) => {
      const q = preview(l);
      return q?.type === "message" && q.text === "the new plan";
    });
    await alice.deleteMessage(quoted);
    l = await until(mine, (l) => {
      const q = preview(l);
      return q?.type === "message" && q.deleted;
    });
    await eventually(async () => (await alice.outbox()).length === 0);
  });

  it("keeps drafts per channel and thread; sending deletes the channel's", async () => {
    const { client } = await connect("alice");
    const cid = await client.createChannel({ type: "messaging", id: unique(), members: ["alice"] });
    expect(await client.draft(cid)).toBeNull();
    await client.setDraft(cid, null, "half a thought");
    const root = await client.sendMessage(cid, "root");
    expect(await client.draft(cid)).toBeNull(); // the send deleted it
    await client.setDraft(cid, null, "again");
    await client.setDraft(cid, root, "in the thread");
    const top = await client.draft(cid);
    expect(top).toMatchObject({ cid, parentId: null, text: "again" });
    expect(top!.updatedAt).toBeInstanceOf(Date);
    expect((await client.draft(cid, root))!.text).toBe("in the thread");
    await client.setDraft(cid, root, "   ");
    expect(await client.draft(cid, root)).toBeNull();
    const bad = await client.setDraft("no-colon", null, "x").catch((e: unknown) => e);
    expect((bad as ChatError).kind).toBe("invalid_input");
  });

  it("rejects with typed ChatErrors", async () => {
    const { client } = await connect("alice");
    const bad = await client.sendMessage("not a cid", "x").catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ChatError);
    expect((bad as ChatError).kind).toBe("invalid_input");
    expect((bad as ChatError).name).toBe("ChatError");

    const op = "00000000-0000-4000-8000-000000000000";
    const unknown = await client.retry(op).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(ChatError);
    expect((unknown as ChatError).kind).toBe("unknown_operation");
    expect((unknown as ChatError).id).toBe(op);

    const store = client.messages("nonsense");
    store.subscribe(() => undefined);
    await eventually(() => store.error !== undefined);
    expect(store.error!.kind).toBe("invalid_input");

    await client.close();
    const closed = await client.sync().catch((e: unknown) => e);
    expect(closed).toBeInstanceOf(ChatError);
    expect((closed as ChatError).kind).toBe("closed");
    const alsoClosed = await client.sendMessage("team:general", "x").catch((e: unknown) => e);
    expect((alsoClosed as ChatError).kind).toBe("closed");
  });

  it("stops asking for tokens when the provider refuses (signed out)", async () => {
    let asked = 0;
    const { client } = await connect("carol", {
      tokenProvider: async () => {
        asked++;
        throw new TokenRefusedError("carol signed out");
      },
    });
    await client.sync().catch(() => undefined);
    await eventually(async () => (await client.status()).authStopped);
    expect(asked).toBeGreaterThan(0);
    // Offline-first: sending still works locally and waits in the outbox.
    const id = await client.sendMessage("team:general", "queued while signed out");
    const outbox = await client.outbox();
    expect(outbox.some((o) => o.opId === id)).toBe(true);
  });
});
