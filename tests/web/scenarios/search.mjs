// 11. Search finds an offline-sent message: Alice goes offline, sends a message (pending),
// types a word of it (a prefix, as typed) in the sidebar's search box: the message is found
// at once from the local FTS5 index in the browser's wasm SQLite — marked local and not sent
// yet — and the box says the server was not reached. Back online, the same search is
// answered by the server too, and lists the message once, sent.

import { connectionState, openChannel, outboxCount, rowState, send, signIn, tid } from "../lib/browser.mjs";
import { assert, poll } from "../lib/expect.mjs";

const CID = "team:general";

/** The search results: [{ text, local, pending }]. */
async function results(page) {
  return await page.evaluate(() =>
    [...document.querySelectorAll('[data-testid="search"] [data-message-id]')].map((li) => ({
      text: li.querySelector(".onyx-search__text")?.textContent ?? "",
      marked: [...li.querySelectorAll("mark")].map((m) => m.textContent),
      local: li.getAttribute("data-local") === "true",
      pending: li.getAttribute("data-pending") === "true",
    })),
  );
}

async function search(page, text) {
  const box = page.locator(`${tid("search")} input[type="search"]`);
  await box.fill("");
  await box.fill(text);
}

export default {
  name: "search finds an offline-sent message",
  async run(t) {
    const context = await t.context();
    const alice = await t.page(context, "alice");
    await signIn(alice, t.server.url, "alice");
    await openChannel(alice, CID);
    await poll(() => connectionState(alice), (s) => s === "connected", { message: "Alice connected" });

    await context.setOffline(true);
    await poll(() => connectionState(alice), (s) => s !== "connected", { timeout: 5000, message: "Alice offline" });
    const word = `zephyr${t.runId}`;
    const text = `${t.text("Offline")} ${word} pancakes`;
    await send(alice, text);
    await poll(() => rowState(alice, text), (s) => s === "pending", { timeout: 5000, message: "the message pending" });

    // As typed: a prefix of the word finds it, offline, from the local index.
    await search(alice, word.slice(0, word.length - 2));
    const found = await poll(
      () => results(alice),
      (r) => r.some((h) => h.text === text),
      { timeout: 10_000, message: "the offline-sent message among the search results" },
    );
    const hit = found.find((h) => h.text === text);
    t.log("offline hit:", hit);
    assert(hit.local && hit.pending, `the hit is local ${hit.local}, pending ${hit.pending}`);
    assert(hit.marked.length === 1 && hit.marked[0] === word, `marked ${JSON.stringify(hit.marked)}, want [${word}]`);
    await alice.locator(tid("search-offline")).waitFor({ timeout: 10_000 });

    // Back online: sent, then the same search is answered by the server too: listed once.
    await context.setOffline(false);
    await poll(() => rowState(alice, text), (s) => s === "sent", { timeout: 20_000, message: "the message sent once online" });
    await poll(() => outboxCount(alice), (n) => n === 0, { timeout: 15_000, message: "the outbox to drain" });
    await search(alice, `${word} `);
    const online = await poll(
      () => results(alice),
      (r) => r.some((h) => h.text === text && !h.pending),
      { timeout: 15_000, message: "the sent message found online" },
    );
    assert(online.filter((h) => h.text === text).length === 1, "the message is listed once");
    await poll(
      async () => await alice.locator(tid("search-offline")).count(),
      (n) => n === 0,
      { timeout: 15_000, message: "the offline note to go once the server answers" },
    );
  },
};
