import { defaultTranslator, type Translator } from "./i18n/translator.js";
import type { ConnectionState, MessageItem } from "./types.js";

/** Joins class names, skipping falsy ones. */
export function cx(...names: Array<string | false | null | undefined>): string {
  return names.filter(Boolean).join(" ");
}

function parseTime(value: Date | string | null | undefined): Date | null {
  if (!value) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * `10:23` for today, `Mon 10:23` this week, else a short date (of a `Date` such as
 * `message.createdAt`, or an ISO string), in the translator's locale
 * (default English; components use `useTranslation().formatTime`).
 */
export function formatTime(
  value: Date | string | null | undefined,
  now: Date = new Date(),
  translator: Translator = defaultTranslator,
): string {
  return translator.formatTime(value, now);
}

/** Whether `b` follows `a` closely enough (same author, within 5 minutes) to be grouped. */
export function continuesGroup(a: MessageItem | undefined, b: MessageItem): boolean {
  if (!a) return false;
  if (a.message.userId !== b.message.userId) return false;
  const ta = parseTime(a.message.createdAt);
  const tb = parseTime(b.message.createdAt);
  if (!ta || !tb) return true;
  return Math.abs(tb.getTime() - ta.getTime()) < 5 * 60_000;
}

/** The ids of the messages that start an author group. */
export function groupStarts(items: readonly MessageItem[]): Set<string> {
  const starts = new Set<string>();
  items.forEach((item, i) => {
    if (!continuesGroup(items[i - 1], item)) starts.add(item.message.id);
  });
  return starts;
}

/** A short human text for a connection state (empty when connected). */
export function describeConnection(state: ConnectionState, translator: Translator = defaultTranslator): string {
  const { t } = translator;
  switch (state.type) {
    case "connected":
      return "";
    case "connecting":
      return state.attempt > 1 ? t("connectingAttempt", { attempt: state.attempt }) : t("connecting");
    case "waiting_to_reconnect":
      return t("reconnectingIn", { count: Math.max(1, Math.round(state.retryInMs / 1000)) });
    case "waiting_for_network":
      return t("offline");
    case "disconnected":
      if (state.reason.type === "refused") return t("disconnectedRefused", { reason: state.reason.reason });
      if (state.reason.type === "background") return t("pausedInBackground");
      return t("disconnected");
    case "auth_failed":
      return t("authFailed", { reason: state.reason });
    default:
      return "";
  }
}

/** A one-line preview of a message (for channel lists and quotes). */
export function previewText(item: MessageItem, translator: Translator = defaultTranslator): string {
  const m = item.message;
  if (m.deletedAt) return translator.t("messageDeletedPreview");
  const text = m.text.replace(/\s+/g, " ").trim();
  if (text) return text;
  if (m.attachments.length > 0) return translator.t("attachmentsPreview", { count: m.attachments.length });
  return "";
}

/** A stable hue (0–359) for a string, for avatar colours. */
export function hueOf(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return h % 360;
}

/** Up to two initials of a name. */
export function initials(name: string): string {
  const parts = name.trim().split(/[\s_\-.]+/).filter(Boolean);
  const first = parts[0]?.[0] ?? "?";
  const second = parts.length > 1 ? (parts[parts.length - 1]?.[0] ?? "") : "";
  return (first + second).toUpperCase();
}

/** Reports a rejected UI action without an unhandled rejection. */
export function reportError(onError: ((error: unknown, action: string) => void) | undefined, action: string) {
  return (error: unknown) => {
    if (onError) onError(error, action);
    else console.error(`OnyxChat: ${action} failed`, error);
  };
}
