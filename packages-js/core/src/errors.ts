// Errors: `ChatError` (every failure of an OnyxChat call, with a machine-readable kind),
// `TokenRefusedError` (what a token provider throws for "signed out"), and their plain
// wire shape between the worker and the page.

/**
 * What went wrong: the wire names of chat-core's `ErrorKind`, the same kinds as the native
 * SDKs' `ChatError`. A chat-core test checks that this union and `KINDS` below list exactly
 * those names, in order.
 */
export type ChatErrorKind =
  /** Bad arguments (a malformed cid or id, an empty text…). */
  | "invalid_input"
  /** Not possible in the current state (e.g. retrying an operation that is not failed). */
  | "invalid_operation"
  /** The message is not in the local cache. */
  | "message_not_found"
  /** No queued operation has this id. */
  | "unknown_operation"
  /** The server could not be reached, or the tab owning the database went away mid-call. */
  | "network"
  /** The server refused the request (`status`, `code`). */
  | "server"
  /** The token provider failed (try again later). */
  | "token_unavailable"
  /** The token provider refused: the user is signed out. */
  | "token_refused"
  /** The local database failed. */
  | "cache"
  /** The client was closed. */
  | "closed";

/**
 * The server's machine-readable error codes (docs/protocol.md, "Errors"), as in
 * chat-protocol's `ErrorCode`. A newer server may send codes this list does not name yet,
 * so the type stays open: classify unknown codes by `status`.
 */
export type ServerErrorCode =
  | "invalid_json"
  | "validation_failed"
  | "invalid_cursor"
  | "unauthorized"
  | "token_expired"
  | "forbidden"
  | "not_a_member"
  | "not_found"
  | "method_not_allowed"
  | "conflict"
  | "cursor_expired"
  | "payload_too_large"
  | "unsupported_media_type"
  | "uri_too_long"
  | "rate_limited"
  | "headers_too_large"
  | "internal"
  | "overloaded"
  | (string & {});

/** A `ChatError` as it crosses `postMessage` (Errors lose their extra fields there). */
export interface WireError {
  kind: ChatErrorKind;
  message: string;
  status?: number;
  code?: ServerErrorCode | null;
  id?: string;
}

const KINDS: ReadonlySet<string> = new Set<ChatErrorKind>([
  "invalid_input",
  "invalid_operation",
  "message_not_found",
  "unknown_operation",
  "network",
  "server",
  "token_unavailable",
  "token_refused",
  "cache",
  "closed",
]);

/**
 * Every rejection of an OnyxChat call. Switch on {@link ChatError.kind}; `status` and
 * `code` are set for `server`, `id` for `message_not_found` and `unknown_operation`.
 */
export class ChatError extends Error {
  /** What went wrong. */
  readonly kind: ChatErrorKind;
  /** The HTTP status, for `server`. */
  readonly status?: number;
  /** The server's error code (e.g. `"not_a_member"`), for `server`, when it sent one. */
  readonly code?: ServerErrorCode | null;
  /** The message or operation id, for `message_not_found` and `unknown_operation`. */
  readonly id?: string;

  constructor(kind: ChatErrorKind, message: string, extra: Omit<WireError, "kind" | "message"> = {}) {
    super(message);
    this.name = "ChatError";
    this.kind = kind;
    if (extra.status !== undefined) this.status = extra.status;
    if (extra.code !== undefined) this.code = extra.code;
    if (extra.id !== undefined) this.id = extra.id;
  }

  /** Rebuilds the error the worker sent. */
  static fromWire(wire: WireError): ChatError {
    const { kind, message, ...extra } = wire;
    return new ChatError(kind, message, extra);
  }
}

/**
 * Throw (or reject with) this from a token provider when the user is signed out: the client
 * stops asking (`status().auth_stopped` becomes true) until `refreshToken()`. Any other
 * error means "no token right now, try again later".
 */
export class TokenRefusedError extends Error {
  constructor(message = "the user is signed out") {
    super(message);
    this.name = "TokenRefusedError";
  }
}

/** Whether `e` means "signed out" (a `TokenRefusedError`, or any error with that name). */
export function isTokenRefusal(e: unknown): boolean {
  return e instanceof TokenRefusedError || (e instanceof Error && e.name === "TokenRefusedError");
}

/** The wire shape of anything thrown: chat-wasm's errors keep their kind and fields. */
export function toWire(e: unknown): WireError {
  if (e && typeof e === "object") {
    const o = e as Record<string, unknown>;
    const message = typeof o.message === "string" ? o.message : String(e);
    if (typeof o.kind === "string" && KINDS.has(o.kind)) {
      const wire: WireError = { kind: o.kind as ChatErrorKind, message };
      if (typeof o.status === "number") wire.status = o.status;
      if (typeof o.code === "string" || o.code === null) wire.code = o.code as string | null;
      if (typeof o.id === "string") wire.id = o.id;
      return wire;
    }
    return { kind: "invalid_operation", message: `internal error: ${message}` };
  }
  return { kind: "invalid_operation", message: `internal error: ${String(e)}` };
}
