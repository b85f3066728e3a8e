// The message list's first paint. Virtuoso, asked to start at the newest message, keeps its
// list hidden until it has measured the rows, waited four animation frames and scrolled
// there (several frames after the rows could have been shown). Until then the list shows
// the newest rows itself: the same rows (the list's own `itemContent`), not virtualized,
// in a layer over Virtuoso's scroller, scrolled to the bottom before the browser paints.
//
// Rules:
// - Only when the app asks (`MessageList firstPaint`): meanwhile the rows are in the DOM
//   twice (Virtuoso's hidden copy), which text-based test locators can see.
// - Only where Virtuoso hides its first pass: a browser (MutationObserver, ResizeObserver)
//   and the default start at the newest message (a `virtuosoProps.initialTopMostItemIndex`
//   turns it off, as in jsdom tests).
// - One set of rows is addressable at a time, and it is the one on screen: while the layer
//   is shown, Virtuoso's hidden rows are kept without their `data-testid` and
//   `data-message-id` attributes (taken off as they are rendered, before anything else
//   runs); they get them back in the commit in which Virtuoso shows its list and the
//   layer goes (after 3 s at most).
// - At most `FIRST_PAINT_ROWS` rows (the newest): more than any viewport shows.
// - Only for the list's first rows: a list whose first answer is empty (a new channel) has
//   had its first paint, and a message arriving later is a plain update, not a first
//   paint (the layer would otherwise hold a row the user can focus for up to 3 s, then
//   give way to Virtuoso's copy of it).
// - The layer also paints a first-paint snapshot (`MessageList snapshot`, or
//   `MessageListSnapshot` before there is a client): the remembered rows, until the live
//   list's first answer. Then the same layer shows the live rows (keyed by message id: a
//   row still there is updated in place, an edited or deleted one corrected) and gives way
//   to Virtuoso as above. Snapshot rows are `inert` (nothing in them takes the focus or a
//   click, so nothing is lost when they go) and the layer says `data-snapshot` meanwhile.

import { useCallback, useEffect, useLayoutEffect, useRef, useState, type ReactNode } from "react";
import { flushSync } from "react-dom";
import type { MessageItem } from "../types.js";

/** The newest rows the first paint renders (more than a usual viewport shows; each costs a render). */
export const FIRST_PAINT_ROWS = 20;
/** How long the first paint may stay if Virtuoso never shows its list (e.g. a hidden panel). */
const FIRST_PAINT_MAX_MS = 3000;

const ADDRESSES = ["data-testid", "data-message-id"] as const;
/** Where a hidden row keeps an address while it is taken off. */
const kept = (a: string) => `data-first-paint-${a.slice("data-".length)}`;

/** Takes the addresses off the rows in `list` (Virtuoso's hidden rows), keeping them. */
function hideAddresses(list: Element) {
  for (const el of list.querySelectorAll(ADDRESSES.map((a) => `[${a}]`).join(","))) {
    for (const a of ADDRESSES) {
      const value = el.getAttribute(a);
      if (value === null) continue;
      el.setAttribute(kept(a), value);
      el.removeAttribute(a);
    }
  }
}

/** Gives the rows in `list` their addresses back. */
function restoreAddresses(list: Element) {
  for (const el of list.querySelectorAll(ADDRESSES.map((a) => `[${kept(a)}]`).join(","))) {
    for (const a of ADDRESSES) {
      const value = el.getAttribute(kept(a));
      if (value === null) continue;
      el.setAttribute(a, value);
      el.removeAttribute(kept(a));
    }
  }
}

/** Whether this environment needs the first paint (see the module's rules). */
function supported(initialTopMostItemIndex: unknown): boolean {
  return (
    initialTopMostItemIndex === undefined &&
    typeof MutationObserver !== "undefined" &&
    typeof ResizeObserver !== "undefined"
  );
}

/** The first paint's state, and the `scrollerRef` to pass to Virtuoso. */
export interface FirstPaint {
  /** Whether the layer is shown. */
  active: boolean;
  /** For Virtuoso's `scrollerRef` (calls the app's own `scrollerRef` too). */
  scrollerRef: (el: HTMLElement | Window | null) => void;
  /** For the layer's element. */
  layerRef: React.RefObject<HTMLDivElement | null>;
}

/**
 * Follows Virtuoso's first pass: `active` while Virtuoso's list is hidden and there are
 * rows to show (`hasRows`); over for good once the list's first answer was empty (`empty`).
 */
export function useFirstPaint(
  hasRows: boolean,
  empty: boolean,
  initialTopMostItemIndex: unknown,
  appScrollerRef?: (el: HTMLElement | Window | null) => void,
): FirstPaint {
  const [pending, setPending] = useState(() => supported(initialTopMostItemIndex));
  const [scroller, setScroller] = useState<HTMLElement | null>(null);
  const layerRef = useRef<HTMLDivElement | null>(null);
  const appRef = useRef(appScrollerRef);
  appRef.current = appScrollerRef;
  const scrollerRef = useCallback((el: HTMLElement | Window | null) => {
    setScroller(el instanceof HTMLElement ? el : null);
    appRef.current?.(el);
  }, []);

  useEffect(() => {
    if (pending && empty) setPending(false);
  }, [pending, empty]);

  useEffect(() => {
    if (!pending || !hasRows || !scroller) return;
    let done = false;
    const itemList = () => scroller.querySelector<HTMLElement>('[data-testid="virtuoso-item-list"]');
    /** Stops watching and gives Virtuoso's rows their addresses back; `false` if done before. */
    const stop = () => {
      if (done) return false;
      done = true;
      observer.disconnect();
      clearTimeout(timer);
      const list = itemList();
      if (list) restoreAddresses(list);
      return true;
    };
    const finish = (now: boolean) => {
      if (!stop()) return;
      // From the observer: before the browser paints Virtuoso's list, so no frame shows
      // both or neither.
      if (now) flushSync(() => setPending(false));
      else setPending(false);
    };
    const check = (now: boolean) => {
      const list = itemList();
      if (!list?.querySelector("[data-index]")) return;
      if (list.style.visibility !== "hidden") return finish(now);
      // Virtuoso's rows, still hidden: the layer's are the addressable ones until it shows.
      hideAddresses(list);
    };
    const observer = new MutationObserver(() => check(true));
    observer.observe(scroller, { subtree: true, childList: true, attributes: true, attributeFilter: ["style"] });
    const timer = setTimeout(() => finish(false), FIRST_PAINT_MAX_MS);
    check(false);
    return () => {
      stop();
    };
  }, [pending, hasRows, scroller]);

  return { active: pending && hasRows, scrollerRef, layerRef };
}

let snapshotCommitted = false;

/**
 * Marks `onyxchat:snapshot-rows-committed` (User Timing) the first time snapshot rows are
 * committed in this page: a start-up phase of the web benchmark (`tests/web/bench.mjs`).
 */
function markSnapshotCommitted() {
  if (snapshotCommitted) return;
  snapshotCommitted = true;
  try {
    globalThis.performance?.mark?.("onyxchat:snapshot-rows-committed");
  } catch {
    // No User Timing here.
  }
}

/**
 * The first paint's layer: the newest rows, scrolled to the bottom before the first paint.
 * `snapshot`: the rows are a remembered snapshot, not the live list's (inert, marked).
 */
export function FirstPaintRows({
  items,
  renderItem,
  layerRef,
  snapshot = false,
}: {
  items: readonly MessageItem[];
  renderItem: (index: number, item: MessageItem) => ReactNode;
  layerRef: React.RefObject<HTMLDivElement | null>;
  snapshot?: boolean;
}) {
  const shown = items.slice(-FIRST_PAINT_ROWS);
  useLayoutEffect(() => {
    const el = layerRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  });
  useLayoutEffect(() => {
    if (snapshot) markSnapshotCommitted();
  }, [snapshot]);
  return (
    <div
      ref={layerRef}
      className="onyx-message-list__scroller onyx-message-list__first-paint"
      data-first-paint=""
      {...(snapshot ? { "data-snapshot": "", inert: true } : {})}
    >
      {shown.map((item, i) => (
        <div key={item.message.id}>{renderItem(items.length - shown.length + i, item)}</div>
      ))}
    </div>
  );
}
