import type { ReactNode } from "react";
import { useChatContext } from "../context.js";
import { useConnectionState } from "../hooks.js";
import { useTranslation } from "../i18n/context.js";
import type { ConnectionState } from "../types.js";
import { cx, describeConnection, reportError } from "../utils.js";

export interface ConnectionBannerProps {
  className?: string;
  /** Renders the content (default: a sentence and, when waiting, "Reconnect now"). */
  render?: (state: ConnectionState) => ReactNode;
}

/**
 * A slim banner while not connected. Always rendered with `data-state` (the state's
 * `type`); empty, and hidden by the theme, while connected. A polite live region
 * (`role="status"`), so screen readers announce connection changes.
 */
export function ConnectionBanner({ className, render }: ConnectionBannerProps) {
  const { client, onError } = useChatContext();
  const state = useConnectionState();
  const translator = useTranslation();
  const connected = state.type === "connected";
  const canRetry = state.type === "waiting_to_reconnect" || state.type === "disconnected";
  return (
    <div
      className={cx(
        "onyx-connection-banner",
        `onyx-connection-banner--${state.type}`,
        className,
      )}
      data-testid="connection-state"
      data-state={state.type}
      role="status"
      aria-live="polite"
    >
      {render ? (
        render(state)
      ) : connected ? null : (
        <>
          <span className="onyx-connection-banner__text">{describeConnection(state, translator)}</span>
          {canRetry ? (
            <button
              type="button"
              className="onyx-button onyx-button--link onyx-connection-banner__retry"
              onClick={() => {
                client.reconnect().catch(reportError(onError, "reconnect"));
              }}
            >
              {translator.t("reconnectNow")}
            </button>
          ) : null}
        </>
      )}
    </div>
  );
}
