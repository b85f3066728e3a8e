// Several tabs of one user: one engine leads (owns the database), the others forward
// over a BroadcastChannel; when the leader's tab goes, a follower takes over and live
// queries move with a reset. Engines run in-process with Node's BroadcastChannel and an
// in-process lock manager standing in for the browser's.

import { describe, expect, it } from "vitest";
import { ChatError, type MessageItem } from "../src/index.js";
import type { TabsEnvironment } from "../src/engine.js";
import { connect, eventually, unique, until } from "./support/harness.js";
import { FakeLocks } from "./support/locks.js";

const has = (items: MessageItem[], id: string, state = "sent") =>
  items.some((m) => m.message.id === id && m.state.type === state);

/** Tabs of one browser; `onPost` sees every message a tab's worker posts to the others. */
function browser(onPost: (m: { t: string; method?: string }) => void = () => undefined): TabsEnvironment {
  class Channel extends BroadcastChannel {
    override postMessage(m: unknown) {
      super.postMessage(m);
      onPost(m as { t: string });
    }
  }
  return { locks: new FakeLocks(), BroadcastChannel: Channel };
}

describe("tabs", () => {
  it("share one leader and move to a follower when the leader's tab closes", async () => {
    let onForward: (() => void) | undefined;
    const env = browser((m) => {
      if (m.t === "call" && m.method === "sync") onForward?.();
    });
    const a = await connect("alice", { storeGraceMs: 50 }, { tabs: env });
    const b = await connect("alice", { storeGraceMs: 50 }, { tabs: env });
    expect(a.client.isLeader).toBe(true);
    expect(b.client.isLeader).toBe(false);
    expect(b.client.storage).toBe("memory");
    expect(b.engine.isLeader).toBe(false);

    // The follower's calls and live queries run in the leader.
    const cid = await b.client.createChannel({ type: "messaging", id: unique(), members: ["alice", "bob"] });
    const inB = b.client.messages(cid);
    const inA = a.client.messages(cid);
    const stopB = inB.subscribe(() => undefined);
    const stopA = inA.subscribe(() => undefined);
    const id1 = await b.client.sendMessage(cid, "from tab b");
    await until(inA, (l) => has(l, id1));
    await until(inB, (l) => has(l, id1));

    // Paging a forwarded message list goes through the leader too.
    expect(await inB.loadOlder()).toBe(false);

    // A call in flight when the leader's tab dies fails with `network` (never replayed):
    // the leader goes the moment B forwards the call.
    let terminated: Promise<void> | undefined;
    onForward = () => {
      onForward = undefined;
      terminated = a.engine.terminate();
    };
    const err = await b.client.sync().catch((e: unknown) => e);
    await terminated;
    expect(err).toBeInstanceOf(ChatError);
    expect((err as ChatError).kind).toBe("network");

    // B takes over: opens the database, says so, and its live query restarts.
    await eventually(() => b.client.isLeader);
    expect(b.engine.isLeader).toBe(true);
    await b.client.sync();
    await until(inB, (l) => has(l, id1));
    const id2 = await b.client.sendMessage(cid, "after the hand-over");
    await until(inB, (l) => has(l, id2) && has(l, id1));
    stopA();
    stopB();
  });

  it("let a third tab follow the new leader", async () => {
    const env = browser();
    const a = await connect("alice", {}, { tabs: env });
    const b = await connect("alice", {}, { tabs: env });
    const c = await connect("alice", {}, { tabs: env });
    expect([a.client.isLeader, b.client.isLeader, c.client.isLeader]).toEqual([true, false, false]);
    const channels = c.client.channels();
    const stop = channels.subscribe(() => undefined);
    await until(channels, (l) => l.length > 0);

    await a.engine.terminate();
    await eventually(() => b.client.isLeader || c.client.isLeader);
    const [leader, follower] = b.client.isLeader ? [b, c] : [c, b];
    expect(follower.client.isLeader).toBe(false);
    // The follower's calls now reach the new leader, and its store follows it.
    await follower.client.sync();
    const cid = await follower.client.createChannel({ type: "messaging", id: unique(), members: ["alice"] });
    await until(channels, (l) => l.some((x) => x.channel.cid === cid));
    await until(leader.client.channels(), (l) => l.some((x) => x.channel.cid === cid));
    stop();
  });

  it("drop a follower's live queries when it closes or its tab goes", async () => {
    const env = browser();
    const a = await connect("alice", {}, { tabs: env });
    const b = await connect("alice", {}, { tabs: env });
    const c = await connect("alice", {}, { tabs: env });
    const inB = b.client.channels();
    const inC = c.client.messages("team:general");
    inB.subscribe(() => undefined);
    inC.subscribe(() => undefined);
    await until(inB, () => true);
    await until(inC, () => true);
    expect(a.engine.forwardedCount).toBe(2);

    await b.client.close(); // Says goodbye.
    await eventually(() => a.engine.forwardedCount === 1);
    await c.engine.terminate(); // Just vanishes: its peer lock frees.
    await eventually(() => a.engine.forwardedCount === 0);
    expect(a.client.isLeader).toBe(true);
    expect((await a.client.status()).authStopped).toBe(false);
  });
});
