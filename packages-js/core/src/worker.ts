// The worker entry: loads the wasm (its `.wasm` file resolves next to `chat_wasm.js`, which
// bundlers such as Vite emit as an asset) and serves the engine on the worker's scope.
// The page starts it as a module Worker (see `spawn.ts`).
//
// The wasm is fetched, compiled while it streams in (`WebAssembly.compileStreaming`: the
// browser may also reuse the compiled code it cached for the same response) and then
// instantiated, each phase marked (`marks.ts`).

import init, * as wasm from "../wasm/chat_wasm.js";
import { serve } from "./engine.js";
import { mark } from "./marks.js";
import type { MessageEndpoint } from "./protocol.js";

mark("worker-start");

/** Fetches and compiles the wasm, streaming where the server sends `application/wasm`. */
async function compile(): Promise<WebAssembly.Module> {
  const response = await fetch(new URL("../wasm/chat_wasm_bg.wasm", import.meta.url));
  mark("wasm-response");
  if (!response.ok) {
    throw new Error(`failed to fetch the OnyxChat wasm: ${response.status} ${response.statusText} (${response.url})`);
  }
  const streaming =
    typeof WebAssembly.compileStreaming === "function" &&
    (response.headers.get("content-type") ?? "").split(";")[0]!.trim() === "application/wasm";
  const module = streaming
    ? await WebAssembly.compileStreaming(response)
    : await WebAssembly.compile(await response.arrayBuffer());
  mark("wasm-compiled");
  return module;
}

async function load() {
  await init({ module_or_path: await compile() });
  mark("wasm-ready");
  return wasm;
}

// Listen at once (messages sent while the wasm loads wait for it), then load the wasm.
serve(globalThis as unknown as MessageEndpoint & { close(): void }, load());
