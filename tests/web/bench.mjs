#!/usr/bin/env node
// Web benchmarks of the demo (not part of test:e2e): `npm run bench:web` at the root.
// Prints a markdown report and writes it to target/bench-web.md.
//
//   1. Sizes: the wasm (raw, gzip -9) and the demo's JS+wasm transfer (gzip -9 sum).
//   2. Time to the first message row after a reload with a warm OPFS cache (median of 7),
//      against a floor page (static HTML rendering 30 plain rows, from a node:http server).
//   3. requestAnimationFrame deltas while a script scrolls up through a 10,000-message
//      channel, against a floor (a plain react-virtuoso list of 10,000 static rows).
//
// Headless Chromium on a shared CI-sized machine: the timings are indicative only.

import { createServer } from "node:http";
import { cpus } from "node:os";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "vite";
import { launchProfile, openChannel, rowWithText, signIn } from "./lib/browser.mjs";
import { poll } from "./lib/expect.mjs";
import { REPO } from "./lib/paths.mjs";
import { ChatServer, DEMO_DIST as BUILT_DEMO, freePort, pool } from "./lib/server.mjs";

const RELOADS = 7;
const FIRST_ROW_ONLY = process.env.BENCH_WEB_FIRST_ROW_ONLY === "1";
// Another build of the demo to measure (e.g. an earlier commit's, to compare in one sitting).
const DEMO_DIST = process.env.BENCH_WEB_DEMO_DIST ?? BUILT_DEMO;
const CACHED_MESSAGES = 300;
const BIG = 10_000;
const SCROLL_MS = 8000;
const PX_PER_FRAME = 40; // ≈ 2,400 px/s at 60 Hz: a brisk continuous scroll
const OUT = join(REPO, "target/bench-web.md");
const FLOOR_SRC = join(REPO, "tests/web/bench/floor");
const FLOOR_OUT = join(REPO, "target/bench-floor");

const gz = (buf) => gzipSync(buf, { level: 9 }).length;
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const ms = (n) => `${n.toFixed(1)} ms`;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const log = (...a) => console.error("[bench]", ...a);

// ---- 1. sizes ----------------------------------------------------------------------------

function sizes() {
  const wasmPath = join(REPO, "packages-js/core/wasm/chat_wasm_bg.wasm");
  const wasm = readFileSync(wasmPath);
  const assets = join(DEMO_DIST, "assets");
  const files = readdirSync(assets).filter((f) => !f.endsWith(".map"));
  const by = { js: { raw: 0, gz: 0, n: 0 }, wasm: { raw: 0, gz: 0, n: 0 }, css: { raw: 0, gz: 0, n: 0 } };
  for (const f of files) {
    const kind = f.endsWith(".js") ? "js" : f.endsWith(".wasm") ? "wasm" : f.endsWith(".css") ? "css" : null;
    if (!kind) continue;
    const buf = readFileSync(join(assets, f));
    by[kind].raw += buf.length;
    by[kind].gz += gz(buf);
    by[kind].n++;
  }
  const html = readFileSync(join(DEMO_DIST, "index.html"));
  return { wasm: { raw: wasm.length, gz: gz(wasm) }, by, html: { raw: html.length, gz: gz(html) } };
}

// ---- floor pages, served by a tiny node:http server ---------------------------------------

const FIRST_ROW_FLOOR = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Floor: 30 plain rows</title>
<style>body{margin:0;font:15px/1.45 system-ui,sans-serif}.row{padding:6px 16px}</style></head>
<body><div id="list"></div>
<script>
  const list = document.getElementById("list");
  for (let i = 1; i <= 30; i++) {
    const row = document.createElement("div");
    row.className = "row";
    row.setAttribute("data-message-id", "floor-" + i);
    row.textContent = "Plain row " + i;
    list.appendChild(row);
  }
</script></body></html>`;

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css" };

async function floorServer() {
  await build({
    root: FLOOR_SRC,
    logLevel: "warn",
    build: { outDir: FLOOR_OUT, emptyOutDir: true, target: "es2022" },
  });
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path === "/first-row.html") {
      res.writeHead(200, { "content-type": TYPES[".html"], "cache-control": "no-cache" });
      return res.end(FIRST_ROW_FLOOR);
    }
    const rel = normalize(path === "/" ? "index.html" : path.slice(1));
    try {
      if (rel.startsWith("..")) throw new Error("outside");
      const body = readFileSync(join(FLOOR_OUT, rel));
      res.writeHead(200, { "content-type": TYPES[extname(rel)] ?? "application/octet-stream", "cache-control": "no-cache" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  const port = await freePort();
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
}

// ---- 2. time to first message row after a reload ------------------------------------------

/** In every page: when the first message row enters the DOM, and when it is first visible. */
function firstRowProbe() {
  const mark = { firstRow: null, firstVisible: null, frames: 0, longTasks: [] };
  window.__bench = mark;
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (mark.firstVisible === null) mark.longTasks.push([e.startTime, e.duration]);
    }).observe({ type: "longtask", buffered: true });
  } catch {
    // No Long Tasks API.
  }
  const SEL = "[data-message-id]";
  const observer = new MutationObserver(() => {
    if (mark.firstRow === null && document.querySelector(SEL)) {
      mark.firstRow = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, { childList: true, subtree: true });
  mark.trace = [];
  const frame = () => {
    mark.frames++;
    const il = document.querySelector("[data-testid=virtuoso-item-list]");
    const sc = document.querySelector("[data-virtuoso-scroller]");
    mark.trace.push([Math.round(performance.now()), document.querySelectorAll(SEL).length, il?.style.visibility ?? "-", sc?.scrollTop ?? -1, sc?.scrollHeight ?? -1]);
    const row = document.querySelector(SEL);
    if (row && row.checkVisibility({ visibilityProperty: true, opacityProperty: true })) {
      mark.firstVisible = performance.now();
      return;
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

/**
 * In a page or worker: its User Timing marks and the wasm's resource timing, as absolute
 * times (timeOrigin + startTime), so the page and its worker share one clock.
 */
function timeline() {
  const at = (t) => performance.timeOrigin + t;
  const marks = performance.getEntriesByType("mark").map((m) => ({ name: m.name, t: at(m.startTime) }));
  for (const r of performance.getEntriesByType("resource")) {
    if (r.name.endsWith(".wasm")) marks.push({ name: "resource:wasm-downloaded", t: at(r.responseEnd) });
  }
  const nav = performance.getEntriesByType("navigation")[0];
  if (nav) {
    marks.push({ name: "nav:response-end", t: at(nav.responseEnd) });
    marks.push({ name: "nav:dom-content-loaded", t: at(nav.domContentLoadedEventEnd) });
  }
  return { origin: performance.timeOrigin, marks };
}

/**
 * Reloads `page` `n` times; each: ms from navigation start to the first row (DOM, visible)
 * and, with `phases`, the page's and its workers' marks in ms from navigation start (read
 * once the live list has committed its rows: a first paint from a snapshot comes before,
 * and the next reload then starts from a settled page).
 */
async function reloads(page, n, phases = false) {
  const runs = [];
  for (let i = 0; i < n; i++) {
    await page.reload({ waitUntil: "commit" });
    await page.waitForFunction(() => window.__bench?.firstVisible != null && window.__bench?.firstRow != null, null, { timeout: 30_000 });
    const r = await page.evaluate(() => ({
      dom: window.__bench.firstRow,
      visible: window.__bench.firstVisible,
      frames: window.__bench.frames,
      longTasks: window.__bench.longTasks,
      trace: window.__bench.trace,
    }));
    if (process.env.BENCH_WEB_TRACE) log(JSON.stringify(r.trace));
    if (phases) {
      // The live list's rows too (after a snapshot's first paint, they come later).
      await page
        .waitForFunction(() => performance.getEntriesByName("onyxchat:list-rows-committed").length > 0, null, { timeout: 30_000 })
        .catch(() => undefined);
      const own = await page.evaluate(timeline);
      const marks = [...own.marks];
      for (const worker of page.workers()) {
        const w = await worker.evaluate(timeline).catch(() => null);
        if (w) marks.push(...w.marks);
      }
      r.phases = {};
      for (const m of marks) {
        const t = m.t - own.origin;
        // The first of each name (a phase marked again later, e.g. by a second client, is not start-up).
        if (!(m.name in r.phases) || t < r.phases[m.name]) r.phases[m.name] = t;
      }
      r.phases["bench:first-row-in-dom"] = r.dom;
      r.phases["bench:first-row-visible"] = r.visible;
    }
    runs.push(r);
  }
  return runs;
}

/** The phases in the order of their median time, with the median and the step from the one before. */
function phaseTable(runs) {
  const names = new Set(runs.flatMap((r) => Object.keys(r.phases ?? {})));
  const rows = [...names]
    .map((name) => {
      const ts = runs.map((r) => r.phases?.[name]).filter((t) => t !== undefined);
      return { name, at: median(ts), n: ts.length };
    })
    .sort((a, b) => a.at - b.at);
  return rows.map((row, i) => ({ ...row, step: i === 0 ? row.at : row.at - rows[i - 1].at }));
}

/** What each mark means (see the SDK's marks.ts, chat-wasm's marks.rs and the demo). */
const PHASES = {
  "nav:response-end": "index.html received",
  "demo:script-start": "page script starts (demo's first module)",
  "demo:screen-painted": "page: first script paints the kept snapshot screen",
  "onyxchat:worker-spawn": "page: SDK spawns the engine worker",
  "demo:app-committed": "page: React's first commit (App)",
  "onyxchat:snapshot-rows-committed": "page: React commits the snapshot's rows",
  "onyxchat:worker-start": "worker: script runs",
  "onyxchat:wasm-response": "worker: wasm response headers",
  "resource:wasm-downloaded": "worker: wasm fully downloaded",
  "onyxchat:wasm-compiled": "worker: wasm compiled",
  "onyxchat:wasm-ready": "worker: wasm instantiated",
  "onyxchat:open-start": "worker: engine gets `open`",
  "onyxchat:storage-ready": "worker: OPFS pool open",
  "onyxchat:cache-open": "worker: cache (SQLite) open, client built",
  "onyxchat:engine-open": "worker: engine open (tab leadership settled)",
  "onyxchat:connected": "page: `ChatClient.connect` resolved",
  "nav:dom-content-loaded": "DOMContentLoaded",
  "onyxchat:first-query": "worker: first message query answered",
  "onyxchat:first-messages": "page: first messages in the store",
  "onyxchat:list-rows-committed": "page: React commits the list with rows",
  "bench:first-row-in-dom": "first `[data-message-id]` row in the DOM",
  "bench:first-row-visible": "**first row visible**",
};

// ---- 3. frame times while scrolling ------------------------------------------------------

/** In the page: scroll `selector` up by `px` per frame for `duration` ms; rAF deltas. */
async function scrollFrames(page, selector) {
  return await page.evaluate(
    ({ selector, duration, px }) =>
      new Promise((resolve) => {
        const el = document.querySelector(selector);
        const deltas = [];
        const longTasks = [];
        const observer = new PerformanceObserver((list) => {
          for (const e of list.getEntries()) longTasks.push(e.duration);
        });
        observer.observe({ type: "longtask" });
        let travelled = 0;
        let last;
        let end;
        const frame = (t) => {
          deltas.push(t - last);
          last = t;
          const before = el.scrollTop;
          el.scrollTop = before - px;
          travelled += Math.max(0, before - el.scrollTop);
          if (t < end) requestAnimationFrame(frame);
          else {
            observer.disconnect();
            resolve({ deltas, travelled, longTasks });
          }
        };
        requestAnimationFrame((t) => {
          last = t;
          end = t + duration;
          requestAnimationFrame(frame);
        });
      }),
    { selector, duration: SCROLL_MS, px: PX_PER_FRAME },
  );
}

function frameStats({ deltas, travelled, longTasks }) {
  return {
    longTasks: longTasks.length,
    blocking: longTasks.reduce((sum, d) => sum + Math.max(0, d - 50), 0),
    frames: deltas.length,
    p50: percentile(deltas, 50),
    p95: percentile(deltas, 95),
    p99: percentile(deltas, 99),
    max: Math.max(...deltas),
    dropped: deltas.filter((d) => d > 32).length,
    travelled,
  };
}

// ---- main --------------------------------------------------------------------------------

const server = await ChatServer.start({ staticDir: DEMO_DIST });
const floor = await floorServer();
const profile = await launchProfile("bench");
const lines = [];
try {
  const { context } = profile;
    await context.addInitScript(firstRowProbe);
  const page = context.pages()[0] ?? (await context.newPage());

  const browserVersion = (await page.evaluate(() => navigator.userAgent)).match(/Chrome\/[\d.]+/)?.[0] ?? "Chromium";

  // 1.
  const s = sizes();
  log("sizes done");

  // 2. A warm cache: signed in, then CACHED_MESSAGES arrive live (so all are cached: a
  // catch-up sync of more than 200 changes would bring only the newest 50).
  await signIn(page, server.url, "alice");
  await openChannel(page, "team:general");
  const texts = Array.from({ length: CACHED_MESSAGES }, (_, i) => `cached message ${String(i + 1).padStart(3, "0")}`);
  for (const text of texts) await server.sendMessage("team:general", text, { user: "bob", as: "server" });
  // (The list itself may lose the bottom during such a burst, a MessageList issue seen in
  // this run's set-up; the channel list's preview says when the last one is in.)
  await page.locator('[data-testid="channel-team:general"]', { hasText: texts.at(-1) }).waitFor({ timeout: 30_000 });
  await page.reload();
  await rowWithText(page, texts.at(-1)).waitFor({ state: "visible", timeout: 30_000 });
  log("warm cache ready");
  const demo = await reloads(page, RELOADS, true);
  await page.goto(`${floor.url}/first-row.html`);
  const plain = await reloads(page, RELOADS);
  log("reloads done");
  const phases = phaseTable(demo);
  for (const r of demo) {
    log(`run: visible ${r.visible.toFixed(0)} ms, ${r.frames} frames, long tasks ${r.longTasks.map(([s, d]) => `${s.toFixed(0)}+${d.toFixed(0)}`).join(" ")}`);
    if (process.env.BENCH_WEB_TRACE) log(Object.entries(r.phases).sort((a, b) => a[1] - b[1]).map(([n, t]) => `${n.replace(/^\w+:/, "")} ${t.toFixed(0)}`).join(" | "));
  }

  // 3. 10,000 messages (server-side sends: not rate-limited), scrolled from the newest up.
  // BENCH_WEB_FIRST_ROW_ONLY=1 skips it (a quicker run while working on the start-up).
  let demoFrames, floorFrames, oldestReached;
  if (!FIRST_ROW_ONLY) {
    await server.createChannel("team:ten-k", { name: "Ten thousand", members: ["alice"], createdBy: "alice" });
    const numbers = Array.from({ length: BIG }, (_, i) => i + 1);
    await pool(numbers, 16, (n) => server.sendMessage("team:ten-k", `big #${String(n).padStart(5, "0")}`, { user: "alice", as: "server" }));
    const newest = (await server.api("GET", "/v1/channels/team/ten-k/messages?limit=1")).messages[0].text;
    await page.goto(server.url);
    await openChannel(page, "team:ten-k");
    await rowWithText(page, newest).waitFor({ state: "visible", timeout: 30_000 });
    // Settled: the read marker and the first layout are done.
    await poll(() => page.locator('[data-testid="outbox-count"]').getAttribute("data-count"), (c) => c === "0");
    demoFrames = frameStats(await scrollFrames(page, '[data-testid="message-list"] [data-virtuoso-scroller]'));
    oldestReached = await page.evaluate(() => document.querySelector("[data-message-id] [data-testid^='message-text-']")?.textContent);
    await page.goto(`${floor.url}/`);
    await page.locator("[data-message-id]").first().waitFor({ state: "visible" });
    floorFrames = frameStats(await scrollFrames(page, "[data-virtuoso-scroller]"));
    log("frames done");
  }

  // ---- report ----
  const dm = { dom: median(demo.map((r) => r.dom)), visible: median(demo.map((r) => r.visible)) };
  const fm = { dom: median(plain.map((r) => r.dom)), visible: median(plain.map((r) => r.visible)) };
  const jsWasmGz = s.by.js.gz + s.by.wasm.gz;
  const jsWasmRaw = s.by.js.raw + s.by.wasm.raw;
  lines.push(
    `# OnyxChat web benchmarks`,
    ``,
    `${new Date().toISOString()} · ${browserVersion} headless (--disable-gpu) · ${cpus().length} CPU(s) · Node ${process.version}.`,
    `Headless Chromium timings on a shared machine are indicative, not absolute: compare each number with its floor from the same run.`,
    ``,
    `## Size`,
    ``,
    `| What | Raw | gzip -9 |`,
    `|---|---:|---:|`,
    `| \`chat_wasm_bg.wasm\` | ${kib(s.wasm.raw)} | ${kib(s.wasm.gz)} |`,
    `| Demo JS (${s.by.js.n} files: app + engine worker) | ${kib(s.by.js.raw)} | ${kib(s.by.js.gz)} |`,
    `| Demo wasm (${s.by.wasm.n} file) | ${kib(s.by.wasm.raw)} | ${kib(s.by.wasm.gz)} |`,
    `| **Demo JS + wasm transfer** | ${kib(jsWasmRaw)} | **${kib(jsWasmGz)}** |`,
    `| Demo CSS + index.html (not in the total) | ${kib(s.by.css.raw + s.html.raw)} | ${kib(s.by.css.gz + s.html.gz)} |`,
    ``,
    `## Time to the first message row after a reload (warm OPFS cache)`,
    ``,
    `Persistent profile, \`team:general\` with ${CACHED_MESSAGES} cached messages, server up; from navigation start`,
    `(\`performance.timeOrigin\`) to the first \`[data-message-id]\` row in the DOM, and to the first frame in which`,
    `it is visible (the list hides its first layout pass). Median of ${RELOADS} reloads. Floor: a static page from a`,
    `node:http server whose inline script renders 30 plain rows.`,
    ``,
    `| Page | First row in DOM (median) | First row visible (median) | Runs (visible, ms) |`,
    `|---|---:|---:|---|`,
    `| Demo (cache → wasm engine in a worker → React) | ${ms(dm.dom)} | ${ms(dm.visible)} | ${demo.map((r) => r.visible.toFixed(0)).join(", ")} |`,
    `| Floor (static HTML, 30 rows) | ${ms(fm.dom)} | ${ms(fm.visible)} | ${plain.map((r) => r.visible.toFixed(0)).join(", ")} |`,
    `| **Ratio demo / floor** | ${(dm.dom / fm.dom).toFixed(1)}× | **${(dm.visible / fm.visible).toFixed(1)}×** | |`,
    ``,
    `Where the demo's time goes: the page's and its worker's \`performance.mark\`s (\`onyxchat:*\` from the SDK,`,
    `\`demo:*\` from the demo) and the wasm's resource timing, in ms from navigation start, median of the ${RELOADS}`,
    `reloads per phase (so the steps are differences of medians). Worker phases run in parallel with the page's.`,
    ``,
    `| Phase | Mark | At (median) | Step |`,
    `|---|---|---:|---:|`,
    ...phases.map((p) => `| ${PHASES[p.name] ?? p.name} | \`${p.name}\` | ${ms(p.at)} | +${ms(p.step)} |`),
    ``,
    `Main thread until the first row is visible (medians): ${median(demo.map((r) => r.frames))} animation frames; ` +
      `${median(demo.map((r) => r.longTasks.length))} long tasks (> 50 ms) taking ${ms(median(demo.map((r) => r.longTasks.reduce((a, [, d]) => a + d, 0))))} in all.`,
    ``,
  );
  if (!FIRST_ROW_ONLY) lines.push(
    `## Frame times while scrolling 10,000 messages`,
    ``,
    `A script scrolls the list up by ${PX_PER_FRAME} px per animation frame for ${SCROLL_MS / 1000} s, starting at the newest`,
    `message, and records \`requestAnimationFrame\` deltas. Demo: \`team:ten-k\` (${BIG.toLocaleString("en")} messages; older pages`,
    `come from the cache or the server as the top is reached; the oldest row rendered at the end: ${oldestReached ?? "?"}). Floor: a plain react-virtuoso`,
    `list of ${BIG.toLocaleString("en")} static rows, same script.`,
    ``,
    `| List | Frames | p50 | p95 | p99 | Max | Dropped (> 32 ms) | Long tasks (blocking) | Scrolled |`,
    `|---|---:|---:|---:|---:|---:|---:|---:|---:|`,
    ...[
      ["Demo MessageList", demoFrames],
      ["Floor (react-virtuoso, static rows)", floorFrames],
    ].map(
      ([name, f]) =>
        `| ${name} | ${f.frames} | ${ms(f.p50)} | ${ms(f.p95)} | ${ms(f.p99)} | ${ms(f.max)} | ${f.dropped} | ${f.longTasks} (${ms(f.blocking)}) | ${Math.round(f.travelled)} px |`,
    ),
    ``,
    `"Long tasks" are main-thread tasks over 50 ms during the scroll (blocking: the time beyond 50 ms).`,
    `"Scrolled" is the distance the scroll position actually moved up: the demo's list stops at the top of`,
    `what is loaded until the next page arrives, so it can cover less ground than the floor in the same time.`,
    `Headless Chromium paces frames with its own 60 Hz begin-frame timer and composites in software`,
    `(--disable-gpu); no display or GPU is involved, so these numbers reflect main-thread work only.`,
    ``,
  );
} finally {
  await profile.close();
  await floor.close();
  await server.dispose();
}

const report = lines.join("\n");
mkdirSync(join(REPO, "target"), { recursive: true });
writeFileSync(OUT, report);
console.log(report);
console.error(`[bench] written to ${OUT}`);
