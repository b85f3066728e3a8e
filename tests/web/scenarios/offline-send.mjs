// 2. Offline: Alice's context goes offline (`context.setOffline(true)`: the page and its
// engine worker lose the network, and the page's `offline` event tells the engine). Her
// message shows at once as pending with outbox 1, stays unsent (in her list, on the server
// and for Bob) while offline with no delivery attempt (the outbox holds), and goes out once
// she is online again.

import { connectionState, openChannel, outboxCount, rowState, send, signIn } from "../lib/browser.mjs";
import { assert, holds, poll } from "../lib/expect.mjs";

const CID = "team:general";
/** How long "stays unsent" (and unattempted) is watched. */
const OFFLINE_WATCH_MS = 4000;

export default {
  name: "offline send queues, then delivers when back online",
  async run(t) {
    const aliceContext = await t.context();
    const alice = await t.page(aliceContext, "alice");
    const bob = await t.page(await t.context(), "bob");
    await signIn(alice, t.server.url, "alice");
    await signIn(bob, t.server.url, "bob");
    await openChannel(alice, CID);
    await openChannel(bob, CID);
    await poll(() => connectionState(alice), (s) => s === "connected", { message: "Alice connected" });
    // Something from Bob that Alice reads while online, so the only thing her outbox can
    // hold offline is her message (opening a channel marks it read: a queued operation too).
    const before = t.text("Bob, before Alice goes offline");
    await t.server.sendMessage(CID, before, { user: "bob" });
    await poll(() => rowState(alice, before), (s) => s === "sent", { message: "Alice to see Bob's message" });
    // Her list marks Bob's message read once it renders it: wait until the server has that
    // read (not just an empty outbox, which holds before the mark-read is even queued on a
    // slow machine), then for the outbox to settle.
    await poll(
      async () => (await t.server.api("GET", "/v1/unread", { as: "alice" })).channels.find((c) => c.cid === CID)?.unread_count ?? 0,
      (n) => n === 0,
      { timeout: 15_000, message: "the server to have Alice's read of Bob's message" },
    );
    await poll(() => outboxCount(alice), (n) => n === 0, { timeout: 15_000, message: "Alice's outbox to be empty before going offline" });

    // Count the engine's delivery attempts while offline: there must be none (the outbox
    // holds while the network is reported unreachable).
    let offlinePosts = 0;
    let offline = false;
    aliceContext.on("request", (r) => {
      if (offline && r.method() === "POST" && r.url().includes("/messages")) offlinePosts++;
    });

    offline = true;
    await aliceContext.setOffline(true);
    // The client heard the `offline` event: the realtime connection waits for the network.
    await poll(() => connectionState(alice), (s) => s !== "connected", { timeout: 5000, message: "Alice's connection to leave `connected`" });
    t.log("alice offline, connection:", await connectionState(alice));

    const text = t.text("Sent while offline");
    const sentAt = Date.now();
    await send(alice, text);
    const first = await poll(() => rowState(alice, text), (s) => s !== null, { timeout: 3000, message: "the row to show at once" });
    t.log(`row shown after ${Date.now() - sentAt} ms as`, first);
    assert(first === "pending", `the new row's state is ${first}, want pending (held, not sending)`);
    await poll(() => outboxCount(alice), (n) => n === 1, { timeout: 3000, message: "outbox-count 1" });

    // Stays unsent while offline: pending/sending, outbox 1, not on the server, not at Bob's.
    const samples = await holds(
      async () => ({
        state: await rowState(alice, text),
        outbox: await outboxCount(alice),
        onServer: (await t.server.allMessages(CID)).some((m) => m.text === text),
        atBob: await rowState(bob, text),
      }),
      (v) => v.state === "pending" && v.outbox === 1 && !v.onServer && v.atBob === null,
      { duration: OFFLINE_WATCH_MS, interval: 400, message: "the message to stay unsent while offline" },
    );
    t.log(`stayed unsent for ${OFFLINE_WATCH_MS} ms (${samples} samples)`);
    assert(offlinePosts === 0, `${offlinePosts} delivery attempts while offline, want none`);

    // Back online: sent, outbox empty, Bob has it, the server has it once.
    const onlineAt = Date.now();
    offline = false;
    await aliceContext.setOffline(false);
    await poll(() => rowState(alice, text), (s) => s === "sent", { timeout: 20_000, message: "the message to be sent after going online" });
    t.log(`sent ${Date.now() - onlineAt} ms after going online`);
    await poll(() => outboxCount(alice), (n) => n === 0, { message: "the outbox to drain" });
    await poll(() => rowState(bob, text), (s) => s === "sent", { timeout: 15_000, message: "Bob to receive the message" });
    await poll(() => connectionState(alice), (s) => s === "connected", { timeout: 15_000, message: "Alice reconnected" });
    const n = (await t.server.allMessages(CID)).filter((m) => m.text === text).length;
    assert(n === 1, `the server has the message ${n} times`);
  },
};
