import { useCallback, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import { ComponentsProvider, useChatContext, useComponentOverrides } from "../context.js";
import { useChannelList } from "../hooks.js";
import { useTranslation } from "../i18n/context.js";
import { defaultTranslator, type Translator } from "../i18n/translator.js";
import type { ChannelItem, ChannelListQuery } from "../types.js";
import { cx, previewText } from "../utils.js";
import {
  Avatar as DefaultAvatar,
  EmptyState as DefaultEmptyState,
  LoadingIndicator as DefaultLoading,
} from "./basics.js";
import type { ChannelPreviewProps, ChatComponents } from "./types.js";

/** A channel's display name: its name, else its id (a distinct one: "Conversation"). */
export function channelName(item: ChannelItem, translator: Translator = defaultTranslator): string {
  // A distinct conversation's id is a hash of its members: never worth showing.
  return item.channel.name || (item.channel.distinct ? translator.t("conversation") : item.channel.id);
}

/**
 * The default row: avatar, name, time, last message preview, unread and mention badges.
 * An `option` of the list's listbox, named by what it shows (the name first, then time,
 * preview, and the unread counts spelled out for screen readers instead of the badges).
 */
export function ChannelPreview({ item, selected, onSelect, tabIndex }: ChannelPreviewProps) {
  const { client, getUser } = useChatContext();
  const translator = useTranslation();
  const { t } = translator;
  const Avatar = useComponentOverrides().Avatar ?? DefaultAvatar;
  const { channel, unreadCount: unread, unreadMentions: mentions, lastMessage: last } = item;
  const name = channelName(item, translator);
  let preview = "";
  if (last) {
    const author =
      last.message.userId === client.userId
        ? t("you")
        : getUser(last.message.userId)?.name?.split(" ")[0] || last.message.userId;
    preview = t("previewLine", { author, text: previewText(last, translator) });
  }
  const when = last?.message.createdAt ?? channel.lastMessageAt;
  return (
    <button
      type="button"
      role="option"
      aria-selected={selected}
      tabIndex={tabIndex}
      className={cx(
        "onyx-channel-preview",
        selected && "onyx-channel-preview--selected",
        unread > 0 && "onyx-channel-preview--unread",
        item.muted && "onyx-channel-preview--muted",
      )}
      data-testid={`channel-${channel.cid}`}
      data-cid={channel.cid}
      data-selected={selected}
      data-unread={unread}
      data-muted={item.muted || undefined}
      onClick={() => onSelect?.(channel.cid, item)}
    >
      <Avatar id={channel.cid} name={name} image={channel.image} size={40} />
      <span className="onyx-channel-preview__body">
        <span className="onyx-channel-preview__top">
          <span className="onyx-channel-preview__name">{name}</span>{" "}
          <time className="onyx-channel-preview__time" dateTime={when?.toISOString()}>
            {translator.formatTime(when)}
          </time>
        </span>{" "}
        <span className="onyx-channel-preview__bottom">
          <span className="onyx-channel-preview__last">{preview || t("noMessagesYet")}</span>{" "}
          {mentions > 0 ? (
            <>
              <span className="onyx-badge onyx-badge--mention" data-testid={`mentions-${channel.cid}`} aria-hidden="true">
                @
              </span>
              <span className="onyx-sr-only">{t("unreadMentions", { count: mentions })}</span>{" "}
            </>
          ) : null}
          {unread > 0 ? (
            <>
              <span className="onyx-badge onyx-badge--unread" data-testid={`unread-${channel.cid}`} aria-hidden="true">
                {unread > 99 ? "99+" : unread}
              </span>
              <span className="onyx-sr-only">{t("unreadMessages", { count: unread })}</span>
            </>
          ) : null}
        </span>
      </span>
    </button>
  );
}

export interface ChannelListProps {
  /** How many channels (by activity) to show (default: the core's, 30). */
  limit?: number;
  /**
   * Which channels to list and in which order (wins over `limit`): type, unread only, hidden /
   * muted / archived (`"include"`, `"exclude"`, `"only"`; by default neither hidden nor
   * archived), a text filter on names, ids and member ids, `sort: "unread"`.
   */
  query?: ChannelListQuery;
  /** The open channel (highlighted). */
  selectedCid?: string | null;
  onSelect?: (cid: string, item: ChannelItem) => void;
  className?: string;
  /** Component overrides (ChannelPreview, Avatar, EmptyState, LoadingIndicator…). */
  components?: Partial<ChatComponents>;
  /** Renders one row (wins over `components.ChannelPreview`). */
  renderChannel?: (item: ChannelItem, props: ChannelPreviewProps) => ReactNode;
}

/** The keys that move the focus in the list, and where to. */
function nextIndex(key: string, current: number, count: number): number | null {
  switch (key) {
    case "ArrowDown":
      return Math.min(count - 1, current + 1);
    case "ArrowUp":
      return Math.max(0, current - 1);
    case "Home":
      return 0;
    case "End":
      return count - 1;
    default:
      return null;
  }
}

/**
 * The user's channels by activity, live (new messages move a channel to the top).
 *
 * A `listbox` named "Channels" whose options carry `aria-selected`. One row is in the Tab
 * order (the one last focused, else the selected one, else the first); Arrow Up/Down,
 * Home and End move the focus between rows, Enter or Space opens the focused one.
 */
export function ChannelList({
  limit,
  query,
  selectedCid = null,
  onSelect,
  className,
  components,
  renderChannel,
}: ChannelListProps) {
  const merged = useComponentOverrides(components);
  const Preview = merged.ChannelPreview ?? ChannelPreview;
  const EmptyState = merged.EmptyState ?? DefaultEmptyState;
  const Loading = merged.LoadingIndicator ?? DefaultLoading;
  const { t } = useTranslation();
  const { channels, ready } = useChannelList(query ?? limit);
  const [active, setActive] = useState<string | null>(null);
  const list = useRef<HTMLUListElement>(null);

  const has = (cid: string | null) => cid !== null && channels.some((c) => c.channel.cid === cid);
  const tabStop = has(active) ? active : has(selectedCid) ? selectedCid : (channels[0]?.channel.cid ?? null);

  const onKeyDown = useCallback(
    (e: KeyboardEvent<HTMLUListElement>) => {
      const rows = Array.from(list.current?.querySelectorAll<HTMLElement>("[role=option][data-cid]") ?? []);
      if (rows.length === 0) return;
      const current = rows.findIndex((row) => row === e.target || row.contains(e.target as Node));
      const next = nextIndex(e.key, current < 0 ? 0 : current, rows.length);
      if (next === null) return;
      e.preventDefault();
      const row = rows[next]!;
      row.focus();
      setActive(row.dataset.cid ?? null);
    },
    [],
  );

  let body: ReactNode;
  if (!ready && channels.length === 0) body = <Loading what="channels" />;
  else if (channels.length === 0) body = <EmptyState kind="channels" />;
  else {
    body = (
      <ul
        ref={list}
        className="onyx-channel-list__items"
        role="listbox"
        aria-label={t("channels")}
        onKeyDown={onKeyDown}
        onFocus={(e) => {
          const cid = (e.target as HTMLElement).closest<HTMLElement>("[data-cid]")?.dataset.cid;
          if (cid) setActive(cid);
        }}
      >
        {channels.map((item) => {
          const props: ChannelPreviewProps = {
            item,
            selected: item.channel.cid === selectedCid,
            tabIndex: item.channel.cid === tabStop ? 0 : -1,
            ...(onSelect ? { onSelect } : {}),
          };
          return (
            <li key={item.channel.cid} className="onyx-channel-list__item" role="presentation">
              {renderChannel ? renderChannel(item, props) : <Preview {...props} />}
            </li>
          );
        })}
      </ul>
    );
  }
  return (
    <ComponentsProvider components={merged}>
      <nav className={cx("onyx-channel-list", className)} aria-label={t("channels")} data-ready={ready}>
        {body}
      </nav>
    </ComponentsProvider>
  );
}
