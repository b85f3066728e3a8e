// The demo's sign-in: the dev server's ready-made users (`GET /v1/dev/session`), and the
// chosen one remembered in localStorage so a reload opens the chat straight from the cache.

import { TokenRefusedError } from "@onyxchat/core";

export interface DemoUser {
  id: string;
  name: string;
  token: string;
}

export interface DevSession {
  app_id: string;
  users: DemoUser[];
}

/** What a reload needs to start at once, offline included. */
export interface SavedSession {
  appId: string;
  user: DemoUser;
  /** Everyone's names, for display (the core knows ids only). */
  people: { id: string; name: string }[];
}

const SESSION_KEY = "onyxchat-demo:session";
const channelKey = (s: SavedSession) => `onyxchat-demo:channel:${s.appId}:${s.user.id}`;

/**
 * The chat-server's URL: the page's own origin (chat-server serving the demo, or Vite's
 * dev proxy), or `?server=http://host:port` when the demo is served from another origin.
 * The server must then allow this page's origin (`chat-server app cors`; `--dev` allows
 * any origin for the demo app).
 */
export function serverUrl(): string {
  const param = new URLSearchParams(window.location.search).get("server");
  if (param) {
    try {
      const url = new URL(param);
      if (url.protocol === "http:" || url.protocol === "https:") return url.origin;
    } catch {
      // not a URL: use the page's origin
    }
  }
  return window.location.origin;
}

/** The components' language: `?lang=de` (any BCP 47 tag; built in: en, de), else English. */
export function uiLocale(): string {
  return new URLSearchParams(window.location.search).get("lang") || "en";
}

export async function fetchDevSession(signal?: AbortSignal): Promise<DevSession> {
  const res = await fetch(`${serverUrl()}/v1/dev/session`, { signal: signal ?? null, cache: "no-store" });
  if (res.status === 404) {
    throw new Error("This server is not in dev mode: start it with `cargo xtask demo` (chat-server --dev).");
  }
  if (!res.ok) throw new Error(`GET /v1/dev/session: HTTP ${res.status}`);
  return (await res.json()) as DevSession;
}

export function sessionFor(dev: DevSession, user: DemoUser): SavedSession {
  return {
    appId: dev.app_id,
    user,
    people: dev.users.map(({ id, name }) => ({ id, name })),
  };
}

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export function loadSession(): SavedSession | null {
  const raw = storage()?.getItem(SESSION_KEY);
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as SavedSession;
    return s && typeof s.appId === "string" && s.user && typeof s.user.id === "string" ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(session: SavedSession): void {
  storage()?.setItem(SESSION_KEY, JSON.stringify(session));
}

export function clearSession(): void {
  storage()?.removeItem(SESSION_KEY);
}

const titleKey = (s: SavedSession, cid: string) => `onyxchat-demo:channel-title:${s.appId}:${s.user.id}:${cid}`;

/** The remembered channel's title, for the reload's first paint (SnapshotScreen). */
export function loadChannelTitle(session: SavedSession, cid: string): string | null {
  return storage()?.getItem(titleKey(session, cid)) ?? null;
}

export function saveChannelTitle(session: SavedSession, cid: string, title: string): void {
  storage()?.setItem(titleKey(session, cid), title);
}

/** Sign-out: the remembered titles go with the session. */
export function clearChannelTitles(session: SavedSession): void {
  const s = storage();
  if (!s) return;
  const prefix = `onyxchat-demo:channel-title:${session.appId}:${session.user.id}:`;
  const keys: string[] = [];
  for (let i = 0; i < s.length; i++) {
    const k = s.key(i);
    if (k?.startsWith(prefix)) keys.push(k);
  }
  for (const k of keys) s.removeItem(k);
}

export function loadChannel(session: SavedSession): string | null {
  return storage()?.getItem(channelKey(session)) ?? null;
}

export function saveChannel(session: SavedSession, cid: string | null): void {
  const s = storage();
  if (!s) return;
  if (cid) s.setItem(channelKey(session), cid);
  else s.removeItem(channelKey(session));
}

/**
 * The token provider for `session`'s user: the remembered token first (no network needed
 * to start), then, each time the core asks again (refused or expired), a fresh one from the
 * dev session (kept in `session` and saved).
 */
export function tokenProviderFor(session: SavedSession): () => Promise<string> {
  let asked = 0;
  return async () => {
    asked += 1;
    if (asked === 1) return session.user.token;
    const dev = await fetchDevSession(); // a network error: the core tries again later
    const user = dev.app_id === session.appId ? dev.users.find((u) => u.id === session.user.id) : undefined;
    if (!user) throw new TokenRefusedError(`${session.user.id} is not a user of this server any more`);
    session.user.token = user.token;
    saveSession(session);
    return user.token;
  };
}
