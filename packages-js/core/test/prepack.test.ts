// `npm pack` runs scripts/prepack.mjs first: it must refuse a package without its built
// wasm or worker (naming what is missing and how to build it), and copy the LICENSE in
// when everything is there. Run on a copy laid out like the repository.

import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const script = fileURLToPath(new URL("../scripts/prepack.mjs", import.meta.url));
const BUILT = ["wasm/chat_wasm_bg.wasm", "wasm/chat_wasm.js", "dist/index.js", "dist/index.d.ts", "dist/worker.js"];

let root: string | undefined;
afterEach(() => root && rmSync(root, { recursive: true, force: true }));

/** A repository copy with the LICENSE and the package holding `files`. */
function layout(files: string[]): string {
  root = mkdtempSync(join(tmpdir(), "onyxchat-prepack-"));
  writeFileSync(join(root, "LICENSE"), "Apache License 2.0\n");
  const pkg = join(root, "packages-js", "core");
  mkdirSync(join(pkg, "scripts"), { recursive: true });
  copyFileSync(script, join(pkg, "scripts", "prepack.mjs"));
  for (const f of files) {
    mkdirSync(dirname(join(pkg, f)), { recursive: true });
    writeFileSync(join(pkg, f), "built");
  }
  return pkg;
}

function prepack(pkg: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, ["scripts/prepack.mjs"], { cwd: pkg }, (err, _out, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stderr }),
    ),
  );
}

describe("prepack", () => {
  it("refuses without the wasm and the worker, naming them", async () => {
    const pkg = layout(BUILT.filter((f) => f !== "wasm/chat_wasm_bg.wasm" && f !== "dist/worker.js"));
    const { code, stderr } = await prepack(pkg);
    expect(code).not.toBe(0);
    expect(stderr).toContain("refusing to pack");
    expect(stderr).toContain("wasm/chat_wasm_bg.wasm  (build it: cargo xtask wasm)");
    expect(stderr).toContain("dist/worker.js");
    expect(existsSync(join(pkg, "LICENSE"))).toBe(false);
  });

  it("copies the LICENSE in when everything is built", async () => {
    const pkg = layout(BUILT);
    const { code } = await prepack(pkg);
    expect(code).toBe(0);
    expect(existsSync(join(pkg, "LICENSE"))).toBe(true);
  });
});
