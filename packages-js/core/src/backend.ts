// What the engine runs calls and live queries on: the `Backend` interface, and
// `LocalBackend`, the Rust client (chat-wasm's `WasmClient`) running in this worker.
// (`tabs.ts` provides the other kind: forwarding to the tab that owns the database.)

import type * as Wasm from "../wasm/chat_wasm.js";
import { ChatError } from "./errors.js";
import { CLIENT_METHODS, type ClientMethod, type EngineInfo, type SubKind, type WindowMethod } from "./protocol.js";
import type { OpenOptions } from "./types.js";

/** The parts of the generated wasm module the engine uses (after its init has run). */
export type WasmModule = Pick<typeof Wasm, "WasmClient">;

/** A running live query. */
export interface Watch {
  /** Stops delivering (idempotent). */
  cancel(): void;
  /** A paging call on a `messages` query (or `window.loadMore` on a `starred` one). */
  window(method: WindowMethod, args: unknown[]): Promise<unknown>;
}

/** Runs calls and live queries. */
export interface Backend {
  /** The database's storage and the user, as of now. */
  readonly info: EngineInfo;
  /** Runs one of the client's calls. */
  call(method: ClientMethod, args: unknown[]): Promise<unknown>;
  /** Starts a live query; `deliver` gets each batch (the first is a reset or the current value). */
  watch(kind: SubKind, args: unknown[], deliver: (payload: unknown) => void): Promise<Watch>;
  /** Stops everything. */
  close(): Promise<void>;
}

type Cancellable = { cancel(): void; free(): void };

const CALLS: ReadonlySet<string> = new Set(CLIENT_METHODS);

/** The Rust client in this worker: owns the database. */
export class LocalBackend implements Backend {
  private closed = false;

  private constructor(private readonly client: Wasm.WasmClient) {}

  /** Opens the database and starts the client; `fetchToken` follows chat-wasm's contract. */
  static async open(
    wasm: WasmModule,
    options: OpenOptions,
    fetchToken: () => Promise<string>,
  ): Promise<LocalBackend> {
    const client = await wasm.WasmClient.open(options, fetchToken);
    return new LocalBackend(client);
  }

  get info(): EngineInfo {
    return {
      storage: this.client.storage === "opfs" ? "opfs" : "memory",
      storageNote: this.client.storageNote,
      userId: this.client.userId,
      isLeader: true,
    };
  }

  async call(method: ClientMethod, args: unknown[]): Promise<unknown> {
    if (this.closed) throw new ChatError("closed", "the client is shut down");
    // Only the client's calls (not `free`, `shutdown`…), whoever asks (this page or another tab).
    if (!CALLS.has(method)) throw new ChatError("invalid_input", `unknown method ${String(method)}`);
    if (method === "connectionState") return this.client.connectionState();
    const fn = (this.client as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!;
    return await fn.apply(this.client, args);
  }

  async watch(kind: SubKind, args: unknown[], deliver: (payload: unknown) => void): Promise<Watch> {
    if (this.closed) throw new ChatError("closed", "the client is shut down");
    let stopped = false;
    // A batch already on its way when the query is cancelled is dropped here.
    const cb = (payload: unknown) => {
      if (!stopped) deliver(payload);
    };
    const c = this.client;
    let handle: Cancellable;
    let window: Wasm.WasmWindow | undefined;
    let starred: Wasm.WasmStarred | undefined;
    switch (kind) {
      case "messages":
        window = await c.watchMessages(str(args[0]), num(args[1]), cb);
        handle = window;
        break;
      case "thread":
        handle = await c.watchThread(str(args[0]), cb);
        break;
      case "channels":
        handle = await c.watchChannels(num(args[0]), cb);
        break;
      case "channelList":
        handle = await c.watchChannelList(args[0] ?? {}, cb);
        break;
      case "totalUnread":
        handle = await c.watchTotalUnread(cb);
        break;
      case "readReceipts":
        handle = await c.watchReadReceipts(str(args[0]), cb);
        break;
      case "members":
        handle = await c.watchMembers(str(args[0]), cb);
        break;
      case "typing":
        handle = c.watchTyping(str(args[0]), cb);
        break;
      case "presence":
        handle = c.watchPresence(cb);
        break;
      case "connection":
        handle = c.watchConnection(cb);
        break;
      case "outbox":
        handle = await c.watchOutbox(cb);
        break;
      case "starred":
        starred = await c.watchStarred(num(args[0]), cb);
        handle = starred;
        break;
      default:
        throw new ChatError("invalid_input", `unknown live query ${String(kind)}`);
    }
    return {
      cancel() {
        if (stopped) return;
        stopped = true;
        handle.cancel();
        handle.free();
      },
      async window(method, wargs) {
        if (method === "window.loadMore") {
          if (!starred) throw new ChatError("invalid_operation", `${method} needs the starred list`);
          if (stopped) throw new ChatError("invalid_operation", "the starred list has stopped");
          return await starred.loadMore();
        }
        if (!window) throw new ChatError("invalid_operation", `${method} needs a message list`);
        if (stopped) throw new ChatError("invalid_operation", "the message list has stopped");
        switch (method) {
          case "window.loadOlder":
            return await window.loadOlder();
          case "window.loadNewer":
            return await window.loadNewer();
          case "window.jumpTo":
            return await window.jumpTo(str(wargs[0]));
        }
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.shutdown();
    this.client.free();
  }
}

function str(v: unknown): string {
  if (typeof v !== "string") throw new ChatError("invalid_input", `expected a string, got ${typeof v}`);
  return v;
}

function num(v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new ChatError("invalid_input", `expected a positive integer, got ${String(v)}`);
  }
  return v;
}
