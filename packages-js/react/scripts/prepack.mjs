// `npm pack` / `npm publish` run this first (the `prepack` script): it refuses to pack
// without the built output, and copies the repository's LICENSE into the package.
import { copyFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
const repo = join(pkg, "..", "..");

const REQUIRED = ["dist/index.js", "dist/index.d.ts", "dist/theme.css"];
const missing = REQUIRED.filter((file) => !existsSync(join(pkg, file)));
if (missing.length > 0) {
  console.error(
    `@onyxchat/react: refusing to pack, these files are missing (build them: npm run build -w @onyxchat/react):\n` +
      missing.map((f) => `  ${f}`).join("\n"),
  );
  process.exit(1);
}
copyFileSync(join(repo, "LICENSE"), join(pkg, "LICENSE"));
