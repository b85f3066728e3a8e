// `MessageListSnapshot`: a message list's first-paint snapshot painted before there is a
// client (the engine still opening), for the page to show the remembered rows at once.
//
// Rules:
// - The same markup as `MessageList` paints its snapshot with: the list's container, the
//   first paint's layer (`FirstPaintRows`, `data-snapshot`, inert) and the same rows (the
//   default `Message`, `components.Message` or `renderMessage`, with the same render
//   context), so swapping it for `<MessageList firstPaint snapshot={…}>` in one commit
//   shows the same pixels, and that list then hands over to the live rows.
// - No client needed: inside a `ChatProvider` it uses that one's options; outside, an
//   inert stand-in client (the rows are inert, so nothing can call it; its calls reject).
// - Nothing when there are no rows (the app shows its own loading state then).

import { useMemo, useRef } from "react";
import { ChatProvider, ComponentsProvider, useComponentOverrides, useOptionalChatContext } from "../context.js";
import { useTranslation } from "../i18n/context.js";
import type { ChatClientLike, MessageItem, UserDisplay } from "../types.js";
import { cx, groupStarts } from "../utils.js";
import { FirstPaintRows } from "./FirstPaint.js";
import { Message as DefaultMessage } from "./Message.js";
import { useRowRenderer } from "./rowRenderer.js";
import type { ChatComponents, RenderMessage } from "./types.js";

export interface MessageListSnapshotProps {
  /** The rows, oldest first: a first-paint snapshot (`readMessageSnapshot` of `@onyxchat/core`). */
  items: readonly MessageItem[];
  /** The signed-in user's id (whose rows are their own). */
  userId: string;
  className?: string;
  /** As `MessageList`'s (the same rows should be rendered the same way). */
  components?: Partial<ChatComponents>;
  /** As `MessageList`'s. */
  renderMessage?: RenderMessage;
  /** As `MessageList`'s (the rows are inert: only for the same markup). */
  onOpenThread?: (item: MessageItem) => void;
  /** As `MessageList`'s (the rows must be painted with the same actions). */
  onQuote?: (item: MessageItem) => void;
  /** Names and pictures, outside a `ChatProvider` (inside, the provider's). */
  getUser?: (userId: string) => UserDisplay | undefined;
}

const notConnected = () => Promise.reject(new Error("OnyxChat: not connected yet (a snapshot is shown)"));
const never = { subscribe: () => () => undefined, getSnapshot: () => [], ready: false };

/** The stand-in client outside a `ChatProvider`: every call rejects, every store is empty. */
const INERT_CLIENT: ChatClientLike = {
  userId: "",
  channels: () => never,
  messages: () => ({ ...never, hasOlder: false, loadOlder: notConnected, loadNewer: notConnected, jumpTo: notConnected }),
  thread: () => never,
  starred: () => ({ ...never, hasMore: false, loadMore: notConnected }),
  readReceipts: () => never,
  members: () => never,
  typing: () => never,
  presence: () => never,
  connection: { subscribe: () => () => undefined, getSnapshot: () => ({ type: "connecting", attempt: 0 }), ready: false },
  outboxStore: () => never,
  sendMessage: notConnected,
  editMessage: notConnected,
  deleteMessage: notConnected,
  addReaction: notConnected,
  removeReaction: notConnected,
  starMessage: notConnected,
  unstarMessage: notConnected,
  markRead: notConnected,
  createChannel: notConnected,
  openDistinctChannel: notConnected,
  updateChannel: notConnected,
  addMembers: notConnected,
  setMemberRole: notConnected,
  removeMember: notConnected,
  leaveChannel: notConnected,
  retry: notConnected,
  discard: notConnected,
  reconnect: notConnected,
  startTyping: notConnected,
  stopTyping: notConnected,
  search: notConnected,
  searchLocal: notConnected,
};

/**
 * Paints a channel's first-paint snapshot before the client exists, as `MessageList`
 * paints it (same container, layer and rows; inert). Replace it by
 * `<MessageList firstPaint snapshot={items}>` once the client is there: that list keeps
 * the rows until its live answer and then hands over without a flicker.
 */
export function MessageListSnapshot(props: MessageListSnapshotProps) {
  const context = useOptionalChatContext();
  if (context) return <SnapshotList {...props} />;
  return (
    <ChatProvider client={INERT_CLIENT} {...(props.getUser ? { getUser: props.getUser } : {})}>
      <SnapshotList {...props} />
    </ChatProvider>
  );
}

function SnapshotList({ items, userId, className, components, renderMessage, onOpenThread, onQuote }: MessageListSnapshotProps) {
  const { t } = useTranslation();
  const merged = useComponentOverrides(components);
  const Message = merged.Message ?? DefaultMessage;
  const starts = useMemo(() => groupStarts(items), [items]);
  const layerRef = useRef<HTMLDivElement | null>(null);
  const renderItem = useRowRenderer({ me: userId, starts, Message, onOpenThread, onQuote, renderMessage });
  if (items.length === 0) return null;
  return (
    <ComponentsProvider components={merged}>
      <div
        className={cx("onyx-message-list", className)}
        data-testid="message-list"
        data-ready={false}
        role="log"
        aria-live="polite"
        aria-label={t("messages")}
        aria-busy={true}
      >
        <FirstPaintRows items={items} renderItem={renderItem} layerRef={layerRef} snapshot />
      </div>
    </ComponentsProvider>
  );
}
