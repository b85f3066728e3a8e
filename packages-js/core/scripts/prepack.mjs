// `npm pack` / `npm publish` run this first (the `prepack` script): it refuses to pack a
// package that would not work — the wasm engine and the worker are built files, not
// committed, and a package without them installs fine but fails in the browser — and
// copies the repository's LICENSE into the package.
import { copyFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
const repo = join(pkg, "..", "..");

/** Each file the package needs, and the command that builds it. */
const REQUIRED = [
  ["wasm/chat_wasm_bg.wasm", "cargo xtask wasm"],
  ["wasm/chat_wasm.js", "cargo xtask wasm"],
  ["dist/index.js", "npm run build -w @onyxchat/core"],
  ["dist/index.d.ts", "npm run build -w @onyxchat/core"],
  ["dist/worker.js", "npm run build -w @onyxchat/core"],
];

const missing = REQUIRED.filter(([file]) => !existsSync(join(pkg, file)));
if (missing.length > 0) {
  const lines = missing.map(([file, fix]) => `  ${file}  (build it: ${fix})`);
  console.error(`@onyxchat/core: refusing to pack, these files are missing:\n${lines.join("\n")}`);
  process.exit(1);
}
copyFileSync(join(repo, "LICENSE"), join(pkg, "LICENSE"));
