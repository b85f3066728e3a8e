// The snapshot screen's HTML, kept for the next reload's first script: React renders
// `SnapshotScreen` from the channel's first-paint snapshot when the page hides
// (keepScreen.tsx) and the next page's first script puts that HTML in place before React
// has loaded (paintScreen), so the remembered rows show as soon as the page runs a script.
// React's first commit then replaces it with the same markup (the same rendering of the
// same snapshot), so the swap is invisible.
//
// Rules:
// - The HTML is only used for the exact input it was rendered from: a hash of the
//   snapshot's rows, the channel title, the locale and the session's names, checked against the snapshot the
//   page reads now (a page that died without `pagehide`, or a snapshot written after the
//   render, gives another hash: no early paint, React's first commit paints).
// - One entry per user (the remembered channel's); removed on sign-out with the snapshots.
// - It is the app's own React output (escaped text), kept next to the snapshot it was
//   rendered from: the same origin exposure as the snapshot and the OPFS cache (a script
//   that could forge it could run in the page anyway).

import type { MessageItem } from "@onyxchat/core";
import type { SavedSession } from "./session";

const key = (s: SavedSession) => `onyxchat-demo:screen:${s.appId}:${s.user.id}`;

/** What the kept HTML was rendered from. */
export interface ScreenInput {
  items: readonly MessageItem[];
  title: string;
  locale: string;
}

/** FNV-1a (32 bit) of the input and the session's names, as hex: cheap for a first script. */
export function screenHash(session: SavedSession, { items, title, locale }: ScreenInput): string {
  const text = JSON.stringify([items, title, locale, session.user.name, session.people]);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16);
}

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** Keeps `html`, rendered from `input`, for the next reload. */
export function saveScreen(session: SavedSession, input: ScreenInput, html: string): void {
  try {
    storage()?.setItem(key(session), JSON.stringify({ hash: screenHash(session, input), html }));
  } catch {
    storage()?.removeItem(key(session)); // a full quota: no early paint rather than a stale one
  }
}

/** Sign-out: the kept screen goes. */
export function forgetScreen(session: SavedSession): void {
  storage()?.removeItem(key(session));
}

/**
 * Puts the kept HTML into `root` if it was rendered from `input`; returns whether it did.
 * Its message layers are scrolled to the bottom, as React's render does on commit.
 */
export function paintScreen(session: SavedSession, input: ScreenInput, root: HTMLElement): boolean {
  try {
    const raw = storage()?.getItem(key(session));
    if (!raw) return false;
    const kept = JSON.parse(raw) as { hash?: unknown; html?: unknown };
    if (typeof kept.html !== "string" || kept.hash !== screenHash(session, input)) return false;
    root.innerHTML = kept.html;
    for (const layer of root.querySelectorAll<HTMLElement>("[data-first-paint]")) layer.scrollTop = layer.scrollHeight;
    performance.mark("demo:screen-painted");
    return true;
  } catch {
    return false;
  }
}
