// 9. A reload paints the remembered channel's first-paint snapshot before the engine is
// ready, then the live list replaces it: Alice (persistent profile) reads a channel, whose
// newest rows the SDK keeps in localStorage; she leaves the page; meanwhile Bob edits one
// message and deletes another. Back on the page, the snapshot's rows (the old texts)
// are painted first (the engine's wasm is held back meanwhile), then corrected by the live
// list once the engine has synced, without moving the unchanged rows — and at no frame is a
// message addressable twice. Signing out removes the snapshots.

import { openChannel, rowWithText, signIn, tid } from "../lib/browser.mjs";
import { assert, assertEqual, poll } from "../lib/expect.mjs";

/** In the page, from its first script: what the snapshot showed, and duplicates per frame. */
function watchFirstPaint() {
  const seen = { snapshotTexts: [], snapshotIds: [], maxCopies: 0, frames: 0, firstHtml: null };
  window.__snapshotWatch = seen;
  const look = () => {
    // The page's first snapshot paint, as it was (the first script's, before React's).
    if (seen.firstHtml === null && document.querySelector("[data-snapshot]")) {
      seen.firstHtml = document.getElementById("root")?.innerHTML ?? "";
    }
    for (const row of document.querySelectorAll("[data-snapshot] [data-message-id]")) {
      const id = row.getAttribute("data-message-id");
      if (seen.snapshotIds.includes(id)) continue;
      seen.snapshotIds.push(id);
      seen.snapshotTexts.push(row.querySelector('[data-testid^="message-text-"]')?.textContent ?? "");
    }
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true });
  // Before each frame is painted: how many elements carry the same message id at most.
  const frame = () => {
    const counts = new Map();
    for (const el of document.querySelectorAll("[data-message-id]")) {
      const id = el.getAttribute("data-message-id");
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    seen.maxCopies = Math.max(seen.maxCopies, ...counts.values(), 0);
    seen.frames += 1;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

const snapshotKeys = (page) =>
  page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("onyxchat:snapshot:")));

export default {
  name: "reload paints the snapshot first, then the live list corrects it",
  async run(t) {
    const cid = `team:snap-${t.runId}`;
    const { context } = await t.profile("alice-snapshot");
    await t.server.createChannel(cid, { name: `Snapshot ${t.runId}`, members: ["alice", "bob"], createdBy: "bob" });
    const texts = [1, 2, 3].map((i) => t.text(`Snapshot row ${i}`));
    const sent = [];
    for (const text of texts) sent.push(await t.server.sendMessage(cid, text, { user: "bob" }));

    const page = await t.page(context, "alice");
    await signIn(page, t.server.url, "alice");
    await openChannel(page, cid);
    for (const text of texts) await rowWithText(page, text).waitFor({ state: "visible" });

    // The SDK keeps the channel's newest rows (throttled): wait until all three are kept.
    const key = `:${encodeURIComponent(cid)}`;
    await poll(
      () => page.evaluate((k) => Object.entries(localStorage).find(([name]) => name.endsWith(k))?.[1] ?? "", key),
      (raw) => texts.every((text) => raw.includes(text)),
      { message: "the channel's snapshot in localStorage" },
    );

    // Alice leaves; Bob edits the first message and deletes the second meanwhile.
    await page.goto("about:blank");
    const edited = t.text("Snapshot row 1, edited while Alice was away");
    await t.server.api("PATCH", `/v1/messages/${sent[0].id}`, { body: { text: edited }, as: "bob" });
    await t.server.api("DELETE", `/v1/messages/${sent[1].id}`, { as: "bob" });

    // Back (the remembered session and channel): the snapshot first, then the live list.
    // The engine's wasm is held back until the snapshot has been looked at.
    await page.addInitScript(watchFirstPaint);
    let releaseWasm;
    const wasmHeld = new Promise((resolve) => (releaseWasm = resolve));
    await page.route("**/*.wasm", async (route) => {
      await wasmHeld;
      await route.continue();
    });
    await page.goto(t.server.url);
    const newest = `[data-message-id="${sent[2].id}"]`;
    await page.locator(`[data-snapshot] ${newest}`).waitFor({ state: "visible" });
    // Painted from the page's first script (the screen kept when the page hid), then
    // rendered again by React's first commit: the same markup, so the swap is invisible.
    await page.waitForFunction(() => performance.getEntriesByName("demo:app-committed").length > 0);
    const early = await page.evaluate(() => ({
      painted: performance.getEntriesByName("demo:screen-painted")[0]?.startTime ?? null,
      react: performance.getEntriesByName("demo:app-committed")[0]?.startTime ?? null,
      firstHtml: window.__snapshotWatch.firstHtml,
      reactHtml: document.getElementById("root").innerHTML,
    }));
    t.log(`kept screen painted at ${early.painted?.toFixed(0)} ms, React's first commit at ${early.react?.toFixed(0)} ms`);
    assert(early.painted !== null, "the kept snapshot screen was painted by the first script");
    assert(early.painted < early.react, "the kept screen was painted before React's first commit");
    assertEqual(early.firstHtml, early.reactHtml, "the first script's paint and React's first commit (HTML)");
    // Where the newest row is in the list (the connection banner above may come and go).
    const inList = async () => {
      const [row, list] = await Promise.all([page.locator(newest).boundingBox(), page.locator(tid("message-list")).boundingBox()]);
      return { x: row.x - list.x, y: row.y - list.y, height: row.height };
    };
    const before = await inList();
    await t.screenshot(page, "alice-snapshot");
    releaseWasm();
    await page.locator(`${tid("message-list")}[data-ready="true"]`).waitFor({ timeout: 30_000 });
    await rowWithText(page, edited).waitFor({ state: "visible", timeout: 30_000 });
    await poll(
      () => page.locator(`${tid(`message-${sent[1].id}`)}.onyx-message--deleted`).count(),
      (n) => n === 1,
      { message: "the deleted message shown as deleted" },
    );
    const after = await inList();
    t.log(`newest row: snapshot ${JSON.stringify(before)}, live ${JSON.stringify(after)}`);
    // The hand-over does not move it (the snapshot is painted where the live list shows it).
    assert(
      Math.abs(before.x - after.x) <= 1 && Math.abs(before.y - after.y) <= 1 && Math.abs(before.height - after.height) <= 1,
      "the newest row stays in place from the snapshot to the live list",
    );
    const seen = await page.evaluate(() => window.__snapshotWatch);
    t.log(`snapshot rows painted: ${seen.snapshotIds.length}; frames watched: ${seen.frames}`);
    for (const [i, m] of sent.entries()) {
      assert(seen.snapshotIds.includes(m.id), `snapshot row ${i + 1} was painted (${JSON.stringify(seen)})`);
    }
    assert(seen.snapshotTexts.some((s) => s.includes(texts[0])), "the snapshot showed the text before the edit");
    assertEqual(seen.maxCopies, 1, "the most elements carrying one message id in any frame");

    // Now live: no snapshot left, the edit shown once, the old text gone.
    assertEqual(await page.locator("[data-snapshot]").count(), 0, "snapshot layers left");
    assertEqual(await page.locator(tid("snapshot-screen")).count(), 0, "snapshot screens left");
    assertEqual(await rowWithText(page, texts[0]).count(), 0, "rows with the text before the edit");
    assertEqual(await rowWithText(page, edited).count(), 1, "rows with the edited text");
    await t.screenshot(page, "alice-after-snapshot");

    // Signing out removes the user's snapshots.
    assert((await snapshotKeys(page)).length > 0, "snapshots kept before signing out");
    await page.locator(tid("sign-out")).click();
    await page.locator(tid("sign-in-alice")).waitFor({ timeout: 20_000 });
    assertEqual((await snapshotKeys(page)).length, 0, "snapshots left after signing out");
  },
};
