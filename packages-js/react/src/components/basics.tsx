import type { CSSProperties } from "react";
import { cx, hueOf, initials } from "../utils.js";
import type { AvatarProps, EmptyStateProps, LoadingIndicatorProps } from "./types.js";

/** A picture, or initials on a colour derived from the id. */
export function Avatar({ id, name, image, size = 32, className }: AvatarProps) {
  const style = {
    width: size,
    height: size,
    "--onyx-avatar-hue": hueOf(id),
  } as CSSProperties;
  return (
    <span className={cx("onyx-avatar", className)} style={style} title={name} aria-hidden="true">
      {image ? (
        <img className="onyx-avatar__image" src={image} alt="" width={size} height={size} />
      ) : (
        <span className="onyx-avatar__initials">{initials(name)}</span>
      )}
    </span>
  );
}

const EMPTY_TEXT: Record<EmptyStateProps["kind"], string> = {
  channels: "No channels yet.",
  messages: "No messages yet. Say hello!",
  thread: "No replies yet.",
};

export function EmptyState({ kind }: EmptyStateProps) {
  return (
    <div className={cx("onyx-empty-state", `onyx-empty-state--${kind}`)} role="status">
      {EMPTY_TEXT[kind]}
    </div>
  );
}

export function LoadingIndicator({ what }: LoadingIndicatorProps) {
  return (
    <div className={cx("onyx-loading", what && `onyx-loading--${what}`)} role="status" aria-live="polite">
      <span className="onyx-loading__spinner" aria-hidden="true" />
      <span className="onyx-loading__label">
        {what === "older" ? "Loading older messages…" : "Loading…"}
      </span>
    </div>
  );
}
