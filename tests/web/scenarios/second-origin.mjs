// 6. The demo served from a second origin (a plain static server on another port) talks
// to chat-server on the server's own origin, as a web app on its own host does: CORS
// preflights and answers for REST and sync, and the WebSocket's Origin check at connect.
// The demo app's allowed origins are set to exactly that second origin (dev mode's `*`
// replaced for the scenario), and a message goes out end to end.

import { connectionState, openChannel, rowState, send, signIn } from "../lib/browser.mjs";
import { assert, poll } from "../lib/expect.mjs";
import { serveStatic } from "../lib/static.mjs";

const CID = "team:general";

export default {
  name: "demo from a second origin (CORS, WebSocket origin)",
  async run(t) {
    const site = await serveStatic();
    t.onCleanup(() => site.close());
    assert(site.origin !== new URL(t.server.url).origin, "the two origins must differ");
    const saved = await t.server.api("GET", "/v1/app/settings");
    const only = await t.server.api("PUT", "/v1/app/settings", { body: { cors_origins: [site.origin] } });
    t.log("allowed origins:", only.cors_origins);
    t.onCleanup(() => t.server.api("PUT", "/v1/app/settings", { body: saved }));

    const context = await t.context();
    // What the server answered this page's origin (requests from the page; the engine
    // worker's requests may or may not be reported, so this only needs one).
    const allowed = [];
    context.on("response", (r) => {
      if (r.url().startsWith(t.server.url)) allowed.push(r.headers()["access-control-allow-origin"] ?? null);
    });
    const page = await t.page(context, "alice-second-origin");
    await signIn(page, `${site.origin}/?server=${encodeURIComponent(t.server.url)}`, "alice");
    await openChannel(page, CID);
    await poll(() => connectionState(page), (s) => s === "connected", {
      timeout: 20_000,
      message: "the realtime connection from the second origin",
    });

    const text = t.text("Hello from another origin");
    await send(page, text);
    await poll(() => rowState(page, text), (s) => s === "sent", { timeout: 20_000, message: "the message sent" });
    const stored = (await t.server.allMessages(CID)).filter((m) => m.text === text);
    assert(stored.length === 1, `the server has the message ${stored.length} times`);
    assert(site.apiHits() === 0, `the demo sent ${site.apiHits()} API requests to its own origin`);
    assert(allowed.includes(site.origin), `no answer allowed ${site.origin}: ${JSON.stringify(allowed)}`);
  },
};
