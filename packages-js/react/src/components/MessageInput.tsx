import {
  useCallback,
  useEffect,
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
import { cx, reportError } from "../utils.js";

/** How often, at most, keystrokes re-announce typing (the core throttles too). */
const TYPING_EVERY_MS = 2_000;

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
  /** Sends instead of `client.sendMessage` (e.g. to add mentions or attachments). */
  onSend?: (text: string) => Promise<unknown> | unknown;
  /** Called with the new message's id once the core stored it. */
  onSent?: (messageId: string) => void;
  /** Replaces the send button (call `send()` to send). */
  renderSendButton?: (props: { send: () => void; disabled: boolean }) => ReactNode;
}

/**
 * A textarea that grows with its text: Enter sends, Shift+Enter adds a line. Sending
 * never waits for the network: the core stores the message (shown at once as pending)
 * and delivers it in the background, so the box is cleared immediately.
 */
export function MessageInput({
  cid,
  parentId = null,
  placeholder,
  className,
  autoFocus,
  disabled = false,
  typing = true,
  onSend,
  onSent,
  renderSendButton,
}: MessageInputProps) {
  const { client, onError } = useChatContext();
  const { t } = useTranslation();
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const ref = useRef<HTMLTextAreaElement>(null);

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

  // Grow with the text (the theme caps it with max-height).
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
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
    setText("");
    setError(null);
    stopTyping();
    const sent = onSend
      ? Promise.resolve(onSend(body))
      : client.sendMessage(cid, parentId ? { text: body, parentId } : body);
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
  }, [text, disabled, stopTyping, onSend, client, cid, parentId, onSent, onError]);

  const onChange = (e: ChangeEvent<HTMLTextAreaElement>) => {
    const value = e.target.value;
    setText(value);
    if (error) setError(null);
    if (value.trim()) startTyping();
    else stopTyping();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
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
    <form className={cx("onyx-message-input", className)} onSubmit={onSubmit}>
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
        onBlur={stopTyping}
      />
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
