// One ChatClient per signed-in user for the page's lifetime (React StrictMode mounts twice;
// the engine's database must be opened once).
import { ChatClient, TokenRefusedError } from "@onyxchat/core";
import { fetchDevSession, saveSession, serverUrl, type SavedSession } from "./session";

const clients = new Map<string, Promise<ChatClient>>();
const keyOf = (s: SavedSession) => `${s.appId}/${s.user.id}`;

/**
 * The client for `session`, connecting on first use. The first token is the remembered
 * one (no network needed to start); when the core asks again (the token was refused or
 * expired), a fresh one comes from the dev session.
 */
export function clientFor(session: SavedSession): Promise<ChatClient> {
  const key = keyOf(session);
  let client = clients.get(key);
  if (!client) {
    let asked = 0;
    client = ChatClient.connect({
      serverUrl: serverUrl(),
      appId: session.appId,
      userId: session.user.id,
      tokenProvider: async () => {
        asked += 1;
        if (asked === 1) return session.user.token;
        const dev = await fetchDevSession(); // a network error: the core tries again later
        const user = dev.app_id === session.appId ? dev.users.find((u) => u.id === session.user.id) : undefined;
        if (!user) throw new TokenRefusedError(`${session.user.id} is not a user of this server any more`);
        session.user.token = user.token;
        saveSession(session);
        return user.token;
      },
    });
    clients.set(key, client);
    client.catch(() => clients.delete(key));
  }
  return client;
}

/** Closes the session's client (sign-out). */
export async function closeClient(session: SavedSession): Promise<void> {
  const key = keyOf(session);
  const client = clients.get(key);
  clients.delete(key);
  if (client) {
    try {
      await (await client).close();
    } catch {
      // It never opened.
    }
  }
}
