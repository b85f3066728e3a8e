// Starts the engine's dedicated Worker. A Worker built from a URL relative to
// `import.meta.url`, written out in one expression below, is the form bundlers (Vite,
// webpack 5, Parcel) recognise to bundle the worker and, through it, the wasm.
// Nothing here runs at import time: importing the package on a server (Node, SSR, React
// Server Components) is safe; only starting a worker needs a browser.

import { ChatError } from "./errors.js";
import type { MessageEndpoint } from "./protocol.js";

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
  return new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "onyxchat" });
}
