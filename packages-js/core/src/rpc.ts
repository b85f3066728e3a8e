// The page's end of the engine protocol: numbered calls with their promises, live query
// deliveries routed to their handlers, and the engine's token requests answered from the
// app's token provider. Every result and delivery passes through `values.ts`, which
// turns the engine's wire shapes into the public camelCase shapes with `Date` times.

import { ChatError, isTokenRefusal } from "./errors.js";
import type { EngineInfo, FromEngine, MessageEndpoint, SubKind, ToEngine } from "./protocol.js";
import { workerFailureHint } from "./spawn.js";
import { fromEngineCall, fromEngineSub } from "./values.js";

/** Where a live query's deliveries go. */
export interface SubHandlers {
  payload(payload: unknown): void;
  error(error: ChatError): void;
}

/** A connection to one engine. */
export class Connection {
  private seq = 0;
  private readonly calls = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  private readonly subs = new Map<number, SubHandlers>();
  private closedError: ChatError | undefined;
  private readonly listener = (e: MessageEvent) => this.onMessage(e.data as FromEngine);
  private readonly errorListener = (e: Event) => {
    const message = (e as ErrorEvent).message || `the OnyxChat worker failed to start or crashed${workerFailureHint()}`;
    this.fail(new ChatError("closed", message));
  };

  private readonly closeListener = () => this.fail(new ChatError("closed", "the engine went away"));

  constructor(
    private readonly endpoint: MessageEndpoint,
    private readonly tokenProvider: () => Promise<string>,
    private readonly onRole: (info: EngineInfo) => void,
  ) {
    endpoint.addEventListener("message", this.listener);
    (endpoint as unknown as EventTarget).addEventListener?.("error", this.errorListener);
    // A MessagePort whose other end closed (the engine went away).
    (endpoint as unknown as EventTarget).addEventListener?.("close", this.closeListener);
    endpoint.start?.();
  }

  /** Whether the connection is closed (every call then rejects with `closed`). */
  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** Calls `method` in the engine. */
  call<T>(method: string, args: unknown[] = []): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: (v) => resolve(fromEngineCall(method, v) as T), reject });
      this.post({ id, method, args } as ToEngine);
    });
  }

  /** Starts a live query; returns its id for {@link Connection.unsubscribe}. */
  subscribe(kind: SubKind, args: unknown[], handlers: SubHandlers): number {
    const sub = ++this.seq;
    if (this.closedError) {
      const error = this.closedError;
      queueMicrotask(() => handlers.error(error));
      return sub;
    }
    this.subs.set(sub, { payload: (p) => handlers.payload(fromEngineSub(kind, p)), error: (e) => handlers.error(e) });
    this.post({ sub, kind, args });
    return sub;
  }

  /** Stops a live query (idempotent). */
  unsubscribe(sub: number): void {
    if (this.subs.delete(sub) && !this.closedError) this.post({ unsub: sub });
  }

  /** Ends the connection: pending calls and later ones reject with `error`. */
  fail(error: ChatError): void {
    if (this.closedError) return;
    this.closedError = error;
    this.endpoint.removeEventListener?.("message", this.listener);
    (this.endpoint as unknown as EventTarget).removeEventListener?.("error", this.errorListener);
    (this.endpoint as unknown as EventTarget).removeEventListener?.("close", this.closeListener);
    for (const c of this.calls.values()) c.reject(error);
    this.calls.clear();
    const subs = [...this.subs.values()];
    this.subs.clear();
    for (const s of subs) s.error(error);
  }

  private post(m: ToEngine) {
    this.endpoint.postMessage(m);
  }

  private onMessage(m: FromEngine) {
    if (!m || typeof m !== "object") return;
    if ("id" in m) {
      const c = this.calls.get(m.id);
      if (!c) return;
      this.calls.delete(m.id);
      if (m.ok) c.resolve(m.value);
      else c.reject(ChatError.fromWire(m.error));
    } else if ("sub" in m) {
      const s = this.subs.get(m.sub);
      if (!s) return;
      if ("error" in m) {
        this.subs.delete(m.sub);
        s.error(ChatError.fromWire(m.error));
      } else s.payload(m.payload);
    } else if ("tokenRequest" in m) {
      this.answerToken(m.tokenRequest);
    } else if ("event" in m && m.event === "role") {
      this.onRole(m.info);
    }
  }

  private answerToken(n: number) {
    Promise.resolve()
      .then(() => this.tokenProvider())
      .then(
        (token) => {
          if (typeof token === "string") this.post({ tokenReply: n, token });
          else this.post({ tokenReply: n, error: "the token provider returned no string" });
        },
        (e: unknown) => {
          const message = e instanceof Error ? e.message : String(e);
          if (this.closedError) return;
          if (isTokenRefusal(e)) this.post({ tokenReply: n, refused: message });
          else this.post({ tokenReply: n, error: message });
        },
      );
  }
}
