// The user's own channel settings and channel deletion through the web SDK against the real
// engine and server: a mute leaves the total unread and a hide leaves the default list at once,
// both reach the server once and the user's other client (the list's options find the hidden
// channel); deleting a channel takes it off every member's list.

import { describe, expect, it } from "vitest";
import { connect, eventually, unique, until } from "./support/harness.js";

describe("hide, mute, archive and delete", () => {
  it("mutes and hides at once, and the user's other client follows", async () => {
    const alice = (await connect("alice")).client;
    const bob = (await connect("bob")).client;
    const cid = await alice.createChannel({ type: "team", id: unique("quiet"), members: ["bob"] });
    await alice.sendMessage(cid, "one");
    await alice.sendMessage(cid, "two");
    await eventually(async () => (await alice.outbox()).length === 0);
    await bob.sync();
    await until(bob.channels(), (l) => l.some((c) => c.channel.cid === cid && c.unreadCount === 2 && !c.muted));
    const shape = await until(bob.totalUnread(), (t) => t.unreadCount >= 2);
    expect(Object.keys(shape).sort()).toEqual(["unreadCount", "unreadMentions"]);

    // Offline (other tests' messages cannot move bob's total meanwhile): nothing reaches the
    // server, the stores move anyway.
    await bob.setNetworkReachable(false);
    const before = (await until(bob.totalUnread(), () => true)).unreadCount;
    await bob.muteChannel(cid);
    await until(bob.totalUnread(), (t) => t.unreadCount === before - 2);
    await bob.hideChannel(cid);
    await until(bob.channels(), (l) => !l.some((c) => c.channel.cid === cid));
    const hidden = await until(bob.channels({ hidden: "only", text: cid.split(":")[1]! }), (l) => l.length === 1);
    expect(hidden[0]).toMatchObject({ hidden: true, muted: true, archived: false });
    expect((await bob.outbox()).map((o) => o.op.op)).toEqual(["set_member_state", "set_member_state"]);
    await bob.setNetworkReachable(true);
    await eventually(async () => (await bob.outbox()).length === 0);

    // Another client of bob's: the settings arrive with its first sync.
    const other = (await connect("bob")).client;
    await other.sync();
    const found = await until(other.channels({ hidden: "include", text: cid.split(":")[1]!, sort: "unread" }), (l) =>
      l.some((c) => c.channel.cid === cid && c.hidden && c.muted),
    );
    // A muted channel keeps its own count.
    expect(found.find((c) => c.channel.cid === cid)!.unreadCount).toBe(2);
  });

  it("deleting a channel takes it off every member's list", async () => {
    const alice = (await connect("alice")).client;
    const bob = (await connect("bob")).client;
    const cid = await alice.createChannel({ type: "team", id: unique("gone"), members: ["bob"] });
    await eventually(async () => (await alice.outbox()).length === 0);
    await bob.sync();
    await until(bob.channels(), (l) => l.some((c) => c.channel.cid === cid));
    await alice.deleteChannel(cid);
    await until(alice.channels(), (l) => !l.some((c) => c.channel.cid === cid));
    await eventually(async () => (await alice.outbox()).length === 0);
    await bob.sync();
    await until(bob.channels(), (l) => !l.some((c) => c.channel.cid === cid));
  });
});
