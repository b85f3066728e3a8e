import type { CSSProperties } from "react";
import { useTranslation } from "../i18n/context.js";
import type { TranslationKey } from "../i18n/en.js";
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

const EMPTY_TEXT: Record<EmptyStateProps["kind"], TranslationKey & `empty${string}`> = {
  channels: "emptyChannels",
  messages: "emptyMessages",
  thread: "emptyThread",
};

export function EmptyState({ kind }: EmptyStateProps) {
  const { t } = useTranslation();
  return (
    <div className={cx("onyx-empty-state", `onyx-empty-state--${kind}`)} role="status">
      {t(EMPTY_TEXT[kind])}
    </div>
  );
}

export function LoadingIndicator({ what }: LoadingIndicatorProps) {
  const { t } = useTranslation();
  return (
    <div className={cx("onyx-loading", what && `onyx-loading--${what}`)} role="status" aria-live="polite">
      <span className="onyx-loading__spinner" aria-hidden="true" />
      <span className="onyx-loading__label">
        {what === "older" ? t("loadingOlder") : t("loading")}
      </span>
    </div>
  );
}
