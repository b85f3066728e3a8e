// A chat-server process for the tests: `serve --dev` on a free port with a temp data dir,
// serving the demo build on the same origin (`staticDir: null`: no web app, as the
// consumer-app test wants). It can be stopped and restarted on the same
// port and data dir (tokens stay valid: the app and its secret live in the data dir).

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO } from "./paths.mjs";

export const SERVER_BIN = process.env.ONYXCHAT_SERVER_BIN ?? join(REPO, "target/debug/chat-server");
export const DEMO_DIST = join(REPO, "examples/web/dist");

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class ChatServer {
  constructor({ port, dataDir, staticDir = DEMO_DIST, log = false }) {
    this.port = port;
    this.dataDir = dataDir;
    this.staticDir = staticDir;
    this.url = `http://127.0.0.1:${port}`;
    this.log = log;
    this.proc = null;
    this.stdout = "";
    this.stderr = "";
    /** From the dev banner: { appId, apiKey, apiSecret }. */
    this.app = null;
    /** From GET /v1/dev/session: { app_id, users: [{id, name, token}] }. */
    this.session = null;
  }

  /** Starts a server on a free port with a fresh temp data dir. */
  static async start(options = {}) {
    if (!existsSync(SERVER_BIN)) {
      throw new Error(`chat-server not found at ${SERVER_BIN}: run \`cargo build -p chat-server\` (or set ONYXCHAT_SERVER_BIN)`);
    }
    if (options.staticDir !== null && !existsSync(join(options.staticDir ?? DEMO_DIST, "index.html"))) {
      throw new Error(`the demo is not built (${DEMO_DIST}): run \`npm run build:js\` at the repository root`);
    }
    const dataDir = mkdtempSync(join(tmpdir(), "onyxchat-e2e-"));
    const server = new ChatServer({ port: await freePort(), dataDir, ...options });
    await server.start();
    return server;
  }

  get running() {
    return this.proc !== null;
  }

  async start() {
    if (this.proc) throw new Error("the server is already running");
    const args = ["serve", "--dev", "--addr", `127.0.0.1:${this.port}`, "--data-dir", this.dataDir];
    if (this.staticDir !== null) args.push("--static-dir", this.staticDir);
    const proc = spawn(SERVER_BIN, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" },
    });
    this.proc = proc;
    let out = "";
    proc.stdout.setEncoding("utf8");
    proc.stderr.setEncoding("utf8");
    proc.stdout.on("data", (d) => {
      out += d;
      this.stdout += d;
      if (this.log) process.stdout.write(`[server] ${d}`);
    });
    proc.stderr.on("data", (d) => {
      this.stderr += d;
      if (this.log) process.stderr.write(`[server] ${d}`);
    });
    const exited = new Promise((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
    this.exited = exited;
    exited.then(() => {
      if (this.proc === proc) this.proc = null;
    });

    // Ready once the banner is printed and the dev session answers.
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (this.proc !== proc) {
        throw new Error(`chat-server exited while starting:\n${this.stderr.slice(-2000)}`);
      }
      if (out.includes("OnyxChat dev mode: server at")) {
        try {
          const res = await fetch(`${this.url}/v1/dev/session`);
          if (res.ok) {
            this.session = await res.json();
            break;
          }
        } catch {
          // not listening yet
        }
      }
      if (Date.now() > deadline) throw new Error(`chat-server did not start in 20 s:\n${this.stderr.slice(-2000)}`);
      await sleep(50);
    }
    const field = (name) => out.match(new RegExp(`${name}:\\s+(\\S+)`))?.[1];
    this.app = { appId: field("app_id"), apiKey: field("api_key"), apiSecret: field("api_secret") };
    if (!this.app.apiKey || !this.app.apiSecret) throw new Error(`no api key in the dev banner:\n${out}`);
  }

  /** Stops the process (SIGTERM, then SIGKILL after 5 s); the data dir stays. */
  async stop() {
    const proc = this.proc;
    if (!proc) return;
    proc.kill("SIGTERM");
    const killer = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await this.exited;
    clearTimeout(killer);
    this.proc = null;
  }

  async restart() {
    await this.stop();
    await this.start();
  }

  /** Stops the server and removes its data dir. */
  async dispose() {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  token(userId) {
    const user = this.session.users.find((u) => u.id === userId);
    if (!user) throw new Error(`no demo user ${userId}`);
    return user.token;
  }

  // ---- REST ---------------------------------------------------------------------------

  /** A REST call as `as` (a user id: their token) or as the server (`as: "server"`). */
  async api(method, path, { body, as = "server", retries = 5 } = {}) {
    const headers = { "content-type": "application/json" };
    if (as === "server") {
      headers.authorization = `Basic ${Buffer.from(`${this.app.apiKey}:${this.app.apiSecret}`).toString("base64")}`;
    } else {
      headers.authorization = `Bearer ${this.token(as)}`;
    }
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${this.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (res.status === 429 && attempt < retries) {
        const wait = Number(res.headers.get("retry-after") ?? "1");
        await sleep(Math.max(1, wait) * 1000);
        continue;
      }
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 500)}`);
      return text ? JSON.parse(text) : null;
    }
  }

  /** Sends a message to `cid` (`type:id`); returns the stored message. */
  async sendMessage(cid, text, { user = "bob", as = user, id = uuidv7() } = {}) {
    const [type, chId] = cid.split(":");
    const body = { id, text };
    if (as === "server") body.user_id = user;
    const res = await this.api("POST", `/v1/channels/${type}/${chId}/messages`, { body, as });
    return res.message;
  }

  /** Creates a team channel as the server (`created_by`), with members. */
  async createChannel(cid, { name, members, createdBy }) {
    const [type, id] = cid.split(":");
    return await this.api("POST", "/v1/channels", {
      body: { type, id, name, members, created_by: createdBy },
    });
  }

  /** Every top-level message of `cid`, oldest first (pages of 200, as the server). */
  async allMessages(cid) {
    const [type, id] = cid.split(":");
    const pages = [];
    let before = null;
    for (;;) {
      const q = new URLSearchParams({ limit: "200" });
      if (before) q.set("before", before);
      const res = await this.api("GET", `/v1/channels/${type}/${id}/messages?${q}`);
      pages.unshift(res.messages);
      if (res.messages.length < 200) break;
      before = res.messages[0].id;
    }
    return pages.flat();
  }
}

/** A UUIDv7 (what the server requires for message ids). */
let lastMs = 0;
let seq = 0;
export function uuidv7() {
  let ms = Date.now();
  if (ms <= lastMs) {
    seq++;
    if (seq > 0xfff) {
      lastMs++;
      seq = 0;
    }
    ms = lastMs;
  } else {
    lastMs = ms;
    seq = 0;
  }
  const b = randomBytes(16);
  b[0] = (ms / 2 ** 40) & 0xff;
  b[1] = (ms / 2 ** 32) & 0xff;
  b[2] = (ms >>> 24) & 0xff;
  b[3] = (ms >>> 16) & 0xff;
  b[4] = (ms >>> 8) & 0xff;
  b[5] = ms & 0xff;
  // version 7 + a 12-bit counter keeps ids made in the same millisecond ordered
  b[6] = 0x70 | ((seq >>> 8) & 0x0f);
  b[7] = seq & 0xff;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool(items, limit, fn) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  });
  await Promise.all(workers);
}
