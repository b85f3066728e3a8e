#!/usr/bin/env node
// The e2e runner: starts a chat-server (temp data dir, free port) serving the demo build,
// runs each scenario in fresh headless Chromium contexts against it, saves end-state
// screenshots (and failure ones) to target/e2e-artifacts/, and prints
// `e2e: N passed, N failed`. Exits non-zero on any failure.
//
//   npm run test:e2e                   (at the repository root)
//   node run.mjs [name-filter…]        (here; e.g. `node run.mjs offline multi-tab`)
//
// Env: ONYXCHAT_SERVER_BIN (default target/debug/chat-server), CHROMIUM_BIN
// (default /usr/bin/chromium), E2E_SERVER_LOG=1 (echo the server's output).

import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { launchBrowser, launchProfile, newContext, watchConsole } from "./lib/browser.mjs";
import { ARTIFACTS } from "./lib/paths.mjs";
import { ChatServer } from "./lib/server.mjs";
import { scenarios } from "./scenarios/index.mjs";

const SCENARIO_TIMEOUT_MS = 120_000;

const filters = process.argv.slice(2);
const selected = scenarios.filter((s) => filters.length === 0 || filters.some((f) => s.name.includes(f)));
if (selected.length === 0) {
  console.error(`no scenario matches ${filters.join(", ")}; have: ${scenarios.map((s) => s.name).join(", ")}`);
  process.exit(2);
}

mkdirSync(ARTIFACTS, { recursive: true });
for (const f of readdirSync(ARTIFACTS)) {
  if (f.endsWith(".png") || f.endsWith(".log")) rmSync(join(ARTIFACTS, f), { force: true });
}

const slug = (s) => s.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "").toLowerCase();
const runId = Date.now().toString(36);

class ScenarioContext {
  constructor(index, scenario, server, browser) {
    this.index = index;
    this.name = scenario.name;
    this.server = server;
    this.browser = browser;
    this.runId = runId;
    this.logs = [];
    this.pages = []; // { page, label }
    this.cleanups = [];
    this.prefix = `${String(index + 1).padStart(2, "0")}-${slug(scenario.name)}`;
  }

  log(...args) {
    const line = args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ");
    this.logs.push(line);
    console.log(`    ${line}`);
  }

  /** Unique text for this run (so substring matches never hit an older message). */
  text(what) {
    return `${what} [${runId}]`;
  }

  onCleanup(fn) {
    this.cleanups.push(fn);
  }

  /** A fresh browser context (its own profile: storage, OPFS, network emulation). */
  async context() {
    const context = await newContext(this.browser);
    this.onCleanup(() => context.close());
    return context;
  }

  /** A persistent profile in a temp dir (survives reloads). */
  async profile(name) {
    const profile = await launchProfile(name);
    this.onCleanup(() => profile.close());
    return profile;
  }

  /** A new page in `context`, tracked for screenshots and console logs. */
  async page(context, label) {
    const existing = context.pages().find((p) => !this.pages.some((t) => t.page === p));
    const page = existing ?? (await context.newPage());
    this.track(page, label);
    return page;
  }

  track(page, label) {
    watchConsole(page, label, this.logs);
    this.pages.push({ page, label });
  }

  async screenshot(page, label, suffix = "") {
    const path = join(ARTIFACTS, `${this.prefix}-${slug(label)}${suffix}.png`);
    await page.screenshot({ path, timeout: 10_000 });
    return path;
  }

  /** End-state (or failure) screenshots of every page still open. */
  async screenshotAll(suffix) {
    for (const { page, label } of this.pages) {
      if (page.isClosed()) continue;
      try {
        await this.screenshot(page, label, suffix);
      } catch (e) {
        this.logs.push(`(screenshot of ${label} failed: ${e.message})`);
      }
    }
  }

  async cleanup() {
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        console.log(`    (cleanup: ${e.message})`);
      }
    }
    this.cleanups = [];
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// A scenario that timed out keeps running until its pages close under it: its late
// errors are expected and must not end the run.
process.on("unhandledRejection", (e) => {
  console.log(`    (late error after a scenario ended: ${e instanceof Error ? e.message.split("\n")[0] : e})`);
});

const started = Date.now();
let passed = 0;
let failed = 0;
const results = [];

const server = await ChatServer.start({ log: process.env.E2E_SERVER_LOG === "1" });
const browser = await launchBrowser();
console.log(`chat-server ${server.url} (data ${server.dataDir}), Chromium ${browser.version()}`);

try {
  for (const scenario of selected) {
    const ctx = new ScenarioContext(scenarios.indexOf(scenario), scenario, server, browser);
    const t0 = Date.now();
    console.log(`\n▶ ${scenario.name}`);
    let error;
    try {
      if (!server.running) await server.start(); // a failed scenario may have left it stopped
      await withTimeout(scenario.run(ctx), SCENARIO_TIMEOUT_MS, scenario.name);
      await ctx.screenshotAll("");
    } catch (e) {
      error = e;
      await ctx.screenshotAll("-FAIL");
    }
    await ctx.cleanup();
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (error) {
      failed++;
      console.log(`✗ ${scenario.name} (${secs} s)\n    ${String(error.stack ?? error).split("\n").join("\n    ")}`);
      const logPath = join(ARTIFACTS, `${ctx.prefix}-FAIL.log`);
      writeFileSync(logPath, `${String(error.stack ?? error)}\n\n--- browser console and scenario log ---\n${ctx.logs.join("\n")}\n\n--- server stderr (tail) ---\n${server.stderr.slice(-20_000)}\n`);
      console.log(`    details: ${logPath}`);
    } else {
      passed++;
      console.log(`✓ ${scenario.name} (${secs} s)`);
    }
    results.push({ name: scenario.name, ok: !error, secs });
  }
} finally {
  await browser.close().catch(() => undefined);
  await server.dispose();
}

const total = ((Date.now() - started) / 1000).toFixed(1);
console.log(`\nscreenshots: ${ARTIFACTS}`);
console.log(`took ${total} s`);
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
