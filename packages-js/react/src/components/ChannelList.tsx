import type { ReactNode } from "react";
import { ComponentsProvider, useChatContext, useComponentOverrides } from "../context.js";
import { useChannelList } from "../hooks.js";
import type { ChannelItem } from "../types.js";
import { cx, formatTime, previewText } from "../utils.js";
import {
  Avatar as DefaultAvatar,
  EmptyState as DefaultEmptyState,
  LoadingIndicator as DefaultLoading,
} from "./basics.js";
import type { ChannelPreviewProps, ChatComponents } from "./types.js";

/** A channel's display name: its name, else its id (a distinct one: "Conversation"). */
export function channelName(item: ChannelItem): string {
  // A distinct conversation's id is a hash of its members: never worth showing.
  return item.channel.name || (item.channel.distinct ? "Conversation" : item.channel.id);
}

/** The default row: avatar, name, time, last message preview, unread and mention badges. */
export function ChannelPreview({ item, selected, onSelect }: ChannelPreviewProps) {
  const { client, getUser } = useChatContext();
  const Avatar = useComponentOverrides().Avatar ?? DefaultAvatar;
  const { channel, unread_count: unread, unread_mentions: mentions, last_message: last } = item;
  const name = channelName(item);
  let preview = "";
  if (last) {
    const author =
      last.message.user_id === client.userId
        ? "You"
        : getUser(last.message.user_id)?.name?.split(" ")[0] || last.message.user_id;
    preview = `${author}: ${previewText(last)}`;
  }
  return (
    <button
      type="button"
      className={cx(
        "onyx-channel-preview",
        selected && "onyx-channel-preview--selected",
        unread > 0 && "onyx-channel-preview--unread",
      )}
      data-testid={`channel-${channel.cid}`}
      data-selected={selected}
      data-unread={unread}
      aria-current={selected ? "true" : undefined}
      onClick={() => onSelect?.(channel.cid, item)}
    >
      <Avatar id={channel.cid} name={name} image={channel.image} size={40} />
      <span className="onyx-channel-preview__body">
        <span className="onyx-channel-preview__top">
          <span className="onyx-channel-preview__name">{name}</span>
          <time
            className="onyx-channel-preview__time"
            dateTime={last?.message.created_at ?? channel.last_message_at ?? undefined}
          >
            {formatTime(last?.message.created_at ?? channel.last_message_at)}
          </time>
        </span>
        <span className="onyx-channel-preview__bottom">
          <span className="onyx-channel-preview__last">{preview || "No messages yet"}</span>
          {mentions > 0 ? (
            <span
              className="onyx-badge onyx-badge--mention"
              data-testid={`mentions-${channel.cid}`}
              aria-label={`${mentions} mentions`}
            >
              @
            </span>
          ) : null}
          {unread > 0 ? (
            <span
              className="onyx-badge onyx-badge--unread"
              data-testid={`unread-${channel.cid}`}
              aria-label={`${unread} unread`}
            >
              {unread > 99 ? "99+" : unread}
            </span>
          ) : null}
        </span>
      </span>
    </button>
  );
}

export interface ChannelListProps {
  /** How many channels (by activity) to show (default: the core's, 30). */
  limit?: number;
  /** The open channel (highlighted). */
  selectedCid?: string | null;
  onSelect?: (cid: string, item: ChannelItem) => void;
  className?: string;
  /** Component overrides (ChannelPreview, Avatar, EmptyState, LoadingIndicator…). */
  components?: Partial<ChatComponents>;
  /** Renders one row (wins over `components.ChannelPreview`). */
  renderChannel?: (item: ChannelItem, props: ChannelPreviewProps) => ReactNode;
}

/** The user's channels by activity, live (new messages move a channel to the top). */
export function ChannelList({
  limit,
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
  const { channels, ready } = useChannelList(limit);

  let body: ReactNode;
  if (!ready && channels.length === 0) body = <Loading what="channels" />;
  else if (channels.length === 0) body = <EmptyState kind="channels" />;
  else {
    body = (
      <ul className="onyx-channel-list__items">
        {channels.map((item) => {
          const props: ChannelPreviewProps = {
            item,
            selected: item.channel.cid === selectedCid,
            ...(onSelect ? { onSelect } : {}),
          };
          return (
            <li key={item.channel.cid} className="onyx-channel-list__item">
              {renderChannel ? renderChannel(item, props) : <Preview {...props} />}
            </li>
          );
        })}
      </ul>
    );
  }
  return (
    <ComponentsProvider components={merged}>
      <nav className={cx("onyx-channel-list", className)} aria-label="Channels" data-ready={ready}>
        {body}
      </nav>
    </ComponentsProvider>
  );
}
