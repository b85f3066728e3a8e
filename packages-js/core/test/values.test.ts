// The public value shapes (docs/value-shapes.md) on values from the real engine and server:
// camelCase names everywhere (no snake_case key in any of our objects), times as `Date`s,
// app-defined JSON and data-keyed maps passed through untouched.

import { describe, expect, it } from "vitest";
import { camel, fromEngineCall, fromEngineSub } from "../src/values.js";
import type { MessageItem } from "../src/index.js";
import { connect, eventually, unique, until } from "./support/harness.js";

/** Keys whose values are app data or keyed by data: their inner keys are not ours. */
const OPAQUE = new Set(["attachments", "custom", "reactionCounts"]);

/** Every snake_case key in `value`, as a path. */
function snakeKeys(value: unknown, path = "$"): string[] {
  if (value === null || typeof value !== "object" || value instanceof Date) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => snakeKeys(v, `${path}[${i}]`));
  return Object.entries(value).flatMap(([k, v]) => [
    ...(k.includes("_") ? [`${path}.${k}`] : []),
    ...(OPAQUE.has(k) ? [] : snakeKeys(v, `${path}.${k}`)),
  ]);
}

describe("value shapes", () => {
  it("camelCases names", () => {
    expect(camel("last_read_message_id")).toBe("lastReadMessageId");
    expect(camel("cid")).toBe("cid");
  });

  it("converts the states a healthy run rarely shows: failures, reconnect waits, a failed outbox item", () => {
    const failure = { reason: "no", code: "forbidden", status: 403 };
    expect(fromEngineSub("connection", { type: "waiting_to_reconnect", attempt: 2, retry_in_ms: 500 })).toEqual({
      type: "waiting_to_reconnect",
      attempt: 2,
      retryInMs: 500,
    });
    const [diff] = fromEngineSub("typing", [{ user_id: "bob", parent_id: null }]) as unknown[];
    expect(diff).toEqual({ userId: "bob", parentId: null });
    const [outboxed] = fromEngineCall("outbox", [
      { op_id: "o1", op: { op: "add_reaction", cid: "messaging:x", message_id: "m1", kind: "like" }, state: { state: "failed", detail: failure } },
    ]) as unknown[];
    expect(outboxed).toEqual({
      opId: "o1",
      op: { op: "add_reaction", cid: "messaging:x", messageId: "m1", kind: "like" },
      state: { state: "failed", detail: failure },
    });
    expect(snakeKeys(outboxed)).toEqual([]);
    const t = "2026-11-23T10:23:56.000Z";
    const wire = {
      id: "m1", cid: "messaging:x", user_id: "alice", text: "hi", attachments: [], parent_id: null,
      quoted_message_id: null, mentioned_users: [], reaction_counts: {}, reply_count: 0,
      created_at: t, updated_at: t, edited_at: null, deleted_at: null, rev: 0,
    };
    const [update] = fromEngineSub("messages", [
      { type: "update", index: 0, item: { message: wire, state: { type: "update_failed", op_id: "o2", failure }, own_reactions: [], starred: false,
        quoted: { type: "message", id: "m0", user_id: "bob", text: "q", attachment_count: 1, created_at: t, deleted: false } } },
    ]) as { item: MessageItem }[];
    expect(update!.item.state).toEqual({ type: "update_failed", opId: "o2", failure });
    expect(update!.item.message.createdAt).toEqual(new Date(t));
    expect(update!.item.quoted).toEqual({
      type: "message", id: "m0", userId: "bob", text: "q", attachmentCount: 1, createdAt: new Date(t), deleted: false,
    });
    expect(snakeKeys(update)).toEqual([]);
  });

  it("messages, channels, receipts, status, connection and outbox are camelCase with Date times", async () => {
    const alice = (await connect("alice")).client;
    const bob = (await connect("bob")).client;
    const cid = await alice.createChannel({ type: "messaging", id: unique(), members: ["alice", "bob"] });
    const attachment = { type: "image", image_url: "https://example.test/a.png" };
    const id = await alice.sendMessage(cid, { text: "shapes", attachments: [attachment] });
    await alice.addReaction(id, "thumbs_up");

    const queued = await alice.outbox();
    expect(queued.length).toBeGreaterThan(0);
    expect(snakeKeys(queued)).toEqual([]);
    expect(typeof queued[0]!.opId).toBe("string");

    const messages = await until(
      alice.messages(cid),
      (l) => l.some((m) => m.message.id === id && m.state.type === "sent" && m.message.reactionCounts.thumbs_up === 1),
    );
    const item = messages.find((m) => m.message.id === id)!;
    expect(snakeKeys(messages)).toEqual([]);
    expect(item.message.userId).toBe("alice");
    expect(item.ownReactions).toEqual(["thumbs_up"]);
    expect(item.message.createdAt).toBeInstanceOf(Date);
    expect(item.message.updatedAt).toBeInstanceOf(Date);
    expect(Math.abs(item.message.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
    expect(item.message.editedAt).toBeNull();
    // App data passes through as sent; the data-keyed map keeps its keys.
    expect(item.message.attachments).toEqual([attachment]);
    expect(item.message.reactionCounts).toEqual({ thumbs_up: 1 });

    await eventually(async () => (await alice.outbox()).length === 0);
    await bob.sync();
    const channels = await until(bob.channels(), (l) => l.some((c) => c.channel.cid === cid && c.lastMessage?.message.id === id));
    const entry = channels.find((c) => c.channel.cid === cid)!;
    expect(snakeKeys(channels)).toEqual([]);
    expect(entry.unreadCount).toBe(1);
    expect(entry.channel.createdAt).toBeInstanceOf(Date);
    expect(entry.channel.lastMessageAt).toBeInstanceOf(Date);
    expect(entry.channel.config.typingEvents).toBe(true);
    expect(entry.lastMessage!.message.createdAt.getTime()).toBe(item.message.createdAt.getTime());

    await bob.markRead(cid);
    await eventually(async () => (await bob.outbox()).length === 0);
    await alice.sync();
    const receipts = await until(alice.readReceipts(cid), (l) => l.some((r) => r.userId === "bob"));
    expect(snakeKeys(receipts)).toEqual([]);
    expect(receipts.find((r) => r.userId === "bob")!.lastReadAt).toBeInstanceOf(Date);

    const status = await alice.status();
    expect(snakeKeys(status)).toEqual([]);
    expect(status.outboxLen).toBe(0);
    expect(snakeKeys(alice.connection.getSnapshot())).toEqual([]);
  });
});
