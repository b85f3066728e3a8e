// 11. Mentions and Markdown: in a channel where Bob spoke last, Alice types "@" in the
// composer: the suggestions (local, from the channel's members) list Bob first; typing
// narrows them to Dave; arrows and Enter pick Bob back, the composer shows "@bob ", and the
// message sent carries Bob as mentioned (the server stores `mentioned_users`). The text is
// Markdown: Bob's page shows the bold part as <strong> and the URL as a link, never raw HTML.
// Bob quote-replies to it (the message's Quote action): the quote shows above his composer,
// and Alice's list shows his reply with the quoted message above it.

import { openChannel, rowState, signIn, tid } from "../lib/browser.mjs";
import { assert, poll } from "../lib/expect.mjs";

const LIVE_MS = 15_000;

/** The user ids the suggestion list shows, in order (empty when closed). */
async function suggestions(page) {
  return await page.evaluate(() =>
    [...document.querySelectorAll('[data-testid="mention-suggestions"] [role="option"]')].map((li) =>
      li.getAttribute("data-testid").replace(/^mention-/, ""),
    ),
  );
}

export default {
  name: "mentions and quotes: @ autocomplete, sent as a mention; safe Markdown; a quote-reply shown to the other",
  async run(t) {
    const cid = `team:mention-${Date.now().toString(36)}`;
    const id = cid.split(":")[1];
    await t.server.createChannel(cid, { name: t.text("Mentions"), members: ["alice", "bob", "dave"], createdBy: "alice" });
    await t.server.sendMessage(cid, t.text("bob speaks"), { user: "bob", as: "server" });
    const alice = await t.page(await t.context(), "alice");
    const bob = await t.page(await t.context(), "bob");
    await signIn(alice, t.server.url, "alice");
    await signIn(bob, t.server.url, "bob");
    await openChannel(alice, cid);
    await openChannel(bob, cid);

    const input = alice.locator(tid("message-input"));
    await input.pressSequentially("hey @", { delay: 20 });
    await poll(() => suggestions(alice), (l) => l.join() === "bob,dave", { timeout: LIVE_MS, message: "Bob (the recent author) first, then Dave" });
    await input.pressSequentially("d", { delay: 20 });
    await poll(() => suggestions(alice), (l) => l.join() === "dave", { message: "narrowed to Dave" });
    await input.press("Backspace");
    await poll(() => suggestions(alice), (l) => l.join() === "bob,dave", { message: "both again" });
    await input.press("ArrowDown");
    await input.press("ArrowUp");
    const active = await alice.locator('[data-testid="mention-suggestions"] [aria-selected="true"]').getAttribute("data-testid");
    assert(active === "mention-bob", `the active option: ${active}`);
    await input.press("Enter");
    await poll(() => input.inputValue(), (v) => v === "hey @bob ", { message: "Bob picked into the composer" });
    assert((await suggestions(alice)).length === 0, "the suggestions closed");

    const text = `hey @bob look at **this** https://example.com/${id} <b>raw</b>`;
    await input.pressSequentially(text.slice("hey @bob ".length), { delay: 5 });
    await input.press("Enter");
    await poll(() => rowState(bob, `hey @bob look at this`), (s) => s === "sent", { timeout: LIVE_MS, message: "Bob receives it live" });

    const row = bob.locator('[data-testid^="message-text-"]', { hasText: "look at" });
    assert((await row.locator("strong").textContent()) === "this", "the bold part is <strong>");
    assert((await row.locator("a").getAttribute("href")) === `https://example.com/${id}`, "the URL is a link");
    assert((await row.locator("b").count()) === 0, "raw HTML is not rendered");

    const sent = (await t.server.allMessages(cid)).find((m) => m.text.startsWith("hey @bob"));
    assert(sent, "the message is on the server");

    // Bob quotes it.
    const bobRow = bob.locator(tid(`message-${sent.id}`));
    await bobRow.hover();
    await bob.locator(tid(`quote-action-${sent.id}`)).click();
    await bob.locator(tid("quoting")).waitFor({ timeout: 5000 });
    const reply = t.text("quoting you");
    await bob.locator(tid("message-input")).fill(reply);
    await bob.locator(tid("message-input")).press("Enter");
    assert((await bob.locator(tid("quoting")).count()) === 0, "the quote bar closed after sending");
    await poll(() => rowState(alice, reply), (s) => s === "sent", { timeout: LIVE_MS, message: "Alice receives the reply" });
    const quote = alice.locator(`[data-testid^="message-"]`, { hasText: reply }).locator(tid(`quote-${sent.id}`));
    await poll(() => quote.textContent(), (text) => (text ?? "").includes("look at"), { message: "the quoted message above the reply" });
    assert(JSON.stringify(sent.mentioned_users) === '["bob"]', `mentioned_users: ${JSON.stringify(sent.mentioned_users)}`);
  },
};
