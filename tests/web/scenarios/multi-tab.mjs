// 5. Multi-tab: two pages of one persistent profile, signed in as the same user. The
// first page's engine worker leads (holds the Web Lock `onyxchat:<app>:<user>` and owns
// the OPFS database); the second's follows (forwards over a BroadcastChannel). Both show
// the same messages and the follower can send. Closing the leader's page hands the lock
// to the follower, which goes on sending and receiving.

import { connectionState, openChannel, rows, rowState, send, signIn, tid } from "../lib/browser.mjs";
import { assert, assertEqual, poll } from "../lib/expect.mjs";

const CID = "team:general";
const USER = "dave";

/**
 * The Web Locks client id of the page's engine worker: the worker takes a probe lock of
 * its own and reads its holder back (lock holders are reported by client id only).
 */
async function workerClientId(page) {
  const worker = await poll(() => page.workers()[0], (w) => w !== undefined, { message: "the page's engine worker" });
  return await worker.evaluate(async () => {
    const name = `e2e-probe-${crypto.randomUUID()}`;
    await new Promise((held) => {
      navigator.locks.request(name, () => {
        held();
        return new Promise(() => {}); // held for the worker's life
      });
    });
    const { held } = await navigator.locks.query();
    return held.find((l) => l.name === name).clientId;
  });
}

/** Who holds the database lock, and who waits for it. */
async function dbLock(page, name) {
  const { held, pending } = await page.evaluate(() => navigator.locks.query());
  return {
    holder: held.find((l) => l.name === name)?.clientId ?? null,
    waiting: pending.filter((l) => l.name === name).map((l) => l.clientId),
  };
}

/** The last `n` message ids shown, in order. */
async function lastIds(page, n = 10) {
  return (await rows(page)).slice(-n).map((r) => r.id);
}

export default {
  name: "multi-tab: leader and follower, then the follower takes over",
  async run(t) {
    const { server } = t;
    const lockName = `onyxchat:${server.session.app_id}:${USER}`;
    const { context } = await t.profile("dave-tabs");

    // The leader: first page, fully open (database and lock taken) before the second.
    const leader = await t.page(context, "leader");
    await signIn(leader, server.url, USER);
    await openChannel(leader, CID);
    await poll(() => connectionState(leader), (s) => s === "connected", { message: "the leader connected" });

    // The follower: same profile (the session is remembered: straight to the chat).
    const follower = await t.page(context, "follower");
    await follower.goto(server.url);
    await openChannel(follower, CID);

    const leaderId = await workerClientId(leader);
    const followerId = await workerClientId(follower);
    assert(leaderId !== followerId, "the two pages share one worker");
    const lock = await poll(() => dbLock(leader, lockName), (l) => l.holder !== null && l.waiting.length > 0, { message: "the database lock held with the follower queued" });
    assertEqual(lock.holder, leaderId, "the database lock's holder (the first page's worker)");
    assertEqual(lock.waiting, [followerId], "the lock's waiting list (the second page's worker)");
    assertEqual(await follower.locator(tid("storage")).getAttribute("data-storage"), "opfs", "the follower's storage badge (the leader's database)");

    // Both show the same messages; a message from elsewhere reaches both.
    const fromBob = t.text("Bob to both of Dave's tabs");
    await server.sendMessage(CID, fromBob, { user: "bob" });
    await poll(() => rowState(leader, fromBob), (s) => s === "sent", { message: "the leader to show Bob's message" });
    await poll(() => rowState(follower, fromBob), (s) => s === "sent", { message: "the follower to show Bob's message" });
    const shown = await poll(
      async () => [await lastIds(leader), await lastIds(follower)],
      ([a, b]) => a.length > 0 && JSON.stringify(a) === JSON.stringify(b),
      { message: "both tabs to show the same last messages" },
    );
    t.log(`both tabs show the same last ${shown[0].length} messages`);

    // The follower sends (through the leader): sent, shown in both.
    const viaFollower = t.text("Dave from the follower tab");
    await send(follower, viaFollower);
    await poll(() => rowState(follower, viaFollower), (s) => s === "sent", { message: "the follower's message sent" });
    await poll(() => rowState(leader, viaFollower), (s) => s === "sent", { message: "the leader to show the follower's message" });
    await t.screenshot(leader, "leader-before-close");

    // Close the leader's page: the follower's worker gets the lock and opens the database.
    await leader.close();
    const after = await poll(() => dbLock(follower, lockName), (l) => l.holder === followerId, { timeout: 20_000, message: "the follower to take the database lock" });
    assertEqual(after.waiting, [], "nobody else waits for the lock");
    await poll(() => connectionState(follower), (s) => s === "connected", { timeout: 20_000, message: "the new leader connected" });

    // The new leader sends and receives.
    const afterTakeover = t.text("Dave after the takeover");
    await send(follower, afterTakeover);
    await poll(() => rowState(follower, afterTakeover), (s) => s === "sent", { timeout: 20_000, message: "a message sent after the takeover" });
    const reply = t.text("Bob answers the new leader");
    await server.sendMessage(CID, reply, { user: "bob" });
    await poll(() => rowState(follower, reply), (s) => s === "sent", { timeout: 15_000, message: "the new leader to receive Bob's message" });

    const stored = await server.allMessages(CID);
    for (const text of [viaFollower, afterTakeover]) {
      const n = stored.filter((m) => m.text === text && m.user_id === USER).length;
      assert(n === 1, `the server has "${text}" from ${USER} ${n} times`);
    }
  },
};
