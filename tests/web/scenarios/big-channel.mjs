// 4. A 10,000-message channel: seeded through the REST API (as the server: not
// rate-limited), opened in the demo; the DOM holds only a window of rows (virtualized),
// scrolling up loads older pages (the oldest rendered message moves back) and the row
// count stays bounded.

import { MESSAGE_ROW, openChannel, rows, rowWithText, signIn } from "../lib/browser.mjs";
import { assert, poll } from "../lib/expect.mjs";
import { pool } from "../lib/server.mjs";

const CID = "team:ten-k";
const COUNT = 10_000;
const MAX_ROWS = 100;
const SCROLLS = 16;
/** The core's page size (the demo's MessageList default). */
const PAGE = 30;

const label = (n) => `big #${String(n).padStart(5, "0")}`;
const numberOf = (text) => Number(/big #(\d{5})/.exec(text)?.[1] ?? NaN);

export default {
  name: "10,000-message channel is virtualized and pages older messages",
  async run(t) {
    const { server } = t;
    await server.createChannel(CID, { name: "Ten thousand", members: ["carol", "dave"], createdBy: "carol" });
    const seededAt = Date.now();
    const numbers = Array.from({ length: COUNT }, (_, i) => i + 1);
    await pool(numbers, 16, (n) => server.sendMessage(CID, label(n), { user: n % 3 ? "dave" : "carol", as: "server" }));
    t.log(`seeded ${COUNT} messages in ${((Date.now() - seededAt) / 1000).toFixed(1)} s`);
    const stored = await server.allMessages(CID);
    assert(stored.length === COUNT, `the server has ${stored.length} messages`);
    // Positions in the stored order (concurrent sends land out of label order), so
    // "consecutive" below means consecutive in the channel.
    const order = new Map(stored.map((m, i) => [numberOf(m.text), i + 1]));
    const channelIndex = (n) => order.get(n);

    const page = await t.page(await t.context(), "carol");
    await signIn(page, server.url, "carol");
    const openedAt = Date.now();
    await openChannel(page, CID);
    const newest = stored.at(-1).text;
    await rowWithText(page, newest).waitFor({ state: "visible", timeout: 20_000 });
    t.log(`newest message visible ${Date.now() - openedAt} ms after opening`);

    const look = async () => {
      const all = await rows(page);
      const idx = all.map((r) => channelIndex(numberOf(r.text)));
      for (let i = 1; i < idx.length; i++) {
        assert(idx[i] === idx[i - 1] + 1, `rendered rows are not consecutive at ${i}: ${idx.slice(Math.max(0, i - 3), i + 3).join(", ")}`);
      }
      return { rows: all.length, oldest: idx[0], newest: idx.at(-1) };
    };

    let view = await look();
    t.log("opened:", view);
    assert(view.newest === COUNT, `the newest rendered message is #${view.newest}`);
    assert(view.rows > 0 && view.rows < MAX_ROWS, `${view.rows} message rows in the DOM`);
    const scroller = page.locator('[data-testid="message-list"] [data-virtuoso-scroller]');
    const start = view.oldest;
    for (let i = 1; i <= SCROLLS; i++) {
      const before = view.oldest;
      // Scroll to the top (again on every poll, as a user keeps scrolling) until at least
      // one more page (30) of older messages is rendered: loaded from the cache or server.
      view = await poll(
        async () => {
          await scroller.evaluate((el) => {
            el.scrollTop = 0;
          });
          return await look();
        },
        (v) => v.oldest <= before - PAGE,
        { timeout: 15_000, interval: 150, message: `scroll ${i}: a page older than #${before}` },
      );
      assert(view.rows < MAX_ROWS, `scroll ${i}: ${view.rows} message rows in the DOM`);
      if (i % 4 === 0) t.log(`scroll ${i}:`, view);
    }
    // Past the core's window of 8 pages: it slid (dropped the newest) and kept going.
    assert(start - view.oldest > 8 * PAGE, `paged back only ${start - view.oldest} messages`);
    const total = await page.locator(MESSAGE_ROW).count();
    t.log(`after ${SCROLLS} scrolls: oldest rendered #${view.oldest} (from #${start}), ${total} rows in the DOM`);
  },
};
