import type { ConnectionState, MessageItem } from "./types.js";

/** Joins class names, skipping falsy ones. */
export function cx(...names: Array<string | false | null | undefined>): string {
  return names.filter(Boolean).join(" ");
}

function parseTime(value: string | null | undefined): Date | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** `10:23` for today, `Mon 10:23` this week, else a short date. */
export function formatTime(value: string | null | undefined, now: Date = new Date()): string {
  const date = parseTime(value);
  if (!date) return "";
  const time = date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  if (date.toDateString() === now.toDateString()) return time;
  const days = (now.getTime() - date.getTime()) / 86_400_000;
  if (days >= 0 && days < 6) {
    return `${date.toLocaleDateString(undefined, { weekday: "short" })} ${time}`;
  }
  return date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

/** Whether `b` follows `a` closely enough (same author, within 5 minutes) to be grouped. */
export function continuesGroup(a: MessageItem | undefined, b: MessageItem): boolean {
  if (!a) return false;
  if (a.message.user_id !== b.message.user_id) return false;
  const ta = parseTime(a.message.created_at);
  const tb = parseTime(b.message.created_at);
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
export function describeConnection(state: ConnectionState): string {
  switch (state.type) {
    case "connected":
      return "";
    case "connecting":
      return state.attempt > 1 ? `Connecting… (attempt ${state.attempt})` : "Connecting…";
    case "waiting_to_reconnect": {
      const seconds = Math.max(1, Math.round(state.retry_in_ms / 1000));
      return `Connection lost. Reconnecting in ${seconds}s…`;
    }
    case "waiting_for_network":
      return "You are offline. Messages will be sent when the connection is back.";
    case "disconnected":
      if (state.reason.type === "refused") return `Disconnected: ${state.reason.reason}`;
      if (state.reason.type === "background") return "Paused while in the background.";
      return "Disconnected.";
    case "auth_failed":
      return `Sign-in expired or refused: ${state.reason}`;
    default:
      return "";
  }
}

/** A one-line preview of a message (for channel lists and quotes). */
export function previewText(item: MessageItem): string {
  const m = item.message;
  if (m.deleted_at) return "Message deleted";
  const text = m.text.replace(/\s+/g, " ").trim();
  if (text) return text;
  if (m.attachments.length > 0) {
    return m.attachments.length === 1 ? "📎 Attachment" : `📎 ${m.attachments.length} attachments`;
  }
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
