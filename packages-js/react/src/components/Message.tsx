import { useCallback, useEffect, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import { useChatContext, useComponentOverrides } from "../context.js";
import { useUser } from "../hooks.js";
import type { MessageItem } from "../types.js";
import { useTranslation } from "../i18n/context.js";
import type { Translator } from "../i18n/translator.js";
import { cx, reportError } from "../utils.js";
import { Avatar as DefaultAvatar } from "./basics.js";
import { EditIcon, QuoteIcon, ReplyIcon, SmileIcon, StarIcon, TrashIcon } from "./icons.js";
import { MessageText } from "./MessageText.js";
import { QuotedMessage } from "./QuotedMessage.js";
import type { MessageProps, MessageStatusProps, ReactionListProps } from "./types.js";

/** The translation keys naming the default reactions. */
const REACTION_NAMES: Readonly<Record<string, "reactionLike" | "reactionLove" | "reactionHaha" | "reactionWow" | "reactionSad">> = {
  like: "reactionLike",
  love: "reactionLove",
  haha: "reactionHaha",
  wow: "reactionWow",
  sad: "reactionSad",
};

/** A reaction's name: its label, else the translation of a built-in kind, else the kind. */
function reactionName(kind: string, label: string | undefined, { t }: Translator): string {
  if (label) return label;
  const key = REACTION_NAMES[kind];
  return key ? t(key) : kind;
}

/** Whether the message waits for (or failed) the server. */
export function isFailed(item: MessageItem): boolean {
  return item.state.type === "failed" || item.state.type === "update_failed";
}

/**
 * The delivery line under a message: queued/sending/saving, or the failure with Retry and
 * Discard (which call `client.retry(opId)` / `client.discard(opId)`).
 */
export function MessageStatus({ item }: MessageStatusProps) {
  const { client, onError } = useChatContext();
  const { t } = useTranslation();
  const state = item.state;
  switch (state.type) {
    case "sent":
      return null;
    case "pending":
      return <div className="onyx-message-status onyx-message-status--pending">{t("waitingToSend")}</div>;
    case "sending":
      return <div className="onyx-message-status onyx-message-status--sending">{t("sending")}</div>;
    case "editing":
      return <div className="onyx-message-status onyx-message-status--editing">{t("saving")}</div>;
    case "deleting":
      return <div className="onyx-message-status onyx-message-status--deleting">{t("deleting")}</div>;
    case "failed":
    case "update_failed": {
      const opId = state.opId;
      const what = state.type === "failed" ? t("notSent") : t("changeNotSaved");
      return (
        <div
          className={cx("onyx-message-status", "onyx-message-status--failed")}
          role="alert"
          data-testid={`message-failure-${item.message.id}`}
        >
          <span className="onyx-message-status__reason">
            {state.failure.reason ? t("failureWithReason", { what, reason: state.failure.reason }) : what}
          </span>
          <button
            type="button"
            className="onyx-button onyx-button--link onyx-message-status__retry"
            data-testid={`retry-${item.message.id}`}
            onClick={() => {
              client.retry(opId).catch(reportError(onError, "retry"));
            }}
          >
            {t("retry")}
          </button>
          <button
            type="button"
            className="onyx-button onyx-button--link onyx-message-status__discard"
            data-testid={`discard-${item.message.id}`}
            onClick={() => {
              client.discard(opId).catch(reportError(onError, "discard"));
            }}
          >
            {t("discard")}
          </button>
        </div>
      );
    }
    default:
      return null;
  }
}

/** The reaction counts under a message; the user's own reactions are highlighted. */
export function ReactionList({ item, onToggle }: ReactionListProps) {
  const { reactions } = useChatContext();
  const translator = useTranslation();
  const { t } = translator;
  const counts = Object.entries(item.message.reactionCounts).filter(([, n]) => n > 0);
  if (counts.length === 0) return null;
  const emojiOf = (kind: string) => reactions.find((r) => r.kind === kind)?.emoji ?? kind;
  const nameOf = (kind: string) => reactionName(kind, reactions.find((r) => r.kind === kind)?.label, translator);
  return (
    <ul className="onyx-reactions" aria-label={t("reactionsLabel")}>
      {counts.map(([kind, count]) => {
        const mine = item.ownReactions.includes(kind);
        return (
          <li key={kind}>
            <button
              type="button"
              className={cx("onyx-reaction", mine && "onyx-reaction--own")}
              aria-pressed={mine}
              title={mine ? t("removeReaction", { reaction: nameOf(kind) }) : t("addReactionOf", { reaction: nameOf(kind) })}
              aria-label={t("reactionCount", { reaction: nameOf(kind), count })}
              data-testid={`reaction-${item.message.id}-${kind}`}
              onClick={() => onToggle(kind)}
            >
              <span className="onyx-reaction__emoji" aria-hidden="true">
                {emojiOf(kind)}
              </span>
              <span className="onyx-reaction__count">{count}</span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

function EditBox({ item, onDone }: { item: MessageItem; onDone: () => void }) {
  const { client, onError } = useChatContext();
  const { t } = useTranslation();
  const [text, setText] = useState(item.message.text);
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (el) {
      el.focus();
      el.setSelectionRange(el.value.length, el.value.length);
    }
  }, []);
  const save = () => {
    const next = text.trim();
    if (next && next !== item.message.text) {
      client.editMessage(item.message.id, next).catch(reportError(onError, "edit"));
    }
    onDone();
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      save();
    } else if (e.key === "Escape") {
      e.preventDefault();
      onDone();
    }
  };
  return (
    <div className="onyx-message__edit">
      <textarea
        ref={ref}
        className="onyx-message__edit-input"
        value={text}
        rows={2}
        aria-label={t("editMessage")}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
      />
      <div className="onyx-message__edit-actions">
        <button type="button" className="onyx-button" onClick={onDone}>
          {t("cancel")}
        </button>
        <button type="button" className="onyx-button onyx-button--primary" onClick={save}>
          {t("save")}
        </button>
      </div>
    </div>
  );
}

/**
 * The default message: avatar and name (first of a group), text, reactions, the delivery
 * status with Retry/Discard, and hover actions (react, reply in thread, edit, delete).
 */
export function Message({
  item,
  isOwn,
  isFirstInGroup,
  inThread,
  onOpenThread,
  onQuote,
  className,
}: MessageProps) {
  const { client, reactions, onError } = useChatContext();
  const translator = useTranslation();
  const { t } = translator;
  const overrides = useComponentOverrides(undefined);
  const Avatar = overrides.Avatar ?? DefaultAvatar;
  const Status = overrides.MessageStatus ?? MessageStatus;
  const Reactions = overrides.ReactionList ?? ReactionList;
  const m = item.message;
  const user = useUser(m.userId);
  const [editing, setEditing] = useState(false);
  const [picking, setPicking] = useState(false);
  const deleted = m.deletedAt != null;

  const toggleReaction = useCallback(
    (kind: string) => {
      const call = item.ownReactions.includes(kind)
        ? client.removeReaction(m.id, kind)
        : client.addReaction(m.id, kind);
      call.catch(reportError(onError, "reaction"));
    },
    [client, onError, item.ownReactions, m.id],
  );

  const toggleStar = useCallback(() => {
    const call = item.starred ? client.unstarMessage(m.id) : client.starMessage(m.id);
    call.catch(reportError(onError, "star"));
  }, [client, onError, item.starred, m.id]);

  const canThread = !!onOpenThread && !inThread && m.parentId == null && !deleted;

  // The actions are a toolbar: one Tab stop (the last one used), arrows move within it.
  const canQuote = !!onQuote && !deleted && !isFailed(item);
  const tools = ["react", "star", canQuote && "quote", canThread && "reply", isOwn && "edit", isOwn && "delete"].filter(
    (x): x is string => typeof x === "string",
  );
  const [tool, setTool] = useState("react");
  const stop = tools.includes(tool) ? tool : "react";
  const toolTab = (name: string) => (name === stop ? 0 : -1);
  const onToolbarKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const buttons = Array.from(e.currentTarget.querySelectorAll<HTMLButtonElement>(":scope > button[data-tool]"));
    const at = buttons.findIndex((b) => b === e.target);
    if (at < 0) return; // e.g. in the reaction picker
    const n = buttons.length;
    const next =
      e.key === "ArrowRight" ? (at + 1) % n
      : e.key === "ArrowLeft" ? (at - 1 + n) % n
      : e.key === "Home" ? 0
      : e.key === "End" ? n - 1
      : null;
    if (next === null) return;
    e.preventDefault();
    const button = buttons[next]!;
    button.focus();
    setTool(button.dataset.tool ?? "react");
  };
  const edited = m.editedAt != null && !deleted;
  const author = isOwn ? t("you") : user.name;
  const time = translator.formatTime(m.createdAt);

  return (
    <div
      className={cx(
        "onyx-message",
        isOwn && "onyx-message--own",
        isFirstInGroup ? "onyx-message--first" : "onyx-message--grouped",
        `onyx-message--${item.state.type}`,
        deleted && "onyx-message--deleted",
        className,
      )}
      role="article"
      aria-label={t("messageLabel", { author, time })}
      data-testid={`message-${m.id}`}
      data-state={item.state.type}
      data-message-id={m.id}
    >
      <div className="onyx-message__gutter">
        {isFirstInGroup ? <Avatar id={m.userId} name={user.name} image={user.image} /> : null}
      </div>
      <div className="onyx-message__main">
        {isFirstInGroup ? (
          <div className="onyx-message__header">
            <span className="onyx-message__author">{author}</span>
            <time className="onyx-message__time" dateTime={m.createdAt.toISOString()}>
              {time}
            </time>
          </div>
        ) : null}
        {item.quoted && !deleted ? <QuotedMessage quoted={item.quoted} /> : null}
        {editing ? (
          <EditBox item={item} onDone={() => setEditing(false)} />
        ) : (
          <div className="onyx-message__text" data-testid={`message-text-${m.id}`}>
            {deleted ? <em>{t("messageDeleted")}</em> : <MessageText text={m.text} />}
            {edited ? <span className="onyx-message__edited"> {t("edited")}</span> : null}
          </div>
        )}
        {!deleted && m.attachments.length > 0 ? (
          <div className="onyx-message__attachments">
            📎 {t("attachments", { count: m.attachments.length })}
          </div>
        ) : null}
        {!deleted ? <Reactions item={item} onToggle={toggleReaction} /> : null}
        {canThread && m.replyCount > 0 ? (
          <button
            type="button"
            className="onyx-button onyx-button--link onyx-message__replies"
            data-testid={`replies-${m.id}`}
            data-tool="replies"
            onClick={() => onOpenThread?.(item)}
          >
            {t("replies", { count: m.replyCount })}
          </button>
        ) : null}
        <Status item={item} isOwn={isOwn} />
      </div>
      {!deleted && !editing ? (
        <div className="onyx-message__actions" role="toolbar" aria-label={t("messageActions")} onKeyDown={onToolbarKeyDown}>
          <ToolButton
            tool="react"
            label={t("addReaction")}
            testId={`react-${m.id}`}
            tabIndex={toolTab("react")}
            aria-expanded={picking}
            onClick={() => setPicking((p) => !p)}
          >
            <SmileIcon />
          </ToolButton>
          <ToolButton
            tool="star"
            label={t("starMessage")}
            title={t(item.starred ? "unstarMessage" : "starMessage")}
            testId={`star-${m.id}`}
            tabIndex={toolTab("star")}
            on={item.starred}
            aria-pressed={item.starred}
            onClick={toggleStar}
          >
            <StarIcon filled={item.starred} />
          </ToolButton>
          {canQuote ? (
            <ToolButton tool="quote" label={t("quoteMessage")} testId={`quote-action-${m.id}`} tabIndex={toolTab("quote")} onClick={() => onQuote?.(item)}>
              <QuoteIcon />
            </ToolButton>
          ) : null}
          {canThread ? (
            <ToolButton tool="reply" label={t("replyInThread")} testId={`reply-${m.id}`} tabIndex={toolTab("reply")} onClick={() => onOpenThread?.(item)}>
              <ReplyIcon />
            </ToolButton>
          ) : null}
          {isOwn ? (
            <>
              <ToolButton
                tool="edit"
                label={t("editMessage")}
                title={t("edit")}
                testId={`edit-${m.id}`}
                tabIndex={toolTab("edit")}
                onClick={() => setEditing(true)}
              >
                <EditIcon />
              </ToolButton>
              <ToolButton
                tool="delete"
                label={t("deleteMessage")}
                testId={`delete-${m.id}`}
                tabIndex={toolTab("delete")}
                danger
                onClick={() => {
                  client.deleteMessage(m.id).catch(reportError(onError, "delete"));
                }}
              >
                <TrashIcon />
              </ToolButton>
            </>
          ) : null}
          {picking ? (
            <div className="onyx-reaction-picker" role="menu" aria-label={t("pickReaction")}>
              {reactions.map((r) => (
                <button
                  key={r.kind}
                  type="button"
                  role="menuitemcheckbox"
                  aria-checked={item.ownReactions.includes(r.kind)}
                  className={cx(
                    "onyx-reaction-picker__option",
                    item.ownReactions.includes(r.kind) && "onyx-reaction-picker__option--own",
                  )}
                  title={reactionName(r.kind, r.label, translator)}
                  aria-label={reactionName(r.kind, r.label, translator)}
                  data-testid={`react-${m.id}-${r.kind}`}
                  onClick={() => {
                    toggleReaction(r.kind);
                    setPicking(false);
                  }}
                >
                  {r.emoji}
                </button>
              ))}
            </div>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

/** One button of a message's action toolbar (`data-tool` names it for the roving Tab stop). */
function ToolButton({
  tool,
  label,
  title = label,
  testId,
  tabIndex,
  on = false,
  danger = false,
  onClick,
  children,
  ...aria
}: {
  tool: string;
  label: string;
  title?: string;
  testId: string;
  tabIndex: number;
  on?: boolean;
  danger?: boolean;
  onClick: () => void;
  children: ReactNode;
  "aria-expanded"?: boolean;
  "aria-pressed"?: boolean;
}) {
  return (
    <button
      type="button"
      className={cx("onyx-icon-button", on && "onyx-icon-button--on", danger && "onyx-icon-button--danger")}
      title={title}
      aria-label={label}
      data-testid={testId}
      data-tool={tool}
      tabIndex={tabIndex}
      onClick={onClick}
      {...aria}
    >
      {children}
    </button>
  );
}
