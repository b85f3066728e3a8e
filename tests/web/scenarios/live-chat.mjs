// 1. Alice and Bob (two browser contexts) chat live in team:general: messages arrive in
// the other's open list without a reload (realtime), and each sees the other typing.

import { connectionState, markDocument, openChannel, rowState, sameDocument, signIn, tid } from "../lib/browser.mjs";
import { assert, poll } from "../lib/expect.mjs";

const CID = "team:general";
// Realtime push is fast; a list only refreshed by some later sync would miss this.
const LIVE_MS = 10_000;

export default {
  name: "live chat between two contexts (realtime + typing)",
  async run(t) {
    const alice = await t.page(await t.context(), "alice");
    const bob = await t.page(await t.context(), "bob");
    await signIn(alice, t.server.url, "alice");
    await signIn(bob, t.server.url, "bob");
    await openChannel(alice, CID);
    await openChannel(bob, CID);
    for (const [who, page] of [["alice", alice], ["bob", bob]]) {
      await poll(() => connectionState(page), (s) => s === "connected", { message: `${who} connected` });
      await markDocument(page);
    }

    // Alice types: Bob sees "Alice … is typing".
    const hello = t.text("Hello Bob, live from Alice");
    const aliceInput = alice.locator(tid("message-input"));
    await aliceInput.pressSequentially(hello.slice(0, 12), { delay: 20 });
    const bobTyping = bob.locator(tid("typing-indicator"));
    await poll(
      async () => ({ active: await bobTyping.getAttribute("data-active"), text: await bobTyping.textContent() }),
      (v) => v.active === "true" && v.text.includes("Alice"),
      { timeout: LIVE_MS, message: "Bob's typing indicator to show Alice typing" },
    );
    t.log("bob sees:", await bobTyping.textContent());

    // Alice sends (Enter): her row shows at once, then sent; Bob's open list gets it live.
    await aliceInput.fill(hello);
    await aliceInput.press("Enter");
    await poll(() => rowState(alice, hello), (s) => s !== null, { timeout: 5000, message: "Alice's own row" });
    await poll(() => rowState(alice, hello), (s) => s === "sent", { message: "Alice's message sent" });
    await poll(() => rowState(bob, hello), (s) => s === "sent", { timeout: LIVE_MS, message: "Bob to receive Alice's message live" });
    // Sending stops typing: Bob's indicator clears.
    await poll(() => bobTyping.getAttribute("data-active"), (v) => v === "false", { timeout: LIVE_MS, message: "Bob's typing indicator to clear" });

    // Bob types back: Alice sees it; Bob replies; Alice receives it live.
    const reply = t.text("Hi Alice, Bob here");
    const bobInput = bob.locator(tid("message-input"));
    await bobInput.pressSequentially(reply.slice(0, 10), { delay: 20 });
    const aliceTyping = alice.locator(tid("typing-indicator"));
    await poll(
      async () => ({ active: await aliceTyping.getAttribute("data-active"), text: await aliceTyping.textContent() }),
      (v) => v.active === "true" && v.text.includes("Bob"),
      { timeout: LIVE_MS, message: "Alice's typing indicator to show Bob typing" },
    );
    await bobInput.fill(reply);
    await bob.locator(tid("send-button")).click();
    await poll(() => rowState(alice, reply), (s) => s === "sent", { timeout: LIVE_MS, message: "Alice to receive Bob's reply live" });

    // Neither page was reloaded, and the messages are on the server once.
    assert(await sameDocument(alice), "Alice's page was reloaded");
    assert(await sameDocument(bob), "Bob's page was reloaded");
    const stored = await t.server.allMessages(CID);
    for (const text of [hello, reply]) {
      const n = stored.filter((m) => m.text === text).length;
      assert(n === 1, `the server has "${text}" ${n} times`);
    }
  },
};
