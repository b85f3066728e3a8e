// 8. React StrictMode in the browser: the demo built in development mode (React's dev
// build, whose StrictMode mounts every effect twice) starts exactly one engine worker per
// signed-in user — useCreateChatClient reuses the client of the first mount instead of
// connecting again — and sign-out ends it. (With the reuse removed from the hook, this
// page starts two workers per sign-in: checked when the scenario was written.)

import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "vite";
import { REPO } from "../lib/paths.mjs";
import { ChatServer } from "../lib/server.mjs";
import { assert, poll } from "../lib/expect.mjs";

/** Builds the demo with React's development build (StrictMode active) into a temp dir. */
async function buildDevDemo(outDir) {
  const before = process.env.NODE_ENV;
  process.env.NODE_ENV = "development";
  try {
    await build({
      root: join(REPO, "examples/web"),
      mode: "development",
      logLevel: "warn",
      build: { outDir, emptyOutDir: true, sourcemap: false, minify: false },
    });
  } finally {
    if (before === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = before;
  }
  // The page's chunks (the demo loads React in a chunk of its own after its first script).
  const js = readdirSync(join(outDir, "assets")).filter((f) => !f.startsWith("worker-") && f.endsWith(".js"));
  const bundle = js.map((f) => readFileSync(join(outDir, "assets", f), "utf8")).join("\n");
  // React's development build (the only one where StrictMode double-invokes effects).
  assert(bundle.includes("runWithFiberInDEV"), "the demo was not built with React's development build");
}

export default {
  name: "StrictMode (development build): one engine worker per signed-in user",
  async run(t) {
    const outDir = mkdtempSync(join(tmpdir(), "onyxchat-demo-dev-"));
    t.onCleanup(() => rmSync(outDir, { recursive: true, force: true }));
    const started = Date.now();
    await buildDevDemo(outDir);
    t.log(`development build of the demo: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const server = await ChatServer.start({ staticDir: outDir });
    t.onCleanup(() => server.stop());

    const page = await t.page(await t.context(), "alice-strict-mode");
    const workers = [];
    page.on("worker", (w) => {
      const record = { closed: false };
      workers.push(record);
      w.on("close", () => (record.closed = true));
    });
    const alive = () => workers.filter((w) => !w.closed).length;

    await page.goto(server.url);
    await page.getByRole("button", { name: /@alice/ }).click({ timeout: 20_000 });
    await page.getByRole("listbox", { name: "Channels" }).waitFor({ timeout: 20_000 });
    await poll(() => page.getByTestId("connection-state").getAttribute("data-state"), (s) => s === "connected", {
      timeout: 20_000,
      message: "connected",
    });
    // Late starts (a second connect) would come within a moment of the first.
    await page.waitForTimeout(1000);
    t.log(`after sign-in: ${workers.length} worker(s) started, ${alive()} alive`);
    assert(workers.length === 1 && alive() === 1, `one worker for Alice, got ${workers.length} (${alive()} alive)`);

    await page.getByTestId("sign-out").click();
    await poll(alive, (n) => n === 0, { timeout: 10_000, message: "sign-out ends the worker" });

    await page.getByRole("button", { name: /@bob/ }).click({ timeout: 20_000 });
    await page.getByRole("listbox", { name: "Channels" }).waitFor({ timeout: 20_000 });
    await page.waitForTimeout(1000);
    t.log(`after Bob signs in: ${workers.length} worker(s) started, ${alive()} alive`);
    assert(workers.length === 2 && alive() === 1, `one more worker for Bob, got ${workers.length} (${alive()} alive)`);
  },
};
