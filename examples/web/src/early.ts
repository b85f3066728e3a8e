// Connecting from the page's first script. A reload with a remembered user starts the
// engine (its worker, the wasm, the database) and the remembered channel's message query
// here, before React and the app's code have even loaded (main.tsx imports them after).
// `ChatScreen` then takes this client through `useCreateChatClient`'s `connect` option
// instead of connecting again, and its message list finds the query already answered
// (`preloadMessages`). The remembered channel's first-paint snapshot (its newest rows,
// kept by the SDK in localStorage: `snapshots: true`) is read here too, synchronously, for
// the app's first commit to paint before the engine is ready (`SnapshotScreen`), and the
// snapshot screen the last page kept is painted from here, before React (screenCache.ts).

import { ChatClient, clearMessageSnapshots, readMessageSnapshot, type ConnectOptions, type MessageItem } from "@onyxchat/core";
import { forgetScreen, paintScreen } from "./screenCache";
import {
  clearChannelTitles,
  loadChannel,
  loadChannelTitle,
  loadSession,
  serverUrl,
  tokenProviderFor,
  uiLocale,
  type SavedSession,
} from "./session";

let early: { key: string; client: Promise<ChatClient> } | undefined;

/** The remembered channel's snapshot, read at start (for whose session, and which channel). */
let snapshot: { key: string; cid: string; items: MessageItem[] } | undefined;

const identity = (o: Pick<ConnectOptions, "serverUrl" | "appId" | "userId" | "storage">) =>
  JSON.stringify([o.serverUrl, o.appId, o.userId, o.storage ?? "auto"]);

/** Starts connecting the remembered user, if there is one (once, at start). */
export function connectEarly(): void {
  const session = loadSession();
  if (!session || early) return;
  const options: ConnectOptions = {
    serverUrl: serverUrl(),
    appId: session.appId,
    userId: session.user.id,
    tokenProvider: tokenProviderFor(session),
    snapshots: true,
  };
  const cid = loadChannel(session);
  // The remembered channel's newest messages are read as soon as the database is open.
  const client = ChatClient.connect(cid ? { ...options, preloadMessages: cid } : options);
  early = { key: identity(options), client };
  // The worker is on its way: now the snapshot, and the screen the last page kept from
  // it, painted before React loads (React's first commit renders the same markup).
  if (cid) {
    const items = readMessageSnapshot(options, cid);
    if (items.length > 0) {
      snapshot = { key: identity(options), cid, items };
      const root = document.getElementById("root");
      const title = loadChannelTitle(session, cid) ?? cid;
      if (root) paintScreen(session, { items, title, locale: uiLocale() }, root);
    }
  }
  client.catch(() => undefined); // ChatScreen reports it (it takes this promise).
}

/**
 * `useCreateChatClient`'s `connect`: the early client when it is for these options (once),
 * else a new connect (after closing an early client nobody took).
 */
export async function connectOrTakeEarly(options: ConnectOptions): Promise<ChatClient> {
  const taken = early;
  early = undefined;
  if (taken && taken.key === identity(options)) return await taken.client;
  if (taken) await taken.client.then((c) => c.close()).catch(() => undefined);
  return await ChatClient.connect(options);
}

/** The snapshot read at start, if it is `session`'s. */
export function earlySnapshot(session: SavedSession): { cid: string; items: MessageItem[] } | undefined {
  const key = identity({ serverUrl: serverUrl(), appId: session.appId, userId: session.user.id });
  return snapshot && snapshot.key === key ? { cid: snapshot.cid, items: snapshot.items } : undefined;
}

/**
 * Sign-out: removes the user's snapshots (every channel, and the one read at start) and
 * stops the SDK writing them (see `clearMessageSnapshots`), and the remembered titles.
 */
export function forgetSnapshots(session: SavedSession): void {
  snapshot = undefined;
  clearChannelTitles(session);
  forgetScreen(session);
  clearMessageSnapshots({ serverUrl: serverUrl(), appId: session.appId, userId: session.user.id });
}
