// Headless Chromium through playwright-core (the system's /usr/bin/chromium; never a
// downloaded browser), fresh profiles in temp dirs, and the demo's page helpers.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";

// Playwright adds --headless itself (headless: true).
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const VIEWPORT = { width: 1100, height: 760 };

/** A browser for `browser.newContext()` (each context is a fresh, throwaway profile). */
export async function launchBrowser() {
  return await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/**
 * A persistent profile in a fresh temp dir (survives reloads and is shared by its pages,
 * like one real browser profile). `close()` also removes the dir.
 */
export async function launchProfile(name = "profile") {
  const dir = mkdtempSync(join(tmpdir(), `onyxchat-${name}-`));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: VIEWPORT,
  });
  const close = async () => {
    await context.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  return { context, dir, close };
}

export async function newContext(browser) {
  return await browser.newContext({ viewport: VIEWPORT });
}

/** Collects a page's console errors and uncaught exceptions (printed on failure). */
export function watchConsole(page, label, sink) {
  page.on("console", (msg) => {
    if (msg.type() === "error" || msg.type() === "warning") sink.push(`[${label} console.${msg.type()}] ${msg.text()}`);
  });
  page.on("pageerror", (err) => sink.push(`[${label} pageerror] ${err.stack ?? err}`));
  page.on("worker", (w) => sink.push(`[${label}] worker ${w.url()}`));
}

// ---- the demo ------------------------------------------------------------------------

/** `[data-testid="…"]`. */
export const tid = (id) => `[data-testid="${id}"]`;

/** Message rows only (`message-<uuid>`; not message-list, message-input, message-text-…). */
export const MESSAGE_ROW = '[data-testid^="message-"][data-message-id]';

/** Opens the demo and signs in as `user` (from the sign-in screen, or a remembered session). */
export async function signIn(page, baseUrl, user) {
  await page.goto(baseUrl);
  const button = page.locator(tid(`sign-in-${user}`));
  const list = page.locator(tid("message-list")).or(page.locator(tid("channel-team:general")));
  await button.or(list).first().waitFor({ timeout: 20_000 });
  if (await button.isVisible()) await button.click();
  await page.locator(tid("current-user")).waitFor({ timeout: 20_000 });
}

/** Opens a channel from the list and waits for its message list to be ready. */
export async function openChannel(page, cid) {
  await page.locator(tid(`channel-${cid}`)).click({ timeout: 20_000 });
  await page.locator(`${tid(`channel-${cid}`)}[data-selected="true"]`).waitFor({ timeout: 20_000 });
  await page.locator(`${tid("message-list")}[data-ready="true"]`).waitFor({ timeout: 20_000 });
}

/** Types `text` into the composer and sends it with the send button. */
export async function send(page, text) {
  const input = page.locator(tid("message-input"));
  await input.fill(text);
  await page.locator(tid("send-button")).click();
}

/** The row showing `text` (by its text element). */
export function rowWithText(page, text) {
  return page.locator(MESSAGE_ROW).filter({ has: page.locator('[data-testid^="message-text-"]', { hasText: text }) });
}

/** The message rows in DOM order: [{ id, state, text }]. */
export async function rows(page) {
  return await page.evaluate((sel) => {
    return [...document.querySelectorAll(sel)].map((r) => ({
      id: r.getAttribute("data-message-id"),
      state: r.getAttribute("data-state"),
      text: r.querySelector('[data-testid^="message-text-"]')?.textContent ?? "",
    }));
  }, MESSAGE_ROW);
}

/** The state of the (single) row showing `text`, or null when there is none. */
export async function rowState(page, text) {
  const all = await rows(page);
  const hits = all.filter((r) => r.text.includes(text));
  if (hits.length > 1) throw new Error(`${hits.length} rows show "${text}"`);
  return hits[0]?.state ?? null;
}

/** Marks the page's current document; `sameDocument` tells whether it was not reloaded since. */
export async function markDocument(page) {
  await page.evaluate(() => {
    window.__e2eDocument = true;
  });
}
export async function sameDocument(page) {
  return await page.evaluate(() => window.__e2eDocument === true);
}

/** The outbox badge's count. */
export async function outboxCount(page) {
  return Number(await page.locator(tid("outbox-count")).getAttribute("data-count", { timeout: 5000 }));
}

/** The connection banner's state (always rendered; hidden while connected). */
export async function connectionState(page) {
  return await page.locator(tid("connection-state")).getAttribute("data-state", { timeout: 5000 });
}
