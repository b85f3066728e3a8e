// Starts the engine's dedicated Worker. A Worker built from a URL relative to
// `import.meta.url`, written out in one expression below, is the form bundlers (Vite,
// webpack 5, Parcel, Next.js) recognise to bundle the worker and, through it, the wasm.
// Nothing here runs at import time: importing the package on a server (Node, SSR, React
// Server Components) is safe; only starting a worker needs a browser.
//
// Vite's dev server up to Vite 7 pre-bundles this module into `node_modules/.vite/deps/`,
// where `./worker.js` does not exist; there the worker is started from the package's own
// file (`node_modules/@onyxchat/core/dist/worker.js`, which the dev server serves), so no
// `optimizeDeps.exclude` is needed. If that file is not there either (a package hoisted
// above the app's root), the failure names the fix.

import { ChatError } from "./errors.js";
import type { MessageEndpoint } from "./protocol.js";

const PREBUNDLED = "/.vite/deps/";

/** The package's worker, relative to a Vite pre-bundle in `node_modules/.vite/deps/`. */
const FROM_PREBUNDLE = "../../@onyxchat/core/dist/worker.js";

/**
 * A new module Worker running `worker.js` (this package's engine). Throws a
 * `ChatError` (`invalid_operation`) where there is no `Worker` (a server).
 */
export function spawnWorker(): MessageEndpoint & { terminate(): void } {
  if (typeof Worker === "undefined") {
    throw new ChatError(
      "invalid_operation",
      "ChatClient.connect() runs in a browser only: there is no Worker here (server-side rendering?). " +
        "Connect in the browser, e.g. in a useEffect of a \"use client\" component, " +
        "or pass `worker` (see @onyxchat/core/engine) to run the engine elsewhere.",
    );
  }
  if (import.meta.url.includes(PREBUNDLED)) {
    // A variable, so that bundlers do not try to resolve it at build time.
    const original = FROM_PREBUNDLE;
    return new Worker(new URL(original, import.meta.url), { type: "module", name: "onyxchat" });
  }
  return new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "onyxchat" });
}

/** Why the worker may have failed to load, when the setup suggests a cause; else "". */
export function workerFailureHint(): string {
  return import.meta.url.includes(PREBUNDLED)
    ? " (Vite's dev server pre-bundled @onyxchat/core and its worker could not be found: " +
        "add `optimizeDeps: { exclude: [\"@onyxchat/core\"] }` to vite.config)"
    : "";
}
