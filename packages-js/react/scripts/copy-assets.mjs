// Finishes the build after tsc: copies the non-TypeScript assets (the theme) next to the
// compiled output, and starts every compiled module with the "use client" directive, so
// a React Server Component (Next.js App Router) can import the package: the components
// and hooks then run on the client, as they must (they use state, effects and the
// browser-only engine). Source maps are shifted by the added line.
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
mkdirSync(dist, { recursive: true });
copyFileSync(join(root, "src", "theme.css"), join(dist, "theme.css"));

const DIRECTIVE = '"use client";';

/** Every `.js` file under `dir`. */
function modules(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return modules(path);
    return entry.name.endsWith(".js") ? [path] : [];
  });
}

const files = modules(dist);
if (files.length === 0) throw new Error("no compiled modules in dist/: run tsc first");
for (const file of files) {
  const code = readFileSync(file, "utf8");
  if (code.startsWith(DIRECTIVE)) continue;
  writeFileSync(file, `${DIRECTIVE}\n${code}`);
  const map = `${file}.map`;
  if (existsSync(map)) {
    const json = JSON.parse(readFileSync(map, "utf8"));
    json.mappings = `;${json.mappings}`;
    writeFileSync(map, JSON.stringify(json));
  }
}
