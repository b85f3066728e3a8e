// Connecting from the page's first script. A reload with a remembered user starts the
// engine (its worker, the wasm, the database) and the remembered channel's message query
// here, before React and the app's code have even loaded (main.tsx imports them after).
// `ChatScreen` then takes this client through `useCreateChatClient`'s `connect` option
// instead of connecting again, and its message list finds the query already answered
// (`preloadMessages`).

import { ChatClient, type ConnectOptions } from "@onyxchat/core";
import { loadChannel, loadSession, serverUrl, tokenProviderFor } from "./session";

let early: { key: string; client: Promise<ChatClient> } | undefined;

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
  };
  const cid = loadChannel(session);
  // The remembered channel's newest messages are read as soon as the database is open.
  const client = ChatClient.connect(cid ? { ...options, preloadMessages: cid } : options);
  early = { key: identity(options), client };
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
