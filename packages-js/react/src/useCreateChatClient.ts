/**
 * `useCreateChatClient`: one `ChatClient` per signed-in user, owned by a component.
 *
 * Rules:
 * - The client is created in an effect, never during render: the hook returns `null` on
 *   the server and on the first render, then the client once it has connected.
 * - One connect per identity (`serverUrl`, `appId`, `userId`, `storage`). React
 *   StrictMode's simulated unmount/remount reuses the client being created instead of
 *   opening the engine (its worker and database) a second time: a cleanup only schedules
 *   the close, and a re-run for the same identity cancels it.
 * - When the identity changes, the old client is closed and a new one connects once the
 *   old one has shut down (so the two never hold the same database). On unmount the
 *   client is closed; a connect still in flight is closed as soon as it resolves.
 * - `tokenProvider` and `onError` may change on every render: the latest ones are used,
 *   and changing them does not reconnect.
 */
import { ChatClient, type ConnectOptions } from "@onyxchat/core";
import { useEffect, useRef, useState } from "react";

/** What the hook needs of a client it creates: a way to close it. */
export interface ClosableClient {
  close(): Promise<void>;
}

/** Options of {@link useCreateChatClient}: `ChatClient.connect`'s options and two more. */
export interface UseCreateChatClientOptions<C extends ClosableClient = ChatClient> extends ConnectOptions {
  /**
   * Returns a fresh token for `userId` (as for `ChatClient.connect`; throw `@onyxchat/core`'s
   * `TokenRefusedError` when the user is signed out). It may be a new function on every
   * render: the latest one is called, and changing it never reconnects.
   */
  tokenProvider: ConnectOptions["tokenProvider"];
  /**
   * Called when connecting fails (the hook then keeps returning `null`). Default:
   * `console.error`. Keep the error in state to show it (see the README).
   */
  onError?: (error: unknown) => void;
  /**
   * Creates the client (default: `ChatClient.connect`). Tests and storybooks pass a fake;
   * apps may wrap the real one (e.g. to log).
   */
  connect?: (options: ConnectOptions) => Promise<C>;
}

/** A connect of this hook instance: its identity, its client (to be), and its close. */
interface Slot<C extends ClosableClient> {
  key: string;
  client: Promise<C>;
  /** The scheduled close (a cleanup ran; a re-run for the same key cancels it). */
  pendingClose: ReturnType<typeof setTimeout> | undefined;
  /** Set once the close started: resolves when the client has shut down. */
  closed: Promise<void> | undefined;
}

const defaultOnError = (error: unknown) => {
  console.error("OnyxChat: connecting the chat client failed", error);
};

const defaultConnect = (options: ConnectOptions) => ChatClient.connect(options);

/** Closes a slot's client now (once), whether it has connected yet or not. */
function closeSlot<C extends ClosableClient>(slot: Slot<C>): Promise<void> {
  if (slot.pendingClose !== undefined) clearTimeout(slot.pendingClose);
  slot.pendingClose = undefined;
  slot.closed ??= slot.client.then(
    (client) => client.close().catch(() => {}),
    () => {}, // It never connected: nothing to close.
  );
  return slot.closed;
}

/**
 * Creates, connects and owns a chat client for the given user: `null` until it has
 * connected (and always on the server), then the client, for `<ChatProvider client>`.
 * A new user (or app, server, storage) closes the old client and connects a new one;
 * unmounting closes it. Safe under React StrictMode (one connect, no leaked worker).
 *
 * ```tsx
 * const client = useCreateChatClient({ serverUrl, appId, userId, tokenProvider });
 * if (!client) return <LoadingIndicator />;
 * return <ChatProvider client={client}>…</ChatProvider>;
 * ```
 */
export function useCreateChatClient<C extends ClosableClient = ChatClient>(
  options: UseCreateChatClientOptions<C>,
): C | null {
  const { serverUrl, appId, userId, storage, worker, storeGraceMs, preloadMessages, snapshots } = options;
  const key = JSON.stringify([serverUrl, appId, userId, storage ?? "auto"]);

  // The latest callbacks, read when they are called (changing them does not reconnect).
  const latest = useRef(options);
  useEffect(() => {
    latest.current = options;
  });

  const slotRef = useRef<Slot<C> | null>(null);
  /** The last slot's close, awaited before a new connect (one database, one owner). */
  const previousClose = useRef<Promise<void>>(Promise.resolve());
  const [connected, setConnected] = useState<{ key: string; client: C } | null>(null);

  useEffect(() => {
    let slot = slotRef.current;
    if (slot && slot.key === key && slot.closed === undefined) {
      // StrictMode's remount (or a re-run with the same identity): keep the client.
      if (slot.pendingClose !== undefined) clearTimeout(slot.pendingClose);
      slot.pendingClose = undefined;
    } else {
      if (slot) previousClose.current = closeSlot(slot);
      const connect = (latest.current.connect ?? defaultConnect) as (o: ConnectOptions) => Promise<C>;
      const connectOptions: ConnectOptions = {
        serverUrl,
        appId,
        userId,
        tokenProvider: () => latest.current.tokenProvider(),
        ...(storage !== undefined ? { storage } : {}),
        ...(worker !== undefined ? { worker } : {}),
        ...(storeGraceMs !== undefined ? { storeGraceMs } : {}),
        ...(preloadMessages !== undefined ? { preloadMessages } : {}),
        ...(snapshots !== undefined ? { snapshots } : {}),
      };
      const client = previousClose.current.then(() => connect(connectOptions));
      slot = { key, client, pendingClose: undefined, closed: undefined };
      slotRef.current = slot;
      const mine = slot;
      client.then(
        (c) => {
          if (slotRef.current === mine && mine.closed === undefined) setConnected({ key, client: c });
        },
        (error: unknown) => {
          if (slotRef.current === mine && mine.closed === undefined) {
            (latest.current.onError ?? defaultOnError)(error);
          }
        },
      );
    }
    const current = slot;
    return () => {
      // Not now: StrictMode re-runs the effect at once, and a real unmount or a new
      // identity closes it anyway (the next run closes it at once, this timer otherwise).
      if (current.closed === undefined && current.pendingClose === undefined) {
        current.pendingClose = setTimeout(() => {
          current.pendingClose = undefined;
          void closeSlot(current);
        }, 0);
      }
    };
    // `worker`, `storeGraceMs`, `preloadMessages` and `snapshots` are read at connect time only (not
    // part of the identity).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  return connected && connected.key === key ? connected.client : null;
}
