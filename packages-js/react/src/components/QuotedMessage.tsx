import { useUser } from "../hooks.js";
import { useTranslation } from "../i18n/context.js";
import type { QuotedPreview } from "../types.js";
import { cx } from "../utils.js";

/**
 * The quoted message above a quote-reply: its author and text as they stand now (an edit
 * or a delete shows here too), a placeholder while an old quoted message is fetched, or a
 * note when the user may not see it.
 */
export function QuotedMessage({ quoted }: { quoted: QuotedPreview }) {
  const { t } = useTranslation();
  const user = useUser(quoted.type === "message" ? quoted.userId : "");
  let body;
  if (quoted.type === "message") {
    const text = quoted.deleted
      ? t("messageDeletedPreview")
      : quoted.text || (quoted.attachmentCount > 0 ? t("attachmentsPreview", { count: quoted.attachmentCount }) : "");
    body = (
      <>
        <span className="onyx-quote__author">{user.name}</span>
        <span className={cx("onyx-quote__text", quoted.deleted && "onyx-quote__text--deleted")}>{text}</span>
      </>
    );
  } else {
    body = <span className="onyx-quote__text onyx-quote__text--muted">{t(quoted.type === "loading" ? "quoteLoading" : "quoteUnavailable")}</span>;
  }
  return (
    <blockquote className={cx("onyx-quote", `onyx-quote--${quoted.type}`)} data-testid={`quote-${quoted.id}`}>
      {body}
    </blockquote>
  );
}
