// The consumer-app test: the packed @onyxchat/core and @onyxchat/react tarballs installed
// into fresh apps as an app developer would (Vite 8 and 7, webpack 5 with React 18.3,
// Next.js App Router), each built with its tool's defaults, served, and opened in headless
// Chromium, where it connects to a real chat-server, sends a message and shows one sent
// through the server. Also the Vite 8 dev server (no optimizeDeps config).
//
//   node tests/consumers/run.mjs [--tarballs DIR] [--only vite8,next] [--update-locks]
//
// Apps are built under target/consumers/<name>/ from the templates here (plus
// shared/Chat.jsx); the tarballs are DIR/onyxchat-core.tgz and onyxchat-react.tgz (default
// target/consumers/tarballs, written by `cargo xtask test` through release::npm::package).
// Installs use the committed package-lock.json (`npm ci`) and are skipped when neither the
// lock nor a tarball changed. `--update-locks` re-resolves (`npm install`) and writes the
// lockfiles back into the templates. Prints `N passed, N failed`; exits 1 on a failure.
// The server: $ONYXCHAT_SERVER_BIN, else target/debug/chat-server.

import { execFile, spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import http from "node:http";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { launchBrowser } from "../web/lib/browser.mjs";
import { REPO } from "../web/lib/paths.mjs";
import { ChatServer, freePort } from "../web/lib/server.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const WORK = join(REPO, "target/consumers");

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const TARBALLS = resolve(flag("--tarballs") ?? join(WORK, "tarballs"));
const UPDATE_LOCKS = args.includes("--update-locks");

/**
 * The checks: each app's template dir, how it builds and how it is served (`serve(dir,
 * port)` returns the command to run, or `static` for the built-in static server).
 */
const CHECKS = [
  { name: "vite8", app: "vite8", build: ["npx", "vite", "build"], serve: (p) => ["npx", "vite", "preview", "--host", "127.0.0.1", "--port", p, "--strictPort"] },
  { name: "vite8-dev", app: "vite8", serve: (p) => ["npx", "vite", "--host", "127.0.0.1", "--port", p, "--strictPort"] },
  { name: "vite7", app: "vite7", build: ["npx", "vite", "build"], serve: (p) => ["npx", "vite", "preview", "--host", "127.0.0.1", "--port", p, "--strictPort"] },
  { name: "vite7-dev", app: "vite7", serve: (p) => ["npx", "vite", "--host", "127.0.0.1", "--port", p, "--strictPort"] },
  { name: "webpack5", app: "webpack5", build: ["npx", "webpack", "--mode", "production"], serve: "static" },
  { name: "next", app: "next", build: ["npx", "next", "build"], serve: (p) => ["npx", "next", "start", "--hostname", "127.0.0.1", "--port", p] },
];
const only = flag("--only")?.split(",");
const checks = only ? CHECKS.filter((c) => only.includes(c.name)) : CHECKS;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const seconds = (since) => ((Date.now() - since) / 1000).toFixed(1);

/** Runs a command in `cwd`; rejects with its output's tail on failure. */
function sh(cmd, cwd, env = {}) {
  return new Promise((ok, fail) =>
    execFile(cmd[0], cmd.slice(1), { cwd, env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) fail(new Error(`\`${cmd.join(" ")}\` failed in ${cwd}:\n${`${stdout}\n${stderr}`.trim().slice(-4000)}`));
      else ok(stdout);
    }),
  );
}

/** A long-running child (a server); `stop()` ends it and its children. */
function start(cmd, cwd, env = {}) {
  const proc = spawn(cmd[0], cmd.slice(1), { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  proc.stdout.on("data", (d) => (output += d));
  proc.stderr.on("data", (d) => (output += d));
  const exited = new Promise((r) => proc.once("exit", r));
  return {
    get output() {
      return output;
    },
    exited,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      try {
        process.kill(-proc.pid, "SIGTERM");
      } catch {
        return;
      }
      const killer = setTimeout(() => {
        try {
          process.kill(-proc.pid, "SIGKILL");
        } catch {
          // gone
        }
      }, 5000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Waits until `url` answers (any status), or the process exits, or 60 s pass. */
async function waitForHttp(url, proc) {
  const deadline = Date.now() + 60_000;
  let exited = false;
  proc?.exited.then(() => (exited = true));
  for (;;) {
    try {
      await fetch(url);
      return;
    } catch {
      // not yet
    }
    if (exited) throw new Error(`the server for ${url} exited:\n${proc.output.slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`${url} did not answer in 60 s:\n${proc?.output.slice(-3000) ?? ""}`);
    await sleep(200);
  }
}

// ---- the apps -----------------------------------------------------------------------

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json" };

/** Serves `dist/` with the app's index.html at `/` (the webpack app). */
async function staticServer(appDir, port) {
  const server = http.createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    const file = path === "/" ? join(appDir, "index.html") : join(appDir, "dist", path);
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return { output: "", exited: new Promise(() => undefined), stop: () => new Promise((r) => server.close(r)) };
}

const hashFile = (h, path) => h.update(readFileSync(path));

/**
 * Lays out target/consumers/<app> from its template (keeping node_modules and Next's
 * build cache) and installs: `npm ci` unless the lock and both tarballs are unchanged
 * since the last install. Returns whether it installed.
 */
async function prepare(app) {
  const template = join(HERE, app);
  const dir = join(WORK, app);
  mkdirSync(dir, { recursive: true });
  for (const entry of readdirSync(dir)) {
    if (entry !== "node_modules" && entry !== ".next") rmSync(join(dir, entry), { recursive: true, force: true });
  }
  cpSync(template, dir, { recursive: true });
  const src = existsSync(join(template, "src")) ? "src" : "app";
  cpSync(join(HERE, "shared/Chat.jsx"), join(dir, src, "Chat.jsx"));

  if (UPDATE_LOCKS) {
    // Forget what the lock recorded of our tarballs (their dependencies may have changed),
    // so npm reads them again.
    const before = JSON.parse(readFileSync(join(dir, "package-lock.json"), "utf8"));
    for (const name of ["@onyxchat/core", "@onyxchat/react"]) delete before.packages[`node_modules/${name}`];
    writeFileSync(join(dir, "package-lock.json"), `${JSON.stringify(before, null, 2)}\n`);
    rmSync(join(dir, "node_modules/@onyxchat"), { recursive: true, force: true });
    await sh(["npm", "install", "--no-audit", "--no-fund"], dir);
    // The tarballs change with every build: keep their integrity out of the committed lock.
    const lock = JSON.parse(readFileSync(join(dir, "package-lock.json"), "utf8"));
    for (const name of ["@onyxchat/core", "@onyxchat/react"]) delete lock.packages[`node_modules/${name}`]?.integrity;
    writeFileSync(join(template, "package-lock.json"), `${JSON.stringify(lock, null, 2)}\n`);
    return true;
  }
  const h = createHash("sha256");
  hashFile(h, join(template, "package-lock.json"));
  hashFile(h, join(TARBALLS, "onyxchat-core.tgz"));
  hashFile(h, join(TARBALLS, "onyxchat-react.tgz"));
  const key = h.digest("hex");
  const stamp = join(dir, "node_modules/.onyxchat-install");
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === key) return false;
  await sh(["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"], dir);
  // npm installs despite unmet peer ranges (e.g. React 18 against a "^19" peer); `npm ls`
  // fails on them, once it reads the installed packages rather than npm's hidden lockfile
  // (written from our lock, which does not record the tarballs' peer ranges).
  rmSync(join(dir, "node_modules/.package-lock.json"), { force: true });
  await sh(["npm", "ls", "--all"], dir);
  writeFileSync(stamp, key);
  return true;
}

/** Opens the app, waits for it to connect, and checks a message both ways. */
async function browse(browser, server, check, baseUrl) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const log = [];
  page.on("console", (m) => m.type() === "error" && log.push(`console.error: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`pageerror: ${e.stack ?? e}`));
  try {
    const cid = "team:general";
    const q = new URLSearchParams({ server: server.url, app: server.session.app_id, user: "alice", token: server.token("alice"), cid, name: check.name });
    await page.goto(`${baseUrl}/?${q}`);
    const ready = page.getByTestId("chat-ready");
    const failed = page.getByTestId("chat-error");
    await ready.or(failed).waitFor({ timeout: 60_000 });
    if (await failed.isVisible()) throw new Error(`the app failed to connect: ${await failed.textContent()}`);

    // The page's own message reaches the server...
    const mine = `sent from the ${check.name} app`;
    const [type, id] = cid.split(":");
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { messages } = await server.api("GET", `/v1/channels/${type}/${id}/messages?limit=100`, { as: "bob" });
      if (messages.some((m) => m.text === mine && m.user_id === "alice")) break;
      if (Date.now() > deadline) throw new Error(`the server never got "${mine}"`);
      await sleep(200);
    }
    // ...and a message sent through the server shows in the page.
    const theirs = `hello ${check.name} from bob ${randomUUID().slice(0, 8)}`;
    await server.sendMessage(cid, theirs);
    await page.getByText(theirs).waitFor({ timeout: 30_000 });
  } catch (e) {
    e.message += log.length ? `\n${log.join("\n")}` : "";
    throw e;
  } finally {
    await context.close();
  }
}

async function runCheck(browser, server, check, prepared) {
  const dir = join(WORK, check.app);
  const times = [];
  if (!prepared.has(check.app)) {
    const t = Date.now();
    prepared.set(check.app, await prepare(check.app));
    times.push(`${prepared.get(check.app) ? "install" : "install (unchanged)"} ${seconds(t)}s`);
  }
  if (UPDATE_LOCKS) return times;
  if (check.build) {
    const t = Date.now();
    await sh(check.build, dir, { NEXT_TELEMETRY_DISABLED: "1" });
    times.push(`build ${seconds(t)}s`);
  }
  const port = await freePort();
  const t = Date.now();
  const proc = check.serve === "static" ? await staticServer(dir, port) : start(check.serve(String(port)), dir, { NEXT_TELEMETRY_DISABLED: "1" });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(base, proc);
    await browse(browser, server, check, base);
  } catch (e) {
    if (proc.output) e.message += `\n--- ${check.name} server output ---\n${proc.output.slice(-3000)}`;
    throw e;
  } finally {
    await proc.stop();
  }
  times.push(`serve + browser ${seconds(t)}s`);
  return times;
}

async function main() {
  const started = Date.now();
  for (const name of ["onyxchat-core.tgz", "onyxchat-react.tgz"]) {
    if (!existsSync(join(TARBALLS, name))) throw new Error(`${join(TARBALLS, name)} is missing: pack the packages first (cargo xtask test does)`);
  }
  mkdirSync(WORK, { recursive: true });
  if (resolve(TARBALLS) !== join(WORK, "tarballs")) cpSync(TARBALLS, join(WORK, "tarballs"), { recursive: true });
  const server = UPDATE_LOCKS ? null : await ChatServer.start({ staticDir: null });
  const browser = UPDATE_LOCKS ? null : await launchBrowser();
  let passed = 0;
  let failed = 0;
  const prepared = new Map();
  try {
    for (const check of checks) {
      const t = Date.now();
      try {
        const times = await runCheck(browser, server, check, prepared);
        passed++;
        console.log(`ok   ${check.name} (${seconds(t)}s: ${times.join(", ")})`);
      } catch (e) {
        failed++;
        console.log(`FAIL ${check.name} (${seconds(t)}s)\n${e.message}`);
      }
    }
  } finally {
    await browser?.close();
    await server?.dispose();
  }
  console.log(`consumer apps: ${seconds(started)}s`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

await main();
