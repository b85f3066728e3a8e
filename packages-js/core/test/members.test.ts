// Channel and member management through the web SDK against the real engine and server: a
// rename, an added member and a role change reach the server once and every member's lists
// (the member list in the public shape: camelCase, `Date` times), a refused change fails as
// an outbox item, and leaving takes the channel off the list.

import { describe, expect, it } from "vitest";
import { connect, eventually, unique, until } from "./support/harness.js";

describe("channel and member management", () => {
  it("renames, adds, promotes and removes; every member's lists follow", async () => {
    const alice = (await connect("alice")).client;
    const carol = (await connect("carol")).client;
    const cid = await alice.createChannel({ type: "team", id: unique("crew"), members: ["bob", "dave"] });
    await until(alice.members(cid), (l) => l.length === 3);

    const ops = await Promise.all([
      alice.updateChannel(cid, { name: "Web crew" }),
      alice.addMembers(cid, ["carol"]),
      alice.setMemberRole(cid, "bob", "moderator"),
      alice.removeMember(cid, "dave"),
    ]);
    expect(ops.every((op) => typeof op === "string" && op.length > 0)).toBe(true);

    const confirmed = await until(
      alice.members(cid),
      (l) => l.map((m) => `${m.userId}:${m.role}:${m.pending}`).join() === "alice:owner:false,bob:moderator:false,carol:member:false",
    );
    for (const m of confirmed) {
      expect(Object.keys(m).sort()).toEqual(["joinedAt", "lastReadAt", "lastReadMessageId", "online", "pending", "role", "userId"]);
      expect(m.joinedAt).toBeInstanceOf(Date);
    }
    await eventually(async () => (await alice.outbox()).length === 0);

    // Carol, added, lists the channel under its new name and sees the same members.
    await carol.sync();
    await until(carol.channels(), (l) => l.some((c) => c.channel.cid === cid && c.channel.name === "Web crew"));
    await until(carol.members(cid), (l) => l.map((m) => m.userId).join() === "alice,bob,carol");
  });

  it("fails a change the role does not allow, and leaving takes the channel off the list", async () => {
    const alice = (await connect("alice")).client;
    const bob = (await connect("bob")).client;
    const cid = await alice.createChannel({ type: "team", id: unique("rules"), members: ["bob"] });
    await eventually(async () => (await alice.outbox()).length === 0);
    await bob.sync();
    await until(bob.channels(), (l) => l.some((c) => c.channel.cid === cid));

    // A member may not rename: the operation fails with the server's 403 and is kept.
    const op = await bob.updateChannel(cid, { name: "mine now" });
    const failed = await eventually(async () => {
      const item = (await bob.outbox()).find((o) => o.opId === op);
      return item?.state.state === "failed" ? item : undefined;
    });
    expect(failed!.op.op).toBe("update_channel");
    expect(failed!.state).toMatchObject({ state: "failed", detail: { status: 403 } });
    await bob.discard(op);
    // Bad input is refused before anything is queued.
    await expect(bob.addMembers(cid, [])).rejects.toMatchObject({ kind: "invalid_operation" });

    await bob.leaveChannel(cid);
    await until(bob.channels(), (l) => !l.some((c) => c.channel.cid === cid));
    await eventually(async () => (await bob.outbox()).length === 0);
    await alice.sync();
    await until(alice.members(cid), (l) => l.map((m) => m.userId).join() === "alice");
  });

  it("suggests members for an @ mention: recent authors first, never the user, Dates in the public shape", async () => {
    const alice = (await connect("alice")).client;
    const bob = (await connect("bob")).client;
    const cid = await alice.createChannel({ type: "team", id: unique("at"), members: ["bob", "dave"] });
    await until(alice.members(cid), (l) => l.length === 3 && l.every((m) => !m.pending));
    await bob.sync();
    await bob.sendMessage(cid, "bob was here");
    await eventually(async () => (await bob.outbox()).length === 0);
    await alice.sync();
    await until(alice.messages(cid), (l) => l.some((m) => m.message.text === "bob was here"));

    const all = await alice.mentionCandidates(cid, "");
    expect(all.map((m) => m.userId)).toEqual(["bob", "dave"]);
    expect(all[0]!.joinedAt).toBeInstanceOf(Date);
    expect((await alice.mentionCandidates(cid, "DA")).map((m) => m.userId)).toEqual(["dave"]);
    expect(await alice.mentionCandidates(cid, "zed")).toEqual([]);
    expect((await alice.mentionCandidates(cid, "", 1)).map((m) => m.userId)).toEqual(["bob"]);
  });
});
