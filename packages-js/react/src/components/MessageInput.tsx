import {
  useCallback,
  useEffect,
  useId,
  useLayoutEffect,
  useRef,
  useState,
  type ChangeEvent,
  type FormEvent,
  type KeyboardEvent,
  type ReactNode,
} from "react";
import { useChatContext } from "../context.js";
import { useTranslation } from "../i18n/context.js";
import type { MemberItem, MessageItem } from "../types.js";
import { useUser } from "../hooks.js";
import { cx, reportError } from "../utils.js";
import { CloseIcon } from "./icons.js";
import { applyMention, findMentionQuery, mentionedIn, type MentionQuery } from "./mentions.js";
import { MentionSuggestions, optionId } from "./MentionSuggestions.js";

/** How often, at most, keystrokes re-announce typing (the core throttles too). */
const TYPING_EVERY_MS = 2_000;
/** How long typing pauses before the draft is saved. */
const DRAFT_SAVE_MS = 400;
/** How many `@` suggestions show at most. */
const MENTION_SUGGESTIONS = 8;

export interface MessageInputProps {
  cid: string;
  /** Replies in this thread. */
  parentId?: string | null;
  placeholder?: string;
  className?: string;
  autoFocus?: boolean;
  disabled?: boolean;
  /** Announces typing to the channel (default true). */
  typing?: boolean;
  /**
   * The message this one quotes (a quote-reply), shown above the box with a cancel button;
   * sent as `quotedMessageId`. The app keeps it (e.g. from `MessageList`'s `onQuote`).
   */
  quoting?: MessageItem | null;
  /** The quote is done with: the message was sent, or the user cancelled it. */
  onQuoteEnd?: () => void;
  /**
   * Keeps the text as the channel's (or thread's) draft across reloads: put back when the
   * box opens, saved while typing, deleted by sending (default true, when the client can).
   */
  drafts?: boolean;
  /** Offers `@` suggestions from the channel's members (default true, when the client can). */
  mentions?: boolean;
  /**
   * Sends instead of `client.sendMessage` (e.g. to add attachments); `mentionedUsers` are the
   * members picked from the `@` suggestions that the text still mentions.
   */
  onSend?: (text: string, mentionedUsers: string[]) => Promise<unknown> | unknown;
  /** Called with the new message's id once the core stored it. */
  onSent?: (messageId: string) => void;
  /** Replaces the send button (call `send()` to send). */
  renderSendButton?: (props: { send: () => void; disabled: boolean }) => ReactNode;
}

/**
 * A textarea that grows with its text: Enter sends, Shift+Enter adds a line. Sending
 * never waits for the network: the core stores the message (shown at once as pending)
 * and delivers it in the background, so the box is cleared immediately.
 *
 * Typing `@` opens suggestions from the channel's members (local, most recently active
 * first) in a listbox the textarea controls (`aria-controls`, `aria-activedescendant`):
 * arrows move, Enter or Tab picks, Escape closes; a picked member is sent in the
 * message's `mentionedUsers` while the text still mentions them.
 */
export function MessageInput({
  cid,
  parentId = null,
  placeholder,
  className,
  autoFocus,
  disabled = false,
  typing = true,
  mentions = true,
  drafts = true,
  quoting = null,
  onQuoteEnd,
  onSend,
  onSent,
  renderSendButton,
}: MessageInputProps) {
  const { client, onError } = useChatContext();
  const { t } = useTranslation();
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const ref = useRef<HTMLTextAreaElement>(null);

  // Mentions: the query at the caret, its suggestions (the newest answer wins) and who was picked.
  const listId = useId();
  const [query, setQuery] = useState<MentionQuery | null>(null);
  const [candidates, setCandidates] = useState<readonly MemberItem[]>([]);
  const [active, setActive] = useState(0);
  const picked = useRef(new Set<string>());
  // Where the caret goes once a pick's text is rendered (set before the next keystroke).
  const caretAfterPick = useRef<number | null>(null);
  const asked = useRef(0);
  const canSuggest = mentions && typeof client.mentionCandidates === "function";
  const prefix = query?.prefix;
  useEffect(() => {
    const n = ++asked.current;
    if (prefix === undefined || !canSuggest) {
      setCandidates([]);
      return;
    }
    client.mentionCandidates!(cid, prefix, MENTION_SUGGESTIONS).then(
      (found) => {
        if (n !== asked.current) return;
        setCandidates(found);
        setActive(0);
      },
      reportError(onError, "mention suggestions"),
    );
  }, [prefix, canSuggest, client, cid, onError]);
  const suggesting = query !== null && candidates.length > 0;
  const follow = (value: string, caret: number | null) => setQuery(caret === null ? null : findMentionQuery(value, caret));
  const pick = (userId: string) => {
    if (!query) return;
    const next = applyMention(text, query, userId);
    picked.current.add(userId);
    setText(next.text);
    if (keepsDrafts) unsaved.current = next.text;
    setQuery(null);
    caretAfterPick.current = next.caret;
    ref.current?.focus();
  };

  // Typing: announced on input (throttled), withdrawn on send, blur, empty text, unmount.
  const typingSince = useRef<number | null>(null);
  const typingTarget = useRef({ cid, parentId });
  const stopTyping = useCallback(() => {
    if (typingSince.current === null) return;
    typingSince.current = null;
    const target = typingTarget.current;
    client.stopTyping(target.cid, target.parentId ?? undefined).catch(reportError(onError, "stop typing"));
  }, [client, onError]);
  const startTyping = useCallback(() => {
    if (!typing) return;
    const now = Date.now();
    if (typingSince.current !== null && now - typingSince.current < TYPING_EVERY_MS) return;
    typingSince.current = now;
    typingTarget.current = { cid, parentId };
    client.startTyping(cid, parentId ?? undefined).catch(reportError(onError, "start typing"));
  }, [client, onError, typing, cid, parentId]);
  // A new channel or thread: withdraw from the old one (and on unmount).
  useEffect(() => stopTyping, [stopTyping, cid, parentId]);

  // Drafts: put back once when the box opens (unless the user typed first), saved after a
  // pause and when the box goes away; sending deletes the draft in the core.
  const keepsDrafts = drafts && typeof client.setDraft === "function" && typeof client.draft === "function";
  const touched = useRef(false);
  const unsaved = useRef<string | null>(null);
  useEffect(() => {
    if (!keepsDrafts) return;
    let live = true;
    client.draft!(cid, parentId).then((d) => {
      if (live && d && !touched.current) setText(d.text);
    }, reportError(onError, "draft"));
    return () => {
      live = false;
    };
  }, [keepsDrafts, client, cid, parentId, onError]);
  const saveDraft = useCallback(() => {
    const pending = unsaved.current;
    if (pending === null || !keepsDrafts) return;
    unsaved.current = null;
    client.setDraft!(cid, parentId, pending).catch(reportError(onError, "draft"));
  }, [keepsDrafts, client, cid, parentId, onError]);
  useEffect(() => {
    if (unsaved.current === null) return;
    const timer = setTimeout(saveDraft, DRAFT_SAVE_MS);
    return () => clearTimeout(timer);
  }, [text, saveDraft]);
  useEffect(() => saveDraft, [saveDraft]);

  // Grow with the text (the theme caps it with max-height); place the caret after a pick.
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (caretAfterPick.current !== null) {
      el.setSelectionRange(caretAfterPick.current, caretAfterPick.current);
      caretAfterPick.current = null;
    }
    el.style.height = "auto";
    if (el.scrollHeight > 0) {
      // scrollHeight leaves out the borders, which a border-box height includes.
      const borders = el.offsetHeight - el.clientHeight;
      el.style.height = `${el.scrollHeight + Math.max(0, borders)}px`;
    }
  }, [text]);

  const send = useCallback(() => {
    const body = text.trim();
    if (!body || disabled) return;
    const mentionedUsers = mentionedIn(body, picked.current);
    setText("");
    unsaved.current = null; // the core deletes the draft with the send
    setError(null);
    setQuery(null);
    picked.current = new Set();
    stopTyping();
    const quotedMessageId = quoting?.message.id;
    const message =
      parentId || mentionedUsers.length > 0 || quotedMessageId
        ? {
            text: body,
            ...(parentId ? { parentId } : {}),
            ...(quotedMessageId ? { quotedMessageId } : {}),
            ...(mentionedUsers.length > 0 ? { mentionedUsers } : {}),
          }
        : body;
    if (quotedMessageId) onQuoteEnd?.();
    const sent = onSend ? Promise.resolve(onSend(body, mentionedUsers)) : client.sendMessage(cid, message);
    sent.then(
      (id) => {
        if (typeof id === "string") onSent?.(id);
      },
      (err: unknown) => {
        // Refused before it was stored (e.g. invalid input): give the text back.
        setText((current) => (current ? current : body));
        setError(err instanceof Error ? err.message : String(err));
        reportError(onError, "send")(err);
      },
    );
    ref.current?.focus();
  }, [text, disabled, stopTyping, onSend, client, cid, parentId, quoting, onQuoteEnd, onSent, onError]);

  const onChange = (e: ChangeEvent<HTMLTextAreaElement>) => {
    const value = e.target.value;
    setText(value);
    touched.current = true;
    if (keepsDrafts) unsaved.current = value;
    follow(value, e.target.selectionStart);
    if (error) setError(null);
    if (value.trim()) startTyping();
    else stopTyping();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (suggesting && !e.nativeEvent.isComposing) {
      const n = candidates.length;
      const move = e.key === "ArrowDown" ? 1 : e.key === "ArrowUp" ? -1 : 0;
      if (move !== 0) {
        e.preventDefault();
        setActive((a) => (a + move + n) % n);
        return;
      }
      if ((e.key === "Enter" && !e.shiftKey) || e.key === "Tab") {
        e.preventDefault();
        pick(candidates[Math.min(active, n - 1)]!.userId);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        setQuery(null);
        return;
      }
    }
    if (e.key === "Escape" && quoting && onQuoteEnd) {
      e.preventDefault();
      onQuoteEnd();
      return;
    }
    if (e.key !== "Enter" || e.shiftKey || e.nativeEvent.isComposing) return;
    e.preventDefault();
    send();
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    send();
  };

  const cannotSend = disabled || text.trim() === "";
  return (
    <form className={cx("onyx-message-input", className, quoting && "onyx-message-input--quoting")} onSubmit={onSubmit}>
      {quoting ? <QuotingBar item={quoting} onCancel={onQuoteEnd} /> : null}
      <textarea
        ref={ref}
        className="onyx-message-input__textarea"
        data-testid="message-input"
        rows={1}
        value={text}
        placeholder={placeholder ?? (parentId ? t("replyPlaceholder") : t("messagePlaceholder"))}
        aria-label={parentId ? t("replyInputLabel") : t("messageInputLabel")}
        autoFocus={autoFocus}
        disabled={disabled}
        onChange={onChange}
        onKeyDown={onKeyDown}
        onSelect={(e) => follow(e.currentTarget.value, e.currentTarget.selectionStart)}
        onBlur={() => {
          stopTyping();
          setQuery(null);
        }}
        // A multi-line textbox keeps its role (ARIA's combobox is single-line); it still
        // names the list it controls and its active option (as GitHub's composer does).
        aria-autocomplete={canSuggest ? "list" : undefined}
        aria-controls={suggesting ? listId : undefined}
        aria-activedescendant={suggesting ? optionId(listId, candidates[Math.min(active, candidates.length - 1)]!.userId) : undefined}
      />
      {suggesting ? (
        <MentionSuggestions id={listId} candidates={candidates} active={active} onPick={pick} label={t("mentionSuggestions")} />
      ) : null}
      {renderSendButton ? (
        renderSendButton({ send, disabled: cannotSend })
      ) : (
        <button
          type="submit"
          className="onyx-button onyx-button--primary onyx-message-input__send"
          data-testid="send-button"
          disabled={cannotSend}
        >
          {t("send")}
        </button>
      )}
      {error ? (
        <div className="onyx-message-input__error" role="alert">
          {error}
        </div>
      ) : null}
    </form>
  );
}

/** What the box is replying to: the quoted message's author and text, and a cancel button. */
function QuotingBar({ item, onCancel }: { item: MessageItem; onCancel?: (() => void) | undefined }) {
  const { t } = useTranslation();
  const user = useUser(item.message.userId);
  return (
    <div className="onyx-message-input__quoting" data-testid="quoting" role="group" aria-label={t("quotingLabel", { author: user.name })}>
      <span className="onyx-quote__author">{t("quotingLabel", { author: user.name })}</span>
      <span className="onyx-quote__text">{item.message.text}</span>
      {onCancel ? (
        <button type="button" className="onyx-icon-button" title={t("cancelQuote")} aria-label={t("cancelQuote")} data-testid="cancel-quote" onClick={onCancel}>
          <CloseIcon />
        </button>
      ) : null}
    </div>
  );
}
