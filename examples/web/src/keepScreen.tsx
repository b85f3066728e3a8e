// Keeping the snapshot screen for the next reload (see screenCache.ts): when the page
// hides, React renders `SnapshotScreen` from the remembered channel's first-paint snapshot
// (as the next page's first commit will) into a detached element, and its HTML is kept.
// The SDK writes the snapshot itself when the page hides too, before this runs (its
// listener is older), so the render uses the rows the next page will read.

import { readMessageSnapshot } from "@onyxchat/core";
import { TranslationProvider } from "@onyxchat/react";
import { useEffect } from "react";
import { flushSync } from "react-dom";
import { createRoot } from "react-dom/client";
import { forgetScreen, saveScreen } from "./screenCache";
import { SnapshotScreen, displayFor } from "./SnapshotScreen";
import { loadChannelTitle, serverUrl, uiLocale, type SavedSession } from "./session";

/** Renders and keeps `cid`'s snapshot screen (or forgets it when there is no snapshot). */
export function keepScreen(session: SavedSession, cid: string): void {
  const items = readMessageSnapshot({ serverUrl: serverUrl(), appId: session.appId, userId: session.user.id }, cid);
  if (items.length === 0) {
    forgetScreen(session);
    return;
  }
  const input = { items, title: loadChannelTitle(session, cid) ?? cid, locale: uiLocale() };
  const el = document.createElement("div");
  const root = createRoot(el);
  try {
    flushSync(() =>
      root.render(
        <TranslationProvider locale={input.locale}>
          <SnapshotScreen session={session} title={input.title} items={items} getUser={displayFor(session)} />
        </TranslationProvider>,
      ),
    );
    saveScreen(session, input, el.innerHTML);
  } finally {
    root.unmount();
  }
}

/** Keeps the snapshot screen of `cid` whenever the page hides. */
export function useKeepScreen(session: SavedSession, cid: string | null): void {
  useEffect(() => {
    if (!cid) return;
    const onHide = () => {
      try {
        keepScreen(session, cid);
      } catch {
        forgetScreen(session); // never a stale screen; the next page paints with React
      }
    };
    window.addEventListener("pagehide", onHide);
    return () => window.removeEventListener("pagehide", onHide);
  }, [session, cid]);
}
