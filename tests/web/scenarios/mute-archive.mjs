// 11. Mute and archive: Alice mutes a channel from its header; Bob's new messages there then
// show their count on the muted row but leave the total unread (header badge) alone. Alice's
// second browser (another device) shows the channel muted too. Archiving takes it off the
// list at once; "Show archived" brings it back, archived. The server holds both settings for
// Alice only.

import { signIn, tid } from "../lib/browser.mjs";
import { assert, poll } from "../lib/expect.mjs";

const LIVE_MS = 15_000;

const total = async (page) => Number(await page.locator(tid("total-unread")).getAttribute("data-count"));

export default {
  name: "mute-archive: a muted channel leaves the total, an archived one the list",
  async run(t) {
    const stamp = Date.now().toString(36);
    const quiet = `team:quiet-${stamp}`;
    const other = `team:other-${stamp}`;
    await t.server.createChannel(other, { name: t.text("Other"), members: ["alice", "bob"], createdBy: "alice" });
    await t.server.createChannel(quiet, { name: t.text("Quiet"), members: ["alice", "bob"], createdBy: "alice" });
    const alice = await t.page(await t.context(), "alice");
    await signIn(alice, t.server.url, "alice");

    // Open the channel and mute it from its header.
    await alice.locator(tid(`channel-${quiet}`)).click({ timeout: 20_000 });
    await alice.locator(`${tid(`channel-${quiet}`)}[data-selected="true"]`).waitFor({ timeout: 20_000 });
    await alice.locator(tid("mute-toggle")).click();
    await alice.locator(`${tid(`channel-${quiet}`)}[data-muted="true"]`).waitFor({ timeout: 5000 });
    // Look elsewhere, so new messages stay unread.
    await alice.locator(tid(`channel-${other}`)).click({ timeout: 20_000 });
    await alice.locator(`${tid(`channel-${other}`)}[data-selected="true"]`).waitFor({ timeout: 20_000 });
    await poll(() => alice.locator(tid("outbox-count")).getAttribute("data-count"), (n) => n === "0", {
      timeout: LIVE_MS,
      message: "the mute delivered",
    });
    const before = await total(alice);

    await t.server.sendMessage(quiet, t.text("one"), { user: "bob" });
    await t.server.sendMessage(quiet, t.text("two"), { user: "bob" });
    await poll(() => alice.locator(tid(`channel-${quiet}`)).getAttribute("data-unread"), (n) => n === "2", {
      timeout: LIVE_MS,
      message: "the muted row counts its own unread messages",
    });
    assert((await total(alice)) === before, `the total moved: ${before} -> ${await total(alice)}`);

    // Alice's other device shows it muted.
    const phone = await t.page(await t.context(), "alice-phone");
    await signIn(phone, t.server.url, "alice");
    await phone.locator(`${tid(`channel-${quiet}`)}[data-muted="true"]`).waitFor({ timeout: LIVE_MS });

    // Archive: off the list at once; "Show archived" lists it again.
    await alice.locator(tid(`channel-${quiet}`)).click();
    await alice.locator(tid("archive-toggle")).click();
    await alice.locator(tid(`channel-${quiet}`)).waitFor({ state: "detached", timeout: 5000 });
    await alice.locator(tid("show-archived")).check();
    await alice.locator(tid(`channel-${quiet}`)).waitFor({ timeout: 5000 });

    const [type, id] = quiet.split(":");
    const mine = await poll(
      () => t.server.api("GET", `/v1/channels/${type}/${id}`, { as: "alice" }),
      (s) => s.own_state?.archived === true,
      { timeout: LIVE_MS, message: "the archive delivered" },
    );
    assert(mine.own_state.muted === true, `alice's settings on the server: ${JSON.stringify(mine.own_state)}`);
    const bobs = await t.server.api("GET", `/v1/channels/${type}/${id}`, { as: "bob" });
    assert(!bobs.own_state.muted && !bobs.own_state.archived, "bob's settings untouched");
  },
};
