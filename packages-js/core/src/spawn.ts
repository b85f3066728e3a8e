// Starts the engine's dedicated Worker. A Worker built from a URL relative to
// `import.meta.url`, written out in one expression below, is the form bundlers (Vite,
// webpack 5, Parcel) recognise to bundle the worker and, through it, the wasm.

import type { MessageEndpoint } from "./protocol.js";

/** A new module Worker running `worker.js` (this package's engine). */
export function spawnWorker(): MessageEndpoint & { terminate(): void } {
  return new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "onyxchat" });
}
