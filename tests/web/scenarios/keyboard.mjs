// 7. Keyboard only, checked through roles and names (playwright's getByRole): sign in
// with Tab and Enter, reach the channel listbox (one Tab stop), move with Home and the
// arrows to the channel not open, open it with Enter; the composer gets the focus,
// Shift+Enter adds a line, Enter sends and the focus stays; the message is a labelled
// article in the "Messages" log and reaches the server once; Shift+Tab reaches its actions
// toolbar (one Tab stop), ArrowRight its "Reply in thread", Enter opens the thread region,
// Escape closes it and the focus returns; ArrowLeft reaches "Star message", Space stars the
// message (pressed at once, starred on the server); with `?lang=de` the same roles carry German
// names. axe-core finds no serious or critical violation on the sign-in screen, the chat
// and the open thread.

import { axeCheck } from "../lib/axe.mjs";
import { assert, assertEqual, poll } from "../lib/expect.mjs";

/** axe-core on the page: no serious or critical violation. */
async function noSeriousViolations(t, page, what) {
  const { failing, minor, ms } = await axeCheck(page);
  t.log(`axe (${what}): ${failing.length} serious/critical, ${minor.length} minor, ${ms} ms`);
  for (const v of minor) t.log(`  minor: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.join(", ")}`);
  assert(failing.length === 0, `axe on ${what}: ${JSON.stringify(failing, null, 1)}`);
}

/** Whether `locator`'s element has the focus. */
const focused = (locator) => locator.evaluate((el) => el === document.activeElement).catch(() => false);

/** Presses `key` until `done()` (at most `limit` presses). */
async function pressUntil(page, key, done, limit, what) {
  for (let i = 0; i < limit; i++) {
    if (await done()) return i;
    await page.keyboard.press(key);
  }
  assert(await done(), `${what}: not reached with ${limit} × ${key}`);
  return limit;
}

export default {
  name: "keyboard only: sign in, pick a channel, send, open and close a thread",
  async run(t) {
    const page = await t.page(await t.context(), "alice-keyboard");
    await page.goto(t.server.url);

    const signInButton = page.getByRole("button", { name: /@alice/ });
    await signInButton.waitFor({ timeout: 20_000 });
    await noSeriousViolations(t, page, "the sign-in screen");
    await pressUntil(page, "Tab", () => focused(signInButton), 15, "Alice's sign-in button");
    await page.keyboard.press("Enter");

    // The channel list is a named listbox; the first channel opens and its composer,
    // a textbox named "Message", has the focus.
    const channels = page.getByRole("listbox", { name: "Channels" });
    await channels.waitFor({ timeout: 20_000 });
    const composer = page.getByRole("textbox", { name: "Message" });
    await poll(() => focused(composer), Boolean, { timeout: 20_000, message: "the composer has the focus" });
    assert((await page.locator('[data-testid="connection-state"][role="status"]').count()) === 1, "the connection banner is a status");
    assert(await page.getByRole("button", { name: "Send" }).isVisible(), "a button named Send");

    // Back to the list with Shift+Tab: it is one Tab stop, on the selected channel.
    const presses = await pressUntil(
      page,
      "Shift+Tab",
      () => page.evaluate(() => document.activeElement?.getAttribute("role") === "option"),
      150,
      "the channel list",
    );
    t.log(`channel list reached with ${presses} × Shift+Tab`);
    const selected = channels.getByRole("option", { selected: true });
    assert(await focused(selected), "the Tab stop of the list is the selected channel");

    await page.keyboard.press("Home");
    assert(await focused(channels.getByRole("option").first()), "Home focuses the first channel");
    // The other channel (the demo user has two: General, and Alice & Bob), by its name.
    const otherCid = await channels.getByRole("option", { selected: false }).first().getAttribute("data-cid");
    const otherName = await channels.locator(`[data-cid="${otherCid}"] .onyx-channel-preview__name`).textContent();
    // An option is named by what it shows, its channel's name first.
    const escaped = otherName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const target = channels.getByRole("option", { name: new RegExp(`^${escaped}(\\s|$)`) });
    await pressUntil(page, "ArrowDown", () => focused(target), 5, `${otherName} by ArrowDown`);
    const cid = await target.getAttribute("data-cid");
    assertEqual(await target.getAttribute("aria-selected"), "false", "moving the focus does not open a channel");
    await page.keyboard.press("Enter");
    await poll(() => target.getAttribute("aria-selected"), (v) => v === "true", { message: "Enter opens the channel" });
    await poll(() => focused(composer), Boolean, { message: "the new channel's composer has the focus" });

    // Shift+Enter adds a line, Enter sends; the focus stays in the emptied composer.
    const text = t.text("Sent by keyboard");
    await page.keyboard.type(text);
    await page.keyboard.press("Shift+Enter");
    await page.keyboard.type("second line");
    await page.keyboard.press("Enter");
    const log = page.getByRole("log", { name: "Messages" });
    const article = log.getByRole("article").filter({ hasText: text });
    await article.waitFor({ timeout: 20_000 });
    assert(/^You, /.test((await article.getAttribute("aria-label")) ?? ""), "the message is labelled with its author");
    assertEqual(await composer.inputValue(), "", "the composer is empty after sending");
    assert(await focused(composer), "the focus stays in the composer after sending");
    const stored = await poll(
      async () => (await t.server.allMessages(cid)).filter((m) => m.text.startsWith(text)),
      (found) => found.length > 0,
      { timeout: 20_000, message: "the message on the server" },
    );
    assertEqual(stored.map((m) => m.text), [`${text}\nsecond line`], "stored once, with its two lines");
    await noSeriousViolations(t, page, "the chat");

    // The message's thread by keyboard: Shift+Tab to its actions toolbar (one Tab stop),
    // ArrowRight to "Reply in thread", Enter; then Escape.
    const toolbar = article.getByRole("toolbar", { name: "Message actions" });
    const inToolbar = () => toolbar.evaluate((el) => el.contains(document.activeElement)).catch(() => false);
    await pressUntil(page, "Shift+Tab", inToolbar, 6, "the message's actions toolbar");
    const reply = toolbar.getByRole("button", { name: "Reply in thread" });
    await pressUntil(page, "ArrowRight", () => focused(reply), 4, "Reply in thread by ArrowRight");
    await page.keyboard.press("Enter");
    const thread = page.getByRole("region", { name: "Thread" });
    await thread.waitFor({ timeout: 10_000 });
    await poll(() => focused(thread.getByRole("textbox", { name: "Reply in thread" })), Boolean, {
      message: "the reply box has the focus",
    });
    await noSeriousViolations(t, page, "the open thread");
    await page.keyboard.press("Escape");
    await thread.waitFor({ state: "detached", timeout: 10_000 });
    assert(await focused(reply), "closing the thread gives the focus back to its opener");

    // Star it from the same toolbar: ArrowLeft to the "Star message" toggle, Space. It shows
    // pressed at once and reaches the server (Alice's starred list) once.
    const star = toolbar.getByRole("button", { name: "Star message" });
    await pressUntil(page, "ArrowLeft", () => focused(star), 4, "Star message by ArrowLeft");
    assertEqual(await star.getAttribute("aria-pressed"), "false", "not starred yet");
    await page.keyboard.press("Space");
    await poll(() => star.getAttribute("aria-pressed"), (p) => p === "true", { message: "starred at once" });
    const starred = await poll(
      async () => (await t.server.api("GET", "/v1/starred", { as: "alice" })).messages,
      (list) => list.length > 0,
      { timeout: 20_000, message: "the star on the server" },
    );
    assertEqual(starred.map((m) => m.id), stored.map((m) => m.id), "the message is starred on the server");

    // The same screen in German (`?lang=de`: the demo's ChatProvider locale).
    await page.goto(`${t.server.url}/?lang=de`);
    await page.getByRole("listbox", { name: "Kanäle" }).waitFor({ timeout: 20_000 });
    assert(await page.getByRole("textbox", { name: "Nachricht" }).isVisible(), "the composer is named Nachricht");
    assert(await page.getByRole("log", { name: "Nachrichten" }).isVisible(), "the log is named Nachrichten");
  },
};
