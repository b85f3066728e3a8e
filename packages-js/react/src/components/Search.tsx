// `Search`: a search box and its results. Each hit shows its text with the matched ranges
// in `<mark>` (the ranges are data from the core, UTF-16 offsets, never HTML), whether it
// is not sent yet, and a note when the server was not reached (offline: local hits only).

import { useId, useState, type ReactNode } from "react";
import { useTranslation } from "../i18n/context.js";
import { useSearch } from "../useSearch.js";
import type { SearchHit, TextRange } from "../types.js";
import { cx } from "../utils.js";

export interface SearchProps {
  /** Only this channel. */
  cid?: string;
  /** Called when a hit is chosen (e.g. to open its channel at the message). */
  onSelect?: (hit: SearchHit) => void;
  /** The initial text. */
  initialText?: string;
  className?: string;
}

/** `text` split into plain and `<mark>`ed pieces by `ranges` (sorted, UTF-16 offsets). */
export function highlighted(text: string, ranges: readonly TextRange[]): ReactNode[] {
  const out: ReactNode[] = [];
  let at = 0;
  ranges.forEach((r, i) => {
    if (r.start < at || r.end > text.length) return;
    if (r.start > at) out.push(text.slice(at, r.start));
    out.push(<mark key={i}>{text.slice(r.start, r.end)}</mark>);
    at = r.end;
  });
  if (at < text.length) out.push(text.slice(at));
  return out;
}

/** A search box with live results (see `useSearch`). */
export function Search({ cid, onSelect, initialText = "", className }: SearchProps) {
  const { t } = useTranslation();
  const [text, setText] = useState(initialText);
  const { hits, server, loading, hasMore, loadMore } = useSearch(text, { cid });
  const listId = useId();
  return (
    <div className={cx("onyx-search", className)} data-testid="search">
      <input
        type="search"
        className="onyx-search__input"
        aria-label={t("search")}
        aria-controls={listId}
        placeholder={t("searchPlaceholder")}
        value={text}
        onChange={(e) => setText(e.target.value)}
      />
      {server?.type === "not_reached" && (
        <p className="onyx-search__note" role="status" data-testid="search-offline">
          {t("searchOffline")}
        </p>
      )}
      <ul id={listId} className="onyx-search__results" aria-label={t("search")} aria-busy={loading}>
        {hits.map((hit) => (
          <li
            key={hit.message.id}
            className={cx("onyx-search__hit", !hit.local && "onyx-search__hit--server")}
            data-message-id={hit.message.id}
            data-local={hit.local}
            data-pending={hit.pending}
          >
            <button type="button" className="onyx-search__open" onClick={() => onSelect?.(hit)}>
              <span className="onyx-search__text">{highlighted(hit.message.text, hit.highlights)}</span>
              {hit.pending && <span className="onyx-search__pending"> · {t("searchNotSent")}</span>}
            </button>
          </li>
        ))}
      </ul>
      {text.trim() !== "" && !loading && hits.length === 0 && (
        <p className="onyx-search__empty">{t("searchNoResults")}</p>
      )}
      {hasMore && (
        <button type="button" className="onyx-search__more" onClick={() => void loadMore()} disabled={loading}>
          {t("searchMore")}
        </button>
      )}
    </div>
  );
}
