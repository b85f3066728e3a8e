import { useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import { ComponentsProvider, useChatClient, useComponentOverrides } from "../context.js";
import { useMessages, useThread } from "../hooks.js";
import type { MessageItem } from "../types.js";
import { useTranslation } from "../i18n/context.js";
import { cx, groupStarts } from "../utils.js";
import { EmptyState as DefaultEmptyState, LoadingIndicator as DefaultLoading } from "./basics.js";
import { CloseIcon } from "./icons.js";
import { Message as DefaultMessage } from "./Message.js";
import { MessageInput } from "./MessageInput.js";
import { TypingIndicator } from "./TypingIndicator.js";
import type { ChatComponents, MessageRenderContext, RenderMessage } from "./types.js";

export interface ThreadProps {
  /** The thread's root message (as last seen; the live copy from the channel is preferred). */
  parent: MessageItem;
  /** Closes the panel (shows a close button, and Escape closes, when given). */
  onClose?: () => void;
  /** The page size the channel's MessageList uses (to share its live window). */
  pageSize?: number;
  className?: string;
  components?: Partial<ChatComponents>;
  renderMessage?: RenderMessage;
  /** Extra content under the header (e.g. channel name). */
  header?: ReactNode;
  autoFocus?: boolean;
}

/**
 * A thread panel: the root message, its replies (live), typing, and a reply box. A region
 * named "Thread"; Escape inside it calls `onClose`, and unmounting gives the focus back to
 * what had it when the panel opened (e.g. the "Reply in thread" button), if it is still there.
 */
export function Thread({
  parent,
  onClose,
  pageSize,
  className,
  components,
  renderMessage,
  header,
  autoFocus = true,
}: ThreadProps) {
  const client = useChatClient();
  const { t } = useTranslation();
  const merged = useComponentOverrides(components);
  const Message = merged.Message ?? DefaultMessage;
  const EmptyState = merged.EmptyState ?? DefaultEmptyState;
  const Loading = merged.LoadingIndicator ?? DefaultLoading;
  const parentId = parent.message.id;
  const cid = parent.message.cid;

  // The root's live copy (reactions, reply count, edits) while it is in the channel window.
  const { messages: channelMessages } = useMessages(cid, pageSize);
  const root = useMemo(
    () => channelMessages.find((m) => m.message.id === parentId) ?? parent,
    [channelMessages, parentId, parent],
  );
  const { messages: replies, ready } = useThread(parentId);
  const starts = useMemo(() => groupStarts(replies), [replies]);
  const me = client.userId;

  // Stay at the bottom as replies arrive, if the user was there.
  const scroller = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [replies]);

  // Focus returns to the opener when the panel goes away. The opener is read at the first
  // render: by the time effects run, the reply box's autoFocus has taken the focus. A list
  // may have replaced the opener's element meanwhile (a virtualized list re-rendering its
  // rows, the first-paint layer giving way to the real list): then the element at the same
  // address (its message's row, its tool) takes the focus.
  const [opener] = useState(() =>
    typeof document !== "undefined" && document.activeElement instanceof HTMLElement ? document.activeElement : null,
  );
  const [address] = useState(() => (opener ? openerAddress(opener) : null));
  useEffect(() => {
    return () => {
      const focus = document.activeElement;
      const lost = !focus || focus === document.body || !focus.isConnected;
      const target = opener?.isConnected ? opener : address ? document.querySelector<HTMLElement>(address) : null;
      if (target && lost) target.focus();
    };
  }, [opener, address]);

  const onKeyDown = (e: KeyboardEvent<HTMLElement>) => {
    if (e.key !== "Escape" || e.defaultPrevented || !onClose) return;
    e.preventDefault();
    onClose();
  };

  const render = (item: MessageItem, context: MessageRenderContext) =>
    renderMessage ? renderMessage(item, context) : <Message item={item} {...context} />;

  return (
    <ComponentsProvider components={merged}>
      <section
        className={cx("onyx-thread", className)}
        data-testid="thread"
        data-parent-id={parentId}
        aria-label={t("thread")}
        onKeyDown={onKeyDown}
      >
        <header className="onyx-thread__header">
          <div className="onyx-thread__title">
            <strong>{t("thread")}</strong>
            <span className="onyx-thread__count">
              {t("replies", { count: root.message.replyCount })}
            </span>
            {header}
          </div>
          {onClose ? (
            <button
              type="button"
              className="onyx-icon-button onyx-thread__close"
              aria-label={t("closeThread")}
              title={t("closeThread")}
              data-testid="thread-close"
              onClick={onClose}
            >
              <CloseIcon />
            </button>
          ) : null}
        </header>
        <div
          ref={scroller}
          className="onyx-thread__scroller"
          onScroll={(e) => {
            const el = e.currentTarget;
            pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
          }}
        >
          <div className="onyx-thread__root">
            {render(root, {
              isOwn: root.message.userId === me,
              isFirstInGroup: true,
              inThread: true,
            })}
          </div>
          <div className="onyx-thread__divider" role="separator" />
          <div className="onyx-thread__replies" data-testid="thread-replies">
            {!ready && replies.length === 0 ? (
              <Loading what="thread" />
            ) : replies.length === 0 ? (
              <EmptyState kind="thread" />
            ) : (
              replies.map((item) => (
                <div key={item.message.id} className="onyx-thread__reply">
                  {render(item, {
                    isOwn: item.message.userId === me,
                    isFirstInGroup: starts.has(item.message.id),
                    inThread: true,
                  })}
                </div>
              ))
            )}
          </div>
        </div>
        <TypingIndicator cid={cid} parentId={parentId} />
        <MessageInput cid={cid} parentId={parentId} autoFocus={autoFocus} />
      </section>
    </ComponentsProvider>
  );
}

/**
 * A selector that finds `el` again if its element is replaced: a message's tool, addressed
 * by its row's `data-message-id` and its `data-tool`. `null` for anything else.
 */
function openerAddress(el: HTMLElement): string | null {
  const tool = el.dataset.tool;
  const id = el.closest<HTMLElement>("[data-message-id]")?.dataset.messageId;
  // Message ids are UUIDs and tools plain words: nothing to escape in the selector.
  return tool && id && /^[\w-]+$/.test(tool + id) ? `[data-message-id="${id}"] [data-tool="${tool}"]` : null;
}
