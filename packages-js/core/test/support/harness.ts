// Test helpers: the real wasm (loaded with initSync), clients connected through the
// in-process engine, store waiting, and cleanup after each test.

import { readFileSync } from "node:fs";
import { afterEach, inject } from "vitest";
import { initSync, WasmClient } from "../../wasm/chat_wasm.js";
import { ChatClient, type ConnectOptions, type LiveStore } from "../../src/index.js";
import { createInProcessEndpoint, type Engine, type ServeOptions } from "../../src/engine.js";

initSync({ module: readFileSync(new URL("../../wasm/chat_wasm_bg.wasm", import.meta.url)) });

/** The initialised wasm module, as the engine takes it. */
export const wasm = { WasmClient };

const open: { client: ChatClient; engine: Engine }[] = [];

afterEach(async () => {
  const all = open.splice(0);
  await Promise.all(all.map(({ client }) => client.close()));
  await Promise.all(all.map(({ engine }) => engine.close()));
});

/** A client for a demo user, its engine in-process; closed after the test. */
export async function connect(
  userId: string,
  options: Partial<ConnectOptions> = {},
  serveOptions: ServeOptions = { tabs: false },
): Promise<{ client: ChatClient; engine: Engine; posted: unknown[] }> {
  const tokens = inject("tokens");
  const { endpoint, engine } = createInProcessEndpoint(wasm, serveOptions);
  // Every message the page sends the engine (calls, live queries), for tests that count them.
  const posted: unknown[] = [];
  const post = endpoint.postMessage.bind(endpoint) as (...args: unknown[]) => void;
  endpoint.postMessage = ((...args: unknown[]) => {
    posted.push(args[0]);
    post(...args);
  }) as MessagePort["postMessage"];
  const client = await ChatClient.connect({
    serverUrl: inject("serverUrl"),
    appId: inject("appId"),
    userId,
    tokenProvider: async () => tokens[userId]!,
    worker: endpoint,
    ...options,
  });
  open.push({ client, engine });
  return { client, engine, posted };
}

/** A unique suffix for channel ids. */
export function unique(prefix = "t"): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Subscribes to `store` and resolves with the first snapshot (current or later) that
 * satisfies `predicate`; the subscription ends then.
 */
export function until<T>(store: LiveStore<T>, predicate: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let done = false;
    let unsubscribe: (() => void) | undefined;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      queueMicrotask(() => unsubscribe?.());
      fn();
    };
    const check = () => {
      const value = store.getSnapshot();
      if (store.ready && predicate(value)) finish(() => resolve(value));
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(`timed out; last snapshot: ${JSON.stringify(store.getSnapshot()).slice(0, 2000)}`))),
      timeoutMs,
    );
    unsubscribe = store.subscribe(check);
    check();
  });
}

/** Polls `fn` until it returns a truthy value. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Records every snapshot of `store` until the returned stop function is called. */
export function record<T>(store: LiveStore<T>): { snapshots: T[]; stop(): void } {
  const snapshots: T[] = [];
  const stop = store.subscribe(() => snapshots.push(store.getSnapshot()));
  return { snapshots, stop };
}
