// The worker entry: loads the wasm (its `.wasm` file resolves next to `chat_wasm.js`, which
// bundlers such as Vite emit as an asset) and serves the engine on the worker's scope.
// The page starts it as a module Worker (see `spawn.ts`).

import init, * as wasm from "../wasm/chat_wasm.js";
import { serve } from "./engine.js";
import type { MessageEndpoint } from "./protocol.js";

// Listen at once (messages sent while the wasm loads wait for it), then load the wasm.
serve(
  globalThis as unknown as MessageEndpoint & { close(): void },
  init().then(() => wasm),
);
