// The engine: runs in the worker (or, for tests, in-process on a MessagePort) and serves
// the page's protocol (`protocol.ts`) on a backend: the Rust client in this worker, or,
// with several tabs open, the tab that owns the database (`tabs.ts`). It keeps the page's
// live queries keyed by the page's ids and restarts them (each with a reset) whenever the
// database owner changes. Calls and live queries sent while the engine opens wait for it
// and run as soon as it is open (so a page can send its first requests together with
// `open`, without waiting for its answer).

import { LocalBackend, type Backend, type WasmModule, type Watch } from "./backend.js";
import { ChatError, toWire } from "./errors.js";
import { mark, markOnce } from "./marks.js";
import {
  CLIENT_METHODS,
  WINDOW_METHODS,
  type ClientMethod,
  type FromEngine,
  type MessageEndpoint,
  type SubKind,
  type ToEngine,
  type WindowMethod,
} from "./protocol.js";
import { Tabs, detectTabsEnvironment, type TabsEnvironment } from "./tabs.js";
import type { OpenOptions } from "./types.js";

export type { WasmModule } from "./backend.js";
export type { TabsEnvironment, LockManagerLike, BroadcastChannelLike } from "./tabs.js";

/** How {@link serve} runs. */
export interface ServeOptions {
  /**
   * Multi-tab coordination. `"auto"` (default): on when `navigator.locks` and
   * `BroadcastChannel` exist (browsers), off otherwise (Node); `false`: this worker is the
   * only one; or an explicit environment (tests).
   */
  tabs?: "auto" | false | TabsEnvironment;
}

/** A running engine (what {@link serve} returns). */
export interface Engine {
  /** The page's live queries currently held. */
  readonly subscriptionCount: number;
  /** Whether this engine owns the database (false before open, and for followers). */
  readonly isLeader: boolean;
  /** The live queries this engine runs for other tabs (as the leader). */
  readonly forwardedCount: number;
  /** Shuts the engine down as the page's `close()` does. */
  close(): Promise<void>;
  /**
   * Ends the engine the way a closed tab ends its worker: nothing more is sent and
   * locks are released (for tests of the hand-over between tabs).
   */
  terminate(): Promise<void>;
}

const CALLS: ReadonlySet<string> = new Set(CLIENT_METHODS);
const WINDOW_CALLS: ReadonlySet<string> = new Set(WINDOW_METHODS);

interface Sub {
  kind: SubKind;
  args: unknown[];
  /** Bumped on every (re)start: deliveries and results of older starts are dropped. */
  epoch: number;
  /** The running query, once started. */
  started?: Promise<Watch>;
  watch?: Watch;
}

/**
 * Serves the page's protocol on `port` (a worker's `self`, or a `MessagePort`), running the
 * client on `wasm` (the generated module, initialised; or a promise of it, so no message
 * is lost while the wasm loads).
 */
export function serve(
  port: MessageEndpoint & { close?(): void },
  wasm: WasmModule | Promise<WasmModule>,
  options: ServeOptions = {},
): Engine {
  let backend: Backend | undefined;
  let opening = false;
  /** Settles when the `open` in progress has (calls sent meanwhile wait for it). */
  let opened: Promise<void> = Promise.resolve();
  let closed = false;
  let detached = false;
  let tokenSeq = 0;
  const tokenRequests = new Map<number, { resolve(t: string): void; reject(e: Error): void }>();
  const subs = new Map<number, Sub>();

  const post = (m: FromEngine) => {
    if (!detached) port.postMessage(m);
  };

  const fetchToken = () =>
    new Promise<string>((resolve, reject) => {
      if (closed) return reject(new Error("the client is closed"));
      const n = ++tokenSeq;
      tokenRequests.set(n, { resolve, reject });
      post({ tokenRequest: n });
    });

  function startSub(id: number, sub: Sub) {
    const epoch = ++sub.epoch;
    const current = () => !closed && subs.get(id) === sub && sub.epoch === epoch;
    const b = backend;
    if (!b) return;
    sub.started = b.watch(sub.kind, sub.args, (payload) => {
      if (!current()) return;
      if (sub.kind === "messages") markOnce("first-query");
      post({ sub: id, payload });
    });
    sub.started.then(
      (watch) => {
        if (current()) sub.watch = watch;
        else watch.cancel();
      },
      (e) => {
        if (!current()) return;
        subs.delete(id);
        post({ sub: id, error: toWire(e) });
      },
    );
  }

  function stopSub(sub: Sub) {
    sub.epoch++;
    sub.watch?.cancel();
    sub.watch = undefined;
    sub.started = undefined;
  }

  /** The database owner changed: stop every live query, and restart them on the new one. */
  function onTabsChange(change: "lost" | "ready") {
    if (closed) return;
    for (const [id, sub] of subs) {
      stopSub(sub);
      if (change === "ready") startSub(id, sub);
    }
    if (change === "ready" && backend) post({ event: "role", info: backend.info });
  }

  async function open(opts: OpenOptions): Promise<unknown> {
    if (opening || backend) throw new ChatError("invalid_operation", "the engine is already open");
    opening = true;
    let settle!: () => void;
    opened = new Promise((resolve) => (settle = resolve));
    mark("open-start");
    try {
      const module = await wasm;
      const env = options.tabs === undefined || options.tabs === "auto" ? detectTabsEnvironment() : options.tabs;
      backend = env
        ? await Tabs.start(module, opts, fetchToken, env, onTabsChange)
        : await LocalBackend.open(module, opts, fetchToken);
    } catch (e) {
      // The live queries that waited for the database will not get one.
      for (const id of subs.keys()) post({ sub: id, error: toWire(new ChatError("closed", "the client is closed")) });
      subs.clear();
      throw e;
    } finally {
      opening = false;
      settle();
    }
    if (closed) {
      await backend.close();
      throw new ChatError("closed", "the client is closed");
    }
    mark("engine-open");
    for (const [id, sub] of subs) if (sub.started === undefined) startSub(id, sub);
    return backend.info;
  }

  async function windowCall(method: WindowMethod, args: unknown[]): Promise<unknown> {
    const sub = subs.get(args[0] as number);
    if (!sub) throw new ChatError("invalid_operation", "the message list is not subscribed");
    if (!sub.started) {
      throw new ChatError("network", "the tab that owns the database changed; try again");
    }
    const watch = await sub.started;
    return await watch.window(method, args.slice(1));
  }

  async function call(method: string, args: unknown[]): Promise<unknown> {
    if (method === "open") return await open(args[0] as OpenOptions);
    if (method === "close") return await shutdown();
    if (closed) throw new ChatError("closed", "the client is closed");
    if (!backend && opening) await opened;
    if (closed) throw new ChatError("closed", "the client is closed");
    if (!backend) throw new ChatError("invalid_operation", "the engine is not open yet");
    if (WINDOW_CALLS.has(method)) return await windowCall(method as WindowMethod, args);
    if (CALLS.has(method)) return await backend.call(method as ClientMethod, args);
    throw new ChatError("invalid_input", `unknown method ${method}`);
  }

  async function shutdown(abrupt = false): Promise<void> {
    if (closed) return;
    for (const sub of subs.values()) stopSub(sub);
    subs.clear();
    const b = backend;
    if (abrupt) {
      closed = true;
      detached = true;
    }
    if (b instanceof Tabs) await b.close(abrupt);
    else await b?.close();
    closed = true;
    for (const r of tokenRequests.values()) r.reject(new Error("the client is closed"));
    tokenRequests.clear();
  }

  function onMessage(event: MessageEvent) {
    const m = event.data as ToEngine;
    if (!m || typeof m !== "object") return;
    if ("tokenReply" in m) {
      const r = tokenRequests.get(m.tokenReply);
      if (!r) return;
      tokenRequests.delete(m.tokenReply);
      if (typeof m.token === "string") r.resolve(m.token);
      else if (m.refused !== undefined) {
        const e = new Error(m.refused);
        e.name = "TokenRefusedError";
        r.reject(e);
      } else r.reject(new Error(m.error ?? "the token provider failed"));
    } else if ("unsub" in m) {
      const sub = subs.get(m.unsub);
      if (sub) {
        stopSub(sub);
        subs.delete(m.unsub);
      }
    } else if ("sub" in m) {
      if (closed || (!backend && !opening)) {
        post({ sub: m.sub, error: toWire(new ChatError("closed", "the client is closed")) });
        return;
      }
      const sub: Sub = { kind: m.kind, args: m.args, epoch: 0 };
      subs.set(m.sub, sub);
      // While opening, `open` starts it once the database is there.
      if (backend) startSub(m.sub, sub);
    } else if ("id" in m) {
      const { id, method } = m;
      call(method, m.args).then(
        (value) => {
          post({ id, ok: true, value });
          if (method === "close") detach();
        },
        (e) => post({ id, ok: false, error: toWire(e) }),
      );
    }
  }

  let portClosed = false;
  function detach() {
    detached = true;
    if (portClosed) return;
    portClosed = true;
    port.removeEventListener?.("message", onMessage);
    // A MessagePort (tests) or a worker's scope (ends the worker) closes once answered.
    setTimeout(() => port.close?.(), 0);
  }

  port.addEventListener("message", onMessage);
  port.start?.();

  return {
    get subscriptionCount() {
      return subs.size;
    },
    get isLeader() {
      return !closed && backend !== undefined && backend.info.isLeader;
    },
    get forwardedCount() {
      return backend instanceof Tabs ? backend.hostedCount : 0;
    },
    close: () => shutdown(),
    async terminate() {
      await shutdown(true);
      detach();
    },
  };
}

/**
 * An engine running in this thread on the wasm module, and the endpoint to pass as
 * `ChatClient.connect({ worker })` — for Node (tests, scripts), where there is no Worker.
 */
export function createInProcessEndpoint(
  wasm: WasmModule | Promise<WasmModule>,
  options: ServeOptions = { tabs: false },
): { endpoint: MessagePort; engine: Engine } {
  const { port1, port2 } = new MessageChannel();
  const engine = serve(port2, wasm, options);
  return { endpoint: port1, engine };
}
