/**
 * The text side of `@` mentions in the message input: finding the `@prefix` being typed at
 * the caret, replacing it with the chosen member, and listing who a text mentions.
 * A mention starts at the beginning of the text or after whitespace; its prefix is the
 * characters a user id may hold (letters, digits, `_`, `-`, `.`, `@`) up to the caret.
 */

/** The `@prefix` being typed: where its `@` is and what follows it up to the caret. */
export interface MentionQuery {
  /** Index of the `@`. */
  start: number;
  /** The typed part after `@` (may be empty). */
  prefix: string;
}

const ID_CHARS = /^[\p{L}\p{N}_.@-]*$/u;

/** The mention being typed at `caret`, if any. */
export function findMentionQuery(text: string, caret: number): MentionQuery | null {
  const before = text.slice(0, caret);
  const at = before.lastIndexOf("@");
  if (at < 0) return null;
  if (at > 0 && !/\s/u.test(before[at - 1]!)) return null;
  const prefix = before.slice(at + 1);
  if (!ID_CHARS.test(prefix) || prefix.includes("@")) return null;
  return { start: at, prefix };
}

/** `text` with the query replaced by `@userId ` and where the caret goes after it. */
export function applyMention(text: string, query: MentionQuery, userId: string): { text: string; caret: number } {
  const end = query.start + 1 + query.prefix.length;
  const inserted = `@${userId} `;
  const rest = text.slice(end).replace(/^ /, "");
  return { text: text.slice(0, query.start) + inserted + rest, caret: query.start + inserted.length };
}

/** Which of `chosen` the text still mentions (as `@id` followed by a non-id character or the end). */
export function mentionedIn(text: string, chosen: Iterable<string>): string[] {
  const out: string[] = [];
  for (const id of chosen) {
    const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    if (new RegExp(`(^|\\s)@${escaped}(?![\\p{L}\\p{N}_.@-])`, "u").test(text)) out.push(id);
  }
  return out;
}
