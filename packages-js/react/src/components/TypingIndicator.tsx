import type { ReactNode } from "react";
import { useChatContext } from "../context.js";
import { useTyping } from "../hooks.js";
import type { TypingUser } from "../types.js";
import { useTranslation } from "../i18n/context.js";
import { defaultTranslator, type Translator } from "../i18n/translator.js";
import { cx } from "../utils.js";

export interface TypingIndicatorProps {
  cid: string;
  /** `null` (default): typing in the channel itself; an id: in that thread. */
  parentId?: string | null;
  className?: string;
  /** Renders the text (default: "Alice is typing…"). */
  render?: (users: readonly TypingUser[], names: string[]) => ReactNode;
}

/** "Alice is typing…", "Alice and Bob are typing…", "Several people are typing…". */
export function typingText(names: readonly string[], translator: Translator = defaultTranslator): string {
  const { t } = translator;
  const [first = "", second = "", third = ""] = names;
  if (names.length === 0) return "";
  if (names.length === 1) return t("typingOne", { name: first });
  if (names.length === 2) return t("typingTwo", { first, second });
  if (names.length === 3) return t("typingThree", { first, second, third });
  return t("typingMany");
}

/** Who else is typing here (always rendered, empty when nobody is, so the layout holds). */
export function TypingIndicator({ cid, parentId = null, className, render }: TypingIndicatorProps) {
  const { getUser } = useChatContext();
  const translator = useTranslation();
  const users = useTyping(cid, parentId);
  const names = users.map((u) => getUser(u.userId)?.name || u.userId);
  const active = users.length > 0;
  return (
    <div
      className={cx("onyx-typing", active && "onyx-typing--active", className)}
      data-testid="typing-indicator"
      data-active={active}
      aria-live="polite"
    >
      {active ? (
        render ? (
          render(users, names)
        ) : (
          <>
            <span className="onyx-typing__dots" aria-hidden="true">
              <span />
              <span />
              <span />
            </span>
            <span className="onyx-typing__text">{typingText(names, translator)}</span>
          </>
        )
      ) : null}
    </div>
  );
}
