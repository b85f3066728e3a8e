// The row rendering of a top-level message list, shared by `MessageList` and
// `MessageListSnapshot`: both must paint a row with the same markup (the snapshot is
// swapped for the live list in one commit without moving a pixel).
//
// Rules: a row is `renderMessage(item, context)` when given, else the `Message` component
// (the default or `components.Message`); the context says whether the row is the user's
// own, whether it starts a group (`starts`), that it is not in a thread, and carries
// `onOpenThread` and `onQuote` when given.

import { useCallback, type ComponentType, type ReactNode } from "react";
import type { MessageItem } from "../types.js";
import type { MessageRenderContext, RenderMessage } from "./types.js";

/** What a list needs to render its rows. */
export interface RowRendering {
  /** The signed-in user's id. */
  me: string;
  /** Ids of the rows that start a group (`groupStarts`). */
  starts: ReadonlySet<string>;
  /** The message component to render a row with. */
  Message: ComponentType<{ item: MessageItem } & MessageRenderContext>;
  onOpenThread?: ((item: MessageItem) => void) | undefined;
  onQuote?: ((item: MessageItem) => void) | undefined;
  renderMessage?: RenderMessage | undefined;
}

/** The `(index, item) => row` function of a top-level message list (stable while its inputs are). */
export function useRowRenderer({ me, starts, Message, onOpenThread, onQuote, renderMessage }: RowRendering) {
  return useCallback(
    (_index: number, item: MessageItem): ReactNode => {
      const context: MessageRenderContext = {
        isOwn: item.message.userId === me,
        isFirstInGroup: starts.has(item.message.id),
        inThread: false,
        ...(onOpenThread ? { onOpenThread } : {}),
        ...(onQuote ? { onQuote } : {}),
      };
      if (renderMessage) return renderMessage(item, context);
      return <Message item={item} {...context} />;
    },
    [me, starts, onOpenThread, onQuote, renderMessage, Message],
  );
}
