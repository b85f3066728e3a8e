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
import { mark } from "./marks.js";
import type { MessageEndpoint } from "./protocol.js";

const PREBUNDLED = "/.vite/deps/";


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
  mark("worker-spawn");
  const here = import.meta.url;
  if (here.includes(PREBUNDLED)) {
    // `node_modules/.vite/deps/x.js` -> `node_modules/@onyxchat/core/dist/worker.js`. A string
    // computed at run time: bundlers (which never take this branch) must not resolve it.
    const original = here.replace(/\/\.vite\/deps\/.*$/, "/@onyxchat/core/dist/worker.js");
    return new Worker(original, { type: "module", name: "onyxchat" });
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
