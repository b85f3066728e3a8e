import type { ComponentType, ReactNode } from "react";
import type { ChannelItem, MessageItem } from "../types.js";

export interface AvatarProps {
  /** A user id or channel cid (picks the colour). */
  id: string;
  name: string;
  image?: string | null;
  /** Pixels (default 32). */
  size?: number;
  className?: string;
}

export interface EmptyStateProps {
  /** Which list is empty. */
  kind: "channels" | "messages" | "thread";
}

export interface LoadingIndicatorProps {
  /** What is loading (for the label). */
  what?: "channels" | "messages" | "older" | "thread";
}

/** How a message is placed in its list. */
export interface MessageRenderContext {
  /** Sent by the current user. */
  isOwn: boolean;
  /** Starts a run of messages by the same author (shows avatar and name). */
  isFirstInGroup: boolean;
  /** Shown in a thread panel (no thread action). */
  inThread: boolean;
  /** Opens this message's thread (absent: threads are off). */
  onOpenThread?: (item: MessageItem) => void;
  /** Starts a quote-reply to this message (absent: no quote action). */
  onQuote?: (item: MessageItem) => void;
}

export interface MessageProps extends MessageRenderContext {
  item: MessageItem;
  className?: string;
}

export interface MessageStatusProps {
  item: MessageItem;
  isOwn: boolean;
}

export interface ReactionListProps {
  item: MessageItem;
  /** Adds or removes the current user's reaction `kind`. */
  onToggle: (kind: string) => void;
}

export interface ChannelPreviewProps {
  item: ChannelItem;
  selected: boolean;
  onSelect?: (cid: string, item: ChannelItem) => void;
  /**
   * The row's `tabIndex` in the list's roving focus: 0 for the one row Tab reaches, -1 for
   * the others (arrow keys move between rows). A custom row puts it, `role="option"`,
   * `aria-selected` and `data-cid` on its focusable element to keep keyboard use.
   */
  tabIndex?: number;
}

/** Every replaceable piece of the default UI. */
export interface ChatComponents {
  Avatar: ComponentType<AvatarProps>;
  EmptyState: ComponentType<EmptyStateProps>;
  LoadingIndicator: ComponentType<LoadingIndicatorProps>;
  Message: ComponentType<MessageProps>;
  MessageStatus: ComponentType<MessageStatusProps>;
  ReactionList: ComponentType<ReactionListProps>;
  ChannelPreview: ComponentType<ChannelPreviewProps>;
}

/** A render prop for one message (wins over `components.Message`). */
export type RenderMessage = (item: MessageItem, context: MessageRenderContext) => ReactNode;
