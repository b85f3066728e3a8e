// Server-side use (Node, Next.js SSR and Server Components): importing the built package
// touches no browser global, and `connect()` without a worker rejects with a typed error
// that says why instead of a `ReferenceError`.

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ChatClient, ChatError } from "../src/index.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));

// Run in a fresh Node process: every browser global a module could touch at import time
// throws when read, then the package is imported by its name (its `exports`), as a server
// bundle or Node would.
const importScript = `
const touched = [];
for (const name of ["Worker", "window", "document", "navigator", "self", "location", "localStorage"]) {
  Object.defineProperty(globalThis, name, {
    configurable: true,
    get() { touched.push(name); throw new Error("touched " + name + " at import time"); },
  });
}
const core = await import("@onyxchat/core");
const engine = await import("@onyxchat/core/engine");
console.log(JSON.stringify({
  touched,
  exports: Object.keys(core).sort(),
  engine: typeof engine.createInProcessEndpoint,
}));
`;

function runNode(script: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ["--input-type=module", "-e", script], { cwd: packageDir }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

describe("on a server", () => {
  it("imports the built package without touching Worker, window, navigator or document", async () => {
    expect(existsSync(`${packageDir}/dist/index.js`), "build the package first (npm run build)").toBe(true);
    const out = JSON.parse(await runNode(importScript)) as { touched: string[]; exports: string[]; engine: string };
    expect(out.touched).toEqual([]);
    expect(out.exports).toEqual(expect.arrayContaining(["ChatClient", "ChatError", "TokenRefusedError"]));
    expect(out.engine).toBe("function");
  });

  it("rejects connect() with a ChatError saying it runs in a browser only", async () => {
    expect(typeof (globalThis as { Worker?: unknown }).Worker).toBe("undefined");
    let asked = false;
    const attempt = ChatClient.connect({
      serverUrl: "http://127.0.0.1:9",
      appId: "app",
      userId: "alice",
      tokenProvider: async () => {
        asked = true;
        return "token";
      },
    });
    const error = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ChatError);
    expect((error as ChatError).kind).toBe("invalid_operation");
    expect((error as ChatError).message).toMatch(/runs in a browser only/);
    expect(asked).toBe(false);
  });
});
