import {
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  type ReactNode,
} from "react";
import { Virtuoso, type VirtuosoHandle, type VirtuosoProps } from "react-virtuoso";
import { ComponentsProvider, useChatContext, useComponentOverrides } from "../context.js";
import { useMessages } from "../hooks.js";
import type { MessageItem } from "../types.js";
import { useTranslation } from "../i18n/context.js";
import { cx, groupStarts, reportError } from "../utils.js";
import { EmptyState as DefaultEmptyState, LoadingIndicator as DefaultLoading } from "./basics.js";
import { FirstPaintRows, useFirstPaint } from "./FirstPaint.js";
import { Message as DefaultMessage } from "./Message.js";
import { useRowRenderer } from "./rowRenderer.js";
import type { ChatComponents, RenderMessage } from "./types.js";

/** Whether the page is visible (read receipts should not be sent from a hidden tab). */
function useDocumentVisible(): boolean {
  const [visible, setVisible] = useState(
    () => typeof document === "undefined" || document.visibilityState !== "hidden",
  );
  useEffect(() => {
    if (typeof document === "undefined") return;
    const update = () => setVisible(document.visibilityState !== "hidden");
    document.addEventListener("visibilitychange", update);
    return () => document.removeEventListener("visibilitychange", update);
  }, []);
  return visible;
}

let rowsCommitted = false;

/**
 * Marks `onyxchat:list-rows-committed` (User Timing) the first time a message list commits
 * with messages in this page: a start-up phase of the web benchmark (`tests/web/bench.mjs`).
 */
function markRowsCommitted() {
  if (rowsCommitted) return;
  rowsCommitted = true;
  try {
    globalThis.performance?.mark?.("onyxchat:list-rows-committed");
  } catch {
    // No User Timing here.
  }
}

/** Virtuoso's index of the first item at mount; lowered as older pages are prepended. */
export const FIRST_ITEM_INDEX = 10_000_000;

/**
 * The `firstItemIndex` Virtuoso needs so prepending (or dropping) items at the top keeps
 * every other item's index, hence the scroll position. Derived during render from the
 * previous list: the old first item's new position is how many were prepended.
 */
export function useFirstItemIndex(items: readonly MessageItem[]): number {
  const [state, setState] = useState({ items, first: FIRST_ITEM_INDEX });
  if (state.items === items) return state.first;
  const first = shiftedFirstIndex(state.items, items, state.first);
  setState({ items, first });
  return first;
}

/** The new first index after the list changed from `prev` to `next`. */
export function shiftedFirstIndex(
  prev: readonly MessageItem[],
  next: readonly MessageItem[],
  first: number,
): number {
  const prevFirst = prev[0]?.message.id;
  const nextFirst = next[0]?.message.id;
  if (prevFirst === undefined || nextFirst === undefined || prevFirst === nextFirst) return first;
  const prepended = next.findIndex((m) => m.message.id === prevFirst);
  if (prepended > 0) return first - prepended;
  const dropped = prev.findIndex((m) => m.message.id === nextFirst);
  if (dropped > 0) return first + dropped;
  return first; // a different window (jump): a fresh start is as good as any
}

export interface MessageListProps {
  cid: string;
  /** Messages per page (default: the core's, 30). */
  pageSize?: number;
  className?: string;
  /** Component overrides (Message, Avatar, EmptyState, LoadingIndicator, MessageStatus…). */
  components?: Partial<ChatComponents>;
  /** Renders one message (wins over `components.Message`). */
  renderMessage?: RenderMessage;
  /** Opens a message's thread; without it, the thread actions are hidden. */
  onOpenThread?: (item: MessageItem) => void;
  /** Starts a quote-reply (e.g. `MessageInput`'s `quoting`); without it, no quote action. */
  onQuote?: (item: MessageItem) => void;
  /** Marks the channel read while its newest message is in view (default true). */
  markRead?: boolean;
  /** Extra props for the underlying `Virtuoso` (e.g. `initialItemCount` in tests). */
  virtuosoProps?: Partial<VirtuosoProps<MessageItem, ListContext>>;
  /**
   * Shows the newest rows at once while Virtuoso measures its first screen (hidden for
   * several frames), in a layer over it (default false). Meanwhile each of those messages
   * is in the DOM twice — Virtuoso's hidden copy without `data-testid`s — so a test that
   * finds a message by its text alone (not by its `message-<id>` test id or its role)
   * should expect two matches for a moment.
   */
  firstPaint?: boolean;
  /**
   * Rows to paint until the live list's first answer (with `firstPaint`): a first-paint
   * snapshot, e.g. `readMessageSnapshot(identity, cid)` from `@onyxchat/core`. They are
   * shown with the same row rendering in the first paint's layer (inert: no focus, no
   * actions; the layer has `data-snapshot`), replaced in place by the live rows when they
   * arrive (an edited or deleted message is corrected then), or by the empty state or an
   * error. Default: none.
   */
  snapshot?: readonly MessageItem[];
}

interface ListContext {
  loadingOlder: boolean;
  hasOlder: boolean;
  Loading: NonNullable<ChatComponents["LoadingIndicator"]>;
  /** The "beginning of the conversation" text. */
  start: string;
}

/**
 * Above the first message: "loading older", or the start of the conversation. One fixed
 * height (see the theme) in every state, so nothing below moves when it changes.
 */
function ListHeader({ context }: { context?: ListContext }) {
  if (!context) return null;
  const { Loading, start } = context;
  return (
    <div className="onyx-message-list__header">
      {context.loadingOlder ? (
        <Loading what="older" />
      ) : !context.hasOlder ? (
        <div className="onyx-message-list__start">{start}</div>
      ) : null}
    </div>
  );
}

const virtuosoComponents = { Header: ListHeader };

/**
 * A channel's messages, virtualized (react-virtuoso): keyed by message id, pinned to the
 * bottom while at the bottom, older pages loaded when the top is reached without moving
 * what is on screen, delivery states with Retry/Discard, reactions and thread actions.
 */
export function MessageList(props: MessageListProps) {
  // A fresh list (scroll position, paging state) per channel.
  return <ChannelMessageList key={props.cid} {...props} />;
}

function ChannelMessageList({
  cid,
  pageSize,
  className,
  components,
  renderMessage,
  onOpenThread,
  onQuote,
  markRead = true,
  virtuosoProps,
  firstPaint: firstPaintWanted = false,
  snapshot,
}: MessageListProps) {
  const { client, onError } = useChatContext();
  const { t } = useTranslation();
  const merged = useComponentOverrides(components);
  const Message = merged.Message ?? DefaultMessage;
  const EmptyState = merged.EmptyState ?? DefaultEmptyState;
  const Loading = merged.LoadingIndicator ?? DefaultLoading;
  const { messages, ready, hasOlder, error, loadOlder, loadNewer } = useMessages(cid, pageSize);
  const firstItemIndex = useFirstItemIndex(messages);
  const hasRows = messages.length > 0;
  useLayoutEffect(() => {
    if (hasRows) markRowsCommitted();
  }, [hasRows]);
  // The snapshot's rows, while the live list has not answered (nor failed).
  const snapshotRows =
    firstPaintWanted && !hasRows && !ready && error == null && snapshot && snapshot.length > 0 ? snapshot : undefined;
  const shownRows = snapshotRows ?? messages;
  const starts = useMemo(() => groupStarts(shownRows), [shownRows]);
  const virtuoso = useRef<VirtuosoHandle>(null);
  const me = client.userId;
  const report = useCallback((action: string) => reportError(onError, action), [onError]);

  const last = messages[messages.length - 1];
  const lastId = last?.message.id;
  const latest = useRef(last);
  latest.current = last;

  // Whether the window may have left the newest messages: the core's window keeps at
  // most 8 pages and slides, so paging far up drops the newest from the bottom.
  const [detached, setDetached] = useState(false);
  const prevList = useRef(messages);
  useEffect(() => {
    const prev = prevList.current;
    prevList.current = messages;
    const prevLast = prev[prev.length - 1]?.message.id;
    if (prevLast && prevLast !== lastId && !messages.some((m) => m.message.id === prevLast)) {
      setDetached(true);
    }
  }, [messages, lastId]);

  // Older pages: one request at a time, none once the start is reached.
  const [loadingOlder, setLoadingOlder] = useState(false);
  const busy = useRef(false);
  const hasOlderRef = useRef(hasOlder);
  hasOlderRef.current = hasOlder;
  // A load can end without showing anything older (a fetched page dropped because a sync
  // replaced the cached window meanwhile, a failed fetch). Virtuoso reports the top once
  // per first item, so while the top stays in view and the first message is unchanged,
  // load again (a few times at most).
  const firstMessageId = messages[0]?.message.id;
  const firstId = useRef(firstMessageId);
  firstId.current = firstMessageId;
  const atTopRef = useRef(false);
  const onAtTop = useCallback((top: boolean) => {
    atTopRef.current = top;
  }, []);
  const stalled = useRef(0);
  useEffect(() => {
    stalled.current = 0; // older messages showed: count stalls afresh
  }, [firstMessageId]);
  const recheck = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(recheck.current), []);
  const startReachedRef = useRef<() => void>(() => undefined);
  const onStartReached = useCallback(() => {
    if (busy.current || !hasOlderRef.current) return;
    busy.current = true;
    setLoadingOlder(true);
    const first = firstId.current;
    loadOlder()
      .catch(report("load older messages"))
      .finally(() => {
        busy.current = false;
        setLoadingOlder(false);
        clearTimeout(recheck.current);
        recheck.current = setTimeout(() => {
          if (atTopRef.current && firstId.current === first && stalled.current < 3) {
            stalled.current += 1;
            startReachedRef.current();
          }
        }, 300);
      });
  }, [loadOlder, report]);
  startReachedRef.current = onStartReached;

  // Back down at the bottom of a detached window: page towards the newest again.
  const onEndReached = useCallback(() => {
    if (!detached || busy.current) return;
    busy.current = true;
    loadNewer()
      .then((atNewest) => {
        if (atNewest) setDetached(false);
      }, report("load newer messages"))
      .finally(() => {
        busy.current = false;
      });
  }, [detached, loadNewer, report]);

  // Following new messages. Virtuoso's followOutput covers a growing list; the core's
  // window also slides (one in at the bottom, one out at the top: same length), so new
  // last messages are followed here too: while at the bottom, and always for the user's
  // own new message.
  const atBottomRef = useRef(true);
  const [atBottom, setAtBottom] = useState(true);
  const onAtBottom = useCallback((bottom: boolean) => {
    atBottomRef.current = bottom;
    setAtBottom(bottom);
  }, []);
  const followOutput = useCallback(
    (isAtBottom: boolean) => {
      const item = latest.current;
      if (item && item.message.userId === me && item.state.type !== "sent") return "auto" as const;
      return isAtBottom ? ("smooth" as const) : false;
    },
    [me],
  );
  const followedLast = useRef(lastId);
  useEffect(() => {
    const prev = followedLast.current;
    followedLast.current = lastId;
    if (!lastId || !prev || prev === lastId || detached) return;
    const item = latest.current;
    const appended = messages.some((m) => m.message.id === prev);
    const own = !!item && item.message.userId === me && item.state.type !== "sent";
    if (!appended || (!own && !atBottomRef.current)) return;
    const frame = requestAnimationFrame(() =>
      virtuoso.current?.scrollToIndex({ index: "LAST", align: "end", behavior: "auto" }),
    );
    return () => cancelAnimationFrame(frame);
  }, [lastId, messages, me, detached]);

  const jumpToLatest = useCallback(async () => {
    try {
      // A detached window pages back to the newest first (bounded: 8 pages at most).
      for (let i = 0; detached && i < 10; i++) {
        if (await loadNewer()) {
          setDetached(false);
          break;
        }
      }
    } catch (e) {
      report("load newer messages")(e);
    }
    requestAnimationFrame(() =>
      virtuoso.current?.scrollToIndex({ index: "LAST", align: "end", behavior: "smooth" }),
    );
  }, [detached, loadNewer, report]);

  // Mark read while the newest message is in view (in a visible page): on opening, and
  // whenever someone else's message arrives (the user's own never count as unread).
  const visible = useDocumentVisible();
  const lastOtherId = useMemo(() => {
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i]!.message;
      if (m.userId !== me) return m.id;
    }
    return null;
  }, [messages, me]);
  const marked = useRef<string | null | undefined>(undefined);
  useEffect(() => {
    if (!markRead || !ready || !atBottom || detached || !visible || !lastId) return;
    if (marked.current !== undefined && marked.current === lastOtherId) return;
    marked.current = lastOtherId;
    client.markRead(cid).catch(report("mark read"));
  }, [markRead, ready, atBottom, detached, visible, lastId, lastOtherId, cid, client, report]);

  const renderItem = useRowRenderer({ me, starts, Message, onOpenThread, onQuote, renderMessage });

  // The newest rows at once, while Virtuoso's first pass is hidden (see FirstPaint.tsx).
  const firstPaint = useFirstPaint(
    firstPaintWanted && (hasRows || snapshotRows !== undefined),
    firstPaintWanted && ready && !hasRows,
    virtuosoProps?.initialTopMostItemIndex,
    virtuosoProps?.scrollerRef,
  );

  const listContext = useMemo<ListContext>(
    () => ({ loadingOlder, hasOlder, Loading, start: t("conversationStart") }),
    [loadingOlder, hasOlder, Loading, t],
  );

  let body: ReactNode;
  if (snapshotRows && firstPaint.active) {
    // The same shape as the list's below, so the layer (and its rows) stay when it answers.
    body = (
      <>
        <FirstPaintRows items={snapshotRows} renderItem={renderItem} layerRef={firstPaint.layerRef} snapshot />
        {null}
        {null}
      </>
    );
  } else if (error != null && messages.length === 0) {
    body = (
      <div className="onyx-message-list__error" role="alert">
        {t("loadFailed", { error: error instanceof Error ? error.message : String(error) })}
      </div>
    );
  } else if (!ready && messages.length === 0) {
    body = <Loading what="messages" />;
  } else if (messages.length === 0) {
    body = <EmptyState kind="messages" />;
  } else {
    body = (
      <>
        {firstPaint.active ? (
          <FirstPaintRows items={messages} renderItem={renderItem} layerRef={firstPaint.layerRef} />
        ) : null}
        <Virtuoso<MessageItem, ListContext>
          ref={virtuoso}
          className="onyx-message-list__scroller"
          data={messages}
          context={listContext}
          firstItemIndex={firstItemIndex}
          initialTopMostItemIndex={{ index: "LAST", align: "end" }}
          computeItemKey={(_index, item) => item.message.id}
          itemContent={renderItem}
          followOutput={followOutput}
          startReached={onStartReached}
          atTopStateChange={onAtTop}
          endReached={onEndReached}
          atBottomStateChange={onAtBottom}
          atBottomThreshold={48}
          increaseViewportBy={{ top: 400, bottom: 200 }}
          alignToBottom
          components={virtuosoComponents}
          {...virtuosoProps}
          {...(firstPaintWanted ? { scrollerRef: firstPaint.scrollerRef } : {})}
        />
        {!atBottom || detached ? (
          <button
            type="button"
            className="onyx-message-list__jump"
            data-testid="jump-to-latest"
            onClick={() => void jumpToLatest()}
          >
            <span aria-hidden="true">↓ </span>
            {t("latestMessages")}
          </button>
        ) : null}
      </>
    );
  }

  return (
    <ComponentsProvider components={merged}>
      <div
        className={cx("onyx-message-list", className)}
        data-testid="message-list"
        data-ready={ready}
        role="log"
        aria-live="polite"
        aria-label={t("messages")}
        // The snapshot's rows are inert (hidden from assistive technology) until the live
        // rows replace them: the log says it is loading meanwhile.
        aria-busy={snapshotRows !== undefined && firstPaint.active ? true : undefined}
      >
        {body}
      </div>
    </ComponentsProvider>
  );
}
