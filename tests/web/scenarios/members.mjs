// 10. Members: Alice (the channel's owner) opens its members panel and adds Carol. Carol shows
// at once in Alice's list, then confirmed; Carol (another context, already signed in) gets
// the channel in her channel list without a reload, and her members panel shows the same
// members with Alice and Bob online (they were online before her page connected: the
// presence snapshot); the server holds Carol as a member once. Bob, a plain member, sees Carol appear
// in his open members panel live, and his own attempt to add Dave is refused by the server
// (it stays out of everyone's list).

import { markDocument, sameDocument, signIn, tid } from "../lib/browser.mjs";
import { assert, poll } from "../lib/expect.mjs";

const LIVE_MS = 15_000;

/** The members panel's rows: [{ user, pending, online }]. */
async function members(page) {
  return await page.evaluate(() =>
    [...document.querySelectorAll('[data-testid="member-list"] [data-user]')].map((li) => ({
      user: li.getAttribute("data-user"),
      pending: li.getAttribute("data-pending") === "true",
      online: li.getAttribute("data-online") === "true",
    })),
  );
}

async function openMembers(page, cid) {
  await page.locator(tid(`channel-${cid}`)).click({ timeout: 20_000 });
  await page.locator(`${tid(`channel-${cid}`)}[data-selected="true"]`).waitFor({ timeout: 20_000 });
  await page.locator(tid("members-toggle")).click({ timeout: 20_000 });
  await page.locator(tid("member-list")).waitFor({ timeout: 20_000 });
}

const ids = (list) => list.map((m) => m.user).join(",");

export default {
  name: "members: add a member and see them appear for everyone",
  async run(t) {
    const cid = `team:crew-${Date.now().toString(36)}`;
    await t.server.createChannel(cid, { name: t.text("Crew"), members: ["alice", "bob"], createdBy: "alice" });
    const alice = await t.page(await t.context(), "alice");
    const bob = await t.page(await t.context(), "bob");
    const carol = await t.page(await t.context(), "carol");
    await signIn(alice, t.server.url, "alice");
    await signIn(bob, t.server.url, "bob");
    await signIn(carol, t.server.url, "carol");
    await markDocument(carol);
    await openMembers(alice, cid);
    await openMembers(bob, cid);
    await poll(() => members(alice), (l) => ids(l) === "alice,bob", { message: "Alice's members panel" });

    await alice.getByRole("textbox", { name: "Add member" }).fill("carol");
    await alice.getByRole("button", { name: "Add", exact: true }).click();
    await poll(() => members(alice), (l) => ids(l) === "alice,bob,carol", { timeout: 5000, message: "Carol in Alice's list at once" });
    await poll(
      () => members(alice),
      (l) => ids(l) === "alice,bob,carol" && l.every((m) => !m.pending),
      { timeout: LIVE_MS, message: "the addition confirmed" },
    );
    await poll(() => members(bob), (l) => ids(l) === "alice,bob,carol", { timeout: LIVE_MS, message: "Carol in Bob's open panel, live" });

    // Carol gets the channel without a reload, and the same members.
    await carol.locator(tid(`channel-${cid}`)).waitFor({ timeout: LIVE_MS });
    assert(await sameDocument(carol), "Carol's page was reloaded");
    await openMembers(carol, cid);
    await poll(() => members(carol), (l) => ids(l) === "alice,bob,carol", { timeout: LIVE_MS, message: "Carol's members panel" });
    // Alice and Bob were online before Carol's page connected: no event told her, the
    // connection's presence snapshot did (their dots are on at once).
    await poll(
      () => members(carol),
      (l) => l.every((m) => m.online),
      { timeout: LIVE_MS, message: "everyone's presence dot on in Carol's panel" },
    );

    // Bob may not add people: shown while queued, refused by the server, then gone again.
    await bob.getByRole("textbox", { name: "Add member" }).fill("dave");
    await bob.getByRole("button", { name: "Add", exact: true }).click();
    await poll(
      () => bob.locator(tid("outbox-count")).getAttribute("data-count"),
      (n) => n === "1",
      { timeout: LIVE_MS, message: "Bob's refused addition kept in his outbox" },
    );
    await poll(() => members(bob), (l) => ids(l) === "alice,bob,carol", { timeout: LIVE_MS, message: "Dave not in Bob's list" });

    const [type, id] = cid.split(":");
    const state = await t.server.api("GET", `/v1/channels/${type}/${id}`);
    const onServer = state.members.map((m) => m.user_id).sort().join(",");
    assert(onServer === "alice,bob,carol", `the server's members: ${onServer}`);
  },
};
