// Starts the real chat-server in dev mode (temp data dir, free port) for the whole run
// and provides its URL, app id and the demo users' tokens to the tests.
// The binary: $ONYXCHAT_SERVER_BIN, else <repo>/target/debug/chat-server.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    serverUrl: string;
    appId: string;
    tokens: Record<string, string>;
  }
}

const repoRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../../..");

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => ok(port));
    });
  });
}

interface Session {
  app_id: string;
  users: { id: string; name: string; token: string }[];
}

export default async function setup(project: TestProject) {
  const bin = resolve(process.env.ONYXCHAT_SERVER_BIN ?? join(repoRoot, "target/debug/chat-server"));
  if (!existsSync(bin)) {
    throw new Error(`chat-server not found at ${bin}: run \`cargo build -p chat-server\` or set ONYXCHAT_SERVER_BIN`);
  }
  const dataDir = mkdtempSync(join(tmpdir(), "onyxchat-js-test-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(bin, ["serve", "--dev", "--addr", `127.0.0.1:${port}`, "--data-dir", dataDir], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" },
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  let exited: number | null | undefined;
  const exit = new Promise<void>((done) =>
    child.once("exit", (code) => {
      exited = code;
      done();
    }),
  );

  const stop = async () => {
    if (exited === undefined) {
      child.kill("SIGTERM");
      await Promise.race([exit, new Promise((r) => setTimeout(r, 5000))]);
      if (exited === undefined) child.kill("SIGKILL");
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  let session: Session | undefined;
  const deadline = Date.now() + 30_000;
  while (!session) {
    if (exited !== undefined) {
      await stop();
      throw new Error(`chat-server exited (${exited}) before serving:\n${output}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`chat-server did not serve ${url}/v1/dev/session in 30 s:\n${output}`);
    }
    try {
      const res = await fetch(`${url}/v1/dev/session`);
      if (res.ok) session = (await res.json()) as Session;
    } catch {
      // Not listening yet.
    }
    if (!session) await new Promise((r) => setTimeout(r, 100));
  }

  project.provide("serverUrl", url);
  project.provide("appId", session.app_id);
  project.provide("tokens", Object.fromEntries(session.users.map((u) => [u.id, u.token])));
  return stop;
}
